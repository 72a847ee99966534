"""The contract between augmentation strategies and agents (see design.md, "The agent protocol").

An off-policy actor-critic exposes its losses as separate, pure pieces; a strategy decides which
(augmented) observations each piece sees. The same strategy object therefore wraps our SAC, our DrQ-v2
and, through an adapter, stable-baselines3's SAC.

Conventions
- Observations reaching the agent are image tensors (N, C, H, W), uint8 or float in [0, 255]; the agent
  scales them itself (SAC: x/255, DrQ-v2: x/255 - 0.5). Strategies augment in uint8 where they can.
- `reward` and `discount` are (N, 1) float tensors; `discount` already holds gamma^n * (1 - terminated)
  for an n-step transition, so `td_target` computes `reward + discount * V(next_obs)`.
- Losses are returned as scalar tensors with their graph; the strategy sums what it needs and calls
  `optimize(loss, which)`, which zeroes, back-propagates and steps the optimizers of that part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

Part = Literal["critic", "actor"]


@dataclass
class Batch:
    """One sampled minibatch, already on the agent's device."""

    obs: Tensor  # (N, C, H, W) uint8
    action: Tensor  # (N, A) float
    reward: Tensor  # (N, 1) float, n-step discounted sum of rewards
    discount: Tensor  # (N, 1) float, gamma^n * (1 - terminated)
    next_obs: Tensor  # (N, C, H, W) uint8
    # Optional images for auxiliary losses (SODA), sampled independently of the transitions as DMC-GB does.
    # None: strategies draw them from obs and next_obs of this batch (see rl_aug.strategies.soda).
    aux_obs: Tensor | None = None  # (N_aux, C, H, W) uint8

    def __len__(self) -> int:
        return self.obs.shape[0]


@runtime_checkable
class ActorCritic(Protocol):
    """What a strategy may call on an agent. Implemented by agents.SAC and agents.DrQV2."""

    device: torch.device
    encoder: nn.Module  # shared image encoder, trained by the critic only (actor sees detached features)
    critic_target_encoder: nn.Module | None  # encoder used for targets (None: the online encoder, DrQ-v2)
    actor_update_every: int  # actor (and temperature) updated every this many updates
    target_update_every: int  # target networks updated every this many updates

    def encode(self, obs: Tensor) -> Tensor:
        """Features (N, F) of images in [0, 255] through the online encoder, with grad."""
        ...

    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        """(N, 1) bootstrapped target from the agent's own backup; computed under no_grad."""
        ...

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        """(Q1, Q2), each (N, 1), with grad through the encoder and the critic heads."""
        ...

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float]]:
        """MSE(Q1, y) + MSE(Q2, y) on the given observations, plus metrics (q mean, loss)."""
        ...

    def policy(self, obs: Tensor, step: int) -> torch.distributions.Distribution:
        """Action distribution on detached encoder features (what actor_loss optimizes)."""
        ...

    def actor_loss(self, obs: Tensor, step: int) -> tuple[Tensor, dict[str, float]]:
        """Policy loss on detached features; SAC adds its temperature loss (grads reach log_alpha only)."""
        ...

    def optimize(self, loss: Tensor, which: Part) -> None:
        """Zero grads, backward `loss`, step the optimizers of `which` (actor: also the temperature)."""
        ...

    def update_targets(self) -> None:
        """Polyak-average the target networks."""
        ...


def double_q_loss(q1: Tensor, q2: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float]]:
    """The protocol's critic loss, MSE(Q1, y) + MSE(Q2, y), and its metrics: one definition for every agent
    (and for strategies that need Q values themselves, e.g. TangentProp's input gradient)."""
    loss = F.mse_loss(q1, target) + F.mse_loss(q2, target)
    return loss, {"critic_loss": float(loss.detach()), "q1": float(q1.detach().mean()),
                  "q2": float(q2.detach().mean()), "target_q": float(target.detach().mean())}


def step_optimizers(loss: Tensor, optimizers: list[torch.optim.Optimizer]) -> None:
    """Zero the grads of `optimizers`, back-propagate `loss`, step them: what `optimize(loss, which)` does."""
    for opt in optimizers:
        opt.zero_grad(set_to_none=True)
    loss.backward()
    for opt in optimizers:
        opt.step()
