"""Corrective labels as images: a label's state, rendered by the simulator through the same pixel pipeline as
the agent's observations (PixelObservation), so a pixel policy can be trained on demos + labels.

A MuJoCo simulator can draw any state exactly, where NeRF-based corrective augmentation has to synthesize the
view. CCIL's labels live in the state space of the demos; for gymnasium's locomotion envs (Hopper, Walker2d,
HalfCheetah, made with their default `exclude_current_positions_from_observation=True`) an observation is
`qpos[1:]` then `qvel`, so the state of a label gives every joint position but the forward position x, which
the tracking camera follows (it moves only the floor's texture): x is taken from the demo point the label
corrects (`integrate_x` recovers it along a demo from its forward velocity).

Frame stacks: a label at (s_G, a_t) corrects demo point t. Its k frames are the demo's own frames t-k+1 .. t,
each moved by the label's displacement in joint positions (qpos_G - qpos_t): the most recent frame is the label
state itself, and the stack keeps the demo's motion, which is what a policy reads velocities from. At the start
of an episode the first frame repeats, as FrameStack does after a reset. Rendering reads positions only
(velocities do not change an image).

Frames are drawn at exactly the given state (set_state runs mj_forward). The frame an env shows after a step has
the body poses of its last substep's start (MuJoCo integrates qpos after computing the kinematics): on Hopper at
32 px that is at most one intensity level on ~0.1% of the pixels (tests/test_ccil_pixels.py).

The pixel BC is agents/pixel_bc.py; benchmarks/ccil_pixels.py compares pixel BC with pixel BC + labels (paired).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _mujoco_env(pixel_env: Any) -> Any:
    base = pixel_env.unwrapped
    if not (hasattr(base, "set_state") and hasattr(base, "model") and hasattr(base, "data")):
        raise ValueError(f"expected a gymnasium MujocoEnv under the PixelObservation wrapper, got "
                         f"{type(base).__name__}")
    return base


def states_to_qpos(pixel_env: Any, states: np.ndarray, x: np.ndarray | float = 0.0) -> np.ndarray:
    """(N, obs_dim) observations of a locomotion env (qpos[1:] then qvel) -> (N, nq) positions, x prepended."""
    base = _mujoco_env(pixel_env)
    nq, nv = int(base.model.nq), int(base.model.nv)
    states = np.atleast_2d(np.asarray(states, dtype=np.float64))
    if states.shape[1] != nq - 1 + nv:
        raise ValueError(f"expected observations of {nq - 1 + nv} values (qpos[1:] {nq - 1} then qvel {nv}, the "
                         f"layout of {type(base).__name__} without x), got {states.shape[1]}")
    xs = np.broadcast_to(np.asarray(x, dtype=np.float64), (len(states),))
    return np.concatenate([xs[:, None], states[:, : nq - 1]], axis=1)


def episode_start_of(episode_starts: np.ndarray) -> np.ndarray:
    """For every row, the index of the first row of its episode."""
    starts = np.asarray(episode_starts, dtype=bool)
    return np.maximum.accumulate(np.where(starts, np.arange(len(starts)), 0))


def stack_indices(episode_starts: np.ndarray, index: np.ndarray, k: int) -> np.ndarray:
    """(N, k) rows of the k frames ending at each `index`, oldest first, not reaching back across the episode's
    start (the first frame repeats there, as FrameStack does after a reset)."""
    if k < 1:
        raise ValueError(f"expected k >= 1 frames, got {k}")
    start_of = episode_start_of(episode_starts)
    index = np.asarray(index, dtype=np.int64)
    return np.stack([np.maximum(index - (k - 1 - j), start_of[index]) for j in range(k)], axis=1)


def integrate_x(forward_velocity: np.ndarray, dt: float, episode_starts: np.ndarray) -> np.ndarray:
    """The forward position along demos from their forward velocity (qvel[0]), 0 at every episode start
    (explicit Euler with the env's control step `dt`; the tracking camera makes its small drift invisible
    except on the floor texture)."""
    v = np.asarray(forward_velocity, dtype=np.float64)
    starts = np.asarray(episode_starts, dtype=bool)
    if v.shape != starts.shape:
        raise ValueError(f"expected one episode-start flag per velocity, got {starts.shape} for {v.shape}")
    step = dt * np.r_[0.0, v[:-1]]
    step[starts] = 0.0
    total = np.cumsum(step)
    return total - total[episode_start_of(starts)]


def render_qpos(pixel_env: Any, qpos: np.ndarray) -> np.ndarray:
    """(N, nq) positions -> (N, 3, H, W) uint8 frames drawn by `pixel_env` (a PixelObservation over a MuJoCo env,
    with whatever shifts it has). The env's own state is restored afterwards."""
    base = _mujoco_env(pixel_env)
    qpos = np.atleast_2d(np.asarray(qpos, dtype=np.float64))
    if qpos.shape[1] != base.model.nq:
        raise ValueError(f"expected positions of {base.model.nq} values, got {qpos.shape[1]}")
    saved_qpos, saved_qvel = base.data.qpos.copy(), base.data.qvel.copy()
    zeros = np.zeros(base.model.nv)
    space = pixel_env.observation_space
    shape = space["pixels"].shape if hasattr(space, "spaces") else space.shape  # mode="both": a Dict
    frames = np.empty((len(qpos), *shape), dtype=np.uint8)
    try:
        for i, q in enumerate(qpos):
            base.set_state(q, zeros)
            frame = pixel_env.observation(None)
            frames[i] = frame["pixels"] if isinstance(frame, dict) else frame
    finally:
        base.set_state(saved_qpos, saved_qvel)
    return frames


def label_stack_qpos(demo_qpos: np.ndarray, episode_starts: np.ndarray, index: np.ndarray, label_qpos: np.ndarray,
                     k: int) -> np.ndarray:
    """The positions of the k frames of each label: demo frames index-k+1 .. index (not crossing the episode's
    start) moved by label_qpos - demo_qpos[index]. Returns (N, k, nq), oldest frame first."""
    demo_qpos = np.asarray(demo_qpos, dtype=np.float64)
    index = np.asarray(index, dtype=np.int64)
    label_qpos = np.atleast_2d(np.asarray(label_qpos, dtype=np.float64))
    if len(index) != len(label_qpos):
        raise ValueError(f"expected one demo index per label, got {len(index)} indices for {len(label_qpos)} labels")
    rows = stack_indices(episode_starts, index, k)
    return demo_qpos[rows] + (label_qpos - demo_qpos[index])[:, None, :]
