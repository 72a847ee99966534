"""Your own environment in the pixel pipeline: a gymnasium id or an importable factory, for training and evaluation.

    env = make_custom(id="InvertedPendulum-v5", seed=0, size=84, frame_stack=3, action_repeat=2)
    env = make_custom(factory="my_pkg.envs:make_env", shift="color_hard")

Why: the native agents read uint8 (3k, H, W) frame stacks and act in [-1, 1]. An env whose observations are not
images is drawn by `PixelObservation` (MuJoCo-based envs offscreen, any other through its rgb_array render); an
env whose observations are uint8 RGB images keeps them (resized, channels first). Generalization shifts change
how a MuJoCo scene is drawn, so they apply to MuJoCo-based envs drawn by `PixelObservation` only; asking for one
elsewhere is a one-line ValueError.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from rl_aug.envs.dmc import make

from rl_aug.wrappers import ActionRepeat, FrameStack, PixelObservation, SeedFirstReset, apply_shift
from rl_aug.wrappers.scene import find_mujoco


def load_factory(factory: str) -> Any:
    """The callable named by "package.module:function" (imported here)."""
    module_name, sep, attr = str(factory).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"expected task.factory as 'package.module:function', got {factory!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"task.factory {factory!r}: cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise ValueError(f"task.factory {factory!r}: expected a callable {attr!r} in module {module_name!r}")  # noqa: TRY004
    return fn


def base_env(id: str | None = None, factory: str | None = None) -> gym.Env:
    """gym.make(id, render_mode="rgb_array"), or factory() for "module:function"; exactly one must be given."""
    if (id is None) == (factory is None):
        raise ValueError(f"expected exactly one of task.id (a gymnasium id) or task.factory ('module:function'), "
                         f"got id={id!r}, factory={factory!r}")
    if id is not None:
        try:
            return gym.make(str(id), render_mode="rgb_array")
        except gym.error.Error as exc:
            raise ValueError(f"task.id: expected a registered gymnasium id, got {id!r} ({exc})") from None
    env = load_factory(str(factory))()
    if not isinstance(env, gym.Env):
        raise ValueError(f"task.factory {factory!r}: expected it to return a gymnasium.Env, got {type(env).__name__}")  # noqa: TRY004
    return env


def _is_image(space: spaces.Space) -> bool:
    return (isinstance(space, spaces.Box) and space.dtype == np.uint8 and len(space.shape) == 3
            and 3 in (space.shape[0], space.shape[-1]))


def _image_observation(env: gym.Env, size: int) -> gym.Env:
    """An env that already observes uint8 RGB images: resized to size x size, channels first."""
    from rl_aug.media import resize_hwc  # lazy: media imports torch, which the env layer does not need

    channels_last = env.observation_space.shape[-1] == 3

    def to_chw(obs: np.ndarray) -> np.ndarray:
        hwc = np.asarray(obs) if channels_last else np.asarray(obs).transpose(1, 2, 0)
        return np.ascontiguousarray(resize_hwc(hwc, size).transpose(2, 0, 1))

    return gym.wrappers.TransformObservation(env, to_chw, spaces.Box(0, 255, (3, size, size), np.uint8))


def make_custom(id: str | None = None, factory: str | None = None, *, seed: int | None = None, frame_stack: int = 3,
                size: int = 84, action_repeat: int = 1, shift: str | None = None,
                render_quality: str = "fast", assets_dir: str | Path | None = None) -> gym.Env:
    """A gymnasium env (by `id` or `factory`) as uint8 (3*frame_stack, size, size) frame stacks with action
    repeat, seeded like `envs.make`; `shift` as in `envs.make` (MuJoCo-based envs only)."""
    env = base_env(id, factory)
    try:
        space = env.action_space
        if not (isinstance(space, spaces.Box) and np.all(np.isfinite(space.low)) and np.all(np.isfinite(space.high))):
            raise ValueError(f"expected a Box action space with finite bounds (the agents act in [-1, 1], rescaled "
                             f"to it), got {space} from {type(env.unwrapped).__name__}")
        shifted = shift not in (None, "train", "none")
        images = _is_image(env.observation_space)
        if shifted and (images or find_mujoco(env) is None):
            why = "it observes its own images" if images else "it is not MuJoCo-based"
            raise ValueError(f"shift {shift!r} needs a MuJoCo-based env drawn by rl-aug (dm_control or gymnasium's "
                             f"MujocoEnv), got {type(env.unwrapped).__name__}, and {why}: use shift 'train' only")
        env = ActionRepeat(env, int(action_repeat))
        if images:
            env = _image_observation(env, int(size))
        else:
            env = apply_shift(env, shift, assets_dir)
            env = PixelObservation(env, size=int(size), render_quality=render_quality)
        env = FrameStack(env, int(frame_stack))
    except BaseException:
        env.close()
        raise
    if seed is not None:
        env = SeedFirstReset(env, int(seed))
        env.action_space.seed(int(seed))
    return env


def is_custom(task: Any) -> bool:
    """True for a task config naming a gymnasium id or a factory (configs/task/gym.yaml), not a dm_control task."""
    return task.get("id") is not None or task.get("factory") is not None


def make_task(task: Any, seed: int | None = None, shift: str | None = "train",
              assets_dir: str | Path | None = None) -> gym.Env:
    """The env of a run's task config (`cfg.task`: dm_control by `name`, or yours by `id` / `factory`), as training
    made it; `shift`: "train" for the task's own `shift`, else a shift name to evaluate under."""
    chosen = task.shift if shift == "train" else shift
    common = {"seed": seed, "frame_stack": int(task.frame_stack), "size": int(task.size),
              "action_repeat": int(task.action_repeat), "shift": chosen, "render_quality": task.render_quality,
              "assets_dir": assets_dir}
    if is_custom(task):
        return make_custom(task.get("id"), task.get("factory"), **common)
    return make(task.name, **common)
