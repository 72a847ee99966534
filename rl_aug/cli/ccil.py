"""`rl-aug ccil task=...`: dynamics -> labels -> BC, NoiseBC and CCIL -> noisy evaluation -> report.

    rl-aug ccil task=inverted_double_pendulum seeds=[0,1,2,3,4] episodes=100
    rl-aug ccil task=pendulum_disc dynamics.lipschitz=slack out=runs/ccil/pd

Options are omegaconf dot-list overrides of configs/ccil/default.yaml and configs/ccil/<task>.yaml.
The run directory gets the resolved config, labeled data of seed 0 (npz), results.csv (one row per
seed and method), results.md (mean +- std over seeds of per-seed means), and plots.
This module is the wiring: rl_aug.ccil (model, labels), agents.bc (policies), envs.ccil (tasks).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def _config_dirs() -> list[Path]:
    """ccil/ in the user's config folders (RL_AUG_CONFIG_PATH) first, then in the shipped configs."""
    from rl_aug.agents.config import config_dirs

    return [d / "ccil" for d in config_dirs()]


def _write_csv(path: Path, rows: list[dict]) -> None:
    """rows (dicts with the same keys, in order of first appearance) as a CSV file."""
    import csv

    fields = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def load_config(argv: list[str]):
    from omegaconf import OmegaConf

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise SystemExit(f"rl-aug ccil: expected key=value overrides (e.g. task=pendulum), got {bad}")
    cli = OmegaConf.from_dotlist(argv)
    dirs = _config_dirs()
    cfg = OmegaConf.load(next(d / "default.yaml" for d in dirs if (d / "default.yaml").is_file()))
    task = cli.get("task", cfg.task)
    task_file = next((d / f"{task}.yaml" for d in dirs if (d / f"{task}.yaml").is_file()), None)
    if task_file is not None:
        cfg = OmegaConf.merge(cfg, OmegaConf.load(task_file))
    return OmegaConf.merge(cfg, cli)


def _dataclass_from(cls, section) -> object:
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise SystemExit(f"rl-aug ccil: unknown {cls.__name__} option(s) {unknown}; known: {sorted(names)}")
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return cls(**values)


def _new_run_dir(cfg) -> Path:
    if cfg.out:
        out = Path(cfg.out)
        if out.exists() and any(out.iterdir()):
            raise SystemExit(f"rl-aug ccil: run directory {out} exists and is not empty; choose another out=")
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / "ccil" / f"{cfg.task}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_seed(cfg, task, demos, seed: int, out: Path | None) -> tuple[dict[str, np.ndarray], dict]:
    """One seed: fit dynamics, generate labels, train each policy, evaluate; returns returns per method."""
    import torch
    from omegaconf import OmegaConf

    from rl_aug.agents.bc import BCConfig, train_bc
    from rl_aug.ccil import DynamicsConfig, LabelConfig, generate_labels, train_dynamics
    from rl_aug.ccil.data import save_npz_atomic
    from rl_aug.envs.ccil.evaluation import evaluate

    torch.set_num_threads(1)
    info: dict = {"seed": seed}
    methods = list(cfg.methods)
    labeled = None
    if "ccil" in methods:
        dyn_cfg = _dataclass_from(DynamicsConfig, cfg.dynamics)
        dyn_cfg.seed = seed
        start = time.time()
        model, dyn_hist = train_dynamics(demos.observations, demos.actions, demos.next_observations, dyn_cfg)
        info["dynamics_seconds"] = time.time() - start
        info["dynamics_loss"] = dyn_hist["mse"]
        label_section = OmegaConf.to_container(cfg.labels, resolve=True)
        quantile = label_section.pop("epsilon_step_quantile", None)
        if label_section.get("epsilon") is None and quantile is not None:
            steps = np.linalg.norm(demos.next_observations - demos.observations, axis=1)
            label_section["epsilon"] = float(np.quantile(steps, quantile))
        label_cfg = _dataclass_from(LabelConfig, OmegaConf.create(label_section))
        label_cfg.seed = seed
        env = task.make_env()
        low, high = env.action_space.low, env.action_space.high
        env.close()
        labeled, stats = generate_labels(model, demos, label_cfg, low, high)
        info["label_stats"] = stats
        info["epsilon"] = label_cfg.epsilon
        if out is not None:
            save_npz_atomic(out / f"labeled_seed{seed}.npz", **labeled)
    noise = task.eval_noise if cfg.eval_noise is None else float(cfg.eval_noise)
    returns: dict[str, np.ndarray] = {}
    bc_losses: dict[str, list[float]] = {}
    for method in methods:
        bc_cfg = _dataclass_from(BCConfig, cfg.bc)
        bc_cfg.seed = seed
        obs, act = demos.observations, demos.actions
        if method == "noisebc":
            bc_cfg.noise_fraction = float(cfg.noisebc.noise_fraction)
            bc_cfg.noise_scale = float(cfg.noisebc.noise_scale)
        elif method == "ccil":
            obs, act = labeled["observations"], labeled["actions"]
        elif method != "bc":
            raise SystemExit(f"rl-aug ccil: unknown method {method!r}; expected bc, noisebc or ccil")
        policy, losses = train_bc(obs, act, bc_cfg, normalization=(demos.observations, demos.actions))
        bc_losses[method] = losses
        eval_seed = 10_000 + 1000 * seed
        returns[method] = evaluate(policy.predict, task.make_env, int(cfg.episodes), noise, eval_seed)
    info["bc_losses"] = bc_losses
    info["eval_noise"] = noise
    return returns, info | ({"labeled": labeled} if labeled is not None else {})


