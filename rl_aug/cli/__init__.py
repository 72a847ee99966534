"""The `rl-aug` command line: the one place in rl_aug that wires rl_aug, agents/ and envs/ together.

Each subcommand lives in its own module of this package and is imported only when it runs, so
`rl-aug --help` stays fast and `import rl_aug` never pulls agents/ or envs/.
A subcommand's entry point takes the remaining arguments (a list of strings) and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable

from rl_aug import __version__, gl
from rl_aug.errors import UserInputError, one_line
from rl_aug.extras import EXTRA_OF, MissingExtra, hint

# name -> ("module:function", one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("rl_aug.cli.demo:main", "render a dm_control frame stack, apply every augmentation, write a gallery"),
    "augment": ("rl_aug.cli.augment:main", "list the registered augmentations or apply a spec to an image"),
    "train": ("rl_aug.cli.train:main", "train an agent: rl-aug train agent=sac strategy=svea task=walker-walk"),
    "sweep": ("rl_aug.cli.sweep:main", "a grid of training runs on Ray Tune: rl-aug sweep strategy=drq,svea seed=1-5"),
    "evaluate": ("rl_aug.cli.evaluate:main", "evaluate trained runs under colour / video / camera shifts (tables, IQM)"),
    "ccil": ("rl_aug.cli.ccil:main", "CCIL pipeline: dynamics -> labels -> BC / NoiseBC / CCIL -> evaluation"),
    "shifts": ("rl_aug.cli.shifts:main", "write a PNG grid of one state under every generalization shift"),
}


def count(low: int) -> Callable[[str], int]:
    """An argparse `type` for counts: an int >= low, or argparse's usage error naming what was expected."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an int >= {low}, got {value}")
        return value

    parse.__name__ = f"int >= {low}"
    return parse


class HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """A subcommand's --help: its description as written, and every option's default after its help, unless the
    help already says it in words ("(default: ...)", e.g. for a None that means "the last checkpoint")."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        return text if "(default" in text else str(super()._get_help_string(action))


def version() -> str:
    """rl_aug.__version__: the version of the code that runs (a source checkout on PYTHONPATH may differ from the
    installed distribution's metadata); tests/test_cli.py keeps it equal to pyproject.toml's."""
    return __version__


def _parser() -> argparse.ArgumentParser:
    lines = "\n".join(f"  {name:<10} {help_}" for name, (_, help_) in SUBCOMMANDS.items())
    parser = argparse.ArgumentParser(
        prog="rl-aug",
        description="Data augmentation for RL and imitation learning from pixels.",
        epilog=f"subcommands:\n{lines}\n\nrun `rl-aug <subcommand> --help` for its options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"rl-aug {version()}")
    parser.add_argument("subcommand", choices=sorted(SUBCOMMANDS), metavar="subcommand")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


HELP_FLAGS = ("-h", "--help", "--version")


def _renders(args: list[str]) -> bool:
    """False when the subcommand only prints: its help, or `train --cfg job` (the composed config)."""
    return not any(a in HELP_FLAGS or a in ("--cfg", "-c") or a.startswith("--cfg=") for a in args)


def _choose_gl(subcommand: str, args: list[str]) -> None:
    """A headless GL backend for MuJoCo when MUJOCO_GL is unset (rl_aug.gl), said once on stderr; not said when
    the subcommand only prints (`rl-aug evaluate --help`, `rl-aug train --cfg job`), where nothing renders."""
    was_set = bool(os.environ.get("MUJOCO_GL"))
    chosen = gl.choose_backend()
    if chosen and not was_set:
        os.environ["RL_AUG_GL_CHOSEN"] = "1"  # a sweep does not impose this machine's choice on other nodes
    if chosen and not was_set and subcommand != "augment" and _renders(args):
        print(f"rl-aug {subcommand}: MUJOCO_GL was unset and no display was found: using MUJOCO_GL={chosen}",
              file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    _choose_gl(args.subcommand, args.args)
    target, _ = SUBCOMMANDS[args.subcommand]
    module_name, func_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
        return int(getattr(module, func_name)(args.args) or 0)
    except (MissingExtra, UserInputError) as exc:  # a user's input or setup: one line, exit 2, no traceback
        print(f"rl-aug {args.subcommand}: {one_line(exc)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in EXTRA_OF:  # an optional dependency imported directly somewhere below
            print(f"rl-aug {args.subcommand}: {hint(top, f'rl-aug {args.subcommand}')}", file=sys.stderr)
            return 2
        raise
    except BrokenPipeError:  # `rl-aug augment list | head`: the reader left; stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
