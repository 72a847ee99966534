"""Atomic checkpoints: a run's state (torch file) and its replay (npz) are written into a temporary
directory (`checkpoint.tmp/`, marked complete by a last, empty file) which then replaces `checkpoint/`, so a crash
never leaves a half-written checkpoint or a state that disagrees with its replay, and the newest complete
checkpoint is never deleted before its successor is complete (a complete `.tmp` left by a kill between the renames
is promoted first). Also the RNG states that make a resumed run continue exactly, and
snapshots: the agent's weights kept at chosen frames (`snapshots/frame_<N>.pt`), so runs stopped at different
frames can be evaluated at equal ones (DMC-GB keeps its models every `--save_freq` frames for the same need).
"""

from __future__ import annotations

import os
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import OmegaConf
from rl_aug.agents.config import agent_classes, agent_kwargs
from rl_aug.agents.replay import ReplayBuffer

from rl_aug.errors import UserInputError
from rl_aug.files import atomic_path

STATE_FILE = "state.pt"
REPLAY_FILE = "replay.npz"
COMPLETE_FILE = "COMPLETE"  # written last into checkpoint.tmp/: the files before it are whole
SNAPSHOT_DIR = "snapshots"


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
    settle(directory)  # a complete .tmp (the newest) into place before anything goes; an unfinished one goes
    tmp = _beside(directory, ".tmp")
    tmp.mkdir(parents=True)
    torch.save(state, tmp / STATE_FILE)
    replay.save(tmp / REPLAY_FILE)
    (tmp / COMPLETE_FILE).touch()
    promote(directory)
    return directory


def _beside(path: Path, suffix: str) -> Path:
    """`path` with `suffix` added: its `.tmp` (being written) or its `.old` (being replaced)."""
    return path.with_name(path.name + suffix)


def complete(candidate: Path) -> bool:
    """`candidate` holds a checkpoint whose writing finished (its COMPLETE file was written after the others)."""
    return (candidate / COMPLETE_FILE).is_file() and all((candidate / n).is_file() for n in (STATE_FILE, REPLAY_FILE))


def promote(directory: str | Path) -> Path:
    """Make `directory.tmp/`, the newest checkpoint (complete), `directory/`: the current one becomes `.old` for the
    time of the second rename, then goes. Every step leaves a complete newest checkpoint on disk: `.tmp` until it
    is renamed, `directory` after."""
    directory = Path(directory)
    tmp, old = _beside(directory, ".tmp"), _beside(directory, ".old")
    if directory.exists():
        if old.exists():
            shutil.rmtree(old)  # older than `directory`, itself older than the complete .tmp
        os.replace(directory, old)
    os.replace(tmp, directory)
    if old.exists():
        shutil.rmtree(old)
    return directory


def find(directory: str | Path, files: tuple[str, ...] = (STATE_FILE, REPLAY_FILE)) -> Path | None:
    """The first checkpoint directory holding `files` (see `_candidates`); existence only, `read` checks them."""
    return next(iter(_candidates(Path(directory), files)), None)


class CheckpointDamaged(RuntimeError, UserInputError):
    """No complete checkpoint could be read; the message names each damaged file and the way out."""


def _candidates(directory: Path, files: tuple[str, ...] = (STATE_FILE, REPLAY_FILE)) -> list[Path]:
    """Where a checkpoint holding `files` is, newest first: `.tmp` when marked complete (a kill came between the
    renames of `save`); the checkpoint itself; `.tmp` unmarked (written before the COMPLETE file existed; `read`
    checks that it reads back whole); `.old`, the previous one (kept between the two renames of `save`)."""
    tmp, old = _beside(directory, ".tmp"), _beside(directory, ".old")
    order = [tmp, directory, old] if complete(tmp) else [directory, tmp, old]
    return [candidate for candidate in order if all((candidate / name).is_file() for name in files)]


def read(directory: str | Path) -> tuple[Path, dict[str, Any], dict[str, np.ndarray]]:
    """(where, state dict, replay arrays) of the first complete checkpoint that reads back whole.

    A damaged file (truncated, empty, not a checkpoint) is named, and the next candidate is tried; falling
    back is said on stderr. FileNotFoundError when there is no checkpoint at all, CheckpointDamaged when
    every one found is damaged."""
    directory = Path(directory)
    problems: list[str] = []
    for candidate in _candidates(directory):
        path = candidate / STATE_FILE  # the file being read: the one a failure names
        try:
            state = torch.load(path, weights_only=False)
            if not isinstance(state, dict):
                raise TypeError(f"expected a dict, got {type(state).__name__}")
            path = candidate / REPLAY_FILE
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            if "config" not in arrays:
                raise KeyError("no 'config' array")
        except Exception as exc:  # noqa: BLE001 - any failure to read means the file is damaged
            problems.append(f"{path} is damaged ({type(exc).__name__}: {str(exc)[:120]})")
            continue
        if problems:
            print(f"checkpoint: {'; '.join(problems)}; resuming from the complete checkpoint in {candidate}",
                  file=sys.stderr)
        return candidate, state, arrays
    if not problems:
        raise FileNotFoundError(f"expected a checkpoint ({STATE_FILE} + {REPLAY_FILE}) in {directory}, found none")
    raise CheckpointDamaged(
        f"cannot resume: {'; '.join(problems)}, and there is no complete checkpoint.tmp or checkpoint.old to fall "
        "back to. Restore the files, or start the run again with overwrite=true (this deletes the run directory)"
    )


