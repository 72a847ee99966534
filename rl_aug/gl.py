"""Pick a headless OpenGL backend for MuJoCo before anything imports it.

MuJoCo reads MUJOCO_GL once, at import. Unset on a machine without a display, it tries GLFW and every render
fails with "an OpenGL platform library has not been loaded". `choose_backend` keeps a value the user set,
and otherwise picks EGL, then OSMesa, by which library can be found, setting PYOPENGL_PLATFORM to match.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
import warnings

BACKENDS = (("egl", "EGL"), ("osmesa", "OSMesa"))  # (MUJOCO_GL value, library name), in order of preference


def choose_backend(environ: dict[str, str] | None = None, find_library=ctypes.util.find_library) -> str | None:
    """Set MUJOCO_GL (and PYOPENGL_PLATFORM) when unset and no display exists; returns what was chosen or
    kept (None: a display is there, or no headless library was found and MuJoCo keeps its own default)."""
    env = os.environ if environ is None else environ
    if env.get("MUJOCO_GL"):
        return env["MUJOCO_GL"]
    if sys.platform == "darwin" or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    for value, library in BACKENDS:
        if find_library(library):
            env["MUJOCO_GL"] = value
            env.setdefault("PYOPENGL_PLATFORM", value)
            return value
    return None


GL_CHOSEN_ENV = "RL_AUG_GL_CHOSEN"  # set when rl-aug (not the user) chose MUJOCO_GL: a sweep does not forward it
_logger = logging.getLogger("rl_aug")


def ensure_backend() -> str | None:
    """`choose_backend` for the Python API, called where rl_aug's env layer is imported (rl_aug.envs,
    rl_aug.wrappers) so `envs.make(...)` renders headless with MUJOCO_GL unset, as the CLI does.

    Quiet by design: a backend chosen for the user is logged at INFO on the "rl_aug" logger (silent unless the
    user configures logging), since importing a library should not print. It warns only when it cannot help:
    MuJoCo was imported before with MUJOCO_GL unset and no display, so its renders would fail."""
    was_set = bool(os.environ.get("MUJOCO_GL"))
    chosen = choose_backend()
    if chosen and not was_set:
        os.environ[GL_CHOSEN_ENV] = "1"
        if "mujoco" in sys.modules or "dm_control" in sys.modules:
            warnings.warn(f"mujoco was imported before rl_aug with MUJOCO_GL unset and no display: rendering may "
                          f"fail; set MUJOCO_GL={chosen} before importing mujoco (or import rl_aug.envs first)",
                          RuntimeWarning, stacklevel=3)
        else:
            _logger.info("MUJOCO_GL was unset and no display was found: using MUJOCO_GL=%s", chosen)
    return chosen
