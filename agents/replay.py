"""Replay buffer for stacked-frame image observations that stores each frame once.

A stacked observation (3k, H, W) is a sliding window over an episode's frames, so the buffer keeps
a ring of single frames (3, H, W) uint8 and rebuilds stacks by index at sampling time: memory is
about 1/(2k) of storing obs and next_obs stacks per transition. At an episode start the whole first
stack is written (k frames), so whatever padding the env's frame stack uses (repeat or zeros) is
reproduced exactly; `add` checks the sliding-window property once per step.

Sampling is vectorized over the batch (the only Python loop runs over the n of n-step returns).
n-step returns stop at episode ends: an episode cut short by a time limit bootstraps with gamma^m for
the m < n steps taken (DMC time limits are not terminal, as in DrQ / DrQ-v2); a terminal step
bootstraps with 0. Transitions of an unfinished episode whose n-step window reaches past the newest
step bootstrap after the steps available.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rl_aug.files import atomic_path
from rl_aug.strategies.protocol import Batch

# What the saved "config" array holds, in order: the layout a buffer must have to load a saved state.
LAYOUT = ("channels", "height", "width", "action_dim", "capacity", "nstep", "frame_channels")


class ReplayBuffer:
    """Ring buffer of frames and transitions; `capacity` bounds both (in frames and in transitions)."""

    def __init__(self, obs_shape: tuple[int, int, int], action_dim: int, capacity: int, *, nstep: int = 1,
                 discount: float = 0.99, frame_channels: int = 3, seed: int = 0) -> None:
        channels, height, width = (int(s) for s in obs_shape)
        if channels % frame_channels != 0:
            raise ValueError(
                f"expected obs channels to be a multiple of {frame_channels} (stacked frames), got shape {obs_shape}"
            )
        self.stack = channels // frame_channels
        if capacity < 2 * self.stack + nstep:
            raise ValueError(f"expected replay capacity >= {2 * self.stack + nstep}, got {capacity}")
        self.obs_shape = (channels, height, width)
        self.frame_channels = frame_channels
        self.action_dim = int(action_dim)
        self.capacity = int(capacity)
        self.nstep = int(nstep)
        self.discount = float(discount)
        self.frames = np.zeros((capacity, frame_channels, height, width), dtype=np.uint8)
        self.actions = np.zeros((capacity, action_dim), dtype=np.float32)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.episode_end = np.zeros(capacity, dtype=bool)  # terminated or truncated: last step of its episode
        self.obs_end = np.zeros(capacity, dtype=np.int64)  # global index of the newest frame of obs
        self.num_frames = 0  # frames ever written (global counter)
        self.num_transitions = 0  # transitions ever written (global counter)
        self._last_frame = -1  # global index of the newest frame of the current observation
        self._in_episode = False
        self.rng = np.random.default_rng(seed)

    # ------------------------------------------------------------------ writing
    def _write_frame(self, frame: np.ndarray) -> None:
        self.frames[self.num_frames % self.capacity] = frame
        self.num_frames += 1

    def _check_obs(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs)
        if obs.dtype != np.uint8 or obs.shape != self.obs_shape:
            raise ValueError(
                f"expected uint8 observations of shape {self.obs_shape}, got {obs.dtype} {obs.shape}: "
                "the env must return channels-first stacked frames"
            )
        return obs

    def start_episode(self, obs: np.ndarray) -> None:
        """Record the first observation of an episode (all its k frames).

        An episode still open (reset before it terminated or truncated) is closed here as truncated, so no
        n-step return chains into the new episode. Its last transition is the one whose next frame is the
        newest frame written (a fresh start wrote frames after it)."""
        obs = self._check_obs(obs)
        if self._in_episode and self.num_transitions > 0:
            last = (self.num_transitions - 1) % self.capacity
            if self.obs_end[last] + 1 == self._last_frame:
                self.episode_end[last] = True
        for i in range(self.stack):
            self._write_frame(obs[i * self.frame_channels:(i + 1) * self.frame_channels])
        self._last_frame = self.num_frames - 1
        self._in_episode = True
        self._last_obs = obs

    def add(self, action: np.ndarray, reward: float, next_obs: np.ndarray, terminated: bool,
            truncated: bool) -> None:
        """Record one step from the current observation; `next_obs` must be its sliding-window successor."""
        if not self._in_episode:
            raise RuntimeError("call start_episode(obs) after each env.reset() before add()")
        next_obs = self._check_obs(next_obs)
        fc = self.frame_channels
        if self.stack > 1 and not np.array_equal(next_obs[:-fc], self._last_obs[fc:]):
            raise ValueError(
                "expected next_obs to be the previous stack shifted by one frame (a sliding frame stack), "
                "it is not: stack frames with a FrameStack-style wrapper, newest frame last"
            )
        t = self.num_transitions % self.capacity
        self.actions[t] = action
        self.rewards[t] = reward
        self.terminated[t] = terminated
        self.episode_end[t] = terminated or truncated
        self.obs_end[t] = self._last_frame
        self.num_transitions += 1
        self._write_frame(next_obs[-fc:])
        self._last_frame = self.num_frames - 1
        self._last_obs = next_obs
        if terminated or truncated:
            self._in_episode = False

    # ------------------------------------------------------------------ reading
    def _oldest_valid(self) -> int:
        """Global index of the oldest transition whose obs frames are all still in the ring."""
        lo = max(0, self.num_transitions - self.capacity)
        hi = self.num_transitions
        first_kept_frame = self.num_frames - self.capacity
        # obs_end increases with the transition index: binary search the first with its oldest frame kept.
        while lo < hi:
            mid = (lo + hi) // 2
            if self.obs_end[mid % self.capacity] - (self.stack - 1) >= first_kept_frame:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def __len__(self) -> int:
        return self.num_transitions - self._oldest_valid()

    def _stacks(self, newest_frame: np.ndarray) -> np.ndarray:
        """(N, 3k, H, W) stacks whose newest frames have the given global indices."""
        offsets = np.arange(-(self.stack - 1), 1)
        idx = (newest_frame[:, None] + offsets[None, :]) % self.capacity
        frames = self.frames[idx]  # (N, k, 3, H, W)
        return frames.reshape(len(newest_frame), *self.obs_shape)

    def gather(self, index: np.ndarray) -> dict[str, np.ndarray]:
        """n-step transitions starting at the given global transition indices (numpy arrays)."""
        index = np.asarray(index, dtype=np.int64)
        reward = np.zeros(len(index), dtype=np.float32)
        alive = np.ones(len(index), dtype=bool)
        last = index.copy()
        steps = np.zeros(len(index), dtype=np.int64)
        for j in range(self.nstep):
            t = index + j
            usable = alive & (t < self.num_transitions)
            slot = t % self.capacity
            reward += np.where(usable, (self.discount ** j) * self.rewards[slot], 0.0).astype(np.float32)
            last = np.where(usable, t, last)
            steps += usable
            alive = usable & ~self.episode_end[slot]
        last_slot = last % self.capacity
        discount = (self.discount ** steps) * (~self.terminated[last_slot])
        first_slot = index % self.capacity
        return {
            "obs": self._stacks(self.obs_end[first_slot]),
            "action": self.actions[first_slot],
            "reward": reward[:, None],
            "discount": discount.astype(np.float32)[:, None],
            "next_obs": self._stacks(self.obs_end[last_slot] + 1),
        }

    def sample(self, batch_size: int, device: str | torch.device = "cpu") -> Batch:
        """A uniformly sampled minibatch of n-step transitions as torch tensors."""
        lo = self._oldest_valid()
        if self.num_transitions - lo < 1:
            raise RuntimeError("cannot sample from an empty replay buffer: add transitions first")
        index = self.rng.integers(lo, self.num_transitions, size=batch_size)
        data = self.gather(index)
        return Batch(**{k: torch.as_tensor(v, device=device) for k, v in data.items()})

    # ------------------------------------------------------------------ persistence
    def nbytes(self) -> int:
        """Bytes held by the storage arrays (all allocated up front)."""
        arrays = (self.frames, self.actions, self.rewards, self.terminated, self.episode_end, self.obs_end)
        return int(sum(a.nbytes for a in arrays))

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (array contents up to what was written, counters, RNG)."""
        nf = min(self.num_frames, self.capacity)
        nt = min(self.num_transitions, self.capacity)
        return {
            "frames": self.frames[:nf], "actions": self.actions[:nt], "rewards": self.rewards[:nt],
            "terminated": self.terminated[:nt], "episode_end": self.episode_end[:nt], "obs_end": self.obs_end[:nt],
            "counters": np.array([self.num_frames, self.num_transitions, self._last_frame, int(self._in_episode)]),
            "last_obs": getattr(self, "_last_obs", np.zeros(self.obs_shape, np.uint8)),
            "config": np.array(self._layout()),
            "discount": np.array(self.discount),
            "rng": np.array(repr(self.rng.bit_generator.state)),
        }

    def _layout(self) -> list[int]:
        return [*self.obs_shape, self.action_dim, self.capacity, self.nstep, self.frame_channels]

    @staticmethod
    def saved_layout(state: dict[str, Any]) -> dict[str, int]:
        """The layout (LAYOUT's fields: capacity, nstep, ...) of the buffer a `state_dict` was taken from:
        what a resumed run builds its buffer with before loading it."""
        return dict(zip(LAYOUT, (int(v) for v in np.asarray(state["config"]))))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        config = list(self.saved_layout(state).values())
        mine = self._layout()
        if config != mine:
            raise ValueError(
                f"replay buffer layout mismatch: saved (C, H, W, A, capacity, nstep, frame channels) = {config}, "
                f"this buffer has {mine}: build the buffer with the run's original config"
            )
        nf, nt = len(state["frames"]), len(state["actions"])
        self.frames[:nf] = state["frames"]
        for key in ("actions", "rewards", "terminated", "episode_end", "obs_end"):
            getattr(self, key)[:nt] = state[key]
        self.num_frames, self.num_transitions, self._last_frame, in_episode = (int(v) for v in state["counters"])
        self._in_episode = bool(in_episode)
        self._last_obs = np.asarray(state["last_obs"])
        self.discount = float(state["discount"])
        self.rng.bit_generator.state = _literal(str(state["rng"]))

    def save(self, path: str | Path) -> None:
        """Write to `path` (.npz) atomically: a temporary file renamed over the target."""
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **self.state_dict())

    def load(self, path: str | Path) -> None:
        with np.load(Path(path), allow_pickle=False) as data:
            self.load_state_dict({k: data[k] for k in data.files})


def _literal(text: str) -> Any:
    return ast.literal_eval(text)
