"""envs: dm_control suite tasks as gymnasium envs (spaces, defaults, time limits, seeding, checkers, GL cleanup)."""

from __future__ import annotations

import contextlib
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from rl_aug.envs.defaults import action_repeat
from rl_aug.envs.registration import SUITE_TASKS, env_id
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from rl_aug import envs
from rl_aug.wrappers import ActionRepeat, PixelObservation


def chain(env: gym.Env) -> list[gym.Env]:
    out = [env]
    while isinstance(env, gym.Wrapper):
        env = env.env
        out.append(env)
    return out


def rollout(env: gym.Env, seed: int, steps: int) -> list[np.ndarray]:
    obs, _ = env.reset(seed=seed)
    frames = [obs]
    actions = np.random.default_rng(seed).uniform(-1, 1, (steps, *env.action_space.shape)).astype(np.float32)
    for action in actions:
        obs, *_ = env.step(action)
        frames.append(obs)
    return frames


def test_make_gives_stacked_uint8_pixels_and_float32_actions():
    env = envs.make("walker-walk", seed=0, size=32)
    try:
        assert env.observation_space == gym.spaces.Box(0, 255, (9, 32, 32), np.uint8)
        assert env.action_space.dtype == np.float32 and env.action_space.shape == (6,)
        obs, info = env.reset()
        assert obs.shape == (9, 32, 32) and obs.dtype == np.uint8
        assert np.array_equal(obs[:3], obs[6:])  # reset fills the stack with the first frame
        obs2, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["frames"] == 2  # walker: action repeat 2 (PlaNet/DrQ table)
        assert np.array_equal(obs2[:6], obs[3:])  # the stack shifted by one frame
        assert isinstance(reward, float) and not terminated and not truncated
        assert obs.std() > 5  # a real picture, not a blank frame
    finally:
        env.close()


def test_every_suite_task_is_registered_and_the_list_matches_dm_control():
    from dm_control import suite

    assert set(SUITE_TASKS) == set(suite.ALL_TASKS)
    for domain, task in SUITE_TASKS:
        assert env_id(domain, task) in gym.registry
    env = gym.make("rl_aug/dmc-cartpole-swingup-v0", size=24, frame_stack=2)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (6, 24, 24)
        assert any(isinstance(e, ActionRepeat) and e.n == 8 for e in chain(env))
        check_env(env)  # through gym.make, with a spec: the checker also re-makes it per render mode
    finally:
        env.close()


def test_action_repeat_tables_cite_the_literature_values():
    planet = {"cartpole": 8, "finger": 2, "walker": 2, "cheetah": 4, "reacher": 4, "ball_in_cup": 4}
    for domain, n in planet.items():
        assert action_repeat(domain) == n
        assert action_repeat(domain, "dmcgb") == {"finger": 2, "cartpole": 8}.get(domain, 4)
    assert action_repeat("quadruped", "drqv2") == 2
    with pytest.raises(ValueError, match="action repeat table"):
        action_repeat("walker", "nope")


@pytest.mark.parametrize("repeat, agent_steps", [(8, 125), (3, 334)])
def test_episode_is_1000_frames_and_ends_truncated_not_terminated(repeat, agent_steps):
    env = envs.make("cartpole-swingup", obs="state", action_repeat=repeat, seed=0)
    try:
        env.reset()
        frames, steps = 0, 0
        while True:
            _, _, terminated, truncated, info = env.step(np.zeros(1, np.float32))
            frames, steps = frames + info["frames"], steps + 1
            if terminated or truncated:
                break
        assert (steps, frames) == (agent_steps, 1000)
        assert truncated and not terminated
    finally:
        env.close()


def test_reset_seed_reproduces_an_episode_pixels_included():
    env = envs.make("walker-walk", size=24, frame_stack=1)
    try:
        first = rollout(env, seed=3, steps=6)
        again = rollout(env, seed=3, steps=6)
        other = rollout(env, seed=4, steps=6)
    finally:
        env.close()
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_make_seed_is_used_by_the_first_reset():
    a = envs.make("reacher-easy", seed=7, size=24)
    b = envs.make("reacher-easy", size=24)
    try:
        assert np.array_equal(a.reset()[0], b.reset(seed=7)[0])
        assert not np.array_equal(a.reset()[0], b.reset(seed=7)[0])  # the seed is used once
    finally:
        a.close()
        b.close()


def test_state_and_both_observations():
    state = envs.make("walker-walk", obs="state")
    both = envs.make("walker-walk", obs="both", size=24, frame_stack=2)
    try:
        s, _ = state.reset(seed=0)
        assert state.observation_space.shape == (24,) and s.dtype == np.float32
        d, _ = both.reset(seed=0)
        assert set(d) == {"pixels", "state"}
        assert d["pixels"].shape == (6, 24, 24) and d["pixels"].dtype == np.uint8
        assert np.array_equal(d["state"], s)
        for env in (state, both):
            check_env(env, skip_render_check=True)
            sb3_check_env(env, warn=False)
    finally:
        state.close()
        both.close()


def test_pixel_env_passes_gymnasium_and_sb3_checkers():
    env = envs.make("cheetah-run", seed=0, size=32)
    try:
        check_env(env, skip_render_check=False)
        sb3_check_env(env, warn=False)
        frame = env.render()
        assert frame.shape == (32, 32, 3) and frame.dtype == np.uint8
    finally:
        env.close()


def test_quadruped_renders_from_camera_2():
    env = envs.make("quadruped-walk", size=16)
    try:
        pixels = next(e for e in chain(env) if isinstance(e, PixelObservation))
        assert pixels._scene.camera == 2
    finally:
        env.close()


