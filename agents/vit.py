"""A small Vision Transformer image encoder, the alternative to the DrQ conv stack (`agent.encoder=vit`).

SVEA (Hansen, Su, Wang 2021) shows its stabilised targets also train a ViT encoder from pixels, where plain
augmented Q-learning does not. This encoder follows the usual ViT recipe: non-overlapping P x P patches embedded by
one strided convolution, a learned position embedding per patch, `depth` pre-norm Transformer blocks (torch's own
`nn.TransformerEncoderLayer`: multi-head self-attention and a GELU MLP of `mlp_ratio * width`), a final LayerNorm.
Its output is every patch token, flattened (N, patches * width), so the agents' trunk (Linear -> LayerNorm -> tanh)
consumes it exactly as it consumes the flattened conv features, and every strategy works unchanged.

Defaults: patch 8, depth 4, 8 heads, MLP ratio 1 as in public ports of SVEA's ViT experiments; width 128 (those ports
use wider tokens; 128 keeps a CPU update affordable: BENCHMARKS.md gives parameter counts and update times).
An image side that is not a multiple of the patch size drops the last partial row/column of patches (84 px with
patch 8: a 10 x 10 grid over the top-left 80 x 80 pixels; random shift moves content in and out of it anyway).
"""

from __future__ import annotations

import torch
from rl_aug.agents.image_input import scaled_pixels
from torch import Tensor, nn


class ViTEncoder(nn.Module):
    """(N, C, H, W) in [0, 255] -> (N, repr_dim) patch tokens; repr_dim = patches * width."""

    def __init__(self, obs_shape: tuple[int, int, int], patch_size: int = 8, depth: int = 4, width: int = 128,
                 heads: int = 8, mlp_ratio: float = 1.0, offset: float = 0.0,
                 input_crop: int | None = None) -> None:
        super().__init__()
        channels, height, width_px = obs_shape
        if input_crop is not None:
            height = width_px = int(input_crop)
        for name, value in (("patch_size", patch_size), ("depth", depth), ("width", width), ("heads", heads)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected vit_{name} a positive int, got {value!r}")
        if width % heads:
            raise ValueError(f"expected vit_width divisible by vit_heads (each head gets width / heads), got "
                             f"width {width} and {heads} heads")
        if not mlp_ratio > 0:
            raise ValueError(f"expected vit_mlp_ratio > 0, got {mlp_ratio!r}")
        grid_h, grid_w = height // patch_size, width_px // patch_size
        if grid_h < 1 or grid_w < 1:
            raise ValueError(f"expected images of at least {patch_size}x{patch_size} pixels for vit_patch_size "
                             f"{patch_size}, got {height}x{width_px}")
        self.input_crop, self.offset, self.patch_size = input_crop, offset, patch_size
        self.patches = grid_h * grid_w
        self.embed = nn.Conv2d(channels, width, kernel_size=patch_size, stride=patch_size)
        self.position = nn.Parameter(torch.zeros(1, self.patches, width))
        nn.init.trunc_normal_(self.position, std=0.02)
        block = nn.TransformerEncoderLayer(width, heads, dim_feedforward=max(1, round(mlp_ratio * width)),
                                           dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.repr_dim = self.patches * width

    def forward(self, obs: Tensor) -> Tensor:
        x = scaled_pixels(obs, self.input_crop, self.offset)
        tokens = self.embed(x).flatten(2).transpose(1, 2) + self.position  # (N, patches, width)
        return self.norm(self.blocks(tokens)).flatten(1)
