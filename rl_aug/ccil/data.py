"""Demonstration and corrective-label files: a small documented npz format, checked once on load.

Demonstrations (what an expert did), one row per transition:
    observations       float (N, obs_dim)   s_t
    actions            float (N, act_dim)   a_t
    next_observations  float (N, obs_dim)   s_{t+1}
    episode_ids        int   (N,)           which episode each transition belongs to (optional)

Trajectory files (D4RL style, as the CCIL benchmark demos in the official repository's ``data/``) are
accepted too: ``observations`` (T, obs_dim), ``actions`` (T, act_dim) and ``episode_ends`` (n,), the
cumulative trajectory lengths; transitions (obs[t], act[t], obs[t+1]) are taken inside each trajectory,
so its last step has none (as ``build_dataset`` in personalrobotics/CCIL ``correct_il/utils.py``).

Labeled data (what a behaviour-cloning trainer consumes): the expert pairs followed by the labels:
    observations  float (M, obs_dim)   expert s_t, then label states s_G
    actions       float (M, act_dim)   expert a_t, then label actions a_G
    is_label      bool  (M,)           False for expert rows, True for CCIL labels
    label_kind    int8  (M,)           0 expert, 1 BackTrack, 2 DisturbedAction
    source_index  int   (M,)           the demonstration row each label was generated from
Any trainer that fits (observations -> actions) pairs can use it as is, e.g. an SB3 policy trained by
regression or the `imitation` library's Transitions built from these two arrays.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rl_aug.errors import UserInputError
from rl_aug.files import atomic_path

MIN_TRANSITIONS = 2
DEMO_KEYS = ("observations", "actions", "next_observations")
LABEL_KINDS = {"expert": 0, "backtrack": 1, "disturbed_action": 2}


class DemoFormatError(UserInputError):
    """A demonstration file does not follow the format in rl_aug.ccil.data's docstring."""


@dataclass
class Demonstrations:
    observations: np.ndarray
    actions: np.ndarray
    next_observations: np.ndarray
    episode_ids: np.ndarray

    def __len__(self) -> int:
        return len(self.observations)

    @property
    def obs_dim(self) -> int:
        return self.observations.shape[1]

    @property
    def act_dim(self) -> int:
        return self.actions.shape[1]


def transitions_from_trajectories(arrays: dict[str, np.ndarray], source: str = "demonstrations"
                                  ) -> dict[str, np.ndarray]:
    """observations / actions / episode_ends (cumulative lengths) -> transition arrays with episode_ids."""
    obs, act = np.asarray(arrays["observations"]), np.asarray(arrays["actions"])
    ends = np.asarray(arrays["episode_ends"])
    if (ends.ndim != 1 or len(ends) == 0 or not np.issubdtype(ends.dtype, np.integer) or np.any(np.diff(ends) <= 0)
            or ends[0] <= 0 or ends[-1] != len(obs) or len(act) != len(obs)):
        raise DemoFormatError(
            f"{source}: 'episode_ends' must be increasing positive integers ending at the number of rows "
            f"(observations {obs.shape}, actions {act.shape}), got {ends.dtype} {ends.shape} "
            f"{ends[:3].tolist() if ends.ndim == 1 else ''}...{ends[-1:].tolist() if ends.ndim == 1 else ''}."
        )
    starts = np.concatenate([[0], ends[:-1]])
    rows = np.concatenate([np.arange(s, e - 1) for s, e in zip(starts, ends)])
    episode = np.concatenate([np.full(e - 1 - s, i, dtype=np.int64) for i, (s, e) in enumerate(zip(starts, ends))])
    return {"observations": obs[rows], "actions": act[rows], "next_observations": obs[rows + 1],
            "episode_ids": episode}


def validate_demos(arrays: dict[str, np.ndarray], source: str = "demonstrations") -> Demonstrations:
    """Check keys, shapes, lengths and finiteness; return float32 Demonstrations or raise DemoFormatError."""
    if "next_observations" not in arrays and "episode_ends" in arrays and {"observations", "actions"} <= set(arrays):
        arrays = transitions_from_trajectories(arrays, source)
    missing = [k for k in DEMO_KEYS if k not in arrays]
    if missing:
        raise DemoFormatError(
            f"{source}: missing array(s) {missing}; expected keys {list(DEMO_KEYS)} (+ optional 'episode_ids'), "
            f"got {sorted(arrays)}. Regenerate with `python -m rl_aug.envs.ccil.demos --task <task>`."
        )
    out = {}
    for key in DEMO_KEYS:
        value = np.asarray(arrays[key])
        if value.ndim != 2:
            raise DemoFormatError(
                f"{source}: '{key}' must be 2-D (N, dim), got shape {value.shape}; "
                "stack per-step vectors into one array per key."
            )
        if not np.issubdtype(value.dtype, np.number):
            raise DemoFormatError(f"{source}: '{key}' must be numeric, got dtype {value.dtype}.")
        if not np.all(np.isfinite(value)):
            raise DemoFormatError(f"{source}: '{key}' contains NaN or inf; drop those transitions.")
        out[key] = value.astype(np.float32)
    n = len(out["observations"])
    if n < MIN_TRANSITIONS:  # one row: zero spread for the normalization, and a PCA plot of one point fails
        raise DemoFormatError(f"{source}: expected at least {MIN_TRANSITIONS} transitions (rows), got {n}.")
    lengths = {k: len(v) for k, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise DemoFormatError(f"{source}: arrays disagree on N: {lengths}; every key needs one row per transition.")
    if out["next_observations"].shape[1] != out["observations"].shape[1]:
        raise DemoFormatError(
            f"{source}: next_observations has dim {out['next_observations'].shape[1]} but observations has "
            f"{out['observations'].shape[1]}; both must be the same state vector."
        )
    if "episode_ids" in arrays:
        episode_ids = np.asarray(arrays["episode_ids"])
        if episode_ids.shape != (n,) or not np.issubdtype(episode_ids.dtype, np.integer):
            raise DemoFormatError(
                f"{source}: 'episode_ids' must be an integer array of shape ({n},), "
                f"got {episode_ids.dtype} {episode_ids.shape}."
            )
    else:
        episode_ids = np.zeros(n, dtype=np.int64)
    return Demonstrations(out["observations"], out["actions"], out["next_observations"], episode_ids.astype(np.int64))


def load_demos(path: str | os.PathLike) -> Demonstrations:
    """Load and validate an npz demonstration file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"demonstration file {path} not found; generate it with `python -m rl_aug.envs.ccil.demos`.")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (ValueError, OSError) as exc:
        raise DemoFormatError(f"{path}: not a readable npz file ({exc}); expected np.savez output.") from exc
    return validate_demos(arrays, source=str(path))


def save_npz_atomic(path: str | os.PathLike, **arrays: np.ndarray) -> Path:
    """np.savez to a temporary file, then rename: a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:  # a file object: numpy appends no .npz to the name
        np.savez_compressed(fh, **arrays)
    return path


def save_demos(path: str | os.PathLike, demos: Demonstrations) -> Path:
    return save_npz_atomic(path, observations=demos.observations, actions=demos.actions,
                           next_observations=demos.next_observations, episode_ids=demos.episode_ids)
