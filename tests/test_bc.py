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
    with pytest.raises(ValueError, match="same N"):
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
