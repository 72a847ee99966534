"""Writing a file whole or not at all: the one atomic-write helper of rl-aug.

Everything a user keeps (checkpoints' companions, snapshots, CSVs, reports, plots, videos, demos, BC policies,
replay files) is written to a temporary file beside its target and renamed over it, so a crash or a kill never
leaves a half-written file where a reader would take it for a whole one (`os.replace` is atomic on one file
system). Hand-written: the standard library has no such helper, and the writers (numpy, torch, imageio/ffmpeg,
matplotlib, SB3) each want a path, some of them one that ends in the suffix they write.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_name(path: Path) -> Path:
    """The temporary file beside `path`: hidden, and ending in `path`'s own suffix, because ffmpeg and
    matplotlib pick the format by it and np.savez / SB3 append theirs when it is missing
    (`runs/x/eval.csv` -> `runs/x/.eval.tmp.csv`)."""
    return path.with_name(f".{path.stem}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield the temporary path to write `path`'s content to; when the block ends without an error it is renamed
    over `path`, otherwise removed (no stale temporary file after a failed write)."""
    target = Path(path)
    tmp = temporary_name(target)
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """`path.write_text(text)`, atomically (configs, reports, JSON records); returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)
