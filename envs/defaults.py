"""Per-task defaults from the literature: action repeat and camera.

Action repeat tables, by name (`envs.make(..., action_repeat="dmcgb")`):
- "planet": PlaNet benchmark as used by DrQ (Kostrikov et al. 2020, denisyarats/drq, config.yaml
  `action_repeat` per task, after the PlaNet benchmark of Hafner et al. 2019): cartpole 8, finger 2, walker 2,
  cheetah 4, reacher 4, ball_in_cup 4. Other domains fall back to 2, DrQ-v2's value for every task.
- "dmcgb": DMC-GB (Hansen & Wang 2021; nicklashansen/dmcontrol-generalization-benchmark, src/arguments.py
  `--action_repeat 4`; the SODA paper's hyperparameter table: finger 2, cartpole 8): 4 for every other task.
- "drqv2": DrQ-v2 (Yarats et al. 2021, drqv2/cfgs/config.yaml `action_repeat: 2`): 2 everywhere.
"""

from __future__ import annotations

ACTION_REPEAT_TABLES: dict[str, tuple[dict[str, int], int]] = {
    "planet": ({"cartpole": 8, "finger": 2, "walker": 2, "cheetah": 4, "reacher": 4, "ball_in_cup": 4}, 2),
    "dmcgb": ({"finger": 2, "cartpole": 8}, 4),
    "drqv2": ({}, 2),
}
DEFAULT_ACTION_REPEAT_TABLE = "planet"

# DrQ and DrQ-v2 render quadruped from camera 2 (the others from camera 0): drqv2/dmc.py `camera_id`.
CAMERA_BY_DOMAIN = {"quadruped": 2}

# DMC tasks last 1000 control steps (frames); action repeat n leaves 1000 / n agent steps.
EPISODE_FRAMES = 1000


def action_repeat(domain: str, table: str = DEFAULT_ACTION_REPEAT_TABLE) -> int:
    """The default action repeat of `domain` in one of ACTION_REPEAT_TABLES."""
    if table not in ACTION_REPEAT_TABLES:
        raise ValueError(f"expected an action repeat table in {sorted(ACTION_REPEAT_TABLES)}, got {table!r}")
    per_domain, fallback = ACTION_REPEAT_TABLES[table]
    return per_domain.get(domain, fallback)


def camera(domain: str) -> int:
    return CAMERA_BY_DOMAIN.get(domain, 0)
