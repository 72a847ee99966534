"""Optional dependencies: which `pip install "rl-aug[...]"` brings a missing module.

The augmentation core (`rl_aug.augment`, `rl_aug.strategies`) needs only torch and numpy; everything else
comes with an extra (pyproject.toml). `require` turns a bare ModuleNotFoundError into one that names the extra.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# module (top-level import name) -> the extra that installs it
EXTRA_OF = {
    "gymnasium": "envs", "mujoco": "envs", "dm_control": "envs", "shimmy": "envs", "imageio": "envs",
    "omegaconf": "train", "hydra": "train", "tensorboard": "train", "tqdm": "train",
    "matplotlib": "eval",
    "stable_baselines3": "sb3", "rich": "sb3", "sb3_contrib": "sb3",
    "ray": "sweep", "pyarrow": "sweep",
    "pygame": "classic",  # gymnasium's classic-control envs (CartPole, Pendulum, ...) draw with it
}


class MissingExtra(ModuleNotFoundError):
    """A module of an optional extra is not installed; the message names the pip command."""


def hint(module: str, feature: str) -> str:
    extra = EXTRA_OF.get(module.split(".")[0], "all")
    return (f"{feature} needs {module.split('.')[0]!r}, which is not installed: "
            f'pip install "rl-aug[{extra}]" (or "rl-aug[all]")')


def require(module: str, feature: str) -> ModuleType:
    """import_module(module), or MissingExtra naming the extra to install for `feature`."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != module.split(".")[0]:
            raise  # something inside the module is missing: not ours to rename
        raise MissingExtra(hint(module, feature), name=exc.name) from None
