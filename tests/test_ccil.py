"""rl_aug.ccil: labels on systems with known dynamics, filters, spectral caps, Newton, file format."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rl_aug.ccil import (
    DemoFormatError,
    Demonstrations,
    DynamicsConfig,
    LabelConfig,
    backtrack_closed_form,
    backtrack_implicit,
    cap_spectral_norm,
    distance_mask,
    disturbed_action,
    error_bound_mask,
    generate_labels,
    load_demos,
    local_lipschitz,
    newton_solve,
    train_dynamics,
    validate_demos,
)
from rl_aug.ccil.spectral import converge_spectral_estimates

A = torch.tensor([[1.0, 0.1, 0.0], [-0.3, 0.9, 0.2], [0.1, 0.0, 1.05]])
B = torch.tensor([[0.0, 0.5], [0.1, 0.0], [0.3, -0.2]])
C = torch.tensor([0.05, -0.02, 0.01])


def linear_residual(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """s' = A s + B a + c, so f(s, a) = (A - I) s + B a + c."""
    return s @ (A - torch.eye(3)).T + a @ B.T + C


def integrator_residual(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """s' = s + B a + c: f does not depend on s, so the closed-form BackTrack is exact."""
    return a @ B.T + C + 0 * s


def _points(n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, generator=g), torch.rand(n, 2, generator=g) * 2 - 1


def test_closed_form_backtrack_is_exact_when_f_ignores_state():
    s, a = _points()
    s_g = backtrack_closed_form(integrator_residual, s, a)
    torch.testing.assert_close(s_g + integrator_residual(s_g, a), s, atol=1e-6, rtol=0)
    torch.testing.assert_close(s_g, s - a @ B.T - C, atol=1e-6, rtol=0)


def test_implicit_backtrack_matches_the_linear_inverse():
    s, a = _points()
    s_g, res = backtrack_implicit(linear_residual, s, a, tol=1e-6)
    expected = torch.linalg.solve(A, (s - a @ B.T - C).T).T  # A s_G + B a + c = s_t
    torch.testing.assert_close(s_g, expected, atol=1e-5, rtol=0)
    assert float(res.max()) < 1e-5
    # The closed form is not exact here (f depends on s), which is why the implicit form exists.
    closed = backtrack_closed_form(linear_residual, s, a)
    assert float((closed - expected).abs().max()) > 1e-3


def test_disturbed_action_labels_lead_to_the_next_state():
    s, a = _points(16)
    s_next = s + linear_residual(s, a)
    g = torch.Generator().manual_seed(1)
    s_g, a_g, src, res = disturbed_action(linear_residual, s, a, s_next, delta=0.05, labels_per_point=5,
                                          generator=g)
    assert s_g.shape == (80, 3) and a_g.shape == (80, 2)
    assert torch.equal(src, torch.arange(16).repeat_interleave(5))
    torch.testing.assert_close(s_g + linear_residual(s_g, a_g), s_next[src], atol=1e-5, rtol=0)
    spread = (a_g - a[src]).std()
    assert 0.03 < float(spread) < 0.07 and float(res.max()) < 1e-5


def test_newton_converges_on_known_roots():
    target = torch.tensor([[8.0, 27.0], [1.0, 64.0]])
    x, res = newton_solve(lambda x, t: x**3 - t, torch.ones(2, 2), target, iterations=50, tol=1e-10)
    torch.testing.assert_close(x, torch.tensor([[2.0, 3.0], [1.0, 4.0]]), atol=1e-5, rtol=0)
    # A coupled system: x0 + x1^2 = 5, x0 * x1 = 2  has root (1, 2) near (0.8, 1.9).
    coupled = lambda x: torch.stack([x[:, 0] + x[:, 1] ** 2 - 5, x[:, 0] * x[:, 1] - 2], dim=1)
    x, res = newton_solve(coupled, torch.tensor([[0.8, 1.9]]), iterations=30, tol=1e-9)
    torch.testing.assert_close(x, torch.tensor([[1.0, 2.0]]), atol=1e-5, rtol=0)
    assert float(res.max()) < 1e-5


def test_local_lipschitz_of_a_linear_map_is_its_spectral_norm():
    s, a = _points(8)
    expected = torch.linalg.matrix_norm(torch.cat([A - torch.eye(3), B], dim=1), ord=2)
    torch.testing.assert_close(local_lipschitz(linear_residual, s, a), expected.expand(8), atol=1e-5, rtol=0)


def test_distance_and_error_bound_filters_keep_exactly_the_labels_inside():
    g = torch.Generator().manual_seed(3)
    s_src, s_g = torch.randn(500, 3, generator=g), torch.randn(500, 3, generator=g)
    dist = np.linalg.norm((s_g - s_src).numpy(), axis=1)
    assert np.array_equal(distance_mask(s_g, s_src, 1.5).numpy(), dist < 1.5)
    bound = torch.rand(500, generator=g)
    keep = error_bound_mask(bound, max_error=0.3).numpy()
    assert np.array_equal(keep, bound.numpy() <= 0.3) and 100 < keep.sum() < 200
    keep_q = error_bound_mask(bound, quantile=0.8).numpy()
    assert keep_q.sum() == 400  # 500 distinct values: exactly 80% at or below the 0.8 quantile
    with pytest.raises(ValueError, match="max_error or quantile"):
        error_bound_mask(bound)


def test_generate_labels_on_linear_system_filters_by_the_analytic_bound():
    s, a = _points(200, seed=5)
    s_next = s + linear_residual(s, a)
    demos = Demonstrations(s.numpy(), a.numpy(), s_next.numpy(), np.zeros(200, dtype=np.int64))
    lip = float(torch.linalg.matrix_norm(torch.cat([A - torch.eye(3), B], dim=1), ord=2))
    s_np, a_np = s.numpy().astype(np.float64), a.numpy().astype(np.float64)
    # Independent check in numpy: the exact BackTrack state and the analytic bound lip * |s_G - s_t|.
    s_g = np.linalg.solve(A.numpy().astype(np.float64), (s_np - a_np @ B.numpy().T - C.numpy()).T).T
    gap = np.linalg.norm(s_g - s_np, axis=1)
    for epsilon, max_error, expected_keep in [(0.45, None, gap < 0.45), (None, 0.3, lip * gap <= 0.3)]:
        data, stats = generate_labels(linear_residual, demos, LabelConfig(
            generators=("backtrack",), epsilon=epsilon, max_error=max_error, model_error_quantile=None))
        labels = data["observations"][data["is_label"]]
        assert stats["backtrack_generated"] == 200
        assert stats["backtrack_kept"] == expected_keep.sum() and 40 < expected_keep.sum() < 160
        np.testing.assert_allclose(labels, s_g[expected_keep], atol=1e-4)
        assert np.array_equal(data["source_index"][data["is_label"]], np.flatnonzero(expected_keep))
        np.testing.assert_array_equal(data["observations"][:200], demos.observations)
        np.testing.assert_array_equal(data["actions"][data["is_label"]], demos.actions[expected_keep])


def test_model_error_filter_skips_points_the_model_gets_wrong():
    s, a = _points(100, seed=7)
    s_next = s + linear_residual(s, a)
    s_next[:10] += 5.0  # the "model" (exact linear map) is wrong on these ten points
    demos = Demonstrations(s.numpy(), a.numpy(), s_next.numpy(), np.zeros(100, dtype=np.int64))
    data, stats = generate_labels(linear_residual, demos, LabelConfig(model_error_quantile=0.9))
    assert stats["trusted_points"] == 90
    assert set(data["source_index"][data["is_label"]].tolist()) == set(range(10, 100))


def test_spectral_cap_limits_every_layer_and_leaves_small_layers_alone():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    with torch.no_grad():
        net[0].weight.mul_(20)
        net[2].weight.mul_(20)
        net[4].weight.mul_(0.01)
    small_before = net[4].weight.detach().clone()
    cap_spectral_norm(net, cap=1.5)
    converge_spectral_estimates(net, 100)
    net.eval()
    for layer in (net[0], net[2]):
        assert float(torch.linalg.matrix_norm(layer.parametrizations.weight.original.detach(), 2)) > 3
        assert abs(float(torch.linalg.matrix_norm(layer.weight.detach(), 2)) - 1.5) < 1e-3
    torch.testing.assert_close(net[4].weight, small_before)


def test_trained_spectral_dynamics_respects_the_cap_and_fits_linear_data():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(1024, 3)).astype(np.float32)
    a = rng.uniform(-1, 1, (1024, 2)).astype(np.float32)
    s_next = (torch.as_tensor(s) + linear_residual(torch.as_tensor(s), torch.as_tensor(a))).numpy()
    cfg = DynamicsConfig(hidden=(64, 64), epochs=40, lipschitz="spectral", lipschitz_k=1.2, lr=3e-3)
    model, hist = train_dynamics(s, a, s_next, cfg)
    for layer in model.net:
        if isinstance(layer, nn.Linear):
            assert float(torch.linalg.matrix_norm(layer.weight.detach(), 2)) <= 1.2 * (1 + 1e-3)
    assert hist["mse"][-1] < 0.1 * hist["mse"][0]


