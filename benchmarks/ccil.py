"""BC vs NoiseBC vs CCIL on every CCIL task, >= 5 seeds; writes benchmarks/results/ccil.{csv,md}.

    MUJOCO_GL=egl .venv/bin/python benchmarks/ccil.py --seeds 5 --episodes 100
    MUJOCO_GL=egl .venv/bin/python benchmarks/ccil.py --tasks pendulum reacher --episodes 50
    RL_AUG_CCIL_DATA=../shared/ccil MUJOCO_GL=egl OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ccil.py \
        --paired ccil_d4rl_hopper --tasks hopper_d4rl --seeds 10

--paired NAME (one task): the paired comparison; after every seed the run's per-seed table (results.csv) and
report (results.md: per-seed paired differences with standard errors) are copied to
benchmarks/results/NAME.{csv,md} with the command, so an unfinished run leaves a partial table that says so.
`--resume RUN_DIR` continues such a run (the pipeline's resume=: its saved config, finished seeds read back; with
--seeds / --first-seed, the seeds to reach, which may add seeds) into the same NAME.

Each task runs the `rl-aug ccil` pipeline (configs/ccil/<task>.yaml) into runs/ccil_bench/<task>-<time>;
the table reports mean +- std over seeds of per-seed mean returns (CCIL's protocol) and says, per
task, whether CCIL beat BC.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]

from rl_aug.agents.ccil_config import load_config, load_resume_config
from rl_aug.agents.ccil_pipeline import run
from rl_aug.envs.ccil.tasks import TASKS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=[t for t in TASKS if TASKS[t].demo_path.exists()])
    parser.add_argument("--seeds", type=int, default=None, help="how many seeds (default 5)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first..first+seeds-1 (continue a paired comparison that stopped, into a new NAME)")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[],
                        help="extra key=value pipeline overrides for every task")
    parser.add_argument("--paired", metavar="NAME", help="paired comparison of one task into results/NAME.{csv,md}")
    parser.add_argument("--resume", type=Path, metavar="RUN_DIR", help="with --paired: continue this run directory")
    args = parser.parse_args(argv)
    if args.resume is not None and not args.paired:
        parser.error("--resume continues a paired comparison: give --paired NAME too")
    if args.resume is not None and args.overrides:
        parser.error(f"--resume keeps the run's own config; --set {' '.join(args.overrides)} would change it")
    seeds_given = args.seeds is not None
    args.seeds = 5 if args.seeds is None else args.seeds
    if args.paired:
        return paired(args, seeds_given)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    rows = []
    for task in args.tasks:
        start = time.time()
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        cfg = load_config([f"task={task}", f"seeds={seeds}", f"episodes={args.episodes}",
                           f"out={ROOT / 'runs' / 'ccil_bench' / f'{task}-{stamp}'}", *args.overrides])
        run_dir, summary = run(cfg)
        per_seed = pd.read_csv(run_dir / "results.csv")
        expert = json.loads(TASKS[task].demo_path.with_suffix(".json").read_text())["expert_return_mean"]
        row = {"task": task, "seeds": args.seeds, "episodes": args.episodes, "eval_noise": float(per_seed.eval_noise[0]),
                   "expert": expert, "minutes": round((time.time() - start) / 60, 1), "run_dir": str(run_dir.relative_to(ROOT))}
        for method, (mean, std) in summary.items():
            row[f"{method}_mean"], row[f"{method}_std"] = mean, std
        rows.append(row)
        print(json.dumps(row), flush=True)
        table = pd.DataFrame(rows)
        args.out.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out / "ccil.csv", index=False)
        lines = [(f"Machine: {platform.machine()} CPU, {platform.system()}, torch 1 thread, shared with other jobs. "
                 f"Command: `MUJOCO_GL=egl .venv/bin/python benchmarks/ccil.py --seeds {args.seeds} "
                 f"--episodes {args.episodes}{' --set ' + ' '.join(args.overrides) if args.overrides else ''}`"), "",
                 "| task | expert | eval noise | seeds x episodes | BC | NoiseBC | CCIL | CCIL > BC? |",
                 "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            better = "yes" if r["ccil_mean"] > r["bc_mean"] else "**no**"
            lines.append(f"| {r['task']} | {r['expert']:.2f} | {r['eval_noise']} | {r['seeds']} x {r['episodes']} | "
                         f"{r['bc_mean']:.2f} +- {r['bc_std']:.2f} | {r['noisebc_mean']:.2f} +- {r['noisebc_std']:.2f} | "
                         f"{r['ccil_mean']:.2f} +- {r['ccil_std']:.2f} | {better} |")
        (args.out / "ccil.md").write_text("\n".join(lines) + "\n")
    return 0


def paired(args, seeds_given: bool = True) -> int:
    import shutil

    if len(args.tasks) != 1:
        raise SystemExit(f"--paired compares methods on one task, got tasks {args.tasks}")
    task = args.tasks[0]
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    run_dir = ROOT / "runs" / "ccil_bench" / f"{task}-{stamp}"
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    command = (f"RL_AUG_CCIL_DATA=../shared/ccil MUJOCO_GL=egl OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ccil.py "
               f"--paired {args.paired} --tasks {task} --seeds {args.seeds}"
               + (f" --first-seed {args.first_seed}" if args.first_seed else "") + f" --episodes {args.episodes}"
               + (f" --set {' '.join(args.overrides)}" if args.overrides else ""))
    if args.resume is not None:
        run_dir = args.resume.resolve()
        cfg = load_resume_config(run_dir, [f"seeds={seeds}"] if seeds_given or args.first_seed else [])
        if cfg.task != task:
            raise SystemExit(f"--resume {run_dir} is a run of {cfg.task}, not of {task}")
        command = (f"RL_AUG_CCIL_DATA=../shared/ccil MUJOCO_GL=egl OMP_NUM_THREADS=1 .venv/bin/python "
                   f"benchmarks/ccil.py --paired {args.paired} --tasks {task} --resume {args.resume}"
                   + (f" --seeds {args.seeds}" if seeds_given else "")
                   + (f" --first-seed {args.first_seed}" if args.first_seed else ""))
    else:
        cfg = load_config([f"task={task}", f"seeds={seeds}", f"episodes={args.episodes}",
                           f"out={run_dir}", *args.overrides])
    args.out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    def copy(out: Path) -> None:
        shutil.copyfile(out / "results.csv", args.out / f"{args.paired}.csv")
        header = (f"Command: `{command}`  \nMachine: {platform.machine()} CPU, {platform.system()}, torch 1 thread, "
                  f"shared with other jobs; {(time.time() - start) / 60:.0f} min so far. "
                  f"Run directory: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}\n\n")
        (args.out / f"{args.paired}.md").write_text(header + (out / "results.md").read_text())

    run(cfg, on_seed=copy, resume=args.resume is not None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
