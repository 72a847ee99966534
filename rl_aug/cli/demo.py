"""`rl-aug demo`: the main job on an embedded default, with no data and no GPU needed.

Renders a real dm_control frame stack (walker-walk, 84x84, 3 frames), applies every registered augmentation
to a batch made from it, writes a PNG gallery and a markdown report, and prints the augmentation speed table
(the same measurement as benchmarks/augment.py, fewer repeats). Each run writes a new timestamped directory
under --out, so an earlier report is never overwritten.
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np
import torch

from rl_aug import augment, envs
from rl_aug.cli import HelpFormatter, at_least, command, save_image_grid
from rl_aug.files import write_text

GALLERY_SPECS = [
    "none",
    "shift(pad=4)",
    "crop(size=72)",
    "conv",
    "overlay(alpha=0.5)",
    "color_jitter",
    "grayscale",
    "cutout(size=20)",
    "noise(std=16.0)",
    "rotate(degrees=10.0)",
    "shift(pad=4)+conv",
    "shift(pad=4)+overlay(alpha=0.5)",
]


def render_frame_stack(task: str, seed: int, steps: int) -> np.ndarray:
    """A (9, 84, 84) uint8 observation after `steps` random actions in a dm_control task."""
    env = envs.make(task, seed=seed, frame_stack=3, size=84)
    try:
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        for _ in range(steps):
            obs, *_ = env.step(env.action_space.sample())
        return np.asarray(obs)
    finally:
        env.close()


def write_gallery(obs: np.ndarray, path: Path, samples: int, seed: int) -> None:
    """One row per augmentation spec, `samples` augmented copies per row (last frame of the stack shown)."""
    batch = torch.from_numpy(obs).unsqueeze(0).repeat(samples, 1, 1, 1)
    rows = []
    for row, spec in enumerate(GALLERY_SPECS):
        out = augment.parse(spec)(batch, generator=torch.Generator().manual_seed(seed + row))
        rows.append(out[:, -3:].permute(0, 2, 3, 1).numpy())  # (samples, H, W, 3)
    save_image_grid(path, rows, GALLERY_SPECS, cell=(1.3, 1.35), dpi=110,
                    rotation=0, ha="right", va="center", fontsize=7)


def _speed_table(batch: int, repeats: int) -> list[tuple[str, float]] | None:
    bench = Path(__file__).resolve().parents[2] / "benchmarks" / "augment.py"
    if not bench.exists():  # installed without the repository's benchmarks/
        return None
    spec = importlib.util.spec_from_file_location("rl_aug_bench_augment", bench)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    ms = module.run(batch, repeats, torch.device("cpu"))
    return list(ms.items())


@command("demo")
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rl-aug demo", description=__doc__.splitlines()[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("runs/demo"),
                        help="parent of the new run directory, named by date and time")
    parser.add_argument("--task", default="walker-walk", help="dm_control task to render, e.g. cartpole-swingup")
    parser.add_argument("--seed", type=int, default=0, help="seeds the task, the random actions and the augmentations")
    parser.add_argument("--steps", type=at_least(0), default=30, help="random actions before the frame stack is taken")
    parser.add_argument("--samples", type=at_least(1), default=6, help="augmented copies per gallery row")
    parser.add_argument("--speed-batch", type=at_least(1), default=128,
                        help="batch size of the quick speed table (N x 9x84x84 uint8)")
    parser.add_argument("--speed-repeats", type=at_least(0), default=5,
                        help="timed calls per op in the speed table; 0 skips the table")
    args = parser.parse_args(argv)

    from rl_aug.agents.config import new_run_dir  # lazy: needs the [train] extra ([eval] installs it)

    obs = render_frame_stack(args.task, args.seed, args.steps)  # first: a bad --task leaves no empty run dir
    run = new_run_dir(args.out)  # <UTC time>, as `rl-aug ccil` names its runs
    print(f"rl-aug demo: writing {run}", flush=True)
    gallery = run / "augmentations.png"
    write_gallery(obs, gallery, args.samples, args.seed)
    print(f"rendered {args.task} frame stack {obs.shape} {obs.dtype}; gallery: {gallery}")

    lines = [
        "# rl-aug demo",
        "",
        f"Task `{args.task}`, seed {args.seed}, observation {tuple(obs.shape)} {obs.dtype} after {args.steps} random steps.",
        "",
        f"![augmentations]({gallery.name})",
        "",
        "Rows: " + ", ".join(f"`{s}`" for s in GALLERY_SPECS) + " (last frame of each stack shown).",
    ]
    table = _speed_table(args.speed_batch, args.speed_repeats) if args.speed_repeats > 0 else None
    if table:
        floor = dict(table)["floor: memory copy"]
        lines += ["", f"## Speed, batch {args.speed_batch} x 9x84x84 uint8, {torch.get_num_threads()} threads", "",
                  (f"A quick timing (median of {args.speed_repeats} calls, whatever else the machine is doing); "
                   "`python benchmarks/augment.py` measures carefully and BENCHMARKS.md records it."), ""]
        lines += ["| op | ms | x memory copy |", "| --- | ---: | ---: |"]
        lines += [f"| {name} | {ms:.2f} | {ms / floor:.1f} |" for name, ms in table]
        print("\n".join(lines[-len(table) - 2 :]))
    report = run / "report.md"
    write_text(report, "\n".join(lines) + "\n")
    print(f"report: {report}")
    return 0
