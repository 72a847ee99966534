"""Random overlay (Hansen & Wang 2021, SODA / SVEA): blend each observation with a distractor image."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from rl_aug.augment.checks import as_float, check_images, check_probability, to_output
from rl_aug.augment.sources import ImageBank, as_source


def overlay_with_images(x: Tensor, images: Tensor, alpha: float) -> Tensor:
    """(1 - alpha) * x + alpha * image, the same image (N, 3, H, W) for every frame of a sample."""
    n, c, h, w = x.shape
    frames = as_float(x).reshape(n, c // 3, 3, h, w)
    blend = torch.lerp(frames, images.to(frames.device, frames.dtype).unsqueeze(1), alpha)
    return to_output(blend.reshape(n, c, h, w), x)


def random_overlay(
    x: Tensor,
    alpha: float = 0.5,
    source: ImageBank | str | Path | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Overlay with images from `source` (None: procedural; a folder of images or videos; an ImageBank).

    alpha 0.5 is DMC-GB's default (SODA, SVEA: ((1 - 0.5) * x/255 + 0.5 * img) * 255).
    """
    n, _, h, w = check_images(x, "random_overlay", rgb=True, generator=generator)
    check_probability(alpha, "random_overlay", "alpha")
    images = as_source(source).sample(n, h, w, generator)
    return overlay_with_images(x, images, alpha)
