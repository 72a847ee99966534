"""An SB3 SAC model seen through the agent protocol of rl_aug.strategies (protocol.ActorCritic).

The losses are SB3's SAC losses (stable_baselines3/sac/sac.py, `SAC.train`), split into the protocol's
pieces so a strategy decides which (augmented) observations each piece sees:
- td_target: r + discount * (min_i Q'_i(s', a') - alpha * log pi(a'|s')), a' ~ pi(.|s'), alpha not learned here;
- critic_loss: MSE(Q1, y) + MSE(Q2, y), the protocol's convention (SB3 scales this sum by 0.5, which only
  rescales the gradient that Adam normalizes; SB3 models with more than two critics use the first two);
- actor_loss: mean(alpha * log pi - min_i Q_i(s, a~pi)) plus SB3's temperature loss when ent_coef="auto".
What stays SB3's own (and differs from DrQ, see references.md): with SB3's default
`share_features_extractor=False` the actor has its own CNN, trained by the actor loss; `encoder` here is the
critic's features extractor (what SODA's auxiliary loss trains and what TangentProp differentiates through).
The update order is the strategies' (critic, then actor and temperature, then targets: DrQ's order), not
SB3's (temperature first); the temperature in the target is the current one either way. Targets are
updated when the model's running update count is a multiple of `target_update_interval` (SB3 counts the
gradient steps of each `train` call from 0; the two agree for the default interval 1). The logged
`critic_loss` is the protocol's (twice SB3's) on the first view group; `critic_total_loss` is what is optimized.
Rejected with a clear error: n_critics != 2, use_sde=True, share_features_extractor=True.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal, TanhTransform, TransformedDistribution

from rl_aug.strategies.protocol import Part, double_q_loss, step_optimizers


class SB3ActorCritic:
    """Protocol view of a stable_baselines3.SAC `model`; holds no parameters of its own."""

    def __init__(self, model: Any, actor_update_every: int = 1) -> None:
        from stable_baselines3 import SAC

        if not isinstance(model, SAC):
            raise TypeError(f"expected a stable_baselines3.SAC model, got {type(model).__name__}")
        policy = model.policy
        unsupported = []
        if getattr(model.critic, "n_critics", 2) != 2:
            unsupported.append(f"n_critics={model.critic.n_critics} (the protocol is clipped double Q: use 2)")
        if model.use_sde:
            unsupported.append("use_sde=True (gSDE noise and its log_std parameter are not part of the protocol)")
        if policy.share_features_extractor:
            unsupported.append("share_features_extractor=True (SB3 then trains the CNN from the actor loss only and "
                               "the critic cannot reach it; the strategies need the critic to train it)")
        if unsupported:
            raise ValueError(f"rl_aug.sb3 supports SB3 SAC with its defaults here; got {'; '.join(unsupported)}")
        self.model = model
        self.device = torch.device(model.device)
        self.obs_shape = tuple(int(d) for d in model.observation_space.shape)
        self.actor_update_every = int(actor_update_every)  # SB3: actor every gradient step
        self.target_update_every = int(model.target_update_interval)
        self.encoder: nn.Module = model.critic.features_extractor  # SODA swaps this for its EMA copy
        self.critic_target_encoder: nn.Module | None = model.critic_target.features_extractor

    # ------------------------------------------------------------------ helpers
    @property
    def alpha(self) -> Tensor:
        m = self.model
        return torch.exp(m.log_ent_coef) if m.log_ent_coef is not None else m.ent_coef_tensor

    def _float(self, obs: Tensor) -> Tensor:
        return obs if obs.is_floating_point() else obs.float()

    # ------------------------------------------------------------------ protocol
    def encode(self, obs: Tensor) -> Tensor:
        """Features of images in [0, 255] through `self.encoder`, after SB3's own preprocessing (x / 255)."""
        from stable_baselines3.common.preprocessing import preprocess_obs

        x = preprocess_obs(self._float(obs), self.model.observation_space, self.model.policy.normalize_images)
        return self.encoder(x)

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        qs = self.model.critic(self._float(obs), action)
        return qs[0], qs[1]

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        m = self.model
        next_action, log_prob = m.actor.action_log_prob(self._float(next_obs))
        q_next = torch.cat(m.critic_target(self._float(next_obs), next_action), dim=1).min(dim=1, keepdim=True)[0]
        return reward + discount * (q_next - self.alpha.detach() * log_prob.reshape(-1, 1))

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float]]:
        return double_q_loss(*self.q_values(obs, action), target)

    def policy(self, obs: Tensor, step: int) -> Distribution:
        """SB3's squashed diagonal Gaussian as a torch distribution (for ActorKL)."""
        mean, log_std, _ = self.model.actor.get_action_dist_params(self._float(obs))
        return TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), [TanhTransform(cache_size=1)])

    def actor_loss(self, obs: Tensor, step: int) -> tuple[Tensor, dict[str, float]]:
        m = self.model
        action, log_prob = m.actor.action_log_prob(self._float(obs))
        log_prob = log_prob.reshape(-1, 1)
        alpha = self.alpha
        q = torch.cat(m.critic(self._float(obs), action), dim=1).min(dim=1, keepdim=True)[0]
        actor_loss = (alpha.detach() * log_prob - q).mean()
        metrics = {"actor_loss": float(actor_loss.detach()), "ent_coef": float(alpha.detach()),
                   "entropy": float(-log_prob.detach().mean())}
        if m.log_ent_coef is None:
            return actor_loss, metrics
        ent_coef_loss = -(m.log_ent_coef * (log_prob + m.target_entropy).detach()).mean()
        metrics["ent_coef_loss"] = float(ent_coef_loss.detach())
        return actor_loss + ent_coef_loss, metrics

    def _optimizers(self, which: Part) -> list[torch.optim.Optimizer]:
        m = self.model
        if which == "critic":
            return [m.critic.optimizer]
        return [m.actor.optimizer] + ([m.ent_coef_optimizer] if m.ent_coef_optimizer is not None else [])

    def optimize(self, loss: Tensor, which: Part) -> None:
        step_optimizers(loss, self._optimizers(which))

    def update_targets(self) -> None:
        from stable_baselines3.common.utils import polyak_update

        m = self.model
        polyak_update(m.critic.parameters(), m.critic_target.parameters(), m.tau)
        polyak_update(m.batch_norm_stats, m.batch_norm_stats_target, 1.0)  # SB3: copy running stats (#996)

    def config(self) -> dict[str, Any]:
        return {"actor_update_every": self.actor_update_every, "target_update_every": self.target_update_every}
