"""The update every strategy shares, and the hooks through which strategies and regularizers differ.

A strategy decides which views of a batch each loss sees (`views`), nothing else: the update order is
the same for all, as in DrQ and DMC-GB (critic every call; actor and temperature every
`agent.actor_update_every`; targets every `agent.target_update_every`; then any auxiliary loss).

Loss conventions (one choice, used everywhere)
- Targets: the mean over the K augmented copies of next_obs of the agent's `td_target` (DrQ, Hu et al.).
  The K copies go through the agent as ONE concatenated batch; each row draws its own next action, so
  this is exactly the mean of K separate calls.
- Critic: a weighted average of the per-view critic losses with weights summing to one. DrQ averages
  its M views (as Hu et al. do; DrQ's code sums them, which only rescales the loss by M); SVEA weighs the
  clean and strong views alpha and beta (0.5 each, DMC-GB). Views with equal weights are fused into one
  concatenated batch: w * sum_v L_v = w * V * L(concat), since L is a mean over rows.
- Regularizer penalties are added to the loss of their part with their own weight.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from rl_aug.augment.auto import AutoAugmentation, find_autos
from rl_aug.strategies.augmentation import Augmentation
from rl_aug.strategies.protocol import Batch, double_q_loss

# What every strategy calls on an agent (see protocol.ActorCritic).
BASE_REQUIREMENTS: tuple[str, ...] = (
    "device", "actor_update_every", "target_update_every",
    "td_target", "critic_loss", "actor_loss", "optimize", "update_targets",
)


@dataclass
class ViewGroup:
    """Critic views that share one weight, stacked view-major: rows [v*N:(v+1)*N] hold view v."""

    obs: Tensor  # (n_views * N, C, H, W)
    weight: float  # weight of EACH view in the critic loss
    n_views: int


@dataclass
class Views:
    """What each loss of one update sees."""

    next_obs: Tensor  # (K * N, C, H, W): the K target views, copy-major
    k: int
    critic: list[ViewGroup]
    actor_obs: Tensor  # (N, C, H, W)
    # The critic view group whose first N rows ARE actor_obs (the critic step's features of those rows go to
    # actor_loss: the protocol's feature hand-off); None when the actor sees a view the critic did not.
    actor_view: int | None
    extra: dict[str, Tensor] = field(default_factory=dict)


def check_agent(agent: Any, requirements: Sequence[str], who: str) -> None:
    """Raise one error listing every protocol member `who` needs and the agent lacks."""
    missing = [name for name in dict.fromkeys(requirements) if not hasattr(agent, name)]
    if missing:
        raise TypeError(
            f"{who} cannot wrap {type(agent).__name__}: it lacks {', '.join(missing)}. "
            "Implement these members of rl_aug.strategies.ActorCritic (rl_aug/strategies/protocol.py)."
        )
    for name in ("actor_update_every", "target_update_every"):
        if name in requirements and (not isinstance(getattr(agent, name), int) or getattr(agent, name) < 1):
            raise ValueError(f"expected agent.{name} to be a positive int, got {getattr(agent, name)!r}")


def repeat_rows(x: Tensor, n: int) -> Tensor:
    """n copies of a batch stacked copy-major (rows [k*N:(k+1)*N] are copy k); no copy when n == 1."""
    return x if n == 1 else x.repeat(n, *([1] * (x.dim() - 1)))


class Regularizer:
    """A penalty added to the critic and/or actor loss of whatever strategy it is composed with."""

    name: ClassVar[str] = "regularizer"
    requirements: ClassVar[tuple[str, ...]] = ()
    needs_input_grad: ClassVar[bool] = False  # critic penalty needs dQ/dobs (critic computed from q_values)

    def __init__(self, weight: float) -> None:
        if not weight >= 0:
            raise ValueError(f"expected {type(self).__name__} weight >= 0, got {weight!r}")
        self.weight = float(weight)

    def bind(self, strategy: Strategy) -> None:
        """Called at attach: check the regularizer makes sense with this strategy."""

    def critic_penalty(self, obs: Tensor, q1: Tensor, q2: Tensor, n_views: int,
                       generator: torch.Generator) -> Tensor | None:
        """Penalty for one critic view group; `obs` is the float input that requires grad."""
        return None

    def actor_penalty(self, agent: Any, strategy: Strategy, batch: Batch, actor_obs: Tensor, step: int,
                      generator: torch.Generator) -> Tensor | None:
        return None

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "weight": self.weight}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({args})"


class Strategy:
    """Base of all strategies: the shared update; subclasses build the views (and SODA its aux loss)."""

    name: ClassVar[str] = "strategy"
    requirements: ClassVar[tuple[str, ...]] = BASE_REQUIREMENTS

    def __init__(self, regularizers: Sequence[Regularizer] = (), seed: int | None = None) -> None:
        for reg in regularizers:
            if not isinstance(reg, Regularizer):
                raise TypeError(
                    f"expected Regularizer objects (e.g. TangentProp(weight=0.1)), got {type(reg).__name__}: "
                    "use rl_aug.strategies.make(name, regularizers=['tangent_prop']) to build them by name"
                )
        self.regularizers: tuple[Regularizer, ...] = tuple(regularizers)
        self.seed = seed
        self.generator: torch.Generator | None = None
        self._warned_identity = False

    # ------------------------------------------------------------------ what subclasses define
    @property
    def actor_augmentation(self) -> Augmentation | None:
        """The augmentation the actor's input gets (ActorKL draws its second view with it)."""
        return None

    def views(self, batch: Batch) -> Views:
        raise NotImplementedError

    def _attach(self, agent: Any) -> None:
        """Subclass hook: build heads/optimizers that depend on the agent."""

    def after_update(self, agent: Any, batch: Batch, step: int) -> dict[str, float]:
        """Subclass hook run after the RL update (SODA's auxiliary loss)."""
        return {}

    def aux_batch_size(self, step: int) -> int:
        """How many extra images the loop should sample into `batch.aux_obs` for the update at `step`
        (0: none; SODA asks for its separate auxiliary batch on the updates that run its loss)."""
        del step
        return 0

    def config(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ lifecycle
    def all_requirements(self) -> tuple[str, ...]:
        reqs = list(self.requirements)
        for reg in self.regularizers:
            reqs += reg.requirements
        return tuple(dict.fromkeys(reqs))

    def attach(self, agent: Any) -> None:
        """Check the agent speaks what this strategy needs; make the generator and any heads.

        Call once after the agent is built and before a checkpoint is loaded into agent or strategy.
        """
        check_agent(agent, self.all_requirements(), repr(self))
        device = torch.device(agent.device)
        seed = self.seed if self.seed is not None else int(torch.randint(0, 2**62, (1,)).item())
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(seed)
        for reg in self.regularizers:
            reg.bind(self)
        self._attach(agent)

    # ------------------------------------------------------------------ auto(...) augmentations
    def autos(self) -> dict[str, AutoAugmentation]:
        """The `auto(...)` choosers inside this strategy's augmentations, keyed by role ("strong", "aug", ...)."""
        found: dict[str, AutoAugmentation] = {}
        seen: set[int] = set()
        owners = [("", self), *((f"{reg.name}_", reg) for reg in self.regularizers)]  # ActorKL has its own aug
        for prefix, owner in owners:
            for role, value in vars(owner).items():
                if isinstance(value, Augmentation):
                    for i, auto in enumerate(find_autos(value)):
                        if id(auto) not in seen:
                            seen.add(id(auto))
                            found[f"{prefix}{role}" + (str(i) if i else "")] = auto
        return found

    def observe_episode(self, episode_return: float) -> None:
        """Give every `auto(...)` chooser a training episode's return (the training loops call this at each
        episode end; without auto it does nothing)."""
        for auto in self.autos().values():
            auto.observe(episode_return)

    def _aug(self, aug: Augmentation | None, x: Tensor) -> Tensor:
        return x if aug is None else aug(x, generator=self.generator)

    # ------------------------------------------------------------------ the update
    def update(self, agent: Any, batch: Batch, step: int) -> dict[str, float]:
        """One full update: critic; actor every actor_update_every; targets every target_update_every."""
        if self.generator is None:
            raise RuntimeError(f"{self!r}: call strategy.attach(agent) once before update()")
        metrics: dict[str, float] = {}
        views = self.views(batch)

        critic_loss, critic_metrics, group_features = self.critic_loss(agent, batch, step, views)
        metrics.update(critic_metrics)
        agent.optimize(critic_loss, "critic")

        if step % agent.actor_update_every == 0:
            features = None if views.actor_view is None else group_features[views.actor_view]
            if features is not None:  # the hand-off: the pre-update features of the actor's rows
                features = features[: len(views.actor_obs)]
            actor_loss, actor_metrics = agent.actor_loss(views.actor_obs, step, features=features)
            metrics.update(actor_metrics)
            for reg in self.regularizers:
                penalty = reg.actor_penalty(agent, self, batch, views.actor_obs, step, self.generator)
                if penalty is not None:
                    metrics[reg.name] = float(penalty.detach())
                    actor_loss = actor_loss + reg.weight * penalty
            metrics["actor_total_loss"] = float(actor_loss.detach())
            agent.optimize(actor_loss, "actor")

        if step % agent.target_update_every == 0:
            agent.update_targets()

        metrics.update(self.after_update(agent, batch, step))
        for role, auto in self.autos().items():
            metrics.update(auto.metrics(f"auto_{role}"))
        return metrics

    def critic_loss(self, agent: Any, batch: Batch, step: int,
                    views: Views | None = None) -> tuple[Tensor, dict[str, float], list[Tensor | None]]:
        """The critic loss that `update(agent, batch, step)` optimizes, computed without stepping anything: the
        weighted loss over the critic views against the mean target, its metrics, and each view group's detached
        features. For inspecting the loss or its gradient (benchmarks/gradient_noise.py); `views`: those of
        `self.views(batch)` already drawn (None: draw them here, from the generator as `update` does)."""
        if self.generator is None:
            raise RuntimeError(f"{self!r}: call strategy.attach(agent) once before critic_loss()")
        if views is None:
            views = self.views(batch)
        target = self._target(agent, batch, views, step)
        return self._critic_loss(agent, batch, views, target)

    def _target(self, agent: Any, batch: Batch, views: Views, step: int) -> Tensor:
        with torch.no_grad():
            k, n = views.k, len(batch)
            y = agent.td_target(repeat_rows(batch.reward, k), views.next_obs, repeat_rows(batch.discount, k), step)
            return y.view(k, n, *y.shape[1:]).mean(0) if k > 1 else y

    def _critic_loss(self, agent: Any, batch: Batch, views: Views,
                     target: Tensor) -> tuple[Tensor, dict[str, float], list[Tensor | None]]:
        """The weighted critic loss over the view groups, its metrics, and each group's detached features
        (from `critic_loss`; None where the agent returned none or `q_values` computed the loss)."""
        input_grad = any(reg.needs_input_grad for reg in self.regularizers)
        total: Tensor | float = 0.0
        metrics: dict[str, float] = {}
        penalties: dict[str, Tensor] = {}
        features: list[Tensor | None] = []
        for i, group in enumerate(views.critic):
            action = repeat_rows(batch.action, group.n_views)
            y = repeat_rows(target, group.n_views)
            if input_grad:
                x = group.obs.float().requires_grad_(True)
                q1, q2 = agent.q_values(x, action)
                loss, group_metrics = double_q_loss(q1, q2, y)
                for reg in self.regularizers:
                    penalty = reg.critic_penalty(x, q1, q2, group.n_views, self.generator)
                    if penalty is not None:
                        penalties[reg.name] = penalties.get(reg.name, 0.0) + penalty
                features.append(None)
            else:
                loss, group_metrics, group_features = agent.critic_loss(group.obs, action, y)
                features.append(group_features)
            if i == 0:
                metrics.update(group_metrics)
            total = total + group.weight * group.n_views * loss
        for reg in self.regularizers:
            if reg.name in penalties:
                metrics[reg.name] = float(penalties[reg.name].detach())
                total = total + reg.weight * penalties[reg.name]
        metrics["critic_total_loss"] = float(total.detach())
        return total, metrics, features

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        if self.generator is None:
            raise RuntimeError(f"{self!r}: attach(agent) before state_dict()")
        state = {"name": self.name, "generator": self.generator.get_state(), **self._extra_state()}
        autos = self.autos()
        if autos:
            state["auto"] = {role: auto.state_dict() for role, auto in autos.items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.generator is None:
            raise RuntimeError(f"{self!r}: attach(agent) before load_state_dict(), so heads exist to load into")
        if state.get("name") != self.name:
            raise ValueError(
                f"expected a checkpoint of strategy {self.name!r}, got one of {state.get('name')!r}: "
                "build the strategy the checkpoint was trained with"
            )
        self.generator.set_state(state["generator"])
        autos = self.autos()
        if set(autos) != set(state.get("auto", {})):
            raise ValueError(f"expected a checkpoint with auto(...) choosers for {sorted(autos) or 'no role'}, got one "
                             f"with {sorted(state.get('auto', {})) or 'none'}: build the strategy it was trained with")
        for role, auto in autos.items():
            auto.load_state_dict(state["auto"][role])
        self._load_extra_state(state)

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        del state

    # ------------------------------------------------------------------ composition and display
    def with_regularizers(self, *regularizers: Regularizer) -> Strategy:
        """A copy of this (unattached) strategy with more regularizers."""
        if self.generator is not None:
            raise RuntimeError(f"{self!r} is already attached: compose before attach(agent)")
        names = [r.name for r in (*self.regularizers, *regularizers)]
        if len(names) != len(set(names)):
            raise ValueError(f"each regularizer may appear once, got {names}")
        out = copy.copy(self)
        out.regularizers = (*self.regularizers, *regularizers)
        return out

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.config().items()]
        if self.regularizers:
            args.append(f"regularizers={list(self.regularizers)!r}")
        return f"{type(self).__name__}({', '.join(args)})"

    def _warn_if_identity(self, before: Tensor, after: Tensor, what: str) -> None:
        """RAD's crop on images already at the crop size does nothing: say so once instead of silently."""
        if self._warned_identity:
            return
        self._warned_identity = True
        if before.shape == after.shape and torch.equal(before, after):
            import warnings

            warnings.warn(
                f"{self!r}: the {what} augmentation left the batch unchanged (e.g. crop to the size the images "
                "already have); render larger images (RAD: 100 -> 84) or use aug='shift(pad=4)'",
                stacklevel=3,
            )


class WeakViewStrategy(Strategy):
    """A strategy whose RL losses all see one weakly augmented view (`self.weak`, set by the subclass): SVEA's
    clean half and target, SODA's RL update. The actor's input gets the weak augmentation too."""

    weak: Augmentation | None

    @property
    def actor_augmentation(self) -> Augmentation | None:
        return self.weak

    def weak_views(self, batch: Batch) -> tuple[Tensor, Tensor]:
        """(weak(next_obs), weak(obs)), drawn from the generator in that order (the order results are pinned to)."""
        return self._aug(self.weak, batch.next_obs), self._aug(self.weak, batch.obs)
