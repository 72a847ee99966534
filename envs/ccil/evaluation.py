"""CCIL's evaluation: many episodes with noise injected into observations and actions.

Noise as in the official code (personalrobotics/CCIL, ``correct_il/utils.py`` ``evaluate_on_environment``):
observation x -> x * (1 - n) + n * r with r = ``observation_space.sample()``, which for gym's Box is
uniform on bounded dimensions and N(0, 1) on unbounded ones (MuJoCo observations are all unbounded);
action a -> a * (1 - n) + n * ``action_space.sample()`` (uniform on the action box), clipped to the box
(MuJoCo clamps controls to their range anyway). ``unbounded="uniform"`` keeps this repository's earlier
U(-1, 1) on unbounded dimensions. Episodes run side by side so the policy is called once per step on a
batch; each episode has its own seed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

UNBOUNDED = ("normal", "uniform")


def _random_like(space, rng: np.random.Generator, count: int, unbounded: str = "normal") -> np.ndarray:
    """``count`` samples like gym's Box.sample(): uniform where bounded, N(0, 1) (or U(-1, 1)) where not."""
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    finite = np.isfinite(low) & np.isfinite(high)
    out = rng.uniform(np.where(finite, low, -1.0), np.where(finite, high, 1.0), size=(count, *space.shape))
    if unbounded == "normal" and not finite.all():
        out = np.where(finite, out, rng.standard_normal(size=(count, *space.shape)))
    return out.astype(np.float32)


def evaluate(policy: Callable[[np.ndarray], np.ndarray], make_env: Callable, episodes: int, noise: float,
             seed: int, unbounded: str = "normal") -> np.ndarray:
    """Undiscounted return of each of ``episodes`` noisy episodes (seeds seed, seed+1, ...)."""
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"eval noise must be in [0, 1] (x * (1 - n) + n * random), got {noise}")
    if unbounded not in UNBOUNDED:
        raise ValueError(f"unbounded must be one of {UNBOUNDED}, got {unbounded!r}")
    envs = [make_env() for _ in range(episodes)]
    rng = np.random.default_rng(seed)
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)
    returns = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    obs_space, act_space = envs[0].observation_space, envs[0].action_space
    while alive.any():
        idx = np.flatnonzero(alive)
        noisy_obs = obs[idx] * (1 - noise) + noise * _random_like(obs_space, rng, len(idx), unbounded)
        actions = np.asarray(policy(noisy_obs), dtype=np.float32).reshape(len(idx), -1)
        actions = actions * (1 - noise) + noise * _random_like(act_space, rng, len(idx))
        actions = np.clip(actions, act_space.low, act_space.high)
        for j, i in enumerate(idx):
            o, r, terminated, truncated, _ = envs[i].step(actions[j])
            obs[i] = o
            returns[i] += r
            if terminated or truncated:
                alive[i] = False
    for env in envs:
        env.close()
    return returns
