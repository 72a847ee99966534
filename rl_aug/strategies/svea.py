"""SVEA (Hansen, Su, Wang 2021; nicklashansen/dmcontrol-generalization-benchmark, algorithms/svea.py).

Stabilised Q-value estimation under augmentation: the weak shift goes on obs and next_obs (the maintainer
confirmed both, DMC-GB issue 21); the target comes from the weakly shifted next_obs only, never from the
strong augmentation; the critic loss is alpha * L(weak(obs)) + beta * L(strong(weak(obs))) with the strong
augmentation applied on top of the same shifted obs; the actor (and temperature) sees weak(obs).
When alpha == beta the two halves are one 2N batch: (alpha + beta) * L(concat), as DMC-GB does.
Defaults: alpha = beta = 0.5, strong = random conv (DMC-GB HEAD's svea.py; "overlay" is the paper's other
variant), weak = shift with pad 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rl_aug.strategies.augmentation import AugmentationLike, resolve_augmentation
from rl_aug.strategies.base import Regularizer, ViewGroup, Views, WeakViewStrategy
from rl_aug.strategies.protocol import Batch


class SVEA(WeakViewStrategy):
    """Clean (weak) and strong views in the critic; weak views everywhere else."""

    name = "svea"

    def __init__(self, weak: AugmentationLike = "shift(pad=4)", strong: AugmentationLike = "conv",
                 alpha: float = 0.5, beta: float = 0.5, regularizers: Sequence[Regularizer] = (),
                 seed: int | None = None) -> None:
        super().__init__(regularizers, seed)
        if not (alpha >= 0 and beta >= 0 and alpha + beta > 0):
            raise ValueError(f"expected alpha >= 0, beta >= 0 and alpha + beta > 0, got alpha={alpha}, beta={beta}")
        self.weak = resolve_augmentation(weak, "SVEA weak")
        self.strong = resolve_augmentation(strong, "SVEA strong")
        if self.strong is None:
            raise ValueError("SVEA needs a strong augmentation (e.g. strong='conv' or 'overlay'); got none")
        self.alpha, self.beta = float(alpha), float(beta)

    def views(self, batch: Batch) -> Views:
        next_obs, obs = self.weak_views(batch)
        strong = self._aug(self.strong, obs)
        if self.alpha == self.beta:
            critic = [ViewGroup(torch.cat([obs, strong]), self.alpha, 2)]
        else:
            critic = [ViewGroup(obs, self.alpha, 1), ViewGroup(strong, self.beta, 1)]
        return Views(next_obs=next_obs, k=1, critic=critic, actor_obs=obs, actor_view=0)

    def config(self) -> dict[str, Any]:
        return {"weak": repr(self.weak) if self.weak else "none", "strong": repr(self.strong),
                "alpha": self.alpha, "beta": self.beta}
