"""agents.bc: BC fits what it is shown, in raw units; NoiseBC differs only by its batch noise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from rl_aug.agents.bc import BCConfig, BCPolicy, train_bc


def _linear_expert(n: int = 2048, seed: int = 0):
    rng = np.random.default_rng(seed)
    obs = (rng.normal(size=(n, 4)) * np.array([1.0, 10.0, 0.1, 3.0]) + np.array([0, 5, -2, 0])).astype(np.float32)
    w = np.array([[0.5, 0.0], [0.0, 0.05], [2.0, 1.0], [0.0, -0.2]], dtype=np.float32)
    act = np.tanh(obs @ w * 0.5) * np.array([3.0, 0.5], dtype=np.float32)  # actions in different ranges
    return obs, act.astype(np.float32)


def test_bc_fits_a_smooth_expert_in_raw_units():
    obs, act = _linear_expert()
    policy, losses = train_bc(obs, act, BCConfig(hidden=(64, 64), steps=600, batch_size=256, seed=0))
    pred = policy.predict(obs)
    err = np.abs(pred - act).mean(axis=0) / np.abs(act).mean(axis=0)
    assert np.all(err < 0.1), err
    assert np.mean(losses[-50:]) < 0.1 * np.mean(losses[:10])
    np.testing.assert_allclose(policy.act_low.numpy(), act.min(0), rtol=1e-6)
    np.testing.assert_allclose(policy.obs_mean.numpy(), obs.mean(0), rtol=1e-4)


def test_noisebc_only_differs_by_its_noise():
    obs, act = _linear_expert(512)
    cfg = BCConfig(hidden=(32, 32), steps=20, batch_size=64, seed=3)
    _, plain = train_bc(obs, act, cfg)
    _, zero_noise = train_bc(obs, act, BCConfig(hidden=(32, 32), steps=20, batch_size=64, seed=3,
                                                noise_fraction=0.5, noise_scale=0.0))
    _, noisy = train_bc(obs, act, BCConfig(hidden=(32, 32), steps=20, batch_size=64, seed=3,
                                           noise_fraction=0.5, noise_scale=1.0))
    assert plain[0] == zero_noise[0]  # same batch and weights at step 0; noise of width 0 changes nothing
    assert plain[0] != noisy[0]
    with pytest.raises(ValueError, match="noise_fraction"):
        train_bc(obs, act, BCConfig(noise_fraction=1.5))


def test_bad_shapes_are_rejected():
    with pytest.raises(ValueError, match="same N > 0"):
        train_bc(np.zeros((5, 3)), np.zeros((4, 1)), BCConfig())


def test_save_load_round_trip(tmp_path):
    obs, act = _linear_expert(256)
    policy, _ = train_bc(obs, act, BCConfig(hidden=(16, 16), steps=5, batch_size=64))
    policy.save(tmp_path / "bc.pt")
    loaded = BCPolicy.load(tmp_path / "bc.pt")
    np.testing.assert_array_equal(loaded.predict(obs[:10]), policy.predict(obs[:10]))
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
    with torch.no_grad():
        assert loaded(torch.as_tensor(obs[:1])).shape == (1, 2)


def test_output_is_tanh_bounded_to_the_training_action_range():
    obs, act = _linear_expert(512)
    policy, _ = train_bc(obs, act, BCConfig(hidden=(16, 16), steps=50, batch_size=64))
    far = obs[:20] * 1e4  # far outside the data: a linear head would extrapolate
    pred = policy.predict(far)
    assert np.all(pred >= act.min(0) - 1e-5) and np.all(pred <= act.max(0) + 1e-5)
    linear, _ = train_bc(obs, act, BCConfig(hidden=(16, 16), steps=50, batch_size=64, output="linear"))
    assert np.any(np.abs(linear.predict(far)) > np.abs(act).max(0) * 2)
    with pytest.raises(ValueError, match="bc.output must be one of"):
        BCConfig(output="sigmoid")


def test_scaler_is_fitted_on_the_training_set_with_std_plus_1e_3():
    obs, act = _linear_expert(300)
    obs[:, 2] = 7.0  # a constant dimension: std 0, so the scale is exactly 1e-3
    extra = obs[:100] + 5.0  # e.g. CCIL labels appended to the demos
    train_obs, train_act = np.concatenate([obs, extra]), np.concatenate([act, act[:100]])
    policy, _ = train_bc(train_obs, train_act, BCConfig(hidden=(8,), steps=1, batch_size=32))
    np.testing.assert_allclose(policy.obs_mean.numpy(), train_obs.mean(0), rtol=1e-5)
    np.testing.assert_allclose(policy.obs_std.numpy(), train_obs.std(0) + 1e-3, rtol=1e-5)
    assert np.all(policy.obs_std.numpy() != obs.std(0) + 1e-3)  # not the demos' statistics
    # The constant dimension of the demos alone: 0 + 1e-3 (the earlier 1e-6 made tiny noise explode 1000x more).
    demo_only, _ = train_bc(obs, act, BCConfig(hidden=(8,), steps=1, batch_size=32))
    assert demo_only.obs_std.numpy()[2] == pytest.approx(1e-3, rel=1e-4)
    np.testing.assert_allclose(demo_only.act_high.numpy(), act.max(0))


def test_epochs_count_passes_over_the_training_set():
    obs, act = _linear_expert(1000)
    _, losses = train_bc(obs, act, BCConfig(hidden=(8,), epochs=3, batch_size=100))
    assert len(losses) == 30  # 3 epochs x floor(1000 / 100) batches
    double = (np.concatenate([obs, obs]), np.concatenate([act, act]))
    _, losses = train_bc(*double, BCConfig(hidden=(8,), epochs=3, batch_size=100))
    assert len(losses) == 60  # twice the data (demos + labels): twice the gradient steps
    _, losses = train_bc(obs, act, BCConfig(hidden=(8,), epochs=3, steps=7, batch_size=100))
    assert len(losses) == 7  # steps, when set, fixes the number of gradient steps
    assert BCConfig(epochs=200, batch_size=512).num_steps(24130) == 200 * 47
    for bad, match in [({"epochs": 0}, "bc.epochs must be a positive integer, got 0"),
                       ({"steps": -5}, "bc.steps must be a positive integer, got -5"),
                       ({"epochs": None, "steps": None}, "got neither")]:
        with pytest.raises(ValueError, match=match):
            BCConfig(**bad)


def test_noisebc_noise_is_the_official_one_sided_uniform_on_half_the_batch():
    from rl_aug.agents.bc import noisebc_noise

    cfg = BCConfig(noise_fraction=0.5)
    assert cfg.noise_scale == 1e-4 and cfg.noise_shape == "one_sided"
    noise = noisebc_noise((4000, 3), cfg, torch.Generator().manual_seed(0)).numpy()
    noisy_rows = np.any(noise != 0, axis=1)
    assert 0.47 < noisy_rows.mean() < 0.53
    assert noise.min() >= 0 and noise.max() < 1e-4 and noise[noisy_rows].mean() == pytest.approx(5e-5, rel=0.02)
    sym = noisebc_noise((4000, 3), BCConfig(noise_fraction=1.0, noise_scale=0.1, noise_shape="symmetric"),
                        torch.Generator().manual_seed(0)).numpy()
    assert sym.min() < -0.09 and sym.max() > 0.09 and abs(sym.mean()) < 0.005
