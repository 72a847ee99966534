"""The one episode loop, and a policy's evaluation under each shift on top of it.

`play` runs episodes side by side, one env per seed, with optional hooks on the batch of live observations
(before the policy: observation noise) and actions (after it: action noise, clipping); every evaluation in the
project (shift evaluation, the Trainer's, CCIL's noisy one, the pixel benchmark) is this loop with different
hooks, so episode boundaries, seeding and return accumulation mean the same thing everywhere.

Every shift replays the same episode seeds, so the task's initial states are identical across shifts and
the comparison between shifts is paired: a drop under `video_hard` is the rendering, not the luck of the draw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Policy = Callable[[Any], np.ndarray]
Hook = Callable[[Any], Any]  # a batch of observations or actions in, the same shape out
Episode = tuple[float, int, list]  # (undiscounted return, steps, frames)


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


def play(policy: Policy, envs: Sequence[Any], seeds: Sequence[int], *, batched: bool = True,
         observe: Hook | None = None, act: Hook | None = None, record: int = 0,
         on_episode: Callable[[int, float], None] | None = None) -> list[Episode]:
    """Run one episode per (env, seed) side by side; (return, length, frames) per seed, in order.

    Each step takes the live episodes' observations (in env order; stacked into one array when `batched`),
    passes them through `observe`, then to `policy` (one call on the batch when `batched`, else one call per
    observation, as the env returned it, so any observation type fits), then the actions through `act`, and
    steps each live env with its row; hooks draw their randomness in that order, so a hook holding a generator
    sees one draw per step for the live batch (unbatched, hooks get and return lists). Frames (`_frame` of the reset and of
    every step's observation) are kept for the first `record` episodes; `on_episode(index, return)` is called
    as each episode ends. The envs are not closed.
    """
    envs, seeds = list(envs), [int(s) for s in seeds]
    if len(envs) != len(seeds):
        raise ValueError(f"expected one env per seed, got {len(envs)} envs for {len(seeds)} seeds")
    obs = [env.reset(seed=s)[0] for env, s in zip(envs, seeds)]
    frames: list[list[np.ndarray]] = [[_frame(o)] if i < record else [] for i, o in enumerate(obs)]
    returns, lengths = [0.0] * len(envs), [0] * len(envs)
    alive = np.ones(len(envs), dtype=bool)
    while alive.any():
        live = np.flatnonzero(alive)
        batch = [obs[i] for i in live]
        if batched:
            batch = np.stack(batch)
        if observe is not None:
            batch = observe(batch)
        actions = policy(batch) if batched else [policy(o) for o in batch]
        if act is not None:
            actions = act(actions)
        for j, i in enumerate(live):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[j])
            returns[i] += float(reward)
            lengths[i] += 1
            if i < record:
                frames[i].append(_frame(obs[i]))
            if terminated or truncated:
                alive[i] = False
                if on_episode is not None:
                    on_episode(int(i), returns[i])
    return list(zip(returns, lengths, frames))


def run_episodes(policy: Policy, env: Any, seeds: Iterable[int], *, record: int = 0,
                 on_episode: Callable[[float], None] | None = None) -> list[Episode]:
    """`play` one episode after another on `env`, `policy` mapping one observation to one action:
    (return, length, frames) per seed; frames are kept for the first `record` episodes only (the reset's and
    every step's observation); `on_episode(return)` is called after each episode (progress)."""
    out: list[Episode] = []
    for i, seed in enumerate(seeds):
        out += play(policy, [env], [seed], batched=False, record=int(i < record))
        if on_episode is not None:
            on_episode(out[-1][0])
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
