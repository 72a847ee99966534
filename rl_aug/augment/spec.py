"""A small spec language for augmentation pipelines: `parse("shift(pad=4)+overlay(alpha=0.5)")`.

A spec is a Python-like expression: names of registered ops, optionally called with keyword arguments
whose values are literals, joined by `+` (applied left to right). Parsing uses `ast` on the expression and
checks every name and argument against the registry and the op's signature, so a typo fails at parse time
with the list of what exists, not deep inside training.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor

from rl_aug.augment.auto import AutoAugmentation

Op = Callable[..., Tensor]
_REGISTRY: dict[str, Op] = {}


def register(name: str, fn: Op, overwrite: bool = False) -> None:
    """Register `fn(x, **kwargs) -> Tensor` under `name` for use in specs. It may take `generator=`."""
    if not name.isidentifier():
        raise ValueError(f"register: expected a name usable in a spec (an identifier), got {name!r}")
    if not callable(fn):
        raise TypeError(f"register: expected a callable for {name!r}, got {type(fn).__name__}")
    if name in _REGISTRY and not overwrite and _REGISTRY[name] is not fn:
        raise ValueError(f"register: {name!r} is already registered; pass overwrite=True to replace it")
    _REGISTRY[name] = fn


def registered() -> dict[str, Op]:
    """A copy of the registry: name -> op."""
    return dict(_REGISTRY)


def _accepts_generator(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


class Augmentation:
    """One op with bound keyword arguments; call as `aug(x, generator=None)`."""

    def __init__(self, fn: Op, name: str, kwargs: dict[str, Any] | None = None) -> None:
        self.fn, self.name, self.kwargs = fn, name, dict(kwargs or {})
        self._takes_generator = _accepts_generator(fn)

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self._takes_generator:
            y = self.fn(x, generator=generator, **self.kwargs)
        else:
            y = self.fn(x, **self.kwargs)
        _check_output(y, x, self.name)
        return y

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        return f"{self.name}({args})" if args else self.name


class Compose:
    """Ops applied left to right, sharing one generator (each draws its own parameters from it)."""

    def __init__(self, ops: Sequence[Callable[..., Tensor]]) -> None:
        kept = (Augmentation, Compose, AutoAugmentation)
        self.ops = [op if isinstance(op, kept) else Augmentation(op, _name_of(op)) for op in ops]

    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        for op in self.ops:
            x = op(x, generator=generator)
        return x

    def __repr__(self) -> str:
        return "+".join(repr(op) for op in self.ops) if self.ops else "none"


def _check_output(y: object, x: Tensor, name: str) -> None:
    """A user's op must return images like its input (only H, W may change: crops): caught here, by its name,
    rather than as a shape error deep inside a loss. Attribute checks only: no host sync on an accelerator."""
    if not isinstance(y, Tensor):
        raise TypeError(f"augmentation {name!r}: expected it to return a torch.Tensor like its input "
                        f"{tuple(x.shape)} {x.dtype}, got {type(y).__name__}")
    if y.ndim != 4 or y.shape[:2] != x.shape[:2] or y.dtype != x.dtype or y.device != x.device:
        raise ValueError(f"augmentation {name!r}: expected it to return (N, C, H', W') = ({x.shape[0]}, {x.shape[1]}, "
                         f"..) {x.dtype} on {x.device} like its input, got {tuple(y.shape)} {y.dtype} on {y.device}")


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _available() -> str:
    return ", ".join(sorted(_REGISTRY))


def _auto(node: ast.Call, spec: str) -> AutoAugmentation:
    """`auto(a, b, ...)`: positional candidates (a name, name(k=v), a+b, or a quoted spec), keyword options."""
    candidates: list[Compose] = []
    for arg in node.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            candidates.append(parse(arg.value))
        else:
            candidates.append(Compose([_term(n, spec) for n in _flatten(arg, spec)]))
    options = {}
    for kw in node.keywords:
        try:
            options[kw.arg] = ast.literal_eval(kw.value)
        except ValueError:
            raise ValueError(f"augmentation spec {spec!r}: option {kw.arg} of auto must be a literal, "
                             f"got {ast.unparse(kw.value)!r}") from None
    allowed = ("mode", "c", "window", "normalize")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"augmentation spec {spec!r}: auto got unknown option(s) {', '.join(unknown)}; "
                         f"it accepts: {', '.join(allowed)}")
    try:
        return AutoAugmentation(candidates, [repr(c) for c in candidates], **options)
    except ValueError as exc:
        raise ValueError(f"augmentation spec {spec!r}: {exc}") from None


def _term(node: ast.expr, spec: str) -> Augmentation | AutoAugmentation:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "auto":
        return _auto(node, spec)
    if isinstance(node, ast.Name):
        name, kwargs = node.id, {}
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if node.args:
            raise ValueError(f"augmentation spec {spec!r}: {name}(...) takes keyword arguments only, e.g. shift(pad=4)")
        kwargs = {}
        for kw in node.keywords:
            try:
                kwargs[kw.arg] = ast.literal_eval(kw.value)
            except ValueError:
                raise ValueError(
                    f"augmentation spec {spec!r}: argument {kw.arg} of {name} must be a literal "
                    f"(number, string, tuple), got {ast.unparse(kw.value)!r}"
                ) from None
    else:
        raise ValueError(  # noqa: TRY004 (a malformed spec string is a bad value, not a bad type)
            f"augmentation spec {spec!r}: expected name or name(key=value, ...), got {ast.unparse(node)!r}"
        )
    if name not in _REGISTRY:
        raise ValueError(f"augmentation spec {spec!r}: unknown augmentation {name!r}; registered: {_available()} "
                         "(and auto(a, b, ...), which chooses among candidates)")
    fn = _REGISTRY[name]
    params = inspect.signature(fn).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        allowed = [p for p in list(params)[1:] if p != "generator"]
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(
                f"augmentation spec {spec!r}: {name} got unknown argument(s) {', '.join(unknown)}; "
                f"it accepts: {', '.join(allowed) or 'no arguments'}"
            )
    return Augmentation(fn, name, kwargs)


def _flatten(node: ast.expr, spec: str) -> list[ast.expr]:
    if isinstance(node, ast.BinOp):
        if not isinstance(node.op, ast.Add):
            raise ValueError(  # noqa: TRY004 (a malformed spec string is a bad value, not a bad type)
                f"augmentation spec {spec!r}: ops are joined with '+', got {ast.unparse(node)!r}"
            )
        return _flatten(node.left, spec) + _flatten(node.right, spec)
    return [node]


def parse(spec: str | Callable[..., Tensor] | Sequence[str | Callable[..., Tensor]] | None) -> Compose:
    """Turn a spec string, a callable (e.g. a kornia augmentation), a list of either, or None into a Compose.

    >>> aug = parse("shift(pad=4)+overlay(alpha=0.5)")
    >>> y = aug(x, generator=torch.Generator().manual_seed(0))
    """
    if spec is None:
        return Compose([])
    if isinstance(spec, (Augmentation, Compose)):
        return spec if isinstance(spec, Compose) else Compose([spec])
    if callable(spec):
        return Compose([spec])
    if isinstance(spec, (list, tuple)):
        return Compose([op for item in spec for op in parse(item).ops])
    if not isinstance(spec, str):
        raise TypeError(f"parse: expected a spec string, a callable or a list of them, got {type(spec).__name__}")
    text = spec.strip()
    if not text:
        raise ValueError(f"augmentation spec {spec!r} is empty; use 'none' for no augmentation")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValueError(
            f"augmentation spec {spec!r} is not valid: {exc.msg}; expected e.g. 'shift(pad=4)+overlay(alpha=0.5)'"
        ) from None
    ops = [_term(node, spec) for node in _flatten(tree.body, spec)]
    return Compose([op for op in ops if op.name not in ("none", "identity")])
