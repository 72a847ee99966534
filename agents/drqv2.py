"""DrQ-v2 (Yarats, Fergus, Lazaric, Pinto 2021; facebookresearch/drqv2): DDPG from pixels.

Defaults follow drqv2/cfgs/config.yaml and cfgs/task/*.yaml (see configs/agent/drqv2.yaml): clipped
double Q with n-step returns (3), exploration std from a schedule 'linear(1.0,0.1,N)' in agent steps,
noise clipped at 0.3 for targets and the actor loss, uniform actions for the first 2000 agent steps,
lr 1e-4, batch 256, feature 50, hidden 1024, critic tau 0.01, one update every 2 agent steps, inputs
scaled to [-0.5, 0.5]. There is no target encoder: targets use the online encoder under no_grad.
"""

from __future__ import annotations

import copy

import torch
from rl_aug.agents.base import PixelActorCritic, check_hyperparameters
from rl_aug.agents.networks import (
    ClippedNormal,
    DeterministicActor,
    DoubleQCritic,
    image_encoder,
    linear_schedule,
)
from torch import Tensor, nn

from rl_aug.strategies.protocol import Part


class DrQV2(PixelActorCritic):
    """Deterministic actor-critic on images; speaks the ActorCritic protocol of rl_aug.strategies."""

    def __init__(self, obs_shape: tuple[int, int, int], action_dim: int, *, device: str | torch.device = "cpu",
                 lr: float = 1e-4, batch_size: int = 256, feature_dim: int = 50, hidden_dim: int = 1024,
                 hidden_depth: int = 2, num_filters: int = 32, num_conv_layers: int = 4, critic_tau: float = 0.01,
                 stddev_schedule: str | float = "linear(1.0,0.1,500000)", stddev_clip: float = 0.3,
                 num_expl_steps: int = 2000, actor_update_every: int = 1, target_update_every: int = 1,
                 discount: float = 0.99, nstep: int = 3, update_every_steps: int = 2,
                 precision: str = "auto", channels_last: bool = True, encoder: str = "conv", vit_patch_size: int = 8,
                 vit_depth: int = 4, vit_width: int = 128, vit_heads: int = 8, vit_mlp_ratio: float = 1.0) -> None:
        check_hyperparameters(locals(), "DrQV2: ")
        del batch_size, discount, nstep, update_every_steps  # the loop's settings, checked above (see the base)
        super().__init__(obs_shape, action_dim, device=device, precision=precision, channels_last=channels_last)
        linear_schedule(stddev_schedule, 0)  # fail early on a malformed schedule
        self.actor_update_every = int(actor_update_every)
        self.target_update_every = int(target_update_every)
        self.critic_tau = float(critic_tau)
        self.stddev_schedule = stddev_schedule
        self.stddev_clip = float(stddev_clip)
        self.num_expl_steps = int(num_expl_steps)

        self.encoder = image_encoder(
            encoder, self.obs_shape, offset=0.5, conv={"num_filters": num_filters, "num_layers": num_conv_layers},
            vit={"patch_size": vit_patch_size, "depth": vit_depth, "width": vit_width, "heads": vit_heads,
                 "mlp_ratio": vit_mlp_ratio})
        repr_dim = self.encoder.repr_dim
        self.actor = DeterministicActor(repr_dim, action_dim, feature_dim, hidden_dim, hidden_depth)
        self.critic = DoubleQCritic(repr_dim, action_dim, feature_dim, hidden_dim, hidden_depth)
        self.critic_target = copy.deepcopy(self.critic)
        for p in self.critic_target.parameters():
            p.requires_grad_(False)
        self.critic_target_encoder = None
        self._to_device()

        self.encoder_opt = torch.optim.Adam(self.encoder.parameters(), lr=lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)

    def stddev(self, step: int) -> float:
        return linear_schedule(self.stddev_schedule, step)

    # ------------------------------------------------------------------ protocol
    def policy(self, obs: Tensor, step: int) -> ClippedNormal:
        with torch.no_grad():
            h = self.encode(obs)
        return self.actor(h, self.stddev(step))

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        h = self.encode(next_obs)
        next_action = self.actor(h, self.stddev(step)).sample(clip=self.stddev_clip)
        tq1, tq2 = self.critic_target(h, next_action)
        return reward + discount * torch.min(tq1, tq2)

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """DrQ-v2's actor reads the critic step's features, computed before the encoder update and detached
        (drqv2.py: update_actor(obs.detach(), ...) with obs = encoder(aug(obs)) from before update_critic): the
        strategy hands them over as `features`; without them (a view the critic did not see) obs is encoded."""
        if features is None:
            with torch.no_grad():
                features = self.encode(obs)
        h = features
        std = self.stddev(step)
        dist = self.actor(h, std)
        action = dist.sample(clip=self.stddev_clip)
        q1, q2 = self.critic(h, action)
        loss = -torch.min(q1, q2).mean()
        return loss, {"actor_loss": loss.item(), "stddev": std}

    def _optimizers(self, which: Part) -> list[torch.optim.Optimizer]:
        return [self.encoder_opt, self.critic_opt] if which == "critic" else [self.actor_opt]

    def _soft_update_pairs(self) -> list[tuple[nn.Module, nn.Module, float]]:
        return [(self.critic_target, self.critic, self.critic_tau)]

    def _policy_action(self, obs: Tensor, step: int, eval_mode: bool) -> Tensor:
        dist = self.policy(obs, step)
        if eval_mode:
            return dist.mean
        if step < self.num_expl_steps:
            return torch.empty_like(dist.mean).uniform_(-1.0, 1.0)
        return dist.sample(clip=None)

    # ------------------------------------------------------------------ state
    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "critic": self.critic, "actor": self.actor,
                "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"encoder": self.encoder_opt, "critic": self.critic_opt, "actor": self.actor_opt}
