"""Your own environment end to end (README, "Your own environment"): `rl-aug train task=gym task.id=...` (or
task.factory=module:function), resume, `rl-aug evaluate`, and `load_policy` acting in the env's own bounds."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from rl_aug.agents import load_policy
from rl_aug.agents.config import ConfigError, compose

from rl_aug.cli.evaluate import main as evaluate_main
from rl_aug.cli.train import main as train_main

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = ["task.size=16", "task.frame_stack=2", "agent.feature_dim=8", "agent.hidden_dim=16", "agent.num_filters=4",
        "agent.batch_size=8", "agent.replay_capacity=500", "agent.seed_steps=20", "run.eval_every_frames=100",
        "run.eval_episodes=1", "run.checkpoint_every_frames=100", "run.save_video=false", "run.progress=false",
        "run.tensorboard=false"]


class Dot(gym.Env):
    """Not MuJoCo: a dot drawn by its own rgb_array render; actions in [0, 2] (not [-1, 1])."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}
    render_mode = "rgb_array"

    def __init__(self) -> None:
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Box(0.0, 2.0, (2,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos, self.t = self.np_random.uniform(0.2, 0.8, 2).astype(np.float32), 0
        return self.pos.copy(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.05 * (np.asarray(action, np.float32) - 1.0), 0, 1).astype(np.float32)
        self.t += 1
        return self.pos.copy(), float(-abs(self.pos - 0.5).sum()), False, self.t >= 10, {}

    def render(self):
        canvas = np.zeros((16, 16, 3), np.uint8)
        y, x = (self.pos * 15).astype(int)
        canvas[y, x] = (255, 128, 0)
        return canvas


def dot_env() -> gym.Env:
    return Dot()


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_a_gymnasium_id_trains_resumes_evaluates_and_loads_as_a_policy_in_its_bounds(tmp_path, capsys):
    run = tmp_path / "pendulum"
    common = ["task=gym", "task.id=InvertedPendulum-v5", f"run_dir={run}", *TINY]
    assert train_main([*common, "frames=100"]) == 0
    assert train_main([f"run_dir={run}", "resume=true", "frames=200"]) == 0
    assert [int(r["frame"]) for r in _rows(run / "eval.csv")] == [0, 100, 200]  # 100 frames, then resumed to 200
    assert json.loads((run / "result.json").read_text())["frame"] == 200
    assert (run / "config.yaml").read_text().count("InvertedPendulum-v5") == 2  # task.name and task.id

    out = tmp_path / "eval"
    assert evaluate_main([str(run), "--shifts", "train,color_hard,camera", "--episodes", "1", "--out", str(out)]) == 0
    returns = _rows(out / "returns.csv")
    assert sorted(r["shift"] for r in returns) == ["camera", "color_hard", "train"]
    assert all(float(r["episode_return"]) > 0 for r in returns)  # InvertedPendulum pays 1 per step alive

    policy = load_policy(run)
    assert policy.step == 100 and policy.frame == 200  # action repeat 2
    np.testing.assert_array_equal(policy.low, [-3.0])
    np.testing.assert_array_equal(policy.high, [3.0])
    env = policy.make_env(seed=0)
    try:
        obs, _ = env.reset()
        assert obs.shape == (6, 16, 16) and obs.dtype == np.uint8 and obs.std() > 0
        action = policy(obs)
        raw = policy.agent.act(obs, policy.step, eval_mode=True)  # the agent's own action, in [-1, 1]
        np.testing.assert_allclose(action, 3.0 * raw, rtol=1e-5, atol=1e-6)
        assert env.action_space.contains(action)
        env.step(action)
    finally:
        env.close()


def test_a_factory_env_that_is_not_mujoco_evaluates_under_train_and_refuses_shifts_in_one_line(tmp_path, capsys):
    run = tmp_path / "dot"
    assert train_main(["task=gym", f"task.factory={__name__}:dot_env", "task.action_repeat=1", f"run_dir={run}",
                       "frames=40", *TINY]) == 0
    assert compose(["task=gym", f"task.factory={__name__}:dot_env"]).task.name == "dot_env"
    assert evaluate_main([str(run), "--shifts", "train", "--episodes", "1", "--out", str(tmp_path / "e1")]) == 0
    capsys.readouterr()
    assert evaluate_main([str(run), "--episodes", "1", "--out", str(tmp_path / "e2")]) == 2  # default shifts
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "needs a MuJoCo-based env" in err and "Dot" in err
    policy = load_policy(run)
    np.testing.assert_array_equal(policy.low, [0.0, 0.0])
    np.testing.assert_array_equal(policy.high, [2.0, 2.0])
    env = policy.make_env(seed=1)
    try:
        action = policy(env.reset()[0])
        raw = policy.agent.act(env.reset(seed=1)[0], policy.step, eval_mode=True)
        np.testing.assert_allclose(action, raw + 1.0, rtol=1e-5, atol=1e-6)
    finally:
        env.close()


@pytest.mark.parametrize("overrides,phrase", [
    (["task=gym"], "expected task.id=<gymnasium id>"),
    (["task=gym", "task.id=InvertedPendulum-v5", "task.factory=a:b"], "expected one of task.id"),
])
def test_task_gym_config_errors_name_what_is_expected(overrides, phrase):
    with pytest.raises(ConfigError, match=phrase):
        compose(overrides)


@pytest.mark.parametrize("override,phrase", [
    ("task.id=NoSuchEnv-v0", "task: task.id: expected a registered gymnasium id, got 'NoSuchEnv-v0'"),
    ("task.factory=no_such_module_here:make", "cannot import 'no_such_module_here'"),
    ("task.id=CartPole-v1", "expected a Box action space with finite bounds"),
])
def test_a_bad_env_is_one_line_from_rl_aug_train(tmp_path, capsys, override, phrase):
    assert train_main(["task=gym", override, f"run_dir={tmp_path / 'r'}", *TINY, "frames=40"]) == 2
    err = capsys.readouterr().err.strip()
    assert phrase in err and len(err.splitlines()) == 1
    assert not (tmp_path / "r").exists()


class Images(Dot):
    """Observes its own uint8 (H, W, 3) images: they are kept (resized, channels first), not re-rendered."""

    def __init__(self) -> None:
        super().__init__()
        self.observation_space = spaces.Box(0, 255, (16, 16, 3), np.uint8)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.render(), {}

    def step(self, action):
        _, reward, terminated, truncated, info = super().step(action)
        return self.render(), reward, terminated, truncated, info

    def render(self):
        canvas = super().render()
        canvas[:, :, 2] = 7  # unlike Dot's render: proves the observation, not a render, is used
        return canvas


def image_env() -> gym.Env:
    return Images()


def test_an_env_that_observes_images_keeps_them_and_refuses_shifts():
    from rl_aug.envs import make_custom

    env = make_custom(factory=f"{__name__}:image_env", seed=0, size=8, frame_stack=2, action_repeat=1)
    try:
        obs, _ = env.reset()
        assert obs.shape == (6, 8, 8) and obs.dtype == np.uint8
        assert np.all(obs[2] == 7) and np.all(obs[5] == 7)  # blue channel of each frame: the env's own images
    finally:
        env.close()
    with pytest.raises(ValueError, match="observes its own images: use shift 'train' only"):
        make_custom(factory=f"{__name__}:image_env", shift="color_hard")
