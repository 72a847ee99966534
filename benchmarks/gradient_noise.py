"""How much do bf16 convs and a batch of 128 perturb the critic update of a trained run?

A diagnostic for the learning benchmark (why a DrQ seed lands below the paper's band) that needs no new
training run: it loads a run directory written by `rl-aug train` (agent and replay), then compares critic
gradients (encoder + critic, the strategy's whole critic loss with its augmentations and target) on the same
replay:

- precision error: bf16 vs fp32 on the same minibatch, same augmentations, same sampled target actions;
- sampling noise: minibatch gradients (batch 128 and 512, fp32) against a reference gradient averaged over
  `--ref-samples` transitions in fp32.

If bf16's error is small against the minibatch noise at batch 128, the precision is not what separates a
batch-128 bf16 run from the paper's batch-512 fp32 runs; the batch-size rows say how much closer to the
reference direction a batch of 512 gets.

    python benchmarks/gradient_noise.py runs/benchmarks/learning/cartpole-swingup/drq/seed1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rl_aug.agents import checkpoint
from rl_aug.agents.config import make_strategy
from rl_aug.agents.replay import ReplayBuffer
from torch import Tensor

from rl_aug.strategies.protocol import Batch

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def load_run(run_dir: Path) -> tuple[Any, Any, ReplayBuffer, Any, int]:
    """(agent, strategy, replay, run config, agent step) of a run directory, in training mode."""
    found = checkpoint.find(run_dir / "checkpoint")
    if found is None:
        raise FileNotFoundError(f"expected a checkpoint under {run_dir / 'checkpoint'} (written by `rl-aug train`)")
    with np.load(found / checkpoint.REPLAY_FILE, allow_pickle=False) as data:
        layout = ReplayBuffer.saved_layout(data)
    obs_shape, action_dim = (layout["channels"], layout["height"], layout["width"]), layout["action_dim"]
    agent, cfg, step = checkpoint.load_agent(run_dir, obs_shape, action_dim)
    agent.train(True)
    replay = ReplayBuffer(obs_shape, action_dim, layout["capacity"], nstep=int(cfg.agent.nstep),
                          discount=float(cfg.agent.discount), seed=0)
    replay.load(found / checkpoint.REPLAY_FILE)
    strategy = make_strategy(cfg)
    strategy.attach(agent)
    return agent, strategy, replay, cfg, step


def critic_params(agent: Any) -> dict[str, list[Tensor]]:
    convs = list(agent.encoder.parameters())
    return {"convs": convs, "all": [*convs, *agent.critic.parameters()]}


def critic_gradient(agent: Any, strategy: Any, batch: Batch, step: int, precision: str, seed: int) -> dict[str, Tensor]:
    """Flattened gradient of the strategy's critic loss, with augmentations and target actions fixed by `seed`."""
    agent.precision = precision
    torch.manual_seed(seed)
    strategy.generator.manual_seed(seed)
    loss = strategy.critic_loss(agent, batch, step)[0]  # draws the views, then the target, as `update` does
    params = critic_params(agent)
    grads = torch.autograd.grad(loss, params["all"])
    flat = [g.flatten() for g in grads]
    return {"convs": torch.cat(flat[:len(params["convs"])]), "all": torch.cat(flat)}


def cosine(a: Tensor, b: Tensor) -> float:
    return float(torch.nn.functional.cosine_similarity(a.double(), b.double(), dim=0))


def rel_error(a: Tensor, ref: Tensor) -> float:
    return float((a.double() - ref.double()).norm() / ref.double().norm())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--ref-samples", type=int, default=4096, help="transitions in the fp32 reference gradient")
    parser.add_argument("--repeats", type=int, default=6, help="minibatches per row")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results/gradient_noise_<task>.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    t0 = time.time()
    agent, strategy, replay, cfg, step = load_run(args.run_dir)
    torch.manual_seed(0)

    chunk = 128
    ref = {"convs": 0.0, "all": 0.0}
    n_chunks = max(1, args.ref_samples // chunk)
    for i in range(n_chunks):
        g = critic_gradient(agent, strategy, replay.sample(chunk), step, "fp32", seed=10_000 + i)
        ref = {k: ref[k] + g[k] / n_chunks for k in ref}
    print(f"reference gradient: {n_chunks * chunk} transitions, fp32 ({time.time() - t0:.0f} s)", flush=True)

    rows: dict[str, dict[str, list[float]]] = {}

    def add(name: str, part: str, key: str, value: float) -> None:
        rows.setdefault(name, {}).setdefault(f"{key}_{part}", []).append(value)

    for r in range(args.repeats):
        small = replay.sample(128)
        g32 = critic_gradient(agent, strategy, small, step, "fp32", seed=r)
        g16 = critic_gradient(agent, strategy, small, step, "bf16", seed=r)
        big = replay.sample(512)
        g512 = critic_gradient(agent, strategy, big, step, "fp32", seed=100 + r)
        pairs = {"bf16 vs fp32, same batch 128": (g16, g32), "batch 128 fp32 vs reference": (g32, ref),
                 "batch 128 bf16 vs reference": (g16, ref), "batch 512 fp32 vs reference": (g512, ref)}
        for name, (a, b) in pairs.items():
            for part in ("convs", "all"):
                add(name, part, "cos", cosine(a[part], b[part]))
                add(name, part, "rel_err", rel_error(a[part], b[part]))
        print(f"repeat {r + 1}/{args.repeats} ({time.time() - t0:.0f} s)", flush=True)

    summary = {name: {k: float(np.mean(v)) for k, v in cols.items()} for name, cols in rows.items()}
    print(f"\nrun {args.run_dir} at agent step {step}; mean over {args.repeats} minibatches")
    print(f"{'comparison':34s} {'cos convs':>10s} {'cos all':>8s} {'rel err convs':>14s} {'rel err all':>12s}")
    for name, s in summary.items():
        print(f"{name:34s} {s['cos_convs']:10.4f} {s['cos_all']:8.4f} {s['rel_err_convs']:14.3f} {s['rel_err_all']:12.3f}")
    out = args.out or RESULTS / f"gradient_noise_{cfg.task.name.replace('-', '_')}_{cfg.strategy.name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"task": cfg.task.name, "agent": cfg.agent.name, "strategy": cfg.strategy.name,
              "batch_size_trained": int(cfg.agent.batch_size), "agent_step": step, "ref_samples": n_chunks * chunk,
              "repeats": args.repeats, "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
              f"{torch.get_num_threads()} threads, torch {torch.__version__}", "summary": summary, "rows": rows,
              "seconds": round(time.time() - t0, 1)}
    out.write_text(json.dumps(record, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
