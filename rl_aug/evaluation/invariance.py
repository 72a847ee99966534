"""Which invariances did an agent learn? How much its critic and actor move when an observation is augmented.

For states s (evaluation or replay observations) and each augmentation g, with a(s) the deterministic action:

    action change  = mean_s ||a(g(s)) - a(s)||_2 / sqrt(action_dim)           (RMS per action dimension, in [0, 2])
    Q change       = mean_s |Q(g(s), a(s)) - Q(s, a(s))|                       (the critic judging the same action)
    relative Q     = Q change / std_s Q(s, a(s))                                (1: as much as moving between states)

Q is the minimum of the two critics (what SAC and DrQ-v2 act against). Each augmentation is drawn `repeats` times
per state from one seeded generator, so the table is reproducible. It costs a few forward passes over a few hundred
states: seconds, no environment step. An agent trained with an augmentation should be nearly invariant to it; a
large change under an augmentation it never saw tells where it will fail under a distribution shift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rl_aug.augment import parse
from rl_aug.evaluation.report import write_csv
from rl_aug.files import atomic_path, write_text

# The registered ops a user meets in the strategies and the DMC-GB shifts they stand for.
DEFAULT_AUGMENTATIONS = ("shift(pad=4)", "conv", "overlay(alpha=0.5)", "color_jitter", "grayscale", "cutout",
                         "noise", "rotate")

Act = Callable[[Tensor], Tensor]  # (N, C, H, W) uint8 -> (N, A) deterministic actions
QValue = Callable[[Tensor, Tensor], Tensor]  # (obs, action) -> (N,) Q


@dataclass(frozen=True)
class InvarianceRow:
    augmentation: str
    action_change: float
    q_change: float
    relative_q_change: float
    states: int
    repeats: int


@torch.no_grad()
def invariance(act: Act, q_value: QValue, obs: Tensor,
               augmentations: Sequence[str | Callable[..., Tensor]] = DEFAULT_AUGMENTATIONS,
               repeats: int = 4, seed: int = 0, batch: int = 256) -> list[InvarianceRow]:
    """One row per augmentation (a spec string or a callable; see the module doc); `obs` is (N, C, H, W) uint8
    with N >= 2."""
    if not isinstance(obs, Tensor) or obs.dim() != 4 or obs.dtype != torch.uint8 or len(obs) < 2:
        got = f"{obs.dtype} {tuple(obs.shape)}" if isinstance(obs, Tensor) else type(obs).__name__
        raise ValueError(f"invariance: expected obs as a uint8 (N, C, H, W) tensor with N >= 2 states, got {got}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"invariance: expected repeats an int >= 1, got {repeats!r}")
    ops = {repr(op): op for op in map(parse, augmentations)}  # a bad spec fails here, before any work
    chunks = [obs[i:i + batch] for i in range(0, len(obs), batch)]
    actions = [act(c).float() for c in chunks]
    q = torch.cat([q_value(c, a).float().flatten() for c, a in zip(chunks, actions)])
    q_spread = float(q.std()) if len(q) > 1 else 0.0
    generator = torch.Generator(device=obs.device).manual_seed(seed)
    rows = []
    for spec, op in ops.items():
        action_sum, q_sum = 0.0, 0.0
        for _ in range(repeats):
            for c, a, q_c in zip(chunks, actions, torch.split(q, [len(c) for c in chunks])):
                x = op(c, generator=generator)
                action_sum += float((act(x).float() - a).norm(dim=1).div(a.shape[1] ** 0.5).sum())
                q_sum += float((q_value(x, a).float().flatten() - q_c).abs().sum())
        n = len(obs) * repeats
        q_change = q_sum / n
        rows.append(InvarianceRow(spec, action_sum / n, q_change,
                                  q_change / q_spread if q_spread > 0 else float("nan"), len(obs), repeats))
    return rows


class StateRecorder:
    """Wraps a policy `obs -> action` and keeps a seeded reservoir sample of the observations it is called on while
    `recording` is true: the evaluation states the invariance report runs on, at no extra environment step."""

    def __init__(self, policy: Callable, capacity: int = 256, seed: int = 0) -> None:
        self.policy, self.capacity = policy, int(capacity)
        self.rng = np.random.default_rng(seed)
        self.kept: list = []
        self.seen = 0
        self.recording = False

    def __call__(self, obs):
        if self.recording and self.capacity > 0:
            self.seen += 1
            if len(self.kept) < self.capacity:
                self.kept.append(obs.copy())
            else:
                j = int(self.rng.integers(self.seen))
                if j < self.capacity:
                    self.kept[j] = obs.copy()
        return self.policy(obs)

    def states(self) -> Tensor:
        return torch.as_tensor(np.stack(self.kept))


def agent_probe(agent: object) -> tuple[Act, QValue]:
    """The (act, q_value) pair of an rl-aug agent (SAC, DrQ-v2): eval-mode actions and the smaller critic."""

    def act(obs: Tensor) -> Tensor:
        return agent.act_batch(obs)  # type: ignore[attr-defined]

    def q_value(obs: Tensor, action: Tensor) -> Tensor:
        q1, q2 = agent.q_values(obs, action.to(agent.device))  # type: ignore[attr-defined]
        return torch.min(q1, q2)

    return act, q_value


def write_invariance(out_dir: str | Path, rows_by_run: Mapping[str, Sequence[InvarianceRow]],
                     states_from: str = "the given states") -> list[Path]:
    """invariance.csv (one row per run and augmentation), invariance.md (a table) and invariance.png (bars)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "invariance.csv", [{"run": run, **asdict(r)} for run, rows in rows_by_run.items() for r in rows])
    lines = ["# Invariance of the trained agents to each augmentation", "",
             ("Action change: RMS change of the deterministic action per dimension (actions in [-1, 1]). "
             "Q change: mean |Q(g(s), a(s)) - Q(s, a(s))|; relative: over the std of Q across the states "
             f"(rl_aug/evaluation/invariance.py). States: sampled from the episodes under {states_from}."), "",
             "| run | augmentation | action change | Q change | relative Q change |", "| --- | --- | --- | --- | --- |"]
    for run, rows in rows_by_run.items():
        lines += [f"| {run} | {r.augmentation} | {r.action_change:.3f} | {r.q_change:.3f} | "
                  f"{r.relative_q_change:.3f} |" for r in rows]
    write_text(out / "invariance.md", "\n".join(lines) + "\n")
    paths = [out / "invariance.csv", out / "invariance.md"]
    try:
        import matplotlib
    except ImportError:  # the table is the result; the plot needs the [eval] extra
        return paths
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    specs = list(dict.fromkeys(r.augmentation for rows in rows_by_run.values() for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.45 * len(specs) + 1.8), sharey=True)
    height = 0.8 / max(len(rows_by_run), 1)
    for i, (run, rows) in enumerate(rows_by_run.items()):
        by = {r.augmentation: r for r in rows}
        ys = [k + i * height for k in range(len(specs))]
        axes[0].barh(ys, [by[s].action_change if s in by else 0.0 for s in specs], height, label=run)
        axes[1].barh(ys, [by[s].relative_q_change if s in by else 0.0 for s in specs], height, label=run)
    axes[0].set_yticks([k + 0.4 - height / 2 for k in range(len(specs))], specs)
    axes[0].invert_yaxis()
    axes[0].set_xlabel("action change (RMS per dimension)")
    axes[1].set_xlabel("Q change / std of Q over states")
    axes[1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    with atomic_path(out / "invariance.png") as tmp:
        fig.savefig(tmp, dpi=120)
    plt.close(fig)
    return [*paths, out / "invariance.png"]
