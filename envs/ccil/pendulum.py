"""Pendulum swing-up tasks for CCIL: a smooth one and one with a discontinuity in its dynamics.

CCIL (Ke et al., ICLR 2024) studies a pendulum with continuous dynamics and a variant with a
discontinuity. Ours follow gymnasium's Pendulum physics (theta = 0 upright, g 10, m 1, l 1,
dt 0.05, |u| <= 2, |theta_dot| <= 8, 200 steps, cost theta^2 + 0.1 theta_dot^2 + 0.001 u^2)
but start hanging down, so the task is a real swing-up. Observations are (cos, sin, theta_dot).

The discontinuous variant adds a friction step: inside an angular band on one side (0.6..2.2 rad)
the joint has strong viscous friction, outside none; the acceleration jumps at the band's edges.
The analytic expert pumps energy (Astrom & Furuta's energy shaping) and hands over to an LQR near
the top; it is the same controller on both tasks.
"""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

G, M, L, DT, MAX_TORQUE, MAX_SPEED = 10.0, 1.0, 1.0, 0.05, 2.0, 8.0


def _wrap(theta: np.ndarray | float) -> np.ndarray | float:
    return (theta + np.pi) % (2 * np.pi) - np.pi


class PendulumSwingUpEnv(gym.Env):
    """Swing-up from hanging down; ``friction_band`` (lo, hi) in radians turns on the friction step."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, friction_band: tuple[float, float] | None = None, friction: float = 4.0,
                 max_episode_steps: int = 200):
        self.friction_band = friction_band
        self.friction = friction
        self.max_episode_steps = max_episode_steps
        high = np.array([1.0, 1.0, MAX_SPEED], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Box(-MAX_TORQUE, MAX_TORQUE, shape=(1,), dtype=np.float32)
        self.state = np.zeros(2)
        self._steps = 0

    def _obs(self) -> np.ndarray:
        theta, theta_dot = self.state
        return np.array([np.cos(theta), np.sin(theta), theta_dot], dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        theta = np.pi + self.np_random.uniform(-0.4, 0.4)
        self.state = np.array([_wrap(theta), self.np_random.uniform(-0.5, 0.5)])
        self._steps = 0
        return self._obs(), {}

    def in_friction_band(self, theta: float) -> bool:
        if self.friction_band is None:
            return False
        lo, hi = self.friction_band
        return lo <= _wrap(theta) <= hi

    def step(self, action):
        u = float(np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -MAX_TORQUE, MAX_TORQUE))
        theta, theta_dot = self.state
        cost = _wrap(theta) ** 2 + 0.1 * theta_dot**2 + 0.001 * u**2
        accel = 3 * G / (2 * L) * np.sin(theta) + 3.0 / (M * L**2) * u
        if self.in_friction_band(theta):
            accel -= self.friction * theta_dot
        theta_dot = float(np.clip(theta_dot + accel * DT, -MAX_SPEED, MAX_SPEED))
        theta = float(_wrap(theta + theta_dot * DT))
        self.state = np.array([theta, theta_dot])
        self._steps += 1
        return self._obs(), -float(cost), False, self._steps >= self.max_episode_steps, {}


def _lqr_gain() -> np.ndarray:
    """Discrete LQR gain for the upright linearization (Q = diag(1, 0.1), R = 0.001 as the cost)."""
    a = np.array([[1.0, DT], [3 * G / (2 * L) * DT, 1.0]])
    b = np.array([[0.0], [3.0 / (M * L**2) * DT]])
    q, r = np.diag([1.0, 0.1]), np.array([[0.001]])
    p = q.copy()
    for _ in range(2000):  # Riccati iteration; converges in far fewer steps
        k = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ k)
    return k


class PendulumExpert:
    """Energy-shaping swing-up + LQR balance; acts on (cos, sin, theta_dot) observations (batched)."""

    def __init__(self, energy_gain: float = 1.0, switch_cos: float = 0.85):
        self.k = _lqr_gain()
        self.energy_gain = energy_gain
        self.switch_cos = switch_cos

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        obs = np.atleast_2d(obs)
        cos, sin, theta_dot = obs[:, 0], obs[:, 1], obs[:, 2]
        theta = np.arctan2(sin, cos)
        inertia = M * L**2 / 3
        energy = 0.5 * inertia * theta_dot**2 + M * G * L / 2 * (cos - 1)  # 0 at rest upright
        pump = self.energy_gain * (-energy) * np.sign(theta_dot + 1e-6) * 10
        balance = -(self.k[0, 0] * theta + self.k[0, 1] * theta_dot)
        u = np.where(cos > self.switch_cos, balance, pump)
        return np.clip(u, -MAX_TORQUE, MAX_TORQUE)[:, None].astype(np.float32)


def make_pendulum(discontinuous: bool = False) -> PendulumSwingUpEnv:
    """The smooth task or the friction-step one (band 0.6..2.2 rad from upright, crossed while swinging up)."""
    return PendulumSwingUpEnv(friction_band=(0.6, 2.2) if discontinuous else None)
