"""`VideoBackground`: DMC-GB's video_easy / video_hard evaluation, on any MuJoCo scene.

DMC-GB paints the skybox (and in video_hard the floor) green and replaces green pixels by a video frame.
Here MuJoCo's segmentation pass tells which pixels show no geom (the skybox / empty background) and which
show the floor plane, so no colour keying is needed, the agent's own pixels can never be replaced, and any
MuJoCo env works. One video frame per agent step, a new video each episode, both from the seeded generator.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gymnasium as gym
import numpy as np

from rl_aug.wrappers.scene import SceneShift

VIDEO_MODES = ("video_easy", "video_hard")
PROCEDURAL_VIDEOS = 10
PROCEDURAL_FRAMES = 100


@functools.lru_cache(maxsize=32)
def procedural_video(index: int, height: int, width: int, frames: int = PROCEDURAL_FRAMES) -> np.ndarray:
    """A (T, H, W, 3) uint8 clip of drifting colour waves and blobs; deterministic in `index`.

    Stands in for real videos when none are given: textured, moving, and coloured differently per clip, so
    an agent that attends to the background is disturbed as it would be by DMC-GB's videos.
    """
    rng = np.random.default_rng(index)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    y, x = y / height, x / width
    t = np.arange(frames, dtype=np.float32)[:, None, None]
    video = np.zeros((frames, height, width, 3), np.float32)
    for channel in range(3):
        fx, fy = rng.uniform(2, 9, 2)
        speed, phase = rng.uniform(0.05, 0.3), rng.uniform(0, 2 * np.pi)
        video[..., channel] = 0.5 + 0.5 * np.sin(2 * np.pi * (fx * x + fy * y) + speed * t + phase)
    for _ in range(4):
        cx, cy, vx, vy = rng.uniform(0, 1, 2).tolist() + rng.uniform(-0.01, 0.01, 2).tolist()
        radius, colour = rng.uniform(0.08, 0.25), rng.uniform(0, 1, 3)
        px, py = (cx + vx * t) % 1.0, (cy + vy * t) % 1.0
        blob = np.exp(-((x - px) ** 2 + (y - py) ** 2) / (2 * radius**2))[..., None]
        video = video * (1 - blob) + colour * blob
    return np.clip(video * 255, 0, 255).astype(np.uint8)


class VideoBackground(SceneShift):
    """Replace the background (video_easy) or background and floor (video_hard) by video frames.

    `videos`: a directory of video files (e.g. DMC-GB's `video_hard/`), each decoded once per frame size and
    cached (`rl_aug.media.read_video`); None uses `PROCEDURAL_VIDEOS` procedural clips. `max_frames` caps the
    frames decoded per video (memory: 500 frames of 84x84x3 are 10.6 MB).
    """

    needs_segmentation = True
    _salt = 2

    def __init__(self, env: gym.Env, mode: str = "video_easy", videos: str | Path | None = None,
                 max_frames: int | None = 500):
        if mode not in VIDEO_MODES:
            raise ValueError(f"expected a video mode in {VIDEO_MODES}, got {mode!r}")
        self.files: list[Path] | None = None
        if videos is not None:
            from rl_aug.media import VIDEO_SUFFIXES, list_media  # lazy: media imports torch

            self.files = list_media(videos, VIDEO_SUFFIXES)
        super().__init__(env, mode=mode, videos=videos, max_frames=max_frames)
        import mujoco

        self.mode = mode
        self.max_frames = max_frames
        planes = np.flatnonzero(self.model.geom_type == mujoco.mjtGeom.mjGEOM_PLANE)
        names = [mujoco.mj_id2name(self.model, mujoco.mjtObj.mjOBJ_GEOM, int(g)) or "" for g in planes]
        floors = [g for g, n in zip(planes, names) if n in ("floor", "ground")]
        self.floor_geoms = np.asarray(floors if floors else planes, dtype=np.int64)
        self.video_index = 0
        self.frame_index = 0

    def new_episode(self, rng: np.random.Generator) -> None:
        count = len(self.files) if self.files is not None else PROCEDURAL_VIDEOS
        self.video_index = int(rng.integers(count))
        self.frame_index = 0

    def advance(self, rng: np.random.Generator) -> None:
        self.frame_index += 1

    def video(self, height: int, width: int) -> np.ndarray:
        """This episode's clip (T, H, W, 3) at the given frame size."""
        if self.files is None:
            return procedural_video(self.video_index, height, width)
        from rl_aug.media import read_video  # lazy: media imports torch

        return read_video(str(self.files[self.video_index]), (height, width), self.max_frames)

    def mask(self, segmentation: np.ndarray) -> np.ndarray:
        """(H, W) bool: pixels to replace (no geom; in video_hard also the floor plane)."""
        import mujoco

        objid, objtype = segmentation[..., 0], segmentation[..., 1]
        background = objid < 0
        if self.mode == "video_hard" and self.floor_geoms.size:
            # int(): comparing an array with the pybind enum itself falls back to a slow per-element path.
            floor = (objtype == int(mujoco.mjtObj.mjOBJ_GEOM)) & np.isin(objid, self.floor_geoms)
            background |= floor
        return background

    def composite(self, rgb: np.ndarray, segmentation: np.ndarray | None) -> np.ndarray:
        assert segmentation is not None  # needs_segmentation asks the renderer for it
        clip = self.video(*rgb.shape[:2])
        frame = clip[self.frame_index % len(clip)]
        mask = self.mask(segmentation)
        out = rgb.copy()
        out[mask] = frame[mask]
        return out
