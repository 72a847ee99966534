"""Photometric augmentations: random convolution (SODA / SVEA), colour jitter, grayscale, noise, cutout.

All parameters are drawn once per sample and shared by the sample's stacked frames; the frame axis is
folded into the batch (N, k, 3, H, W) so no Python loop runs over the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rl_aug.augment.checks import (
    as_float,
    check_images,
    check_nonnegative_int,
    check_number,
    check_probability,
    to_output,
)
from rl_aug.precision import native_bf16


def _gen_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _rand(shape: tuple[int, ...], generator: torch.Generator | None, device: torch.device) -> Tensor:
    return torch.rand(shape, generator=generator, device=_gen_device(generator)).to(device)


def _frames(x: Tensor) -> Tensor:
    """(N, 3k, H, W) -> float (N, k, 3, H, W) in [0, 255]."""
    n, c, h, w = x.shape
    return as_float(x).reshape(n, c // 3, 3, h, w)


def conv_with_kernels(x: Tensor, kernels: Tensor, precision: str = "auto") -> Tensor:
    """Apply per-sample 3x3 kernels (N, 3, 3, 3, 3) to every frame of each sample; sigmoid output in [0, 255].

    One grouped convolution: frames become the batch axis and samples the groups, so each sample's kernel
    touches only its own frames. Inputs are scaled to [0, 1] and replicate padded by 1 (DMC-GB random_conv).

    precision: "fp32"; "bf16" (CPU fast path); "auto" = bf16 on a CPU with native bf16 (rl_aug.precision),
    fp32 elsewhere (on an AVX2-only CPU the bf16 path was slower than fp32). On such a CPU a grouped conv
    with 3 channels per group misses oneDNN's vectorized kernels and is slower than a per-sample loop; padding
    each group to 4 channels (a zero channel, zero weights) in bf16 hits them and was several times faster
    than the fp32 grouped conv (see BENCHMARKS.md, "Augmentations"). uint8 pixels are exact in bf16 and
    the kernels (/255) are rounded to bf16 *before* use, so the op is a random conv with bf16-representable
    weights; the conv's bf16 output moves the result by less than 0.23/255 (tests check 0.25), and float
    inputs with fractional values are rounded to bf16 (at most 0.5/255).
    """
    n, c, h, w = x.shape
    k = c // 3
    if precision == "auto":
        precision = "bf16" if x.device.type == "cpu" and native_bf16(x.device) else "fp32"
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"random_conv: expected precision 'auto', 'fp32' or 'bf16', got {precision!r}")
    if precision == "fp32":
        frames = as_float(x).reshape(n, k, 3, h, w).transpose(0, 1).reshape(k, n * 3, h, w)
        frames = F.pad(frames, (1, 1, 1, 1), mode="replicate")
        weight = (kernels.to(frames.dtype) / 255.0).reshape(n * 3, 3, 3, 3)
        y = F.conv2d(frames, weight, groups=n)
    else:
        frames = _padded_bf16_groups(x, n, k, h, w)
        weight = torch.zeros(n, 4, 4, 3, 3, dtype=torch.bfloat16, device=x.device)
        # kernels/255 rounded once to bf16: 255 * these are the kernels applied
        weight[:, :3, :3] = (kernels / 255.0).to(torch.bfloat16)
        z = F.conv2d(frames.view(k, n * 4, h + 2, w + 2), weight.view(n * 4, 4, 3, 3), groups=n)
        y = z.view(k, n, 4, h, w)[:, :, :3].float()
    y = y.sigmoid_().mul_(255.0).view(k, n, 3, h, w)
    out = torch.empty(n, c, h, w, dtype=x.dtype, device=x.device)
    if x.dtype == torch.uint8:
        y.add_(0.5)  # y is in [0, 255]: truncation after +0.5 rounds
    out.view(n, k, 3, h, w).transpose(0, 1).copy_(y)
    return out


def _padded_bf16_groups(x: Tensor, n: int, k: int, h: int, w: int) -> Tensor:
    """(k, N, 4, H+2, W+2) bf16 frames, replicate padded by 1, channel 3 zero (see conv_with_kernels)."""
    frames = torch.zeros(k, n, 4, h + 2, w + 2, dtype=torch.bfloat16, device=x.device)
    inner = frames[:, :, :3]
    src = x.reshape(n, k, 3, h, w).transpose(0, 1)
    inner[..., 1:-1, 1:-1] = src
    inner[..., 0, 1:-1] = src[..., 0, :]
    inner[..., -1, 1:-1] = src[..., -1, :]
    inner[..., :, 0] = inner[..., :, 1]
    inner[..., :, -1] = inner[..., :, -2]
    return frames


def random_conv(x: Tensor, generator: torch.Generator | None = None, precision: str = "auto") -> Tensor:
    """Random convolution (Lee et al. 2020, as used by SODA and SVEA in DMC-GB): per sample a 3x3 kernel
    with N(0, 1) weights mapping RGB to RGB, shared by the sample's frames; output sigmoid(conv) * 255.
    `precision` as in `conv_with_kernels` (default: bf16 fast path on the CPU, fp32 elsewhere).
    """
    n, _, _, _ = check_images(x, "random_conv", rgb=True, generator=generator)
    kernels = torch.randn((n, 3, 3, 3, 3), generator=generator, device=_gen_device(generator)).to(x.device)
    return conv_with_kernels(x, kernels, precision)


def _rgb_to_gray(f: Tensor) -> Tensor:
    """ITU-R 601 luma of (..., 3, H, W), keeping the channel axis (size 1)."""
    r, g, b = f.unbind(-3)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(-3)


def grayscale(x: Tensor, p: float = 1.0, generator: torch.Generator | None = None) -> Tensor:
    """Replace each RGB frame by its luma (copied to the 3 channels), for a fraction `p` of the samples."""
    n, c, h, w = check_images(x, "grayscale", rgb=True, generator=generator)
    check_probability(p, "grayscale", "p")
    f = _frames(x)
    gray = _rgb_to_gray(f).expand_as(f)
    apply = (_rand((n,), generator, x.device) < p).view(n, 1, 1, 1, 1)
    return to_output(torch.where(apply, gray, f).reshape(n, c, h, w), x)


# RGB <-> YIQ (NTSC): hue is an angle in the IQ (chroma) plane, so a hue shift is a rotation there.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)
_LUMA = _RGB_TO_YIQ[0]


def color_jitter_matrices(brightness: Tensor, contrast: Tensor, saturation: Tensor, hue: Tensor) -> Tensor:
    """Per-sample 3x3 colour maps A = c * b * Hue(h) @ Sat(s) for factor tensors of shape (N,).

    Sat(s) = s I + (1 - s) 1 luma^T blends each pixel with its grey; Hue(h) rotates chroma by 2 pi h turns
    in YIQ space. Both keep grey pixels grey (A 1 = c b 1), which is what lets contrast become an offset.
    """
    n = brightness.shape[0]
    eye = torch.eye(3).expand(n, 3, 3)
    sat = saturation.view(n, 1, 1) * eye + (1 - saturation.view(n, 1, 1)) * _LUMA.expand(n, 3, 3)
    angle = 2 * torch.pi * hue
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(n, 3, 3)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    hue_map = _YIQ_TO_RGB @ rot @ _RGB_TO_YIQ
    return (contrast * brightness).view(n, 1, 1) * (hue_map @ sat)


def color_jitter(
    x: Tensor,
    brightness: float = 0.4,
    contrast: float = 0.4,
    saturation: float = 0.4,
    hue: float = 0.1,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Random brightness, contrast, saturation (factors in [1-b, 1+b]) and hue (in [-hue, hue] turns), one set
    per sample shared by its frames. Defaults follow RAD's colour jitter (Laskin et al. 2020) in spirit.

    The four steps are composed into one affine colour map per sample, applied as a single batched matmul
    (written by hand, no torchvision on the CPU): brightness scales, contrast blends with each frame's mean
    grey (an offset, because the other maps keep grey pixels grey), saturation blends with the pixel's grey,
    and hue rotates the chroma plane in YIQ space (a linear stand-in for an HSV hue shift). Values are clipped
    to [0, 255] once, at the end, not after each step.
    """
    n, c, h, w = check_images(x, "color_jitter", rgb=True, generator=generator)
    for arg, value in (("brightness", brightness), ("contrast", contrast), ("saturation", saturation)):
        check_number(value, "color_jitter", arg, low=0)
    check_number(hue, "color_jitter", "hue", low=0, high=0.5)
    u = _rand((n, 4), generator, torch.device("cpu")) * 2 - 1  # one row of factors per sample
    b, con = 1 + brightness * u[:, 0], 1 + contrast * u[:, 1]
    matrices = color_jitter_matrices(b, con, 1 + saturation * u[:, 2], hue * u[:, 3]).to(x.device)
    k = c // 3
    f = as_float(x).reshape(n * k, 3, h * w)
    grey_mean = (f.mean(-1) * _LUMA.to(x.device)).sum(-1).view(n, k)  # per frame, before brightness
    offset = ((1 - con) * b).to(x.device).view(n, 1) * grey_mean
    out = torch.bmm(matrices.unsqueeze(1).expand(n, k, 3, 3).reshape(n * k, 3, 3), f)
    out = out.add_(offset.view(n * k, 1, 1)).clamp_(0, 255)
    return to_output(out.reshape(n, c, h, w), x)


