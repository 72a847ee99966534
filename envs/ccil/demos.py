"""Roll out a task's expert (no noise) and store the demonstrations as npz (rl_aug.ccil.data format).

    python -m rl_aug.envs.ccil.demos --task inverted_double_pendulum      # writes envs/ccil/demos/<task>.npz
    python -m rl_aug.envs.ccil.demos --all

Demo episodes use seeds 0..n-1; evaluation uses seeds from 10_000 on, so they never overlap.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from rl_aug.envs.ccil.tasks import TASKS, get_task

from rl_aug.ccil.data import Demonstrations, save_demos
from rl_aug.files import write_text


def collect(task_name: str, episodes: int | None = None, seed: int = 0) -> tuple[Demonstrations, list[float]]:
    task = get_task(task_name)
    expert = task.expert()
    env = task.make_env()
    obs_l, act_l, next_l, ep_l, returns = [], [], [], [], []
    for ep in range(episodes or task.demo_episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, total = False, 0.0
        while not done:
            action = np.asarray(expert(obs[None]), dtype=np.float32).reshape(-1)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            obs_l.append(obs)
            act_l.append(action)
            next_l.append(next_obs)
            ep_l.append(ep)
            total += float(reward)
            obs, done = next_obs, terminated or truncated
        returns.append(total)
    env.close()
    demos = Demonstrations(np.asarray(obs_l, np.float32), np.asarray(act_l, np.float32),
                           np.asarray(next_l, np.float32), np.asarray(ep_l, np.int64))
    return demos, returns


def write_demos(task_name: str, out: Path | None = None) -> dict:
    task = get_task(task_name)
    demos, returns = collect(task_name)
    path = save_demos(out or task.demo_path, demos)
    record = {"task": task_name, "episodes": len(returns), "transitions": len(demos),
                  "expert_return_mean": float(np.mean(returns)), "expert_return_std": float(np.std(returns)),
                  "command": f"python -m rl_aug.envs.ccil.demos --task {task_name}"}
    write_text(path.with_suffix(".json"), json.dumps(record, indent=2))
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write expert demonstrations for CCIL tasks.")
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if not args.task and not args.all:
        parser.error("give --task NAME or --all")
    for name in sorted(TASKS) if args.all else [args.task]:
        print(json.dumps(write_demos(name)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
