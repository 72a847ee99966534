"""`ActionRepeat`: one agent action held for n environment frames, rewards summed."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class ActionRepeat(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Repeat each action `n` times (fewer if the episode ends), summing rewards.

    Unlike gymnasium's RepeatAction it reports `info["frames"]`, the environment frames this agent step
    took, because budgets in the DMC literature count frames (agent steps x action repeat).
    """

    def __init__(self, env: gym.Env, n: int):
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"expected an action repeat n >= 1 (an int), got {n!r}")
        gym.utils.RecordConstructorArgs.__init__(self, n=n)
        gym.Wrapper.__init__(self, env)
        self.n = int(n)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, {**info, "frames": 0}

    def step(self, action):
        total = 0.0
        for frames in range(1, self.n + 1):
            obs, reward, terminated, truncated, info = self.env.step(action)
            total += float(reward)
            if terminated or truncated:
                break
        return obs, total, terminated, truncated, {**info, "frames": frames}
