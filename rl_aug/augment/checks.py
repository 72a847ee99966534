"""Input checks shared by every augmentation: done once at the boundary, with messages that name the fix."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def check_images(x: Tensor, name: str, rgb: bool = True, generator: object = None) -> tuple[int, int, int, int]:
    """Validate a batch of stacked frames (and the op's `generator`) and return (N, C, H, W).

    `rgb=True` requires C to be a multiple of 3 (stacked RGB frames); grayscale stacks pass `rgb=False`.
    """
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"{name}: expected generator a torch.Generator or None, got {type(generator).__name__} "
                        f"{generator!r}")
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.ndim != 4:
        hint = " (add a batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"{name}: expected a 4-D tensor (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    n, c, h, w = x.shape
    if n == 0:
        raise ValueError(f"{name}: expected a non-empty batch, got shape {tuple(x.shape)}")
    if h == 0 or w == 0:
        raise ValueError(f"{name}: expected images of height and width >= 1, got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.dtype.is_floating_point:
        raise TypeError(f"{name}: expected uint8 or floating point images in [0, 255], got {x.dtype}")
    if w <= 12 and w % 3 == 0 and c > 4 * w:
        raise ValueError(
            f"{name}: expected channels first (N, C, H, W), got shape {tuple(x.shape)}, which looks channels last "
            f"(N, H, W, C={w}); use x.permute(0, 3, 1, 2)"
        )
    if x.dtype.is_floating_point and x.device.type == "cpu" and x.numel():
        # The common mistake of passing images scaled to [0, 1]: every op here works in 0-255 units. (On an
        # accelerator this test would cost a host sync per call, so it runs on CPU tensors only.)
        low, high = (float(v) for v in torch.aminmax(x))
        if not (math.isfinite(low) and math.isfinite(high)):  # NaN / inf would pass through every op silently
            bad = int((~torch.isfinite(x)).sum())
            raise ValueError(f"{name}: expected finite images in [0, 255], got a float batch with {bad} NaN or "
                             "infinite value(s)")
        top = high
        if 0.0 < top <= 1.0:
            raise ValueError(f"{name}: expected images in [0, 255], got a float batch whose max is {top:.3g}, "
                             "which looks scaled to [0, 1]; pass x * 255 (or the uint8 images)")
    if rgb and c % 3 != 0:
        raise ValueError(
            f"{name}: expected C a multiple of 3 (stacked RGB frames), got C={c} in shape {tuple(x.shape)}; "
            "channels last? use x.permute(0, 3, 1, 2); grayscale stacks: pass rgb=False where supported"
        )
    return n, c, h, w


def check_number(value: object, name: str, arg: str, *, low: float | None = None, high: float | None = None,
                 integer: bool = False) -> float:
    """`value` as a number in [low, high] (an int when `integer`); TypeError for a string, a bool or NaN,
    ValueError out of range, each naming the op, the argument, what was expected and what came."""
    if integer and low == 0 and high is None:
        wanted = f"{arg} a non-negative int"
    elif not integer and low is not None and high is not None:
        wanted = f"{arg} in [{low:g}, {high:g}]"
    else:
        bounds = (f" >= {low:g}" if high is None else f" in [{low:g}, {high:g}]") if low is not None else (
            f" <= {high:g}" if high is not None else "")
        wanted = f"{arg} {'an int' if integer else 'a number'}{bounds}"
    types = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, types) or (not integer and not math.isfinite(value)):
        raise TypeError(f"{name}: expected {wanted}, got {type(value).__name__} {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name}: expected {wanted}, got {value!r}")
    return value


def check_nonnegative_int(value: int, name: str, arg: str) -> int:
    return int(check_number(value, name, arg, low=0, integer=True))


def check_probability(value: float, name: str, arg: str) -> float:
    return float(check_number(value, name, arg, low=0.0, high=1.0))


def to_output(y: Tensor, like: Tensor) -> Tensor:
    """Cast a float result in [0, 255] back to the input's dtype (uint8: rounded and clamped)."""
    if like.dtype == torch.uint8:
        return y.round_().clamp_(0, 255).to(torch.uint8)
    return y.to(like.dtype)


def as_float(x: Tensor) -> Tensor:
    """Float32 view/copy of images in [0, 255] (floating inputs of another precision are upcast)."""
    return x.float() if x.dtype != torch.float32 else x