def settle(directory: str | Path, resumed_from: Path | None = None) -> None:
    """Leave no `.tmp` beside `directory`. The newest checkpoint (the one a resume read, `resumed_from`; else a
    complete one, left by a kill between the renames of `save`) becomes `directory`: were it left as `.tmp`, the
    next save would delete it, the only copy of the newest checkpoint, before its successor is whole. Any other
    `.tmp` (unfinished, or unreadable) goes, so no later save promotes it over what the run continues."""
    directory = Path(directory)
    tmp = _beside(directory, ".tmp")
    newest = complete(tmp) if resumed_from is None else Path(resumed_from) == tmp
    if newest:
        promote(directory)
    elif tmp.exists():
        shutil.rmtree(tmp)


def snapshot_path(run_dir: str | Path, frame: int) -> Path:
    return Path(run_dir) / SNAPSHOT_DIR / f"frame_{int(frame)}.pt"


def save_snapshot(run_dir: str | Path, frame: int, step: int, agent: Any) -> Path:
    """Keep the agent's weights at `frame` (written to a temporary file, then renamed: never half-written). A
    resumed run rewrites the snapshots after its checkpoint with the same weights, as its CSV rows."""
    path = snapshot_path(run_dir, frame)
    path.parent.mkdir(exist_ok=True)
    weights = {"agent": agent.weights_state_dict(), "counters": {"step": int(step)}, "frame": int(frame)}
    with atomic_path(path) as tmp:
        torch.save(weights, tmp)
    return path


def snapshot_frames(run_dir: str | Path) -> list[int]:
    """The frames at which `run_dir` holds a snapshot, ascending."""
    numbers = (p.stem.removeprefix("frame_") for p in (Path(run_dir) / SNAPSHOT_DIR).glob("frame_*.pt"))
    return sorted(int(n) for n in numbers if n.isdecimal())


def load_agent(run_dir: str | Path, obs_shape: tuple[int, int, int], action_dim: int,
               device: str = "cpu", frame: int | None = None) -> tuple[Any, Any, int]:
    """(agent, run config, agent step) from a run directory written by `rl-aug train`, in eval mode: its last
    checkpoint, or with `frame` its snapshot at that frame (runs trained with `run.snapshot_every_frames`).

    Only the agent's weights are read (not the replay, not the optimizers), so evaluating a run never touches its
    gigabytes of frames."""
    run_dir = Path(run_dir)
    config = run_dir / "config.yaml"
    found = find(run_dir / "checkpoint", files=(STATE_FILE,)) if frame is None else None
    if not config.is_file() or (frame is None and found is None):
        wanted = "config.yaml" + (f" and checkpoint/{STATE_FILE}" if frame is None else "")
        raise FileNotFoundError(f"expected a run directory with {wanted} (written by `rl-aug train`), got {run_dir}")
    source = found / STATE_FILE if found is not None else snapshot_path(run_dir, frame)
    if not source.is_file():  # a snapshot not taken (`find` found a state file)
        frames = snapshot_frames(run_dir)
        held = f"it holds snapshots at frames {', '.join(map(str, frames))}" if frames else (
            "it holds none (train with run.snapshot_every_frames=N to keep them)")
        raise FileNotFoundError(f"expected a snapshot at frame {frame} in {run_dir} ({source.name}); {held}")
    cfg = OmegaConf.load(config)
    kwargs = {**agent_kwargs(cfg), "device": device}
    agent = agent_classes()[cfg.agent.name](obs_shape, action_dim, **kwargs)
    try:  # a truncated or foreign file: named, with train's damaged-file wording, not torch's zip error
        state = torch.load(source, weights_only=False, map_location=device)
        weights = state["agent"]
    except Exception as exc:  # noqa: BLE001 - any failure to read means the file is damaged
        raise CheckpointDamaged(f"{source} is damaged ({type(exc).__name__}: {str(exc)[:120]}); "
                                "use another run or snapshot") from None
    agent.load_weights(weights)
    agent.train(False)
    return agent, cfg, int(state["counters"]["step"])
