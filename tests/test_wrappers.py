"""rl_aug.wrappers on a user's own env and on gymnasium's MuJoCo envs: shapes, checkers, semantics, errors."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from rl_aug.wrappers import (
    ActionRepeat,
    AugmentObservation,
    CameraShift,
    ColorShift,
    FrameStack,
    PixelObservation,
    VideoBackground,
)


class DotEnv(gym.Env):
    """A dot moving on a 48x64 canvas: state (x, y), action (dx, dy); ends after `limit` steps (truncated)
    or when the dot reaches the right edge (terminated)."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = "rgb_array", limit: int = 20):
        self.render_mode = render_mode
        self.limit = limit
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Box(-0.1, 0.1, (2,), np.float32)
        self.pos = np.zeros(2, np.float32)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(0.2, 0.6, 2).astype(np.float32)
        self.t = 0
        return self.pos.copy(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + np.asarray(action, np.float32), 0, 1).astype(np.float32)
        self.t += 1
        return self.pos.copy(), 1.0, bool(self.pos[0] >= 1.0), self.t >= self.limit, {}

    def render(self):
        canvas = np.zeros((48, 64, 3), np.uint8)
        x, y = int(self.pos[0] * 63), int(self.pos[1] * 47)
        canvas[max(y - 4, 0):y + 4, max(x - 4, 0):x + 4] = (255, 128, 0)
        return canvas


