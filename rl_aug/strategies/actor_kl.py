"""Actor KL regularisation (Hu, Jiang, Weng 2024; code: Jianshu-Hu/drqv2, drqv2.py `update_actor`).

Adds weight * KL(pi(.|x1) || pi(.|x2)) to the actor loss, where x1 is the view the actor loss uses (under
no_grad) and x2 a fresh draw of the same augmentation, so the policy learns to act alike on both views.

The KL is `torch.distributions.kl_divergence` on the agent's own `policy()` distributions:
- SAC's tanh-squashed Gaussian: KL is invariant under the shared bijection tanh, so it equals the KL of the
  pre-tanh Normals exactly (torch registers this for TransformedDistributions with equal transforms);
- DrQ-v2's clipped normal with fixed std: the Normal KL, (mu1 - mu2)^2 / (2 sigma^2) per dimension.
As in Hu et al.'s code, the KL is averaged over action dimensions as well as over the batch, so weight 0.1
means what it means there.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, TransformedDistribution, kl_divergence

from rl_aug.strategies.augmentation import AugmentationLike, resolve_augmentation
from rl_aug.strategies.base import Regularizer, Strategy
from rl_aug.strategies.protocol import Batch


def _unwrap(dist: Distribution) -> Distribution:
    while isinstance(dist, (TransformedDistribution, Independent)):
        dist = dist.base_dist
    return dist


def policy_kl(p: Distribution, q: Distribution) -> Tensor:
    """KL(p || q) per action dimension, averaged over the batch: a scalar."""
    try:
        kl = kl_divergence(p, q)
        per_row_dims = max(1, int(torch.Size(p.event_shape).numel()))
    except NotImplementedError:
        base_p, base_q = _unwrap(p), _unwrap(q)
        try:
            kl = kl_divergence(base_p, base_q)
        except NotImplementedError as exc:
            raise TypeError(
                f"ActorKL cannot compute KL({type(p).__name__} || {type(q).__name__}): torch registers no KL for "
                "these policy distributions; return a Normal (or a TransformedDistribution of one) from policy()"
            ) from exc
        per_row_dims = max(1, int(torch.Size(base_p.event_shape).numel()))
    return kl.mean() / per_row_dims


class ActorKL(Regularizer):
    """Actor penalty: KL between the policy on two augmented views of obs (weight 0.1, Hu et al.)."""

    name = "actor_kl"
    requirements = ("policy",)

    def __init__(self, weight: float = 0.1, aug: AugmentationLike = None) -> None:
        super().__init__(weight)
        self.aug_spec = aug
        self.aug = resolve_augmentation(aug, "ActorKL") if aug is not None else None

    def bind(self, strategy: Strategy) -> None:
        if self.aug is None and strategy.actor_augmentation is None:
            raise ValueError(
                f"ActorKL needs two different views of obs, but {strategy!r} does not augment the actor's input: "
                "pass ActorKL(aug='shift(pad=4)') or compose it with an augmenting strategy"
            )

    def actor_penalty(self, agent: Any, strategy: Strategy, batch: Batch, actor_obs: Tensor, step: int,
                      generator: torch.Generator) -> Tensor:
        aug = self.aug if self.aug is not None else strategy.actor_augmentation
        second = aug(batch.obs, generator=generator)
        with torch.no_grad():
            p = agent.policy(actor_obs, step)
        q = agent.policy(second, step)
        return policy_kl(p, q)

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.aug is not None:
            out["aug"] = repr(self.aug)
        return out
