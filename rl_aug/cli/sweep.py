"""`rl-aug sweep`: a grid of training runs (seeds x strategies x tasks ...) as Ray Tune trials, resumable, with one
report across them.

    rl-aug sweep strategy=drq,svea,soda task=cartpole-swingup seed=1-5 frames=100000 --cpus-per-trial 1
    rl-aug sweep ... --address auto --storage /shared/sweeps   # on a cluster made with `ray start` (or RAY_ADDRESS)
    rl-aug sweep ... --evaluate-shifts color_hard,video_easy                   # then rl-aug evaluate on every run

The grid uses `rl-aug train`'s override grammar (Hydra's: key=a,b,c, key=range(1,4), seed=1-5, +key, ~key). Every
run's config is composed and checked before anything starts. Runs go to <storage>/<name>/<run name>; re-running
the same command skips the runs that have trained their whole budget and resumes the others from their own
checkpoints; a trial whose worker dies is restarted by Tune (--max-failures) and resumes the same way. At the end:
<storage>/<name>/report/ (per task and method the final return with a CI over seeds, IQM / mean / optimality gap
with stratified-bootstrap CIs, probability of improvement, performance profile).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from rl_aug.agents import run_lock
from rl_aug.agents.config import ConfigError
from rl_aug.agents.sweep import Job, plan
from rl_aug.cli import DMCGB_SHIFTS, at_least, command, shift_list
from rl_aug.errors import UserInputError
from rl_aug.evaluation import write_report
from rl_aug.evaluation.runs_report import write_runs_report
from rl_aug.files import write_text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rl-aug sweep", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("overrides", nargs="*", help="overrides and sweeps, as for rl-aug train (key=a,b seed=1-5 ...)")
    p.add_argument("--name", default=None,
                   help="the sweep's folder under --storage (default: sweep-<hash of the overrides>, so the same "
                        "command finds its sweep again)")
    p.add_argument("--storage", type=Path, default=Path("runs") / "sweeps",
                   help="where sweeps live; on a cluster a folder every node mounts at the same path "
                        "(default: runs/sweeps)")
    p.add_argument("--subdir", default=None,
                   help="run folder names, e.g. '{task}/{strategy}/seed{seed}' ({key}: the override's value, "
                        "{num}: the run's number; default '<num>-<swept key=value,...>')")
    p.add_argument("--config-dir", action="append", default=[], help="a folder of your own configs, as rl-aug train")
    p.add_argument("--address", default=None,
                   help="a Ray cluster to join: 'auto' (the one this machine joined with `ray start`) or HOST:PORT of "
                        "its head (default: $RAY_ADDRESS; unset: start Ray on this machine). Ray Client (ray://) "
                        "is refused: the sweep must run on a node of the cluster")
    p.add_argument("--num-cpus", type=at_least(1), default=None,
                   help="CPUs Ray may use when it starts on this machine (default: all)")
    p.add_argument("--cpus-per-trial", type=at_least(0, float), default=1.0, help="CPUs each trial holds (default 1)")
    p.add_argument("--gpus-per-trial", type=at_least(0, float), default=0.0,
                   help="GPUs each trial holds, fractions share one (default 0; with GPUs, add device=cuda)")
    p.add_argument("--max-failures", type=at_least(0), default=3,
                   help="restarts of a trial whose worker fails; each resumes from the run's checkpoint (default 3)")
    p.add_argument("--max-concurrent", type=at_least(1), default=None, help="at most this many trials at once")
    p.add_argument("--evaluate-shifts", nargs="?", const=DMCGB_SHIFTS, default=None, metavar="SHIFTS",
                   help="after the sweep, evaluate every finished run under these shifts, one Ray task per run, into "
                        f"one report (default when given without a value: the DMC-GB set {DMCGB_SHIFTS}; DMC-GB "
                        "assets from $RL_AUG_DMCGB_DIR)")
    p.add_argument("--eval-episodes", type=at_least(1), default=10, help="episodes per run and shift (default 10)")
    p.add_argument("--dry-run", action="store_true", help="print the runs and which are finished; start nothing")
    return p


def _defaults(overrides: list[str], cpus_per_trial: float) -> list[str]:
    """A trial's threads follow its CPUs, and workers draw no progress bars, unless the command says otherwise."""
    keys = {o.lstrip("+~").split("=", 1)[0] for o in overrides}
    defaults = {"run.num_threads": max(1, int(cpus_per_trial)), "run.progress": "false"}
    return [*overrides, *(f"{key}={value}" for key, value in defaults.items() if key not in keys)]


