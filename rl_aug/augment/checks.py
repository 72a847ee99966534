"""Input checks shared by every augmentation: done once at the boundary, with messages that name the fix."""

from __future__ import annotations

import torch
from torch import Tensor


def check_images(x: Tensor, name: str, rgb: bool = True) -> tuple[int, int, int, int]:
    """Validate a batch of stacked frames and return (N, C, H, W).

    `rgb=True` requires C to be a multiple of 3 (stacked RGB frames); grayscale stacks pass `rgb=False`.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (add a batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    n, c, h, w = x.shape
    if n == 0:
        raise ValueError(f"{name}: expected a non-empty batch, got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected uint8 or floating point images in [0, 255], got {x.dtype}")
    if w <= 12 and w % 3 == 0 and c > 4 * w:
        raise ValueError(
            f"{name}: expected channels first (N, C, H, W), got shape {tuple(x.shape)}, which looks channels last "
            f"(N, H, W, C={w}); use x.permute(0, 3, 1, 2)"
        )
    if rgb and c % 3 != 0:
        raise ValueError(
            f"{name}: expected C a multiple of 3 (stacked RGB frames), got C={c} in shape {tuple(x.shape)}; "
            "channels last? use x.permute(0, 3, 1, 2); grayscale stacks: pass rgb=False where supported"
        )
    return n, c, h, w


def check_nonnegative_int(value: int, name: str, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: expected {arg} a non-negative int, got {value!r}")
    return value


def check_probability(value: float, name: str, arg: str) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name}: expected {arg} in [0, 1], got {value!r}")
    return float(value)


def to_output(y: Tensor, like: Tensor) -> Tensor:
    """Cast a float result in [0, 255] back to the input's dtype (uint8: rounded and clamped)."""
    if like.dtype == torch.uint8:
        return y.round_().clamp_(0, 255).to(torch.uint8)
    return y.to(like.dtype)


def as_float(x: Tensor) -> Tensor:
    """Float32 view/copy of images in [0, 255] (floating inputs of another precision are upcast)."""
    return x.float() if x.dtype != torch.float32 else x
