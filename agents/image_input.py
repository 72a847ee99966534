"""The first step of every image encoder (conv stack and ViT alike), in one place so both read pixels the same way."""

from __future__ import annotations

from torch import Tensor


def scaled_pixels(obs: Tensor, input_crop: int | None, offset: float) -> Tensor:
    """What every image encoder does first: the center `input_crop` of larger images, then [0, 255] -> [0, 1] minus
    `offset` (0 for DrQ's SAC, 0.5 for DrQ-v2), in float."""
    if input_crop is not None and (obs.shape[-2] > input_crop or obs.shape[-1] > input_crop):
        top, left = (obs.shape[-2] - input_crop) // 2, (obs.shape[-1] - input_crop) // 2
        obs = obs[..., top:top + input_crop, left:left + input_crop]
    return obs.float() / 255.0 - offset if offset else obs.float() / 255.0
