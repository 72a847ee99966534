"""Write an evaluation to a directory: every episode (returns.csv), per-shift statistics (summary.csv), a
markdown report with the DMC-GB-style table and the aggregate over shifts, a bar plot, and videos."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import numpy as np

from rl_aug.evaluation.aggregate import aggregate
from rl_aug.evaluation.rollout import EpisodeResult
from rl_aug.files import atomic_path, write_text


def _ordered(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def per_run_means(results: list[EpisodeResult]) -> tuple[list[str], list[str], dict[str, np.ndarray]]:
    """(labels, shifts, {label: (runs, shifts) mean return of each run under each shift})."""
    labels = _ordered([r.label for r in results])
    shifts = _ordered([r.shift for r in results])
    returns: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    seen: set[tuple[str, str, str, int]] = set()
    for r in results:
        key = (r.label, r.run, r.shift, r.episode)
        if key in seen:
            raise ValueError(f"expected each (label, run, shift, episode) once, got {key} twice: give runs distinct ids")
        seen.add(key)
        returns[(r.label, r.run, r.shift)].append(r.episode_return)
    scores = {}
    for label in labels:
        runs = _ordered([r.run for r in results if r.label == label])
        missing = [(run, s) for run in runs for s in shifts if (label, run, s) not in returns]
        if missing:
            raise ValueError(f"expected every run of {label!r} evaluated under every shift; missing {missing}")
        scores[label] = np.array([[np.mean(returns[(label, run, s)]) for s in shifts] for run in runs])
    return labels, shifts, scores


def retained(scores: np.ndarray, shifts: list[str]) -> np.ndarray | None:
    """(runs, shifts) return under each shift as a fraction of the same run's `train` return, or None without a
    `train` column. What the DMC-GB papers' claim is about (SVEA / SODA lose less of their training return than
    DrQ), and comparable between runs stopped at different frames, which absolute returns are not. A run whose
    train return is <= 0 gets NaN (a fraction of it means nothing)."""
    if "train" not in shifts:
        return None
    base = scores[:, shifts.index("train")][:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(base > 0, scores / np.where(base > 0, base, 1.0), np.nan)


def summary_rows(results: list[EpisodeResult]) -> list[dict[str, float | int | str]]:
    """One row per (label, shift): mean over runs of each run's mean return, std over runs and over episodes,
    and the mean over runs of the fraction of the run's train return kept (NaN without a `train` shift)."""
    labels, shifts, scores = per_run_means(results)
    rows = []
    for label in labels:
        kept = retained(scores[label], shifts)
        for j, shift in enumerate(shifts):
            eps = [r.episode_return for r in results if r.label == label and r.shift == shift]
            per_run = scores[label][:, j]
            rows.append({"label": label, "shift": shift, "runs": len(per_run), "episodes": len(eps),
                         "mean": float(per_run.mean()), "std_runs": float(per_run.std()),
                         "std_episodes": float(np.std(eps)),
                         "retained": float(np.mean(kept[:, j])) if kept is not None else float("nan")})
    return rows


