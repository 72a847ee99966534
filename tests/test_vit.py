"""The ViT encoder: shapes and token count, what each part does (patch embedding, position, attention across
patches), and clear errors for settings that cannot work."""

from __future__ import annotations

import pytest
import torch
from rl_aug.agents.vit import ViTEncoder


def test_tokens_cover_the_patch_grid_and_keep_per_sample_outputs():
    enc = ViTEncoder((9, 84, 84), patch_size=8, depth=2, width=32, heads=4)
    assert enc.patches == 100 and enc.repr_dim == 100 * 32  # 84 // 8 = 10 per side
    x = torch.randint(0, 256, (5, 9, 84, 84), dtype=torch.uint8)
    out = enc(x)
    assert out.shape == (5, 3200) and out.dtype == torch.float32
    torch.testing.assert_close(enc(x[2:3]), out[2:3])  # no mixing across the batch


def test_attention_mixes_patches_and_position_embedding_breaks_permutation_symmetry():
    torch.manual_seed(0)
    enc = ViTEncoder((3, 16, 16), patch_size=8, depth=1, width=16, heads=2)
    x = torch.randint(0, 256, (1, 3, 16, 16), dtype=torch.uint8)
    y = x.clone()
    y[..., :8, :8] = 255 - y[..., :8, :8]  # change only the top-left patch
    a, b = enc(x).view(4, 16), enc(y).view(4, 16)
    assert not torch.allclose(a[3], b[3])  # the bottom-right token sees the top-left patch through attention
    swapped = torch.cat([x[..., 8:, :], x[..., :8, :]], dim=-2)  # swap the two rows of patches
    with torch.no_grad():
        enc.position.zero_()
    plain, moved = enc(x).view(4, 16), enc(swapped).view(4, 16)
    torch.testing.assert_close(moved[[2, 3, 0, 1]], plain)  # without positions: tokens just move (equivariance)
    torch.nn.init.normal_(enc.position, std=1.0)
    plain, moved = enc(x).view(4, 16), enc(swapped).view(4, 16)
    assert not torch.allclose(moved[[2, 3, 0, 1]], plain)


def test_gradients_reach_every_parameter():
    enc = ViTEncoder((6, 24, 24), patch_size=8, depth=2, width=16, heads=4)
    enc(torch.randint(0, 256, (3, 6, 24, 24), dtype=torch.uint8)).square().mean().backward()
    missing = [n for n, p in enc.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_input_crop_and_offset():
    enc = ViTEncoder((3, 20, 20), patch_size=8, depth=1, width=8, heads=2, input_crop=16)
    assert enc.patches == 4
    x = torch.randint(0, 256, (2, 3, 20, 20), dtype=torch.uint8)
    torch.testing.assert_close(enc(x), enc(x[..., 2:18, 2:18]))


@pytest.mark.parametrize("kwargs, message", [
    ({"width": 30, "heads": 4}, "vit_width divisible by vit_heads"),
    ({"patch_size": 0}, "vit_patch_size a positive int"),
    ({"patch_size": 32}, "at least 32x32 pixels"),
    ({"depth": 2.5}, "vit_depth a positive int"),
    ({"mlp_ratio": 0}, "vit_mlp_ratio > 0"),
])
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=None) as info:
        ViTEncoder((3, 16, 16), **kwargs)
    assert message in str(info.value)


# sac_dmcgb's SODA preset renders 100 px and crops to 84 (DMC-GB's protocol), which the 16 px test env cannot feed.
@pytest.mark.parametrize("agent, strategy", [(a, s) for a in ("sac", "drqv2", "sac_dmcgb") for s in ("drq", "svea", "soda")
                                             if (a, s) != ("sac_dmcgb", "soda")])
def test_every_agent_trains_a_vit_through_every_kind_of_strategy(tmp_path, agent, strategy):
    """agent.encoder=vit from the config: the encoder is a ViT, its weights move under the strategy's update."""
    from rl_aug.agents.config import compose
    from rl_aug.agents.train import Trainer
    from test_train import overrides, point_env

    base = "sac" if agent == "sac_dmcgb" else agent
    extra = ["agent.encoder=vit", "agent.vit_patch_size=4", "agent.vit_depth=1", "agent.vit_width=8",
             "agent.vit_heads=2", "frames=18", "run.checkpoint_every_frames=18", "run.eval_every_frames=18"]
    if agent == "sac_dmcgb":
        extra += ["agent=sac_dmcgb", "agent.num_conv_layers=2", "agent.init_updates=null", "agent.seed_steps=4"]
    cfg = compose([*overrides(tmp_path, base, strategy, *extra)])
    trainer = Trainer(cfg, env_factory=point_env)
    assert isinstance(trainer.agent.encoder, ViTEncoder) and trainer.agent.encoder.patches == 16
    before = [p.detach().clone() for p in trainer.agent.encoder.parameters()]
    trainer.run()
    trainer.close()
    moved = [not torch.equal(b, p) for b, p in zip(before, trainer.agent.encoder.parameters())]
    assert all(moved)


def test_vit_parameter_count_and_bad_encoder_name():
    from rl_aug.agents.sac import SAC

    sac = SAC((9, 84, 84), 6, encoder="vit", precision="fp32")
    vit = sac.encoder
    width, patches = 128, 100
    expected = (9 * 64 * width + width) + patches * width  # patch embedding + positions
    block = (3 * width * width + 3 * width) + (width * width + width)  # attention in/out projections
    block += (width * width + width) * 2 + 4 * width  # MLP (ratio 1) and two LayerNorms
    expected += 4 * block + 2 * width  # 4 blocks and the final LayerNorm
    assert sum(p.numel() for p in vit.parameters()) == expected
    with pytest.raises(ValueError, match="encoder: expected one of conv, vit, got 'resnet'"):
        SAC((9, 84, 84), 6, encoder="resnet")