def brighten(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A user op: add a random brightness offset per sample (same for all stacked frames)."""
    offset = torch.randint(0, 50, (x.shape[0], 1, 1, 1), generator=generator)
    return (x.int() + offset).clamp(0, 255).to(torch.uint8)


def test_custom_env_end_to_end_passes_both_checkers():
    env = AugmentObservation(FrameStack(PixelObservation(ActionRepeat(DotEnv(), 2), size=32), 3), brighten)
    assert env.observation_space == spaces.Box(0, 255, (9, 32, 32), np.uint8)
    check_env(env, skip_render_check=False)
    sb3_check_env(env, warn=False)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (9, 32, 32) and obs.dtype == np.uint8
    _, reward, _, _, info = env.step(np.full(2, 0.05, np.float32))
    assert reward == 2.0 and info["frames"] == 2


def test_pixels_show_the_dot_where_the_state_says():
    env = PixelObservation(DotEnv(), size=(24, 32), mode="both")
    obs, _ = env.reset(seed=1)
    pixels, state = obs["pixels"], obs["state"]
    assert pixels.shape == (3, 24, 32) and pixels.dtype == np.uint8
    ys, xs = np.nonzero(pixels[0] > 100)
    assert abs(xs.mean() / 31 - state[0]) < 0.1 and abs(ys.mean() / 23 - state[1]) < 0.1
    assert np.array_equal(env.render(), pixels.transpose(1, 2, 0))


def test_frame_stack_orders_frames_oldest_first_and_handles_dicts():
    env = FrameStack(PixelObservation(DotEnv(), size=16, mode="both"), 3)
    assert env.observation_space["pixels"].shape == (9, 16, 16)
    obs, _ = env.reset(seed=0)
    first = obs["pixels"][:3].copy()
    assert np.array_equal(obs["pixels"][3:6], first) and np.array_equal(obs["pixels"][6:], first)
    obs2, *_ = env.step(np.full(2, 0.1, np.float32))
    newest = obs2["pixels"][6:]
    assert np.array_equal(obs2["pixels"][:6], np.concatenate([first, first]))
    assert not np.array_equal(newest, first)  # the dot moved
    assert obs2["state"].shape == (2,)


def test_action_repeat_sums_rewards_and_stops_at_the_end_of_an_episode():
    env = ActionRepeat(DotEnv(limit=5), 3)
    env.reset(seed=0)
    _, reward, _, truncated, info = env.step(np.zeros(2, np.float32))
    assert (reward, truncated, info["frames"]) == (3.0, False, 3)
    _, reward, _, truncated, info = env.step(np.zeros(2, np.float32))
    assert (reward, truncated, info["frames"]) == (2.0, True, 2)  # 5 frames in all, not 6
    env = ActionRepeat(DotEnv(limit=100), 4)
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.full(2, 0.1, np.float32))
    _, _, terminated, _, info = env.step(np.full(2, 0.1, np.float32))
    frames = [info["frames"]]
    while not terminated:
        _, _, terminated, _, info = env.step(np.full(2, 0.1, np.float32))
        frames.append(info["frames"])
    assert env.unwrapped.pos[0] >= 1.0 and sum(frames) + 4 == env.unwrapped.t  # stopped at termination


def test_augment_observation_is_seeded_and_keeps_shape():
    env = AugmentObservation(FrameStack(PixelObservation(DotEnv(), size=16), 2), brighten)
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5)
    c, _ = env.reset(seed=6)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    clean = PixelObservation(DotEnv(), size=16).reset(seed=5)[0].astype(int)
    diff = a.astype(int) - np.concatenate([clean, clean])
    assert np.all(diff[diff != 0] > 0)  # brightened (saturated pixels excepted)
    cropping = AugmentObservation(PixelObservation(DotEnv(), size=16),
                                  lambda x, generator=None: x[..., :8, :8])
    with pytest.raises(ValueError, match="keep the shape"):
        cropping.reset(seed=0)


def test_hopper_pixels_shifts_and_checkers_on_a_gymnasium_mujoco_env():
    base = gym.make("Hopper-v5", render_mode="rgb_array")
    env = FrameStack(PixelObservation(CameraShift(VideoBackground(ColorShift(ActionRepeat(base, 2), "color_hard"),
                                                                  "video_hard"), 0.1), size=32), 2)
    try:
        check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=False)
        a = env.reset(seed=3)[0]
        b = env.reset(seed=3)[0]
        assert a.shape == (6, 32, 32) and np.array_equal(a, b)
        colour = env.env.env.env.env
        assert isinstance(colour, ColorShift)
        # Hopper has no 'self' material: the material its body geoms use ('geom') is shifted instead.
        agent = colour._agent_materials
        assert agent.size == 1 and not np.allclose(colour.model.mat_rgba[agent], colour._original_mat[agent])
        floor = colour.model.geom_matid[0]
        assert np.array_equal(colour.model.mat_rgba[floor], colour._original_mat[floor])
    finally:
        env.close()
    plain = PixelObservation(gym.make("Hopper-v5"), size=32)
    try:
        frame = plain.reset(seed=0)[0]
        assert frame.std() > 5  # the default tracking camera sees the hopper
    finally:
        plain.close()


@pytest.mark.parametrize("shift", ["color_easy", "video_easy", "camera"])
def test_every_shift_with_every_pipeline_wrapper_passes_the_checkers(shift):
    from rl_aug import envs

    for frame_stack in (1, 3):
        env = envs.make("cartpole-balance", size=16, frame_stack=frame_stack, shift=shift,
                        action_repeat=2, obs="pixels")
        try:
            check_env(env, skip_render_check=True)
            sb3_check_env(env, warn=False)
        finally:
            env.close()
    env = AugmentObservation(envs.make("cartpole-balance", size=16, shift=shift, obs="both"), brighten)
    try:
        check_env(env, skip_render_check=True)
        sb3_check_env(env, warn=False)
    finally:
        env.close()


def test_bad_input_gets_an_error_naming_the_fix():
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        PixelObservation(DotEnv(render_mode=None))
    with pytest.raises(ValueError, match="PixelObservation"):
        FrameStack(DotEnv(), 3)  # state-only space
    with pytest.raises(ValueError, match="channels first"):
        FrameStack(gym.wrappers.TransformObservation(
            PixelObservation(DotEnv(), size=16), lambda o: o.transpose(1, 2, 0),
            spaces.Box(0, 255, (16, 16, 3), np.uint8)), 3)
    with pytest.raises(ValueError, match="action repeat"):
        ActionRepeat(DotEnv(), 0)
    with pytest.raises(ValueError, match="k >= 1"):
        FrameStack(PixelObservation(DotEnv(), size=16), 0)
    with pytest.raises(TypeError, match="MuJoCo"):
        ColorShift(DotEnv())
    with pytest.raises(ValueError, match="camera"):
        PixelObservation(DotEnv(), camera=1)
    with pytest.raises(ValueError, match="mode"):
        PixelObservation(DotEnv(), mode="rgbd")
    from rl_aug import envs

    env = envs.make("cartpole-balance", size=16, frame_stack=1)
    try:
        with pytest.raises(TypeError, match="before PixelObservation"):
            VideoBackground(env.env)
    finally:
        env.close()


def test_augment_spec_strings_use_rl_aug_augment_inside_envs_make():
    from rl_aug import envs

    plain = envs.make("cartpole-balance", size=16, frame_stack=2, seed=0)
    convolved = envs.make("cartpole-balance", size=16, frame_stack=2, seed=0, augment="conv")
    try:
        check_env(convolved, skip_render_check=True)
        a, b = plain.reset(seed=3)[0], convolved.reset(seed=3)[0]
        assert b.shape == a.shape == (6, 16, 16) and b.dtype == np.uint8
        assert not np.array_equal(a, b)
        assert np.array_equal(b, convolved.reset(seed=3)[0])  # seeded
        assert np.array_equal(b[:3], b[3:])  # one draw shared by the stacked frames
    finally:
        plain.close()
        convolved.close()


def test_closing_one_gymnasium_pixel_env_leaves_another_intact():
    """The same GL-context isolation for gymnasium's own MuJoCo envs inside PixelObservation."""
    a = PixelObservation(gym.make("Hopper-v5"), size=32)
    b = PixelObservation(gym.make("Hopper-v5"), size=32)
    try:
        a.reset(seed=0)
        reference = b.reset(seed=0)[0]
        a.close()
        assert np.array_equal(b.reset(seed=0)[0], reference)
    finally:
        b.close()
