"""`rl-aug evaluate RUN_DIR [RUN_DIR ...]`: evaluate trained runs under the generalization shifts.

    rl-aug evaluate runs/walker-walk/sac-svea/seed1 runs/walker-walk/sac-svea/seed2 \
        --shifts train,color_hard,video_easy,video_hard --episodes 10 --out runs/eval/svea

Each run directory (from `rl-aug train`) gives its agent, task settings and last checkpoint (with --frame N, its
snapshot at frame N instead: runs trained with run.snapshot_every_frames, compared at equal frames); runs with the
same agent and strategy are grouped as seeds of one method. Writes returns.csv, summary.csv, report.md
(the DMC-GB-style table plus IQM / mean over shifts with bootstrap CIs), shifts.png and videos/ into --out,
which must not exist yet.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from rl_aug.cli import count

DEFAULT_SHIFTS = "train,color_easy,color_hard,video_easy,video_hard,camera"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rl-aug evaluate", description=__doc__.splitlines()[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by `rl-aug train`")
    p.add_argument("--shifts", default=DEFAULT_SHIFTS,
                   help="comma-separated; 'train' is the training distribution, '+' combines shifts")
    p.add_argument("--episodes", type=count(1), default=10, help="episodes per run and shift (DMC-GB: 10 per seed)")
    p.add_argument("--frame", type=count(1), default=None,
                   help="evaluate each run's snapshot at this frame (run.snapshot_every_frames) instead of its last "
                        "checkpoint")
    p.add_argument("--seed", type=int, default=0, help="seeds the episode resets, the same for every shift")
    p.add_argument("--assets-dir", default=None,
                   help="DMC-GB asset directory (default: $RL_AUG_DMCGB_DIR; unset: sampled colours, "
                        "procedural videos)")
    p.add_argument("--videos", type=count(0), default=0, help="record this many episodes per run and shift as mp4")
    p.add_argument("--out", type=Path, default=None,
                   help="new output directory (default: runs/evaluations/<date-time>)")
    p.add_argument("--include", type=Path, action="append", default=[], metavar="EVALUATION",
                   help="also report the episodes of an earlier `rl-aug evaluate` output (its returns.csv); its "
                        "shifts and reset seeds must be this evaluation's (same --shifts, --seed, --episodes, and "
                        "the same assets), so every run stays paired; repeatable")
    p.add_argument("--reps", type=count(1), default=2000, help="bootstrap resamples for the confidence intervals")
    return p


def evaluate_run(run_dir: Path, shifts: list[str], *, episodes: int = 10, seed: int = 0, assets_dir: str | None = None,
                 videos: int = 0, bar: bool = False, frame: int | None = None) -> list:
    """The episodes of one trained run (its config and last checkpoint, or its snapshot at `frame`) under each
    shift: a list of rl_aug.evaluation EpisodeResult, labelled "<task> <method>" so runs of one method group as
    seeds. Raises FileNotFoundError for a folder that is not a run directory or holds no checkpoint (or no
    snapshot at `frame`). (`rl-aug sweep --evaluate-shifts` runs this per run as a Ray task.)"""
    from rl_aug import envs
    from rl_aug.agents.checkpoint import load_agent
    from rl_aug.agents.config import load_saved
    from rl_aug.evaluation import evaluate_shifts
    from rl_aug.evaluation.runs_report import method_label

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"expected a run directory with config.yaml (from `rl-aug train`), got {run_dir}")
    task = load_saved(run_dir / "config.yaml").task  # an edited or damaged file: ConfigError naming it

    def make_env(shift: str):  # "train": whatever the run trained on (task.shift, usually none)
        return envs.make(task.name, frame_stack=task.frame_stack, size=task.size, action_repeat=task.action_repeat,
                         render_quality=task.render_quality, shift=task.shift if shift == "train" else shift,
                         assets_dir=assets_dir)

    probe = make_env("train")
    obs_shape = tuple(int(s) for s in probe.observation_space.shape)
    low, high = probe.action_space.low.astype(np.float32), probe.action_space.high.astype(np.float32)
    probe.close()
    agent, cfg, step = load_agent(run_dir, obs_shape, int(np.prod(low.shape)), frame=frame)

    def policy(obs):
        return low + (agent.act(obs, step, eval_mode=True) + 1.0) * 0.5 * (high - low)

    return evaluate_shifts(policy, make_env, shifts, episodes=episodes, seed=seed,
                           label=f"{task.name} {method_label(cfg)}",
                           run=f"{run_dir} (seed {cfg.seed}, {step * int(task.action_repeat)} frames)",
                           record=videos, progress=print, bar=bar)


def _unpaired(episodes: list, shifts: list[str], seeds: list[int]) -> str:
    """Why `episodes` (an earlier evaluation) cannot sit beside this one, or '' when every run in it was evaluated
    under exactly these shifts with exactly these reset seeds."""
    runs: dict[tuple[str, str], dict[str, list[int]]] = {}
    for e in episodes:
        runs.setdefault((e.label, e.run), {}).setdefault(e.shift, []).append(e.seed)
    for (_, run), by_shift in runs.items():
        if sorted(by_shift) != sorted(shifts):
            return f"{run} was evaluated under {','.join(by_shift)}"
        for shift, got in by_shift.items():
            if got != seeds:
                return f"{run} under {shift} used {len(got)} episode(s) with other reset seeds"
    return ""


def _check_shifts(shifts: list[str]) -> None:
    """Every --shifts name known before anything runs (UserInputError naming --shifts otherwise)."""
    from rl_aug.errors import UserInputError, blame_input
    from rl_aug.wrappers.shifts import parse_shift

    if not shifts:
        raise UserInputError("--shifts: expected comma-separated shift names (e.g. train,color_hard), got none")
    with blame_input("--shifts"):
        for shift in shifts:
            if shift not in ("train", "none"):
                parse_shift(shift)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    out = args.out or Path("runs") / "evaluations" / time.strftime("%Y%m%d-%H%M%S")
    if out.exists():
        print(f"rl-aug evaluate: {out} exists; choose a new --out (evaluations are never overwritten)",
              file=sys.stderr)
        return 2
    shifts = [s.strip() for s in args.shifts.split(",") if s.strip()]
    _check_shifts(shifts)
    print(f"rl-aug evaluate: results go to {out} ({len(args.runs)} run(s) x {len(shifts)} shift(s) x {args.episodes} "
          "episodes)", flush=True)
    if len({p.resolve() for p in args.runs}) != len(args.runs):
        print("rl-aug evaluate: a run directory is named twice; name each run once", file=sys.stderr)
        return 2
    from rl_aug.evaluation import episode_seeds, write_report
    from rl_aug.evaluation.report import read_returns

    earlier = []
    for previous in args.include:  # checked before any episode runs: a mismatch costs nothing
        try:
            episodes = read_returns(previous)
        except FileNotFoundError as exc:
            print(f"rl-aug evaluate: --include: {exc}", file=sys.stderr)
            return 2
        problem = _unpaired(episodes, shifts, episode_seeds(args.seed, args.episodes))
        if problem:
            print(f"rl-aug evaluate: --include {previous}: expected the shifts {','.join(shifts)} with the reset "
                  f"seeds of --seed {args.seed} --episodes {args.episodes}; {problem}", file=sys.stderr)
            return 2
        twice = sorted({e.run for e in episodes} & {e.run for e in earlier})
        if twice:
            print(f"rl-aug evaluate: --include {previous}: {twice[0]} is in an earlier --include too; name each "
                  "run once", file=sys.stderr)
            return 2
        earlier += episodes
    named = sorted({e.run for e in earlier if any(e.run.startswith(f"{run_dir} (") for run_dir in args.runs)})
    if named:
        print(f"rl-aug evaluate: {named[0]} is in an --include evaluation already; name each run once",
              file=sys.stderr)
        return 2
    results = list(earlier)  # the earlier runs first: the table keeps the order runs come in
    for run_dir in args.runs:
        try:
            results += evaluate_run(run_dir, shifts, episodes=args.episodes, seed=args.seed,
                                    assets_dir=args.assets_dir, videos=args.videos, bar=True, frame=args.frame)
        except FileNotFoundError as exc:
            print(f"rl-aug evaluate: {exc}", file=sys.stderr)
            return 2
    write_report(out, results, title=f"Generalization: {', '.join(sorted({r.label for r in results}))}",
                 reps=args.reps)
    print((out / "report.md").read_text())
    print(f"wrote {out}")
    return 0
