"""`auto(...)`: choose among candidate augmentations while training, by a bandit or a uniform mixture.

    parse("auto(conv, overlay, color_jitter, cutout)")               # UCB over the four (default)
    parse("auto(conv, 'shift(pad=4)+overlay', mode='uniform')")      # RandAugment-style mixture

Which augmentation helps depends on the task (DrQ picks shift, SVEA random conv or overlay), and no DrQ, DrQ-v2
or DMC-GB code chooses for the user. Two choosers:

- `mode='ucb'` (UCB-DrAC, Raileanu et al. 2021, "Automatic Data Augmentation for Generalization in RL"): one
  candidate is active at a time; each training episode's return is credited to the candidate that was active
  while it ran (`observe`), and the next candidate maximises  Q(a) + c * sqrt(log N / N(a)), Q(a) the mean of
  the last `window` returns credited to a, N(a) how often a was chosen (every candidate starts at 1, as in the
  paper's bandit), N their sum. The paper's signal is the return after an update with that augmentation; an
  off-policy agent updates at every step, so ours is the return of the episode during which a was used to
  update (the signal every training loop has anyway). Defaults c = 0.5, window = 10 are those of the public
  UCB-DrAC implementation. Our one change: returns are scaled to [0, 1] by the smallest and largest return seen
  so far, so that c means the same on DMC (returns 0..1000) as on Procgen (0..10); `normalize=False` turns it off.
  Before any return arrives the candidates are tried in order, once each. The training loops hand over only
  episodes that began after learning started (every step of them followed by updates): a random-action episode with
  one update at its last step would otherwise credit its return to the candidate of that one update. An episode
  during which the active candidate augmented nothing is not credited either.
- `mode='uniform'` (RandAugment, Cubuk et al. 2020, with one op per image): every sample of a batch draws one
  candidate uniformly, from the strategy's generator; the baseline a chooser has to beat.

Both are deterministic under the generator's seed and the sequence of returns, and keep their state
(`state_dict`) so a resumed run continues the same choices. Candidates must keep the input's shape.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

MODES = ("ucb", "uniform")


class AutoAugmentation:
    """Applies one of `candidates` (ucb) or a per-sample uniform mix of them (uniform); see the module doc."""

    name = "auto"

    def __init__(self, candidates: Sequence[Any], labels: Sequence[str] | None = None, mode: str = "ucb",
                 c: float = 0.5, window: int = 10, normalize: bool = True) -> None:
        if len(candidates) < 2:
            raise ValueError(f"auto(...): expected at least 2 candidate augmentations, got {len(candidates)}")
        if mode not in MODES:
            raise ValueError(f"auto(...): expected mode one of {', '.join(MODES)}, got {mode!r}")
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not c >= 0:
            raise ValueError(f"auto(...): expected c a number >= 0, got {c!r}")
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"auto(...): expected window an int >= 1, got {window!r}")
        self.candidates = list(candidates)
        self.labels = [str(x) for x in (labels if labels is not None else [_label(c_) for c_ in candidates])]
        if len(self.labels) != len(self.candidates):
            raise ValueError(f"auto(...): {len(self.labels)} labels for {len(self.candidates)} candidates")
        self.mode, self.c, self.window, self.normalize = mode, float(c), int(window), bool(normalize)
        n = len(self.candidates)
        self.current = 0  # the active candidate (ucb)
        self.chosen = [1] * n  # N(a): every arm starts at 1 (no division by zero), as UCB-DrAC's bandit
        self.returns: list[deque[float]] = [deque(maxlen=self.window) for _ in range(n)]
        self.rows = [0] * n  # how many samples each candidate augmented (for the log)
        self.lowest, self.highest = math.inf, -math.inf
        self.observed = 0  # returns credited
        self.skipped = 0  # returns of episodes in which the active candidate augmented nothing
        self.mark = 0  # rows[current] when it became active (or at the last credited return)

    # ------------------------------------------------------------------ applying
    def __call__(self, x: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if self.mode == "ucb":
            self.rows[self.current] += len(x)
            return self._apply(self.current, x, generator)
        pick = torch.randint(len(self.candidates), (len(x),), generator=generator, device=x.device)
        out = torch.empty_like(x)
        for k in range(len(self.candidates)):  # one batched call per candidate, never per sample
            rows = (pick == k).nonzero(as_tuple=True)[0]
            self.rows[k] += len(rows)
            if len(rows):
                out[rows] = self._apply(k, x[rows], generator)
        return out

    def _apply(self, k: int, x: Tensor, generator: torch.Generator | None) -> Tensor:
        y = self.candidates[k](x, generator=generator)
        if not isinstance(y, Tensor) or y.shape != x.shape:
            got = tuple(y.shape) if isinstance(y, Tensor) else type(y).__name__
            raise ValueError(f"auto(...): candidate {self.labels[k]!r} must keep the batch shape {tuple(x.shape)}, "
                             f"got {got}; crops cannot be mixed with other candidates")
        return y

    # ------------------------------------------------------------------ the bandit
    def observe(self, signal: float) -> None:
        """Credit `signal` (a training episode's return) to the active candidate and choose the next (ucb)."""
        signal = float(signal)
        if not math.isfinite(signal):
            raise ValueError(f"auto(...): expected a finite episode return, got {signal!r}")
        if self.mode != "ucb":
            return
        if self.rows[self.current] == self.mark:  # no update used it during this episode: nothing to credit
            self.skipped += 1
            return
        self.observed += 1
        self.lowest, self.highest = min(self.lowest, signal), max(self.highest, signal)
        self.returns[self.current].append(signal)
        self.current = self.choose()
        self.chosen[self.current] += 1
        self.mark = self.rows[self.current]

    def scores(self) -> list[float]:
        """Q(a) + c sqrt(log N / N(a)) per candidate; inf for one that has no return yet."""
        total = sum(self.chosen)
        span = self.highest - self.lowest
        out = []
        for k, rets in enumerate(self.returns):
            if not rets:
                out.append(math.inf)
                continue
            q = sum(rets) / len(rets)
            if self.normalize:
                q = (q - self.lowest) / span if span > 0 else 0.0
            out.append(q + self.c * math.sqrt(math.log(total) / self.chosen[k]))
        return out

    def choose(self) -> int:
        """The candidate with the highest score (the first among equals: deterministic)."""
        scores = self.scores()
        return max(range(len(scores)), key=lambda k: (scores[k], -k))

    # ------------------------------------------------------------------ logging and checkpoints
    def metrics(self, prefix: str = "auto") -> dict[str, float]:
        """Which candidate is active and the share of samples each has augmented so far."""
        total = max(sum(self.rows), 1)
        out = {f"{prefix}/active": float(self.current)} if self.mode == "ucb" else {}
        for label, rows in zip(self.labels, self.rows):
            out[f"{prefix}/share[{label}]"] = rows / total
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "mode": self.mode, "current": self.current, "chosen": list(self.chosen),
                "returns": [list(r) for r in self.returns], "rows": list(self.rows), "lowest": self.lowest,
                "highest": self.highest, "observed": self.observed, "skipped": self.skipped, "mark": self.mark}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("labels") != self.labels or state.get("mode") != self.mode:
            raise ValueError(f"auto(...): the checkpoint chose among {state.get('labels')} ({state.get('mode')}), "
                             f"this one among {self.labels} ({self.mode}): build the augmentation it was trained with")
        self.current, self.chosen = int(state["current"]), [int(n) for n in state["chosen"]]
        self.returns = [deque((float(v) for v in r), maxlen=self.window) for r in state["returns"]]
        self.rows = [int(n) for n in state["rows"]]
        self.lowest, self.highest = float(state["lowest"]), float(state["highest"])
        self.observed, self.skipped, self.mark = int(state["observed"]), int(state["skipped"]), int(state["mark"])

    def __repr__(self) -> str:
        extra = "" if self.mode == "ucb" else ", mode='uniform'"
        if self.mode == "ucb" and (self.c != 0.5 or self.window != 10):
            extra = f", c={self.c:g}, window={self.window}"
        return f"auto({', '.join(self.labels)}{extra})"


def _label(candidate: Any) -> str:
    """A parsed spec's text, else a function's name (a repr with an address would break resume checks)."""
    if hasattr(candidate, "ops") or hasattr(candidate, "kwargs"):
        return repr(candidate)
    return getattr(candidate, "__name__", type(candidate).__name__)


def find_autos(aug: Any) -> list[AutoAugmentation]:
    """Every AutoAugmentation inside a parsed spec (a Compose, possibly nested), in order."""
    if aug is None:
        return []
    if isinstance(aug, AutoAugmentation):
        return [aug]
    found: list[AutoAugmentation] = []
    for op in getattr(aug, "ops", ()):
        found += find_autos(op)
    fn = getattr(aug, "fn", None)
    if isinstance(fn, AutoAugmentation):
        found.append(fn)
    return found
