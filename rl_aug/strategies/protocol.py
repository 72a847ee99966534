"""The contract between augmentation strategies, agents and training loops.

An off-policy actor-critic exposes its losses as separate, pure pieces (`ActorCritic` below); a strategy
decides which (augmented) observations each piece sees. The same strategy object therefore wraps our SAC,
our DrQ-v2 and, through adapters (rl_aug.sb3.adapter), stable-baselines3's SAC, TD3, DDPG and TQC.

What a strategy needs from an agent (`ActorCritic`; `Strategy.attach` checks the members it uses by name)
- `device`, `actor_update_every`, `target_update_every`: where tensors go and the update schedule.
- `td_target`, `critic_loss`, `actor_loss`, `optimize`, `update_targets`: the update's pieces.
- Feature hand-off: `critic_loss` returns, with the loss, the detached encoder features of the obs it was
  given (None when the agent has no use for them). The strategy's `Views.actor_view` names the critic view
  group whose first N rows are the actor's view; the strategy passes those rows' features to
  `actor_loss(obs, step, features=...)` (None when the actor's view was not in the critic batch, or when
  a regularizer computed the critic from `q_values`). DrQ-v2 reads them, so its actor sees the features
  computed before the critic's encoder step, as drqv2.py does; SAC re-encodes after the critic step, as
  drq.py does; the SB3 adapters have their own actor networks and ignore them.
- Encoding with other weights: `encode(obs, encoder=module)` runs `module` (a copy of `agent.encoder`, e.g.
  SODA's EMA target) through the agent's own input scaling and precision in place of the online encoder.
- Optional members, needed only by some strategies or regularizers: `encoder` and `encode` (SODA),
  `q_values` (TangentProp), `policy` (ActorKL), `obs_shape` (SODA sizes its heads with it).

What the training loops do with a strategy (agents/train.py `Trainer`, rl_aug/sb3/augmented.py `train`)
- `attach(agent)` once, before any checkpoint is loaded into agent or strategy;
- per update: sample a Batch; if `strategy.aux_batch_size(step)` is > 0, sample that many more images into
  `batch.aux_obs` (SODA's separate auxiliary batch, as DMC-GB); then `strategy.update(agent, batch, step)`;
- `observe_episode(return)` at each training episode's end (the `auto(...)` augmentations choose with it);
- `state_dict()` / `load_state_dict()` with the agent's in checkpoints.

The `step` of `update` and `aux_batch_size` is the clock that `actor_update_every`, `target_update_every`,
SODA's `aux_every` and DrQ-v2's exploration-std schedule run on. The two loops each keep their reference's
clock, so the meanings differ on purpose (making them one would change pinned results of both):
- agents/train.py passes the agent step (env steps / action_repeat) at which the update runs, as DrQ, DMC-GB
  and DrQ-v2 pass their `step` to `agent.update`: the std schedule is in agent steps, the first update
  happens at step `seed_steps`, all `init_updates` updates of that step share it, and with
  `update_every_steps` > 1 the schedules count agent steps, not updates;
- rl_aug/sb3/augmented.py passes SB3's running gradient-step count (`_n_updates`, 1 for the first update),
  the clock of SB3's own `target_update_interval` and `policy_delay`.

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

    def encode(self, obs: Tensor, encoder: nn.Module | None = None) -> Tensor:
        """Features (N, F) of images in [0, 255] through `encoder` (None: the online `self.encoder`), with grad."""
        ...

    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        """(N, 1) bootstrapped target from the agent's own backup; computed under no_grad."""
        ...

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        """(Q1, Q2), each (N, 1), with grad through the encoder and the critic heads."""
        ...

    def critic_loss(self, obs: Tensor, action: Tensor,
                    target: Tensor) -> tuple[Tensor, dict[str, float], Tensor | None]:
        """MSE(Q1, y) + MSE(Q2, y) on the given observations, its metrics (q mean, loss), and the detached
        features of `obs` the loss was computed from (None: the agent's actor_loss has no use for them)."""
        ...

    def policy(self, obs: Tensor, step: int) -> torch.distributions.Distribution:
        """Action distribution on detached encoder features (what actor_loss optimizes)."""
        ...

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """Policy loss on detached features; SAC adds its temperature loss (grads reach log_alpha only).
        `features`: the critic step's features of `obs` when the strategy has them (see the feature hand-off)."""
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
