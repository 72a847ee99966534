"""Named generalization shifts ("color_hard", "video_easy+camera", ...) and where their assets come from."""

from __future__ import annotations

import os
from pathlib import Path

import gymnasium as gym

from rl_aug.errors import InputFileError, UserInputError
from rl_aug.wrappers.camera import CameraShift
from rl_aug.wrappers.color import ColorShift
from rl_aug.wrappers.video import VideoBackground

ASSETS_ENV_VAR = "RL_AUG_DMCGB_DIR"
# DCS difficulty scales (Stone et al. 2021, distracting_control/suite.py DIFFICULTY_SCALE): 0.1, 0.2, 0.3.
CAMERA_INTENSITY = {"camera_easy": 0.1, "camera": 0.2, "camera_medium": 0.2, "camera_hard": 0.3}
SHIFTS = ("color_easy", "color_hard", "video_easy", "video_hard", *CAMERA_INTENSITY)


def resolve_assets_dir(assets_dir: str | Path | None = None) -> Path | None:
    """The DMC-GB asset directory: the argument, else $RL_AUG_DMCGB_DIR, else None (procedural fallbacks).

    A directory that is named but missing is an error, never a silent fallback.
    """
    source = "assets_dir"
    if assets_dir is None:
        assets_dir, source = os.environ.get(ASSETS_ENV_VAR) or None, f"${ASSETS_ENV_VAR}"
    if assets_dir is None:
        return None
    path = Path(assets_dir).expanduser()
    if not path.is_dir():
        what = "which is a file, not a directory" if path.exists() else "which does not exist"
        raise InputFileError(
            f"expected {source} to name a DMC-GB asset directory (color_*.json, video_easy/, video_hard/), "
            f"got {str(path)!r}, {what}: fix the path or leave it unset for procedural assets"
        )
    return path


def parse_shift(shift: str) -> list[str]:
    """Split "color_hard+camera" into known shift names; unknown names raise."""
    names = [part.strip() for part in shift.split("+") if part.strip()]
    unknown = [n for n in names if n not in SHIFTS]
    if not names or unknown:
        raise UserInputError(f"expected shift names from {SHIFTS} joined by '+', got {shift!r}")
    return names


def apply_shift(env: gym.Env, shift: str | None, assets_dir: str | Path | None = None) -> gym.Env:
    """Wrap `env` (MuJoCo-based, not yet rendered to pixels) with the named shifts, colours first."""
    if shift is None or shift in ("train", "none"):
        return env
    names = parse_shift(shift)
    root = resolve_assets_dir(assets_dir)
    order = {"color": 0, "video": 1, "camera": 2}
    for name in sorted(names, key=lambda n: order[n.split("_")[0]]):
        if name.startswith("color"):
            presets = None
            if root is not None:
                presets = root / f"{name}.json"
                if not presets.is_file():
                    raise InputFileError(f"expected {str(presets)!r} in the DMC-GB asset directory {str(root)!r}")
            env = ColorShift(env, mode=name, presets=presets)
        elif name.startswith("video"):
            env = VideoBackground(env, mode=name, videos=None if root is None else root / name)
        else:
            env = CameraShift(env, intensity=CAMERA_INTENSITY[name])
    return env
