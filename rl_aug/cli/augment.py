"""`rl-aug augment`: list the registered augmentations, or apply a spec to an image file."""

from __future__ import annotations

import argparse
import inspect
import textwrap
from pathlib import Path

import numpy as np
import torch

from rl_aug import augment
from rl_aug.cli import at_least, command
from rl_aug.errors import InputFileError, UserInputError, blame_input, one_line
from rl_aug.files import atomic_path


def _list() -> int:
    for name, fn in sorted(augment.registered().items()):
        params = [p for p in list(inspect.signature(fn).parameters.values())[1:] if p.name != "generator"]
        args = ", ".join(f"{p.name}={p.default!r}" for p in params if p.default is not inspect.Parameter.empty)
        paragraph = (inspect.getdoc(fn) or "").split("\n\n")[0]  # the whole first paragraph, never a cut sentence
        doc = textwrap.fill(" ".join(paragraph.split()), width=100, initial_indent="    ", subsequent_indent="    ")
        print(f"{name}({args})\n{doc}")
    return 0


def _apply(spec: str, image: Path, out: Path, seed: int, copies: int) -> int:
    import imageio.v3 as iio  # lazy: the [envs] extra; `rl-aug augment list` needs torch only

    if out.exists():
        raise UserInputError(f"--out: expected a new file, got {str(out)!r}, which exists (nothing is overwritten)")
    if not image.is_file():
        what = "a folder" if image.is_dir() else "does not exist"
        raise InputFileError(f"--image: expected an image file, got {str(image)!r}, which {'is ' * image.is_dir()}{what}")
    try:
        pixels = np.asarray(iio.imread(image))
    except Exception as exc:  # noqa: BLE001 - imageio raises OSError, ValueError, ... for a file it cannot decode
        raise UserInputError(f"--image: cannot read {str(image)!r} as an image ({type(exc).__name__}: "
                             f"{one_line(exc)[:160]})") from None
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise UserInputError(f"--image: expected an RGB image (H, W, 3), got shape {pixels.shape} from {str(image)!r}")
    x = torch.from_numpy(np.ascontiguousarray(pixels[..., :3])).permute(2, 0, 1)[None].repeat(copies, 1, 1, 1)
    with blame_input(f"spec {spec!r}"):  # a bad op name or argument, or one that does not fit this image
        y = augment.parse(spec)(x, generator=torch.Generator().manual_seed(seed))
    row = torch.cat(list(y), dim=2).permute(1, 2, 0).numpy()  # copies side by side
    with atomic_path(out) as tmp:
        iio.imwrite(tmp, row)
    print(f"wrote {out} ({copies} copies of {image.name} under {augment.parse(spec)!r})")
    return 0


@command("augment")
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="rl-aug augment", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="registered augmentations with their default arguments")
    apply = sub.add_parser("apply", help="apply a spec to an image and write the results side by side")
    apply.add_argument("spec", help="e.g. 'shift(pad=4)+overlay(alpha=0.5)'")
    apply.add_argument("--image", type=Path, required=True)
    apply.add_argument("--out", type=Path, required=True)
    apply.add_argument("--seed", type=int, default=0)
    apply.add_argument("--copies", type=at_least(1), default=4)
    args = parser.parse_args(argv)
    if args.action == "list":
        return _list()
    return _apply(args.spec, args.image, args.out, args.seed, args.copies)
