"""`rl-aug train key=value ...`: compose configs/ (agent, strategy, task, run groups) and train.

    rl-aug train agent=sac strategy=svea task=walker-walk seed=1 frames=500000
    rl-aug train run_dir=runs/x resume=true         # continue an interrupted run exactly
"""

from __future__ import annotations

import sys

USAGE = """usage: rl-aug train [group=name ...] [key=value ...]

groups (one file each under configs/<group>/):
{groups}
top-level keys: seed, frames (env frames), device, run_dir, resume, overwrite
any value: dotted keys, e.g. agent.lr=3e-4 run.eval_episodes=5 task.action_repeat=4
"""


def main(argv: list[str]) -> int:
    from agents.config import GROUPS, ConfigError, available, compose

    if any(a in ("-h", "--help") for a in argv):
        groups = "\n".join(f"  {g:<9} {', '.join(available(g)) or '(none yet)'}" for g in GROUPS)
        print(USAGE.format(groups=groups))
        return 0
    try:
        cfg = compose(argv)
        from agents.train import Trainer

        trainer = Trainer(cfg)
    except (ConfigError, FileExistsError, FileNotFoundError) as exc:
        print(f"rl-aug train: {exc}", file=sys.stderr)
        return 2
    try:
        result = trainer.run()
    finally:
        trainer.close()
    print(f"run dir: {trainer.run_dir}  frames: {result['frame']}  agent steps: {result['step']}  "
          f"last eval return: {result['last_eval_return']:.1f}")
    return 0
