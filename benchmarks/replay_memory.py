"""Replay memory and sampling cost: the frame-once buffer (agents.replay) against storing stacked obs and
next_obs per transition, the layout of DrQ's and DMC-GB's buffers.

    python benchmarks/replay_memory.py            # writes benchmarks/results/replay_memory.json

Bytes per transition count every storage array over the transitions it can hold, with the k extra frames
written at each episode start (DMC episodes: 1000 frames / action repeat agent steps).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from rl_aug.agents.replay import ReplayBuffer

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def measure(size: int = 84, stack: int = 3, action_dim: int = 6, episode_steps: int = 125,
            capacity: int = 20_000, batch: int = 128) -> dict[str, float]:
    obs_shape = (3 * stack, size, size)
    buffer = ReplayBuffer(obs_shape, action_dim, capacity, nstep=3, seed=0)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (3, size, size), dtype=np.uint8) for _ in range(64)]
    written = 0
    while buffer.num_frames + episode_steps + stack < capacity:
        window = [frames[written % 64]] * stack
        buffer.start_episode(np.concatenate(window))
        for t in range(episode_steps):
            window = window[1:] + [frames[(written + t + 1) % 64]]
            buffer.add(np.zeros(action_dim, np.float32), 0.0, np.concatenate(window), False, t == episode_steps - 1)
        written += episode_steps
    per_transition = buffer.nbytes() * (episode_steps + stack) / episode_steps / capacity
    naive = 2 * int(np.prod(obs_shape)) + 4 * action_dim + 4 + 4 + 1  # obs, next_obs, action, reward, discount, done
    buffer.sample(batch)
    start = time.perf_counter()
    reps = 50
    for _ in range(reps):
        buffer.sample(batch)
    sample_ms = (time.perf_counter() - start) / reps * 1000
    return {"size": size, "stack": stack, "action_dim": action_dim, "episode_steps": episode_steps,
            "bytes_per_transition": per_transition, "naive_bytes_per_transition": naive,
            "ratio_naive_over_ours": naive / per_transition, "batch": batch,
            "sample_ms_per_batch_nstep3": sample_ms}


def main() -> None:
    rows = [measure(episode_steps=125, action_dim=1), measure(episode_steps=500, action_dim=6),
            measure(episode_steps=250, action_dim=6, batch=256)]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "replay_memory.json").write_text(json.dumps(rows, indent=2) + "\n")
    for r in rows:
        print(f"84x84, k={r['stack']}, |A|={r['action_dim']}, {r['episode_steps']}-step episodes: "
              f"{r['bytes_per_transition']:.0f} B/transition vs {r['naive_bytes_per_transition']} B stacked "
              f"obs+next_obs ({r['ratio_naive_over_ours']:.2f}x less); sample {r['batch']} (n-step 3): "
              f"{r['sample_ms_per_batch_nstep3']:.1f} ms")


if __name__ == "__main__":
    main()
