"""CCIL's label generators: states near the demonstrations with actions that lead back onto them.

Given a dynamics residual f (s' = s + f(s, a)) and an expert transition (s_t, a_t, s_{t+1}):

- BackTrack (closed form): s_G = s_t - f(s_t, a_t); label (s_G, a_t) leads (approximately) to s_t.
  It assumes f(s_G, a_t) = f(s_t, a_t), exact when f does not depend on s.
- BackTrack (implicit): solve s_G + f(s_G, a_t) = s_t by Newton's method, exact for any f the model
  represents, e.g. any linear system.
- DisturbedAction: a_G = a_t + N(0, delta^2) (CCIL: delta 1e-5..1e-4, 20 labels per point);
  solve s_G + f(s_G, a_G) = s_{t+1} so that the label (s_G, a_G) leads to s_{t+1}.
  The closed form s_G = s_{t+1} - f(s_t, a_G) seeds the solve.
``residual_fn(s, a) -> f`` is any batched torch callable: a ResidualDynamics or a known system.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ResidualFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def newton_solve(fn: Callable[..., torch.Tensor], x0: torch.Tensor, *args: torch.Tensor, iterations: int = 20,
                 tol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Solve fn(x, *args) = 0 for a batch (B, d) of independent systems; returns (x, residual norm).

    ``args`` are per-row tensors (B, ...) passed along with x. Per-sample Jacobians come from
    torch.func (vmap of jacrev), so fn must treat rows independently. Stops early once every row's
    residual is below ``tol``.
    """

    def single(x: torch.Tensor, *row_args: torch.Tensor) -> torch.Tensor:
        return fn(x[None], *[r[None] for r in row_args])[0]

    x = x0.detach().clone()
    with torch.no_grad():
        residual = fn(x, *args)
    for _ in range(iterations):
        if bool((residual.norm(dim=-1) < tol).all()):
            break
        jac = torch.func.vmap(torch.func.jacrev(single, argnums=0))(x, *args)
        step = torch.linalg.solve(jac, residual.unsqueeze(-1)).squeeze(-1)
        x = (x - step).detach()
        with torch.no_grad():
            residual = fn(x, *args)
    return x, residual.norm(dim=-1)


@torch.no_grad()
def backtrack_closed_form(residual_fn: ResidualFn, s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """s_G = s_t - f(s_t, a_t)."""
    return s - residual_fn(s, a)


def backtrack_implicit(residual_fn: ResidualFn, s: torch.Tensor, a: torch.Tensor, iterations: int = 20,
                       tol: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """s_G with s_G + f(s_G, a_t) = s_t, by Newton from the closed form; returns (s_G, residual norm)."""
    x0 = backtrack_closed_form(residual_fn, s, a)
    return newton_solve(lambda x, a_, s_: x + residual_fn(x, a_) - s_, x0, a, s, iterations=iterations, tol=tol)


def disturbed_action(residual_fn: ResidualFn, s: torch.Tensor, a: torch.Tensor, s_next: torch.Tensor,
                     delta: float, labels_per_point: int, generator: torch.Generator | None = None,
                     action_low: torch.Tensor | None = None, action_high: torch.Tensor | None = None,
                     iterations: int = 20, tol: float = 1e-6
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Labels (s_G, a_G) with a_G = a_t + N(0, delta^2) and s_G + f(s_G, a_G) = s_{t+1}.

    Returns (s_G, a_G, source_index, residual norm); each input row yields ``labels_per_point`` labels.
    """
    n = s.shape[0]
    source = torch.arange(n).repeat_interleave(labels_per_point)
    a_rep = a[source]
    a_g = a_rep + delta * torch.randn(a_rep.shape, generator=generator)
    if action_low is not None and action_high is not None:
        a_g = torch.maximum(torch.minimum(a_g, action_high), action_low)
    target = s_next[source]
    with torch.no_grad():
        x0 = target - residual_fn(s[source], a_g)
    s_g, res = newton_solve(lambda x, a_, t_: x + residual_fn(x, a_) - t_, x0, a_g, target,
                            iterations=iterations, tol=tol)
    return s_g, a_g, source, res
