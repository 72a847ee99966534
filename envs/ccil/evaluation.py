"""CCIL's evaluation: many episodes with noise injected into observations and actions.

Noise as in CCIL: x -> x * (1 - n) + n * r, r drawn uniformly from the observation (action) space;
observation spaces without finite bounds (MuJoCo) use r ~ U(-1, 1). Episodes run side by side so the
policy is called once per step on a batch; each episode has its own seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _random_like(space, rng: np.random.Generator) -> np.ndarray:
    low = np.where(np.isfinite(space.low), space.low, -1.0)
    high = np.where(np.isfinite(space.high), space.high, 1.0)
    return rng.uniform(low, high).astype(np.float32)


def evaluate(policy: Callable[[np.ndarray], np.ndarray], make_env: Callable, episodes: int, noise: float,
             seed: int) -> np.ndarray:
    """Undiscounted return of each of ``episodes`` noisy episodes (seeds seed, seed+1, ...)."""
    envs = [make_env() for _ in range(episodes)]
    rng = np.random.default_rng(seed)
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)
    returns = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    obs_space, act_space = envs[0].observation_space, envs[0].action_space
    while alive.any():
        idx = np.flatnonzero(alive)
        noisy_obs = np.stack([o * (1 - noise) + noise * _random_like(obs_space, rng) for o in obs[idx]])
        actions = np.asarray(policy(noisy_obs), dtype=np.float32).reshape(len(idx), -1)
        for j, i in enumerate(idx):
            action = actions[j] * (1 - noise) + noise * _random_like(act_space, rng)
            action = np.clip(action, act_space.low, act_space.high)
            o, r, terminated, truncated, _ = envs[i].step(action)
            obs[i] = o
            returns[i] += r
            if terminated or truncated:
                alive[i] = False
    for env in envs:
        env.close()
    return returns
