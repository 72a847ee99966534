"""Aggregate evaluation returns over runs: per-shift mean +- std (the DMC-GB tables) and, across shifts, the
interquartile mean (IQM) and mean with stratified-bootstrap 95% confidence intervals (Agarwal et al. 2021,
"Deep RL at the Edge of the Statistical Precipice").

Written here rather than taken from `rliable`: rliable 1.2 pins `arch<8`, and arch 7.2 fails to import
with pandas 3 (`deprecate_kwarg() missing 1 required positional argument`), measured on this stack. The
estimators follow rliable's definitions: IQM is the mean of the middle 50% of all (run, task) scores
(scipy's `trim_mean(x, 0.25)`), and the bootstrap resamples runs with replacement within each task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def iqm(scores: np.ndarray) -> float:
    """Interquartile mean of all entries: drop floor(n/4) from each end of the sorted scores, average the rest."""
    flat = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if flat.size == 0:
        raise ValueError("expected at least one score, got an empty array")
    cut = int(0.25 * flat.size)
    return float(flat[cut:flat.size - cut].mean())


def mean(scores: np.ndarray) -> float:
    return float(np.mean(scores))


METRICS: dict[str, Metric] = {"iqm": iqm, "mean": mean}


def stratified_bootstrap(scores: np.ndarray, metric: Metric, *, reps: int = 2000, confidence: float = 0.95,
                         seed: int = 0) -> Interval:
    """Percentile CI of `metric` over (runs, tasks) scores, resampling runs independently within each task."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or 0 in scores.shape:
        raise ValueError(f"expected scores of shape (runs, tasks) with both > 0, got {scores.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"expected confidence in (0, 1), got {confidence}")
    runs, tasks = scores.shape
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, runs, size=(reps, runs, tasks))  # a run index per (rep, slot, task)
    samples = scores[idx, np.arange(tasks)]  # (reps, runs, tasks): task j keeps its own column
    stats = np.array([metric(s) for s in samples])
    tail = 100.0 * (1.0 - confidence) / 2.0
    low, high = np.percentile(stats, [tail, 100.0 - tail])
    return Interval(metric(scores), float(low), float(high))


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
