"""SB3 off-policy models (SAC, TD3, DDPG, and sb3-contrib's TQC) seen through the agent protocol of
rl_aug.strategies (protocol.ActorCritic): one base for what they share (the critic's CNN as the encoder, SB3's
preprocessing, optimizer steps, polyak targets), one small class per algorithm for its backup and losses.
`adapter_for(model)` picks the class.

SAC. The losses are SB3's SAC losses (stable_baselines3/sac/sac.py, `SAC.train`), split into the protocol's
pieces so a strategy decides which (augmented) observations each piece sees:
- td_target: r + discount * (min_i Q'_i(s', a') - alpha * log pi(a'|s')), a' ~ pi(.|s'), alpha not learned here;
- critic_loss: MSE(Q1, y) + MSE(Q2, y), the protocol's convention (SB3 scales this sum by 0.5, which only
  rescales the gradient that Adam normalizes; SB3 models with more than two critics use the first two);
- actor_loss: mean(alpha * log pi - min_i Q_i(s, a~pi)) plus SB3's temperature loss when ent_coef="auto".
What stays SB3's own (and differs from DrQ): with SB3's default
`share_features_extractor=False` the actor has its own CNN, trained by the actor loss; `encoder` here is the
critic's features extractor (what SODA's auxiliary loss trains and what TangentProp differentiates through).
The update order is the strategies' (critic, then actor and temperature, then targets: DrQ's order), not
SB3's (temperature first); the temperature in the target is the current one either way. Targets are
updated when the model's running update count is a multiple of `target_update_interval` (SB3 counts the
gradient steps of each `train` call from 0; the two agree for the default interval 1). The logged
`critic_loss` is the protocol's (twice SB3's) on the first view group; `critic_total_loss` is what is optimized.
Rejected with a clear error: n_critics != 2, use_sde=True, share_features_extractor=True.
The protocol's feature hand-off is not used: critic_loss returns no features and actor_loss ignores `features`
(SB3's actor has its own networks and reads the critic after its update, as SB3 does).

TD3 and DDPG (stable_baselines3/td3/td3.py; DDPG is TD3 with one critic, policy_delay 1 and no target smoothing
clip in SB3): td_target = r + discount * min_i Q'_i(s', clip(mu'(s') + clip(N(0, target_policy_noise),
+-target_noise_clip), -1, 1)); critic loss = sum_i MSE(Q_i, y) as SB3's (DDPG's single critic is also the protocol's
Q1 and Q2: its q_values, used by TangentProp only, are (Q, Q)); actor loss = -Q1(s, mu(s)) on the critic's detached
features, every `policy_delay` updates, after which both targets are averaged (SB3's order). The actor is
deterministic, so ActorKL (which needs a policy distribution) is refused by its requirement check.

TQC (sb3_contrib/tqc/tqc.py): the target is a vector of quantiles: the n_critics * n_quantiles next-state quantiles of
the target critics, sorted, the top `top_quantiles_to_drop_per_net * n_critics` dropped, minus alpha log pi, times
the discount, plus r; the critic loss is sb3-contrib's quantile Huber loss against it; the actor loss is SAC's with Q
the mean over all quantiles (as TQC). DrQ's mean over K target views is then the mean of K quantile vectors (each
sorted), which is what K = 1 reduces to exactly. TangentProp needs scalar Q values and is refused (no q_values).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Distribution, Independent, Normal, TanhTransform, TransformedDistribution

from rl_aug.strategies.protocol import Part, double_q_loss, step_optimizers


def _unsupported(model: Any, n_critics: int | None) -> list[str]:
    """What the protocol cannot express, for any SB3 off-policy model."""
    out = []
    if n_critics is not None and getattr(model.critic, "n_critics", n_critics) != n_critics:
        out.append(f"n_critics={model.critic.n_critics} (the protocol is clipped double Q: use {n_critics})")
    if getattr(model, "use_sde", False):
        out.append("use_sde=True (gSDE noise and its log_std parameter are not part of the protocol)")
    if getattr(model.policy, "share_features_extractor", False):
        out.append("share_features_extractor=True (SB3 then trains the CNN from the actor loss only and "
                   "the critic cannot reach it; the strategies need the critic to train it)")
    return out


class _SB3View:
    """What every adapter shares: the critic's CNN as the encoder, SB3's preprocessing, optimizers, targets."""

    algorithm = "SB3"

    def _bind(self, model: Any, actor_update_every: int, target_update_every: int, problems: list[str]) -> None:
        if problems:
            raise ValueError(f"rl_aug.sb3 supports SB3 {self.algorithm} with its defaults here; got "
                             f"{'; '.join(problems)}")
        self.model = model
        self.device = torch.device(model.device)
        self.obs_shape = tuple(int(d) for d in model.observation_space.shape)
        self.actor_update_every = int(actor_update_every)
        self.target_update_every = int(target_update_every)
        self.encoder: nn.Module = model.critic.features_extractor  # what SODA's aux loss trains
        self.critic_target_encoder: nn.Module | None = model.critic_target.features_extractor

    def _float(self, obs: Tensor) -> Tensor:
        return obs if obs.is_floating_point() else obs.float()

    def encode(self, obs: Tensor, encoder: nn.Module | None = None) -> Tensor:
        """Features of images in [0, 255] through `encoder` (None: `self.encoder`), after SB3's own
        preprocessing (x / 255)."""
        from stable_baselines3.common.preprocessing import preprocess_obs

        x = preprocess_obs(self._float(obs), self.model.observation_space, self.model.policy.normalize_images)
        return (self.encoder if encoder is None else encoder)(x)

    def optimizers_for(self, which: Part) -> list[torch.optim.Optimizer]:
        raise NotImplementedError

    def optimize(self, loss: Tensor, which: Part) -> None:
        step_optimizers(loss, self.optimizers_for(which))

    def update_targets(self) -> None:
        """Polyak-average the critic (and the actor where it has a target); copy batch-norm running stats (#996)."""
        from stable_baselines3.common.utils import polyak_update

        m = self.model
        polyak_update(m.critic.parameters(), m.critic_target.parameters(), m.tau)
        if getattr(m, "actor_target", None) is not None:
            polyak_update(m.actor.parameters(), m.actor_target.parameters(), m.tau)
        for stats, target in (("batch_norm_stats", "batch_norm_stats_target"),
                              ("critic_batch_norm_stats", "critic_batch_norm_stats_target"),
                              ("actor_batch_norm_stats", "actor_batch_norm_stats_target")):
            if hasattr(m, stats):
                polyak_update(getattr(m, stats), getattr(m, target), 1.0)

    def config(self) -> dict[str, Any]:
        return {"actor_update_every": self.actor_update_every, "target_update_every": self.target_update_every}


class _SoftActorView(_SB3View):
    """What SAC and TQC share: a squashed diagonal Gaussian actor with a (learned or fixed) temperature."""

    @property
    def alpha(self) -> Tensor:
        m = self.model
        return torch.exp(m.log_ent_coef) if m.log_ent_coef is not None else m.ent_coef_tensor

    def policy(self, obs: Tensor, step: int) -> Distribution:
        """SB3's squashed diagonal Gaussian as a torch distribution (for ActorKL)."""
        mean, log_std, _ = self.model.actor.get_action_dist_params(self._float(obs))
        return TransformedDistribution(Independent(Normal(mean, log_std.exp()), 1), [TanhTransform(cache_size=1)])

    def _soft_actor_loss(self, obs: Tensor, q_of: Any) -> tuple[Tensor, dict[str, float]]:
        """mean(alpha log pi(a|s) - Q(s, a)), a ~ pi(s), with `q_of(obs, action)` the algorithm's Q; plus SB3's
        temperature loss when ent_coef="auto" (its gradient reaches log_ent_coef only)."""
        m = self.model
        obs = self._float(obs)
        action, log_prob = m.actor.action_log_prob(obs)
        log_prob = log_prob.reshape(-1, 1)
        alpha = self.alpha
        loss = (alpha.detach() * log_prob - q_of(obs, action)).mean()
        metrics = {"actor_loss": float(loss.detach()), "ent_coef": float(alpha.detach()),
                   "entropy": float(-log_prob.detach().mean())}
        if m.log_ent_coef is None:
            return loss, metrics
        ent_coef_loss = -(m.log_ent_coef * (log_prob + m.target_entropy).detach()).mean()
        metrics["ent_coef_loss"] = float(ent_coef_loss.detach())
        return loss + ent_coef_loss, metrics

    def optimizers_for(self, which: Part) -> list[torch.optim.Optimizer]:
        m = self.model
        if which == "critic":
            return [m.critic.optimizer]
        return [m.actor.optimizer] + ([m.ent_coef_optimizer] if m.ent_coef_optimizer is not None else [])


class SB3ActorCritic(_SoftActorView):
    """Protocol view of a stable_baselines3.SAC `model`; holds no parameters of its own."""

    algorithm = "SAC"

    def __init__(self, model: Any, actor_update_every: int = 1) -> None:
        from stable_baselines3 import SAC

        if not isinstance(model, SAC):
            raise TypeError(f"expected a stable_baselines3.SAC model, got {type(model).__name__}")
        # SB3: actor every gradient step; targets every target_update_interval
        self._bind(model, actor_update_every, model.target_update_interval, _unsupported(model, 2))

    # ------------------------------------------------------------------ protocol
    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        qs = self.model.critic(self._float(obs), action)
        return qs[0], qs[1]

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        m = self.model
        next_action, log_prob = m.actor.action_log_prob(self._float(next_obs))
        q_next = torch.cat(m.critic_target(self._float(next_obs), next_action), dim=1).min(dim=1, keepdim=True)[0]
        return reward + discount * (q_next - self.alpha.detach() * log_prob.reshape(-1, 1))

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float], None]:
        return (*double_q_loss(*self.q_values(obs, action), target), None)

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """SAC's: alpha log pi - min(Q1, Q2) at a ~ pi(s), plus the temperature loss."""
        return self._soft_actor_loss(obs, lambda x, a: torch.cat(self.model.critic(x, a), dim=1).min(dim=1,
                                                                                                       keepdim=True)[0])


