"""One process per run directory, and one `rl-aug sweep` per sweep folder: an advisory lock held while it works.

Two trainers on one run directory (a `resume=true` typed while the run still trains, a job restarted while its
first copy lives) would interleave CSV rows and checkpoints and lose the run; two sweeps on one folder would drive
the same runs. The lock is `flock` on `<dir>/.lock`: the kernel drops it when the process ends, however it ends
(kill -9 included), so a crashed run or sweep never leaves a stale lock behind, and a trial restarted on another
node never meets a lock file whose owner it cannot prove dead. Linux's NFS client implements `flock` with POSIX
locks, so on a default NFS mount it holds across the nodes that share the folder (not on a mount with `nolock` or
`local_lock=flock`, where it holds on one machine only). A file system that cannot lock at all is named, never
taken for a lock held. Where `fcntl` does not exist (Windows) nothing is locked."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import IO, Literal

from rl_aug.errors import UserInputError

LOCK_NAME = ".lock"
# What the refusal says, by what is locked; {holder} is "host H pid P".
REFUSALS = {
    "run": "run directory {dir} is in use by another process ({holder}): wait for it to end or stop it before "
           "resuming; two processes on one run directory would corrupt it",
    "sweep": "another rl-aug sweep ({holder}) is running in {dir}; wait for it to end",
}


class RunDirInUse(RuntimeError, UserInputError):
    """Another live process holds the directory (a run directory, or a sweep folder)."""


class LockUnsupported(OSError, UserInputError):
    """The directory's file system cannot `flock` (ENOLCK, EOPNOTSUPP, ...): said so, not taken for a lock held."""


def acquire(directory: Path, what: Literal["run", "sweep"] = "run") -> IO[str] | None:
    """Lock `directory` (which must exist) for this process; the open lock file, to pass to `release`.

    Raises RunDirInUse, naming the holder, when another process has it; `what` ("run", "sweep") picks the
    message (REFUSALS). Raises LockUnsupported when the file system cannot lock."""
    try:
        import fcntl
    except ImportError:  # no advisory locks on this platform
        return None
    fh = open(directory / LOCK_NAME, "a+")  # noqa: SIM115 (held open for the run's or sweep's life)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:  # held: EWOULDBLOCK is the only error that means another process has it
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise RunDirInUse(REFUSALS[what].format(dir=directory, holder=holder)) from None
    except OSError as exc:  # ENOLCK, EOPNOTSUPP, ...: this file system has no working flock
        fh.close()
        raise LockUnsupported(f"cannot lock {directory / LOCK_NAME}: its file system does not support flock ({exc}); put the "
                      f"{what} on a local disk or a file system with locking") from None
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
