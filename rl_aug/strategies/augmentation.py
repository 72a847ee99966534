"""Turn what a user passes as an augmentation (a spec string, a callable, or nothing) into one callable.

Strategies accept a spec for `rl_aug.augment.parse` ("shift(pad=4)+overlay(alpha=0.5)") or any callable
`aug(x) -> Tensor` / `aug(x, generator=...) -> Tensor`. Callables make the augmentation injectable: tests
pass deterministic ones (a known shift) to check losses against closed forms. The wrapping itself is
rl_aug.augment's `Compose`, so a strategy's augmentation behaves exactly like a parsed spec.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from rl_aug.augment import Compose, parse

AugmentationLike = str | Callable[..., Tensor] | None
Augmentation = Compose  # what a strategy holds: call as aug(x, generator=None); repr gives the spec


def resolve_augmentation(aug: AugmentationLike, role: str) -> Augmentation | None:
    """None / "none" / "identity" -> None (no augmentation); a string -> parsed spec; a callable -> wrapped."""
    if aug is None:
        return None
    if isinstance(aug, str) and aug.strip().lower() in ("", "none", "identity"):
        return None
    if not (isinstance(aug, str) or callable(aug)):
        raise TypeError(
            f"expected the {role} augmentation as a spec string (e.g. 'shift(pad=4)') or a callable "
            f"aug(x, generator=None) -> Tensor, got {type(aug).__name__}: {aug!r}"
        )
    try:
        return parse(aug)
    except ValueError as exc:
        raise ValueError(f"the {role} augmentation is not valid: {exc}") from None
