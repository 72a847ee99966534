"""No augmentation, DrQ (K target views, M critic views) and RAD (one augmented view).

DrQ: Kostrikov, Yarats, Fergus 2020 (denisyarats/drq): replicate-pad-4 random shift, K=2 next_obs views
averaged in the target, M=2 obs views in the critic loss, actor on the first augmented obs view.
RAD: Laskin et al. 2020: one augmentation (random crop in the paper) of obs and next_obs, the same view
for critic and actor; K = M = 1. DrQ-v2's own update is RAD with the shift (Yarats et al. 2021).

RAD's crop and image sizes: the paper renders 100x100 and crops to 84x84, so the agent's input is smaller
than the rendered image and evaluation needs a center crop. Our environments render at the agent's input
size, so RAD's default is the random crop of the replicate-padded image back to the same size (DrQ's
formulation of the crop, which is the pad-4 shift). Pass aug="crop(size=84)" when rendering larger and
building the agent for 84x84.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rl_aug.strategies.augmentation import Augmentation, AugmentationLike, resolve_augmentation
from rl_aug.strategies.base import Regularizer, Strategy, ViewGroup, Views, repeat_rows
from rl_aug.strategies.protocol import Batch


class NoAug(Strategy):
    """The plain update: y = td_target(r, s'), critic on s, actor on s."""

    name = "none"

    def views(self, batch: Batch) -> Views:
        return Views(next_obs=batch.next_obs, k=1, critic=[ViewGroup(batch.obs, 1.0, 1)], actor_obs=batch.obs,
                     actor_view=0)


class DrQ(Strategy):
    """Targets averaged over K augmented next_obs; critic loss averaged over M augmented obs.

    The K (and M) copies are augmented in one call on a K*N (M*N) batch, so each row draws its own
    parameters, and pass through the agent as one batch. The actor sees the first critic view.
    """

    name = "drq"

    def __init__(self, aug: AugmentationLike = "shift(pad=4)", K: int = 2, M: int = 2,
                 regularizers: Sequence[Regularizer] = (), seed: int | None = None) -> None:
        super().__init__(regularizers, seed)
        if int(K) < 1 or int(M) < 1:
            raise ValueError(f"expected K >= 1 and M >= 1 (numbers of augmented views), got K={K}, M={M}")
        self.aug = resolve_augmentation(aug, "DrQ")
        self.K, self.M = int(K), int(M)

    @property
    def actor_augmentation(self) -> Augmentation | None:
        return self.aug

    def views(self, batch: Batch) -> Views:
        n = len(batch)
        next_obs = self._aug(self.aug, repeat_rows(batch.next_obs, self.K))
        obs = self._aug(self.aug, repeat_rows(batch.obs, self.M))
        return Views(next_obs=next_obs, k=self.K, critic=[ViewGroup(obs, 1.0 / self.M, self.M)],
                     actor_obs=obs[:n], actor_view=0)

    def config(self) -> dict[str, Any]:
        return {"aug": repr(self.aug) if self.aug else "none", "K": self.K, "M": self.M}


class RAD(DrQ):
    """One augmented view of obs and next_obs for critic, target and actor (K = M = 1)."""

    name = "rad"

    def __init__(self, aug: AugmentationLike = "shift(pad=4)", regularizers: Sequence[Regularizer] = (),
                 seed: int | None = None) -> None:
        super().__init__(aug, K=1, M=1, regularizers=regularizers, seed=seed)

    def views(self, batch: Batch) -> Views:
        views = super().views(batch)
        self._warn_if_identity(batch.obs, views.actor_obs, "RAD")
        return views

    def config(self) -> dict[str, Any]:
        return {"aug": repr(self.aug) if self.aug else "none"}