class SB3TD3ActorCritic(_SB3View):
    """Protocol view of a stable_baselines3.TD3 or DDPG `model` (see the module doc)."""

    algorithm = "TD3/DDPG"

    def __init__(self, model: Any) -> None:
        from stable_baselines3 import TD3

        if not isinstance(model, TD3):
            raise TypeError(f"expected a stable_baselines3.TD3 or DDPG model, got {type(model).__name__}")
        self._bind(model, model.policy_delay, model.policy_delay, _unsupported(model, None))
        self.n_critics = int(model.critic.n_critics)

    def q_values(self, obs: Tensor, action: Tensor) -> tuple[Tensor, Tensor]:
        qs = self.model.critic(self._float(obs), action)
        return (qs[0], qs[1]) if len(qs) > 1 else (qs[0], qs[0])

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        m = self.model
        next_obs = self._float(next_obs)
        mu = m.actor_target(next_obs)
        noise = torch.randn_like(mu).mul_(m.target_policy_noise).clamp_(-m.target_noise_clip, m.target_noise_clip)
        next_action = (mu + noise).clamp(-1, 1)
        q_next = torch.cat(m.critic_target(next_obs, next_action), dim=1).min(dim=1, keepdim=True)[0]
        return reward + discount * q_next

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float], None]:
        qs = self.model.critic(self._float(obs), action)
        if len(qs) == 2:
            return (*double_q_loss(qs[0], qs[1], target), None)
        loss = sum(F.mse_loss(q, target) for q in qs)
        return loss, {"critic_loss": float(loss.detach()), "q1": float(qs[0].detach().mean()),
                      "target_q": float(target.detach().mean())}, None

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        obs = self._float(obs)
        loss = -self.model.critic.q1_forward(obs, self.model.actor(obs)).mean()  # q1_forward: detached features
        return loss, {"actor_loss": float(loss.detach())}

    def optimizers_for(self, which: Part) -> list[torch.optim.Optimizer]:
        return [self.model.critic.optimizer] if which == "critic" else [self.model.actor.optimizer]


