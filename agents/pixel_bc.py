"""Behaviour cloning from pixels: frame stacks -> actions, for CCIL's corrective labels rendered as images.

Why: rl_aug.ccil.pixels draws CCIL's labels (states near the demos) through the same pixel pipeline as the
agent's observations; this is the policy that is trained on them (demo frame stacks, or demo + label frame
stacks) so that pixel BC and pixel BC + CCIL labels can be compared (benchmarks/ccil_pixels.py).

What it follows:

- the image side is DrQ's (Kostrikov et al. 2020; agents/networks.py): the 4-layer conv ``Encoder`` on
  uint8 (3k, H, W) frame stacks, scaled to [0, 1] inside the network, then DrQ's ``Trunk``
  (Linear -> LayerNorm -> tanh, 50 features), orthogonal initialisation; optional DrQ random-shift
  augmentation (``augmentation="shift(pad=4)"``, rl_aug.augment) drawn per batch, never at prediction;
- the regression side is the official CCIL BC's (d3rlpy's, as agents/bc.py): an MLP head of 2x256 ReLU with a
  **tanh output**, MSE, Adam lr 1e-3, actions **min-max scaled to [-1, 1] on the training actions** (buffers in
  the policy, so predictions come back in raw units), and training by **epochs**, each floor(N / batch)
  shuffled batches (so demos + labels get proportionally more steps); ``steps`` fixes the number of gradient
  steps instead (uniform random batches, as agents/bc.py). The batch is 128 (DrQ's) instead of the state BC's
  512: a pixel batch costs ~100x more on a CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from rl_aug.agents.bc import batch_indices, check_budget, positive_int
from rl_aug.agents.networks import Encoder, Trunk, orthogonal_init
from torch import nn

from rl_aug.augment import parse


@dataclass
class PixelBCConfig:
    epochs: int | None = 10  # passes over the training set (floor(N / batch) shuffled batches each)
    steps: int | None = None  # if set: this many gradient steps (random batches) instead of epochs
    batch_size: int = 128
    lr: float = 1e-3
    augmentation: str | None = "shift(pad=4)"  # rl_aug.augment spec applied to every training batch; None: off
    hidden: tuple[int, ...] = (256, 256)
    feature_dim: int = 50  # DrQ's trunk width
    seed: int = 0

    def __post_init__(self) -> None:
        check_budget("pixel_bc", self.epochs, self.steps)
        positive_int("pixel_bc", "batch_size", self.batch_size)
        positive_int("pixel_bc", "feature_dim", self.feature_dim)
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr)
                                                                                       and self.lr > 0):
            raise ValueError(f"pixel_bc.lr must be a finite number > 0, got {self.lr!r}")
        hidden = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else None
        if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"pixel_bc.hidden must be a non-empty list of positive integers, got {self.hidden!r}")
        self.hidden = hidden
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"pixel_bc.seed must be an integer, got {self.seed!r}")  # noqa: TRY004 (one error type for every bad value)
        if self.augmentation is not None:
            if not isinstance(self.augmentation, str):
                raise ValueError(f"pixel_bc.augmentation must be a spec string like 'shift(pad=4)' or None, "
                                 f"got {self.augmentation!r}")
            try:
                parse(self.augmentation)
            except (ValueError, TypeError, SyntaxError) as exc:
                raise ValueError(f"pixel_bc.augmentation: {exc}") from exc

    def num_steps(self, n: int) -> int:
        """Gradient steps on n rows: ``steps``, or epochs * floor(n / batch) (at least 1 per epoch)."""
        if self.steps is not None:
            return int(self.steps)
        return int(self.epochs) * max(1, n // min(self.batch_size, n))


class PixelBCPolicy(nn.Module):
    """uint8 (N, 3k, H, W) frame stacks -> raw actions: DrQ encoder + trunk, MLP head with tanh in [-1, 1] units,
    mapped back through the min-max scaling fitted on the training actions (buffers act_low / act_high)."""

    def __init__(self, obs_shape: tuple[int, int, int], act_dim: int, hidden: tuple[int, ...] = (256, 256),
                 feature_dim: int = 50):
        super().__init__()
        if len(obs_shape) != 3 or obs_shape[0] % 3 != 0:
            raise ValueError(f"expected frame stacks of shape (3k, H, W), got {tuple(obs_shape)}")
        self.obs_shape, self.act_dim = tuple(int(s) for s in obs_shape), int(act_dim)
        self.encoder = Encoder(self.obs_shape)  # scales uint8 to [0, 1] itself
        self.trunk = Trunk(self.encoder.repr_dim, feature_dim)
        layers: list[nn.Module] = []
        width = feature_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        self.head = nn.Sequential(*layers, nn.Linear(width, act_dim), nn.Tanh())
        self.trunk.apply(orthogonal_init)
        self.head.apply(orthogonal_init)
        self.register_buffer("act_low", -torch.ones(act_dim))
        self.register_buffer("act_high", torch.ones(act_dim))

    def fit_action_scaling(self, actions: np.ndarray) -> None:
        """Min-max of the training actions (a constant dimension gets a 1e-6 wide range, as agents/bc.py)."""
        actions = np.asarray(actions, dtype=np.float64)
        low, high = actions.min(0), actions.max(0)
        high = np.where(high - low < 1e-6, low + 1e-6, high)
        self.act_low.copy_(torch.as_tensor(low))
        self.act_high.copy_(torch.as_tensor(high))

    def scale_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Raw actions -> [-1, 1] (training range)."""
        return 2 * (actions - self.act_low) / (self.act_high - self.act_low) - 1

    def unscale_actions(self, scaled: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> raw actions."""
        return self.act_low + (scaled + 1) * (self.act_high - self.act_low) / 2

    def scaled(self, frames: torch.Tensor) -> torch.Tensor:
        """Frame stacks -> actions in [-1, 1] units (what training fits)."""
        return self.head(self.trunk(self.encoder(frames)))

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.unscale_actions(self.scaled(frames))

    @torch.no_grad()
    def predict(self, frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """uint8 (N, 3k, H, W) or one (3k, H, W) stack -> raw actions (N, act_dim), float32, no augmentation."""
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.shape[1:] != self.obs_shape:
            raise ValueError(f"expected frame stacks of shape {self.obs_shape}, got {frames.shape[1:]}")
        was_training = self.training
        self.eval()
        out = [self(torch.from_numpy(np.ascontiguousarray(frames[i:i + batch_size]))).numpy()
               for i in range(0, len(frames), batch_size)]
        self.train(was_training)
        return np.concatenate(out).astype(np.float32)


def train_pixel_bc(frames: np.ndarray, actions: np.ndarray, config: PixelBCConfig) -> PixelBCPolicy:
    """Fit a PixelBCPolicy to (frame stack, action) pairs; returns it in eval mode, with the loss of every
    gradient step in ``policy.train_losses``. ``frames`` stays a uint8 numpy array: batches are gathered from
    it, so the data set is never copied into a float tensor."""
    if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 4:
        raise ValueError(f"train_pixel_bc expects frames as a uint8 numpy array (N, 3k, H, W), got "
                         f"{getattr(frames, 'dtype', type(frames).__name__)} {getattr(frames, 'shape', '')}")
    actions = np.asarray(actions, dtype=np.float32)
    if actions.ndim != 2 or len(actions) != len(frames) or len(actions) == 0:
        raise ValueError(f"train_pixel_bc expects actions (N, act_dim) with the same N > 0 as the frames, got "
                         f"{actions.shape} for frames {frames.shape}")
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    augment = parse(config.augmentation) if config.augmentation is not None else None
    policy = PixelBCPolicy(frames.shape[1:], actions.shape[1], tuple(config.hidden), config.feature_dim)
    policy.fit_action_scaling(actions)
    y = policy.scale_actions(torch.as_tensor(actions)).clamp(-1.0, 1.0)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.lr)
    n = len(frames)
    batch = min(config.batch_size, n)
    losses: list[float] = []
    policy.train()
    for idx in batch_indices(n, batch, config.num_steps(n), config.steps is None, generator):
        idx_np = np.sort(idx.numpy())  # sorted gathers are faster from a large array; order is irrelevant
        xb = torch.from_numpy(frames[idx_np])
        if augment is not None:
            xb = augment(xb, generator=generator)
        loss = ((policy.scaled(xb) - y[idx_np]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    policy.train_losses = losses
    return policy.eval()
