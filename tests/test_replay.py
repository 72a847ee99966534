"""Replay buffer: stacks rebuilt from single frames, n-step returns, episode boundaries, wrap-around, save/load."""

from __future__ import annotations

import numpy as np
import pytest
from rl_aug.agents.replay import ReplayBuffer

H = W = 4
K = 3


def frame(value: int) -> np.ndarray:
    """A distinct 3xHxW frame whose pixels all equal `value` (mod 256)."""
    return np.full((3, H, W), value % 256, dtype=np.uint8)


def stack(values: list[int]) -> np.ndarray:
    return np.concatenate([frame(v) for v in values])


def fill(buffer: ReplayBuffer, episodes: list[tuple[int, int, bool]]) -> list[dict]:
    """Write episodes (first frame id, length, terminated?) with repeat-first padding; return the
    reference transitions with their stacked obs/next_obs, as a naive buffer would store them."""
    reference = []
    for start, length, terminal in episodes:
        values = [start] * K
        obs = stack(values)
        buffer.start_episode(obs)
        for i in range(length):
            values = values[1:] + [start + i + 1]
            next_obs = stack(values)
            last = i == length - 1
            action = np.array([start + i, -(start + i)], dtype=np.float32) / 1000
            reward = float(start + i)
            buffer.add(action, reward, next_obs, terminated=last and terminal, truncated=last and not terminal)
            reference.append({"obs": obs, "next_obs": next_obs, "action": action, "reward": reward,
                              "terminated": last and terminal, "end": last})
            obs = next_obs
    return reference


def test_one_step_round_trip_rebuilds_every_stack_across_episode_boundaries():
    buffer = ReplayBuffer((3 * K, H, W), 2, capacity=200, nstep=1, discount=0.9)
    ref = fill(buffer, [(10, 5, False), (50, 2, True), (90, 7, False)])
    assert len(buffer) == len(ref) == 14
    out = buffer.gather(np.arange(len(ref)))
    for i, r in enumerate(ref):
        np.testing.assert_array_equal(out["obs"][i], r["obs"])
        np.testing.assert_array_equal(out["next_obs"][i], r["next_obs"])
        np.testing.assert_array_equal(out["action"][i], r["action"])
        assert out["reward"][i, 0] == r["reward"]
        assert out["discount"][i, 0] == pytest.approx(0.0 if r["terminated"] else 0.9)
    # the first obs of the second episode is its reset stack, not frames of the first episode
    np.testing.assert_array_equal(out["obs"][5], stack([50, 50, 50]))


def test_zero_padded_first_stacks_are_kept_exactly():
    buffer = ReplayBuffer((3 * K, H, W), 1, capacity=50)
    first = np.concatenate([np.zeros((6, H, W), np.uint8), frame(7)])
    buffer.start_episode(first)
    second = np.concatenate([np.zeros((3, H, W), np.uint8), frame(7), frame(8)])
    buffer.add(np.zeros(1), 1.0, second, False, True)
    out = buffer.gather(np.array([0]))
    np.testing.assert_array_equal(out["obs"][0], first)
    np.testing.assert_array_equal(out["next_obs"][0], second)


def test_nstep_returns_stop_at_time_limits_and_terminals():
    gamma = 0.5
    buffer = ReplayBuffer((3 * K, H, W), 2, capacity=200, nstep=3, discount=gamma)
    ref = fill(buffer, [(10, 4, False), (30, 2, True), (40, 5, False)])
    out = buffer.gather(np.arange(len(ref)))
    # episode 1 (truncated, rewards 10..13): index 0 sees 3 steps, index 2 only 2 before the time limit
    assert out["reward"][0, 0] == pytest.approx(10 + gamma * 11 + gamma**2 * 12)
    assert out["discount"][0, 0] == pytest.approx(gamma**3)
    np.testing.assert_array_equal(out["next_obs"][0], ref[2]["next_obs"])
    assert out["reward"][2, 0] == pytest.approx(12 + gamma * 13)
    assert out["discount"][2, 0] == pytest.approx(gamma**2)
    np.testing.assert_array_equal(out["next_obs"][2], ref[3]["next_obs"])
    # episode 2 terminates after 2 steps: no bootstrap
    assert out["reward"][4, 0] == pytest.approx(30 + gamma * 31)
    assert out["discount"][4, 0] == 0.0
    # the newest transitions of the unfinished episode 3 bootstrap after the steps available
    ep3_last = len(ref) - 1
    assert out["reward"][ep3_last, 0] == pytest.approx(44)
    assert out["discount"][ep3_last, 0] == pytest.approx(0.0 if ref[-1]["terminated"] else gamma)


