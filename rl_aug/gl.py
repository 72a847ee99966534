"""Pick a headless OpenGL backend for MuJoCo before anything imports it.

MuJoCo reads MUJOCO_GL once, at import. Unset on a machine without a display, it tries GLFW and every render
fails with "an OpenGL platform library has not been loaded". `choose_backend` keeps a value the user set,
and otherwise picks EGL, then OSMesa, by which library can be found, setting PYOPENGL_PLATFORM to match.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

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
