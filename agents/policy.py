"""`load_policy(run_dir)`: a trained run as a policy that acts in its env's own action bounds.

    from rl_aug.agents import load_policy
    policy = load_policy("runs/InvertedPendulum-v5/sac-drq/seed1")
    env = policy.make_env(seed=0)             # the run's env, as training made it (dm_control or your own)
    obs, _ = env.reset()
    obs, reward, terminated, truncated, info = env.step(policy(obs))

Why: the agents act in [-1, 1] and the training loop rescales to the env's Box; a policy handed to a user (or to
`rl_aug.evaluation`) must do the same, or it acts wrongly in any env whose bounds are not [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


def to_env_bounds(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """An agent's action in [-1, 1] mapped linearly onto the Box [low, high] (as agents/train.py steps the env)."""
    return (low + (np.asarray(action, np.float32) + 1.0) * 0.5 * (high - low)).astype(np.float32)


@dataclass
class Policy:
    """A trained agent in eval mode; calling it on an observation returns the deterministic action, in bounds."""

    agent: Any
    config: Any  # the run's config.yaml (OmegaConf)
    step: int  # the agent step of the loaded weights
    low: np.ndarray
    high: np.ndarray

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return to_env_bounds(self.agent.act(obs, self.step, eval_mode=True), self.low, self.high)

    @property
    def frame(self) -> int:
        return self.step * int(self.config.task.action_repeat)

    def make_env(self, seed: int | None = None, shift: str | None = "train",
                 assets_dir: str | Path | None = None) -> Any:
        """The run's env (its task config), optionally under a generalization shift (see envs.make_task)."""
        from rl_aug.envs import make_task

        return make_task(self.config.task, seed=seed, shift=shift, assets_dir=assets_dir)


def load_policy(run_dir: str | Path, frame: int | None = None, device: str = "cpu") -> Policy:
    """The policy of a run directory written by `rl-aug train`: its last checkpoint, or its snapshot at `frame`.
    Raises FileNotFoundError naming what is missing (config.yaml, checkpoint or snapshot)."""
    # lazy: `import rl_aug.agents` (which re-exports this module) needs torch alone; these need [train] / [envs]
    from rl_aug.agents.checkpoint import load_agent
    from rl_aug.agents.config import load_saved
    from rl_aug.envs import make_task

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file():
        raise FileNotFoundError(f"expected a run directory with config.yaml (from `rl-aug train`), got {run_dir}")
    task = load_saved(run_dir / "config.yaml").task  # an edited or damaged file: ConfigError naming it
    probe = make_task(task)  # observation shape and action bounds, as the run saw them
    try:
        obs_shape = tuple(int(s) for s in probe.observation_space.shape)
        low = np.asarray(probe.action_space.low, np.float32)
        high = np.asarray(probe.action_space.high, np.float32)
    finally:
        probe.close()
    agent, cfg, step = load_agent(run_dir, obs_shape, int(np.prod(low.shape)), device=device, frame=frame)
    return Policy(agent, cfg, step, low, high)
