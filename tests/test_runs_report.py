"""The report across runs (rl_aug.evaluation.runs_report): estimators checked against rliable.metrics, the
stratified bootstrap on tasks with different seed counts, and the files written from run directories."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from omegaconf import OmegaConf
from rl_aug.agents.config import compose

from rl_aug.evaluation.aggregate import (
    bootstrap_improvement,
    iqm,
    optimality_gap,
    performance_profile,
    probability_of_improvement,
)
from rl_aug.evaluation.aggregate import stratified_bootstrap as bootstrap
from rl_aug.evaluation.runs_report import write_runs_report

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 1.2, size=(7, 3))  # (runs, tasks), some above 1
Y = RNG.uniform(0, 1.0, size=(5, 3))


def test_estimators_match_rliable():
    metrics = pytest.importorskip("rliable.metrics")
    assert iqm(X) == pytest.approx(metrics.aggregate_iqm(X))
    assert optimality_gap(X) == pytest.approx(metrics.aggregate_optimality_gap(X))
    assert float(np.mean(X)) == pytest.approx(metrics.aggregate_mean(X))
    assert probability_of_improvement(list(X.T), list(Y.T)) == pytest.approx(metrics.probability_of_improvement(X, Y))


def test_estimators_by_hand():
    assert optimality_gap(np.array([0.5, 1.5, 1.0])) == pytest.approx(1 - (0.5 + 1 + 1) / 3)
    assert probability_of_improvement([np.array([1.0, 2.0])], [np.array([1.0, 0.0])]) == pytest.approx(
        (0.5 + 1 + 1 + 1) / 4)  # (1 vs 1: tie), (1 vs 0), (2 vs 1), (2 vs 0)
    assert list(performance_profile(np.array([0.2, 0.5, 0.9]), np.array([0.0, 0.5, 1.0]))) == [1.0, 1 / 3, 0.0]


def test_stratified_bootstrap_keeps_each_tasks_runs_apart():
    per_task = [np.array([0.1, 0.2, 0.3]), np.array([0.9])]  # task 2 has one seed: always 0.9 in every resample
    ci = bootstrap(per_task, lambda s: float(np.max(s)), reps=200)
    assert (ci.point, ci.low, ci.high) == (0.9, 0.9, 0.9)
    mean_ci = bootstrap(per_task, lambda s: float(np.mean(s)), reps=500, seed=1)
    assert mean_ci.point == pytest.approx(0.375) and mean_ci.low < mean_ci.point < mean_ci.high
    assert bootstrap(per_task, lambda s: float(np.mean(s)), reps=500, seed=1) == mean_ci  # seeded: reproducible
    better = bootstrap_improvement([np.array([0.8, 0.9])], [np.array([0.1, 0.2])], reps=100)
    assert (better.point, better.low, better.high) == (1.0, 1.0, 1.0)


def _fake_run(path, strategy, seed, returns):
    cfg = compose(["agent=sac", f"strategy={strategy}", "task=cartpole-swingup", f"seed={seed}"])
    path.mkdir(parents=True)
    OmegaConf.save(cfg, path / "config.yaml")
    with open(path / "eval.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["frame", "step", "episode_return", "episode_return_std", "episodes"])
        for i, r in enumerate(returns):
            writer.writerow([i * 10000, i * 1250, r, 0.0, 10])


def test_write_runs_report_from_run_dirs(tmp_path):
    dirs = []
    for strategy, finals in (("drq", [700.0, 800.0]), ("svea", [300.0, 400.0])):
        for seed, final in enumerate(finals, start=1):
            d = tmp_path / "runs" / f"{strategy}{seed}"
            _fake_run(d, strategy, seed, [0.0, final])
            dirs.append(d)
    (tmp_path / "runs" / "empty").mkdir()
    OmegaConf.save(compose([]), tmp_path / "runs" / "empty" / "config.yaml")  # no evaluation yet: skipped
    report = write_runs_report([*dirs, tmp_path / "runs" / "empty"], tmp_path / "report", reps=200)
    text = report.read_text()
    assert "| cartpole-swingup | sac-drq | 2 | 10000 | 750.0 |" in text
    assert "| cartpole-swingup | sac-svea(conv) | 2 | 10000 | 350.0 |" in text
    assert "| sac-drq | 0.750 [" in text  # IQM of 0.7, 0.8
    assert "| sac-drq | - | 1.000 [1.000, 1.000] |" in text  # every DrQ run beats every SVEA run
    with open(tmp_path / "report" / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["method"], r["seed"], r["final_return"]) for r in rows] == [
        ("sac-drq", "1", "700.0"), ("sac-drq", "2", "800.0"), ("sac-svea(conv)", "1", "300.0"),
        ("sac-svea(conv)", "2", "400.0")]
    assert (tmp_path / "report" / "performance_profile.png").stat().st_size > 0
    with pytest.raises(FileExistsError, match="holds files"):
        write_runs_report(dirs, tmp_path / "report")


def test_paired_difference_and_standard_error():
    """The per-seed statistics the CCIL tables quote (rl_aug.evaluation.aggregate is their one home)."""
    from rl_aug.evaluation.aggregate import mean_and_standard_error, paired_difference

    d = paired_difference([10.0, 20.0, 30.0, 40.0], [8.0, 21.0, 25.0, 40.0])
    assert d.diffs.tolist() == [2.0, -1.0, 5.0, 0.0] and d.mean == 1.5 and d.above == 2
    assert d.se == pytest.approx(np.std([2, -1, 5, 0], ddof=1) / 2)
    mean, se = d.mean, d.se
    assert (mean, se) == mean_and_standard_error([2.0, -1.0, 5.0, 0.0])
    assert np.isnan(paired_difference([1.0], [0.0]).se)
    with pytest.raises(ValueError, match="same non-zero length"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-empty"):
        mean_and_standard_error([])


def test_ragged_tasks_resample_as_before():
    """The list form of the bootstrap: each rep draws task by task from one generator (the draw order of the
    report's CIs), and a single task gives the same interval as the (runs, 1) array form."""
    per_task = [np.array([0.1, 0.5, 0.9]), np.array([0.2, 0.4])]
    rng = np.random.default_rng(3)
    stats = [np.mean(np.concatenate([a[rng.integers(0, len(a), len(a))] for a in per_task])) for _ in range(300)]
    ci = bootstrap(per_task, lambda s: float(np.mean(s)), reps=300, seed=3)
    assert (ci.low, ci.high) == tuple(np.percentile(stats, [2.5, 97.5]))
    one = np.array([3.0, 1.0, 4.0, 1.0, 5.0])
    assert bootstrap([one], np.mean, reps=300) == bootstrap(one[:, None], np.mean, reps=300)
