"""One call from demonstrations + dynamics model to the labeled dataset (expert rows + kept labels).

Label generators live in rl_aug.ccil.labels, filters in rl_aug.ccil.filters; this module only
chains them and records how many labels each filter dropped, so a run can report it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from rl_aug.ccil.data import LABEL_KINDS, Demonstrations
from rl_aug.ccil.dynamics import local_lipschitz, prediction_error
from rl_aug.ccil.filters import distance_mask, error_bound, error_bound_mask, model_error_mask
from rl_aug.ccil.labels import backtrack_closed_form, backtrack_implicit, disturbed_action

GENERATORS = ("backtrack", "disturbed_action")


@dataclass
class LabelConfig:
    generators: tuple[str, ...] = ("backtrack",)
    backtrack_solver: str = "newton"  # "newton" (implicit form) or "closed_form"
    delta: float = 1e-4  # DisturbedAction noise std (CCIL: 1e-5..1e-4)
    labels_per_point: int = 20  # DisturbedAction labels per demonstration point (CCIL: 20)
    epsilon: float | None = None  # distance filter |s_G - s_t| < epsilon (raw units); None = off
    error_quantile: float | None = None  # keep labels whose error bound is <= this quantile
    max_error: float | None = None  # keep labels whose error bound is <= this value
    model_error_quantile: float | None = 0.95  # skip source points whose model error is above this quantile
    model_error_threshold: float | None = None  # ... or above this absolute value
    newton_iterations: int = 20
    newton_tol: float = 1e-5  # labels whose Newton residual stays above 10x this are dropped
    slack_min_weight: float = 0.5  # with a slack-trained model, skip points whose weight is below this
    chunk: int = 4096
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = [g for g in self.generators if g not in GENERATORS]
        if unknown or not self.generators:
            raise ValueError(f"generators must be a non-empty subset of {GENERATORS}, got {self.generators}")
        if self.backtrack_solver not in ("newton", "closed_form"):
            raise ValueError(f"backtrack_solver must be 'newton' or 'closed_form', got {self.backtrack_solver!r}")


def _chunked(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def generate_labels(model, demos: Demonstrations, config: LabelConfig,
                    action_low: np.ndarray | None = None, action_high: np.ndarray | None = None
                    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Return the labeled dataset (format in rl_aug.ccil.data) and counts of generated / kept labels."""
    s = torch.as_tensor(demos.observations)
    a = torch.as_tensor(demos.actions)
    s_next = torch.as_tensor(demos.next_observations)
    residual_fn = model.residual if hasattr(model, "residual") else model
    generator = torch.Generator().manual_seed(config.seed)
    low = None if action_low is None else torch.as_tensor(action_low, dtype=torch.float32)
    high = None if action_high is None else torch.as_tensor(action_high, dtype=torch.float32)

    model_err = prediction_error(residual_fn, s, a, s_next)
    trusted = torch.ones(len(s), dtype=torch.bool)
    if config.model_error_quantile is not None:
        trusted &= model_error_mask(model_err, float(torch.quantile(model_err, config.model_error_quantile)))
    if config.model_error_threshold is not None:
        trusted &= model_error_mask(model_err, config.model_error_threshold)
    slack = getattr(model, "slack_weights", None)
    if slack is not None and len(slack) == len(s):
        trusted &= slack >= config.slack_min_weight
    local_l = torch.cat([local_lipschitz(residual_fn, s[c], a[c]) for c in _chunked(len(s), config.chunk)])

    parts: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, torch.Tensor]] = []
    for name in config.generators:
        s_g_list, a_g_list, src_list, res_list = [], [], [], []
        for c in _chunked(len(s), config.chunk):
            idx = torch.arange(len(s))[c]
            if name == "backtrack":
                if config.backtrack_solver == "newton":
                    s_g, res = backtrack_implicit(residual_fn, s[c], a[c], config.newton_iterations,
                                                  config.newton_tol)
                else:
                    s_g = backtrack_closed_form(residual_fn, s[c], a[c])
                    res = torch.zeros(len(s_g))
                a_g, src = a[c], idx
            else:
                s_g, a_g, local_src, res = disturbed_action(
                    residual_fn, s[c], a[c], s_next[c], config.delta, config.labels_per_point, generator,
                    low, high, config.newton_iterations, config.newton_tol)
                src = idx[local_src]
            s_g_list.append(s_g.detach())
            a_g_list.append(a_g.detach())
            src_list.append(src)
            res_list.append(res)
        parts.append((torch.cat(s_g_list), torch.cat(a_g_list), torch.cat(src_list), LABEL_KINDS[name],
                      torch.cat(res_list)))

    stats: dict[str, float] = {"demo_points": len(s), "trusted_points": int(trusted.sum())}
    obs_out, act_out = [demos.observations], [demos.actions]
    kind_out = [np.zeros(len(s), dtype=np.int8)]
    src_out = [np.arange(len(s))]
    for s_g, a_g, src, kind, res in parts:
        # For DisturbedAction the label leads to s_{t+1}; the nearby reference pair is still (s_t, a_t).
        keep = trusted[src] & torch.isfinite(s_g).all(dim=-1) & (res <= 10 * config.newton_tol)
        if config.epsilon is not None:
            keep &= distance_mask(s_g, s[src], config.epsilon)
        bound = error_bound(local_l[src], s_g, a_g, s[src], a[src])
        if config.error_quantile is not None or config.max_error is not None:
            keep &= error_bound_mask(bound, config.max_error, config.error_quantile)
        name = next(k for k, v in LABEL_KINDS.items() if v == kind)
        stats[f"{name}_generated"] = len(s_g)
        stats[f"{name}_kept"] = int(keep.sum())
        obs_out.append(s_g[keep].numpy())
        act_out.append(a_g[keep].numpy())
        kind_out.append(np.full(int(keep.sum()), kind, dtype=np.int8))
        src_out.append(src[keep].numpy())
    label_kind = np.concatenate(kind_out)
    dataset = {
        "observations": np.concatenate(obs_out).astype(np.float32),
        "actions": np.concatenate(act_out).astype(np.float32),
        "is_label": label_kind != 0,
        "label_kind": label_kind,
        "source_index": np.concatenate(src_out).astype(np.int64),
        "local_lipschitz": local_l.detach().numpy().astype(np.float32),
        "model_error": model_err.numpy().astype(np.float32),
    }
    return dataset, stats
