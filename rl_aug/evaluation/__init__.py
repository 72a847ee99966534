"""Generalization evaluation: roll a policy out under each shift, aggregate over runs, write tables and plots.

    from rl_aug.evaluation import evaluate_shifts, aggregate, write_report
    results = evaluate_shifts(policy, make_env, ["train", "color_hard", "video_easy"], episodes=10, seed=0)
    write_report(out_dir, results)      # returns.csv, summary.csv, report.md, shifts.png

`policy` maps one observation to one action; `make_env(shift)` builds the env for a shift name. Nothing
here knows our agents or envs, so any gymnasium env and any policy fit (an SB3 model:
`lambda obs: model.predict(obs, deterministic=True)[0]`).
`rl-aug evaluate RUN_DIR ...` wires it to run directories written by `rl-aug train`. `play` is the one episode
loop (every evaluation in the project runs on it); `aggregate` is the one statistics module.
"""

from rl_aug.evaluation.aggregate import (
    Interval,
    aggregate,
    iqm,
    mean_and_standard_error,
    paired_difference,
    stratified_bootstrap,
)
from rl_aug.evaluation.report import write_report
from rl_aug.evaluation.rollout import EpisodeResult, episode_seeds, evaluate_shifts, play, run_episodes

__all__ = [
    "EpisodeResult", "Interval", "aggregate", "episode_seeds", "evaluate_shifts", "iqm", "mean_and_standard_error",
    "paired_difference", "play", "run_episodes", "stratified_bootstrap", "write_report",
]
