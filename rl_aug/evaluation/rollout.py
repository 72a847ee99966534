"""Roll a policy out for a number of episodes under each shift.

Every shift replays the same episode seeds, so the task's initial states are identical across shifts and
the comparison between shifts is paired: a drop under `video_hard` is the rendering, not the luck of the draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Policy = Callable[[Any], np.ndarray]


@dataclass
class EpisodeResult:
    """One evaluation episode: who ran it (label, run), under which shift, with which seed, and its return."""

    label: str
    run: str
    shift: str
    episode: int
    seed: int
    episode_return: float
    length: int
    frames: list[np.ndarray] = field(default_factory=list, repr=False)  # HWC uint8, only when recorded


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """`episodes` independent reset seeds derived from `seed` (the same list for every shift)."""
    if episodes < 1:
        raise ValueError(f"expected episodes >= 1, got {episodes}")
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(episodes)]


def _frame(obs: Any) -> np.ndarray:
    """The newest RGB frame of a (3k, H, W) uint8 stack, as HWC for a video."""
    arr = np.asarray(obs)
    return np.ascontiguousarray(np.transpose(arr[-3:], (1, 2, 0)))


def run_episodes(policy: Policy, env: Any, seeds: Iterable[int], *, record: int = 0,
                 on_episode: Callable[[float], None] | None = None) -> list[tuple[float, int, list]]:
    """(return, length, frames) per seed; frames are kept for the first `record` episodes only;
    `on_episode(return)` is called after each episode (progress)."""
    out = []
    for i, seed in enumerate(seeds):
        obs, _ = env.reset(seed=int(seed))
        frames = [_frame(obs)] if i < record else []
        total, length, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(policy(obs))
            total += float(reward)
            length += 1
            done = bool(terminated or truncated)
            if i < record:
                frames.append(_frame(obs))
        out.append((total, length, frames))
        if on_episode is not None:
            on_episode(total)
    return out


def evaluate_shifts(policy: Policy, make_env: Callable[[str], Any], shifts: Iterable[str], *, episodes: int = 10,
                    seed: int = 0, label: str = "policy", run: str = "0", record: int = 0,
                    progress: Callable[[str], None] | None = None, bar: bool = False) -> list[EpisodeResult]:
    """Evaluate `policy` for `episodes` episodes on `make_env(shift)` for each shift; envs are closed after use.
    `progress(message)` gets one line per shift; `bar=True` shows a tqdm bar over shifts x episodes."""
    shifts = list(shifts)
    if not shifts:
        raise ValueError("expected at least one shift name (e.g. 'train'), got none")
    seeds = episode_seeds(seed, episodes)
    results: list[EpisodeResult] = []
    pbar = None
    if bar:
        from tqdm import tqdm

        pbar = tqdm(total=len(shifts) * len(seeds), desc=label, unit="episode", leave=False, dynamic_ncols=True)
    for shift in shifts:
        env = make_env(shift)
        if pbar is not None:
            pbar.set_postfix(shift=shift)
        try:
            rollouts = run_episodes(policy, env, seeds, record=record,
                                    on_episode=None if pbar is None else lambda _: pbar.update(1))
        finally:
            env.close()
        for i, (ret, length, frames) in enumerate(rollouts):
            results.append(EpisodeResult(label, run, shift, i, seeds[i], ret, length, frames))
        if progress is not None:
            mean = float(np.mean([r for r, _, _ in rollouts]))
            message = f"{label} {run} {shift}: {mean:.1f} over {len(rollouts)} episodes"
            if pbar is not None:
                with pbar.external_write_mode():
                    progress(message)
            else:
                progress(message)
    if pbar is not None:
        pbar.close()
    return results