@command("sweep")
def main(argv: list[str]) -> int:
    args = _parser().parse_intermixed_args(argv)  # overrides may come before and after the options
    if not args.overrides:
        raise UserInputError("expected overrides, e.g. strategy=drq,svea seed=1-3 task=cartpole-swingup; got none")
    if any(o.split("=", 1)[0] in ("run_dir", "resume", "overwrite") for o in args.overrides):
        raise UserInputError("run_dir, resume and overwrite are the sweep's to set (runs go under --storage/--name, "
                             "and a re-run resumes them); drop them from the overrides")
    # a typo fails now, not after the sweep has trained
    args.shifts = shift_list(args.evaluate_shifts, "--evaluate-shifts") if args.evaluate_shifts else []
    address = args.address or os.environ.get("RAY_ADDRESS") or None
    if address and address.startswith("ray://"):
        raise UserInputError(f"expected a cluster address this machine belongs to ('auto' after `ray start`, or "
                             f"HOST:PORT), got the Ray Client address {address!r}: with Ray Client the sweep would "
                             "run on the head node while its runs are checked here; run rl-aug sweep on a node of the "
                             "cluster")
    # Trials run in Tune's own working folders: every path they get must be absolute.
    args.storage = args.storage.absolute()
    args.config_dir = [str(Path(d).absolute()) for d in args.config_dir]
    overrides = _defaults(args.overrides, args.cpus_per_trial)
    name = args.name or "sweep-" + hashlib.sha1(
        json.dumps([args.overrides, args.subdir]).encode()).hexdigest()[:8]
    sweep_dir = args.storage / name
    record = {"overrides": args.overrides, "subdir": args.subdir}
    record_path = sweep_dir / "sweep.json"
    records = json.loads(record_path.read_text())["sweeps"] if record_path.is_file() else []
    if records and record not in records and (args.subdir is None or any(r["subdir"] is None for r in records)):
        # Default run names are numbered by the grid: another grid in the same folder would mix runs up. With a
        # --subdir naming the swept values, sweeps may share a folder (a benchmark adds seeds and methods over time;
        # a run folder that holds a run of another config is refused by the plan, which checks it like a resume).
        raise UserInputError(f"{sweep_dir} holds another sweep (overrides {' '.join(records[-1]['overrides'])}); "
                             "choose another --name or --storage")
    jobs = plan(overrides, sweep_dir, args.config_dir or None, args.subdir)
    todo = [j for j in jobs if not j.finished()]
    print(f"rl-aug sweep: {sweep_dir}: {len(jobs)} run(s), {len(jobs) - len(todo)} finished, {len(todo)} to run",
          flush=True)
    if args.dry_run:
        for j in jobs:
            state = "finished" if j.finished() else ("started" if j.started() else "new")
            print(f"  {j.name:<40} {state:<9} {' '.join(o for o in j.overrides if not o.startswith('run_dir='))}")
        return 0
    sweep_dir.mkdir(parents=True, exist_ok=True)
    lock = run_lock.acquire(sweep_dir, "sweep")  # one sweep per folder: two would drive the same runs
    try:
        if record not in records:
            write_text(record_path, json.dumps({"sweeps": [*records, record]}, indent=2) + "\n")
        return _sweep(args, jobs, todo, sweep_dir, address)
    finally:
        run_lock.release(lock)


def _sweep(args: argparse.Namespace, jobs: list[Job], todo: list[Job], sweep_dir: Path, address: str | None) -> int:
    """The trials, the report, then the evaluation under shifts: one Ray session for both, started when needed."""
    global _ray_started
    failed: dict[str, str | None] = {}
    try:
        if todo:
            from rl_aug.agents import ray_tune  # lazy: Ray is the optional [sweep] extra

            _init_ray(args, address, sweep_dir)
            failed = ray_tune.run(todo, sweep_dir, config_dirs=args.config_dir or None,
                                  cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial,
                                  max_failures=args.max_failures, max_concurrent=args.max_concurrent)
        done = [j for j in jobs if j.finished()]
        _report(args, sweep_dir)
        if args.evaluate_shifts and done:
            _evaluate(args, done, sweep_dir, address)
    finally:
        if _ray_started:  # only the session this command started: a caller's own ray.init() stays up
            sys.modules["ray"].shutdown()
            _ray_started = False
    bad = {k: v for k, v in failed.items() if v is not None}
    for run, error in bad.items():
        print(f"rl-aug sweep: run {run} failed: {error} (log: {sweep_dir / 'logs' / (run.replace('/', '_') + '.log')})",
              file=sys.stderr)
    print(f"rl-aug sweep: {len(done)}/{len(jobs)} run(s) finished under {sweep_dir}"
          + ("" if not bad else f"; {len(bad)} failed: re-run the same command to resume them"))
    return 1 if bad else 0


