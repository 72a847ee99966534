"""The `rl-aug` command line: the one place in rl_aug that wires rl_aug, agents/ and envs/ together.

Each subcommand lives in its own module of this package and is imported only when it runs, so
`rl-aug --help` stays fast and `import rl_aug` never pulls agents/ or envs/.
A subcommand's entry point takes the remaining arguments (a list of strings) and returns an exit code; decorated
with `command`, it raises a user's bad input (rl_aug.errors.UserInputError) and `refuse` answers it.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rl_aug import __version__, gl
from rl_aug.errors import UserInputError, blame_input, one_line
from rl_aug.extras import EXTRA_OF, MissingExtra, hint
from rl_aug.files import atomic_path

# name -> one-line help; the subcommand's entry point is rl_aug.cli.<name>:main
SUBCOMMANDS: dict[str, str] = {
    "demo": "render a dm_control frame stack, apply every augmentation, write a gallery",
    "augment": "list the registered augmentations or apply a spec to an image",
    "train": "train an agent: rl-aug train agent=sac strategy=svea task=walker-walk",
    "sweep": "a grid of training runs on Ray Tune: rl-aug sweep strategy=drq,svea seed=1-5",
    "evaluate": "evaluate trained runs under colour / video / camera shifts (tables, IQM)",
    "ccil": "CCIL pipeline: dynamics -> labels -> BC / NoiseBC / CCIL -> evaluation",
    "shifts": "write a PNG grid of one state under every generalization shift",
}
Main = Callable[[list[str]], int]  # a subcommand's entry point
DMCGB_SHIFTS = "train,color_easy,color_hard,video_easy,video_hard,camera"  # DMC-GB's evaluation set, as --shifts


def at_least(low: int, kind: Callable[[str], float] = int) -> Callable[[str], Any]:
    """An argparse `type` for counts (an int >= low) or, with kind=float, amounts (a number >= low, not NaN): the
    value, or argparse's usage error naming what was expected."""
    what = "an int" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {text!r}") from None
        if not value >= low:  # written so that NaN fails too
            raise argparse.ArgumentTypeError(f"expected {what} >= {low}, got {text}")
        return value

    parse.__name__ = f"{what} >= {low}"
    return parse


def refuse(subcommand: str, problem: BaseException | str) -> int:
    """How every subcommand answers a user's input or setup error: one line `rl-aug <subcommand>: <message>` on
    stderr and exit code 2, no traceback."""
    text = one_line(problem) if isinstance(problem, BaseException) else problem
    print(f"rl-aug {subcommand}: {text}", file=sys.stderr)
    return 2


def command(subcommand: str) -> Callable[[Main], Main]:
    """Decorates a subcommand's `main`: a UserInputError or MissingExtra raised inside is answered by `refuse`, so
    the subcommand raises its input errors instead of printing them, and answers the same whether the dispatcher or
    a test or script calls its `main`."""
    def wrap(main: Main) -> Main:
        @functools.wraps(main)
        def run(argv: list[str]) -> int:
            try:
                return main(argv)
            except (MissingExtra, UserInputError) as exc:
                return refuse(subcommand, exc)

        return run

    return wrap


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """A subcommand's --help: its description as written, and every option's default after its help, unless the
    help already says it in words ("(default: ...)", e.g. for a None that means "the last checkpoint")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "(default" in text else str(super()._get_help_string(action))


def _parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {help_}" for name, help_ in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="rl-aug",
        description="Data augmentation for RL and imitation learning from pixels.",
        epilog=f"subcommands:\n{lines}\n\nrun `rl-aug <subcommand> --help` for its options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # rl_aug.__version__: the version of the code that runs (a source checkout on PYTHONPATH may differ from the
    # installed distribution's metadata); tests/test_cli.py keeps it equal to pyproject.toml's.
    parser.add_argument("--version", action="version", version=f"rl-aug {__version__}")
    parser.add_argument("subcommand", choices=sorted(SUBCOMMANDS), metavar="subcommand")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _choose_gl(subcommand: str, args: list[str]) -> None:
    """A headless GL backend for MuJoCo when MUJOCO_GL is unset (rl_aug.gl), said once on stderr; not said when
    the subcommand only prints (`rl-aug evaluate --help`, `rl-aug train --cfg job`), where nothing renders."""
    was_set = bool(os.environ.get("MUJOCO_GL"))
    chosen = gl.choose_backend()
    if not chosen or was_set:
        return
    os.environ["RL_AUG_GL_CHOSEN"] = "1"  # a sweep does not impose this machine's choice on other nodes
    only_prints = any(a in ("-h", "--help", "--version", "--cfg", "-c") or a.startswith("--cfg=") for a in args)
    if subcommand != "augment" and not only_prints:
        print(f"rl-aug {subcommand}: MUJOCO_GL was unset and no display was found: using MUJOCO_GL={chosen}",
              file=sys.stderr)


def shift_list(text: str, option: str = "--shifts") -> list[str]:
    """The shift names of a comma-separated option (--shifts of evaluate and shifts, sweep's --evaluate-shifts),
    every one known before anything runs (UserInputError naming the option otherwise)."""
    shifts = [s.strip() for s in text.split(",") if s.strip()]
    if not shifts:
        raise UserInputError(f"{option}: expected comma-separated shift names (e.g. train,color_hard), got none")
    from rl_aug.wrappers.shifts import parse_shift  # the env layer: only when a shift list is read

    with blame_input(option):
        for shift in shifts:
            if shift not in ("train", "none"):
                parse_shift(shift)
    return shifts


def save_image_grid(path: Path, rows: Sequence[Sequence[Any]], row_labels: Sequence[str], *, cell: tuple[float, float],
                    dpi: int, column_titles: Sequence[str] = (), title: str | None = None, **label: Any) -> None:
    """The picture of `rl-aug demo` and `rl-aug shifts`: rows of (H, W, 3) images as one PNG, ticks hidden, each
    row named on its left (`label`: matplotlib text options), `cell` inches per image; written atomically."""
    import matplotlib  # lazy: the [eval] extra, and slow to import

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width = len(rows[0])
    # at least three cells wide: one column leaves no room for the row labels (tight_layout gives up)
    fig, axes = plt.subplots(len(rows), width, figsize=(cell[0] * max(width, 3), cell[1] * len(rows)), squeeze=False)
    for r, images in enumerate(rows):
        for c, image in enumerate(images):
            axes[r, c].imshow(image)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[r, 0].set_ylabel(row_labels[r], **label)
    for c, text in enumerate(column_titles):
        axes[0, c].set_title(text, fontsize=9)
    if title is not None:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png", bbox_inches="tight")  # a long row label is never cut
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    _choose_gl(args.subcommand, args.args)
    try:
        return int(importlib.import_module(f"rl_aug.cli.{args.subcommand}").main(args.args) or 0)
    except (MissingExtra, UserInputError) as exc:  # raised as the subcommand's module is imported (`command`)
        return refuse(args.subcommand, exc)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in EXTRA_OF:  # an optional dependency imported directly somewhere below
            return refuse(args.subcommand, hint(top, f"rl-aug {args.subcommand}"))
        raise
    except BrokenPipeError:  # `rl-aug augment list | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
