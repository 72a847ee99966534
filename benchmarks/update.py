"""Updates per second of every agent x strategy, against a plain fp32 SAC+SVEA update in the DMC-GB style.

    .venv/bin/python benchmarks/update.py                # batch 128 on 9x84x84, writes benchmarks/results/update-<host>.json
    .venv/bin/python benchmarks/update.py --quick        # a smoke run (small images, few updates)

The reference (`ReferenceSVEA` below) is written here on purpose, to stand for how DMC-GB's SVEA updates
(nicklashansen/dmcontrol-generalization-benchmark, algorithms/svea.py + sac.py): the same networks as
agents.SAC, fp32 everywhere, contiguous (NCHW) tensors, observations turned to float before augmenting, a
float random shift (replicate pad 4 + grid_sample, the DrQ-v2 formulation), random_conv as a Python loop
over the samples, the clean and strong halves concatenated into one 2B critic batch, and the actor update
encoding obs twice (its own detached pass and the critic's pass), as DMC-GB's actor(obs, detach=True) and
critic(obs, pi, detach=True) do.

Ours: agents.SAC / agents.DrQV2 (bf16 autocast, channels_last) wrapped by rl_aug.strategies, uint8
augmentations, fused view batches. Ratios > 1 mean faster than the reference. The SVEA-vs-reference pair is
timed in interleaved rounds (median of rounds) so that load from other processes hits both alike.

An equivalence check comes first: with the augmentations replaced by the same deterministic functions in
both, our fp32 SVEA update reproduces the reference's losses, and our bf16 update stays close to them
(this is what "learning unchanged" rests on).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import socket
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]

from rl_aug.agents.drqv2 import DrQV2
from rl_aug.agents.networks import soft_update
from rl_aug.agents.sac import SAC

from rl_aug.host_memory import keep_freed_memory
from rl_aug.precision import native_bf16
from rl_aug.strategies import Batch, make

ACTION_DIM = 6  # walker / cheetah


# ---------------------------------------------------------------------------------------------- reference
def float_shift(x: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """Float random shift: replicate pad, then grid_sample at integer offsets (DrQ-v2's formulation)."""
    n, _, h, _w = x.shape
    x = F.pad(x, (pad, pad, pad, pad), mode="replicate")
    eps = 1.0 / (h + 2 * pad)
    arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad, device=x.device)[:h]
    arange = arange.unsqueeze(0).repeat(h, 1).unsqueeze(2)
    base_grid = torch.cat([arange, arange.transpose(1, 0)], dim=2).unsqueeze(0).repeat(n, 1, 1, 1)
    shift = torch.randint(0, 2 * pad + 1, size=(n, 1, 1, 2), device=x.device, dtype=x.dtype)
    shift *= 2.0 / (h + 2 * pad)
    return F.grid_sample(x, base_grid + shift, padding_mode="zeros", align_corners=False)


def float_conv_loop(x: torch.Tensor) -> torch.Tensor:
    """random_conv as DMC-GB runs it: one Python iteration per sample, float in and out."""
    n, c, h, w = x.shape
    out = []
    for i in range(n):
        weights = torch.randn(3, 3, 3, 3, device=x.device)
        frames = F.pad(x[i:i + 1].reshape(-1, 3, h, w) / 255.0, [1, 1, 1, 1], mode="replicate")
        out.append(torch.sigmoid(F.conv2d(frames, weights)) * 255.0)
    return torch.cat(out).reshape(n, c, h, w)


