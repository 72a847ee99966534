"""What SAC and DrQ-v2 share: the encoder pass (with its precision options), the critic loss, optimizer
steps, target updates, acting and checkpoint state. Each subclass adds its own backup and policy loss.

Both implement `rl_aug.strategies.protocol.ActorCritic`, so any strategy wraps either unchanged.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from rl_aug.agents.networks import linear_schedule, soft_update
from torch import Tensor, nn

from rl_aug.precision import native_bf16
from rl_aug.strategies.protocol import Part, double_q_loss, step_optimizers

PRECISIONS = ("auto", "bf16", "fp32")


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _count(low: int) -> tuple[str, Callable[[Any], bool]]:
    return (f"an int >= {low}", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= low)


_POSITIVE = ("a finite number > 0", lambda v: _number(v) and v > 0)
_TAU = ("a number in (0, 1]", lambda v: _number(v) and 0 < v <= 1)
# The valid range of every agent hyperparameter, in one table that the agents' constructors and the training
# config check both use (so `agent.discount=1.5` and `SAC(..., discount=1.5)` fail the same way).
HYPERPARAMETER_RANGES: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "lr": _POSITIVE, "alpha_lr": _POSITIVE, "init_temperature": _POSITIVE,
    "alpha_beta1": ("a number in [0, 1)", lambda v: _number(v) and 0 <= v < 1),
    "discount": ("a number in (0, 1]", lambda v: _number(v) and 0 < v <= 1),
    "critic_tau": _TAU, "encoder_tau": _TAU,
    "projection_tau": ("'critic' (DrQ) or 'encoder' (DMC-GB)", lambda v: v in ("critic", "encoder")),
    "stddev_clip": ("a finite number >= 0", lambda v: _number(v) and v >= 0),
    "log_std_bounds": ("[low, high] with low < high (e.g. [-10, 2])",
                       lambda v: isinstance(v, (list, tuple)) and len(v) == 2 and all(_number(b) for b in v)
                       and v[0] < v[1]),
    "batch_size": _count(1), "feature_dim": _count(1), "hidden_dim": _count(1), "hidden_depth": _count(1),
    "num_filters": _count(1), "num_conv_layers": _count(1), "nstep": _count(1), "update_every_steps": _count(1),
    "actor_update_every": _count(1), "target_update_every": _count(1), "num_expl_steps": _count(0),
    "encoder_input_crop": _count(1), "replay_capacity": _count(1), "seed_steps": _count(0), "seed_frames": _count(0),
    "init_updates": _count(1),
    "vit_patch_size": _count(1), "vit_depth": _count(1), "vit_width": _count(1), "vit_heads": _count(1),
    "vit_mlp_ratio": _POSITIVE,
    "encoder": ("one of conv, vit", lambda v: v in ("conv", "vit")),
    "stddev_schedule": ("a number or 'linear(start,end,duration)' (DrQ-v2's notation)", lambda v: _schedule(v)),
}


def _schedule(spec: Any) -> bool:
    try:
        linear_schedule(spec, 0)
    except (TypeError, ValueError):
        return False
    return not isinstance(spec, bool)


def check_hyperparameters(values: Mapping[str, Any], where: str) -> None:
    """ValueError naming the first value outside its range in HYPERPARAMETER_RANGES (None: the default)."""
    for key, value in values.items():
        if key in HYPERPARAMETER_RANGES and value is not None:
            rule, ok = HYPERPARAMETER_RANGES[key]
            if not ok(value):
                raise ValueError(f"{where}{key}: expected {rule}, got {value!r}")


class PixelActorCritic:
    """Base of the pixel agents. Subclasses set `actor`, `critic`, `critic_target`, the optimizers and
    implement `td_target`, `policy`, `actor_loss` and `_policy_action`.

    The subclasses' constructors also take the training loop's settings for the agent (`batch_size`,
    `discount`, `nstep`, `update_every_steps`): they are checked there, so `SAC(discount=1.5)` and
    `agent.discount=1.5` fail alike and the config check finds them in the signature, but not kept: the loop
    (agents/train.py) reads them from cfg.agent, and the backup reads its discount from the batch."""

    encoder: nn.Module  # networks.Encoder (conv) or vit.ViTEncoder
    critic_target_encoder: nn.Module | None
    actor: nn.Module
    critic: nn.Module
    critic_target: nn.Module
    actor_update_every: int
    target_update_every: int

    def __init__(self, obs_shape: tuple[int, int, int], action_dim: int, *, device: str | torch.device = "cpu",
                 precision: str = "auto", channels_last: bool = True) -> None:
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
        # "auto": bf16 autocast where the hardware runs it natively, fp32 elsewhere (see native_bf16)
        self.precision = ("bf16" if native_bf16(self.device) else "fp32") if precision == "auto" else precision
        self.channels_last = bool(channels_last)

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

    def encode(self, obs: Tensor, encoder: nn.Module | None = None) -> Tensor:
        """Features (N, repr_dim) in fp32 of images in [0, 255] through `encoder` (None: the online encoder),
        with grad; the encoder itself runs in bf16 under autocast when asked."""
        with self._autocast():
            h = (self.encoder if encoder is None else encoder)(self._prepare(obs))
        return h.float()

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        return self.critic(self.encode(obs), action)

    def critic_loss(self, obs: Tensor, action: Tensor,
                    target: Tensor) -> tuple[Tensor, dict[str, float], Tensor | None]:
        """The protocol's double-Q loss, and the detached features of obs it used (the feature hand-off)."""
        h = self.encode(obs)
        return (*double_q_loss(*self.critic(h, action), target), h.detach())

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

    @torch.no_grad()
    def act_batch(self, obs: Tensor, step: int = 0, eval_mode: bool = True) -> Tensor:
        """Actions in [-1, 1], (N, action_dim), for a batch of uint8 observations (N, C, H, W): what evaluation
        tools (rl_aug.evaluation.invariance) call instead of the single-observation `act`."""
        self.train(False)
        action = self._policy_action(obs.to(self.device), step, eval_mode)
        self.train(True)
        return action.float()

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
        return {**self.weights_state_dict(), "optimizers": {k: o.state_dict() for k, o in self.optimizers().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.load_weights(state)
        for key, opt in self.optimizers().items():
            opt.load_state_dict(state["optimizers"][key])

    def weights_state_dict(self) -> dict[str, Any]:
        """The modules and extra state without the optimizers' moments: all that acting needs (a run's
        snapshots keep this, under half the size of `state_dict`)."""
        return {"modules": {k: m.state_dict() for k, m in self.modules().items()}, "extra": self.extra_state()}

    def load_weights(self, state: dict[str, Any]) -> None:
        """Load `weights_state_dict` (or the weights part of a `state_dict`); the optimizers are left as they are."""
        for key, module in self.modules().items():
            module.load_state_dict(state["modules"][key])
        self.load_extra_state(state["extra"])

    def _to_device(self) -> None:
        for module in self.modules().values():
            module.to(self.device)
            if self.channels_last:
                module.to(memory_format=torch.channels_last)
