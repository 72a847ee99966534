"""CCIL end to end on a tiny pendulum dataset, the tasks' environments and the noisy evaluation."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from rl_aug.envs.ccil.demos import collect
from rl_aug.envs.ccil.evaluation import evaluate
from rl_aug.envs.ccil.pendulum import PendulumExpert, make_pendulum

from rl_aug.ccil.data import load_demos, save_demos, validate_demos
from rl_aug.cli.ccil import main

TINY = ["seeds=[0,1]", "episodes=3", "dynamics.hidden=[32,32]", "dynamics.epochs=3", "bc.hidden=[32,32]",
        "bc.steps=30", "bc.batch_size=64", "labels.generators=[backtrack,disturbed_action]",
        "labels.labels_per_point=2"]


@pytest.fixture(scope="module")
def tiny_demos(tmp_path_factory):
    demos, returns = collect("pendulum", episodes=2)
    path = save_demos(tmp_path_factory.mktemp("demos") / "pendulum.npz", demos)
    return path, demos, returns


def test_pipeline_runs_end_to_end(tiny_demos, tmp_path):
    path, demos, _ = tiny_demos
    out = tmp_path / "run"
    assert main(["task=pendulum", f"demos={path}", f"out={out}", *TINY]) == 0
    with open(out / "results.csv") as fh:
        table = list(csv.DictReader(fh))
    assert sorted({r["method"] for r in table}) == ["bc", "ccil", "noisebc"]
    assert len(table) == 6 and {int(r["episodes"]) for r in table} == {3} and {int(r["seed"]) for r in table} == {0, 1}
    returns = np.array([float(r["mean_return"]) for r in table])
    assert np.all(returns < 0) and np.all(np.isfinite(returns))
    md = (out / "results.md").read_text()
    assert "| ccil |" in md and "2 seeds x 3 episodes" in md and "Local Lipschitz constant" in md
    labeled = np.load(out / "labeled_seed0.npz")
    n = len(demos)
    assert np.array_equal(labeled["observations"][:n], demos.observations)
    kinds = set(labeled["label_kind"][n:].tolist())
    assert kinds == {1, 2} and labeled["is_label"][n:].all() and not labeled["is_label"][:n].any()
    assert labeled["local_lipschitz"].shape == (n,) and np.all(labeled["local_lipschitz"] > 0)
    assert (out / "ccil.png").stat().st_size > 10_000
    # A second run into the same directory is refused instead of overwriting the first.
    with pytest.raises(SystemExit, match="exists and is not empty"):
        main(["task=pendulum", f"demos={path}", f"out={out}", *TINY])


def test_cli_reports_malformed_demos(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, observations=np.zeros((4, 3)), actions=np.zeros((4, 1)))
    assert main(["task=pendulum", f"demos={bad}", f"out={tmp_path / 'run'}", *TINY]) == 2
    assert "missing array(s) ['next_observations']" in capsys.readouterr().err


def test_demos_follow_the_format_and_the_expert_swings_up(tiny_demos):
    path, demos, _returns = tiny_demos
    loaded = load_demos(path)
    np.testing.assert_array_equal(loaded.observations, demos.observations)
    assert len(demos) == 400 and set(demos.episode_ids.tolist()) == {0, 1}
    # Consecutive rows chain: s_{t+1} of one row is s_t of the next within an episode.
    same = demos.episode_ids[1:] == demos.episode_ids[:-1]
    np.testing.assert_array_equal(demos.next_observations[:-1][same], demos.observations[1:][same])
    assert demos.observations[0, 0] < -0.9  # starts hanging down
    assert np.all(demos.next_observations[demos.episode_ids == 0][-20:, 0] > 0.99)  # ends upright
    validate_demos({"observations": demos.observations, "actions": demos.actions,
                        "next_observations": demos.next_observations})


def test_noise_free_evaluation_reproduces_the_expert_and_noise_changes_it():
    _, returns = collect("pendulum", episodes=2, seed=10_000)
    expert = PendulumExpert()
    clean = evaluate(expert, make_pendulum, episodes=2, noise=0.0, seed=10_000)
    np.testing.assert_allclose(clean, returns, rtol=1e-5)
    noisy = evaluate(expert, make_pendulum, episodes=2, noise=0.3, seed=10_000)
    assert np.all(np.abs(noisy - clean) > 1e-3)


def test_discontinuous_pendulum_has_a_jump_in_acceleration():
    env = make_pendulum(discontinuous=True)
    env.reset(seed=0)
    accel = []
    for theta in (0.6 - 1e-4, 0.6 + 1e-4):
        env.state = np.array([theta, 4.0])
        _, _, _, _, _ = env.step(np.zeros(1))
        accel.append((env.state[1] - 4.0) / 0.05)
    assert accel[0] - accel[1] > 15.0  # friction 4 * theta_dot 4 = 16 switches on across the edge
    smooth = make_pendulum(discontinuous=False)
    smooth.reset(seed=0)
    smooth.state = np.array([0.6 + 1e-4, 4.0])
    smooth.step(np.zeros(1))
    assert abs((smooth.state[1] - 4.0) / 0.05 - accel[0]) < 0.01
