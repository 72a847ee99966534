"""The CCIL tasks: how to build each environment, its expert, demo count and evaluation noise.

Evaluation noise n follows CCIL's protocol (x * (1 - n) + n * random for observations and actions;
Hopper 0.01 as in CCIL). For the tasks CCIL did not use, n was fixed before any result was seen:
pendulums 0.05, InvertedDoublePendulum 0.01, Reacher 0.03.

``hopper_d4rl`` and ``walker2d_d4rl`` use the paper's own demonstrations (D4RL hopper-expert-v2, 25
trajectories; walker2d-expert-v2, 20; converted to npz, see rl_aug.ccil.data) read from a folder given by
the ``data_dir`` config key or the ``RL_AUG_CCIL_DATA`` environment variable (never copied into the
repository), with the paper's noise levels (``config/hopper.yml`` / ``config/walker2d.yml`` ``eval.noise``:
0.01, 0.03). They are evaluated in gymnasium's Hopper-v5 / Walker2d-v5 (MuJoCo 3), not the paper's gym
Hopper-v3 / Walker2d-v3 (mujoco-py, MuJoCo 2.x): same observation layout, but the simulators differ
slightly (BENCHMARKS.md gives the measured one-step mismatch). Walker2d-v5 also changed the model: both feet
have friction 1.9, where v3/v4 (and so the demos) have 0.9 on the right foot and 1.9 on the left; evaluating
in ``env_id=Walker2d-v4`` (the demos' model) raised BC by +553 (9 of 10 seeds) and CCIL by +911 (10 of 10)
(BENCHMARKS.md, "Env version"). v5 stays the default so that the recorded tables reproduce.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

DATA_ENV_VAR = "RL_AUG_CCIL_DATA"

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
    data_file: str | None = None  # external demos: file name inside data_dir / $RL_AUG_CCIL_DATA
    expert_return: float | None = None  # published expert return (external demos have no rewards)

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

    @property
    def demo_path(self) -> Path:
        """Shipped demos (envs/ccil/demos/<task>.npz); external-data tasks use resolve_demo_path."""
        return DEMO_DIR / f"{self.name}.npz"

    def resolve_demo_path(self, data_dir: str | None = None) -> Path:
        """The demo file: shipped, or ``data_file`` in ``data_dir`` (config key) / $RL_AUG_CCIL_DATA."""
        if self.data_file is None:
            return self.demo_path
        folder = data_dir or os.environ.get(DATA_ENV_VAR)
        if not folder:
            raise FileNotFoundError(
                f"task {self.name} reads {self.data_file} from a data folder that is not set; set the config key "
                f"data_dir=<folder> or the environment variable {DATA_ENV_VAR}=<folder> (the folder holding "
                f"{self.data_file}; it is not shipped with the package)"
            )
        path = Path(folder) / self.data_file
        if not path.is_file():
            source = "data_dir" if data_dir else DATA_ENV_VAR
            raise FileNotFoundError(f"task {self.name}: {self.data_file} not found in {folder} (from {source}); "
                                    f"expected {path}")
        return path


TASKS: dict[str, CCILTask] = {
    t.name: t
    for t in [
        CCILTask("pendulum", None, demo_episodes=10, eval_noise=0.05),
        CCILTask("pendulum_disc", None, demo_episodes=10, eval_noise=0.05, discontinuous=True),
        CCILTask("inverted_double_pendulum", "InvertedDoublePendulum-v5", demo_episodes=5, eval_noise=0.01),
        CCILTask("reacher", "Reacher-v5", demo_episodes=20, eval_noise=0.03),
        CCILTask("hopper", "Hopper-v5", demo_episodes=10, eval_noise=0.01),
        # Expert returns: CCIL's published table (project page); the npz files carry no rewards.
        CCILTask("hopper_d4rl", "Hopper-v5", demo_episodes=25, eval_noise=0.01,
                 data_file="hopper-expert-v2_25.npz", expert_return=3234.0),
        CCILTask("walker2d_d4rl", "Walker2d-v5", demo_episodes=20, eval_noise=0.03,
                 data_file="walker2d-expert-v2_20.npz", expert_return=4592.0),
    ]
}


def get_task(name: str) -> CCILTask:
    if name not in TASKS:
        raise KeyError(f"unknown CCIL task {name!r}; expected one of {sorted(TASKS)}")
    return TASKS[name]
