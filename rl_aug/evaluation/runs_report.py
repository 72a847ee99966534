"""One report across training runs (a multirun, a sweep, a benchmark): per task and method the final return
over seeds, and across tasks the aggregates of Agarwal et al. 2021 ("Deep RL at the Edge of the Statistical
Precipice"): IQM, mean and optimality gap with stratified-bootstrap CIs, the performance profile and the
probability of improvement between methods.

    from rl_aug.evaluation.runs_report import write_runs_report
    write_runs_report(["runs/sweep1/0-seed=1,strategy=drq", ...], "runs/sweep1/report")

Scores are returns / 1000 (the most a DMC episode returns). The estimators are rl_aug.evaluation.aggregate's
(rliable's definitions); tasks may have different numbers of seeds: the bootstrap resamples each task's runs
within that task (stratified).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rl_aug.evaluation.aggregate import (
    bootstrap_improvement,
    iqm,
    mean,
    optimality_gap,
    performance_profile,
    stratified_bootstrap,
)
from rl_aug.evaluation.report import write_csv
from rl_aug.files import atomic_path, write_text

SCALE = 1000.0


@dataclass(frozen=True)
class RunResult:
    """A training run's last evaluation: which task and method, which seed, at which frame, with what return."""

    run_dir: str
    task: str
    method: str
    seed: int
    frame: int
    final_return: float


def method_label(cfg: Any) -> str:
    """What groups runs as seeds of one method: agent, strategy (with its strong augmentation: SVEA with conv and
    with overlay are different methods) and regularizers, e.g. "sac-svea(conv)"."""
    regs = [r if isinstance(r, str) else r.get("name", "?") for r in cfg.strategy.get("regularizers") or []]
    strong = cfg.strategy.get("strong")
    method = cfg.strategy.name + (f"({strong})" if strong else "")
    return f"{cfg.agent.name}-{'+'.join([method, *regs])}"


def collect(run_dirs: Sequence[str | Path]) -> list[RunResult]:
    """The last eval.csv row of each run directory written by `rl-aug train` (runs without one are skipped)."""
    from omegaconf import OmegaConf

    out = []
    for d in map(Path, run_dirs):
        if not (d / "config.yaml").is_file():
            raise FileNotFoundError(f"expected a run directory with config.yaml (from `rl-aug train`), got {d}")
        cfg = OmegaConf.load(d / "config.yaml")
        rows = []
        if (d / "eval.csv").is_file():
            with open(d / "eval.csv") as fh:
                rows = list(csv.DictReader(fh))
        if rows:
            last = rows[-1]
            out.append(RunResult(str(d), str(cfg.task.name), method_label(cfg), int(cfg.seed), int(last["frame"]),
                                 float(last["episode_return"])))
    return out


AGGREGATES: dict[str, Callable[[np.ndarray], float]] = {"IQM": iqm, "mean": mean, "optimality gap": optimality_gap}


# ------------------------------------------------------------------ the report
def _by_method(results: list[RunResult]) -> tuple[list[str], list[str], dict[str, dict[str, np.ndarray]]]:
    tasks = list(dict.fromkeys(r.task for r in results))
    methods = list(dict.fromkeys(r.method for r in results))
    table: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        table[r.method][r.task].append(r.final_return / SCALE)
    return tasks, methods, {m: {t: np.array(v) for t, v in table[m].items()} for m in methods}


def markdown(results: list[RunResult], *, reps: int = 2000, title: str = "Runs") -> str:
    tasks, methods, scores = _by_method(results)
    lines = [f"# {title}", "", (f"{len(results)} runs; final return = the last evaluation of each run (mean over "
             "its evaluation episodes); 95% CI: bootstrap over seeds."), "",
             "| task | method | seeds | frames | final return | 95% CI |", "| --- | --- | ---: | ---: | ---: | --- |"]
    for t in tasks:
        for m in methods:
            runs = [r for r in results if r.task == t and r.method == m]
            if not runs:
                continue
            arr = np.array([r.final_return for r in runs])
            ci = stratified_bootstrap([arr], mean, reps=reps)
            frames = sorted({r.frame for r in runs})
            lines.append(f"| {t} | {m} | {len(runs)} | {'/'.join(map(str, frames))} | {arr.mean():.1f} | "
                         f"[{ci.low:.1f}, {ci.high:.1f}] |")
    common = [m for m in methods if all(t in scores[m] for t in tasks)]
    if common:
        lines += ["", (f"Across {len(tasks)} task(s) (scores = return / {SCALE:g}; stratified bootstrap, {reps} "
                  "resamples; methods with runs on every task):"), "",
                  "| method | " + " | ".join(AGGREGATES) + " |", "| --- |" + " --- |" * len(AGGREGATES)]
        for m in common:
            per_task = [scores[m][t] for t in tasks]
            cells = [str(stratified_bootstrap(per_task, fn, reps=reps)) for fn in AGGREGATES.values()]
            lines.append(f"| {m} | " + " | ".join(cells) + " |")
    if len(common) > 1:
        lines += ["", "Probability of improvement P(row > column), averaged over tasks, with 95% CI:", "",
                  "| | " + " | ".join(common) + " |", "| --- |" + " --- |" * len(common)]
        for a in common:
            cells = ["-" if a == b else str(bootstrap_improvement([scores[a][t] for t in tasks],
                                                                  [scores[b][t] for t in tasks], reps=reps))
                     for b in common]
            lines.append(f"| {a} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_profiles(results: list[RunResult], path: Path) -> bool:
    """performance_profile.png; False (nothing written) without matplotlib (the `rl-aug[eval]` extra)."""
    try:
        import matplotlib
    except ModuleNotFoundError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, methods, scores = _by_method(results)
    taus = np.linspace(0.0, 1.0, 101)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in methods:
        ax.plot(taus, performance_profile(np.concatenate(list(scores[m].values())), taus), label=m)
    ax.set_xlabel("normalized score tau (return / 1000)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)
    return True


def write_runs_report(run_dirs: Sequence[str | Path], out: str | Path, *, reps: int = 2000,
                      title: str = "Runs") -> Path:
    """runs.csv, report.md and performance_profile.png (with matplotlib) in `out`, a new or empty directory;
    returns the path of report.md."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"expected a new or empty report directory, got {out}, which holds files")
    results = collect(run_dirs)
    if not results:
        raise ValueError(f"expected runs with at least one evaluation (eval.csv), got none in {len(run_dirs)} dirs")
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "runs.csv", [r.__dict__ for r in results])
    write_text(out / "report.md", markdown(results, reps=reps, title=title))
    plot_profiles(results, out / "performance_profile.png")
    return out / "report.md"
