"""`rl-aug train key=value ...`: compose configs/ (agent, strategy, task, run groups) and train.

    rl-aug train agent=sac strategy=svea task=walker-walk seed=1 frames=500000
    rl-aug train run_dir=runs/x resume=true         # continue an interrupted run exactly, with its saved config
    rl-aug train --config-dir my_configs task=my-task  # my_configs/task/my-task.yaml wins over the shipped
    rl-aug train -m seed=1,2,3 strategy=drq,svea     # multirun: the 6 combinations, one after the other
    rl-aug train agent=drqv2 --cfg job               # print the composed config (YAML); start nothing

Overrides use Hydra's grammar (agents/overrides.py): any value by its dotted key, e.g. agent.lr=3e-4
run.eval_episodes=5 task.action_repeat=4; +key=value adds a key (in agent.* or strategy.*), ++key=value adds or
changes, ~key deletes, lists as [a,b].
"""

from __future__ import annotations

import sys

from rl_aug.cli import command, refuse
from rl_aug.errors import UserInputError

USAGE = """usage: rl-aug train [--config-dir DIR ...] [group=name ...] [key=value ...]

{doc}

--config-dir DIR: a folder of your own configs (same layout: train.yaml, agent/, strategy/, task/, run/),
searched before RL_AUG_CONFIG_PATH (folders separated by ':') and the configs shipped with rl-aug.
groups (one file each under <config folder>/<group>/):
{groups}
top-level keys: seed, frames (env frames), device, precision, run_dir, resume, overwrite
-m / --multirun: sweeps key=a,b,c or key=range(1,4) run every combination in turn, each in its own run dir
  (run_dir=DIR: DIR/<n>-<swept key=value,...>; default: runs/multirun/<UTC time>/<n>-<...>);
  re-running the same command with run_dir=DIR resume=true continues each run
--cfg job (-c job): print the composed config as YAML and start nothing (with -m: each run's), as Hydra does
"""

CFG_CHOICES = ("job",)  # Hydra's `hydra` and `all` show Hydra's own runtime config, which rl-aug does not use


def _take(argv: list[str], names: tuple[str, ...], needs: str) -> tuple[list[str], list[str]]:
    """Take the option `NAME VALUE` / `--NAME=VALUE` (repeatable) out of the overrides: the overrides left, and the
    option's values in order. Hydra's overrides are not argparse's arguments (+key=v, ~key), hence by hand."""
    rest, values = [], []
    it = iter(argv)
    for arg in it:
        name, eq, value = arg.partition("=")
        if arg in names:
            value = next(it, None)
            if value is None:
                raise UserInputError(f"{arg} needs {needs}")
            values.append(value)
        elif eq and name in names and name.startswith("--"):
            values.append(value)
        else:
            rest.append(arg)
    return rest, values


@command("train")
def main(argv: list[str]) -> int:
    # The harness is imported inside the functions on purpose: --help and --cfg job stay quick (no torch, no envs).
    from rl_aug.agents.config import GROUPS, available

    argv, config_dirs = _take(argv, ("--config-dir",), "a folder")
    argv, shown = _take(argv, ("--cfg", "-c"), f"a value: expected one of {', '.join(CFG_CHOICES)}")
    show = shown[-1] if shown else None
    if show is not None and show not in CFG_CHOICES:
        raise UserInputError(f"--cfg: expected one of {', '.join(CFG_CHOICES)} (the composed training "
                             f"config; rl-aug has no Hydra runtime config to show), got {show!r}")
    if any(a in ("-h", "--help") for a in argv):
        groups = "\n".join(f"  {g:<9} {', '.join(available(g, config_dirs)) or '(none yet)'}" for g in GROUPS)
        print(USAGE.format(doc=(__doc__ or "").strip(), groups=groups))
        return 0
    multirun = any(a in ("-m", "--multirun") for a in argv)
    argv = [a for a in argv if a not in ("-m", "--multirun")]
    if multirun:
        return _multirun(argv, config_dirs, show=show is not None)
    if show is not None:  # the composed config as YAML on stdout; composing creates no run directory
        from omegaconf import OmegaConf

        from rl_aug.agents.config import compose

        print(OmegaConf.to_yaml(compose(argv, config_dirs)), end="")
        return 0
    return _one_run(argv, config_dirs)


def _one_run(argv: list[str], config_dirs: list[str]) -> int:
    """One run; a bad config or run directory is answered here, as exit 2, so that `-m` can say which run failed."""
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer, run_to_end

    try:
        cfg = compose(argv, config_dirs)
        trainer = Trainer(cfg, overrides=argv)
    except (UserInputError, FileExistsError, FileNotFoundError) as exc:
        return refuse("train", exc)
    run_to_end(trainer)
    return 0


def _multirun(argv: list[str], config_dirs: list[str], show: bool) -> int:
    """Hydra's basic multirun: every combination of the sweeps, run one after the other on this machine (`show`,
    --cfg job: each run's composed config printed instead; nothing starts, no run directory is made). All configs
    are composed (and checked) before the first run starts, so a bad value stops nothing half-way."""
    from datetime import datetime, timezone
    from pathlib import Path

    from rl_aug.agents.sweep import base_dir, plan

    stamp = "<UTC time>" if show else datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    try:
        base = Path(base_dir(argv) or Path("runs") / "multirun" / stamp)
        jobs = plan(argv, base, config_dirs)
    except UserInputError as exc:  # ConfigError: answered under the prefix of -m (--cfg job: of train)
        return refuse("train" if show else "train -m", exc)
    if show:
        from omegaconf import OmegaConf

        for n, job in enumerate(jobs):
            print(f"# run {n + 1}/{len(jobs)}: {' '.join(job.overrides)}\n{OmegaConf.to_yaml(job.cfg)}", end="")
        return 0
    print(f"rl-aug train -m: {len(jobs)} run(s) under {base}", flush=True)
    for n, job in enumerate(jobs):
        # resume=true on a multirun continues the sweep: its runs that never started begin now (a single run
        # refuses resume=true where there is no run)
        overrides = job.overrides if job.started() else [o for o in job.overrides if o.split("=", 1)[0] != "resume"]
        print(f"rl-aug train -m: run {n + 1}/{len(jobs)}: {' '.join(overrides)}", flush=True)
        code = _one_run(overrides, config_dirs)
        if code != 0:
            print(f"rl-aug train -m: run {n + 1} failed (exit {code}); stopping, as Hydra's basic launcher does",
                  file=sys.stderr)
            return code
    from rl_aug.evaluation.runs_report import write_runs_report

    if (base / "report").exists():
        note = f"; {base / 'report'} exists and is kept (write a fresh one with rl_aug.evaluation.runs_report)"
    else:
        note = "; report: " + str(write_runs_report([job.run_dir for job in jobs], base / "report",
                                                    title=f"rl-aug train -m {' '.join(argv)}"))
    print(f"rl-aug train -m: {len(jobs)} run(s) done under {base}{note}")
    return 0
