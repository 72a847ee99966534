"""What made a run: the command-line overrides as typed, the rl-aug version and git commit, and the versions of
the libraries that decide its numbers. Each start of a run (first or resumed) appends one record to
`<run_dir>/run_info.json`, so a resumed run says what every part of it ran with."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from rl_aug.files import write_text

INFO_FILE = "run_info.json"
LIBRARIES = ("rl-aug", "torch", "numpy", "gymnasium", "mujoco", "dm-control", "shimmy", "stable-baselines3",
             "omegaconf")


def git_commit(path: Path) -> str | None:
    """The commit of the checkout holding `path` (with '+dirty' when it has changes), or None outside git."""
    try:
        def git(*args: str) -> str:
            return subprocess.run(["git", *args], cwd=path, capture_output=True, text=True, check=True,
                                  timeout=10).stdout.strip()

        commit = git("rev-parse", "HEAD")
        return commit + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def read(run_dir: Path) -> list[dict[str, Any]]:
    """The records of run_dir/run_info.json, one per start, oldest first (none before the first start)."""
    path = run_dir / INFO_FILE
    return json.loads(path.read_text()) if path.is_file() else []


def append(run_dir: Path, overrides: list[str] | None, resumed: bool) -> Path:
    """Append this start's record to run_dir/run_info.json (written atomically)."""
    record = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "resumed": resumed,
        "overrides": list(overrides) if overrides is not None else None,
        "argv": sys.argv,
        "git_commit": git_commit(Path(__file__).resolve().parent),
        "versions": versions(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_available() else None,
        "host": platform.node(),
    }
    return write_text(run_dir / INFO_FILE, json.dumps([*read(run_dir), record], indent=2) + "\n")
