"""SODA (Hansen, Wang 2021; nicklashansen/dmcontrol-generalization-benchmark, algorithms/soda.py).

The RL losses see only weakly augmented data (RAD-style, one view). Every `aux_every` updates a BYOL-style
auxiliary loss trains the shared encoder to map strongly augmented images close to an EMA target's
embedding of (weakly augmented) clean images:

    online = predictor(projection(agent.encode(strong(weak_1(x)))))
    target = projection'(encoder'(weak_2(x)))           (EMA copies, tau 0.005, no grad)
    loss   = MSE(online / |online|, target / |target|)  (mean over rows and dims, as DMC-GB)

projection and predictor are Linear-BatchNorm-ReLU-Linear MLPs of width `projection_dim` (100), as in DMC-GB;
their optimizer is Adam(lr 3e-4, betas (0.9, 0.999)) over the encoder, projection and predictor.
Differences from DMC-GB, on purpose:
- The heads sit on `agent.encode` features (our agents: the flat conv output), since the protocol exposes no
  other layer; DMC-GB also puts them on its conv output.
- The heads are created here, after the encoder exists, and never re-initialise it (DMC-GB's predictor
  re-initialises the shared conv after the target copy was made, a defect).
- DMC-GB samples a separate 256-image batch for the aux loss (and random-crops 100 -> 84). We use
  `batch.aux_obs` when the training loop provides it, else the obs and next_obs images of the RL batch
  (2 x 128 = 256 at SAC's batch size), cut to `aux_batch`.
- Both heads, online and target, normalise with batch statistics (BatchNorm in train mode), as BYOL.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rl_aug.strategies.augmentation import AugmentationLike, resolve_augmentation
from rl_aug.strategies.base import (
    BASE_REQUIREMENTS,
    Regularizer,
    ViewGroup,
    Views,
    WeakViewStrategy,
)
from rl_aug.strategies.protocol import Batch


def projection_mlp(in_dim: int, hidden_dim: int, out_dim: int) -> nn.Sequential:
    """Linear -> BatchNorm -> ReLU -> Linear: SODA's projection and predictor (DMC-GB SODAMLP)."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.BatchNorm1d(hidden_dim), nn.ReLU(),
                         nn.Linear(hidden_dim, out_dim))


def ema_(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) * target + tau * source, parameters only (BatchNorm statistics stay per module)."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters()):
            t.lerp_(s, tau)


def soda_loss(online: Tensor, target: Tensor) -> Tensor:
    """MSE between L2-normalised embeddings (= 2 - 2 cos / dim, averaged)."""
    return F.mse_loss(F.normalize(online.float(), dim=1), F.normalize(target.float(), dim=1))


