"""`rl-aug sweep` on Ray Tune: each run of a sweep (agents/sweep.py) is one Tune trial.

A trial is one ordinary training run in its own run directory. It reports every evaluation to Tune and keeps its
state in the run's own atomic checkpoint: Tune's checkpoints are not used, so the replay is never copied. When a
trial's worker dies, Tune restarts it (`FailureConfig(max_failures)`) and the trial resumes from its run
directory exactly where the last checkpoint left it, as `rl-aug train resume=true` does. Runs that have trained
their whole budget (their result.json) are not launched again, so re-running a sweep command skips finished runs
and resumes the others. Nothing here schedules processes: Ray does.
"""

from __future__ import annotations

import math
import os
import socket
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rl_aug.extras import require
from rl_aug.gl import GL_CHOSEN_ENV  # set when rl-aug, not the user, chose MUJOCO_GL: not forwarded

require("ray", "rl-aug sweep (trials on Ray Tune)")
from ray import tune
from rl_aug.agents import checkpoint, provenance, run_lock
from rl_aug.agents.callbacks import Callback
from rl_aug.agents.config import compose
from rl_aug.agents.sweep import Job
from rl_aug.agents.train import Trainer

# A hook called with each trial's Trainer and its job (name, sweep_dir, ...) before it runs, in the trial's worker:
# to add callbacks (trainer.callbacks), e.g. the tests' injected worker crash.
TrialSetup = Callable[[Trainer, dict[str, Any]], None]
# Environment variables that reach every worker (on a cluster too): the GL backend, thread counts, rl-aug's own.
FORWARDED = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "MUJOCO_EGL_DEVICE_ID", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def worker_env(cpus_per_trial: float) -> dict[str, str]:
    """The env vars of the workers: the forwarded ones that are set here, RL_AUG_* ones, and the thread count
    (OMP_NUM_THREADS = the trial's CPUs, unless set). MUJOCO_GL is forwarded only when the user set it: a trial
    otherwise picks the backend its own node has (rl_aug.gl.choose_backend)."""
    env = {k: v for k, v in os.environ.items() if k in FORWARDED or k.startswith("RL_AUG_")}
    if os.environ.get(GL_CHOSEN_ENV):  # chosen for this machine by the CLI, not by the user
        for key in ("MUJOCO_GL", "PYOPENGL_PLATFORM", GL_CHOSEN_ENV):
            env.pop(key, None)
    env.setdefault("OMP_NUM_THREADS", str(max(1, int(cpus_per_trial))))
    return env


def _redirect_output(log: Path) -> None:
    """The trial's stdout and stderr (C libraries' too) go to its log file, not to the sweep's live view."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def start_overrides(overrides: list[str], run_dir: Path, marker: Path) -> list[str]:
    """How a trial starts its run: new (and `marker` records that this sweep started it), resumed from the run's
    checkpoint, or, when this sweep started it and it died before its first checkpoint, started again
    (overwrite=true). A folder with files, no checkpoint and no marker is not the sweep's: refused, never deleted."""
    if not run_lock.contents(run_dir):
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{socket.gethostname()} {os.getpid()}\n")
        return list(overrides)
    if checkpoint.find(run_dir / "checkpoint") is not None:
        return [*overrides, "resume=true"]
    if not marker.is_file():
        raise FileExistsError(f"{run_dir} holds files but no checkpoint, and this sweep did not start it: move it "
                              "away (a sweep deletes nothing it did not make)")
    print(f"[sweep] {run_dir} holds no checkpoint yet: starting the run again", flush=True)
    return [*overrides, "overwrite=true"]


class TuneReport(Callback):
    """A trial's callback: each evaluation to Tune, the eval row (frame, step, episode_return, episode_return_std,
    episodes) plus frames (the budget), fps (frames per second of wall time since the previous report, evaluations
    included) and restarts (how many earlier starts this run had)."""

    def __init__(self, frame: int, budget: int, restarts: int) -> None:
        self.time = time.perf_counter()
        self.frame = frame  # of the previous report (of the start, before the first)
        self.budget = budget
        self.restarts = restarts
        self.reported = 0

    def on_eval(self, frame: int, step: int, metrics: dict[str, float]) -> None:
        now = time.perf_counter()
        fps = (frame - self.frame) / max(now - self.time, 1e-9) if frame > self.frame else math.nan
        self.time, self.frame, self.reported = now, frame, self.reported + 1
        tune.report({**metrics, "frames": self.budget, "fps": fps, "restarts": self.restarts})


