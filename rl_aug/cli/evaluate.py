"""`rl-aug evaluate RUN_DIR [RUN_DIR ...]`: evaluate trained runs under the generalization shifts.

    rl-aug evaluate runs/walker-walk/sac-svea/seed1 runs/walker-walk/sac-svea/seed2 \
        --shifts train,color_hard,video_easy,video_hard --episodes 10 --out runs/eval/svea

Each run directory (from `rl-aug train`) gives its agent, task settings and last checkpoint (with --frame N, its
snapshot at frame N instead: runs trained with run.snapshot_every_frames, compared at equal frames); runs with the
same agent and strategy are grouped as seeds of one method. Writes returns.csv, summary.csv, report.md
(the DMC-GB-style table plus IQM / mean over shifts with bootstrap CIs), shifts.png and videos/ into --out,
which must not exist yet. It also writes invariance.{md,csv,png}: how much each run's actor and critic change when
the states it met under the first shift (`train`) are augmented (rl_aug/evaluation/invariance.py): seconds, no
extra episode; `--invariance-states 0` skips it. A shell over rl_aug.agents.evaluate.evaluate_run.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rl_aug.agents.evaluate import evaluate_run
from rl_aug.augment import parse
from rl_aug.cli import DMCGB_SHIFTS, HelpFormatter, at_least, command, refuse, shift_list
from rl_aug.errors import UserInputError, blame_input
from rl_aug.evaluation import episode_seeds, write_report
from rl_aug.evaluation.invariance import DEFAULT_AUGMENTATIONS, write_invariance
from rl_aug.evaluation.report import read_returns


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rl-aug evaluate", description=__doc__.splitlines()[0],
                                formatter_class=HelpFormatter)
    p.add_argument("runs", nargs="+", type=Path, help="run directories written by `rl-aug train`")
    p.add_argument("--shifts", default=DMCGB_SHIFTS,
                   help="comma-separated; 'train' is the training distribution, '+' combines shifts")
    p.add_argument("--episodes", type=at_least(1), default=10, help="episodes per run and shift (DMC-GB: 10 per seed)")
    p.add_argument("--frame", type=at_least(1), default=None,
                   help="evaluate each run's snapshot at this frame (run.snapshot_every_frames) instead of its last "
                        "checkpoint (default: the last checkpoint)")
    p.add_argument("--seed", type=int, default=0, help="seeds the episode resets, the same for every shift")
    p.add_argument("--assets-dir", default=None,
                   help="DMC-GB asset directory (default: $RL_AUG_DMCGB_DIR; unset: sampled colours, "
                        "procedural videos)")
    p.add_argument("--videos", type=at_least(0), default=0, help="record this many episodes per run and shift as mp4")
    p.add_argument("--out", type=Path, default=None,
                   help="new output directory (default: runs/evaluations/<date-time>)")
    p.add_argument("--include", type=Path, action="append", default=[], metavar="EVALUATION",
                   help="also report the episodes of an earlier `rl-aug evaluate` output (its returns.csv); its "
                        "shifts and reset seeds must be this evaluation's (same --shifts, --seed, --episodes, and "
                        "the same assets), so every run stays paired; repeatable (default: none)")
    p.add_argument("--reps", type=at_least(1), default=2000, help="bootstrap resamples for the confidence intervals")
    p.add_argument("--invariance-states", type=at_least(0), default=256,
                   help="states (sampled from each run's episodes under the first shift) for the invariance report; "
                        "0: no report")
    p.add_argument("--invariance-augs", default=";".join(DEFAULT_AUGMENTATIONS),
                   help="semicolon-separated augmentation specs the invariance report applies")
    return p


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


@command("evaluate")
def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    out = args.out or Path("runs") / "evaluations" / time.strftime("%Y%m%d-%H%M%S")
    if out.exists():
        raise UserInputError(f"{out} exists; choose a new --out (evaluations are never overwritten)")
    shifts = shift_list(args.shifts)
    print(f"rl-aug evaluate: results go to {out} ({len(args.runs)} run(s) x {len(shifts)} shift(s) x {args.episodes} "
          "episodes)", flush=True)
    if len({p.resolve() for p in args.runs}) != len(args.runs):
        raise UserInputError("a run directory is named twice; name each run once")
    earlier = []
    for previous in args.include:  # checked before any episode runs: a mismatch costs nothing
        with blame_input("--include", (FileNotFoundError,)):
            episodes = read_returns(previous)
        problem = _unpaired(episodes, shifts, episode_seeds(args.seed, args.episodes))
        if problem:
            raise UserInputError(f"--include {previous}: expected the shifts {','.join(shifts)} with the reset "
                                 f"seeds of --seed {args.seed} --episodes {args.episodes}; {problem}")
        twice = sorted({e.run for e in episodes} & {e.run for e in earlier})
        if twice:
            raise UserInputError(f"--include {previous}: {twice[0]} is in an earlier --include too; name each run once")
        earlier += episodes
    named = sorted({e.run for e in earlier if any(e.run.startswith(f"{run_dir} (") for run_dir in args.runs)})
    if named:
        raise UserInputError(f"{named[0]} is in an --include evaluation already; name each run once")
    augs = tuple(a.strip() for a in args.invariance_augs.split(";") if a.strip())
    if args.invariance_states:
        with blame_input("--invariance-augs", (ValueError,)):  # a typo fails here, before any episode runs
            for spec in augs:
                parse(spec)
    results = list(earlier)  # the earlier runs first: the table keeps the order runs come in
    invariance_rows = {}
    for run_dir in args.runs:
        try:
            got, rows = evaluate_run(run_dir, shifts, episodes=args.episodes, seed=args.seed,
                                     assets_dir=args.assets_dir, videos=args.videos, bar=True, frame=args.frame,
                                     invariance_states=args.invariance_states, invariance_augs=augs)
        except (FileNotFoundError, ValueError) as exc:  # ValueError: a shift that does not apply to the run's env
            return refuse("evaluate", exc)
        if args.invariance_states:
            invariance_rows[str(run_dir)] = rows
        results += got
    write_report(out, results, title=f"Generalization: {', '.join(sorted({r.label for r in results}))}",
                 reps=args.reps)
    print((out / "report.md").read_text())
    if invariance_rows:
        write_invariance(out, invariance_rows, states_from=shifts[0])
        print((out / "invariance.md").read_text())
    print(f"wrote {out}")
    return 0