def summarize(per_seed: list[dict[str, np.ndarray]], methods: list[str]) -> dict[str, tuple[float, float]]:
    """Mean +- std over seeds of per-seed mean returns (CCIL's protocol)."""
    out = {}
    for m in methods:
        means = np.array([r[m].mean() for r in per_seed])
        out[m] = (float(means.mean()), float(means.std()))
    return out


def write_tables(out: Path, task_name: str, per_seed, infos, methods, episodes: int, noise: float,
                 expert_return: float | None) -> dict[str, tuple[float, float]]:

    rows = [{"task": task_name, "seed": info["seed"], "method": m, "episodes": len(r[m]), "eval_noise": noise,
                 "mean_return": float(r[m].mean()), "std_return": float(r[m].std())}
            for r, info in zip(per_seed, infos) for m in methods]
    _write_csv(out / "results.csv", rows)
    summary = summarize(per_seed, methods)
    lines = [f"# CCIL on {task_name}", "",
             (f"{len(per_seed)} seeds x {episodes} episodes, eval noise {noise}; mean +- std over seeds of "
             f"per-seed means. Expert (no noise): {expert_return if expert_return is not None else 'n/a'}"), "",
             "| method | return |", "|---|---|"]
    lines += [f"| {m} | {summary[m][0]:.2f} +- {summary[m][1]:.2f} |" for m in methods]
    stats = [i.get("label_stats") for i in infos if i.get("label_stats")]
    if stats:
        lines += ["", "Labels kept per seed: " + "; ".join(json.dumps(s) for s in stats)]
    lips = [i["labeled"]["local_lipschitz"] for i in infos if i.get("labeled") is not None]
    if lips:
        q = np.quantile(np.concatenate(lips), [0.05, 0.5, 0.95, 1.0])
        lines += ["", ("Local Lipschitz constant of f over the demos (Jacobian spectral norm, all seeds): "
                  f"5% {q[0]:.3g}, median {q[1]:.3g}, 95% {q[2]:.3g}, max {q[3]:.3g}")]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    return summary


def write_plots(out: Path, demos, info: dict) -> None:
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
        axes[1].set_title("local Lipschitz constant of f over the demos")
        axes[1].set_xlabel("Jacobian spectral norm")
        is_label = labeled["is_label"]
        # Project on the demos' first two principal directions: meaningful for any observation layout.
        mean = demos.observations.mean(0)
        _, _, vt = np.linalg.svd(demos.observations - mean, full_matrices=False)
        proj_demo = (demos.observations - mean) @ vt[:2].T
        proj_label = (labeled["observations"][is_label] - mean) @ vt[:2].T
        axes[2].scatter(proj_demo[:, 0], proj_demo[:, 1], s=2, label="demonstrations")
        axes[2].scatter(proj_label[:, 0], proj_label[:, 1], s=2, alpha=0.5, label="CCIL labels")
        axes[2].set_xlabel("PC 1 of demo observations")
        axes[2].set_ylabel("PC 2")
        axes[2].set_title("labels around the demonstrations")
        axes[2].legend()
    fig.tight_layout()
    fig.savefig(out / "ccil.png", dpi=100)
    plt.close(fig)


def run(cfg) -> tuple[Path, dict[str, tuple[float, float]]]:
    from omegaconf import OmegaConf

    from rl_aug.ccil.data import load_demos
    from rl_aug.envs.ccil.tasks import get_task

    task = get_task(cfg.task)
    demo_path = Path(cfg.demos) if cfg.demos else task.demo_path
    demos = load_demos(demo_path)
    out = _new_run_dir(cfg)
    OmegaConf.save(cfg, out / "config.yaml")
    per_seed, infos = [], []
    for seed in cfg.seeds:
        start = time.time()
        returns, info = run_seed(cfg, task, demos, int(seed), out)
        per_seed.append(returns)
        infos.append(info)
        means = {m: round(float(r.mean()), 2) for m, r in returns.items()}
        print(f"[ccil {cfg.task}] seed {seed}: {means} ({time.time() - start:.0f}s)", flush=True)
    noise = infos[0]["eval_noise"]
    expert_file = demo_path.with_suffix(".json")
    expert_return = json.loads(expert_file.read_text()).get("expert_return_mean") if expert_file.exists() else None
    summary = write_tables(out, cfg.task, per_seed, infos, list(cfg.methods), int(cfg.episodes), noise,
                           expert_return)
    if cfg.plots:
        write_plots(out, demos, infos[0])
    return out, summary


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    from rl_aug.ccil.data import DemoFormatError

    cfg = load_config(argv)
    try:
        out, _summary = run(cfg)
    except (DemoFormatError, FileNotFoundError, KeyError) as exc:
        print(f"rl-aug ccil: {exc}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    return 0
