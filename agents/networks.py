"""Networks shared by the pixel agents: the DrQ conv encoder, a feature trunk, actors and a double-Q critic.

Architecture from DrQ (Kostrikov et al. 2020, denisyarats/drq) and DrQ-v2 (Yarats et al. 2021,
facebookresearch/drqv2): 4 conv layers of 32 filters (3x3, stride 2 then 1), then per head a
Linear -> LayerNorm -> tanh trunk to a small feature (50) and MLPs of two hidden layers (1024).

The conv encoder is shared and trained by the critic only. The actor reads detached conv features and
owns its trunk, exactly as in both papers (DrQ ties the actor's conv weights to the critic's and detaches
after them; DrQ-v2 gives actor and critic separate trunks on one detached encoder).
"""

from __future__ import annotations

import torch
from rl_aug.agents.image_input import scaled_pixels
from rl_aug.agents.vit import ViTEncoder
from torch import Tensor, nn
from torch.distributions import Normal, TanhTransform, TransformedDistribution


def orthogonal_init(module: nn.Module) -> None:
    """Orthogonal weights, zero biases: the initialisation both reference agents use."""
    if isinstance(module, nn.Linear):
        nn.init.orthogonal_(module.weight.data)
        if module.bias is not None:
            module.bias.data.fill_(0.0)
    elif isinstance(module, nn.Conv2d):
        nn.init.orthogonal_(module.weight.data, nn.init.calculate_gain("relu"))
        if module.bias is not None:
            module.bias.data.fill_(0.0)


def delta_orthogonal_init(module: nn.Module) -> None:
    """DMC-GB's initialisation (src/algorithms/modules.py weight_init): Linear orthogonal; a conv kernel zero
    except its centre tap, which is orthogonal with the ReLU gain (delta-orthogonal, Xiao et al. 2018)."""
    if isinstance(module, nn.Conv2d):
        module.weight.data.fill_(0.0)
        mid = module.weight.size(2) // 2
        nn.init.orthogonal_(module.weight.data[:, :, mid, mid], nn.init.calculate_gain("relu"))
        if module.bias is not None:
            module.bias.data.fill_(0.0)
    else:
        orthogonal_init(module)


CONV_INITS = {"orthogonal": orthogonal_init, "delta_orthogonal": delta_orthogonal_init}


def mlp(in_dim: int, hidden_dim: int, out_dim: int, depth: int = 2) -> nn.Sequential:
    """`depth` hidden ReLU layers of `hidden_dim`, then a linear output."""
    layers: list[nn.Module] = []
    dim = in_dim
    for _ in range(depth):
        layers += [nn.Linear(dim, hidden_dim), nn.ReLU(inplace=True)]
        dim = hidden_dim
    layers.append(nn.Linear(dim, out_dim))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """DrQ conv stack: (N, C, H, W) in [0, 255] -> flat features (N, repr_dim).

    `offset` is subtracted after scaling to [0, 1]: 0 for DrQ's SAC, 0.5 for DrQ-v2. DMC-GB's shared CNN is
    the same stack with 11 layers, no ReLU after the last conv (`final_relu=False`) and delta-orthogonal
    initialisation (`init="delta_orthogonal"`); src/algorithms/modules.py SharedCNN.
    `input_crop`: images larger than this are center-cropped to it first (DMC-GB's CenterCrop(84) at the head of
    SharedCNN: SODA/RAD render 100 px, train on random 84 px crops and act on the 84 px center).
    """

    def __init__(self, obs_shape: tuple[int, int, int], num_filters: int = 32, num_layers: int = 4,
                 offset: float = 0.0, final_relu: bool = True, init: str = "orthogonal",
                 input_crop: int | None = None) -> None:
        super().__init__()
        if init not in CONV_INITS:
            raise ValueError(f"expected encoder init one of {sorted(CONV_INITS)}, got {init!r}")
        channels, height, width = obs_shape
        if input_crop is not None:
            if not 1 <= input_crop <= min(height, width):
                raise ValueError(f"expected encoder input_crop in [1, {min(height, width)}] (the image side), "
                                 f"got {input_crop}")
            height = width = int(input_crop)
        self.input_crop = input_crop
        layers: list[nn.Module] = [nn.Conv2d(channels, num_filters, 3, stride=2), nn.ReLU()]
        for _ in range(num_layers - 1):
            layers += [nn.Conv2d(num_filters, num_filters, 3, stride=1), nn.ReLU()]
        if not final_relu:
            layers.pop()
        self.convs = nn.Sequential(*layers)
        self.offset = offset
        side_h = (height - 3) // 2 + 1 - 2 * (num_layers - 1)
        side_w = (width - 3) // 2 + 1 - 2 * (num_layers - 1)
        if side_h < 1 or side_w < 1:
            min_side = 2 * (2 * (num_layers - 1) + 1) + 1
            raise ValueError(
                f"expected images of at least {min_side}x{min_side} pixels for a {num_layers}-layer encoder, "
                f"got {height}x{width}: use a larger size or fewer encoder layers"
            )
        self.repr_dim = num_filters * side_h * side_w
        self.apply(CONV_INITS[init])

    def forward(self, obs: Tensor) -> Tensor:
        return self.convs(scaled_pixels(obs, self.input_crop, self.offset)).flatten(1)


ENCODERS = ("conv", "vit")