def test_slack_weights_drop_where_the_dynamics_jump():
    rng = np.random.default_rng(1)
    s = rng.uniform(-1, 1, (1024, 1)).astype(np.float32)
    a = np.zeros((1024, 1), dtype=np.float32)
    s_next = s + np.where(s > 0, 1.0, -1.0).astype(np.float32)  # a jump of 2 at s = 0
    cfg = DynamicsConfig(hidden=(64, 64), epochs=30, lipschitz="slack", lipschitz_k=1.0, penalty_eps=0.05,
                         penalty_weight=1e-2, lr=3e-3)
    model, _ = train_dynamics(s, a, s_next, cfg)
    w = model.slack_weights.numpy()
    near, far = np.abs(s[:, 0]) < 0.05, np.abs(s[:, 0]) > 0.5
    assert w[near].max() < w[far].min()  # every point at the jump is down-weighted below every far one


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def test_malformed_demonstration_files_get_clear_errors(tmp_path):
    n = np.zeros((5, 3), np.float32)
    act = np.zeros((5, 1), np.float32)
    with pytest.raises(DemoFormatError, match=r"missing array\(s\) \['next_observations'\]"):
        load_demos(_write(tmp_path / "a.npz", observations=n, actions=act))
    with pytest.raises(DemoFormatError, match="disagree on N"):
        load_demos(_write(tmp_path / "b.npz", observations=n, actions=act[:4], next_observations=n))
    with pytest.raises(DemoFormatError, match="must be 2-D"):
        load_demos(_write(tmp_path / "c.npz", observations=n[:, 0], actions=act, next_observations=n))
    bad = n.copy()
    bad[2, 1] = np.nan
    with pytest.raises(DemoFormatError, match="NaN or inf"):
        load_demos(_write(tmp_path / "d.npz", observations=bad, actions=act, next_observations=n))
    with pytest.raises(DemoFormatError, match="episode_ids"):
        validate_demos({"observations": n, "actions": act, "next_observations": n, "episode_ids": np.zeros(4)})
    (tmp_path / "e.npz").write_text("not a zip")
    with pytest.raises(DemoFormatError, match="not a readable npz"):
        load_demos(tmp_path / "e.npz")
    with pytest.raises(FileNotFoundError, match="envs.ccil.demos"):
        load_demos(tmp_path / "missing.npz")
    good = load_demos(_write(tmp_path / "f.npz", observations=n, actions=act, next_observations=n + 1))
    assert len(good) == 5 and good.obs_dim == 3 and good.act_dim == 1
