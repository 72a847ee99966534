"""Residual dynamics model s' = s + f(s, a) with Lipschitz control, as in CCIL.

CCIL (Ke et al., ICLR 2024; personalrobotics/CCIL): an MLP (2x512 ReLU) on standardized (s, a)
predicts the standardized state change; lr 1e-3, weight decay 1e-5, batch 512. Its Lipschitz
constant is controlled in one of three ways, chosen by ``DynamicsConfig.lipschitz``:

- ``"spectral"``: every linear layer's spectral norm capped at K (rl_aug.ccil.spectral);
- ``"penalty"``: a soft sampling penalty relu(|f(x+e) - f(x)| - K|e|), e ~ N(0, eps^2) (eps 3e-4);
- ``"slack"``: the same penalty, weighted per training sample by a learned w_i = sigmoid(z_i) with a
  cost on (1 - w_i); where the data are discontinuous the penalty cannot be met and the optimizer
  lowers w_i there, so the constraint is relaxed in those regions only (our reading of CCIL's slack);
- ``"none"``: plain regression.
All of this happens in the normalized space; ``residual`` and ``predict`` speak raw units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from rl_aug.ccil.spectral import cap_spectral_norm, converge_spectral_estimates

LIPSCHITZ_MODES = ("none", "spectral", "penalty", "slack")


@dataclass
class DynamicsConfig:
    hidden: tuple[int, ...] = (512, 512)  # CCIL: 2x512 (2x256 for some tasks)
    lr: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 512
    epochs: int = 100
    lipschitz: str = "spectral"
    lipschitz_k: float = 2.0  # per-layer cap (spectral) or constant in the penalty; CCIL uses 1-4 per task
    penalty_eps: float = 3e-4  # std of the sampling perturbation e (normalized units)
    penalty_weight: float = 1e-3
    slack_cost: float = 1e-3  # cost on (1 - w_i) in the slack variant
    slack_lr: float = 0.05  # per-sample slack logits are visited once per epoch: they need a larger step
    seed: int = 0
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lipschitz not in LIPSCHITZ_MODES:
            raise ValueError(f"lipschitz must be one of {LIPSCHITZ_MODES}, got {self.lipschitz!r}")


class ResidualDynamics(nn.Module):
    """f(s, a) in raw units, computed by an MLP on standardized inputs with standardized outputs."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (512, 512),
                 spectral_cap: float | None = None):
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim + act_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, obs_dim))
        self.net = nn.Sequential(*layers)
        if spectral_cap is not None:
            cap_spectral_norm(self.net, spectral_cap)
        self.obs_dim, self.act_dim = obs_dim, act_dim
        for name, dim in (("in_mean", obs_dim + act_dim), ("in_std", obs_dim + act_dim),
                          ("out_mean", obs_dim), ("out_std", obs_dim)):
            self.register_buffer(name, torch.zeros(dim) if "mean" in name else torch.ones(dim))

    def fit_normalization(self, s: np.ndarray, a: np.ndarray, s_next: np.ndarray) -> None:
        x = np.concatenate([s, a], axis=1)
        delta = s_next - s
        self.in_mean.copy_(torch.as_tensor(x.mean(0)))
        self.in_std.copy_(torch.as_tensor(x.std(0) + 1e-6))
        self.out_mean.copy_(torch.as_tensor(delta.mean(0)))
        self.out_std.copy_(torch.as_tensor(delta.std(0) + 1e-6))

    def normalized(self, x_norm: torch.Tensor) -> torch.Tensor:
        """The raw MLP: standardized (s, a) -> standardized state change."""
        return self.net(x_norm)

    def residual(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = (torch.cat([s, a], dim=-1) - self.in_mean) / self.in_std
        return self.out_mean + self.out_std * self.net(x)

    def predict(self, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return s + self.residual(s, a)

    forward = residual


def lipschitz_penalty(model: ResidualDynamics, x_norm: torch.Tensor, k: float, eps: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """Per-sample relu(|f(x+e) - f(x)| - K|e|) in normalized space (CCIL's soft sampling penalty)."""
    e = torch.randn(x_norm.shape, generator=generator) * eps
    diff = (model.normalized(x_norm + e) - model.normalized(x_norm)).norm(dim=-1)
    return torch.relu(diff - k * e.norm(dim=-1))


def train_dynamics(s: np.ndarray, a: np.ndarray, s_next: np.ndarray, config: DynamicsConfig,
                   log_every: int = 0) -> tuple[ResidualDynamics, dict[str, list[float]]]:
    """Fit a ResidualDynamics to transitions; returns the model (eval mode) and per-epoch losses."""
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    cap = config.lipschitz_k if config.lipschitz == "spectral" else None
    model = ResidualDynamics(s.shape[1], a.shape[1], tuple(config.hidden), spectral_cap=cap)
    model.fit_normalization(s, a, s_next)
    x = (torch.as_tensor(np.concatenate([s, a], 1)) - model.in_mean) / model.in_std
    y = (torch.as_tensor(s_next - s) - model.out_mean) / model.out_std
    n = len(x)
    params = [{"params": model.parameters(), "weight_decay": config.weight_decay}]
    slack_logits = None
    if config.lipschitz == "slack":
        slack_logits = nn.Parameter(torch.full((n,), 3.0))  # w_i = sigmoid(3) ~ 0.95 at the start
        params.append({"params": [slack_logits], "weight_decay": 0.0, "lr": config.slack_lr})
    optimizer = torch.optim.Adam(params, lr=config.lr)
    history: dict[str, list[float]] = {"mse": [], "lipschitz_penalty": []}
    model.train()
    for epoch in range(config.epochs):
        perm = torch.randperm(n, generator=generator)
        mse_sum, pen_sum = 0.0, 0.0
        for start in range(0, n, config.batch_size):
            idx = perm[start:start + config.batch_size]
            mse = ((model.normalized(x[idx]) - y[idx]) ** 2).mean()
            loss = mse
            pen_value = 0.0
            if config.lipschitz in ("penalty", "slack"):
                pen = lipschitz_penalty(model, x[idx], config.lipschitz_k, config.penalty_eps, generator)
                if slack_logits is not None:
                    w = torch.sigmoid(slack_logits[idx])
                    pen_term = (w * pen).mean() + config.slack_cost * (1 - w).mean()
                else:
                    pen_term = pen.mean()
                loss = loss + config.penalty_weight * pen_term / max(config.penalty_eps, 1e-12)
                pen_value = float(pen.mean().detach())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            mse_sum += float(mse.detach()) * len(idx)
            pen_sum += pen_value * len(idx)
        history["mse"].append(mse_sum / n)
        history["lipschitz_penalty"].append(pen_sum / n)
        if log_every and (epoch + 1) % log_every == 0:
            print(f"dynamics epoch {epoch + 1}: mse {history['mse'][-1]:.4g}", flush=True)
    if cap is not None:
        converge_spectral_estimates(model.net)
    model.eval()
    if slack_logits is not None:
        model.register_buffer("slack_weights", torch.sigmoid(slack_logits.detach()))
    return model, history


def local_lipschitz(residual_fn, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """Spectral norm of the Jacobian of f(s, a) w.r.t. (s, a), per sample, in raw units."""
    obs_dim = s.shape[1]

    def single(x: torch.Tensor) -> torch.Tensor:
        return residual_fn(x[None, :obs_dim], x[None, obs_dim:])[0]

    x = torch.cat([s, a], dim=1).detach()
    jac = torch.func.vmap(torch.func.jacrev(single))(x)
    return torch.linalg.matrix_norm(jac, ord=2)


@torch.no_grad()
def prediction_error(residual_fn, s: torch.Tensor, a: torch.Tensor, s_next: torch.Tensor) -> torch.Tensor:
    """|s + f(s, a) - s'| per transition: where the model itself is wrong, labels from it are untrusted."""
    return (s + residual_fn(s, a) - s_next).norm(dim=-1)
