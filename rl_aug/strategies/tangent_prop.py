"""Tangent prop on the critic (Hu, Jiang, Weng 2024, "Revisiting Data Augmentation in Deep RL";
code: Jianshu-Hu/drqv2, drqv2.py `tangent_vector` and `update_critic`).

Penalises the directional derivative of min(Q1, Q2) along the tangent of a one-pixel translation, so the
critic is smooth along the very transformation the shift augmentation samples:

    t_i = shift_1px(x_i) - x_i        (0-255 units, replicate padded, one of 4 directions)
    J_i = d min(Q1, Q2)(x_i, a_i) / d x_i      (double backprop: create_graph=True)
    penalty = sum over critic views of mean_i (sum_pixels J_i * t_i)^2,      weight 0.1

As in Hu et al., J is taken on the same forward pass as the critic loss, and the penalty of each view is a
batch mean, summed over the views (they average the critic loss over views but sum the two penalties).
Hu et al. draw one direction per batch; we draw one per sample (same penalty in expectation, lower variance).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from rl_aug.strategies.base import Regularizer

# direction -> (row offset, column offset) read from the replicate-padded image: out[i, j] = x[i + dy, j + dx]
DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (0, -1), (1, 0), (-1, 0))


def one_pixel_tangent(x: Tensor, direction: Tensor) -> Tensor:
    """shift(x) - x with one direction per sample: 0 = content moves left, 1 = right, 2 = up, 3 = down.

    x: float (N, C, H, W); direction: long (N,). Edges are replicate padded, so their tangent is zero
    along the shift.
    """
    h, w = x.shape[-2:]
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    shifted = torch.empty_like(x)
    for d, (dy, dx) in enumerate(DIRECTIONS):  # 4 directions, vectorised over the batch
        rows = direction == d
        if bool(rows.any()):
            shifted[rows] = padded[rows, :, 1 + dy: 1 + dy + h, 1 + dx: 1 + dx + w]
    return shifted - x


class TangentProp(Regularizer):
    """Critic penalty: squared derivative of min(Q1, Q2) along one-pixel translations (weight 0.1, Hu et al.)."""

    name = "tangent_prop"
    requirements = ("q_values",)
    needs_input_grad = True

    def __init__(self, weight: float = 0.1, directions: Sequence[int] = (0, 1, 2, 3)) -> None:
        super().__init__(weight)
        directions = tuple(int(d) for d in directions)
        if not directions or any(d not in range(4) for d in directions):
            raise ValueError(f"expected directions drawn from 0..3 (left, right, up, down), got {directions}")
        self.directions = directions

    def critic_penalty(self, obs: Tensor, q1: Tensor, q2: Tensor, n_views: int,
                       generator: torch.Generator) -> Tensor:
        n = obs.shape[0]
        choice = torch.randint(0, len(self.directions), (n,), generator=generator, device=obs.device)
        direction = torch.as_tensor(self.directions, device=obs.device)[choice]
        with torch.no_grad():
            tangent = one_pixel_tangent(obs.detach(), direction)
        (jacobian,) = torch.autograd.grad(torch.min(q1, q2).sum(), obs, create_graph=True)
        directional = (jacobian * tangent).flatten(1).sum(1)
        return n_views * directional.pow(2).mean()

    def config(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "weight": self.weight}
        if self.directions != (0, 1, 2, 3):
            out["directions"] = list(self.directions)
        return out