_ray_started = False  # this command started the Ray session it uses (and _sweep shuts it down)


def _init_ray(args: argparse.Namespace, address: str | None, sweep_dir: Path) -> None:
    """Start Ray on this machine or join the cluster, once per command (_sweep shuts it down). A session the caller
    started (`ray.init()` in a script, then `main([...])`) is used as it is, said, and left running."""
    global _ray_started
    import ray  # lazy, as ray_tune: Ray is the optional [sweep] extra

    from rl_aug.agents import ray_tune

    if ray.is_initialized():
        if not _ray_started:
            print("rl-aug sweep: using the Ray session this process already runs (its own worker settings apply; "
                  "rl-aug's thread counts and MUJOCO_GL choice are not passed to its workers)", flush=True)
        return
    init = {"address": address, "log_to_driver": False,
            "runtime_env": {"env_vars": ray_tune.worker_env(args.cpus_per_trial)}}
    if address is None:
        init.update(include_dashboard=False, num_cpus=args.num_cpus)
    print(f"rl-aug sweep: Ray {'at ' + address if address else 'on this machine'}; trial logs in "
          f"{sweep_dir / 'logs'}", flush=True)
    ray.init(**init)
    _ray_started = True


def _report(args: argparse.Namespace, sweep_dir: Path) -> None:
    """<sweep>/report/ over the finished runs of every sweep recorded in the folder, rewritten each time (a derived
    file: the runs are the record). Unfinished runs are left out (their last evaluation is not a final return)."""
    records = json.loads((sweep_dir / "sweep.json").read_text())["sweeps"]
    runs: dict[Path, bool] = {}
    for rec in records:
        try:
            jobs = plan(_defaults(rec["overrides"], args.cpus_per_trial), sweep_dir, args.config_dir or None,
                        rec["subdir"])
        except ConfigError as exc:
            print(f"rl-aug sweep: the report leaves out the sweep {' '.join(rec['overrides'])}: {exc}", file=sys.stderr)
            continue
        for job in jobs:
            runs[job.run_dir] = runs.get(job.run_dir, False) or job.finished()
    done = [d for d, ok in runs.items() if ok]
    if not done:
        return
    tmp = sweep_dir / "report.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    title = f"rl-aug sweep {sweep_dir.name}: " + "; ".join(" ".join(r["overrides"]) for r in records)
    write_runs_report(done, tmp, title=title)
    final = sweep_dir / "report"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    left = len(runs) - len(done)
    print(f"rl-aug sweep: report of {len(done)} finished run(s){f' ({left} unfinished left out)' if left else ''}: "
          f"{final / 'report.md'}")


def _evaluate(args: argparse.Namespace, done: list[Job], sweep_dir: Path, address: str | None) -> None:
    """rl-aug evaluate of every finished run under the shifts, one Ray task per run (each holding a trial's CPUs and
    GPUs), into one report in <sweep>/evaluation-<shifts> (kept if it exists)."""
    import ray

    from rl_aug.agents import ray_tune

    out = sweep_dir / ("evaluation-" + args.evaluate_shifts.replace(",", "_").replace("+", "-"))
    if out.exists():
        print(f"rl-aug sweep: {out} exists and is kept (delete it to evaluate again)")
        return
    _init_ray(args, address, sweep_dir)
    task = ray.remote(num_cpus=args.cpus_per_trial, num_gpus=args.gpus_per_trial)(ray_tune.evaluate_run)
    pending = {task.remote(str(j.run_dir), args.shifts, args.eval_episodes): j.name for j in done}
    results = []
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        name = pending.pop(ready[0])
        results += ray.get(ready[0])
        print(f"[sweep] evaluated {name} under {len(args.shifts)} shift(s) ({len(done) - len(pending)}/{len(done)})",
              flush=True)
    write_report(out, results, title=f"Generalization: {', '.join(sorted({r.label for r in results}))}")
    print(f"rl-aug sweep: evaluation of {len(done)} run(s): {out / 'report.md'}")
