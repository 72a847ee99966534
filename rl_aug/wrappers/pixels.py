"""`PixelObservation`: replace an env's observation by a uint8 (3, H, W) image of it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rl_aug.extras import MissingExtra, hint
from rl_aug.wrappers.scene import SceneRenderer, SceneShift, find_mujoco

OBS_MODES = ("pixels", "both")
# Far above any pixel-RL image (84, 100, 128): a larger size is a typo, and would fail in the GL driver with an
# unreadable framebuffer error after allocating gigabytes.
MAX_IMAGE_SIZE = 4096


def check_image_size(size: object, name: str = "PixelObservation") -> tuple[int, int]:
    """(height, width) from an int or a pair of ints in [1, MAX_IMAGE_SIZE]; a clear error naming `size` else."""
    pair = (size, size) if not isinstance(size, (tuple, list)) else tuple(size)
    if len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in pair):
        raise TypeError(f"{name}: expected size an int or (height, width) of ints, got {type(size).__name__} "
                        f"{size!r}")
    if not all(1 <= v <= MAX_IMAGE_SIZE for v in pair):
        raise ValueError(f"{name}: expected size in [1, {MAX_IMAGE_SIZE}], got {size!r}")
    return int(pair[0]), int(pair[1])


class PixelObservation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Observations become uint8 channels-first frames of the env, `size` x `size` (or (H, W)).

    MuJoCo-based envs (dm_control, gymnasium's MujocoEnv) are drawn by an offscreen renderer owned by this
    wrapper, at the requested size, camera and `render_quality`, with the generalization shifts below it
    applied. Any other env is drawn with its own `render()` (it must be made with render_mode="rgb_array")
    and resized with antialiasing. `mode="both"` keeps the original observation next to the pixels in a
    Dict {"pixels", "state"}.

    `render()` returns the last observed frame (H, W, 3), so recorded videos show what the agent saw.
    """

    renders_scene = True  # a SceneShift on top of this wrapper is refused (scene.py)

    def __init__(self, env: gym.Env, size: int | tuple[int, int] = 84, camera: int | str | None = None,
                 mode: str = "pixels", render_quality: str = "default"):
        if mode not in OBS_MODES:
            raise ValueError(f"expected mode one of {OBS_MODES}, got {mode!r}")
        height, width = check_image_size(size)
        gym.utils.RecordConstructorArgs.__init__(self, size=size, camera=camera, mode=mode,
                                                 render_quality=render_quality)
        gym.ObservationWrapper.__init__(self, env)
        self.size = (height, width)
        self.mode = mode
        self._scene: SceneRenderer | None = None
        if find_mujoco(env) is not None:
            self._scene = SceneRenderer(env, height, width, camera, render_quality)
        else:
            if camera is not None:
                raise ValueError(
                    f"camera={camera!r} needs a MuJoCo-based env, got {type(env.unwrapped).__name__}: "
                    "choose the camera when making the env"
                )
            if env.render_mode != "rgb_array":
                raise ValueError(
                    f"PixelObservation needs an env that renders rgb_array frames, got render_mode="
                    f"{env.render_mode!r} from {type(env.unwrapped).__name__}: make it with "
                    "gym.make(env_id, render_mode='rgb_array')"
                )
        self._shifts = _shifts_below(env)
        if self._scene is not None and self._shifts and not self._scene.quality.scene_effects:
            names = ", ".join(type(s).__name__ for s in self._shifts)
            self._scene.close()
            raise ValueError(f"render_quality={render_quality!r} draws no skybox, shadows or reflections, which the "
                             f"generalization shifts below this wrapper ({names}) change or rely on: use "
                             f"render_quality='fast' or 'default' with shifts")
        pixels = spaces.Box(0, 255, (3, height, width), np.uint8)
        if mode == "both":
            self.observation_space = spaces.Dict({"pixels": pixels, "state": env.observation_space})
        else:
            self.observation_space = pixels
        self._last_frame: np.ndarray | None = None
        # This wrapper renders rgb_array frames only, whatever modes the env below offers.
        self.metadata = {**env.metadata, "render_modes": ["rgb_array"]}

    @property
    def render_mode(self) -> str:
        return "rgb_array"

    def observation(self, observation: Any) -> Any:
        frame = self._frame()
        self._last_frame = frame
        pixels = np.ascontiguousarray(frame.transpose(2, 0, 1))
        if self.mode == "both":
            return {"pixels": pixels, "state": observation}
        return pixels

    def _frame(self) -> np.ndarray:
        if self._scene is not None:
            return self._scene.render(self._shifts)
        from rl_aug.media import resize_hwc  # lazy: media imports torch, which the env layer does not need

        try:
            frame = self.env.render()
        except gym.error.DependencyNotInstalled as exc:  # classic-control envs draw with pygame
            module = "pygame" if "pygame" in str(exc) else str(exc).split()[0]
            raise MissingExtra(f"{hint(module, f'rendering {self.env.spec.id if self.env.spec else self.env}')} "
                               f"({exc})") from None
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] in (3, 4)):
            got = getattr(frame, "shape", type(frame).__name__)
            raise ValueError(f"expected env.render() to return an (H, W, 3) array, got {got}")
        frame = np.asarray(frame[..., :3])
        if frame.dtype != np.uint8:
            frame = np.clip(frame, 0, 255).astype(np.uint8)
        return resize_hwc(frame, self.size)

    def render(self) -> np.ndarray | None:
        return None if self._last_frame is None else self._last_frame.copy()

    def close(self) -> None:
        if self._scene is not None:
            self._scene.close()
            self._scene = None
        super().close()


def _shifts_below(env: gym.Env) -> list[SceneShift]:
    """The SceneShift wrappers under `env`, innermost first (the order they were applied)."""
    found = []
    while isinstance(env, gym.Wrapper):
        if isinstance(env, SceneShift):
            found.append(env)
        env = env.env
    return found[::-1]
