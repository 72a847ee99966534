"""`CameraShift`: camera pose perturbations with a per-episode random walk, as in the Distracting Control Suite.

Distracting Control Suite (Stone et al. 2021, google-research/distracting_control, suite_utils.get_camera_kwargs)
scales its ranges by a difficulty `scale` in [0, 1]: horizontal, vertical and roll deltas pi/2*scale, velocity
noise 0.1*scale with speed at most 0.4*scale (roll: pi/300*scale, at most pi/50*scale), zoom in at most
50%*scale and out at most 150%*scale of the distance to the agent. Here `intensity` plays that role. The
pose is changed in the renderer's scene (an orbit around the agent's centre of mass), so the model and the
physics are untouched and any MuJoCo camera works, tracking cameras included.

Like DCS, the camera never goes below the ground: a pose whose position falls under `min_height` (world z;
the floor of dm_control and gymnasium MuJoCo scenes is z = 0) is lifted to that height and re-aimed at the
same look-at point.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rl_aug.wrappers.scene import SceneShift


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """3x3 rotation about a unit `axis` (Rodrigues)."""
    axis = axis / max(np.linalg.norm(axis), 1e-12)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


class CameraShift(SceneShift):
    """Orbit, roll and zoom the rendering camera; offsets start random each episode and drift every step.

    `intensity` in [0, 1] (DCS uses 0.1 / 0.2 / 0.3 for easy / medium / hard); `dynamic=False` keeps each
    episode's pose fixed.
    """

    _salt = 3

    def __init__(self, env: gym.Env, intensity: float = 0.2, dynamic: bool = True, min_height: float = 0.05):
        if not 0.0 <= float(intensity) <= 1.0:
            raise ValueError(f"expected a camera shift intensity in [0, 1], got {intensity!r}")
        super().__init__(env, intensity=intensity, dynamic=dynamic, min_height=min_height)
        self.min_height = float(min_height)
        s = float(intensity)
        self.intensity = s
        self.limits = np.array([np.pi / 2 * s, np.pi / 2 * s, np.pi / 2 * s])  # azimuth, elevation, roll
        self.velocity_std = np.array([0.1 * s, 0.1 * s, np.pi / 300 * s]) if dynamic else np.zeros(3)
        self.max_velocity = np.array([0.4 * s, 0.4 * s, np.pi / 50 * s]) if dynamic else np.zeros(3)
        self.zoom_range = (1.0 - 0.5 * s, 1.0 + 1.5 * s)
        self.angles = np.zeros(3)
        self.velocity = np.zeros(3)
        self.zoom = 1.0

    def new_episode(self, rng: np.random.Generator) -> None:
        self.angles = rng.uniform(-self.limits, self.limits)
        self.velocity = np.zeros(3)
        self.zoom = float(rng.uniform(*self.zoom_range))

    def advance(self, rng: np.random.Generator) -> None:
        self.velocity = np.clip(self.velocity + rng.normal(0.0, 1.0, 3) * self.velocity_std,
                                -self.max_velocity, self.max_velocity)
        self.angles = np.clip(self.angles + self.velocity, -self.limits, self.limits)

    def adjust_scene(self, scene: Any) -> None:
        if self.intensity == 0.0:
            return
        data = self.data
        target = data.subtree_com[1] if self.model.nbody > 1 else data.subtree_com[0]
        azimuth, elevation, roll = self.angles
        for camera in scene.camera:
            pos, forward, up = (np.array(camera.pos, dtype=np.float64), np.array(camera.forward, dtype=np.float64),
                                np.array(camera.up, dtype=np.float64))
            distance = max(float(np.linalg.norm(target - pos)), 1e-3)
            lookat = pos + forward * distance
            right = np.cross(forward, up)
            turn = _rotation(np.array([0.0, 0.0, 1.0]), azimuth) @ _rotation(right, elevation)
            offset = turn @ (pos - lookat) * self.zoom
            forward = turn @ forward
            up = _rotation(forward, roll) @ (turn @ up)
            pos = lookat + offset
            if pos[2] < self.min_height:  # keep the camera above the ground, still aimed at the same point
                pos[2] = self.min_height
                forward = (lookat - pos) / max(float(np.linalg.norm(lookat - pos)), 1e-9)
                up = up - forward * float(up @ forward)
                up = up / max(float(np.linalg.norm(up)), 1e-9)
            camera.pos[:] = pos
            camera.forward[:] = forward
            camera.up[:] = up
