"""Train the stable-baselines3 experts whose rollouts become CCIL's demonstrations.

CCIL (Ke et al., ICLR 2024) uses expert demonstrations from a trained RL agent; we train our own,
once, with SB3's SAC on a CPU budget of minutes, and record the command and the expert's return.

    python -m rl_aug.envs.ccil.experts --task InvertedDoublePendulum-v5 --steps 30000 --out envs/ccil/experts

The budgets in ``EXPERT_BUDGETS`` are what fit a shared 2-core CPU; they are not tuned to the
best possible expert. The recorded return (``<task>.json``) says how good each expert is.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np

from rl_aug.files import atomic_path, write_text

# task -> (algorithm kwargs, environment steps). Small nets and batches: CPU budget, not paper budget.
EXPERT_BUDGETS: dict[str, tuple[dict, int]] = {
    "InvertedDoublePendulum-v5": ({"learning_starts": 1000, "batch_size": 256, "policy_kwargs": {"net_arch": [64, 64]}},
                                  30_000),
    "Reacher-v5": ({"learning_starts": 1000, "batch_size": 256, "policy_kwargs": {"net_arch": [64, 64]}}, 40_000),
    "Hopper-v5": ({"learning_starts": 5000, "batch_size": 256, "policy_kwargs": {"net_arch": [256, 256]}}, 60_000),
}


def evaluate_expert(model, task: str, episodes: int = 10, seed: int = 10_000) -> tuple[float, float]:
    """Mean and std of the deterministic expert's undiscounted return."""
    import gymnasium as gym

    env = gym.make(task)
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns)), float(np.std(returns))


def train_expert(task: str, steps: int | None, out_dir: Path, seed: int = 0) -> dict:
    """Train SAC on ``task`` and save ``<out_dir>/<task>.zip`` (atomically) plus a JSON record."""
    import gymnasium as gym
    import torch
    from stable_baselines3 import SAC

    torch.set_num_threads(1)
    if task not in EXPERT_BUDGETS:
        raise ValueError(f"no expert budget for task {task!r}; expected one of {sorted(EXPERT_BUDGETS)}")
    kwargs, default_steps = copy.deepcopy(EXPERT_BUDGETS[task])
    record_kwargs = repr(kwargs)
    steps = steps or default_steps
    out_dir.mkdir(parents=True, exist_ok=True)
    env = gym.make(task)
    model = SAC("MlpPolicy", env, seed=seed, verbose=0, device="cpu", **kwargs)
    start = time.time()
    model.learn(total_timesteps=steps, progress_bar=False)
    seconds = time.time() - start
    mean, std = evaluate_expert(model, task)
    with atomic_path(out_dir / f"{task}.zip") as tmp:
        model.save(tmp)
    record = {"task": task, "algo": "SAC", "steps": steps, "seed": seed, "train_seconds": round(seconds, 1),
                  "return_mean": mean, "return_std": std, "eval_episodes": 10, "kwargs": record_kwargs, "machine": "CPU (torch threads 1)",
                  "command": f"python -m rl_aug.envs.ccil.experts --task {task} --steps {steps}"}
    write_text(out_dir / f"{task}.json", json.dumps(record, indent=2))
    env.close()
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", required=True, choices=sorted(EXPERT_BUDGETS))
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "experts")
    args = parser.parse_args(argv)
    print(json.dumps(train_expert(args.task, args.steps, args.out, args.seed), indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