class ReferenceSVEA:
    """Plain fp32 SAC + SVEA update (alpha = beta = 0.5) on copies of an fp32, NCHW agents.SAC."""

    def __init__(self, sac: SAC, shift: Callable = float_shift, strong: Callable = float_conv_loop) -> None:
        self.encoder, self.critic, self.actor = (copy.deepcopy(m) for m in (sac.encoder, sac.critic, sac.actor))
        self.target_encoder = copy.deepcopy(sac.critic_target_encoder)
        self.critic_target = copy.deepcopy(sac.critic_target)
        self.log_alpha = torch.nn.Parameter(sac.log_alpha.detach().clone())  # on the agent's device
        self.target_entropy = sac.target_entropy
        self.critic_opt = torch.optim.Adam([*self.encoder.parameters(), *self.critic.parameters()], lr=1e-3)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=1e-3)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=1e-3, betas=(0.9, 0.999))
        self.shift, self.strong = shift, strong
        self.alpha_w = self.beta_w = 0.5

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        obs = self.shift(batch.obs.float())
        next_obs = self.shift(batch.next_obs.float())
        with torch.no_grad():
            dist = self.actor(self.encoder(next_obs))
            next_action = dist.rsample()
            log_prob = dist.log_prob(next_action).sum(-1, keepdim=True)
            tq1, tq2 = self.critic_target(self.target_encoder(next_obs), next_action)
            target = batch.reward + batch.discount * (torch.min(tq1, tq2) - self.log_alpha.exp() * log_prob)
        both = torch.cat([obs, self.strong(obs.clone())])
        q1, q2 = self.critic(self.encoder(both), torch.cat([batch.action, batch.action]))
        y = torch.cat([target, target])
        critic_loss = (self.alpha_w + self.beta_w) * (F.mse_loss(q1, y) + F.mse_loss(q2, y))
        self.critic_opt.zero_grad(set_to_none=True)
        critic_loss.backward()
        self.critic_opt.step()
        out = {"critic_loss": critic_loss.item()}
        if step % 2 == 0:
            dist = self.actor(self.encoder(obs).detach())
            action = dist.rsample()
            log_prob = dist.log_prob(action).sum(-1, keepdim=True)
            aq1, aq2 = self.critic(self.encoder(obs).detach(), action)
            alpha = self.log_alpha.exp()
            actor_loss = (alpha.detach() * log_prob - torch.min(aq1, aq2)).mean()
            alpha_loss = (alpha * (-log_prob - self.target_entropy).detach()).mean()
            self.actor_opt.zero_grad(set_to_none=True)
            self.alpha_opt.zero_grad(set_to_none=True)
            (actor_loss + alpha_loss).backward()
            self.actor_opt.step()
            self.alpha_opt.step()
            out["actor_loss"] = actor_loss.item()
            soft_update(self.critic_target, self.critic, 0.01)
            soft_update(self.target_encoder, self.encoder, 0.01)
        return out


# ---------------------------------------------------------------------------------------------- helpers
def make_batch(n: int, shape: tuple[int, int, int], seed: int, device: str = "cpu") -> Batch:
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "obs": torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
        "action": torch.rand((n, ACTION_DIM), generator=g) * 2 - 1,
        "reward": torch.rand((n, 1), generator=g),
        "discount": torch.full((n, 1), 0.99),
        "next_obs": torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8),
    }
    return Batch(**{k: v.to(device) for k, v in tensors.items()})