class SB3TQCActorCritic(_SoftActorView):
    """Protocol view of an sb3_contrib.TQC `model` (see the module doc)."""

    algorithm = "TQC"

    def __init__(self, model: Any, actor_update_every: int = 1) -> None:
        from sb3_contrib import TQC

        if not isinstance(model, TQC):
            raise TypeError(f"expected an sb3_contrib.TQC model, got {type(model).__name__}")
        self._bind(model, actor_update_every, model.target_update_interval, _unsupported(model, None))

    @torch.no_grad()
    def td_target(self, reward: Tensor, next_obs: Tensor, discount: Tensor, step: int) -> Tensor:
        """(N, n_target_quantiles): the truncated, sorted next-state quantiles backed up (TQC)."""
        m = self.model
        next_obs = self._float(next_obs)
        next_action, log_prob = m.actor.action_log_prob(next_obs)
        quantiles = m.critic_target(next_obs, next_action).reshape(len(next_obs), -1)
        kept = m.critic.quantiles_total - m.top_quantiles_to_drop_per_net * m.critic.n_critics
        quantiles = torch.sort(quantiles, dim=1)[0][:, :kept]
        return reward + discount * (quantiles - self.alpha.detach() * log_prob.reshape(-1, 1))

    def critic_loss(self, obs: Tensor, action: Tensor, target: Tensor) -> tuple[Tensor, dict[str, float], None]:
        from sb3_contrib.common.utils import quantile_huber_loss

        current = self.model.critic(self._float(obs), action)  # (N, n_critics, n_quantiles)
        loss = quantile_huber_loss(current, target.unsqueeze(1), sum_over_quantiles=False)
        return loss, {"critic_loss": float(loss.detach()), "q": float(current.detach().mean()),
                      "target_q": float(target.detach().mean())}, None

    def actor_loss(self, obs: Tensor, step: int, features: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
        """TQC's: alpha log pi - Q at a ~ pi(s), Q the mean over every critic's quantiles, plus the temperature loss."""
        return self._soft_actor_loss(obs, lambda x, a: self.model.critic(x, a).mean(dim=2).mean(dim=1, keepdim=True))


def adapter_for(model: Any) -> _SB3View:
    """The protocol view of an SB3 off-policy model: SAC, TD3, DDPG or sb3-contrib's TQC."""
    from stable_baselines3 import SAC, TD3

    if isinstance(model, SAC):
        return SB3ActorCritic(model)
    if isinstance(model, TD3):
        return SB3TD3ActorCritic(model)
    try:
        from sb3_contrib import TQC
    except ImportError:
        TQC = None
    if TQC is not None and isinstance(model, TQC):
        return SB3TQCActorCritic(model)
    raise TypeError(f"expected an SB3 SAC, TD3 or DDPG model or an sb3-contrib TQC model, got {type(model).__name__}")
