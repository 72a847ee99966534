"""stable-baselines3's off-policy algorithms whose gradient steps go through an rl_aug strategy (DrQ, RAD, SVEA,
SODA, ...): `AugmentedSAC`, `AugmentedTD3`, `AugmentedDDPG`, and `AugmentedTQC` (sb3-contrib, rl_aug/sb3/tqc.py).

Extended the way sb3-contrib extends SB3 (subclass, override `train`, declare what to save): collection,
logging, callbacks, schedules, `save`/`load` and `predict` are SB3's. One mixin holds all of it; each class only
names its SB3 base and its protocol view (rl_aug/sb3/adapter.py). The strategy is given by name and options (like
`policy_kwargs`), so a saved model rebuilds it on `load`; its state (generator, SODA heads, `auto(...)` choices) is
saved with the policy. Observations must be images as SB3 and the strategies expect them: Box uint8 (C, H, W),
frames stacked on the channel axis (e.g. `envs.make(...)`, or PixelObservation + FrameStack). Each finished
episode's return (Monitor's info) goes to the strategy, whose `auto(...)` augmentations choose with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
from stable_baselines3 import DDPG, SAC, TD3

from rl_aug.sb3.adapter import SB3ActorCritic, SB3TD3ActorCritic
from rl_aug.strategies.protocol import Batch


class _StrategyState:
    """Adapts a strategy's state_dict / load_state_dict to the signature SB3's set_parameters calls."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def state_dict(self) -> dict[str, Any]:
        return self.model.strategy.state_dict()

    def load_state_dict(self, state: dict[str, Any], strict: bool = True) -> None:
        del strict
        self.model.strategy.load_state_dict(state)


def _check_observation_space(space: Any, who: str) -> None:
    """Augmentations work on stacked uint8 RGB frames: state vectors and float images are refused by name."""
    shape, dtype = getattr(space, "shape", None), getattr(space, "dtype", None)
    if shape is None or dtype != np.uint8 or len(shape) != 3 or shape[0] % 3:
        raise ValueError(
            f"{who}: expected a Box uint8 (C, H, W) observation space with C a multiple of 3, got {space}: "
            "stack RGB frames on the channel axis (rl_aug.wrappers.PixelObservation + FrameStack)")


