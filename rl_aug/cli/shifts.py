"""`rl-aug shifts`: one PNG grid of the same dm_control state under each generalization shift.

Rows are episodes (seeds), columns are shifts; every column replays the same actions from the same seed,
so the physical state is identical across a row and only the rendering differs. For a person to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from rl_aug import envs
from rl_aug.cli import DMCGB_SHIFTS, HelpFormatter, at_least, command, save_image_grid, shift_list
from rl_aug.errors import UserInputError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rl-aug shifts", description=__doc__.splitlines()[0],
                                formatter_class=HelpFormatter)
    p.add_argument("--out", type=Path, default=Path("shifts.png"), help="PNG file to write")
    p.add_argument("--task", default="walker-walk", help="dm_control task, e.g. walker-walk")
    p.add_argument("--shifts", default=DMCGB_SHIFTS, help="comma-separated shift names")
    p.add_argument("--size", type=at_least(1), default=128, help="image size in pixels")
    p.add_argument("--rows", type=at_least(1), default=2, help="episodes (one per row, seeds 0..rows-1)")
    p.add_argument("--steps", type=at_least(0), default=20, help="agent steps before the picture")
    p.add_argument("--assets-dir", default=None,
                   help="DMC-GB asset directory (default: $RL_AUG_DMCGB_DIR; unset: procedural assets)")
    p.add_argument("--render-quality", default="default", choices=("default", "fast"),
                   help="MuJoCo rendering settings (envs.make's render_quality; fast: smaller shadow map, no MSAA)")
    p.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return p


def render_grid(task: str, shifts: list[str], size: int, rows: int, steps: int,
                assets_dir: str | None, render_quality: str) -> np.ndarray:
    """(rows, len(shifts), size, size, 3) uint8: the last frame after `steps` identical steps per episode."""
    grid = np.zeros((rows, len(shifts), size, size, 3), np.uint8)
    for col, shift in enumerate(shifts):
        env = envs.make(task, frame_stack=1, size=size, shift=shift, assets_dir=assets_dir,
                        render_quality=render_quality)
        try:
            for row in range(rows):
                obs, _ = env.reset(seed=row)
                actions = np.random.default_rng(row).uniform(-1, 1, (steps, *env.action_space.shape))
                for action in actions.astype(np.float32):
                    obs, *_ = env.step(action)
                grid[row, col] = obs[-3:].transpose(1, 2, 0)
        finally:
            env.close()
    return grid


@command("shifts")
def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    if args.out.exists() and not args.force:
        raise UserInputError(f"--out: {args.out} exists; pass --force to overwrite it, or choose another --out")
    shifts = shift_list(args.shifts)
    grid = render_grid(args.task, shifts, args.size, args.rows, args.steps, args.assets_dir,
                       args.render_quality)
    save_image_grid(args.out, grid, [f"seed {row}" for row in range(args.rows)], cell=(1.8, 1.9), dpi=120,
                    column_titles=shifts, title=f"{args.task}: same state, {len(shifts)} renderings", fontsize=9)
    print(f"wrote {args.out}")
    return 0
