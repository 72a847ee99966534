"""Turn what a user passes as an augmentation (a spec string, a callable, or nothing) into one callable.

Strategies accept either a spec for `rl_aug.augment.parse` ("shift(pad=4)+overlay(alpha=0.5)") or any
callable `aug(x) -> Tensor` / `aug(x, generator=...) -> Tensor`. Callables make the augmentation
injectable: tests pass deterministic ones (a known shift) to check losses against closed forms.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
from torch import Tensor

AugmentationLike = str | Callable[..., Tensor] | None


class Augmentation:
    """A batched image op `x (N, C, H, W) -> Tensor`, called with the strategy's generator when it takes one."""

    def __init__(self, fn: Callable[..., Tensor], spec: str) -> None:
        self.fn = fn
        self.spec = spec
        self._takes_generator = _accepts_generator(fn)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self._takes_generator:
            return self.fn(x, generator=generator)
        return self.fn(x)

    def __repr__(self) -> str:
        return self.spec


def _accepts_generator(fn: Callable[..., Tensor]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature: call them plainly
        return False
    return any(p.name == "generator" or p.kind is inspect.Parameter.VAR_KEYWORD for p in params)


def resolve_augmentation(aug: AugmentationLike, role: str) -> Augmentation | None:
    """None / "none" / "identity" -> None (no augmentation); a string -> parsed spec; a callable -> wrapped."""
    if aug is None:
        return None
    if isinstance(aug, Augmentation):
        return aug
    if isinstance(aug, str):
        spec = aug.strip()
        if spec.lower() in ("", "none", "identity"):
            return None
        try:
            from rl_aug.augment import parse
        except ImportError as exc:  # pragma: no cover - only while rl_aug.augment is missing
            raise ImportError(
                f"the {role} augmentation {spec!r} needs rl_aug.augment.parse, which could not be imported "
                f"({exc}); pass a callable aug(x, generator=None) instead"
            ) from exc
        return Augmentation(parse(spec), spec)
    if callable(aug):
        return Augmentation(aug, getattr(aug, "__name__", type(aug).__name__))
    raise TypeError(
        f"expected the {role} augmentation as a spec string (e.g. 'shift(pad=4)') or a callable "
        f"aug(x, generator=None) -> Tensor, got {type(aug).__name__}: {aug!r}"
    )
