"""Geometric augmentations: random shift (DrQ, DrQ-v2), random / center crop (RAD), small rotations.

Shift and crop are integer translations, so they are written as one `index_select` of image rows out of an
overlapping strided view of the (column-padded) input: every output row is a contiguous run of W pixels
starting at a computed flat offset. That is exact for any dtype, has no Python loop over the batch, and on a
CPU is much faster than DrQ-v2's float `grid_sample` (see BENCHMARKS.md, "Augmentations"); written by hand
because no library op does a per-sample integer crop as one gather.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from rl_aug.augment.checks import as_float, check_images, check_nonnegative_int, check_number, to_output


def _randint(high: int, n: int, generator: torch.Generator | None, device: torch.device) -> Tensor:
    """n integers uniform in [0, high), drawn on the generator's device and moved to `device`."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    return torch.randint(0, high, (n,), generator=generator, device=gen_device).to(device)


def _crop_rows(flat: Tensor, starts: Tensor, out_w: int) -> Tensor:
    """Rows of `out_w` contiguous elements starting at flat offsets `starts` of a contiguous 1-D buffer.

    The gather runs on the buffer's bytes (a float32 row is 4*out_w bytes at 4*start): torch's index_select
    over an overlapping strided view is a fast row copy for uint8 but an element-wise loop for other dtypes.
    """
    size = flat.element_size()
    data = flat.view(torch.uint8) if size > 1 else flat
    width, offsets = out_w * size, starts * size if size > 1 else starts
    windows = data.as_strided((data.numel() - width + 1, width), (1, 1))
    rows = windows.index_select(0, offsets)
    return rows.view(flat.dtype) if size > 1 else rows


def shift_with_offsets(x: Tensor, pad: int, oy: Tensor, ox: Tensor) -> Tensor:
    """Replicate-pad by `pad` then crop H x W at per-sample offsets (oy, ox) in [0, 2*pad] (no checks)."""
    n, c, h, w = x.shape
    if pad == 0:
        return x.clone()
    wp = w + 2 * pad
    # Columns are replicate-padded once into a buffer; rows are clamped through the gather index instead
    # of being padded, which saves a copy.
    buf = torch.empty(n * c * h, wp, dtype=x.dtype, device=x.device)
    rows = x.reshape(n * c * h, w)
    buf[:, pad : pad + w] = rows
    buf[:, :pad] = rows[:, :1]
    buf[:, pad + w :] = rows[:, -1:]
    src_row = (torch.arange(h, device=x.device)[None] + oy[:, None] - pad).clamp_(0, h - 1)  # (N, H)
    plane = torch.arange(n * c, device=x.device).view(n, c, 1) * h
    starts = ((plane + src_row[:, None, :]) * wp + ox.view(n, 1, 1)).reshape(-1)
    return _crop_rows(buf.view(-1), starts, w).view(n, c, h, w)


def random_shift(x: Tensor, pad: int = 4, generator: torch.Generator | None = None) -> Tensor:
    """DrQ / DrQ-v2 random shift: replicate-pad by `pad`, then crop back to H x W at a random integer offset.

    One (dy, dx) per sample, shared by all stacked frames of that sample. DrQ-v2's grid_sample at integer
    offsets (align_corners=False) is numerically this crop (Yarats et al. 2021, drqv2.py RandomShiftsAug).
    Default pad 4 (DrQ, Kostrikov et al. 2020, Sec. 3.1).
    """
    n, _, h, w = check_images(x, "random_shift", rgb=False, generator=generator)
    check_nonnegative_int(pad, "random_shift", "pad")
    if pad > max(h, w):  # a larger pad only replicates edge pixels further, and costs (W + 2 pad) per row
        raise ValueError(f"random_shift: expected pad at most the image side {max(h, w)}, got {pad}")
    oy = _randint(2 * pad + 1, n, generator, x.device)
    ox = _randint(2 * pad + 1, n, generator, x.device)
    return shift_with_offsets(x, pad, oy, ox)


def _check_size(size: int | tuple[int, int], h: int, w: int, name: str) -> tuple[int, int]:
    pair = [size, size] if not isinstance(size, (tuple, list)) else list(size)
    if len(pair) != 2:
        raise ValueError(f"{name}: expected size an int or (height, width), got {size!r}")
    out_h, out_w = (int(check_number(v, name, "size", low=1, integer=True)) for v in pair)
    if out_h > h or out_w > w:
        raise ValueError(f"{name}: expected a crop size at most the image size {h}x{w}, got {out_h}x{out_w}")
    return out_h, out_w


def crop_with_offsets(x: Tensor, out_h: int, out_w: int, oy: Tensor, ox: Tensor) -> Tensor:
    """Crop out_h x out_w at per-sample offsets (no checks)."""
    n, c, h, w = x.shape
    flat = x.contiguous().view(-1)
    plane = torch.arange(n * c, device=x.device).view(n, c, 1) * h
    rows = oy.view(n, 1, 1) + torch.arange(out_h, device=x.device).view(1, 1, out_h)
    starts = ((plane + rows) * w + ox.view(n, 1, 1)).reshape(-1)
    return _crop_rows(flat, starts, out_w).view(n, c, out_h, out_w)


def random_crop(x: Tensor, size: int | tuple[int, int] = 84, generator: torch.Generator | None = None) -> Tensor:
    """RAD random crop (Laskin et al. 2020): a random `size` window, e.g. 100 -> 84, one per sample."""
    n, _, h, w = check_images(x, "random_crop", rgb=False, generator=generator)
    out_h, out_w = _check_size(size, h, w, "random_crop")
    oy = _randint(h - out_h + 1, n, generator, x.device)
    ox = _randint(w - out_w + 1, n, generator, x.device)
    return crop_with_offsets(x, out_h, out_w, oy, ox)


def center_crop(x: Tensor, size: int | tuple[int, int] = 84, generator: torch.Generator | None = None) -> Tensor:
    """The deterministic evaluation counterpart of random_crop (`generator` is accepted and ignored)."""
    _, _, h, w = check_images(x, "center_crop", rgb=False, generator=generator)
    out_h, out_w = _check_size(size, h, w, "center_crop")
    top, left = (h - out_h) // 2, (w - out_w) // 2
    return x[:, :, top : top + out_h, left : left + out_w].contiguous()


def random_rotate(
    x: Tensor, degrees: float = 5.0, generator: torch.Generator | None = None
) -> Tensor:
    """Small random rotation in [-degrees, degrees] about the centre, bilinear, border pixels replicated."""
    n, _, _, _ = check_images(x, "random_rotate", rgb=False, generator=generator)
    check_number(degrees, "random_rotate", "degrees", low=0)
    gen_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(n, generator=generator, device=gen_device).to(x.device)
    theta = (2 * u - 1) * math.radians(degrees)
    cos, sin = torch.cos(theta), torch.sin(theta)
    zero = torch.zeros_like(cos)
    affine = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
    grid = F.affine_grid(affine, list(x.shape), align_corners=False)
    y = F.grid_sample(as_float(x), grid, mode="bilinear", padding_mode="border", align_corners=False)
    return to_output(y, x)
