"""Environment factories: the dm_control suite as gymnasium envs with pixel pipelines and registered ids.

    from rl_aug import envs
    env = envs.make("walker-walk", seed=0)            # Box uint8 (9, 84, 84), action repeat 2, fast render
    env = envs.make("cartpole-swingup", shift="color_hard", assets_dir="path/to/dmcgb")
    env = gymnasium.make("rl_aug/dmc-walker-walk-v0", size=64)   # same factory, registered id
    env = envs.make_custom(id="InvertedPendulum-v5", seed=0)   # your own env: pixels from its render

Every suite domain-task is registered as `rl_aug/dmc-<domain>-<task>-v0` when `envs` is imported.
"""

from __future__ import annotations

from typing import Any

from rl_aug.extras import require
from rl_aug.gl import ensure_backend

ensure_backend()  # before anything imports mujoco / dm_control: headless rendering without MUJOCO_GL (rl_aug.gl)
gym = require("gymnasium", "rl_aug.envs")

from rl_aug.envs.custom import make_custom, make_task
from rl_aug.envs.defaults import (
    ACTION_REPEAT_TABLES,
    CAMERA_BY_DOMAIN,
    DEFAULT_ACTION_REPEAT_TABLE,
    EPISODE_FRAMES,
)
from rl_aug.envs.dmc import OBSERVATIONS, make, parse_task, suite_tasks, task_name
from rl_aug.envs.registration import env_id, register_suite

__all__ = [
    "ACTION_REPEAT_TABLES", "CAMERA_BY_DOMAIN", "DEFAULT_ACTION_REPEAT_TABLE", "EPISODE_FRAMES", "OBSERVATIONS",
    "TASKS", "env_id", "make", "make_custom", "make_task", "parse_task", "register_suite",
]


def __getattr__(name: str) -> Any:
    if name == "TASKS":  # computed on first use: listing tasks imports dm_control
        return [task_name(d, t) for d, t in suite_tasks()]
    raise AttributeError(name)


register_suite()