def trial(config: dict[str, Any], setup: TrialSetup | None = None) -> None:
    """One Tune trial: train (or resume) the run of `config["job"]`, reporting each evaluation (TuneReport).

    config["job"]: overrides (with run_dir), config_dirs, sweep_dir, name. `setup`, when given, sees the Trainer
    before it runs. MUJOCO_GL: as the user set it, else EGL / OSMesa, whichever this node has (the env layer picks
    it on import, rl_aug.gl.ensure_backend)."""
    config = config["job"]
    sweep_dir = Path(config["sweep_dir"])
    name = str(config["name"])
    safe = name.replace("/", "_")
    _redirect_output(sweep_dir / "logs" / f"{safe}.log")
    overrides = list(config["overrides"])
    run_dir = Path(next(o.split("=", 1)[1] for o in overrides if o.startswith("run_dir=")))
    overrides = start_overrides(overrides, run_dir, sweep_dir / ".started" / safe)
    cfg = compose(overrides, config.get("config_dirs"))
    trainer = Trainer(cfg, overrides=overrides)
    report = TuneReport(trainer.frame, int(cfg.frames), restarts=max(0, len(provenance.read(run_dir)) - 1))
    trainer.callbacks.append(report)
    if setup is not None:
        setup(trainer, config)
    print(f"[sweep] {name}: {'resuming at frame ' + str(trainer.frame) if trainer.frame else 'new run'} in {run_dir}",
          flush=True)
    try:
        trainer.run()
        if report.reported == 0 and trainer.eval_rows:  # resumed after its last evaluation: say where it ended
            row = trainer.eval_rows[-1]
            report.on_eval(row["frame"], row["step"], row)
    finally:
        trainer.close()


def evaluate_run(run_dir: str, shifts: list[str], episodes: int) -> list[Any]:
    """A Ray task of `rl-aug sweep --evaluate-shifts`: rl-aug evaluate's episodes of one run under the shifts
    (DMC-GB assets from $RL_AUG_DMCGB_DIR, which reaches the workers)."""
    # lazy: Ray ships this function to a worker, which imports the env layer only when it evaluates
    from rl_aug.agents.evaluate import evaluate_run as evaluate

    return evaluate(Path(run_dir), shifts, episodes=episodes)[0]


def reporter() -> tune.CLIReporter:
    """The live view of a sweep is Tune's own progress reporter: every 30 s a table of the trials (status, frame of
    the budget, last return, fps, restarts) and, at the end, the trials that failed, with "1*" failures for one
    that Tune restarted and that then finished."""
    return tune.CLIReporter(
        parameter_columns={"job/name": "run"},  # the run's folder under the sweep (the trial name has no "/")
        metric_columns={"frame": "frame", "frames": "of", "episode_return": "last return", "fps": "fps",
                        "restarts": "restarts"},
        max_column_length=60, max_report_frequency=30, print_intermediate_tables=True)


def run(jobs: list[Job], sweep_dir: Path, *, config_dirs: list[str] | None = None, cpus_per_trial: float = 1.0,
        gpus_per_trial: float = 0.0, max_failures: int = 3, max_concurrent: int | None = None,
        setup: TrialSetup | None = None) -> dict[str, str | None]:
    """Run `jobs` as Tune trials on the Ray cluster this process is connected to (ray.init first), shown by
    `reporter()`. Returns each job's error (None when it finished). `setup` (TrialSetup) is shipped to every
    trial's worker."""
    def name_of(t: Any) -> str:
        return str(t.config["job"]["name"]).replace("/", "_")

    configs = [{"name": j.name, "overrides": list(j.overrides), "config_dirs": config_dirs,
                "sweep_dir": str(sweep_dir.resolve())} for j in jobs]
    trainable = tune.with_resources(tune.with_parameters(trial, setup=setup) if setup is not None else trial,
                                    {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    # Ray's new output engine (its default) ignores RunConfig.progress_reporter: the legacy one prints our table
    # (for this fit only: the process's setting is restored after it).
    before = os.environ.get("RAY_AIR_NEW_OUTPUT")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    tuner = tune.Tuner(
        trainable,
        param_space={"job": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(max_concurrent_trials=max_concurrent, trial_name_creator=name_of,
                                    trial_dirname_creator=name_of),
        run_config=tune.RunConfig(name=f"tune-{stamp}", storage_path=str((sweep_dir / "tune").resolve()), verbose=1,
                                  failure_config=tune.FailureConfig(max_failures=max_failures),
                                  progress_reporter=reporter()),
    )
    try:
        grid = tuner.fit()
    finally:
        if before is None:
            os.environ.pop("RAY_AIR_NEW_OUTPUT", None)
    errors: dict[str, str | None] = {}
    for result in grid:
        error = result.error  # its text is the trial's traceback: the last line says what went wrong
        last = "" if error is None else str(error).strip().rpartition("\n")[2]
        errors[result.config["job"]["name"]] = None if error is None else f"{type(error).__name__}: {last}"
    return errors