def test_wraparound_drops_transitions_whose_frames_were_overwritten():
    buffer = ReplayBuffer((3 * K, H, W), 2, capacity=20, nstep=1)
    ref = fill(buffer, [(0, 6, False), (100, 6, False), (200, 6, False)])  # 8 frames per episode: 24 > 20
    valid = len(buffer)
    assert 0 < valid < len(ref)
    lo = buffer.num_transitions - valid
    out = buffer.gather(np.arange(lo, buffer.num_transitions))
    for j, i in enumerate(range(lo, buffer.num_transitions)):
        np.testing.assert_array_equal(out["obs"][j], ref[i]["obs"])
        np.testing.assert_array_equal(out["next_obs"][j], ref[i]["next_obs"])
    # the transition just before lo needs a frame the ring overwrote
    assert buffer.obs_end[(lo - 1) % 20] - (K - 1) < buffer.num_frames - 20
    batch = buffer.sample(64)
    assert batch.obs.shape == (64, 3 * K, H, W) and batch.obs.dtype.is_floating_point is False
    firsts = batch.obs[:, -3, 0, 0].numpy().astype(int)
    assert set(firsts) <= {int(r["obs"][-3, 0, 0]) for r in ref[lo:]}


def test_save_load_continues_identically(tmp_path):
    a = ReplayBuffer((3 * K, H, W), 2, capacity=30, nstep=2, seed=5)
    fill(a, [(0, 9, False), (100, 9, True)])
    a.sample(8)
    a.save(tmp_path / "replay.npz")
    b = ReplayBuffer((3 * K, H, W), 2, capacity=30, nstep=2, seed=123)
    b.load(tmp_path / "replay.npz")
    for buf in (a, b):
        fill(buf, [(200, 7, False)])
    for _ in range(3):
        x, y = a.sample(16), b.sample(16)
        for key in ("obs", "action", "reward", "discount", "next_obs"):
            assert np.array_equal(getattr(x, key).numpy(), getattr(y, key).numpy()), key
    c = ReplayBuffer((3 * K, H, W), 2, capacity=31, nstep=2)
    with pytest.raises(ValueError, match="layout mismatch"):
        c.load(tmp_path / "replay.npz")


def test_rejects_a_non_sliding_stack_and_wrong_dtype():
    buffer = ReplayBuffer((3 * K, H, W), 1, capacity=50)
    buffer.start_episode(stack([1, 2, 3]))
    with pytest.raises(ValueError, match="sliding"):
        buffer.add(np.zeros(1), 0.0, stack([1, 2, 4]), False, False)
    with pytest.raises(ValueError, match="uint8"):
        buffer.add(np.zeros(1), 0.0, stack([2, 3, 4]).astype(np.float32), False, False)


def test_memory_is_one_frame_per_transition():
    buffer = ReplayBuffer((9, 84, 84), 6, capacity=1000)
    per_transition = buffer.nbytes() / 1000
    assert 3 * 84 * 84 <= per_transition < 3 * 84 * 84 + 64


def test_an_episode_left_unfinished_is_closed_when_the_next_starts():
    """A reset before the end (a user driving the buffer) must not chain n-step returns across episodes."""
    buffer = ReplayBuffer((3 * K, H, W), 2, capacity=64, nstep=3, discount=0.5)
    values = [10] * K
    buffer.start_episode(stack(values))
    for i in range(2):  # two steps, then a reset without terminated/truncated
        values = values[1:] + [11 + i]
        buffer.add(np.zeros(2, np.float32), 1.0, stack(values), terminated=False, truncated=False)
    unfinished_last_obs = stack(values)
    buffer.start_episode(stack([50] * K))
    buffer.add(np.zeros(2, np.float32), 100.0, stack([50, 50, 51]), terminated=False, truncated=False)
    out = buffer.gather(np.array([0]))
    assert out["reward"][0, 0] == 1.0 + 0.5 * 1.0  # only the unfinished episode's two rewards
    assert out["discount"][0, 0] == 0.25  # bootstraps after its 2 steps (not terminal)
    assert np.array_equal(out["next_obs"][0], unfinished_last_obs)
    buffer.start_episode(stack([60] * K))  # closes the second episode after its one step
    assert buffer.episode_end[2] and buffer.gather(np.array([2]))["reward"][0, 0] == 100.0
    flags = buffer.episode_end.copy()
    buffer.start_episode(stack([70] * K))  # a reset right after a reset: nothing to close, nothing changes
    assert np.array_equal(buffer.episode_end, flags) and buffer.num_transitions == 3
