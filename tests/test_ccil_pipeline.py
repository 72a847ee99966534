"""CCIL end to end on a tiny pendulum dataset, the tasks' environments and the noisy evaluation."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from rl_aug.agents.ccil_config import (
    ConfigError,
    from_command_line,
    load_config,
    load_resume_config,
    validate_config,
)
from rl_aug.agents.ccil_evaluation import evaluate
from rl_aug.agents.ccil_pipeline import load_task_demos, run
from rl_aug.envs.ccil.demos import collect
from rl_aug.envs.ccil.pendulum import PendulumExpert, make_pendulum
from rl_aug.envs.ccil.tasks import DATA_ENV_VAR, get_task

from rl_aug.ccil.data import DemoFormatError, load_demos, save_demos, validate_demos
from rl_aug.cli.ccil import main
from rl_aug.evaluation.aggregate import paired_difference

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
    assert "| ccil - bc |" in md and "Partial" not in md
    labeled = np.load(out / "labeled_seed0.npz")
    n = len(demos)
    assert np.array_equal(labeled["observations"][:n], demos.observations)
    kinds = set(labeled["label_kind"][n:].tolist())
    assert kinds == {1, 2} and labeled["is_label"][n:].all() and not labeled["is_label"][:n].any()
    assert labeled["local_lipschitz"].shape == (n,) and np.all(labeled["local_lipschitz"] > 0)
    assert (out / "ccil.png").stat().st_size > 10_000
    # A second run into the same directory is refused instead of overwriting the first.
    with pytest.raises(ConfigError, match="exists and is not empty"):
        run(load_config(["task=pendulum", f"demos={path}", f"out={out}", *TINY]))


def test_a_stopped_run_resumes_and_adds_seeds_with_the_same_tables(tiny_demos, tmp_path, capsys):
    path, _, _ = tiny_demos
    args = ["task=pendulum", f"demos={path}", "plots=false", "episodes=3", *TINY[2:]]
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert main([*args, f"out={whole}", "seeds=[0,1]"]) == 0
    assert main([*args, f"out={part}", "seeds=[0]"]) == 0  # as if stopped after seed 0
    capsys.readouterr()
    assert main([f"resume={part}", "seeds=[0,1]"]) == 0
    text = capsys.readouterr().out
    assert "seed 0 (1/2): finished in an earlier launch, read back" in text and "seed 1 (2/2) ..." in text
    assert (part / "results.csv").read_text() == (whole / "results.csv").read_text()
    assert (part / "results.md").read_text() == (whole / "results.md").read_text()
    assert "seeds:\n- 0\n- 1\n" in (part / "config.yaml").read_text()
    # a resumed run keeps its config; finished seeds cannot be dropped; only a run directory resumes
    with pytest.raises(ConfigError, match=r"only seeds may change\), got changes to episodes \(3 -> 4\)"):
        load_resume_config(part, ["episodes=4"])
    with pytest.raises(ConfigError, match=r"seeds must keep the seeds that finished \(\[0, 1\]\)"):
        load_resume_config(part, ["seeds=[1]"])
    with pytest.raises(ConfigError, match="expected the run directory of an earlier rl-aug ccil run"):
        load_resume_config(tmp_path, [])
    with pytest.raises(ConfigError, match="did you mean 'episodes'"):
        load_resume_config(part, ["episode=4"])


def test_cli_prints_progress_and_the_run_directory_first_and_last(tiny_demos, tmp_path, capsys):
    path, _, _ = tiny_demos
    out = tmp_path / "run"
    assert main(["task=pendulum", f"demos={path}", f"out={out}", "seeds=[3]", "methods=[bc,ccil,bc_matched]",
                 "plots=false", *TINY[2:]]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == f"[ccil pendulum] run directory: {out}" and lines[-1] == lines[0]
    text = "\n".join(lines)
    assert "seed 3 (1/1) ..." in text and "dynamics done" in text and "seed 3 (1/1) done" in text
    with open(out / "results.csv") as fh:
        steps = {r["method"]: int(r["bc_steps"]) for r in csv.DictReader(fh)}
    assert steps["bc"] == 30 and steps["bc_matched"] == steps["ccil"]  # bc.steps=30 fixes every method's steps


def test_help_lists_tasks_and_config_keys_with_defaults(capsys):
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for phrase in ["hopper_d4rl", "walker2d_d4rl", "reacher", "bc.epochs=200", "bc.obs_std_eps=0.001",
                   "noisebc.noise_scale=0.0001", "episodes=100", "bc_matched", "RL_AUG_CCIL_DATA"]:
        assert phrase in text, phrase


BAD_INPUTS = [
    (["episode=1"], ConfigError, "did you mean 'episodes'"),
    (["bc.step=3"], ConfigError, "did you mean 'bc.steps'"),
    (["bc.steps=-5"], ConfigError, "bc.steps must be a positive integer, got -5"),
    (["bc.epochs=0"], ConfigError, "bc.epochs must be a positive integer, got 0"),
    (["eval_noise=-1"], ConfigError, "eval_noise must be null (the task's level) or a number in [0, 1], got -1"),
    (["seeds=[]"], ConfigError, "seeds must be a non-empty list of integers"),
    (["episodes=0"], ConfigError, "episodes must be a positive integer"),
    (["methods=[bc,dagger]"], ConfigError, "unknown method(s) ['dagger']"),
    (["methods=[bc,bc_matched]"], ConfigError, "needs ccil in methods"),
    (["task=hoper_d4rl"], ConfigError, "did you mean 'hopper_d4rl'"),
    (["bc=3"], ConfigError, "bc is a section"),
    (["noisebc.noise_shape=gaussian"], ConfigError, "noisebc.noise_shape='gaussian'"),  # named as the user set it
    (["noisebc.noise_scale=abc"], ConfigError, "noisebc.noise_scale: expected a number, got str 'abc'"),
    (["seeds"], ConfigError, "expected key=value"),
]


@pytest.mark.parametrize(("argv", "error", "phrase"), BAD_INPUTS, ids=[" ".join(a) for a, _, _ in BAD_INPUTS])
def test_bad_options_get_clear_errors(argv, error, phrase):
    with pytest.raises(error) as info:
        validate_config(load_config(argv))
    assert phrase in str(info.value)


def test_one_config_system_with_training():
    """CCIL's options go through the training config's override parser and raise its one ConfigError."""
    from rl_aug.agents import config, overrides

    from rl_aug.errors import UserInputError

    assert ConfigError is config.ConfigError is overrides.ConfigError and issubclass(ConfigError, UserInputError)
    with pytest.raises(ConfigError, match=r"'seeds=0,1' is a sweep \(2 values\).*seeds=\[0,1,2\]"):
        load_config(["seeds=0,1"])
    with pytest.raises(ConfigError, match=r"'\+bc.lr=1': rl-aug ccil takes key=value overrides"):
        load_config(["+bc.lr=1"])
    with pytest.raises(ConfigError, match="expected one resume=RUN_DIR"):
        from_command_line(["resume=a", "resume=b"])


def test_bad_options_exit_2_with_the_message(capsys):
    assert main(["bc.epochs=0"]) == 2
    assert "rl-aug ccil: BCConfig: bc.epochs must be a positive integer, got 0" in capsys.readouterr().err


def test_demos_of_the_wrong_task_name_both_shapes(tiny_demos, tmp_path):
    path, _, _ = tiny_demos  # pendulum demos: observations (3,), actions (1,)
    with pytest.raises(DemoFormatError) as info:
        run(load_config(["task=reacher", f"demos={path}", f"out={tmp_path / 'run'}", *TINY]))
    assert "observations of shape (3,) and actions of shape (1,)" in str(info.value)
    assert "expects observations (10,) and actions (2,)" in str(info.value)
    assert not (tmp_path / "run").exists()  # refused before anything is written


def test_external_demos_come_from_the_data_setting(tmp_path, monkeypatch):
    task = get_task("hopper_d4rl")
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match=f"data_dir=<folder> or the environment variable {DATA_ENV_VAR}"):
        task.resolve_demo_path(None)
    with pytest.raises(FileNotFoundError, match="hopper-expert-v2_25.npz not found in .* \\(from data_dir\\)"):
        task.resolve_demo_path(str(tmp_path))
    # D4RL-style trajectories: 2 trajectories of 4 and 3 steps -> 3 + 2 transitions inside them.
    obs = np.arange(7 * 11, dtype=np.float32).reshape(7, 11)
    np.savez(tmp_path / "hopper-expert-v2_25.npz", observations=obs, actions=np.zeros((7, 3), np.float32),
             episode_ends=np.array([4, 7]))
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    demos = load_demos(task.resolve_demo_path(None))
    assert len(demos) == 5 and demos.episode_ids.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(demos.next_observations[2], obs[3])
    np.testing.assert_array_equal(demos.observations[3], obs[4])  # the next trajectory starts fresh
    np.savez(tmp_path / "hopper-expert-v2_25.npz", observations=obs, actions=np.zeros((7, 3), np.float32),
             episode_ends=np.array([4, 6]))
    with pytest.raises(DemoFormatError, match="'episode_ends' must be increasing positive integers ending at"):
        load_demos(task.resolve_demo_path(None))
    # env_id swaps the evaluation env (the env-version factor); checked against the registry and the demos
    cfg = load_config(["task=hopper_d4rl", f"data_dir={tmp_path}", "env_id=Hopper-v4"])
    np.savez(tmp_path / "hopper-expert-v2_25.npz", observations=obs, actions=np.zeros((7, 3), np.float32),
             episode_ends=np.array([4, 7]))
    swapped, _, _ = load_task_demos(cfg)
    assert swapped.env_id == "Hopper-v4" and get_task("hopper_d4rl").env_id == "Hopper-v5"
    with pytest.raises(ConfigError, match="env_id='Hoper-v4' is not a registered gymnasium env; did you mean 'Hopper-v4'"):
        load_task_demos(load_config(["task=hopper_d4rl", f"data_dir={tmp_path}", "env_id=Hoper-v4"]))
    with pytest.raises(DemoFormatError, match=r"expects observations \(17,\)"):
        load_task_demos(load_config(["task=hopper_d4rl", f"data_dir={tmp_path}", "env_id=Walker2d-v4"]))
    with pytest.raises(ConfigError, match="task pendulum is not a gymnasium env"):
        load_task_demos(load_config(["task=pendulum", "env_id=Hopper-v4"]))


def test_paired_difference_statistics():
    d = paired_difference([10.0, 20.0, 30.0, 40.0], [8.0, 21.0, 25.0, 40.0])
    assert d.diffs.tolist() == [2.0, -1.0, 5.0, 0.0] and d.mean == 1.5 and len(d.diffs) == 4
    assert d.se == pytest.approx(np.std([2, -1, 5, 0], ddof=1) / 2)  # 2.6458 / 2
    assert d.se == pytest.approx(1.3228756555)
    assert np.isnan(paired_difference([1.0], [0.0]).se)
    with pytest.raises(ValueError, match="same non-zero length"):
        paired_difference([1.0, 2.0], [1.0])


def test_cli_reports_malformed_demos(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    np.savez(bad, observations=np.zeros((4, 3)), actions=np.zeros((4, 1)))
    assert main(["task=pendulum", f"demos={bad}", f"out={tmp_path / 'run'}", *TINY]) == 2
    assert "missing array(s) ['next_observations']" in capsys.readouterr().err
    # The noisy evaluation rejects what it cannot use.
    with pytest.raises(ValueError, match="eval noise must be in"):
        evaluate(PendulumExpert(), make_pendulum, episodes=1, noise=-1.0, seed=0)


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
