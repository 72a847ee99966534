"""What SAC and DrQ-v2 share: the encoder pass (with its precision options), the critic loss, optimizer
steps, target updates, acting and checkpoint state. Each subclass adds its own backup and policy loss.

Both implement `rl_aug.strategies.protocol.ActorCritic`, so any strategy wraps either unchanged.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import torch
from rl_aug.agents.networks import Encoder, soft_update
from torch import Tensor, nn

from rl_aug.strategies.protocol import Part, double_q_loss, step_optimizers

PRECISIONS = ("bf16", "fp32")


class PixelActorCritic:
    """Base of the pixel agents. Subclasses set `actor`, `critic`, `critic_target`, the optimizers and
    implement `td_target`, `policy`, `actor_loss` and `_act_distribution_action`."""

    encoder: Encoder
    critic_target_encoder: nn.Module | None
    actor: nn.Module
    critic: nn.Module
    critic_target: nn.Module
    actor_update_every: int
    target_update_every: int

    def __init__(self, obs_shape: tuple[int, int, int], action_dim: int, *, device: str | torch.device = "cpu",
                 precision: str = "bf16", channels_last: bool = True, discount: float = 0.99, nstep: int = 1,
                 batch_size: int = 128, update_every_steps: int = 1) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"expected agent.precision in {PRECISIONS}, got {precision!r}")
        if len(obs_shape) != 3 or obs_shape[0] % 3 != 0:
            raise ValueError(
                f"expected image observations (C, H, W) with C a multiple of 3, got shape {tuple(obs_shape)}: "
                "wrap the env so it returns channels-first stacked RGB frames"
            )
        self.device = torch.device(device)
        self.obs_shape = tuple(int(s) for s in obs_shape)
        self.action_dim = int(action_dim)
        self.precision = precision
        self.channels_last = bool(channels_last)
        self.discount = float(discount)
        self.nstep = int(nstep)
        self.batch_size = int(batch_size)
        self.update_every_steps = int(update_every_steps)

    # ------------------------------------------------------------------ protocol pieces shared by both
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "bf16":
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _prepare(self, obs: Tensor) -> Tensor:
        obs = obs.to(self.device)
        if self.channels_last:
            obs = obs.contiguous(memory_format=torch.channels_last)
        return obs

    def _run_encoder(self, encoder: nn.Module, obs: Tensor) -> Tensor:
        """Conv features in fp32; the convs themselves run in bf16 under autocast when asked."""
        with self._autocast():
            h = encoder(self._prepare(obs))
        return h.float()

    def encode(self, obs: Tensor) -> Tensor:
        """Features (N, repr_dim) of images in [0, 255] through the online encoder, with grad."""
        return self._run_encoder(self.encoder, obs)

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        return self.critic(self.encode(obs), action)

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float]]:
        return double_q_loss(*self.q_values(obs, action), target)

    def _optimizers(self, which: Part) -> list[torch.optim.Optimizer]:
        raise NotImplementedError

    def optimize(self, loss: Tensor, which: Part) -> None:
        if which not in ("critic", "actor"):
            raise ValueError(f"expected which in ('critic', 'actor'), got {which!r}")
        step_optimizers(loss, self._optimizers(which))

    def _soft_update_pairs(self) -> list[tuple[nn.Module, nn.Module, float]]:
        raise NotImplementedError

    def update_targets(self) -> None:
        for target, source, tau in self._soft_update_pairs():
            soft_update(target, source, tau)

    # ------------------------------------------------------------------ acting
    def _policy_action(self, obs: Tensor, step: int, eval_mode: bool) -> Tensor:
        raise NotImplementedError

    @torch.no_grad()
    def act(self, obs: np.ndarray, step: int, eval_mode: bool = False) -> np.ndarray:
        """One action in [-1, 1] for a single uint8 observation (C, H, W)."""
        x = torch.as_tensor(np.asarray(obs), device=self.device).unsqueeze(0)
        self.train(False)
        action = self._policy_action(x, step, eval_mode)
        self.train(True)
        return action[0].float().cpu().numpy()

    def train(self, mode: bool = True) -> None:
        for module in self.modules().values():
            module.train(mode)

    # ------------------------------------------------------------------ state
    def modules(self) -> dict[str, nn.Module]:
        raise NotImplementedError

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def extra_state(self) -> dict[str, Any]:
        return {}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        del state

    def state_dict(self) -> dict[str, Any]:
        return {
            "modules": {k: m.state_dict() for k, m in self.modules().items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()},
            "extra": self.extra_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, module in self.modules().items():
            module.load_state_dict(state["modules"][key])
        for key, opt in self.optimizers().items():
            opt.load_state_dict(state["optimizers"][key])
        self.load_extra_state(state["extra"])

    def _to_device(self) -> None:
        for module in self.modules().values():
            module.to(self.device)
            if self.channels_last:
                module.to(memory_format=torch.channels_last)
