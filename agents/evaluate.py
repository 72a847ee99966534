"""`evaluate_run`: the episodes of one trained run under the generalization shifts (and, optionally, its
invariance rows), the library function behind `rl-aug evaluate` and `rl-aug sweep --evaluate-shifts`.

Why here, in the harness and not in the CLI: a sweep's Ray tasks (agents/ray_tune.py) run it too, and the harness
never imports the command line.
"""

from __future__ import annotations

from pathlib import Path

from rl_aug.agents.policy import load_policy
from rl_aug.envs.custom import is_custom

from rl_aug.evaluation import EpisodeResult, evaluate_shifts
from rl_aug.evaluation.invariance import StateRecorder, agent_probe, invariance
from rl_aug.evaluation.runs_report import method_label


def evaluate_run(run_dir: Path, shifts: list[str], *, episodes: int = 10, seed: int = 0, assets_dir: str | None = None,
                 videos: int = 0, bar: bool = False, frame: int | None = None, invariance_states: int = 0,
                 invariance_augs: tuple[str, ...] = ()) -> tuple[list[EpisodeResult], list]:
    """(episodes, invariance rows) of one trained run (its config and last checkpoint, or its snapshot at `frame`):
    the episodes under each shift, a list of rl_aug.evaluation EpisodeResult labelled "<task> <method>" so runs of one method group as
    seeds. Raises FileNotFoundError for a folder that is not a run directory or holds no checkpoint (or no
    snapshot at `frame`). (`rl-aug sweep --evaluate-shifts` runs this per run as a Ray task.) The invariance rows
    are rl_aug.evaluation.invariance on `invariance_states` states of the first shift's episodes (none when 0)."""
    run_dir = Path(run_dir)
    policy = load_policy(run_dir, frame=frame)
    cfg, task = policy.config, policy.config.task
    recorder = StateRecorder(policy, capacity=invariance_states, seed=seed)

    def make_env(shift: str):  # "train": whatever the run trained on (task.shift, usually none)
        recorder.recording = shift == shifts[0]
        return policy.make_env(shift=shift, assets_dir=assets_dir)

    if is_custom(task):  # your own env: a shift that cannot apply is refused before any episode runs
        for shift in shifts:
            if shift not in ("train", "none"):
                make_env(shift).close()

    results = evaluate_shifts(recorder, make_env, shifts, episodes=episodes, seed=seed,
                              label=f"{task.name} {method_label(cfg)}",
                              run=f"{run_dir} (seed {cfg.seed}, {policy.frame} frames)",
                              record=videos, progress=print, bar=bar)
    if len(recorder.kept) < 2:  # invariance_states 0 (or fewer than 2 states seen): no report
        return results, []
    return results, invariance(*agent_probe(policy.agent), recorder.states().to(policy.agent.device),
                               invariance_augs, seed=seed)