def synchronize() -> None:
    """Wait for queued GPU work, so wall time counts it (a no-op on the CPU)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def time_updates(update: Callable[[int], Any], n: int, warmup: int, start: int = 1) -> tuple[float, float]:
    """Mean (wall ms, process CPU ms) per update over n updates (n even: SAC's actor runs every other update).

    CPU time counts only this process's threads, so it is far less disturbed than wall time when other jobs
    share the cores; on an idle machine wall ~= CPU / threads.
    """
    for step in range(start, start + warmup):
        update(step)
    synchronize()
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(start + warmup, start + warmup + n):
        update(step)
    synchronize()
    return (time.perf_counter() - t0) * 1000.0 / n, (time.process_time() - c0) * 1000.0 / n


def build(agent_name: str, shape: tuple[int, int, int], precision: str = "auto", channels_last: bool = True,
          device: str = "cpu", encoder: str = "conv"):
    cls = {"sac": SAC, "drqv2": DrQV2}[agent_name]
    return cls(shape, ACTION_DIM, precision=precision, channels_last=channels_last, device=device, encoder=encoder)


def strategy_options(name: str, batch: int) -> dict[str, Any]:
    if name == "rad":
        return {"aug": "shift(pad=4)"}  # RAD's crop on 84x84 inputs would be the identity
    if name == "soda":
        return {"aux_batch": 2 * batch}
    return {}


# ---------------------------------------------------------------------------------------------- equivalence
def equivalence(shape: tuple[int, int, int], n: int, steps: int, device: str = "cpu") -> dict[str, Any]:
    """Reference vs our SVEA with the same deterministic augmentations; losses step by step."""

    def roll_shift(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return torch.roll(x, shifts=(1, -2), dims=(-2, -1))

    def invert(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return 255 - x

    out: dict[str, Any] = {}
    torch.manual_seed(0)
    base = build("sac", shape, precision="fp32", channels_last=False, device=device)
    batches = [make_batch(n, shape, seed=100 + i, device=device) for i in range(steps)]
    reference = ReferenceSVEA(base, shift=lambda x: roll_shift(x), strong=lambda x: invert(x))
    torch.manual_seed(1)
    ref_losses = [reference.update(b, step)["critic_loss"] for step, b in enumerate(batches, start=1)]
    for precision, channels_last in (("fp32", False), ("bf16", True)):
        # The same weights in this precision and memory format (the reference's copies are fp32, NCHW).
        agent = build("sac", shape, precision=precision, channels_last=channels_last, device=device)
        agent.load_state_dict(base.state_dict())
        strategy = make("svea", weak=roll_shift, strong=invert, seed=0)
        strategy.attach(agent)
        torch.manual_seed(1)
        losses = [strategy.update(agent, b, step)["critic_total_loss"] for step, b in enumerate(batches, start=1)]
        rel = [abs(a - b) / max(abs(b), 1e-12) for a, b in zip(losses, ref_losses)]
        out[precision] = {"critic_losses": losses, "max_rel_diff_vs_reference": max(rel)}
    out["reference_critic_losses"] = ref_losses
    return out


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=84)
    parser.add_argument("--frames", type=int, default=3, help="stacked RGB frames (channels = 3 * frames)")
    parser.add_argument("--updates", type=int, default=4, help="timed updates per configuration (even)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds for reference vs ours SVEA")
    parser.add_argument("--agents", default="sac,drqv2")
    parser.add_argument("--strategies", default="none,drq,rad,svea,soda,tangent_prop,actor_kl")
    parser.add_argument("--quick", action="store_true", help="smoke run: 32x32 images, batch 16, 2 updates")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (agents, batches and the reference on it)")
    parser.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                        help="ours (the reference is always fp32); auto: bf16 only where the hardware has it")
    parser.add_argument("--malloc", default="keep", choices=("keep", "default"),
                        help="keep: glibc keeps freed memory, as `rl-aug train` does on the CPU (rl_aug/host_memory.py; "
                             "process-wide, so the reference gets it too); default: glibc's own settings")
    parser.add_argument("--encoder", default="conv", choices=("conv", "vit"),
                        help="our agents' image encoder (agent.encoder; the ViT with its default vit_* settings); "
                             "the reference stays DMC-GB's conv SAC")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    dev = args.device
    kept = args.malloc == "keep" and keep_freed_memory()
    if args.quick:
        args.batch, args.size, args.updates, args.warmup, args.rounds = 16, 32, 2, 1, 1
    shape = (3 * args.frames, args.size, args.size)
    torch.manual_seed(0)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {args.batch}, images {shape}, "
          f"device {dev}, malloc {'keep' if kept else 'default'}")
    eq = equivalence(shape, min(args.batch, 32), steps=4, device=dev)
    print(f"equivalence (same deterministic augs, 4 updates): fp32 max rel diff "
          f"{eq['fp32']['max_rel_diff_vs_reference']:.2e}, bf16 {eq['bf16']['max_rel_diff_vs_reference']:.2e}")

    batch = make_batch(args.batch, shape, seed=0, device=dev)

    # reference vs ours SVEA on SAC, interleaved
    torch.manual_seed(0)
    reference = ReferenceSVEA(build("sac", shape, precision="fp32", channels_last=False, device=dev))
    sac = build("sac", shape, precision=args.precision, device=dev, encoder=args.encoder)
    svea = make("svea")
    svea.attach(sac)
    ref_t, ours_t = [], []
    for _ in range(args.rounds):
        ref_t.append(time_updates(lambda s: reference.update(batch, s), args.updates, args.warmup))
        ours_t.append(time_updates(lambda s: svea.update(sac, batch, s), args.updates, args.warmup))
    reference_ms = statistics.median(w for w, _ in ref_t)
    reference_cpu = statistics.median(c for _, c in ref_t)
    svea_ms = statistics.median(w for w, _ in ours_t)
    svea_cpu = statistics.median(c for _, c in ours_t)
    print(f"reference fp32 SAC+SVEA (DMC-GB style): wall {reference_ms:8.1f} ms, cpu {reference_cpu:8.1f} ms/update"
          f"  rounds wall {[round(w) for w, _ in ref_t]}")
    print(f"ours      SAC+SVEA ({sac.precision}, uint8 augs):  wall {svea_ms:8.1f} ms, cpu {svea_cpu:8.1f} ms/update"
          f"  rounds wall {[round(w) for w, _ in ours_t]}"
          f"  -> {reference_ms / svea_ms:.2f}x wall, {reference_cpu / svea_cpu:.2f}x cpu")

    rows = []
    print(f"\n{'agent':<7} {'strategy':<13} {'wall ms':>9} {'cpu ms':>9} {'updates/s':>10} {'vs ref wall':>12} "
          f"{'vs ref cpu':>11}")
    for agent_name in args.agents.split(","):
        for name in args.strategies.split(","):
            if agent_name == "sac" and name == "svea":
                ms, cpu = svea_ms, svea_cpu
            else:
                torch.manual_seed(0)
                agent = build(agent_name, shape, precision=args.precision, device=dev, encoder=args.encoder)
                strategy = make(name, **strategy_options(name, args.batch))
                strategy.attach(agent)
                ms, cpu = time_updates(lambda s, a=agent, st=strategy: st.update(a, batch, s), args.updates,
                                       args.warmup)
            counted = sac if agent_name == "sac" else build(agent_name, shape, precision="fp32", device="cpu",
                                                             encoder=args.encoder)
            row = {"agent": agent_name, "encoder": args.encoder,
                   "encoder_parameters": sum(p.numel() for p in counted.encoder.parameters()),
                   "agent_parameters": sum(p.numel() for m in counted.modules().values() for p in m.parameters()),
                   "strategy": name if name != "rad" else "rad(shift)", "ms_per_update": ms,
                   "cpu_ms_per_update": cpu, "updates_per_s": 1000.0 / ms,
                   "speedup_vs_reference": reference_ms / ms, "cpu_speedup_vs_reference": reference_cpu / cpu}
            rows.append(row)
            print(f"{agent_name:<7} {row['strategy']:<13} {ms:9.1f} {cpu:9.1f} {1000.0 / ms:10.2f} "
                  f"{reference_ms / ms:11.2f}x {reference_cpu / cpu:10.2f}x", flush=True)

    result = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "host": socket.gethostname(),
        "machine": platform.processor() or platform.machine(),
        "device": dev,
        "gpu": torch.cuda.get_device_name() if dev.startswith("cuda") else None,
        "cpu_count": os.cpu_count(),
        "native_bf16": native_bf16(dev),
        "precision": sac.precision,
        "encoder": args.encoder,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "malloc": "keep" if kept else "default",
        "batch": args.batch,
        "obs_shape": list(shape),
        "updates_timed": args.updates,
        "rounds": args.rounds,
        "reference": {"name": "fp32 SAC+SVEA, DMC-GB style", "ms_per_update": reference_ms,
                      "cpu_ms_per_update": reference_cpu, "rounds_wall_cpu_ms": ref_t},
        "svea_sac_rounds_wall_cpu_ms": ours_t,
        "rows": rows,
        "equivalence": eq,
        "note": "measured on a shared machine; other jobs may have run concurrently",
    }
    out = args.out or ROOT / "benchmarks" / "results" / f"update-{socket.gethostname()}{'-quick' if args.quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
