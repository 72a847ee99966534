"""Behaviour cloning as in CCIL's official code, and the NoiseBC baseline.

The official CCIL code (personalrobotics/CCIL 5a9e3c1) trains d3rlpy's BC (``correct_il/train_bc_policy.py``,
``correct_il/CustomBC.py``); what matters of it is reproduced here:

- a deterministic MLP (2x256 ReLU) with a **tanh-bounded output** (d3rlpy's DeterministicRegressor),
  fit by MSE, lr 1e-3, batch 512 (``config/hopper.yml`` ``policy``);
- observations standardized by a scaler **fitted on the training set** (demos + labels for CCIL) as
  (x - mean) / (std + 1e-3) (d3rlpy's StandardScaler, ``scaler='standard'``); actions min-max scaled
  to [-1, 1] on the training set (``action_scaler='min_max'``);
- training for a number of **epochs** over the training set (``policy.train_epochs: 200``), one epoch
  being floor(N / batch) shuffled batches (d3rlpy's RoundIterator), so a larger training set (CCIL's
  demos + labels) gets proportionally more gradient steps; ``steps`` fixes the number of gradient
  steps instead (used for the step-matched BC control);
- NoiseBC: half of each batch (a per-sample coin, ``torch.rand > 0.5``) gets ``noise_scale * U[0, 1)``
  added to its *standardized* observations, one-sided (``CustomBC.compute_loss_weight``; the noise
  scale is 1e-4 for Hopper / Walker2d / HalfCheetah in ``scripts/mujoco.sh``).

Earlier choices of this repository stay available as options: ``output="linear"``,
``obs_std_eps=1e-6``, ``noise_shape="symmetric"`` (U(-scale, scale)) and normalization statistics
taken from other data (``train_bc(..., normalization=(obs, act))``).
The trainer takes plain (observations, actions) arrays, so it fits expert data and CCIL's labeled
data (rl_aug.ccil.data format) alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rl_aug.files import atomic_path

OUTPUTS = ("tanh", "linear")
NOISE_SHAPES = ("one_sided", "symmetric")


def positive_int(section: str, name: str, value) -> None:
    """ValueError naming `section.name` unless `value` is an int >= 1 (bools are not counts)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{section}.{name} must be a positive integer, got {value!r}")


def check_budget(section: str, epochs, steps) -> None:
    """A BC trains for `epochs` passes over its data or for `steps` gradient steps: one of them, positive."""
    if epochs is None and steps is None:
        raise ValueError(f"{section}: set {section}.epochs (passes over the training set) or {section}.steps "
                         "(gradient steps), got neither")
    if epochs is not None:
        positive_int(section, "epochs", epochs)
    if steps is not None:
        positive_int(section, "steps", steps)


