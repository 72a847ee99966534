"""Callbacks for the native training loop, as SB3's `learn(callback=...)` takes them: code of the user's run at
each evaluation and each checkpoint (early stopping, custom logging, copying checkpoints away) without editing
the loop.

    class StopAt(Callback):
        def on_eval(self, frame, step, metrics):
            return metrics["episode_return"] < 800      # False: stop (a final checkpoint is taken)

    train(cfg, callbacks=[StopAt()])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Callback:
    """Subclass and override either hook; both do nothing by default."""

    def on_eval(self, frame: int, step: int, metrics: dict[str, float]) -> bool | None:
        """After each evaluation (and its eval.csv row) at env `frame` / agent `step`; `metrics` is that row
        (episode_return, episode_return_std, episodes, ...). Return False to stop training, as SB3's callbacks
        do: the loop stops at once, takes a final checkpoint, and `resume=true` can continue the run later.
        Anything else (None included) continues."""
        return None

    def on_checkpoint(self, path: Path, frame: int) -> None:
        """After each checkpoint is written whole to `path` (the run's checkpoint/ folder) at env `frame`."""


def check_callbacks(callbacks: Any) -> list[Any]:
    """`callbacks` as a list: None, one callback, or a list/tuple of them; each must have on_eval or
    on_checkpoint (a Callback subclass, or any object with those methods)."""
    if callbacks is None:
        return []
    items = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    for item in items:
        if not any(callable(getattr(item, hook, None)) for hook in ("on_eval", "on_checkpoint")):
            raise TypeError(f"callbacks: expected objects with an on_eval or on_checkpoint method "
                            f"(rl_aug.agents.callbacks.Callback), got {type(item).__name__} {item!r}")
    return items
