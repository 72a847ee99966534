"""How far the evaluation env's dynamics are from those the CCIL demos were recorded in: every demo transition
(s_t, a_t, s_t+1) replayed one step in a gymnasium env (state set from s_t, x = 0: the observation leaves out the
forward position, which the dynamics do not depend on), error |s'_env - s_t+1| against the step |s_t+1 - s_t|.

    RL_AUG_CCIL_DATA=../shared/ccil .venv/bin/python benchmarks/ccil_env_mismatch.py --every 5

The demos (D4RL expert-v2) come from gym's mujoco-py envs (MuJoCo 2.x); gymnasium's v4 and v5 envs run MuJoCo 3 with
the v4 / v5 model files. Hopper and Walker2d clip the velocities in their observations to [-10, 10], so a state
with a clipped velocity cannot be set back exactly: those transitions are reported apart ("clipped"); the
others measure the env difference alone. One-step error is a proxy, not the closed-loop effect, which needs the
paired benchmark with `--set env_id=...`.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

TASKS = {"hopper_d4rl": ("Hopper-v4", "Hopper-v5"), "walker2d_d4rl": ("Walker2d-v4", "Walker2d-v5")}


VELOCITY_CLIP = 10.0  # gym/gymnasium Hopper and Walker2d: np.clip(qvel, -10, 10) in the observation


def one_step_errors(env_id: str, demos, every: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(errors, step sizes, clipped) over every `every`-th demo transition; clipped: s_t has a velocity at the
    observation's clip."""
    import gymnasium as gym

    env = gym.make(env_id)
    try:
        env.reset(seed=0)
        base = env.unwrapped
        nq = int(base.model.nq)
        errors, steps, clipped = [], [], []
        for i in range(0, len(demos), every):
            s = demos.observations[i].astype(np.float64)
            clipped.append(bool(np.any(np.abs(s[nq - 1:]) >= VELOCITY_CLIP - 1e-4)))
            base.set_state(np.r_[0.0, s[: nq - 1]], s[nq - 1:])
            predicted, *_ = env.step(demos.actions[i])
            errors.append(np.linalg.norm(predicted - demos.next_observations[i]))
            steps.append(np.linalg.norm(demos.next_observations[i] - demos.observations[i]))
        return np.array(errors), np.array(steps), np.array(clipped)
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--every", type=int, default=5, help="use every N-th demo transition")
    args = parser.parse_args(argv)
    if args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    default_data = ROOT.parent / "shared" / "ccil"
    if not os.environ.get("RL_AUG_CCIL_DATA") and default_data.is_dir():
        os.environ["RL_AUG_CCIL_DATA"] = str(default_data)
    import gymnasium as gym

    gym.logger.min_level = gym.logger.ERROR  # the v4 envs say they are out of date
    from rl_aug.envs.ccil.tasks import get_task

    from rl_aug.ccil.data import load_demos

    print("| task | env | transitions | clipped | median error / step, unclipped | 90% error / step, unclipped | "
          "median error / step, clipped |")
    print("|---|---|---|---|---|---|---|")
    for name in args.tasks:
        demos = load_demos(get_task(name).resolve_demo_path(None))
        for env_id in TASKS[name]:
            errors, steps, clipped = one_step_errors(env_id, demos, args.every)
            ratio = errors / steps
            print(f"| {name} | {env_id} | {len(errors)} | {clipped.mean():.1%} | {np.median(ratio[~clipped]):.4f} | "
                  f"{np.quantile(ratio[~clipped], 0.9):.4f} | "
                  f"{np.median(ratio[clipped]) if clipped.any() else float('nan'):.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
