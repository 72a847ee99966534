"""dm_control suite tasks as gymnasium envs with flat float32 state observations.

The bridge is shimmy's DmControlCompatibilityV0 (time limits come back as `truncated`, seeding through the
task's RandomState); this module only names tasks, sets the episode length and flattens the observation.
Pixels are added by `rl_aug.wrappers.PixelObservation`, which renders with its own GL context.
"""

from __future__ import annotations

import functools

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from rl_aug.envs.defaults import EPISODE_FRAMES

from rl_aug.errors import UserInputError


@functools.lru_cache(maxsize=1)
def suite_tasks() -> tuple[tuple[str, str], ...]:
    """All (domain, task) pairs of dm_control's suite, e.g. ("walker", "walk")."""
    from dm_control import suite

    return tuple(suite.ALL_TASKS)


def task_name(domain: str, task: str) -> str:
    return f"{domain}-{task}"


def parse_task(name: str) -> tuple[str, str]:
    """"walker-walk" (or DrQ's "walker_walk") -> ("walker", "walk"); unknown names raise."""
    tasks = suite_tasks()
    for domain, task in tasks:
        if name in (f"{domain}-{task}", f"{domain}_{task}"):
            return domain, task
    raise UserInputError(
        f"expected a dm_control suite task such as walker-walk or cartpole-swingup, got {name!r} "
        f"(envs.TASKS lists all {len(tasks)})"
    )


def make_state_env(domain: str, task: str, seed: int | None = None,
                   episode_frames: int = EPISODE_FRAMES) -> gym.Env:
    """The task with flat float32 state observations and `episode_frames` control steps per episode."""
    from rl_aug.extras import require

    suite = require("dm_control.suite", "dm_control tasks")
    DmControlCompatibilityV0 = require("shimmy", "dm_control tasks").DmControlCompatibilityV0

    if isinstance(episode_frames, bool) or not isinstance(episode_frames, int) or episode_frames <= 0:
        raise ValueError(f"expected episode_frames a positive int (control steps per episode), got {episode_frames!r}")
    dm_env = suite.load(domain, task, task_kwargs={"random": seed})
    if dm_env._step_limit != episode_frames:  # a few tasks (lqr) have no time limit; all others 1000
        # Every suite task function takes time_limit (seconds) and passes it to control.Environment itself,
        # so it goes in task_kwargs (in environment_kwargs it would be given twice).
        time_limit = episode_frames * dm_env.control_timestep()
        dm_env.close()
        dm_env = suite.load(domain, task, task_kwargs={"random": seed, "time_limit": time_limit})
    env = DmControlCompatibilityV0(dm_env, render_mode="rgb_array")
    return Float32Action(FlatFloat32Observation(env), name=task_name(domain, task))


class FlatFloat32Observation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """dm_control's dict of float64 arrays as one flat float32 vector (what agents and SB3 expect)."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self._dict_space = env.observation_space
        size = spaces.flatdim(env.observation_space)
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def observation(self, observation):
        return spaces.flatten(self._dict_space, observation).astype(np.float32)


class Float32Action(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """A float32 action space (SB3 warns on float64); dm_control receives float64 as it expects.

    The action boundary of every task: an action of the wrong size or with NaN / inf is refused here, naming
    the task and the expected shape (MuJoCo would otherwise broadcast-fail or report an unstable simulation)."""

    def __init__(self, env: gym.Env, name: str = "env"):
        gym.utils.RecordConstructorArgs.__init__(self, name=name)
        gym.ActionWrapper.__init__(self, env)
        self.name = name
        space = env.action_space
        self.action_space = spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                                       space.shape, np.float32)

    def action(self, action):
        try:
            a = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name}: expected a numeric action of shape {self.action_space.shape}, "
                            f"got {action!r}") from None
        shape = self.action_space.shape
        if a.size != int(np.prod(shape)):
            raise ValueError(f"{self.name}: expected an action of shape {shape} (in [{self.action_space.low.min():g}, "
                             f"{self.action_space.high.max():g}]), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{self.name}: expected a finite action, got {a.tolist()}")
        return a.reshape(shape)
