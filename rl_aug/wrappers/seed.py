"""`SeedFirstReset`: the seed given at construction is used by the first `reset()` that names none."""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class SeedFirstReset(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Use `seed` for the first `reset()` that names none, so `make(task, seed=s)` alone fixes the run."""

    def __init__(self, env: gym.Env, seed: int):
        gym.utils.RecordConstructorArgs.__init__(self, seed=seed)
        gym.Wrapper.__init__(self, env)
        self._pending_seed: int | None = seed

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None:
            seed = self._pending_seed
        self._pending_seed = None
        return self.env.reset(seed=seed, options=options)
