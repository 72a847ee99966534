"""dm_control suite tasks as gymnasium envs with flat float32 state observations.

The bridge is shimmy's DmControlCompatibilityV0 (time limits come back as `truncated`, seeding through the
task's RandomState); this module only names tasks, sets the episode length and flattens the observation.
Pixels are added by `rl_aug.wrappers.PixelObservation`, which renders with its own GL context.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from rl_aug.envs.defaults import CAMERA_BY_DOMAIN, DEFAULT_ACTION_REPEAT_TABLE, EPISODE_FRAMES
from rl_aug.envs.defaults import action_repeat as default_action_repeat

from rl_aug.errors import UserInputError
from rl_aug.extras import require
from rl_aug.wrappers import (
    ActionRepeat,
    AugmentObservation,
    FrameStack,
    PixelObservation,
    SeedFirstReset,
    apply_shift,
)
from rl_aug.wrappers.pixels import MAX_IMAGE_SIZE

OBSERVATIONS = ("pixels", "state", "both")


@functools.lru_cache(maxsize=1)
def suite_tasks() -> tuple[tuple[str, str], ...]:
    """All (domain, task) pairs of dm_control's suite, e.g. ("walker", "walk")."""
    from dm_control import suite

    return tuple(suite.ALL_TASKS)


def task_name(domain: str, task: str) -> str:
    return f"{domain}-{task}"


def parse_task(name: str) -> tuple[str, str]:
    """"walker-walk" (or DrQ's "walker_walk") -> ("walker", "walk"); unknown names raise."""
    tasks = suite_tasks()
    for domain, task in tasks:
        if name in (f"{domain}-{task}", f"{domain}_{task}"):
            return domain, task
    raise UserInputError(
        f"expected a dm_control suite task such as walker-walk or cartpole-swingup, got {name!r} "
        f"(envs.TASKS lists all {len(tasks)})"
    )


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


def make_state_env(domain: str, task: str, seed: int | None = None,
                   episode_frames: int = EPISODE_FRAMES) -> gym.Env:
    """The task with flat float32 state observations and `episode_frames` control steps per episode."""
    suite = require("dm_control.suite", "dm_control tasks")
    DmControlCompatibilityV0 = require("shimmy", "dm_control tasks").DmControlCompatibilityV0

    if isinstance(episode_frames, bool) or not isinstance(episode_frames, int) or episode_frames <= 0:
        raise ValueError(f"expected episode_frames a positive int (control steps per episode), got {episode_frames!r}")
    dm_env = suite.load(domain, task, task_kwargs={"random": seed})
    if dm_env._step_limit != episode_frames:  # a few tasks (lqr) have no time limit; all others 1000
        # Every suite task function takes time_limit (seconds) and passes it to control.Environment itself,
        # so it goes in task_kwargs (in environment_kwargs it would be given twice).
        time_limit = episode_frames * dm_env.control_timestep()
        dm_env.close()
        dm_env = suite.load(domain, task, task_kwargs={"random": seed, "time_limit": time_limit})
    env = DmControlCompatibilityV0(dm_env, render_mode="rgb_array")
    return Float32Action(FlatFloat32Observation(env), name=task_name(domain, task))


class FlatFloat32Observation(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """dm_control's dict of float64 arrays as one flat float32 vector (what agents and SB3 expect)."""

    def __init__(self, env: gym.Env):
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.ObservationWrapper.__init__(self, env)
        self._dict_space = env.observation_space
        size = spaces.flatdim(env.observation_space)
        self.observation_space = spaces.Box(-np.inf, np.inf, (size,), np.float32)

    def observation(self, observation):
        return spaces.flatten(self._dict_space, observation).astype(np.float32)


class Float32Action(gym.ActionWrapper, gym.utils.RecordConstructorArgs):
    """A float32 action space (SB3 warns on float64); dm_control receives float64 as it expects.

    The action boundary of every task: an action of the wrong size or with NaN / inf is refused here, naming
    the task and the expected shape (MuJoCo would otherwise broadcast-fail or report an unstable simulation)."""

    def __init__(self, env: gym.Env, name: str = "env"):
        gym.utils.RecordConstructorArgs.__init__(self, name=name)
        gym.ActionWrapper.__init__(self, env)
        self.name = name
        space = env.action_space
        self.action_space = spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32),
                                       space.shape, np.float32)

    def action(self, action):
        try:
            a = np.asarray(action, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{self.name}: expected a numeric action of shape {self.action_space.shape}, "
                            f"got {action!r}") from None
        shape = self.action_space.shape
        if a.size != int(np.prod(shape)):
            raise ValueError(f"{self.name}: expected an action of shape {shape} (in [{self.action_space.low.min():g}, "
                             f"{self.action_space.high.max():g}]), got shape {a.shape}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{self.name}: expected a finite action, got {a.tolist()}")
        return a.reshape(shape)
