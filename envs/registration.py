"""Gymnasium ids for every dm_control suite task: `gymnasium.make("rl_aug/dmc-walker-walk-v0", **kwargs)`.

Registration only records names (no dm_control import); `gymnasium.make` calls `envs.make` with the task
and the keyword arguments given to it. No TimeLimit is added: the task itself truncates after 1000 frames.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
from rl_aug.envs.dmc import make

NAMESPACE = "rl_aug"

# The suite's domain-task pairs, listed so that registering them needs no dm_control import
# (dm_control 1.0.x `suite.ALL_TASKS`; tests check this list against the installed suite).
SUITE_TASKS: tuple[tuple[str, str], ...] = (
    ("acrobot", "swingup"), ("acrobot", "swingup_sparse"), ("ball_in_cup", "catch"), ("cartpole", "balance"),
    ("cartpole", "balance_sparse"), ("cartpole", "swingup"), ("cartpole", "swingup_sparse"),
    ("cartpole", "two_poles"), ("cartpole", "three_poles"), ("cheetah", "run"), ("dog", "fetch"),
    ("dog", "run"), ("dog", "stand"), ("dog", "trot"), ("dog", "walk"), ("finger", "spin"),
    ("finger", "turn_easy"), ("finger", "turn_hard"), ("fish", "upright"), ("fish", "swim"),
    ("hopper", "stand"), ("hopper", "hop"), ("humanoid", "stand"), ("humanoid", "walk"), ("humanoid", "run"),
    ("humanoid", "run_pure_state"), ("humanoid_CMU", "stand"), ("humanoid_CMU", "walk"), ("humanoid_CMU", "run"),
    ("lqr", "lqr_2_1"), ("lqr", "lqr_6_2"), ("manipulator", "bring_ball"), ("manipulator", "bring_peg"),
    ("manipulator", "insert_ball"), ("manipulator", "insert_peg"), ("pendulum", "swingup"),
    ("point_mass", "easy"), ("point_mass", "hard"), ("quadruped", "walk"), ("quadruped", "run"),
    ("quadruped", "escape"), ("quadruped", "fetch"), ("reacher", "easy"), ("reacher", "hard"),
    ("stacker", "stack_2"), ("stacker", "stack_4"), ("swimmer", "swimmer6"), ("swimmer", "swimmer15"),
    ("walker", "stand"), ("walker", "walk"), ("walker", "run"),
)


def env_id(domain: str, task: str) -> str:
    return f"{NAMESPACE}/dmc-{domain}-{task}-v0"


def _entry_point(task: str, **kwargs: Any) -> gym.Env:
    return make(task, **kwargs)


def register_suite() -> None:
    """Register every suite task once (idempotent)."""
    for domain, task in SUITE_TASKS:
        name = env_id(domain, task)
        if name not in gym.registry:
            gym.register(id=name, entry_point="rl_aug.envs.registration:_entry_point",
                         kwargs={"task": f"{domain}-{task}"}, disable_env_checker=False)