@contextlib.contextmanager
def first_frames_and_scenes(*qualities: str):
    """walker-walk at 32 px, one env per render quality: (first observation, SceneRenderer) of each; closed after."""
    made = [envs.make("walker-walk", size=32, render_quality=q, frame_stack=1) for q in qualities]
    try:
        yield [(env.reset(seed=0)[0], next(e for e in chain(env) if isinstance(e, PixelObservation))._scene)
               for env in made]
    finally:
        for env in made:
            env.close()


def test_render_quality_sets_the_gl_context_and_leaves_the_model_alone():
    with first_frames_and_scenes("fast", "default") as [(a, scene_fast), (b, scene_default)]:
        assert scene_fast.renderer._mjr_context.shadowSize == 256
        assert scene_default.renderer._mjr_context.shadowSize == 2048
        assert scene_fast.model.vis.quality.shadowsize == 2048  # the model keeps its own setting
        diff = np.abs(a.astype(int) - b.astype(int)).mean()
        assert 0 < diff < 4  # close to default rendering, but really a different renderer


def test_minimal_quality_turns_off_scene_effects_and_refuses_shifts():
    import mujoco

    with first_frames_and_scenes("fast", "minimal") as [(a, scene_fast), (b, scene_min)]:
        for flag in ("mjRND_SHADOW", "mjRND_REFLECTION", "mjRND_SKYBOX"):
            index = getattr(mujoco.mjtRndFlag, flag)
            assert scene_fast.renderer.scene.flags[index] == 1
            assert scene_min.renderer.scene.flags[index] == 0
        assert scene_min.renderer._mjr_context.shadowSize == 256
        sky = np.abs(a.astype(int) - b.astype(int)).mean()
        assert sky > 4  # no skybox: the background is black instead of DMC's sky
        assert b.min() == 0
    with pytest.raises(ValueError, match="draws no skybox, shadows or reflections"):
        envs.make("walker-walk", size=32, render_quality="minimal", shift="color_easy")


def test_close_frees_gl_contexts_and_the_interpreter_exits_without_egl_errors():
    code = (
        "from rl_aug import envs\n"
        "for i in range(4):\n"
        "    e = envs.make('cartpole-balance', size=16, shift='video_easy+camera')\n"
        "    e.reset(seed=i); e.step(e.action_space.sample()); e.unwrapped.render(); e.close()\n"
        "    assert e.unwrapped._env.physics._contexts is None\n"
        "left_open = envs.make('walker-walk', size=16, shift='color_easy')\n"
        "left_open.reset(seed=0)\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
    assert "EGL" not in result.stderr and "Error" not in result.stderr


def test_bad_arguments_name_the_fix():
    with pytest.raises(ValueError, match="walker-walk"):
        envs.make("walker-fly")
    with pytest.raises(ValueError, match="obs"):
        envs.make("walker-walk", obs="rgb")
    with pytest.raises(ValueError, match="obs='pixels'"):
        envs.make("walker-walk", obs="state", shift="color_hard")
    with pytest.raises(ValueError, match="render quality"):
        envs.make("walker-walk", render_quality="ultra")
    assert envs.parse_task("ball_in_cup_catch") == ("ball_in_cup", "catch")


def test_gym_make_passes_every_keyword_including_episode_frames():
    """episode_frames other than 1000 crashed every task (time_limit given twice to dm_control)."""
    env = gym.make("rl_aug/dmc-cartpole-swingup-v0", episode_frames=40, action_repeat=4, size=16, frame_stack=2)
    try:
        obs, _ = env.reset(seed=0)
        assert obs.shape == (6, 16, 16)
        steps, truncated = 0, False
        while not truncated:
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
            steps += 1
            assert not terminated
        assert steps == 10 and info["frames"] == 4  # 40 control steps at action repeat 4
    finally:
        env.close()
    with pytest.raises(ValueError, match="episode_frames an int >= 1"):
        envs.make("cartpole-swingup", episode_frames=0)


def test_gym_make_with_the_module_prefix_needs_no_import(tmp_path):
    """gymnasium 1.x has no plugin entry points; the "module:id" form imports rl_aug.envs itself."""
    code = ("import gymnasium as gym\n"
            "e = gym.make('rl_aug.envs:rl_aug/dmc-cartpole-swingup-v0', size=16)\n"
            "print(e.reset(seed=0)[0].shape); e.close()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "(9, 16, 16)"


def test_closing_or_dropping_one_env_leaves_the_frames_of_the_others_intact():
    """Each renderer frees its GL objects in its own context (closing one used to blacken the others)."""
    import gc

    alone = envs.make("cartpole-swingup", seed=0, size=32)
    reference = [alone.reset(seed=0)[0], alone.step(np.full(1, 0.5, np.float32))[0]]
    alone.close()

    def frames(env):
        return [env.reset(seed=0)[0], env.step(np.full(1, 0.5, np.float32))[0]]

    a = envs.make("cartpole-swingup", seed=0, size=32)
    b = envs.make("cartpole-swingup", seed=0, size=32)
    try:
        assert all(np.array_equal(x, y) for x, y in zip(frames(b), reference))
        a.close()  # closed after b drew: b's context was current
        assert all(np.array_equal(x, y) for x, y in zip(frames(b), reference))
        for _ in range(3):  # envs dropped without close, freed by the garbage collector
            dropped = envs.make("cartpole-swingup", seed=0, size=32)
            dropped.reset(seed=0)
        del dropped
        gc.collect()
        c = envs.make("cartpole-swingup", seed=0, size=32)
        assert all(np.array_equal(x, y) for x, y in zip(frames(b), reference))
        assert all(np.array_equal(x, y) for x, y in zip(frames(c), reference))
        c.close()
    finally:
        b.close()
