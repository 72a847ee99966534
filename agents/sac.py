"""SAC from pixels with the DrQ architecture (Kostrikov, Yarats, Fergus 2020; denisyarats/drq).

Defaults follow drq/config.yaml (see configs/agent/sac.yaml for citations): lr 1e-3 everywhere,
batch 128 (the paper used 512), feature 50, hidden 1024x2, log std in [-10, 2], initial temperature
0.1 with target entropy -|A|, critic tau 0.01 (the target critic includes its own encoder; `projection_tau`
says whether its projection goes with the Q heads, DrQ, or with the convs at encoder tau, DMC-GB), actor and
target updates every 2 steps, discount 0.99.

The backup is SAC's soft clipped double-Q target; the actor and temperature losses read detached
encoder features, so the shared encoder is trained by the critic only.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from rl_aug.agents.base import PixelActorCritic, check_hyperparameters
from rl_aug.agents.networks import DoubleQCritic, SquashedGaussianActor, image_encoder, squashed_mean
from torch import Tensor, nn
from torch.distributions import Distribution

from rl_aug.strategies.protocol import Part


class SAC(PixelActorCritic):
    """Soft actor-critic on images; speaks the ActorCritic protocol of rl_aug.strategies."""

    def __init__(self, obs_shape: tuple[int, int, int], action_dim: int, *, device: str | torch.device = "cpu",
                 lr: float = 1e-3, alpha_lr: float = 1e-3, alpha_beta1: float = 0.9, batch_size: int = 128,
                 feature_dim: int = 50, hidden_dim: int = 1024, hidden_depth: int = 2, num_filters: int = 32,
                 num_conv_layers: int = 4, init_temperature: float = 0.1, log_std_bounds: tuple[float, float] = (-10, 2),
                 critic_tau: float = 0.01, encoder_tau: float | None = None, actor_update_every: int = 2,
                 target_update_every: int = 2, discount: float = 0.99, nstep: int = 1, update_every_steps: int = 1,
                 precision: str = "auto", channels_last: bool = True, encoder_final_relu: bool = True,
                 encoder_init: str = "orthogonal", encoder_input_crop: int | None = None,
                 projection_tau: str = "critic", encoder: str = "conv", vit_patch_size: int = 8, vit_depth: int = 4,
                 vit_width: int = 128, vit_heads: int = 8, vit_mlp_ratio: float = 1.0) -> None:
        check_hyperparameters(locals(), "SAC: ")
        del batch_size, discount, nstep, update_every_steps  # the loop's settings, checked above (see the base)
        super().__init__(obs_shape, action_dim, device=device, precision=precision, channels_last=channels_last)
        self.actor_update_every = int(actor_update_every)
        self.target_update_every = int(target_update_every)
        self.critic_tau = float(critic_tau)
        self.encoder_tau = float(critic_tau if encoder_tau is None else encoder_tau)
        self.projection_tau = projection_tau
        self.target_entropy = -float(action_dim)

        self.encoder = image_encoder(
            encoder, self.obs_shape, offset=0.0, input_crop=encoder_input_crop,
            conv={"num_filters": num_filters, "num_layers": num_conv_layers, "final_relu": encoder_final_relu,
                  "init": encoder_init},
            vit={"patch_size": vit_patch_size, "depth": vit_depth, "width": vit_width, "heads": vit_heads,
                 "mlp_ratio": vit_mlp_ratio})
        repr_dim = self.encoder.repr_dim
        self.critic = DoubleQCritic(repr_dim, action_dim, feature_dim, hidden_dim, hidden_depth)
        self.actor = SquashedGaussianActor(repr_dim, action_dim, feature_dim, hidden_dim,
                                           tuple(log_std_bounds), hidden_depth)
        self.critic_target_encoder = copy.deepcopy(self.encoder)
        self.critic_target = copy.deepcopy(self.critic)
        for p in [*self.critic_target_encoder.parameters(), *self.critic_target.parameters()]:
            p.requires_grad_(False)
        self.log_alpha = nn.Parameter(torch.tensor(float(init_temperature)).log())
        self._to_device()
        self.log_alpha.data = self.log_alpha.data.to(self.device)

        self.critic_opt = torch.optim.Adam([*self.encoder.parameters(), *self.critic.parameters()], lr=lr)
        self.actor_opt = torch.optim.Adam(self.actor.parameters(), lr=lr)
        self.alpha_opt = torch.optim.Adam([self.log_alpha], lr=alpha_lr, betas=(alpha_beta1, 0.999))

    @property
    def alpha(self) -> Tensor:
        return self.log_alpha.exp()

    # ------------------------------------------------------------------ protocol
    def policy(self, obs: Tensor, step: int) -> Distribution:
        with torch.no_grad():
            h = self.encode(obs)
        return self.actor(h)

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        dist = self.policy(next_obs, step)
        next_action = dist.rsample()
        log_prob = dist.log_prob(next_action).sum(-1, keepdim=True)
        h_target = self.encode(next_obs, encoder=self.critic_target_encoder)
        tq1, tq2 = self.critic_target(h_target, next_action)
        value = torch.min(tq1, tq2) - self.alpha.detach() * log_prob
        return reward + discount * value

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        # Encoded again (the critic step's `features` are not used): the update calls this after the critic step,
        # so the actor reads the updated convs, as DrQ's actor forward does (drq.py: actor update after critic).
        del features
        with torch.no_grad():
            h = self.encode(obs)
        dist = self.actor(h)
        action = dist.rsample()
        log_prob = dist.log_prob(action).sum(-1, keepdim=True)
        q1, q2 = self.critic(h, action)
        alpha = self.alpha
        actor_loss = (alpha.detach() * log_prob - torch.min(q1, q2)).mean()
        alpha_loss = (alpha * (-log_prob - self.target_entropy).detach()).mean()
        return actor_loss + alpha_loss, {
            "actor_loss": actor_loss.item(),
            "alpha_loss": alpha_loss.item(),
            "temperature": alpha.item(),
            "entropy": -log_prob.mean().item(),
        }

    def _optimizers(self, which: Part) -> list[torch.optim.Optimizer]:
        return [self.critic_opt] if which == "critic" else [self.actor_opt, self.alpha_opt]

    def _soft_update_pairs(self) -> list[tuple[nn.Module, nn.Module, float]]:
        # The critic's projection (trunk: Linear + LayerNorm + tanh) goes with the Q heads in DrQ (its target critic
        # is averaged at one tau), with the convs in DMC-GB (sac.py soft_update_critic_target: critic.encoder, i.e.
        # shared convs + RLProjection, at encoder_tau; Q1 and Q2 at critic_tau).
        trunk_tau = self.encoder_tau if self.projection_tau == "encoder" else self.critic_tau
        target, online = self.critic_target, self.critic
        return [(target.q1, online.q1, self.critic_tau), (target.q2, online.q2, self.critic_tau),
                (target.trunk, online.trunk, trunk_tau),
                (self.critic_target_encoder, self.encoder, self.encoder_tau)]

    def _policy_action(self, obs: Tensor, step: int, eval_mode: bool) -> Tensor:
        dist = self.policy(obs, step)
        return squashed_mean(dist) if eval_mode else dist.sample()

    # ------------------------------------------------------------------ state
    def modules(self) -> dict[str, nn.Module]:
        return {"encoder": self.encoder, "critic": self.critic, "actor": self.actor,
                "critic_target_encoder": self.critic_target_encoder, "critic_target": self.critic_target}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"critic": self.critic_opt, "actor": self.actor_opt, "alpha": self.alpha_opt}

    def extra_state(self) -> dict[str, Any]:
        return {"log_alpha": self.log_alpha.detach().clone()}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
