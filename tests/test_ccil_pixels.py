"""Corrective labels as images (rl_aug.ccil.pixels): a state rendered through PixelObservation is exactly the frame
the env shows in that state; label frame stacks follow the demo's motion, moved by the label's displacement."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from rl_aug.ccil.pixels import integrate_x, label_stack_qpos, render_qpos, states_to_qpos
from rl_aug.wrappers import PixelObservation


@pytest.fixture
def hopper():
    env = PixelObservation(gym.make("Hopper-v5"), size=32, mode="both")
    yield env
    env.close()


def test_a_rendered_state_is_the_frame_the_env_shows_there(hopper):
    import mujoco

    obs, _ = hopper.reset(seed=3)
    base = hopper.unwrapped
    rng = np.random.default_rng(0)
    shown, exact, states, xs = [], [], [], []
    for _ in range(6):
        obs, *_ = hopper.step(rng.uniform(-1, 1, 3).astype(np.float32))
        shown.append(obs["pixels"])
        states.append(obs["state"])
        xs.append(base.data.qpos[0])
        # After mj_step MuJoCo's body poses are those of the last substep's start (it integrates qpos after the
        # kinematics): recompute them at the reported state to get the frame of exactly that state.
        mujoco.mj_forward(base.model, base.data)
        exact.append(hopper.observation(None)["pixels"])
    qpos = states_to_qpos(hopper, np.array(states), np.array(xs))
    before = base.data.qpos.copy()
    frames = render_qpos(hopper, qpos)
    np.testing.assert_array_equal(frames, np.array(exact))  # exact: the simulator draws the state itself
    np.testing.assert_array_equal(base.data.qpos, before)  # the env's own state is restored
    assert len({f.tobytes() for f in frames}) == len(frames)  # the states differ, so do the frames
    # what the agent saw lags one 2 ms substep: a handful of edge pixels off by one level
    diff = np.abs(frames.astype(int) - np.array(shown).astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 0.002


def test_label_stacks_keep_the_demos_motion_moved_by_the_labels_displacement():
    demo = np.arange(12, dtype=float).reshape(6, 2)  # 6 demo points of 2 positions; episodes start at 0 and 3
    starts = np.array([1, 0, 0, 1, 0, 0], bool)
    label = demo[[2, 4]] + np.array([[0.5, -0.5], [1.0, 1.0]])
    stacks = label_stack_qpos(demo, starts, np.array([2, 4]), label, k=3)
    np.testing.assert_allclose(stacks[0], demo[[0, 1, 2]] + [0.5, -0.5])
    np.testing.assert_allclose(stacks[1], demo[[3, 3, 4]] + [1.0, 1.0])  # does not reach back across the start
    np.testing.assert_allclose(stacks[:, -1], label)  # the newest frame is the label state itself


def test_forward_position_is_integrated_per_episode():
    x = integrate_x(np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 0.5, np.array([1, 0, 0, 1, 0], bool))
    np.testing.assert_allclose(x, [0.0, 0.5, 1.5, 0.0, 2.0])


def test_bad_layouts_are_named(hopper):
    with pytest.raises(ValueError, match=r"expected observations of 11 values \(qpos\[1:\] 5 then qvel 6"):
        states_to_qpos(hopper, np.zeros((2, 17)))
    with pytest.raises(ValueError, match="expected positions of 6 values, got 5"):
        render_qpos(hopper, np.zeros((1, 5)))
    with pytest.raises(ValueError, match="expected k >= 1 frames"):
        label_stack_qpos(np.zeros((3, 2)), np.ones(3, bool), np.array([1]), np.zeros((1, 2)), k=0)
