"""Properties of every augmentation op: dtype/shape/device kept, per-sample parameters shared by frames,
seeded reproducibility, uint8 and float paths agreeing, exact shift semantics, clear errors."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from rl_aug import augment as A
from rl_aug.augment.geometric import crop_with_offsets, shift_with_offsets
from rl_aug.augment.overlay import overlay_with_images
from rl_aug.augment.photometric import conv_with_kernels

OPS = {
    "shift": lambda x, g: A.random_shift(x, pad=3, generator=g),
    "crop": lambda x, g: A.random_crop(x, size=x.shape[-1] - 4, generator=g),
    "center_crop": lambda x, g: A.center_crop(x, size=x.shape[-1] - 4, generator=g),
    "conv": lambda x, g: A.random_conv(x, generator=g),
    "overlay": lambda x, g: A.random_overlay(x, alpha=0.5, generator=g),
    "color_jitter": lambda x, g: A.color_jitter(x, generator=g),
    "grayscale": lambda x, g: A.grayscale(x, p=0.5, generator=g),
    "cutout": lambda x, g: A.cutout(x, size=4, generator=g),
    "noise": lambda x, g: A.gaussian_noise(x, std=10.0, generator=g),
    "rotate": lambda x, g: A.random_rotate(x, degrees=10.0, generator=g),
}
CROPS = {"crop", "center_crop"}
STOCHASTIC = set(OPS) - {"center_crop"}


def images(n, frames, size, seed=0, dtype=torch.uint8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3 * frames, size, size), generator=g, dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype)


batch_shapes = st.tuples(st.integers(1, 6), st.integers(1, 3), st.integers(12, 24))


@pytest.mark.parametrize("name", sorted(OPS))
@settings(max_examples=8, deadline=None)
@given(shape=batch_shapes, seed=st.integers(0, 2**16), dtype=st.sampled_from([torch.uint8, torch.float32]))
def test_dtype_shape_device_kept(name, shape, seed, dtype):
    n, k, size = shape
    x = images(n, k, size, seed, dtype)
    y = OPS[name](x, torch.Generator().manual_seed(seed))
    assert y.dtype == x.dtype and y.device == x.device
    expected = (n, 3 * k, size - 4, size - 4) if name in CROPS else tuple(x.shape)
    assert tuple(y.shape) == expected
    assert float(y.min()) >= 0 and float(y.max()) <= 255


@pytest.mark.parametrize("name", sorted(OPS))
def test_same_seed_same_output_and_input_untouched(name):
    x = images(5, 3, 20)
    before = x.clone()
    a = OPS[name](x, torch.Generator().manual_seed(7))
    b = OPS[name](x, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)
    assert torch.equal(x, before)
    if name in STOCHASTIC:
        c = OPS[name](x, torch.Generator().manual_seed(8))
        assert not torch.equal(a, c)


def replicate_pad(x, pad):
    return F.pad(x.float(), (pad,) * 4, mode="replicate").to(x.dtype)


@settings(max_examples=25, deadline=None)
@given(shape=batch_shapes, pad=st.integers(0, 6), seed=st.integers(0, 2**16))
def test_each_shift_is_an_integer_crop_of_the_padded_input(shape, pad, seed):
    n, k, size = shape
    x = images(n, k, size, seed)
    y = A.random_shift(x, pad=pad, generator=torch.Generator().manual_seed(seed))
    padded = replicate_pad(x, pad)
    for i in range(n):  # the test may loop; the op may not
        matches = [
            (dy, dx)
            for dy in range(2 * pad + 1)
            for dx in range(2 * pad + 1)
            if torch.equal(padded[i, :, dy : dy + size, dx : dx + size], y[i])
        ]
        assert matches, f"sample {i} is not a crop of its padded input with offsets in [0, {2 * pad}]"


def test_shift_with_known_offsets_matches_slicing():
    x = images(3, 3, 16, seed=1)
    oy, ox = torch.tensor([0, 4, 8]), torch.tensor([8, 0, 3])
    y = shift_with_offsets(x, 4, oy, ox)
    padded = replicate_pad(x, 4)
    for i in range(3):
        assert torch.equal(y[i], padded[i, :, oy[i] : oy[i] + 16, ox[i] : ox[i] + 16])


def test_shift_matches_drqv2_grid_sample_at_integer_offsets():
    """DrQ-v2 shifts with grid_sample at integer offsets; the integer crop must be numerically the same."""
    n, c, h, pad = 4, 6, 20, 4
    x = images(n, c // 3, h, seed=3)
    oy, ox = torch.tensor([0, 3, 8, 5]), torch.tensor([8, 1, 0, 4])
    ours = shift_with_offsets(x, pad, oy, ox).float()
    xp = F.pad(x.float(), (pad,) * 4, mode="replicate")
    eps = 1.0 / (h + 2 * pad)
    arange = torch.linspace(-1.0 + eps, 1.0 - eps, h + 2 * pad)[:h]
    base = torch.stack(torch.meshgrid(arange, arange, indexing="xy"), -1)
    shift = torch.stack([ox, oy], -1).float().view(n, 1, 1, 2) * 2.0 / (h + 2 * pad)
    ref = F.grid_sample(xp, base.unsqueeze(0) + shift, padding_mode="zeros", align_corners=False)
    assert torch.allclose(ours, ref, atol=1e-3)


def test_crop_with_known_offsets_matches_slicing():
    x = images(2, 2, 20, seed=2)
    y = crop_with_offsets(x, 12, 16, torch.tensor([0, 8]), torch.tensor([4, 0]))
    assert torch.equal(y[0], x[0, :, 0:12, 4:20]) and torch.equal(y[1], x[1, :, 8:20, 0:16])


def test_center_crop_is_the_middle():
    x = images(1, 1, 10)
    assert torch.equal(A.center_crop(x, 6), x[:, :, 2:8, 2:8])


def frames_of(y, k):
    n, _, h, w = y.shape
    return y.view(n, k, 3, h, w)


def test_geometric_params_shared_by_frames_and_differ_across_samples():
    """Feed identical frames: a shared parameter set keeps them identical within each sample."""
    k, n = 3, 16
    frame = images(n, 1, 20, seed=4)
    x = frame.repeat(1, k, 1, 1)
    same_img = frame[:1].repeat(n, k, 1, 1)  # every sample the same image: outputs differ only by params
    for name in ["shift", "crop", "conv", "overlay", "color_jitter", "cutout", "rotate", "grayscale"]:
        y = frames_of(OPS[name](x, torch.Generator().manual_seed(5)), k)
        for j in range(1, k):
            assert torch.equal(y[:, 0], y[:, j]), f"{name}: frames of one sample got different parameters"
        z = OPS[name](same_img, torch.Generator().manual_seed(5))
        distinct = len({bytes(z[i].contiguous().numpy()) for i in range(n)})
        assert distinct > 1, f"{name}: all samples got the same parameters"


def test_noise_is_independent_per_pixel_but_bounded():
    x = torch.full((2, 6, 16, 16), 128, dtype=torch.uint8)
    y = A.gaussian_noise(x, std=5.0, generator=torch.Generator().manual_seed(0)).float()
    assert 3.0 < float((y - 128).std()) < 7.0


def test_uint8_and_float_paths_agree_up_to_rounding():
    x = images(4, 2, 18, seed=9)
    for name, op in OPS.items():
        a = op(x, torch.Generator().manual_seed(1)).float()
        b = op(x.float(), torch.Generator().manual_seed(1))
        assert float((a - b).abs().max()) <= 0.5 + 1e-3, name


def test_random_conv_matches_a_per_sample_reference():
    """Closed form: each sample's kernel applied to each of its frames (replicate pad 1, sigmoid * 255)."""
    x = images(3, 2, 12, seed=11)
    kernels = torch.randn(3, 3, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    ours = conv_with_kernels(x.float(), kernels, precision="fp32")
    fast = conv_with_kernels(x.float(), kernels, precision="bf16")
    fast_u8 = conv_with_kernels(x, kernels, precision="bf16")
    applied = (kernels / 255).bfloat16().float() * 255  # the bf16 path applies the kernels rounded once
    for i in range(3):
        frames = F.pad(x[i].float().view(2, 3, 12, 12) / 255.0, (1, 1, 1, 1), mode="replicate")
        ref = (torch.sigmoid(F.conv2d(frames, kernels[i])) * 255).reshape(6, 12, 12)
        assert torch.allclose(ours[i], ref, atol=1e-3)
        ref_fast = (torch.sigmoid(F.conv2d(frames, applied[i])) * 255).reshape(6, 12, 12)
        # the conv output is bf16: |d(255 sigmoid(z))| <= 255 * max_z z s(z)(1-s(z)) * 2^-8 < 0.23
        assert torch.allclose(fast[i], ref_fast, atol=0.25)
        assert float((fast_u8[i].float() - ref_fast.round()).abs().max()) <= 1.0
    with pytest.raises(ValueError, match="precision"):
        conv_with_kernels(x, kernels, precision="fp8")


def test_overlay_blends_the_same_image_into_every_frame():
    x = images(2, 3, 8, seed=1)
    img = images(2, 1, 8, seed=2)
    y = overlay_with_images(x.float(), img, 0.25)
    expected = 0.75 * x.float() + 0.25 * img.float().repeat(1, 3, 1, 1)
    assert torch.allclose(y, expected, atol=1e-4)


def test_overlay_sources(tmp_path):
    import imageio.v3 as iio
    import numpy as np

    red = np.zeros((30, 40, 3), np.uint8)
    red[..., 0] = 255
    iio.imwrite(tmp_path / "red.png", red)
    x = torch.zeros(3, 6, 10, 10, dtype=torch.uint8)
    y = A.random_overlay(x, alpha=1.0, source=str(tmp_path))
    assert torch.all(y[:, 0] == 255) and torch.all(y[:, 1] == 0) and torch.all(y[:, 3] == 255)
    proc = A.ProceduralSource(count=8, seed=0)
    bank = proc.bank(16, 16)
    assert bank.shape == (8, 3, 16, 16) and bank.dtype == torch.uint8 and bank.float().std() > 10
    assert torch.equal(bank, A.ProceduralSource(count=8, seed=0).bank(16, 16))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        A.random_overlay(x, source=str(tmp_path / "missing"))


def test_grayscale_gives_equal_channels_and_luma():
    x = images(2, 2, 8)
    y = A.grayscale(x.float(), p=1.0).view(2, 2, 3, 8, 8)
    assert torch.equal(y[:, :, 0], y[:, :, 1]) and torch.equal(y[:, :, 1], y[:, :, 2])
    f = x.float().view(2, 2, 3, 8, 8)
    luma = 0.299 * f[:, :, 0] + 0.587 * f[:, :, 1] + 0.114 * f[:, :, 2]
    assert torch.allclose(y[:, :, 0], luma, atol=1e-3)


def test_color_jitter_with_zero_strength_is_identity():
    x = images(3, 2, 10)
    y = A.color_jitter(x.float(), brightness=0, contrast=0, saturation=0, hue=0)
    assert torch.allclose(y, x.float(), atol=1e-3)


def test_color_jitter_maps_match_the_stepwise_definition():
    from rl_aug.augment.photometric import _LUMA, color_jitter_matrices

    # grey stays grey under saturation and hue, so grey pixels only see brightness and contrast
    m = color_jitter_matrices(torch.tensor([1.2]), torch.tensor([0.7]), torch.tensor([1.3]), torch.tensor([0.1]))
    assert torch.allclose(m[0] @ torch.ones(3), torch.full((3,), 1.2 * 0.7), atol=1e-5)
    # saturation 0 gives the grey image; a hue of a full turn is the identity
    grey = color_jitter_matrices(torch.ones(1), torch.ones(1), torch.zeros(1), torch.zeros(1))[0]
    assert torch.allclose(grey, torch.ones(3, 1) * _LUMA, atol=1e-6)
    turn = color_jitter_matrices(torch.ones(1), torch.ones(1), torch.ones(1), torch.ones(1))[0]
    assert torch.allclose(turn, torch.eye(3), atol=1e-5)
    # contrast blends each frame with its mean grey
    x = images(1, 2, 6, seed=3).float()
    y = A.color_jitter(x, brightness=0, contrast=0.5, saturation=0, hue=0, generator=torch.Generator().manual_seed(0))
    factor = 1 + 0.5 * (torch.rand(1, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1)[0, 1]
    f = x.view(1, 2, 3, 6, 6)
    mean = (0.299 * f[:, :, 0] + 0.587 * f[:, :, 1] + 0.114 * f[:, :, 2]).mean(dim=(-2, -1)).view(1, 2, 1, 1, 1)
    expected = (factor * f + (1 - factor) * mean).clamp(0, 255).view(1, 6, 6, 6)
    assert torch.allclose(y, expected, atol=1e-3)


def test_cutout_erases_one_square_per_sample():
    x = torch.full((4, 6, 20, 20), 200, dtype=torch.uint8)
    y = A.cutout(x, size=5, generator=torch.Generator().manual_seed(0))
    assert torch.all((y == 0).sum(dim=(2, 3)) == 25)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: A.random_shift(torch.zeros(9, 8, 8, dtype=torch.uint8)), "4-D tensor"),
        (lambda: A.random_shift(torch.zeros(0, 9, 8, 8, dtype=torch.uint8)), "non-empty batch"),
        (lambda: A.random_shift(torch.zeros(1, 9, 8, 8, dtype=torch.uint8), pad=-1), "pad a non-negative int"),
        (lambda: A.random_crop(torch.zeros(1, 9, 8, 8), size=10), "at most the image size"),
        (lambda: A.random_conv(torch.zeros(1, 8, 8, 8)), "multiple of 3"),
        (lambda: A.random_overlay(torch.zeros(1, 84, 84, 9)), "looks channels last"),
        (lambda: A.random_shift(torch.zeros(1, 9, 8, 8, dtype=torch.int32)), "uint8 or floating"),
        (lambda: A.random_overlay(torch.zeros(1, 3, 8, 8), alpha=2), r"alpha in \[0, 1\]"),
        (lambda: A.random_shift([[1]]), "torch.Tensor"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_spec_parsing_and_registry():
    aug = A.parse("shift(pad=2)+overlay(alpha=0.5)")
    assert repr(aug) == "shift(pad=2)+overlay(alpha=0.5)"
    x = images(2, 3, 12)
    manual = A.random_overlay(
        A.random_shift(x, pad=2, generator=torch.Generator().manual_seed(3)), 0.5,
        generator=None,
    )
    assert manual.shape == aug(x, generator=torch.Generator().manual_seed(3)).shape
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    step = A.random_shift(x, pad=2, generator=g1)
    assert torch.equal(A.random_overlay(step, 0.5, generator=g1), aug(x, generator=g2))
    assert torch.equal(A.parse("none")(x), x)
    with pytest.raises(ValueError, match="unknown augmentation 'shfit'; registered: .*shift"):
        A.parse("shfit")
    with pytest.raises(ValueError, match="accepts: pad"):
        A.parse("shift(pd=4)")
    with pytest.raises(ValueError, match="joined with"):
        A.parse("shift*crop")


def test_user_ops_and_plain_callables_compose():
    def invert(x):
        return 255 - x

    A.register("invert_for_test", invert)
    x = images(2, 1, 8)
    assert torch.equal(A.parse("invert_for_test")(x), 255 - x)
    composed = A.parse(["center_crop(size=4)", invert])
    assert torch.equal(composed(x), 255 - x[:, :, 2:6, 2:6])
    with pytest.raises(ValueError, match="already registered"):
        A.register("shift", invert)