def gaussian_noise(x: Tensor, std: float = 8.0, generator: torch.Generator | None = None) -> Tensor:
    """Additive N(0, std^2) pixel noise in 0-255 units, clipped to [0, 255]. Noise is i.i.d. per pixel and
    frame (it is the parameter-free part); `std` is shared by the whole batch."""
    check_images(x, "gaussian_noise", rgb=False, generator=generator)
    check_number(std, "gaussian_noise", "std", low=0)
    noise = torch.randn(x.shape, generator=generator, device=_gen_device(generator)).to(x.device)
    return to_output((as_float(x) + std * noise).clamp_(0, 255), x)


def cutout(
    x: Tensor, size: int = 16, p: float = 1.0, value: float = 0.0, generator: torch.Generator | None = None
) -> Tensor:
    """Random erasing: a `size` x `size` square at a random position per sample (the same square in all its
    frames) is set to `value`, for a fraction `p` of the samples (DeVries & Taylor 2017; RAD's cutout)."""
    n, _, h, w = check_images(x, "cutout", rgb=False, generator=generator)
    check_nonnegative_int(size, "cutout", "size")
    check_probability(p, "cutout", "p")
    check_number(value, "cutout", "value", low=0, high=255)  # images are in 0-255 units, uint8 or float
    if size > min(h, w):
        raise ValueError(f"cutout: expected size at most the image side {min(h, w)}, got {size}")
    u = _rand((n, 3), generator, x.device)
    top = (u[:, 0] * (h - size + 1)).long().clamp_(max=h - size)
    left = (u[:, 1] * (w - size + 1)).long().clamp_(max=w - size)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    in_rows = (rows >= top.view(n, 1, 1)) & (rows < (top + size).view(n, 1, 1))
    in_cols = (cols >= left.view(n, 1, 1)) & (cols < (left + size).view(n, 1, 1))
    inside = in_rows & in_cols & (u[:, 2] < p).view(n, 1, 1)
    return x.masked_fill(inside[:, None], value)
