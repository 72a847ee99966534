"""Environment factories: the dm_control suite as gymnasium envs with pixel pipelines and registered ids.

    from rl_aug import envs
    env = envs.make("walker-walk", seed=0)            # Box uint8 (9, 84, 84), action repeat 2, fast render
    env = envs.make("cartpole-swingup", shift="color_hard", assets_dir="path/to/dmcgb")
    env = gymnasium.make("rl_aug/dmc-walker-walk-v0", size=64)   # same factory, registered id
    env = envs.make_custom(id="InvertedPendulum-v5", seed=0)   # your own env: pixels from its render

Every suite domain-task is registered as `rl_aug/dmc-<domain>-<task>-v0` when `envs` is imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rl_aug.extras import require
from rl_aug.gl import ensure_backend

ensure_backend()  # before anything imports mujoco / dm_control: headless rendering without MUJOCO_GL (rl_aug.gl)
gym = require("gymnasium", "rl_aug.envs")

from rl_aug.envs.custom import make_custom, make_task
from rl_aug.envs.defaults import (
    ACTION_REPEAT_TABLES,
    CAMERA_BY_DOMAIN,
    DEFAULT_ACTION_REPEAT_TABLE,
    EPISODE_FRAMES,
)
from rl_aug.envs.defaults import (
    action_repeat as default_action_repeat,
)
from rl_aug.envs.dmc import make_state_env, parse_task, suite_tasks, task_name
from rl_aug.envs.registration import env_id, register_suite

OBSERVATIONS = ("pixels", "state", "both")

__all__ = [
    "ACTION_REPEAT_TABLES", "CAMERA_BY_DOMAIN", "DEFAULT_ACTION_REPEAT_TABLE", "EPISODE_FRAMES", "OBSERVATIONS",
    "TASKS", "env_id", "make", "make_custom", "make_task", "parse_task", "register_suite",
]


def __getattr__(name: str) -> Any:
    if name == "TASKS":  # computed on first use: listing tasks imports dm_control
        return [task_name(d, t) for d, t in suite_tasks()]
    raise AttributeError(name)


def make(
    task: str,
    *,
    seed: int | None = None,
    obs: str = "pixels",
    frame_stack: int = 3,
    size: int = 84,
    camera: int | None = None,
    action_repeat: int | str | None = None,
    shift: str | None = None,
    assets_dir: str | Path | None = None,
    render_quality: str = "fast",
    augment: str | None = None,
    episode_frames: int = EPISODE_FRAMES,
    render_mode: str | None = None,
) -> gym.Env:
    """A dm_control suite task as a gymnasium env.

    Args:
        task: "walker-walk" (or "walker_walk"); see `envs.TASKS`.
        seed: seeds the task, the shifts and augmentation on the first `reset()` (later
            `reset(seed=s)` calls reseed everything; the same seed replays an episode exactly, pixels included).
        obs: "pixels" -> Box uint8 (3*frame_stack, size, size); "state" -> flat float32 Box;
            "both" -> Dict {"pixels", "state"}.
        frame_stack: frames stacked on the channel axis (pixels only).
        size: square image size. camera: camera id (default: 2 for quadruped, else 0, as DrQ / DrQ-v2).
        action_repeat: an int, None for the task's default in the PlaNet/DrQ table, or a table name
            ("planet", "dmcgb", "drqv2"; see envs.defaults). `info["frames"]` counts the frames of a step.
        shift: None / "train", or generalization shifts joined by "+": color_easy, color_hard, video_easy,
            video_hard, camera_easy, camera (= camera_medium), camera_hard.
        assets_dir: DMC-GB asset directory (color_*.json, video_easy/, video_hard/); default
            $RL_AUG_DMCGB_DIR; unset -> sampled colours and procedural videos.
        render_quality: "fast" (256 shadow map, no multisampling; see BENCHMARKS.md), "default", or "minimal"
            (also no shadows, reflections or skybox; refused with shifts).
        augment: an `rl_aug.augment` spec applied to every observation inside the env (domain randomization).
        episode_frames: control steps per episode (DMC: 1000). The last step reports truncated=True.
        render_mode: accepted for gymnasium.make; only "rgb_array" (or None) makes sense here.
    """
    from rl_aug.wrappers import ActionRepeat, AugmentObservation, FrameStack, PixelObservation, apply_shift
    from rl_aug.wrappers.pixels import MAX_IMAGE_SIZE

    if obs not in OBSERVATIONS:
        raise ValueError(f"expected obs one of {OBSERVATIONS}, got {obs!r}")
    for arg, value, low in (("size", size, 1), ("frame_stack", frame_stack, 1), ("episode_frames", episode_frames, 1)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected {arg} an int >= {low}, got {type(value).__name__} {value!r}")
        if value < low:
            raise ValueError(f"expected {arg} an int >= {low}, got {value!r}")
    if size > MAX_IMAGE_SIZE:
        raise ValueError(f"expected size an int in [1, {MAX_IMAGE_SIZE}], got {size!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"expected seed an int or None, got {type(seed).__name__} {seed!r}")
    if seed is not None and seed < 0:  # numpy refuses it later, at the first reset, without naming it
        raise ValueError(f"expected seed an int >= 0 or None, got {seed}")
    if shift is not None and not isinstance(shift, str):
        hint = f" (for several: {'+'.join(map(str, shift))!r})" if isinstance(shift, (list, tuple)) else ""
        raise TypeError(f"expected shift a name or names joined by '+', got {type(shift).__name__} {shift!r}{hint}")
    if render_mode not in (None, "rgb_array"):
        raise ValueError(f"expected render_mode None or 'rgb_array', got {render_mode!r}")
    if obs == "state" and (shift not in (None, "train", "none") or augment):
        raise ValueError("shift and augment change pixels: use obs='pixels' or obs='both' with them")
    domain, task_ = parse_task(task)
    if action_repeat is None or isinstance(action_repeat, str):
        action_repeat = default_action_repeat(domain, action_repeat or DEFAULT_ACTION_REPEAT_TABLE)
    env = make_state_env(domain, task_, seed=seed, episode_frames=episode_frames)
    env = ActionRepeat(env, action_repeat)
    env = apply_shift(env, shift, assets_dir)
    if obs != "state":
        env = PixelObservation(env, size=size, camera=CAMERA_BY_DOMAIN.get(domain, 0) if camera is None else camera,
                               mode=obs, render_quality=render_quality)
        env = FrameStack(env, frame_stack)
        if augment:
            env = AugmentObservation(env, augment)
    if seed is not None:
        env = SeedFirstReset(env, seed)
        env.action_space.seed(seed)
    env = gym.wrappers.OrderEnforcing(env)  # step() before reset() is an error, as in gymnasium.make
    env.metadata = {**env.metadata, "render_modes": ["rgb_array"]}  # what env.render() returns here
    return env


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


register_suite()
