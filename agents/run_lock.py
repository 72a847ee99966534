"""One process per run directory: an advisory lock held for the life of a Trainer.

Two trainers on one run directory (a `resume=true` typed while the run still trains, a job restarted while its
first copy lives) would interleave CSV rows and checkpoints and lose the run. The lock is `flock` on
`<run_dir>/.lock`: the kernel drops it when the process ends, however it ends (kill -9 included), so a crashed
run never leaves a stale lock behind. Where `fcntl` does not exist (Windows) runs are not locked.
(Not `rl-aug sweep`'s O_EXCL lock file: a Ray trial restarted on another node after its node died would find a
lock file whose owner it cannot prove dead; a `flock` dies with its holder.)
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import IO

from rl_aug.errors import UserInputError

LOCK_NAME = ".lock"


class RunDirInUse(RuntimeError, UserInputError):
    """Another live process holds the run directory."""


def acquire(run_dir: Path) -> IO[str] | None:
    """Lock `run_dir` (which must exist) for this process; the open lock file, to pass to `release`.

    Raises RunDirInUse, naming the holder, when another process has it."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        return None
    fh = open(run_dir / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the run's life)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise RunDirInUse(f"run directory {run_dir} is in use by another process ({holder}): wait for it to end or "
                          "stop it before resuming; two processes on one run directory would corrupt it") from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"host {socket.gethostname()} pid {os.getpid()}\n")
    fh.flush()
    return fh


def contents(run_dir: Path) -> list[Path]:
    """What `run_dir` holds besides its lock file (nothing when it is no directory): a lock file alone, left by a
    start that failed in a folder that existed before, is no run."""
    return [p for p in run_dir.iterdir() if p.name != LOCK_NAME] if run_dir.is_dir() else []


def release(fh: IO[str] | None) -> None:
    """Give the lock back (closing the file releases it; the file stays, an empty lock is harmless)."""
    if fh is not None and not fh.closed:
        fh.close()
