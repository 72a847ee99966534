"""Hydra's override grammar on `rl-aug train` (agents/overrides.py): add, force-add, delete, lists, literal
augmentation specs, and -m multiruns with one run directory per combination."""

from __future__ import annotations

import csv
import re
import shutil

import pytest
from rl_aug.agents.config import ConfigError, compose
from rl_aug.agents.overrides import expand, swept_keys

BASE = ["agent=sac", "strategy=drq", "task=cartpole-swingup"]


def test_add_force_add_delete_and_lists():
    assert compose([*BASE, "+agent.encoder_input_crop=80"]).agent.encoder_input_crop == 80
    assert compose([*BASE, "++agent.lr=5e-4"]).agent.lr == 5e-4
    assert compose([*BASE, "++agent.encoder_input_crop=80"]).agent.encoder_input_crop == 80
    assert "encoder_tau" not in compose([*BASE, "~agent.encoder_tau"]).agent  # the constructor's default applies
    assert list(compose([*BASE, "agent.log_std_bounds=[-5,2]"]).agent.log_std_bounds) == [-5, 2]


def test_values_hydra_reads_as_calls_are_literal_strings():
    svea = compose(["agent=sac", "strategy=svea", "strategy.strong=overlay(alpha=0.5)"])
    assert svea.strategy.strong == "overlay(alpha=0.5)"
    drqv2 = compose(["agent=drqv2", "agent.stddev_schedule=linear(1.0,0.1,100000)"])
    assert drqv2.agent.stddev_schedule == "linear(1.0,0.1,100000)"
    assert compose(["agent=sac", "strategy=svea", "strategy.strong='overlay(alpha=0.5)'"]).strategy.strong == \
        "overlay(alpha=0.5)"


@pytest.mark.parametrize("overrides,phrase", [
    (["+agent.lr=1"], r"agent.lr exists already; change it with agent.lr=..., or use \+\+agent.lr"),
    (["+agent.nope=1"], "unknown key agent.nope for agent 'sac'"),
    # the schema's keys are fixed: a new one would do nothing but keep the run from resuming
    (["+run.note=x"], r"unknown config key 'run.note' \(did you mean 'run.num_threads'\?\)"),
    (["++task.foo=1"], "unknown config key 'task.foo'"),
    (["+foo=1"], "unknown config key 'foo'"),
    (["~agent.nope"], r"unknown config key 'agent.nope' \(did you mean 'agent.name'\?\)"),
    (["~seed"], "seed is a required key"),
    (["~agent.lr=0.5"], r"agent.lr is 0.001, not 0.5"),
    (["+agent=drqv2"], "a group is picked with agent=<name>"),
    (["seed=1,2"], r"'seed=1,2' is a sweep \(2 values\): .*with -m"),
    (["agent@x=sac"], "packages"),
    (["=3"], "expected overrides of the form key=value"),
])
def test_bad_overrides(overrides, phrase):
    with pytest.raises(ConfigError, match=phrase):
        compose([*BASE, *overrides])


def test_the_override_parser_sits_below_the_config():
    """agents/overrides.py imports nothing of agents/config.py (which imports it): no import cycle."""
    import ast
    from pathlib import Path

    from rl_aug.agents import overrides

    tree = ast.parse(Path(overrides.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not any(m and m.startswith("rl_aug.agents.config") for m in imported), imported


def test_sweeps_expand_like_hydras_basic_sweeper():
    assert expand(["seed=1,2", "strategy=drq,svea", "frames=10"]) == [
        ["seed=1", "strategy=drq", "frames=10"], ["seed=1", "strategy=svea", "frames=10"],
        ["seed=2", "strategy=drq", "frames=10"], ["seed=2", "strategy=svea", "frames=10"]]
    assert expand(["seed=range(1,4)"]) == [["seed=1"], ["seed=2"], ["seed=3"]]
    assert expand(["frames=10"]) == [["frames=10"]]
    assert swept_keys(["seed=1,2", "frames=10", "+agent.encoder_input_crop=80,84"]) == ["seed", "agent.encoder_input_crop"]
    assert expand(["+agent.encoder_input_crop=80,84"]) == [["+agent.encoder_input_crop=80"], ["+agent.encoder_input_crop=84"]]
    with pytest.raises(ConfigError, match=r"the sweep 'seed=range\(1,1\)' is empty"):
        expand(["seed=range(1,1)"])


TINY = ["task.size=16", "frames=16", "agent.seed_steps=1", "agent.batch_size=4", "agent.feature_dim=4",
        "agent.hidden_dim=8", "agent.num_filters=2", "agent.num_conv_layers=1", "run.eval_episodes=1",
        "run.eval_every_frames=16", "run.save_video=false", "run.tensorboard=false", "run.progress=false"]


def test_multirun_writes_one_run_dir_per_combination(tmp_path, capsys):
    from rl_aug.cli.train import main

    assert main(["-m", "seed=1,2", "strategy=none,rad", *TINY, f"run_dir={tmp_path / 'sweep'}"]) == 0
    dirs = sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.name != "report")
    assert dirs == ["0-seed=1,strategy=none", "1-seed=1,strategy=rad", "2-seed=2,strategy=none",
                    "3-seed=2,strategy=rad"]
    for name in dirs:
        cfg = compose([f"run_dir={tmp_path / 'sweep' / name}", "resume=true"])
        assert (f"seed={cfg.seed}", f"strategy={cfg.strategy.name}") == tuple(name.split("-", 1)[1].split(","))
        with open(tmp_path / "sweep" / name / "eval.csv") as fh:
            assert [int(r["frame"]) for r in csv.DictReader(fh)] == [0, 16]
    assert "4 run(s) done" in capsys.readouterr().out
    report = (tmp_path / "sweep" / "report" / "report.md").read_text()
    assert "| cartpole-swingup | sac-none | 2 | 16 |" in report and "| cartpole-swingup | sac-rad | 2 | 16 |" in report
    assert "| sac-none | " in report and "Probability of improvement" in report
    # re-running with resume=true continues each run (here: all finished, nothing to do) and starts none anew
    assert main(["-m", "seed=1,2", "strategy=none,rad", *TINY, f"run_dir={tmp_path / 'sweep'}", "resume=true"]) == 0
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir()) == [*dirs, "report"]
    # a run of the sweep that never started starts then (a single run refuses resume=true where there is no run)
    shutil.rmtree(tmp_path / "sweep" / dirs[3])
    assert main(["-m", "seed=1,2", "strategy=none,rad", *TINY, f"run_dir={tmp_path / 'sweep'}", "resume=true"]) == 0
    assert (tmp_path / "sweep" / dirs[3] / "result.json").is_file()


@pytest.mark.parametrize("sweep,phrase", [
    (["seed=1,2", "agent.nope=3"], "unknown config key 'agent.nope'"),
    (["seed=1,2", "agent.discount=0.5,1.5"], r"agent.discount: expected a number in \(0, 1\], got 1.5"),
    (["seed=range(5,1)"], "is empty"),
])
def test_bad_multirun_starts_no_run(tmp_path, capsys, sweep, phrase):
    from rl_aug.cli.train import main

    assert main(["-m", *sweep, *TINY, f"run_dir={tmp_path / 'sweep'}"]) == 2
    assert re.search(phrase, capsys.readouterr().err)
    assert not (tmp_path / "sweep").exists()
