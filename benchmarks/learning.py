"""Learning benchmark: DrQ (SAC + shift, K=M=2) and SVEA (SAC + shift + conv) on cartpole-swingup.

Protocol from DrQ (Kostrikov et al. 2020): 100k environment frames at action repeat 8 (12.5k agent steps),
evaluation every 10k frames over 10 episodes. DrQ reports 759 +- 92 at 100k frames on cartpole_swingup
(10 seeds, data/dmc_planet_bench.csv); the goal is to land inside that band. That CSV evaluates every 16k
frames: the "100k" figure is the mean and sample std of its 96k-frame evaluations. `report` draws those ten
published curves behind ours and says where our seeds fall among them.

    python benchmarks/learning.py launch --methods drq svea --seeds 1 2 3   # one `rl-aug sweep` (Ray Tune)
    python benchmarks/learning.py report            # CSV + PNG of whatever the runs have evaluated so far

`launch` is a thin caller of `rl-aug sweep` (it prints the command it runs, which is the whole protocol): each run
is an ordinary run directory <root>/<task>/<method>/seed<N>, a method is a strategy config (configs/strategy/), and
running `launch` again skips the finished runs and resumes the others exactly. The sweep blocks until its runs end:
start it with nohup for a long benchmark.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
# The generalization comparison of the SODA / SVEA papers: DrQ, SVEA with conv (its default) and with overlay, SODA.
# Each method is a strategy config (configs/strategy/<method>.yaml) on agent=sac.
METHODS = ("drq", "svea", "svea_overlay", "soda", "svea_auto")
# DrQ's published per-seed evaluation returns on cartpole_swingup (denisyarats/drq data/dmc_planet_bench.csv,
# batch 512), at 0, 16k, ..., 96k frames. Their 96k column gives the paper's "100k" figure: 759.4 +- 92.5.
PUBLISHED_FRAMES = (0, 16_000, 32_000, 48_000, 64_000, 80_000, 96_000)
PUBLISHED_DRQ_CARTPOLE = {
    1: (20.7, 97.0, 244.4, 330.9, 447.7, 635.8, 832.6),
    2: (18.7, 247.4, 286.0, 396.4, 518.9, 840.0, 850.5),
    3: (7.2, 171.3, 267.1, 278.6, 367.4, 420.9, 655.4),
    4: (9.3, 184.2, 318.6, 432.0, 534.4, 666.8, 834.6),
    5: (14.6, 193.6, 260.4, 389.5, 491.3, 824.4, 762.9),
    6: (20.5, 179.3, 307.2, 319.6, 472.3, 797.1, 781.5),
    7: (15.6, 197.6, 270.1, 306.2, 351.9, 491.5, 572.0),
    8: (15.6, 248.1, 263.3, 311.2, 412.0, 598.9, 791.3),
    9: (36.5, 115.0, 286.5, 428.8, 434.0, 738.9, 684.7),
    10: (18.8, 186.4, 240.3, 405.6, 474.1, 591.0, 828.2),
}
PUBLISHED_LAST = [curve[-1] for curve in PUBLISHED_DRQ_CARTPOLE.values()]  # the 96k column


def has_published(args: argparse.Namespace) -> bool:
    """The published DrQ seeds are for cartpole-swingup only."""
    return args.task == "cartpole-swingup" and "drq" in args.methods


def run_dir(root: Path, method: str, task: str, seed: int) -> Path:
    return root / task / method / f"seed{seed}"


def seeds_of(args: argparse.Namespace, method: str) -> list[int]:
    """--seeds when given; otherwise seed 1 for `launch` and every seedN run directory found for `report`."""
    if args.seeds:
        return list(args.seeds)
    if args.action == "launch":
        return [1]
    base = args.root / args.task / method
    found = [int(d.name[4:]) for d in base.glob("seed*") if d.is_dir() and d.name[4:].isdigit()] if base.is_dir() else []
    return sorted(found)


def sweep_command(args: argparse.Namespace) -> list[str]:
    """The `rl-aug sweep` command of a launch: methods x seeds on --task, runs at <root>/<task>/<method>/seed<N>."""
    return [sys.executable, "-m", "rl_aug.cli", "sweep", "agent=sac", f"strategy={','.join(args.methods)}",
            f"task={args.task}", f"seed={','.join(str(s) for s in seeds_of(args, args.methods[0]))}",
            f"frames={args.frames}", "run=benchmark", f"run.eval_every_frames={args.eval_every}",
            f"run.eval_episodes={args.eval_episodes}", f"run.num_threads={args.threads}", *args.set,
            "--storage", str(args.root), "--name", args.task, "--subdir", "{strategy}/seed{seed}",
            "--cpus-per-trial", str(args.threads), *shlex.split(args.sweep_args)]


def launch(args: argparse.Namespace) -> int:
    """Run the sweep (foreground; it resumes what is unfinished and skips what is done)."""
    command = sweep_command(args)
    print("running:", " ".join(command[1:]), flush=True)
    env = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
    return subprocess.call(command, cwd=ROOT, env=env)


def collect(args: argparse.Namespace) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for method in args.methods:
        for seed in seeds_of(args, method):
            path = run_dir(args.root, method, args.task, seed) / "eval.csv"
            if not path.is_file():
                continue
            with open(path) as fh:
                for r in csv.DictReader(fh):
                    rows.append({"method": method, "seed": seed, "frame": int(r["frame"]), "step": int(r["step"]),
                                 "episode_return": float(r["episode_return"]),
                                 "episode_return_std": float(r["episode_return_std"]),
                                 "episodes": int(r["episodes"])})
    return rows


def collect_device(args: argparse.Namespace) -> dict[str, list[tuple[int, float]]]:
    """Curves brought home from GPU device runs (benchmarks/results/device/*/learning.csv, cartpole only),
    keyed by a label naming method, seed, batch size and GPU."""
    curves: dict[str, list[tuple[int, float]]] = {}
    if args.task != "cartpole-swingup":
        return curves
    for path in sorted((RESULTS / "device").glob("*/learning.csv")):
        with open(path) as fh:
            for r in csv.DictReader(fh):
                if r["method"] in args.methods:
                    label = f"{r['method']} seed {r['seed']}, batch {r['batch_size']}, {r['device']} ({path.parent.name[:10]})"
                    curves.setdefault(label, []).append((int(r["frame"]), float(r["episode_return"])))
    return curves


def keep_committed(rows: list[dict[str, float | str]], path: Path) -> list[dict[str, float | str]]:
    """Add the rows of the results CSV for (method, seed) runs that have no run directory here: a run made on
    another machine or in a run directory since removed stays in the report instead of being erased."""
    if not path.is_file():
        return rows
    here = {(r["method"], int(r["seed"])) for r in rows}
    with open(path) as fh:
        kept = [{**r, "seed": int(r["seed"]), "frame": int(r["frame"]), "step": int(r["step"]),
                 "episode_return": float(r["episode_return"]), "episode_return_std": float(r["episode_return_std"]),
                 "episodes": int(r["episodes"])} for r in csv.DictReader(fh)]
    return [r for r in kept if (r["method"], r["seed"]) not in here] + rows


def seed_summary(rows: list[dict[str, float | str]], methods: list[str]) -> list[dict[str, float | str]]:
    """Per method and evaluation frame, the return over the seeds that reached that frame: how many and which,
    mean, sample std (DrQ's "+-") and a 95% bootstrap CI of the mean (resampling seeds; undefined below 2 seeds).
    A frame reached by fewer seeds than the method has is a partial point, and the table says so by its n."""
    from rl_aug.evaluation.aggregate import mean, stratified_bootstrap

    out: list[dict[str, float | str]] = []
    for method in methods:
        mine = [r for r in rows if r["method"] == method]
        for frame in sorted({int(r["frame"]) for r in mine}):
            at = sorted((int(r["seed"]), float(r["episode_return"])) for r in mine if r["frame"] == frame)
            returns = np.array([v for _, v in at])
            ci = stratified_bootstrap(returns[:, None], mean) if len(at) > 1 else None
            out.append({"method": method, "frame": frame, "seeds": len(at),
                        "which_seeds": " ".join(str(s) for s, _ in at), "mean": float(returns.mean()),
                        "std": float(returns.std(ddof=1)) if len(at) > 1 else float("nan"),
                        "ci_low": ci.low if ci else float("nan"), "ci_high": ci.high if ci else float("nan")})
    return out


def seed_table(summary: list[dict[str, float | str]], method: str) -> str:
    """The markdown rows of `seed_summary` for one method (what BENCHMARKS.md quotes)."""
    lines = [f"| {method}: frames | seeds | mean | std over seeds | 95% CI of the mean |", "| --- | --- | --- | --- | --- |"]
    for r in summary:
        if r["method"] != method:
            continue
        spread = "" if int(r["seeds"]) < 2 else f"{r['std']:.1f}"
        ci = "" if int(r["seeds"]) < 2 else f"[{r['ci_low']:.1f}, {r['ci_high']:.1f}]"
        lines.append(f"| {int(r['frame']) // 1000}k | {r['seeds']} ({r['which_seeds']}) | {r['mean']:.1f} | {spread} | {ci} |")
    return "\n".join(lines)


def report(args: argparse.Namespace) -> None:
    stem = f"learning_{args.task.replace('-', '_')}"
    rows = keep_committed(collect(args), RESULTS / f"{stem}.csv")
    device_curves = collect_device(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{stem}.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["method", "seed", "frame", "step", "episode_return",
                                                "episode_return_std", "episodes"])
        writer.writeheader()
        writer.writerows(rows)
    # Over every method in the CSV, not only --methods: a report of one method must not drop the others' rows.
    summary = seed_summary(rows, [m for m in METHODS if any(r["method"] == m for r in rows)])
    with open(RESULTS / f"{stem}_seeds.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(summary[0]) if summary else ["method"])
        writer.writeheader()
        writer.writerows(summary)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Left: DrQ, its seeds thin and their mean thick, over the published seeds; right: the other methods.
    # One panel held every curve before; with five DrQ seeds and three DMC-GB methods it could not be read.
    others = [m for m in args.methods if m != "drq"]
    names = (["drq"] if "drq" in args.methods else []) + (["others"] if others else [])
    fig, axes = plt.subplots(1, len(names), figsize=(11, 4.2), sharey=True, squeeze=False)
    panels = dict(zip(names, axes[0]))
    if has_published(args) and "drq" in panels:
        for i, curve in enumerate(PUBLISHED_DRQ_CARTPOLE.values()):
            panels["drq"].plot(PUBLISHED_FRAMES, curve, color="0.8", lw=0.8, zorder=0,
                               label="DrQ published seeds (batch 512)" if i == 0 else None)
    colours = itertools.cycle(plt.rcParams["axes.prop_cycle"].by_key()["color"])
    for method in args.methods:
        ax = panels["drq" if method == "drq" else "others"]
        thin = method == "drq"
        for seed in sorted({int(r["seed"]) for r in rows if r["method"] == method}):
            pts = [(r["frame"], r["episode_return"]) for r in rows if r["method"] == method and r["seed"] == seed]
            colour = next(colours)
            ax.plot(*zip(*pts), marker="o", ms=3 if thin else 5, lw=1 if thin else 1.5, color=colour,
                    alpha=0.7 if thin else 1.0, label=f"{method} seed {seed}")
        mean_pts = [(r["frame"], r["mean"]) for r in summary if r["method"] == method and int(r["seeds"]) > 1]
        if thin and mean_pts:
            ax.plot(*zip(*mean_pts), color="black", lw=2.5, label=f"{method} mean over the seeds at each frame")
    for label, pts in device_curves.items():
        ax = panels.get("drq" if label.startswith("drq ") else "others", axes[0][0])
        ax.plot(*zip(*pts), marker="^", linestyle="--", label=label)
    if has_published(args) and "drq" in panels:
        mean, std = float(np.mean(PUBLISHED_LAST)), float(np.std(PUBLISHED_LAST, ddof=1))
        panels["drq"].errorbar([args.frames], [mean], yerr=[std], fmt="s", color="black", capsize=4,
                               label=f"drq published (DrQ paper) {mean:.0f}+-{std:.0f}")
    for name, ax in panels.items():
        ax.set_xlabel("environment frames")
        ax.set_title(f"{args.task}, action repeat 8: {'DrQ' if name == 'drq' else 'SVEA / SODA'}")
        ax.legend(fontsize=6, loc="upper left")
    axes[0][0].set_ylabel(f"eval return ({args.eval_episodes} episodes)")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{stem}.png", dpi=120)
    print(f"wrote {RESULTS / f'{stem}.csv'}, {stem}_seeds.csv and .png")
    published_last = sorted(PUBLISHED_LAST)
    for method in args.methods:
        for seed in sorted({int(r["seed"]) for r in rows if r["method"] == method}):
            mine = [r for r in rows if r["method"] == method and r["seed"] == seed]
            if mine:
                last = mine[-1]
                line = (f"{method} seed {seed}: {last['frame']} frames, eval return {last['episode_return']:.1f} "
                        f"+- {last['episode_return_std']:.1f} over {last['episodes']} episodes")
                if method == "drq" and has_published(args) and last["frame"] >= args.frames:
                    below = sum(v < float(last["episode_return"]) for v in published_last)
                    line += (f"; above {below} of the {len(published_last)} published DrQ seeds at 96k frames "
                             f"(range {published_last[0]:.1f}-{published_last[-1]:.1f})")
                print(line)
        for label, pts in device_curves.items():
            if label.startswith(f"{method} "):
                frame, ret = pts[-1]
                done = "" if frame >= args.frames else f" (partial: stopped at {frame} of {args.frames} frames)"
                print(f"{label}: {frame} frames, eval return {ret:.1f}{done}")
        finals = [r["episode_return"] for r in rows
                  if r["method"] == method and r["frame"] == args.frames]
        if len(finals) > 1:
            print(f"{method}: mean over {len(finals)} seeds at {args.frames} frames: {np.mean(finals):.1f} "
                  f"+- {np.std(finals, ddof=1):.1f} (sample std over seeds)")
        if any(r["method"] == method for r in summary):
            print(seed_table(summary, method))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["launch", "report"])
    parser.add_argument("--methods", nargs="+", default=None, choices=list(METHODS),
                        help="launch: required (each is a strategy config; one run per seed); report: default all")
    parser.add_argument("--seeds", nargs="+", type=int, default=None,
                        help="default: seed 1 for launch, every seed found under --root for report")
    parser.add_argument("--task", default="cartpole-swingup")
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--eval-every", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads per run (1: two runs share 2 cores; 2: one run alone on 2 cores)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="more `rl-aug train` overrides, e.g. run.checkpoint_every_frames=2000")
    parser.add_argument("--sweep-args", default="", metavar="'ARGS'",
                        help="options for rl-aug sweep in one string, e.g. --sweep-args='--address auto --max-concurrent 2'")
    parser.add_argument("--root", type=Path, default=ROOT / "runs" / "benchmarks" / "learning")
    args = parser.parse_args()
    if args.methods is None:
        if args.action == "launch":
            parser.error(f"launch needs --methods (one or more of {', '.join(METHODS)})")
        args.methods = list(METHODS)
    if args.action == "launch":
        return launch(args)
    report(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
