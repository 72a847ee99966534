"""Which generated labels to keep: CCIL's distance filter and the follow-up's error-bound filter.

- Distance: keep labels with |s_G - s_t| < epsilon (CCIL; epsilon is task-specific).
- Error bound: the label's error is bounded by local_L * |(s_G, a_G) - (s_t, a_t)|, local_L the
  Jacobian spectral norm of f at the source point; keep labels whose bound is below a maximum
  (``max_error``) or below the ``quantile`` of all bounds.
- Model error: skip labels generated from points where the model's own one-step error is above a
  threshold, since the model is not trusted there.
Each filter returns a boolean mask (True = keep); combine them with ``&``.
"""

from __future__ import annotations

import torch


def distance_mask(s_g: torch.Tensor, s_src: torch.Tensor, epsilon: float) -> torch.Tensor:
    return (s_g - s_src).norm(dim=-1) < epsilon


def error_bound(local_l: torch.Tensor, s_g: torch.Tensor, a_g: torch.Tensor, s_src: torch.Tensor,
                a_src: torch.Tensor) -> torch.Tensor:
    """local_L * |(s_G, a_G) - (s_t, a_t)| per label."""
    gap = torch.cat([s_g - s_src, a_g - a_src], dim=-1).norm(dim=-1)
    return local_l * gap


def error_bound_mask(bound: torch.Tensor, max_error: float | None = None, quantile: float | None = None
                     ) -> torch.Tensor:
    """Keep labels whose bound is <= max_error and/or <= the given quantile of all bounds."""
    if max_error is None and quantile is None:
        raise ValueError("error_bound_mask needs max_error or quantile (or both); got neither")
    keep = torch.ones_like(bound, dtype=torch.bool)
    if max_error is not None:
        keep &= bound <= max_error
    if quantile is not None:
        if not 0.0 < quantile <= 1.0:
            raise ValueError(f"quantile must be in (0, 1], got {quantile}")
        keep &= bound <= torch.quantile(bound, quantile)
    return keep


def model_error_mask(model_error: torch.Tensor, threshold: float) -> torch.Tensor:
    """Keep points where the model's own prediction error |s + f(s,a) - s'| is <= threshold."""
    return model_error <= threshold
