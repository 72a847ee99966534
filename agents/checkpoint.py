"""Atomic checkpoints: a run's state (torch file) and its replay (npz) are written into a temporary
directory which then replaces `checkpoint/`, so a crash never leaves a half-written checkpoint or a
state that disagrees with its replay. Also the RNG states that make a resumed run continue exactly.
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rl_aug.agents.replay import ReplayBuffer

STATE_FILE = "state.pt"
REPLAY_FILE = "replay.npz"


def rng_state() -> dict[str, Any]:
    """The global RNG streams used in training: torch (exploration, augmentation), numpy, python, and the
    CUDA generators when CUDA is in use (an agent on a GPU draws its exploration noise there)."""
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


def save(directory: str | Path, state: dict[str, Any], replay: ReplayBuffer) -> Path:
    """Write `directory/` = {state.pt, replay.npz} atomically; returns the directory."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    old = directory.with_name(directory.name + ".old")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    torch.save(state, tmp / STATE_FILE)
    replay.save(tmp / REPLAY_FILE)
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)
        os.replace(directory, old)
    os.replace(tmp, directory)
    if old.exists():
        shutil.rmtree(old)
    return directory


def find(directory: str | Path, files: tuple[str, ...] = (STATE_FILE, REPLAY_FILE)) -> Path | None:
    """The checkpoint directory holding `files` (falls back to `.old` after a crash between the two renames)."""
    directory = Path(directory)
    for candidate in (directory, directory.with_name(directory.name + ".old")):
        if all((candidate / name).is_file() for name in files):
            return candidate
    return None


def load(directory: str | Path, replay: ReplayBuffer) -> dict[str, Any]:
    """Read the state dict and fill `replay`; raises FileNotFoundError when there is no checkpoint."""
    found = find(directory)
    if found is None:
        raise FileNotFoundError(f"expected a checkpoint ({STATE_FILE} + {REPLAY_FILE}) in {directory}, found none")
    replay.load(found / REPLAY_FILE)
    return torch.load(found / STATE_FILE, weights_only=False)


def saved_replay_capacity(directory: str | Path) -> int:
    """The capacity of the replay saved in a checkpoint (read without loading the frames)."""
    found = find(directory)
    if found is None:
        raise FileNotFoundError(f"expected a checkpoint in {directory}, found none")
    with np.load(found / REPLAY_FILE, allow_pickle=False) as data:
        return int(data["config"][4])


def load_agent(run_dir: str | Path, obs_shape: tuple[int, int, int], action_dim: int,
               device: str = "cpu") -> tuple[Any, Any, int]:
    """(agent, run config, agent step) from a run directory written by `rl-aug train`, in eval mode.

    Only the agent is read (not the replay), so evaluating a run never touches its gigabytes of frames."""
    from omegaconf import OmegaConf

    from rl_aug.agents.config import agent_classes, agent_kwargs

    run_dir = Path(run_dir)
    config = run_dir / "config.yaml"
    found = find(run_dir / "checkpoint", files=(STATE_FILE,))
    if not config.is_file() or found is None:
        raise FileNotFoundError(f"expected a run directory with config.yaml and checkpoint/{STATE_FILE} "
                                f"(written by `rl-aug train`), got {run_dir}")
    cfg = OmegaConf.load(config)
    kwargs = {**agent_kwargs(cfg), "device": device}
    agent = agent_classes()[cfg.agent.name](obs_shape, action_dim, **kwargs)
    state = torch.load(found / STATE_FILE, weights_only=False, map_location=device)
    agent.load_state_dict(state["agent"])
    agent.train(False)
    return agent, cfg, int(state["counters"]["step"])