def write_csv(path: Path, rows: list[dict]) -> None:
    """`rows` as a CSV at `path`, written atomically (a stopped run leaves no half-written table); the columns are
    every key of the rows, in the order first seen. The one CSV writer of run folders, reports and CCIL tables."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
        writer.writeheader()
        writer.writerows(rows)


def markdown(results: list[EpisodeResult], *, title: str = "Generalization evaluation", reps: int = 2000) -> str:
    labels, shifts, scores = per_run_means(results)
    summary = {(r["label"], r["shift"]): r for r in summary_rows(results)}
    lines = [f"# {title}", "", ("Episode return, mean +- std over runs (a method with one run: std over its "
             "episodes, marked *)."), "", "| method | runs | " + " | ".join(shifts) + " |",
             "|---|---|" + "---|" * len(shifts)]
    for label in labels:
        multi = len(scores[label]) > 1
        cells = []
        for s in shifts:
            row = summary[(label, s)]
            cells.append(f"{row['mean']:.1f} +- {row['std_runs'] if multi else row['std_episodes']:.1f}"
                         + ("" if multi else "*"))
        lines.append(f"| {label} | {len(scores[label])} | " + " | ".join(cells) + " |")
    if any(s != "train" for s in shifts):
        agg = aggregate(scores, shifts, reps=reps)
        lines += ["", ("Across the shifts (train excluded), returns / 1000, 95% stratified-bootstrap CI over runs "
                  "(with one run the interval is a point):"), "",
                  "| method | IQM | mean |", "|---|---|---|"]
        for label in labels:
            lines.append(f"| {label} | {agg[label]['iqm']} | {agg[label]['mean']} |")
    moved = [s for s in shifts if s != "train"]
    if "train" in shifts and moved:
        lines += ["", ("Return kept under each shift: the run's shift return / its train return, mean over runs "
                  "(comparable across runs stopped at different frames):"), "",
                  "| method | " + " | ".join(moved) + " |", "|---|" + "---|" * len(moved)]
        for label in labels:
            lines.append(f"| {label} | " + " | ".join(f"{summary[(label, s)]['retained']:.0%}" for s in moved) + " |")
    runs = _ordered([f"{r.label}: {r.run}" for r in results])
    lines += ["", f"Runs: {'; '.join(runs)}. Every shift replays the same episode seeds (paired comparison)."]
    return "\n".join(lines) + "\n"


def plot(results: list[EpisodeResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(results)
    labels = _ordered([r["label"] for r in rows])
    shifts = _ordered([r["shift"] for r in rows])
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(shifts), 3.6))
    for i, label in enumerate(labels):
        mine = [next(r for r in rows if r["label"] == label and r["shift"] == s) for s in shifts]
        err = [r["std_runs"] if r["runs"] > 1 else r["std_episodes"] for r in mine]
        ax.bar(np.arange(len(shifts)) + i * width, [r["mean"] for r in mine], width, yerr=err, capsize=3, label=label)
    ax.set_xticks(np.arange(len(shifts)) + 0.4 - width / 2, shifts, fontsize=8)
    ax.set_ylabel("episode return")
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)


def write_videos(results: list[EpisodeResult], directory: Path, fps: int = 30) -> list[Path]:
    import imageio.v2 as imageio

    paths = []
    for r in results:
        if not r.frames:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        name = f"{r.label}-{r.run}-{r.shift}-ep{r.episode}"
        path = directory / ("".join(c if c.isalnum() or c in "-_.@" else "_" for c in name) + ".mp4")
        with atomic_path(path) as tmp:
            imageio.mimsave(tmp, r.frames, fps=fps, macro_block_size=1)
        paths.append(path)
    return paths


def read_returns(directory: str | Path) -> list[EpisodeResult]:
    """The episodes of an earlier evaluation (its returns.csv), to report them beside new ones (`rl-aug evaluate
    --include`): runs evaluated on different days form one table without evaluating the old runs again."""
    path = Path(directory) / "returns.csv"
    if not path.is_file():
        raise FileNotFoundError(f"expected an evaluation directory with returns.csv (from `rl-aug evaluate`), "
                                f"got {directory}")
    with open(path, newline="") as fh:
        return [EpisodeResult(label=row["label"], run=row["run"], shift=row["shift"], episode=int(row["episode"]),
                              seed=int(row["seed"]), episode_return=float(row["episode_return"]),
                              length=int(row["length"])) for row in csv.DictReader(fh)]


def write_report(directory: str | Path, results: list[EpisodeResult], *, title: str = "Generalization evaluation",
                 reps: int = 2000, overwrite: bool = False) -> Path:
    """Write returns.csv, summary.csv, report.md, shifts.png (and videos/) into `directory`, created if missing.

    A directory that holds anything is refused (FileExistsError) unless `overwrite=True`: an earlier evaluation is
    never replaced by accident. With `overwrite=True` the report's files are replaced and the .mp4 files of an
    earlier videos/ are removed (they would not match the new report); other files are left alone."""
    if not results:
        raise ValueError("expected evaluation results, got none")
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"expected a folder for the evaluation report, got {directory}, which is a file")
    if not overwrite and directory.is_dir() and any(directory.iterdir()):
        raise FileExistsError(f"expected a new or empty folder for the evaluation report, got {directory}, which "
                              "is not empty: choose another folder, or pass overwrite=True to replace its report")
    directory.mkdir(parents=True, exist_ok=True)
    if overwrite and (directory / "videos").is_dir():
        for old in (directory / "videos").glob("*.mp4"):
            old.unlink()
    write_csv(directory / "returns.csv", [
        {"label": r.label, "run": r.run, "shift": r.shift, "episode": r.episode, "seed": r.seed,
         "episode_return": r.episode_return, "length": r.length} for r in results])
    write_csv(directory / "summary.csv", summary_rows(results))
    write_text(directory / "report.md", markdown(results, title=title, reps=reps))
    plot(results, directory / "shifts.png")
    write_videos(results, directory / "videos")
    return directory
