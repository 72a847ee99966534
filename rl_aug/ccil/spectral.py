"""Per-layer spectral-norm cap: the hard Lipschitz control of CCIL's dynamics model.

CCIL (Ke et al., ICLR 2024) bounds the dynamics MLP's Lipschitz constant by normalizing each linear
layer's spectral norm; ReLU is 1-Lipschitz, so a product of per-layer caps bounds the whole net.
We *cap* (W * min(1, K / sigma(W))) rather than fix the norm at K, so layers that are already smooth
are left alone. sigma is estimated by power iteration with persistent vectors (as torch's own
spectral_norm does), because an exact SVD of every layer at every step costs far more than the few matrix-vector
products of one power-iteration step.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import parametrize


class CappedSpectralNorm(nn.Module):
    """Parametrization W -> W * min(1, K / sigma_max(W)), sigma by power iteration."""

    def __init__(self, weight: torch.Tensor, cap: float, n_power_iterations: int = 1, eps: float = 1e-12):
        super().__init__()
        if cap <= 0:
            raise ValueError(f"spectral-norm cap K must be > 0, got {cap}")
        self.cap = float(cap)
        self.n_power_iterations = int(n_power_iterations)
        self.eps = eps
        out_features, in_features = weight.shape
        generator = torch.Generator().manual_seed(0)
        u = torch.randn(out_features, generator=generator)
        v = torch.randn(in_features, generator=generator)
        self.register_buffer("_u", u / u.norm().clamp_min(eps))
        self.register_buffer("_v", v / v.norm().clamp_min(eps))
        self.power_iterate(weight.detach(), 15)

    @torch.no_grad()
    def power_iterate(self, weight: torch.Tensor, iterations: int) -> None:
        """Refine the persistent singular vectors in place (no gradient flows through them)."""
        for _ in range(iterations):
            self._v.copy_(nn.functional.normalize(weight.t() @ self._u, dim=0, eps=self.eps))
            self._u.copy_(nn.functional.normalize(weight @ self._v, dim=0, eps=self.eps))

    def sigma(self, weight: torch.Tensor) -> torch.Tensor:
        return torch.dot(self._u, weight @ self._v)

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.power_iterate(weight.detach(), self.n_power_iterations)
        sigma = self.sigma(weight).clamp_min(self.eps)
        return weight * torch.clamp(self.cap / sigma, max=1.0)


def cap_spectral_norm(module: nn.Module, cap: float, n_power_iterations: int = 1) -> nn.Module:
    """Cap the spectral norm of every nn.Linear inside ``module`` at ``cap`` (in place; returns it)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            parametrize.register_parametrization(
                layer, "weight", CappedSpectralNorm(layer.weight, cap, n_power_iterations)
            )
    return module


@torch.no_grad()
def converge_spectral_estimates(module: nn.Module, iterations: int = 50) -> None:
    """Run extra power iterations on every capped layer, e.g. before reporting or label generation."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear) and parametrize.is_parametrized(layer, "weight"):
            for p in layer.parametrizations.weight:
                if isinstance(p, CappedSpectralNorm):
                    p.power_iterate(layer.parametrizations.weight.original, iterations)
