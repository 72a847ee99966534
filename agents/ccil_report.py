"""What a `rl-aug ccil` run writes about its seeds: results.csv, results.md and ccil.png.

The tables are CCIL's protocol: mean +- std over seeds of per-seed mean returns, and per-seed paired differences
against BC (the same seed trains every method) with their standard errors. They are rewritten after every seed, so
a stopped run leaves a partial table that says so.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rl_aug.evaluation.aggregate import paired_difference
from rl_aug.evaluation.report import write_csv
from rl_aug.files import atomic_path, write_text


def write_tables(out: Path, task_name: str, per_seed: list[dict[str, np.ndarray]], infos: list[dict],
                 methods: list[str], episodes: int, noise: float, expert_return: float | None,
                 planned_seeds: int | None = None) -> dict[str, tuple[float, float]]:
    """results.csv (one row per seed and method) and results.md for the seeds finished so far (partial when fewer
    than `planned_seeds`); returns the mean +- std over seeds of per-seed mean returns per method (CCIL's protocol)."""
    rows = [{"task": task_name, "seed": info["seed"], "method": m, "episodes": len(r[m]), "eval_noise": noise,
             "mean_return": float(r[m].mean()), "std_return": float(r[m].std()),
             "bc_steps": info.get("bc_steps", {}).get(m)}
            for r, info in zip(per_seed, infos) for m in methods]
    write_csv(out / "results.csv", rows)
    means = {m: np.array([r[m].mean() for r in per_seed]) for m in methods}
    summary = {m: (float(x.mean()), float(x.std())) for m, x in means.items()}
    done = len(per_seed)
    lines = [f"# CCIL on {task_name}", ""]
    if planned_seeds is not None and done < planned_seeds:
        lines += [f"**Partial: {done} of {planned_seeds} seeds finished.**", ""]
    lines += [(f"{done} seeds x {episodes} episodes, eval noise {noise}; mean +- std over seeds of "
               f"per-seed means. Expert: {expert_return if expert_return is not None else 'n/a'}"), "",
              "| method | return | BC gradient steps (seed 0) |", "|---|---|---|"]
    lines += [f"| {m} | {summary[m][0]:.2f} +- {summary[m][1]:.2f} | {infos[0].get('bc_steps', {}).get(m, '')} |"
              for m in methods]
    # everything against bc, and ccil against the step-matched BC
    pairs = [(m, "bc") for m in methods if m != "bc" and "bc" in methods]
    pairs += [("ccil", "bc_matched")] if "ccil" in methods and "bc_matched" in methods else []
    if pairs:
        seeds = [info["seed"] for info in infos]
        lines += ["", "Paired differences (same seed for both methods; per-seed means; s.e. = std(ddof 1) / sqrt(n)):",
                  "", "| comparison | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | s.e. |",
                  "|---|" + "---|" * (len(seeds) + 2)]
        for a, b in pairs:
            d = paired_difference(means[a], means[b])
            lines.append(f"| {a} - {b} | " + " | ".join(f"{x:+.1f}" for x in d.diffs)
                         + f" | {d.mean:+.1f} | {d.se:.1f} |")
    if stats := [i["label_stats"] for i in infos if i.get("label_stats")]:
        lines += ["", "Labels kept per seed: " + "; ".join(json.dumps(s) for s in stats)]
    if lips := [i["labeled"]["local_lipschitz"] for i in infos if i.get("labeled") is not None]:
        q = np.quantile(np.concatenate(lips), [0.05, 0.5, 0.95, 1.0])
        lines += ["", ("Local Lipschitz constant of f over the demos (Jacobian spectral norm, all seeds): "
                  f"5% {q[0]:.3g}, median {q[1]:.3g}, 95% {q[2]:.3g}, max {q[3]:.3g}")]
    write_text(out / "results.md", "\n".join(lines) + "\n")
    return summary


def write_plots(out: Path, demos: Any, info: dict) -> None:
    """ccil.png for one seed's info: training losses, the local Lipschitz constants, the labels around the demos."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    if "dynamics_loss" in info:
        axes[0].semilogy(info["dynamics_loss"], label="dynamics MSE (normalized)")
    for m, losses in info["bc_losses"].items():
        axes[0].semilogy(np.arange(len(losses)) / max(1, len(losses) // max(1, len(info.get("dynamics_loss", [1])))),
                         losses, alpha=0.6, label=f"{m} MSE")
    axes[0].set_title("training losses (x: dynamics epochs; BC steps rescaled)")
    axes[0].legend()
    labeled = info.get("labeled")
    if labeled is not None:
        axes[1].hist(labeled["local_lipschitz"], bins=50)
        axes[1].set(title="local Lipschitz constant of f over the demos", xlabel="Jacobian spectral norm")
        # Project on the demos' first two principal directions: meaningful for any observation layout.
        mean = demos.observations.mean(0)
        _, _, vt = np.linalg.svd(demos.observations - mean, full_matrices=False)
        proj_demo = (demos.observations - mean) @ vt[:2].T
        proj_label = (labeled["observations"][labeled["is_label"]] - mean) @ vt[:2].T
        axes[2].scatter(proj_demo[:, 0], proj_demo[:, 1], s=2, label="demonstrations")
        axes[2].scatter(proj_label[:, 0], proj_label[:, 1], s=2, alpha=0.5, label="CCIL labels")
        axes[2].set(xlabel="PC 1 of demo observations", ylabel="PC 2", title="labels around the demonstrations")
        axes[2].legend()
    fig.tight_layout()
    with atomic_path(out / "ccil.png") as tmp:
        fig.savefig(tmp, dpi=100)
    plt.close(fig)