class AugmentedMixin:
    """The SB3 algorithm it is mixed into, trained through `rl_aug.strategies.make(strategy, **strategy_kwargs)`.

    Args:
        strategy: a name from `rl_aug.strategies.available()` ("none", "drq", "rad", "svea", "soda",
            "tangent_prop", "actor_kl"; the algorithm's protocol view may lack what one needs, e.g. ActorKL a
            stochastic policy on TD3, which is then refused by name).
        strategy_kwargs: its options, e.g. {"strong": "overlay(alpha=0.5)", "regularizers": ["actor_kl"]}.
        strategy_seed: seeds the strategy's augmentation generator (default: drawn from torch's RNG, which
            SB3 seeds from `seed`).
        Every other argument is the SB3 algorithm's.
    """

    adapter: ClassVar[type]  # the protocol view of this algorithm (rl_aug/sb3/adapter.py)

    def __init__(self, policy: Any, env: Any, *args: Any, strategy: str = "drq",
                 strategy_kwargs: Mapping[str, Any] | None = None, strategy_seed: int | None = None,
                 **kwargs: Any) -> None:
        from rl_aug import strategies

        who = type(self).__name__
        if not isinstance(strategy, str) or strategy not in strategies.available():
            raise ValueError(f"{who}: expected strategy one of {strategies.available()}, got {strategy!r} "
                             "(pass options through strategy_kwargs so a saved model can rebuild it)")
        if strategy_kwargs is not None and not isinstance(strategy_kwargs, Mapping):
            raise TypeError(f"{who}: expected strategy_kwargs a dict of the strategy's options (e.g. "
                            f"{{'strong': 'conv'}}), got {type(strategy_kwargs).__name__} {strategy_kwargs!r}")
        if strategy_seed is not None and (isinstance(strategy_seed, bool) or not isinstance(strategy_seed, int)):
            raise TypeError(f"{who}: expected strategy_seed an int or None, got "
                            f"{type(strategy_seed).__name__} {strategy_seed!r}")
        space = getattr(env, "observation_space", None)  # an env id string is made by SB3: checked in _setup_model
        if space is not None:  # before SB3, whose CnnPolicy assertion names neither the fix nor this class
            _check_observation_space(space, who)
        self.strategy_name = strategy
        self.strategy_kwargs = dict(strategy_kwargs or {})
        self.strategy_seed = strategy_seed
        super().__init__(policy, env, *args, **kwargs)

    @classmethod
    def load(cls, path: Any, *args: Any, **kwargs: Any) -> Any:
        """SB3's `load`, after checking that `path` holds a model of this class (its strategy is part of it)."""
        from stable_baselines3.common.save_util import load_from_zip_file

        data, _, _ = load_from_zip_file(path, device="cpu", load_data=True, print_system_info=False)
        if not data or "strategy_name" not in data:
            base = next(c for c in cls.__mro__ if c.__module__.startswith(("stable_baselines3", "sb3_contrib")))
            plain = f"{base.__module__.split('.')[0]}.{base.__name__}"
            raise ValueError(f"expected a model saved by rl_aug.sb3.{cls.__name__}, got {str(path)!r}, which holds "
                             f"a plain SB3 model (no rl-aug strategy): load it with {plain}.load, or train an "
                             f"{cls.__name__}")
        return super().load(path, *args, **kwargs)  # type: ignore[misc]

    def _setup_model(self) -> None:
        from rl_aug import strategies

        super()._setup_model()  # type: ignore[misc]
        _check_observation_space(self.observation_space, type(self).__name__)
        self.agent = self.adapter(self)
        self.strategy = strategies.make(self.strategy_name, **self.strategy_kwargs)
        if self.strategy_seed is not None:
            self.strategy.seed = int(self.strategy_seed)
        self.strategy.attach(self.agent)
        self.strategy_state = _StrategyState(self)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "agent", "strategy", "strategy_state"]  # type: ignore[misc]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, variables = super()._get_torch_save_params()  # type: ignore[misc]
        return [*state_dicts, "strategy_state"], variables

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        """SB3's episode bookkeeping, plus each finished episode's return (Monitor's info["episode"]["r"]) handed
        to the strategy, whose `auto(...)` augmentations choose with it (a no-op without auto). An episode that began
        before `learning_starts` says nothing about an augmentation and is not handed over."""
        super()._update_info_buffer(infos, dones)  # type: ignore[misc]
        for info in infos:  # only episodes that began after learning_starts: every step of them was trained on
            if "episode" in info and self.num_timesteps - int(info["episode"]["l"]) >= self.learning_starts:
                self.strategy.observe_episode(float(info["episode"]["r"]))

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        """`gradient_steps` strategy updates on replay batches; metrics go to SB3's logger under train/.
        The strategy's `step` is SB3's running update count (see rl_aug/strategies/protocol.py)."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.agent.optimizers_for("critic") + self.agent.optimizers_for("actor"))
        metrics: dict[str, list[float]] = defaultdict(list)
        for _ in range(gradient_steps):
            self._n_updates += 1
            data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            gamma = data.discounts if data.discounts is not None else self.gamma
            batch = Batch(obs=data.observations, action=data.actions, reward=data.rewards,
                          discount=(1.0 - data.dones) * gamma, next_obs=data.next_observations)
            aux = self.strategy.aux_batch_size(self._n_updates)  # SODA: a separate image batch (DMC-GB)
            if aux:
                batch.aux_obs = self.replay_buffer.sample(aux, env=self._vec_normalize_env).observations
            for key, value in self.strategy.update(self.agent, batch, self._n_updates).items():
                metrics[key].append(float(value))
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        for key, values in metrics.items():
            self.logger.record(f"train/{key}", float(np.mean(values)))


class AugmentedSAC(AugmentedMixin, SAC):
    """SB3's SAC through an rl_aug strategy (see AugmentedMixin for the extra arguments)."""

    adapter = SB3ActorCritic


class AugmentedTD3(AugmentedMixin, TD3):
    """SB3's TD3 through an rl_aug strategy: actor and targets every `policy_delay` updates, as TD3's."""

    adapter = SB3TD3ActorCritic


class AugmentedDDPG(AugmentedMixin, DDPG):
    """SB3's DDPG (TD3 with one critic, policy_delay 1, target noise 0 in SB3) through an rl_aug strategy."""

    adapter = SB3TD3ActorCritic