def image_encoder(kind: str, obs_shape: tuple[int, int, int], *, offset: float, input_crop: int | None = None,
                  conv: dict | None = None, vit: dict | None = None) -> nn.Module:
    """The agents' image encoder by name: "conv" (the DrQ / DMC-GB stack above) or "vit" (agents/vit.py). Both give
    flat features with `repr_dim`, so the trunk, the heads and every strategy are the same for either."""
    if kind == "conv":
        return Encoder(obs_shape, offset=offset, input_crop=input_crop, **(conv or {}))
    if kind == "vit":
        return ViTEncoder(obs_shape, offset=offset, input_crop=input_crop, **(vit or {}))
    raise ValueError(f"expected agent.encoder one of {', '.join(ENCODERS)}, got {kind!r}")


class Trunk(nn.Sequential):
    """Linear -> LayerNorm -> tanh: the 50-d feature each head reads (DrQ, DrQ-v2)."""

    def __init__(self, repr_dim: int, feature_dim: int) -> None:
        super().__init__(nn.Linear(repr_dim, feature_dim), nn.LayerNorm(feature_dim), nn.Tanh())


class DoubleQCritic(nn.Module):
    """Trunk + two Q heads on [feature, action] (clipped double Q)."""

    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden_dim: int,
                 depth: int = 2) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim)
        self.q1 = mlp(feature_dim + action_dim, hidden_dim, 1, depth)
        self.q2 = mlp(feature_dim + action_dim, hidden_dim, 1, depth)
        self.apply(orthogonal_init)

    def forward(self, h: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        x = torch.cat([self.trunk(h), action], dim=-1)
        return self.q1(x), self.q2(x)


class SquashedGaussianActor(nn.Module):
    """SAC actor: tanh-squashed diagonal Gaussian; log std squashed into [min, max] (DrQ: [-10, 2])."""

    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden_dim: int,
                 log_std_bounds: tuple[float, float] = (-10.0, 2.0), depth: int = 2) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim)
        self.policy = mlp(feature_dim, hidden_dim, 2 * action_dim, depth)
        self.log_std_min, self.log_std_max = log_std_bounds
        self.apply(orthogonal_init)

    def forward(self, h: Tensor) -> TransformedDistribution:
        mu, log_std = self.policy(self.trunk(h)).chunk(2, dim=-1)
        log_std = torch.tanh(log_std)
        log_std = self.log_std_min + 0.5 * (self.log_std_max - self.log_std_min) * (log_std + 1)
        return TransformedDistribution(Normal(mu, log_std.exp()), [TanhTransform(cache_size=1)])


def squashed_mean(dist: TransformedDistribution) -> Tensor:
    """tanh of the Gaussian mean: SAC's deterministic evaluation action."""
    return torch.tanh(dist.base_dist.mean)


class ClippedNormal(Normal):
    """Gaussian whose sampled noise is clipped to +-clip and whose samples stay inside (-1, 1).

    DrQ-v2 exploration: a = mu + clip(eps * std, -c, c), then clamped to the action box; the clamp passes
    gradients straight through to mu so the deterministic policy gradient is unbiased by the clamp.
    """

    def __init__(self, loc: Tensor, scale: Tensor, low: float = -1.0, high: float = 1.0, eps: float = 1e-6) -> None:
        super().__init__(loc, scale, validate_args=False)
        self.low, self.high, self.eps = low, high, eps

    def _clamp(self, x: Tensor) -> Tensor:
        clamped = x.clamp(self.low + self.eps, self.high - self.eps)
        return x - x.detach() + clamped.detach()

    def sample(self, clip: float | None = None, sample_shape: tuple[int, ...] = ()) -> Tensor:  # type: ignore[override]
        shape = self._extended_shape(torch.Size(sample_shape))
        noise = torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device) * self.scale
        if clip is not None:
            noise = noise.clamp(-clip, clip)
        return self._clamp(self.loc + noise)


class DeterministicActor(nn.Module):
    """DrQ-v2 actor: tanh mean; the exploration std comes from a schedule, not from the network."""

    def __init__(self, repr_dim: int, action_dim: int, feature_dim: int, hidden_dim: int, depth: int = 2) -> None:
        super().__init__()
        self.trunk = Trunk(repr_dim, feature_dim)
        self.policy = mlp(feature_dim, hidden_dim, action_dim, depth)
        self.apply(orthogonal_init)

    def forward(self, h: Tensor, std: float) -> ClippedNormal:
        mu = torch.tanh(self.policy(self.trunk(h)))
        return ClippedNormal(mu, torch.full_like(mu, std))


def linear_schedule(spec: str | float, step: int) -> float:
    """Evaluate a schedule: a number, or 'linear(start,end,duration)' in agent steps (DrQ-v2's notation)."""
    if isinstance(spec, (int, float)):
        return float(spec)
    text = str(spec).strip()
    try:
        return float(text)
    except ValueError:
        pass
    if text.startswith("linear(") and text.endswith(")"):
        parts = text[len("linear("):-1].split(",")
        if len(parts) == 3:
            start, end, duration = (float(p) for p in parts)
            mix = min(max(step / duration, 0.0), 1.0) if duration > 0 else 1.0
            return (1.0 - mix) * start + mix * end
    raise ValueError(f"expected a number or 'linear(start,end,duration)' for a schedule, got {spec!r}")


def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- tau * source + (1 - tau) * target, parameters only (buffers such as BatchNorm statistics stay)."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters()):
            t.lerp_(s, tau)

