"""Behaviour cloning as in CCIL's protocol, and the NoiseBC baseline.

CCIL (Ke et al., ICLR 2024): a deterministic MLP policy (2x256 ReLU) fit by MSE, lr 1e-3,
batch 512, observations standardized and actions min-max scaled to [-1, 1] using the training data.
NoiseBC perturbs the observations of a fraction (CCIL: 50%) of each batch with uniform noise; the
noise width here is in standardized observation units (our choice, ``noise_scale``).
The trainer takes plain (observations, actions) arrays, so it fits expert data and CCIL's labeled
data (rl_aug.ccil.data format) alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass
class BCConfig:
    hidden: tuple[int, ...] = (256, 256)
    lr: float = 1e-3
    batch_size: int = 512
    steps: int = 5000  # gradient steps
    noise_fraction: float = 0.0  # NoiseBC: fraction of each batch whose observations get noise (CCIL: 0.5)
    noise_scale: float = 0.1  # NoiseBC: uniform noise in [-scale, scale], standardized units
    seed: int = 0


class BCPolicy(nn.Module):
    """obs -> action; normalization statistics live in buffers so a saved policy is self-contained."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        layers: list[nn.Module] = []
        width = obs_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, act_dim))
        self.net = nn.Sequential(*layers)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))
        self.register_buffer("act_low", -torch.ones(act_dim))
        self.register_buffer("act_high", torch.ones(act_dim))

    def fit_normalization(self, observations: np.ndarray, actions: np.ndarray) -> None:
        self.obs_mean.copy_(torch.as_tensor(observations.mean(0)))
        self.obs_std.copy_(torch.as_tensor(observations.std(0) + 1e-6))
        low, high = actions.min(0), actions.max(0)
        high = np.where(high - low < 1e-6, low + 1e-6, high)
        self.act_low.copy_(torch.as_tensor(low))
        self.act_high.copy_(torch.as_tensor(high))

    def normalize_obs(self, obs: torch.Tensor) -> torch.Tensor:
        return (obs - self.obs_mean) / self.obs_std

    def scale_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Raw actions -> [-1, 1]."""
        return 2 * (actions - self.act_low) / (self.act_high - self.act_low) - 1

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw observation -> raw action (the net predicts in [-1, 1] units)."""
        scaled = self.net(self.normalize_obs(obs))
        return self.act_low + (scaled + 1) * (self.act_high - self.act_low) / 2

    @torch.no_grad()
    def predict(self, obs: np.ndarray) -> np.ndarray:
        return self(torch.as_tensor(np.atleast_2d(obs), dtype=torch.float32)).numpy()

    def save(self, path: str | os.PathLike) -> None:
        """Atomic save (tmp file + rename)."""
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"state_dict": self.state_dict(), "obs_dim": len(self.obs_mean),
                    "act_dim": len(self.act_low), "hidden": [m.out_features for m in self.net[:-1]
                                                            if isinstance(m, nn.Linear)]}, tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BCPolicy:
        data = torch.load(path, map_location="cpu")
        policy = cls(data["obs_dim"], data["act_dim"], tuple(data["hidden"]))
        policy.load_state_dict(data["state_dict"])
        return policy.eval()


def train_bc(observations: np.ndarray, actions: np.ndarray, config: BCConfig,
             normalization: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[BCPolicy, list[float]]:
    """Fit a BCPolicy; ``normalization`` = (obs, actions) to take statistics from (default: the data).

    Returns the policy (eval mode) and the loss of every gradient step.
    """
    observations = np.asarray(observations, dtype=np.float32)
    actions = np.asarray(actions, dtype=np.float32)
    if observations.ndim != 2 or actions.ndim != 2 or len(observations) != len(actions):
        raise ValueError(
            f"train_bc expects observations (N, obs_dim) and actions (N, act_dim) with the same N, "
            f"got {observations.shape} and {actions.shape}"
        )
    if not 0.0 <= config.noise_fraction <= 1.0:
        raise ValueError(f"noise_fraction must be in [0, 1], got {config.noise_fraction}")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    policy = BCPolicy(observations.shape[1], actions.shape[1], tuple(config.hidden))
    policy.fit_normalization(*(normalization or (observations, actions)))
    x = policy.normalize_obs(torch.as_tensor(observations))
    y = policy.scale_actions(torch.as_tensor(actions))
    optimizer = torch.optim.Adam(policy.net.parameters(), lr=config.lr)
    n, losses = len(x), []
    policy.train()
    for _ in range(config.steps):
        idx = torch.randint(0, n, (min(config.batch_size, n),), generator=generator)
        xb = x[idx]
        if config.noise_fraction > 0:
            noisy = torch.rand(len(idx), 1, generator=generator) < config.noise_fraction
            noise = (torch.rand(xb.shape, generator=generator) * 2 - 1) * config.noise_scale
            xb = xb + noisy * noise
        loss = ((policy.net(xb) - y[idx]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return policy.eval(), losses
