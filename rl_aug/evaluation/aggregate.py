"""The project's statistics, in one place: interval estimates over runs and tasks (Agarwal et al. 2021, "Deep RL
at the Edge of the Statistical Precipice") and paired per-seed differences.

The aggregates follow `rliable.metrics` (checked against it in tests/test_runs_report.py): IQM is the mean of
the middle 50% of all (run, task) scores (scipy's `trim_mean(x, 0.25)`), the optimality gap is how far scores
fall below a target, the probability of improvement is the Mann-Whitney U over n_x * n_y averaged over tasks,
and the stratified bootstrap resamples runs with replacement within each task (tasks may have different
numbers of runs) and reports the percentile interval. Written here rather than taken from `rliable`:
rliable 1.2 pins `arch<8`, and arch 7.2 fails to import with pandas 3 (`deprecate_kwarg() missing 1 required
positional argument`), measured on this stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

Metric = Callable[[np.ndarray], float]


@dataclass(frozen=True)
class Interval:
    """A point estimate with a (low, high) confidence interval."""

    point: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.point:.3f} [{self.low:.3f}, {self.high:.3f}]"


# ------------------------------------------------------------------ point estimates (rliable's definitions)
def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all entries: drop floor(n/4) from each end of the sorted scores, average the rest."""
    flat = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if flat.size == 0:
        raise ValueError("expected at least one score, got an empty array")
    cut = int(0.25 * flat.size)
    return float(flat[cut:flat.size - cut].mean())


def mean(scores: np.ndarray) -> float:
    return float(np.mean(scores))


def optimality_gap(scores: np.ndarray, gamma: float = 1.0) -> float:
    """How far below `gamma` the scores fall on average, scores above it counting as gamma."""
    return float(gamma - np.mean(np.minimum(np.asarray(scores, dtype=np.float64), gamma)))


def probability_of_improvement(x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> float:
    """P(X > Y) averaged over tasks: for task m, the chance a run of X beats a run of Y (ties count half), i.e.
    the Mann-Whitney U statistic over n_x * n_y."""
    per_task = []
    for xm, ym in zip(x, y):
        xm, ym = np.asarray(xm, dtype=np.float64)[:, None], np.asarray(ym, dtype=np.float64)[None, :]
        per_task.append(float(np.mean((xm > ym) + 0.5 * (xm == ym))))
    return float(np.mean(per_task))


def performance_profile(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of all (run, task) scores above each threshold tau (rliable's run-score distribution)."""
    scores = np.asarray(scores, dtype=np.float64).ravel()
    return np.array([float(np.mean(scores > t)) for t in taus])


METRICS: dict[str, Metric] = {"iqm": iqm, "mean": mean}


# ------------------------------------------------------------------ the stratified bootstrap
def _tasks(scores: np.ndarray | Sequence[np.ndarray]) -> tuple[list[np.ndarray], Callable]:
    """Per-task run arrays, and how a resample is handed to the metric: a (runs, tasks) array stays one (so a
    metric may look at columns), a list of per-task arrays is concatenated."""
    if isinstance(scores, np.ndarray):
        scores = np.asarray(scores, dtype=np.float64)
        if scores.ndim != 2 or 0 in scores.shape:
            raise ValueError(f"expected scores of shape (runs, tasks) with both > 0, got {scores.shape}")
        return list(scores.T), lambda cols: np.stack(cols, axis=1)
    per_task = [np.asarray(a, dtype=np.float64).ravel() for a in scores]
    if not per_task or any(a.size == 0 for a in per_task):
        raise ValueError("expected at least one task, each with at least one run")
    return per_task, np.concatenate


def _resample(per_task: Sequence[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    return [a[rng.integers(0, len(a), len(a))] for a in per_task]


def _percentiles(point: float, stats: Sequence[float], confidence: float) -> Interval:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"expected confidence in (0, 1), got {confidence}")
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return Interval(point, float(low), float(high))


def stratified_bootstrap(scores: np.ndarray | Sequence[np.ndarray], metric: Metric, *, reps: int = 2000,
                         confidence: float = 0.95, seed: int = 0) -> Interval:
    """Percentile CI of `metric`, resampling each task's runs with replacement within the task.

    `scores` is a (runs, tasks) array (the metric gets (runs, tasks) resamples) or a list of per-task arrays of
    any lengths (the metric gets the concatenated scores). Each resample draws task by task from one generator
    seeded with `seed`, so an interval is reproducible.
    """
    per_task, join = _tasks(scores)
    rng = np.random.default_rng(seed)
    stats = [metric(join(_resample(per_task, rng))) for _ in range(reps)]
    return _percentiles(metric(join(per_task)), stats, confidence)


def bootstrap_improvement(x: Sequence[np.ndarray], y: Sequence[np.ndarray], *, reps: int = 2000, seed: int = 0,
                          confidence: float = 0.95) -> Interval:
    """`probability_of_improvement(x, y)` with a stratified-bootstrap CI (x and y resampled independently)."""
    rng = np.random.default_rng(seed)
    stats = [probability_of_improvement(_resample(x, rng), _resample(y, rng)) for _ in range(reps)]
    return _percentiles(probability_of_improvement(x, y), stats, confidence)


def aggregate(scores: dict[str, np.ndarray], shifts: Sequence[str], *, exclude: Sequence[str] = ("train",),
              scale: float = 1000.0, reps: int = 2000, seed: int = 0) -> dict[str, dict[str, Interval]]:
    """IQM and mean over the shifts not in `exclude`, for each label's (runs, shifts) array of per-run mean
    returns, divided by `scale` (1000 is the most a DMC episode can return)."""
    keep = [i for i, s in enumerate(shifts) if s not in exclude]
    if not keep:
        raise ValueError(f"expected a shift outside {list(exclude)} to aggregate over, got {list(shifts)}")
    out: dict[str, dict[str, Interval]] = {}
    for label, arr in scores.items():
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != len(shifts):
            raise ValueError(f"expected {label!r} scores of shape (runs, {len(shifts)}), got {arr.shape}")
        sub = arr[:, keep] / scale
        out[label] = {name: stratified_bootstrap(sub, fn, reps=reps, seed=seed) for name, fn in METRICS.items()}
    return out


# ------------------------------------------------------------------ per-seed means and paired differences
def mean_and_standard_error(values: Sequence[float]) -> tuple[float, float]:
    """(mean, standard error = sample std (ddof 1) / sqrt(n)); the standard error is nan with one value."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"expected a non-empty 1-D sequence of values, got shape {arr.shape}")
    se = float(arr.std(ddof=1) / np.sqrt(arr.size)) if arr.size > 1 else float("nan")
    return float(arr.mean()), se


class PairedDifference(NamedTuple):
    """Per-seed differences a_i - b_i: their mean, standard error, how many are above 0, and the differences."""

    mean: float
    se: float
    above: int
    diffs: np.ndarray


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    """a - b seed by seed (the same seed for both methods), summarized by `mean_and_standard_error`."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired_difference needs two 1-D arrays of the same non-zero length, got {a.shape} and {b.shape}")
    d = a - b
    mean_, se = mean_and_standard_error(d)
    return PairedDifference(mean_, se, int((d > 0).sum()), d)
