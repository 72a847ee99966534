"""Batched image augmentations for pixel-based RL.

Inputs are (N, C, H, W) tensors, uint8 or float in [0, 255], C = 3*k stacked RGB frames, on any device.
Every op keeps dtype, device and shape (crops excepted), draws one set of parameters per sample shared by
all frames of that sample, takes an optional `torch.Generator`, and never loops over the batch in Python.
"""

from rl_aug.augment.geometric import center_crop, random_crop, random_rotate, random_shift
from rl_aug.augment.overlay import random_overlay
from rl_aug.augment.photometric import color_jitter, cutout, gaussian_noise, grayscale, random_conv
from rl_aug.augment.sources import (
    ImageBank,
    ImageFolderSource,
    ProceduralSource,
    VideoFolderSource,
)
from rl_aug.augment.spec import Augmentation, Compose, parse, register, registered


def identity(x, generator=None):
    """No augmentation (the `none` / `identity` spec)."""
    return x


for _name, _fn in {
    "shift": random_shift,
    "crop": random_crop,
    "center_crop": center_crop,
    "conv": random_conv,
    "overlay": random_overlay,
    "color_jitter": color_jitter,
    "grayscale": grayscale,
    "cutout": cutout,
    "noise": gaussian_noise,
    "rotate": random_rotate,
    "none": identity,
    "identity": identity,
}.items():
    register(_name, _fn)

__all__ = [
    "Augmentation",
    "Compose",
    "ImageBank",
    "ImageFolderSource",
    "ProceduralSource",
    "VideoFolderSource",
    "center_crop",
    "color_jitter",
    "cutout",
    "gaussian_noise",
    "grayscale",
    "identity",
    "parse",
    "random_conv",
    "random_crop",
    "random_overlay",
    "random_rotate",
    "random_shift",
    "register",
    "registered",
]
