"""Gymnasium observation-pipeline wrappers: pixels, frame stack, action repeat, augmentation, and the
generalization shifts (DMC-GB colours and video backgrounds, DCS-style camera), for any gymnasium env
(shifts: any MuJoCo-based env).

A typical pipeline, innermost first::

    env = ActionRepeat(env, 2)                 # agent steps of 2 frames
    env = ColorShift(env, "color_hard")        # shifts sit below the pixel renderer...
    env = PixelObservation(env, size=84)       # ...which draws them: uint8 (3, 84, 84)
    env = FrameStack(env, 3)                   # (9, 84, 84), accepted by stable-baselines3
"""

from rl_aug.extras import require
from rl_aug.gl import ensure_backend

ensure_backend()  # before any wrapper imports mujoco: headless rendering without MUJOCO_GL (rl_aug.gl)
require("gymnasium", "rl_aug.wrappers")
from rl_aug.wrappers.augment import AugmentObservation
from rl_aug.wrappers.camera import CameraShift
from rl_aug.wrappers.color import ColorShift
from rl_aug.wrappers.pixels import PixelObservation
from rl_aug.wrappers.repeat import ActionRepeat
from rl_aug.wrappers.scene import RENDER_QUALITY, SceneShift
from rl_aug.wrappers.seed import SeedFirstReset
from rl_aug.wrappers.shifts import ASSETS_ENV_VAR, SHIFTS, apply_shift, resolve_assets_dir
from rl_aug.wrappers.stack import FrameStack
from rl_aug.wrappers.video import VideoBackground

__all__ = [
    "ASSETS_ENV_VAR", "RENDER_QUALITY", "SHIFTS", "ActionRepeat", "AugmentObservation", "CameraShift",
    "ColorShift", "FrameStack", "PixelObservation", "SceneShift", "SeedFirstReset", "VideoBackground", "apply_shift",
    "resolve_assets_dir",
]
