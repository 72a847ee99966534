"""The CCIL tasks: how to build each environment, its expert, demo count and evaluation noise.

Evaluation noise n follows CCIL's protocol (x * (1 - n) + n * random for observations and actions;
Hopper 0.01 as in CCIL). For the tasks CCIL did not use, n was fixed before any result was seen:
pendulums 0.05, InvertedDoublePendulum 0.01, Reacher 0.03.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

# Package data of rl_aug.envs.ccil, found with importlib.resources (works from the wheel in any folder).
EXPERT_DIR = Path(str(resources.files("rl_aug.envs.ccil") / "experts"))
DEMO_DIR = Path(str(resources.files("rl_aug.envs.ccil") / "demos"))


@dataclass(frozen=True)
class CCILTask:
    name: str
    env_id: str | None  # gymnasium id, or None for our pendulums
    demo_episodes: int
    eval_noise: float
    discontinuous: bool = False

    def make_env(self):
        if self.env_id is None:
            from rl_aug.envs.ccil.pendulum import make_pendulum

            return make_pendulum(self.discontinuous)
        import gymnasium as gym

        return gym.make(self.env_id)

    def expert(self) -> Callable[[np.ndarray], np.ndarray]:
        """A batched (B, obs_dim) -> (B, act_dim) deterministic expert."""
        if self.env_id is None:
            from rl_aug.envs.ccil.pendulum import PendulumExpert

            return PendulumExpert()
        path = EXPERT_DIR / f"{self.env_id}.zip"
        if not path.exists():
            raise FileNotFoundError(
                f"no expert for {self.name} at {path}; train it with "
                f"`python -m rl_aug.envs.ccil.experts --task {self.env_id}`"
            )
        from stable_baselines3 import SAC

        model = SAC.load(path, device="cpu")
        return lambda obs: model.predict(np.atleast_2d(obs), deterministic=True)[0]

    def expert_available(self) -> bool:
        return self.env_id is None or (EXPERT_DIR / f"{self.env_id}.zip").exists()

    @property
    def demo_path(self) -> Path:
        return DEMO_DIR / f"{self.name}.npz"


TASKS: dict[str, CCILTask] = {
    t.name: t
    for t in [
        CCILTask("pendulum", None, demo_episodes=10, eval_noise=0.05),
        CCILTask("pendulum_disc", None, demo_episodes=10, eval_noise=0.05, discontinuous=True),
        CCILTask("inverted_double_pendulum", "InvertedDoublePendulum-v5", demo_episodes=5, eval_noise=0.01),
        CCILTask("reacher", "Reacher-v5", demo_episodes=20, eval_noise=0.03),
        CCILTask("hopper", "Hopper-v5", demo_episodes=10, eval_noise=0.01),
    ]
}


def get_task(name: str) -> CCILTask:
    if name not in TASKS:
        raise KeyError(f"unknown CCIL task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]
