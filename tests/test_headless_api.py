"""The Python API renders headless with MUJOCO_GL unset, as the CLI does (rl_aug.gl.ensure_backend on import of
rl_aug.envs / rl_aug.wrappers), keeps a MUJOCO_GL the user set, and prints nothing on import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GL_VARS = ("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY", "RL_AUG_GL_CHOSEN")


def _run(code: str, **extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GL_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return subprocess.run([sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300)


def test_envs_make_renders_and_steps_headless_without_mujoco_gl_and_prints_nothing():
    code = """
import json, os
import numpy as np
from rl_aug import envs
env = envs.make("cartpole-balance", seed=0, size=32, frame_stack=1, action_repeat=1)
first, _ = env.reset()
obs, reward, terminated, truncated, _ = env.step(np.zeros(env.action_space.shape, np.float32))
env.close()
print(json.dumps({"shape": list(obs.shape), "dtype": str(obs.dtype), "std": float(obs.std()),
                  "first_std": float(first.std()), "gl": os.environ.get("MUJOCO_GL")}))
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["shape"] == [3, 32, 32] and got["dtype"] == "uint8"
    assert got["std"] > 5 and got["first_std"] > 5  # a drawn scene, not a blank frame
    assert got["gl"] in ("egl", "osmesa")
    assert "MUJOCO_GL" not in done.stderr  # no notice on import (the CLI says it; the API logs it at INFO)


def test_importing_the_env_layer_picks_a_backend_and_keeps_a_users():
    code = """
import json, os
import rl_aug.wrappers
print(json.dumps({k: os.environ.get(k) for k in ("MUJOCO_GL", "PYOPENGL_PLATFORM", "RL_AUG_GL_CHOSEN")}))
"""
    chosen = _run(code)
    assert chosen.returncode == 0, chosen.stderr[-2000:]
    got = json.loads(chosen.stdout.strip().splitlines()[-1])
    assert got["MUJOCO_GL"] in ("egl", "osmesa") and got["PYOPENGL_PLATFORM"] == got["MUJOCO_GL"]
    assert got["RL_AUG_GL_CHOSEN"] == "1"  # chosen here, not by the user: a sweep does not forward it
    assert chosen.stderr == ""
    kept = _run(code.replace("rl_aug.wrappers", "rl_aug.envs"), MUJOCO_GL="osmesa")
    assert kept.returncode == 0, kept.stderr[-2000:]
    got = json.loads(kept.stdout.strip().splitlines()[-1])
    assert got == {"MUJOCO_GL": "osmesa", "PYOPENGL_PLATFORM": None, "RL_AUG_GL_CHOSEN": None}


def test_mujoco_imported_first_without_a_backend_is_warned_about_once():
    code = """
import warnings
warnings.simplefilter("default")
import mujoco
import rl_aug.envs, rl_aug.wrappers
"""
    done = _run(code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("RuntimeWarning: mujoco was imported before rl_aug with MUJOCO_GL unset") == 1
    assert "set MUJOCO_GL=egl before importing mujoco" in done.stderr or "MUJOCO_GL=osmesa" in done.stderr