class SODA(WeakViewStrategy):
    """Weak views for RL; a strong-vs-clean BYOL loss on the shared encoder every `aux_every` updates."""

    name = "soda"
    requirements = (*BASE_REQUIREMENTS, "encoder", "encode")

    def __init__(self, weak: AugmentationLike = "shift(pad=4)", strong: AugmentationLike = "overlay(alpha=0.5)",
                 aux_every: int = 2, aux_batch: int = 256, aux_lr: float = 3e-4, aux_beta1: float = 0.9,
                 tau: float = 0.005, projection_dim: int = 100, feature_dim: int | None = None,
                 regularizers: Sequence[Regularizer] = (), seed: int | None = None) -> None:
        super().__init__(regularizers, seed)
        self.weak = resolve_augmentation(weak, "SODA weak")
        self.strong = resolve_augmentation(strong, "SODA strong")
        if self.strong is None:
            raise ValueError("SODA needs a strong augmentation (e.g. strong='overlay'); got none")
        if int(aux_every) < 1 or int(aux_batch) < 2:
            raise ValueError(f"expected aux_every >= 1 and aux_batch >= 2, got {aux_every}, {aux_batch}")
        if not 0.0 < tau <= 1.0:
            raise ValueError(f"expected 0 < tau <= 1 for the EMA target, got {tau}")
        self.aux_every, self.aux_batch = int(aux_every), int(aux_batch)
        self.aux_lr, self.aux_beta1, self.tau = float(aux_lr), float(aux_beta1), float(tau)
        self.projection_dim = int(projection_dim)
        self.feature_dim = feature_dim
        self.projection: nn.Module | None = None
        self.predictor: nn.Module | None = None
        self.target_encoder: nn.Module | None = None
        self.target_projection: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None

    def views(self, batch: Batch) -> Views:
        next_obs, obs = self.weak_views(batch)
        return Views(next_obs=next_obs, k=1, critic=[ViewGroup(obs, 1.0, 1)], actor_obs=obs, actor_view=0)

    # ------------------------------------------------------------------ heads
    def _infer_feature_dim(self, agent: Any) -> int:
        if self.feature_dim is not None:
            return int(self.feature_dim)
        obs_shape = getattr(agent, "obs_shape", None)
        if obs_shape is None:
            raise TypeError(
                f"SODA cannot size its projection head for {type(agent).__name__}: the agent has no obs_shape; "
                "pass SODA(feature_dim=<size of agent.encode(obs) rows>)"
            )
        probe = torch.zeros((2, *obs_shape), dtype=torch.uint8, device=agent.device)
        with torch.no_grad():
            return int(agent.encode(probe).shape[1])

    def _attach(self, agent: Any) -> None:
        if not isinstance(agent.encoder, nn.Module):
            raise TypeError(f"SODA expects agent.encoder to be an nn.Module, got {type(agent.encoder).__name__}")
        if "encoder" not in inspect.signature(agent.encode).parameters:
            raise TypeError(
                f"SODA needs {type(agent).__name__}.encode(obs, encoder=None) so its EMA target encoder can run "
                "through the agent's own input scaling: encode must run `encoder` where it would run self.encoder "
                "(the protocol's encode-with-weights call, rl_aug/strategies/protocol.py)"
            )
        device = torch.device(agent.device)
        features = self._infer_feature_dim(agent)
        d = self.projection_dim
        self.projection = projection_mlp(features, d, d).to(device)
        self.predictor = projection_mlp(d, d, d).to(device)
        # The target copies are taken after every online module exists; nothing re-initialises them later.
        self.target_encoder = copy.deepcopy(agent.encoder)
        self.target_projection = copy.deepcopy(self.projection)
        for p in [*self.target_encoder.parameters(), *self.target_projection.parameters()]:
            p.requires_grad_(False)
        self.optimizer = torch.optim.Adam(
            [*agent.encoder.parameters(), *self.projection.parameters(), *self.predictor.parameters()],
            lr=self.aux_lr, betas=(self.aux_beta1, 0.999),
        )

    def aux_images(self, batch: Batch) -> Tensor:
        """batch.aux_obs if given, else the obs and next_obs images of the batch; at most aux_batch rows."""
        x = batch.aux_obs if batch.aux_obs is not None else torch.cat([batch.obs, batch.next_obs])
        return x[: self.aux_batch]

    def aux_loss(self, agent: Any, x: Tensor) -> Tensor:
        """The SODA loss on images x (uint8), with grad into encoder, projection and predictor."""
        n = x.shape[0]
        weak = self._aug(self.weak, torch.cat([x, x]))  # two independent weak draws in one call
        online_in = self._aug(self.strong, weak[:n])
        online = self.predictor(self.projection(agent.encode(online_in)))
        with torch.no_grad():
            target = self.target_projection(agent.encode(weak[n:], encoder=self.target_encoder))
        return soda_loss(online, target)

    def aux_batch_size(self, step: int) -> int:
        """The separate image batch DMC-GB samples for the aux loss, on the updates that run it."""
        return self.aux_batch if step % self.aux_every == 0 else 0

    def after_update(self, agent: Any, batch: Batch, step: int) -> dict[str, float]:
        if step % self.aux_every != 0:
            return {}
        loss = self.aux_loss(agent, self.aux_images(batch))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        # The aux backward also left grads in agent.encoder; the agent zeroes them before its next step.
        ema_(self.target_encoder, agent.encoder, self.tau)
        ema_(self.target_projection, self.projection, self.tau)
        return {"soda_loss": float(loss.detach())}

    # ------------------------------------------------------------------ checkpoints
    def _modules(self) -> dict[str, nn.Module]:
        return {"projection": self.projection, "predictor": self.predictor,
                "target_encoder": self.target_encoder, "target_projection": self.target_projection}

    def _extra_state(self) -> dict[str, Any]:
        return {"modules": {k: m.state_dict() for k, m in self._modules().items()},
                "optimizer": self.optimizer.state_dict()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        for key, module in self._modules().items():
            module.load_state_dict(state["modules"][key])
        self.optimizer.load_state_dict(state["optimizer"])

    def config(self) -> dict[str, Any]:
        return {"weak": repr(self.weak) if self.weak else "none", "strong": repr(self.strong),
                "aux_every": self.aux_every, "aux_batch": self.aux_batch, "aux_lr": self.aux_lr, "tau": self.tau}
