"""`rl-aug train key=value ...`: compose configs/ (agent, strategy, task, run groups) and train.

    rl-aug train agent=sac strategy=svea task=walker-walk seed=1 frames=500000
    rl-aug train run_dir=runs/x resume=true         # continue an interrupted run exactly, with its saved config
    rl-aug train --config-dir my_configs task=my-task  # my_configs/task/my-task.yaml wins over the shipped
"""

from __future__ import annotations

import sys

USAGE = """usage: rl-aug train [--config-dir DIR ...] [group=name ...] [key=value ...]

--config-dir DIR: a folder of your own configs (same layout: train.yaml, agent/, strategy/, task/, run/),
searched before RL_AUG_CONFIG_PATH (folders separated by ':') and the configs shipped with rl-aug.
groups (one file each under <config folder>/<group>/):
{groups}
top-level keys: seed, frames (env frames), device, run_dir, resume, overwrite
any value: dotted keys, e.g. agent.lr=3e-4 run.eval_episodes=5 task.action_repeat=4
"""


def _split_config_dirs(argv: list[str]) -> tuple[list[str], list[str]]:
    """Take `--config-dir DIR` / `--config-dir=DIR` (repeatable) out of the overrides."""
    rest, dirs = [], []
    it = iter(argv)
    for arg in it:
        if arg == "--config-dir":
            value = next(it, None)
            if value is None:
                raise SystemExit("rl-aug train: --config-dir needs a folder")
            dirs.append(value)
        elif arg.startswith("--config-dir="):
            dirs.append(arg.split("=", 1)[1])
        else:
            rest.append(arg)
    return rest, dirs


def main(argv: list[str]) -> int:
    from rl_aug.agents.checkpoint import CheckpointDamaged
    from rl_aug.agents.config import GROUPS, ConfigError, available, compose

    argv, config_dirs = _split_config_dirs(argv)
    if any(a in ("-h", "--help") for a in argv):
        try:
            groups = "\n".join(f"  {g:<9} {', '.join(available(g, config_dirs)) or '(none yet)'}" for g in GROUPS)
        except ConfigError as exc:
            print(f"rl-aug train: {exc}", file=sys.stderr)
            return 2
        print(USAGE.format(groups=groups))
        return 0
    try:
        cfg = compose(argv, config_dirs)
        from rl_aug.agents.train import Trainer

        trainer = Trainer(cfg, overrides=argv)
    except (ConfigError, FileExistsError, FileNotFoundError, CheckpointDamaged) as exc:
        print(f"rl-aug train: {exc}", file=sys.stderr)
        return 2
    start = f"resuming at frame {trainer.frame}" if trainer.frame else "new run"
    print(f"rl-aug train: run dir {trainer.run_dir} ({start}, budget {cfg.frames} frames)", flush=True)
    try:
        result = trainer.run()
    finally:
        trainer.close()
    print(f"run dir: {trainer.run_dir}  frames: {result['frame']}  agent steps: {result['step']}  "
          f"last eval return: {result['last_eval_return']:.1f}")
    return 0
