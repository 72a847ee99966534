"""rl-aug: data augmentation that works for reinforcement and imitation learning from pixels.

Importing the package is cheap: heavy parts (dm_control, stable-baselines3) are imported where used.

Installed (wheel or editable), the repository folders agents/, envs/ and configs/ are the subpackages
rl_aug.agents, rl_aug.envs and rl_aug.configs. From a source checkout that is not installed (e.g. a copy of
the tree on another machine with PYTHONPATH pointing at it), the same names resolve through the checkout:
the folder holding rl_aug/ is added to this package's search path when those folders sit beside it.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

_here = _Path(__file__).resolve().parent
if not (_here / "agents").is_dir() and (_here.parent / "agents" / "__init__.py").is_file():
    __path__.append(str(_here.parent))
del _Path, _here
