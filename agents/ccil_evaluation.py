"""CCIL's evaluation: many episodes with noise injected into observations and actions.

Noise as in the official code (personalrobotics/CCIL, ``correct_il/utils.py`` ``evaluate_on_environment``):
observation x -> x * (1 - n) + n * r with r = ``observation_space.sample()``, which for gym's Box is
uniform on bounded dimensions and N(0, 1) on unbounded ones (MuJoCo observations are all unbounded);
action a -> a * (1 - n) + n * ``action_space.sample()`` (uniform on the action box), clipped to the box
(MuJoCo clamps controls to their range anyway). ``unbounded="uniform"`` keeps this repository's earlier
U(-1, 1) on unbounded dimensions. Episodes run side by side so the policy is called once per step on a
batch; each episode has its own seed (the loop is rl_aug.evaluation.rollout.play).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rl_aug.evaluation.rollout import play

UNBOUNDED = ("normal", "uniform")


def _random_like(space, rng: np.random.Generator, count: int, unbounded: str = "normal") -> np.ndarray:
    """``count`` samples like gym's Box.sample(): uniform where bounded, N(0, 1) (or U(-1, 1)) where not."""
    low, high = np.broadcast_to(space.low, space.shape), np.broadcast_to(space.high, space.shape)
    finite = np.isfinite(low) & np.isfinite(high)
    out = rng.uniform(np.where(finite, low, -1.0), np.where(finite, high, 1.0), size=(count, *space.shape))
    if unbounded == "normal" and not finite.all():
        out = np.where(finite, out, rng.standard_normal(size=(count, *space.shape)))
    return out.astype(np.float32)


def noise_hook(space, rng: np.random.Generator, noise: float, unbounded: str = "normal") -> Callable:
    """x -> x * (1 - noise) + noise * (a sample like ``space.sample()`` per row), drawn from ``rng``."""
    return lambda x: x * (1 - noise) + noise * _random_like(space, rng, len(x), unbounded)


def action_noise(space, rng: np.random.Generator, noise: float) -> Callable:
    """CCIL's action noise: a -> a * (1 - noise) + noise * U(action box), clipped to the box."""
    noisy = noise_hook(space, rng, noise)
    return lambda actions: np.clip(noisy(actions), space.low, space.high)


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
    rng = np.random.default_rng(seed)  # one stream: per step, the observation noise, then the action noise
    obs_space, act_space = envs[0].observation_space, envs[0].action_space
    noisy_obs, noisy_act = noise_hook(obs_space, rng, noise, unbounded), action_noise(act_space, rng, noise)
    try:
        played = play(policy, envs, [seed + i for i in range(episodes)],
                      observe=lambda obs: noisy_obs(obs.astype(np.float32)),
                      act=lambda a: noisy_act(np.asarray(a, dtype=np.float32).reshape(len(a), -1)))
    finally:
        for env in envs:
            env.close()
    return np.array([ret for ret, _, _ in played])
