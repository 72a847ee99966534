"""Build strategies by name, from keyword arguments or a config mapping, and compose regularizers.

    make("svea", strong="overlay(alpha=0.5)")
    make("svea", regularizers=["tangent_prop", {"name": "actor_kl", "weight": 0.05}])
    make("tangent_prop")                        # DrQ (K=2, M=2 shifts) + TangentProp, as Hu et al.
    make("actor_kl", base="svea", base_kwargs={"alpha": 0.5})
    compose(make("drq"), TangentProp(), ActorKL())
    from_config({"name": "soda", "aux_every": 2})   # e.g. configs/strategy/soda.yaml
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

from rl_aug.strategies.actor_kl import ActorKL
from rl_aug.strategies.base import Regularizer, Strategy
from rl_aug.strategies.drq import RAD, DrQ, NoAug
from rl_aug.strategies.soda import SODA
from rl_aug.strategies.svea import SVEA
from rl_aug.strategies.tangent_prop import TangentProp

STRATEGIES: dict[str, type[Strategy]] = {"none": NoAug, "drq": DrQ, "rad": RAD, "svea": SVEA, "soda": SODA}
REGULARIZERS: dict[str, type[Regularizer]] = {"tangent_prop": TangentProp, "actor_kl": ActorKL}
# A regularizer named on its own wraps this strategy (Hu et al. regularise DrQ with two shifts).
DEFAULT_BASE = "drq"


def available() -> list[str]:
    """Names `make` accepts: strategies, then regularizers (each on top of DrQ unless base= says otherwise)."""
    return [*STRATEGIES, *REGULARIZERS]


def _normalise(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    return "none" if key in ("noaug", "no_aug", "identity") else key


def _check_type(what: str, key: str, value: Any, default: Any) -> None:
    """An option must have its default's type (an int is a fine float; a bool is neither): `K=1.5` or
    `alpha='half'` fail here, by name, instead of being truncated or failing deep inside an update."""
    if isinstance(default, bool) or default is None or default is inspect.Parameter.empty:
        return
    if isinstance(default, int):
        ok, expected = isinstance(value, int) and not isinstance(value, bool), "an int"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        expected = "a finite number"
    else:
        return
    if not ok:
        raise TypeError(f"{what}: expected {key} {expected}, got {type(value).__name__} {value!r}")


def _construct(cls: type, kwargs: Mapping[str, Any], what: str) -> Any:
    params = inspect.signature(cls.__init__).parameters
    unknown = sorted(set(kwargs) - set(params) - {"self"})
    if unknown:
        accepted = [p for p in params if p != "self"]
        raise TypeError(f"{what} got unknown options {unknown}; it accepts {accepted}")
    for key, value in kwargs.items():
        _check_type(what, key, value, params[key].default)
    return cls(**kwargs)


def _check_regularizers(regularizers: Any) -> list[Any]:
    if regularizers is None:
        return []
    if isinstance(regularizers, (str, Mapping, Regularizer)):
        raise TypeError(f"expected regularizers as a list (e.g. regularizers=[tangent_prop]), got "
                        f"{type(regularizers).__name__} {regularizers!r}")
    return list(regularizers)


def make_regularizer(spec: str | Mapping[str, Any] | Regularizer) -> Regularizer:
    """A regularizer from a name, a mapping with 'name' (and its options), or an instance."""
    if isinstance(spec, Regularizer):
        return spec
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping) and "name" in spec:
        options = {k: v for k, v in spec.items() if k != "name"}
        name = spec["name"]
    else:
        raise TypeError(f"expected a regularizer name, a mapping with 'name', or a Regularizer, got {spec!r}")
    key = _normalise(name)
    if key not in REGULARIZERS:
        raise ValueError(f"unknown regularizer {name!r}; expected one of {sorted(REGULARIZERS)}")
    return _construct(REGULARIZERS[key], options, f"regularizer {key!r}")


def compose(strategy: Strategy, *regularizers: str | Mapping[str, Any] | Regularizer) -> Strategy:
    """A copy of `strategy` whose critic/actor losses also carry these regularizers."""
    return strategy.with_regularizers(*(make_regularizer(r) for r in regularizers))


def make(name: str, **kwargs: Any) -> Strategy:
    """A strategy by name (see `available()`); kwargs are its options, plus `regularizers=[...]`.

    A regularizer name builds `base` (default "drq") with `base_kwargs` and composes the regularizer, whose
    own options are the remaining kwargs.
    """
    if not isinstance(name, str):
        raise TypeError(f"expected a strategy name (one of {available()}; 'none' for no augmentation), "
                        f"got {type(name).__name__} {name!r}")
    key = _normalise(name)
    if key in STRATEGIES:
        regularizers: Iterable[Any] = _check_regularizers(kwargs.pop("regularizers", None))
        strategy = _construct(STRATEGIES[key], kwargs, f"strategy {key!r}")
        return compose(strategy, *regularizers)
    if key in REGULARIZERS:
        base = kwargs.pop("base", DEFAULT_BASE)
        base_kwargs = dict(kwargs.pop("base_kwargs", None) or {})
        if _normalise(base) in REGULARIZERS:
            raise ValueError(f"base must be a strategy ({sorted(STRATEGIES)}), got {base!r}")
        return compose(make(base, **base_kwargs), {"name": key, **kwargs})
    raise ValueError(f"unknown strategy {name!r}; expected one of {available()}")


def from_config(config: Mapping[str, Any]) -> Strategy:
    """`make` from a mapping such as a loaded configs/strategy/*.yaml (its 'name' key picks the strategy)."""
    if "name" not in config:
        raise ValueError(f"expected a strategy config with a 'name' key (one of {available()}), got keys {list(config)}")
    # 'agents' (which agents a config is meant for) belongs to the training config, not to the strategy
    options = {k: v for k, v in config.items() if k not in ("name", "agents")}
    if "regularizers" in options:
        options["regularizers"] = _check_regularizers(options["regularizers"])
        options["regularizers"] = [dict(r) if isinstance(r, Mapping) else r for r in options["regularizers"]]
    if "base_kwargs" in options and options["base_kwargs"] is not None:
        options["base_kwargs"] = dict(options["base_kwargs"])
    return make(str(config["name"]), **options)
