"""Image sources for random_overlay: where the blended-in images come from.

DMC-GB overlays Places365 images; rl-aug works with no data at all (a procedural source), with a folder of
images the user has, or with a folder of videos (e.g. the DMC-GB background videos). Each source builds a
bank of uint8 images once per requested size and samples from it by index, so overlaying is one gather.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from rl_aug.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES, list_media, read_image, read_video


class ImageBank:
    """Base class: subclasses build `_build(height, width) -> uint8 (M, 3, H, W)`; sampling is shared."""

    def __init__(self) -> None:
        self._banks: dict[tuple[int, int], Tensor] = {}

    def _build(self, height: int, width: int) -> Tensor:
        raise NotImplementedError

    def bank(self, height: int, width: int) -> Tensor:
        key = (height, width)
        if key not in self._banks:
            images = self._build(height, width)
            if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] != 3:
                raise ValueError(
                    f"{type(self).__name__}: expected a uint8 bank (M, 3, H, W), got {images.dtype} {tuple(images.shape)}"
                )
            self._banks[key] = images.contiguous()
        return self._banks[key]

    def sample(self, n: int, height: int, width: int, generator: torch.Generator | None = None) -> Tensor:
        """n images (n, 3, height, width) uint8 on the CPU, drawn uniformly with replacement."""
        images = self.bank(height, width)
        gen_device = generator.device if generator is not None else torch.device("cpu")
        idx = torch.randint(0, images.shape[0], (n,), generator=generator, device=gen_device).cpu()
        return images.index_select(0, idx)

    def __len__(self) -> int:
        return next(iter(self._banks.values())).shape[0] if self._banks else 0


class ProceduralSource(ImageBank):
    """Distractor images with no data: smooth colour gradients, value noise and random discs, built from a
    seed (so runs are reproducible). A stand-in for Places365 when the user has no image folder."""

    def __init__(self, count: int = 256, seed: int = 0) -> None:
        super().__init__()
        if count <= 0:
            raise ValueError(f"ProceduralSource: expected count > 0, got {count}")
        self.count, self.seed = count, seed

    def _build(self, height: int, width: int) -> Tensor:
        g = torch.Generator().manual_seed(self.seed)
        m = self.count
        ys = torch.linspace(0, 1, height).view(1, 1, height, 1)
        xs = torch.linspace(0, 1, width).view(1, 1, 1, width)
        # gradients: a random colour at each of two corners, a random direction
        angle = torch.rand(m, 1, 1, 1, generator=g) * 2 * math.pi
        t = (torch.cos(angle) * xs + torch.sin(angle) * ys + 1.5) / 3.0
        c0, c1 = torch.rand(m, 3, 1, 1, generator=g), torch.rand(m, 3, 1, 1, generator=g)
        images = c0 + (c1 - c0) * t
        # value noise: a coarse random grid upsampled smoothly
        coarse = torch.rand(m, 3, 6, 6, generator=g)
        noise = torch.nn.functional.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=False)
        images = 0.6 * images + 0.4 * noise
        # three discs per image in random colours
        for _ in range(3):
            cy, cx = torch.rand(m, 1, 1, 1, generator=g), torch.rand(m, 1, 1, 1, generator=g)
            r = 0.05 + 0.2 * torch.rand(m, 1, 1, 1, generator=g)
            colour = torch.rand(m, 3, 1, 1, generator=g)
            disc = ((ys - cy) ** 2 + (xs - cx) ** 2) < r**2
            images = torch.where(disc, colour, images)
        return (images.clamp(0, 1) * 255).round().to(torch.uint8)


class ImageFolderSource(ImageBank):
    """All images under a folder (recursively), e.g. a Places365 subset, resized to the observation size."""

    def __init__(self, directory: str | Path, max_images: int = 2000) -> None:
        super().__init__()
        self.files = list_media(directory, IMAGE_SUFFIXES)[:max_images]

    def _build(self, height: int, width: int) -> Tensor:
        arrays = [read_image(str(p), (height, width)) for p in self.files]
        return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)


class VideoFolderSource(ImageBank):
    """Frames of every video under a folder (e.g. DMC-GB's video_hard), every `stride`-th frame kept."""

    def __init__(self, directory: str | Path, stride: int = 10, max_frames_per_video: int = 1000) -> None:
        super().__init__()
        if stride <= 0:
            raise ValueError(f"VideoFolderSource: expected stride > 0, got {stride}")
        self.files = list_media(directory, VIDEO_SUFFIXES)
        self.stride, self.max_frames = stride, max_frames_per_video

    def _build(self, height: int, width: int) -> Tensor:
        frames = [read_video(str(p), (height, width), self.max_frames)[:: self.stride] for p in self.files]
        return torch.from_numpy(np.concatenate(frames)).permute(0, 3, 1, 2)


def as_source(source: ImageBank | str | Path | None) -> ImageBank:
    """None -> the procedural source; a folder -> images, or videos when it holds no images."""
    if source is None:
        return _default_procedural()
    if isinstance(source, ImageBank):
        return source
    if isinstance(source, (str, Path)):
        try:
            return ImageFolderSource(source)
        except FileNotFoundError:
            return VideoFolderSource(source)
    raise TypeError(
        f"random_overlay: expected source None, a folder path or an ImageBank, got {type(source).__name__}"
    )


_PROCEDURAL: ProceduralSource | None = None


def _default_procedural() -> ProceduralSource:
    global _PROCEDURAL
    if _PROCEDURAL is None:
        _PROCEDURAL = ProceduralSource()
    return _PROCEDURAL