def batch_indices(n: int, batch: int, steps: int, epochs: bool, generator: torch.Generator):
    """The rows of each gradient step: with `epochs`, shuffled passes of floor(n / batch) batches each (d3rlpy's
    RoundIterator); otherwise `batch` rows drawn with replacement per step."""
    per_epoch = max(1, n // batch)
    perm = torch.randperm(n, generator=generator)
    for step in range(steps):
        if epochs:
            k = step % per_epoch
            if k == 0 and step > 0:
                perm = torch.randperm(n, generator=generator)
            yield perm[k * batch:(k + 1) * batch]
        else:
            yield torch.randint(0, n, (batch,), generator=generator)


@dataclass
class BCConfig:
    hidden: tuple[int, ...] = (256, 256)
    lr: float = 1e-3
    batch_size: int = 512
    epochs: int | None = 200  # passes over the training set (official: policy.train_epochs 200)
    steps: int | None = None  # if set: this many gradient steps instead of epochs
    output: str = "tanh"  # "tanh" (d3rlpy) or "linear"
    obs_std_eps: float = 1e-3  # scaler: (x - mean) / (std + eps); d3rlpy's StandardScaler: 1e-3
    noise_fraction: float = 0.0  # NoiseBC: fraction of each batch whose observations get noise (official 0.5)
    noise_scale: float = 1e-4  # NoiseBC: noise width in standardized units (official: 1e-4, scripts/mujoco.sh)
    noise_shape: str = "one_sided"  # "one_sided": scale * U[0, 1) (official); "symmetric": U(-scale, scale)
    seed: int = 0

    def __post_init__(self) -> None:
        check_budget("bc", self.epochs, self.steps)
        positive_int("bc", "batch_size", self.batch_size)
        if self.output not in OUTPUTS:
            raise ValueError(f"bc.output must be one of {OUTPUTS}, got {self.output!r}")
        if self.noise_shape not in NOISE_SHAPES:
            raise ValueError(f"bc.noise_shape must be one of {NOISE_SHAPES}, got {self.noise_shape!r}")
        if not 0.0 <= self.noise_fraction <= 1.0:
            raise ValueError(f"noise_fraction must be in [0, 1], got {self.noise_fraction}")
        if not self.obs_std_eps > 0:
            raise ValueError(f"bc.obs_std_eps must be > 0, got {self.obs_std_eps}")

    def num_steps(self, n: int) -> int:
        """Gradient steps on a training set of n rows: ``steps``, or epochs * floor(n / batch) (>= 1 per epoch)."""
        if self.steps is not None:
            return self.steps
        return self.epochs * max(1, n // self.batch_size)


class BCPolicy(nn.Module):
    """obs -> action; normalization statistics live in buffers so a saved policy is self-contained."""

    def __init__(self, obs_dim: int, act_dim: int, hidden: tuple[int, ...] = (256, 256), output: str = "tanh",
                 obs_std_eps: float = 1e-3):
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        layers: list[nn.Module] = []
        width = obs_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, act_dim))
        if output == "tanh":
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)
        self.output, self.obs_std_eps = output, float(obs_std_eps)
        self.register_buffer("obs_mean", torch.zeros(obs_dim))
        self.register_buffer("obs_std", torch.ones(obs_dim))  # std + eps
        self.register_buffer("act_low", -torch.ones(act_dim))
        self.register_buffer("act_high", torch.ones(act_dim))

    def fit_normalization(self, observations: np.ndarray, actions: np.ndarray) -> None:
        observations = np.asarray(observations, dtype=np.float64)
        self.obs_mean.copy_(torch.as_tensor(observations.mean(0)))
        self.obs_std.copy_(torch.as_tensor(observations.std(0) + self.obs_std_eps))
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
        with atomic_path(path) as tmp:
            torch.save({"state_dict": self.state_dict(), "obs_dim": len(self.obs_mean),
                        "act_dim": len(self.act_low), "output": self.output, "obs_std_eps": self.obs_std_eps,
                        "hidden": [m.out_features for m in self.net if isinstance(m, nn.Linear)][:-1]}, tmp)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BCPolicy:
        data = torch.load(path, map_location="cpu")
        policy = cls(data["obs_dim"], data["act_dim"], tuple(data["hidden"]), data.get("output", "linear"),
                     data.get("obs_std_eps", 1e-6))
        policy.load_state_dict(data["state_dict"])
        return policy.eval()


def noisebc_noise(shape: tuple[int, ...], config: BCConfig, generator: torch.Generator) -> torch.Tensor:
    """NoiseBC's batch noise in standardized units: rows chosen with probability noise_fraction get
    noise_scale * U[0, 1) (one_sided, official CustomBC.py) or U(-scale, scale) (symmetric); others 0."""
    noisy = torch.rand(shape[0], 1, generator=generator) < config.noise_fraction
    u = torch.rand(shape, generator=generator)
    noise = u * config.noise_scale if config.noise_shape == "one_sided" else (2 * u - 1) * config.noise_scale
    return noisy * noise


def train_bc(observations: np.ndarray, actions: np.ndarray, config: BCConfig,
             normalization: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[BCPolicy, list[float]]:
    """Fit a BCPolicy; ``normalization`` = (obs, actions) to take statistics from (default: the training set).

    Returns the policy (eval mode) and the loss of every gradient step.
    """
    observations = np.asarray(observations, dtype=np.float32)
    actions = np.asarray(actions, dtype=np.float32)
    if observations.ndim != 2 or actions.ndim != 2 or len(observations) != len(actions) or len(actions) == 0:
        raise ValueError(
            f"train_bc expects observations (N, obs_dim) and actions (N, act_dim) with the same N > 0, "
            f"got {observations.shape} and {actions.shape}"
        )
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    policy = BCPolicy(observations.shape[1], actions.shape[1], tuple(config.hidden), config.output,
                      config.obs_std_eps)
    policy.fit_normalization(*(normalization or (observations, actions)))
    x = policy.normalize_obs(torch.as_tensor(observations))
    y = policy.scale_actions(torch.as_tensor(actions))
    if config.output == "tanh":
        y = y.clamp(-1.0, 1.0)  # labels outside the training range (normalization from other data) stay reachable
    optimizer = torch.optim.Adam(policy.net.parameters(), lr=config.lr)
    n, losses = len(x), []
    batch = min(config.batch_size, n)
    policy.train()
    for idx in batch_indices(n, batch, config.num_steps(n), config.steps is None, generator):
        xb = x[idx]
        if config.noise_fraction > 0:
            xb = xb + noisebc_noise(xb.shape, config, generator)
        loss = ((policy.net(xb) - y[idx]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return policy.eval(), losses

