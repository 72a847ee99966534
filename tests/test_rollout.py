"""The one episode loop (rl_aug.evaluation.rollout.play) reproduces the loops it replaced, bit for bit.

The references below are the pre-refactor loops, copied verbatim: CCIL's noisy evaluation (all episodes side
by side, one generator for observation then action noise) and the pixel benchmark's (chunks of fresh envs,
one action-noise stream across chunks). Hopper episodes end at different steps, which exercises the live mask.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from rl_aug.agents.ccil_evaluation import _random_like, evaluate
from rl_aug.envs.ccil.pendulum import PendulumExpert, make_pendulum

from rl_aug.evaluation.rollout import play, run_episodes


def _old_ccil_evaluate(policy, make_env, episodes, noise, seed, unbounded="normal"):
    envs = [make_env() for _ in range(episodes)]
    rng = np.random.default_rng(seed)
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)]).astype(np.float32)
    returns = np.zeros(episodes)
    alive = np.ones(episodes, dtype=bool)
    obs_space, act_space = envs[0].observation_space, envs[0].action_space
    while alive.any():
        idx = np.flatnonzero(alive)
        noisy_obs = obs[idx] * (1 - noise) + noise * _random_like(obs_space, rng, len(idx), unbounded)
        actions = np.asarray(policy(noisy_obs), dtype=np.float32).reshape(len(idx), -1)
        actions = actions * (1 - noise) + noise * _random_like(act_space, rng, len(idx))
        actions = np.clip(actions, act_space.low, act_space.high)
        for j, i in enumerate(idx):
            o, r, terminated, truncated, _ = envs[i].step(actions[j])
            obs[i] = o
            returns[i] += r
            if terminated or truncated:
                alive[i] = False
    for env in envs:
        env.close()
    return returns


def _old_pixel_loop(predict, make_env, episodes, noise, seed, chunk):
    rng = np.random.default_rng(seed)
    returns = np.zeros(episodes)
    for first in range(0, episodes, chunk):
        ids = list(range(first, min(episodes, first + chunk)))
        envs = [make_env() for _ in ids]
        try:
            obs = np.stack([env.reset(seed=seed + i)[0] for env, i in zip(envs, ids)])
            alive = np.ones(len(ids), dtype=bool)
            act_space = envs[0].action_space
            while alive.any():
                live = np.flatnonzero(alive)
                actions = predict(obs[live])
                actions = actions * (1 - noise) + noise * _random_like(act_space, rng, len(live))
                actions = np.clip(actions, act_space.low, act_space.high)
                for j, i in enumerate(live):
                    o, r, terminated, truncated, _ = envs[i].step(actions[j])
                    obs[i] = o
                    returns[ids[i]] += r
                    if terminated or truncated:
                        alive[i] = False
        finally:
            for env in envs:
                env.close()
    return returns


def _hopper_policy(obs: np.ndarray) -> np.ndarray:
    """A fixed linear map: falls after a seed-dependent number of steps, so episodes end apart."""
    w = np.random.default_rng(0).normal(scale=0.3, size=(11, 3))
    return np.tanh(obs @ w)


@pytest.mark.parametrize("unbounded", ["normal", "uniform"])
def test_ccil_evaluation_reproduces_the_old_loop_on_pendulum(unbounded):
    expert = PendulumExpert()
    old = _old_ccil_evaluate(expert, make_pendulum, 3, 0.3, 10_000, unbounded)
    np.testing.assert_array_equal(evaluate(expert, make_pendulum, 3, 0.3, 10_000, unbounded), old)


def test_ccil_evaluation_reproduces_the_old_loop_on_hopper():
    make = lambda: gym.make("Hopper-v5")
    old = _old_ccil_evaluate(_hopper_policy, make, 4, 0.01, 7)
    new = evaluate(_hopper_policy, make, 4, 0.01, 7)
    np.testing.assert_array_equal(new, old)
    assert len(set(old.tolist())) == 4


def test_chunked_action_noise_reproduces_the_pixel_benchmark_loop():
    """The pixel benchmark's loop on state obs (the loop is the same; rendering is not what is checked)."""
    from rl_aug.agents.ccil_evaluation import action_noise

    make = lambda: gym.make("Hopper-v5")
    old = _old_pixel_loop(_hopper_policy, make, 5, 0.01, 3, chunk=2)
    rng, new = np.random.default_rng(3), []
    for first in range(0, 5, 2):
        envs = [make() for _ in range(first, min(5, first + 2))]
        new += [r for r, _, _ in play(_hopper_policy, envs, [3 + first + k for k in range(len(envs))],
                                      act=action_noise(envs[0].action_space, rng, 0.01))]
    np.testing.assert_array_equal(np.array(new), old)


def test_play_records_frames_calls_back_and_matches_run_episodes():
    env = gym.make("Hopper-v5")
    pixels = lambda: np.zeros((6, 4, 4), np.uint8)
    seen = []

    class Pixels(gym.ObservationWrapper):
        def observation(self, observation):
            return pixels()

    policy = lambda obs: np.zeros(3)
    (ret, length, frames), = play(policy, [Pixels(env)], [1], batched=False, record=1,
                                  on_episode=lambda i, r: seen.append((i, r)))
    assert len(frames) == length + 1 and frames[0].shape == (4, 4, 3) and seen == [(0, ret)]
    again = run_episodes(policy, Pixels(env), [1, 2], record=1)
    assert again[0][:2] == (ret, length) and len(again[0][2]) == length + 1 and again[1][2] == []
    with pytest.raises(ValueError, match="one env per seed"):
        play(policy, [env], [1, 2])


def test_the_trainers_evaluation_is_run_episodes_with_its_seeds(tmp_path, monkeypatch):
    """What Trainer.evaluate computes equals `run_episodes` with the Trainer's seeds and policy (the call it can
    switch to), returns and video frames alike (its video has every observation but the last)."""
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer, derived_seed
    from test_train import overrides, point_env

    trainer = Trainer(compose(overrides(tmp_path, "sac", "none", "run.eval_episodes=3", "run.save_video=true")),
                      env_factory=point_env)
    videos = []
    monkeypatch.setattr(trainer, "_write_video", lambda frames: videos.append(frames))
    evals = trainer.num_evals
    seeds = [derived_seed(trainer.cfg.seed, 1, evals, ep) for ep in range(int(trainer.cfg.run.eval_episodes))]
    episodes = run_episodes(lambda obs: trainer._to_env(trainer.agent.act(obs, trainer.step, eval_mode=True)),
                            trainer.eval_env, seeds, record=1)
    row = trainer.evaluate()
    returns = [ret for ret, _, _ in episodes]
    assert row["episode_return"] == float(np.mean(returns)) and row["episode_return_std"] == float(np.std(returns))
    assert len(videos) == 1 and len(videos[0]) == len(episodes[0][2]) - 1
    assert all(np.array_equal(a, b) for a, b in zip(videos[0], episodes[0][2]))
