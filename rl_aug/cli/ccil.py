"""`rl-aug ccil task=...`: dynamics -> labels -> BC, NoiseBC and CCIL -> noisy evaluation -> report.

    rl-aug ccil task=inverted_double_pendulum seeds=[0,1,2,3,4] episodes=100
    RL_AUG_CCIL_DATA=../shared/ccil rl-aug ccil task=hopper_d4rl seeds=[0,1,2,3,4,5,6,7,8,9]
    rl-aug ccil task=pendulum_disc dynamics.lipschitz=slack out=runs/ccil/pd
    rl-aug ccil resume=runs/ccil/pd [seeds=[0,1,2,3,4,5]]   # continue a stopped run, or add seeds to it

Options are omegaconf dot-list overrides (key=value) of configs/ccil/default.yaml and configs/ccil/<task>.yaml.
Every seed trains every method with that seed (a paired comparison). The run directory gets the resolved
config, labeled data per seed (npz), results.csv (one row per seed and method), results.md (mean +- std over
seeds of per-seed means, and per-seed paired differences against BC with standard errors) and plots;
the tables are rewritten after every seed, so an interrupted run leaves a partial table that says so, and
`resume=RUN_DIR` continues it: the run's saved config is used (an override that changes it is refused, except
`seeds`, which may add seeds), finished seeds are read back from their seed<N>.npz and the others are run.
This module is the wiring: rl_aug.ccil (model, labels), agents.bc (policies), envs.ccil (tasks).
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rl_aug.errors import UserInputError

METHODS = ("bc", "noisebc", "ccil", "bc_matched")
# Keys read by this module on top of the dataclass fields of each section.
EXTRA_KEYS = {"labels": {"epsilon_step_quantile"}, "bc": {"normalize_on"}}


class ConfigError(UserInputError):
    """A `rl-aug ccil` option is unknown or has a value the pipeline cannot use."""


def _config_dirs() -> list[Path]:
    """ccil/ in the user's config folders (RL_AUG_CONFIG_PATH) first, then in the shipped configs."""
    from rl_aug.agents.config import config_dirs

    return [d / "ccil" for d in config_dirs()]


def _write_csv(path: Path, rows: list[dict]) -> None:
    """rows (dicts with the same keys, in order of first appearance) as a CSV file."""
    import csv

    fields_ = list(dict.fromkeys(k for row in rows for k in row))
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields_)
        writer.writeheader()
        writer.writerows(rows)


def _load_default():
    from omegaconf import OmegaConf

    dirs = _config_dirs()
    return OmegaConf.load(next(d / "default.yaml" for d in dirs if (d / "default.yaml").is_file()))


def _section_classes():
    from rl_aug.agents.bc import BCConfig
    from rl_aug.ccil import DynamicsConfig, LabelConfig

    return {"dynamics": DynamicsConfig, "labels": LabelConfig, "bc": BCConfig}


def _check_keys(overrides, default, where: str) -> None:
    """Every key of ``overrides`` must exist in the defaults (or the section's dataclass); suggest near misses."""
    from omegaconf import DictConfig

    classes = _section_classes()
    for key in overrides:
        known = set(default)
        if key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown option {where}{key!r} (in {where.rstrip('.') or 'the top level'}){hint} "
                              f"Known: {sorted(known)}")
        if isinstance(default[key], DictConfig):
            if not isinstance(overrides[key], DictConfig):
                raise ConfigError(f"{where}{key} is a section; set its keys as {key}.<name>=value, got "
                                  f"{key}={overrides[key]!r}")
            section_known = set(default[key]) | EXTRA_KEYS.get(key, set())
            if key in classes:
                section_known |= {f.name for f in fields(classes[key]) if f.name != "seed"}
            for sub in overrides[key]:
                if sub not in section_known:
                    close = difflib.get_close_matches(str(sub), sorted(section_known), n=1)
                    hint = f"; did you mean {key}.{close[0]}?" if close else ""
                    raise ConfigError(f"unknown option {key}.{sub}{hint} Known {key} keys: {sorted(section_known)}")


def load_config(argv: list[str]):
    """defaults <- task file <- command line; unknown keys raise ConfigError (with a suggestion)."""
    from omegaconf import OmegaConf

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise ConfigError(f"expected key=value overrides (e.g. task=pendulum), got {bad}")
    cli = OmegaConf.from_dotlist(argv)
    dirs = _config_dirs()
    cfg = _load_default()
    _check_keys(cli, cfg, "")
    task = cli.get("task", cfg.task)
    task_file = next((d / f"{task}.yaml" for d in dirs if (d / f"{task}.yaml").is_file()), None)
    if task_file is not None:
        task_cfg = OmegaConf.load(task_file)
        _check_keys(task_cfg, cfg, "")
        cfg = OmegaConf.merge(cfg, task_cfg)
    return OmegaConf.merge(cfg, cli)


def _differences(saved, new, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two plain config dicts."""
    keys = dict.fromkeys([*saved, *new])
    out = []
    for key in keys:
        a, b = saved.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key} ({a!r} -> {b!r})")
    return out


def load_resume_config(run_dir: str | Path, argv: list[str]):
    """The config of a run to continue: its saved config.yaml; `seeds` may be changed to add seeds, any other
    override must leave the config as it was (ConfigError naming the keys otherwise)."""
    from omegaconf import OmegaConf

    run_dir = Path(run_dir)
    saved_file = run_dir / "config.yaml"
    if not saved_file.is_file():
        raise ConfigError(f"resume={run_dir}: expected the run directory of an earlier rl-aug ccil run (with "
                          f"config.yaml), found no {saved_file}")
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise ConfigError(f"expected key=value overrides (e.g. seeds=[0,1,2]), got {bad}")
    cli = OmegaConf.from_dotlist(argv)
    _check_keys(cli, _load_default(), "")
    saved = OmegaConf.load(saved_file)
    cfg = OmegaConf.merge(saved, cli)
    cfg.out = str(run_dir)
    before, after = OmegaConf.to_container(saved), OmegaConf.to_container(cfg)
    for plain in (before, after):
        plain.pop("seeds", None)
        plain.pop("out", None)
    changed = _differences(before, after)
    if changed:
        raise ConfigError(f"resume={run_dir}: a resumed run keeps its config (only seeds may change), got changes "
                          f"to {', '.join(changed)}; start a new run (out=...) for another config")
    done = sorted(int(p.stem.removeprefix("seed")) for p in run_dir.glob("seed*.npz")
                  if p.stem.removeprefix("seed").isdigit())
    missing = [s for s in done if s not in [int(x) for x in cfg.seeds]]
    if missing:
        raise ConfigError(f"resume={run_dir}: seeds must keep the seeds that finished ({done}), got "
                          f"seeds={list(cfg.seeds)} without {missing}")
    return cfg


def _save_seed(out: Path, seed: int, returns: dict[str, np.ndarray], info: dict) -> None:
    """One finished seed (returns per method, info without the labeled data, which has its own file), atomically."""
    from rl_aug.ccil.data import save_npz_atomic

    plain = {k: v for k, v in info.items() if k != "labeled"}
    save_npz_atomic(out / f"seed{seed}.npz", info=np.array(json.dumps(plain, default=_plain_number)),
                    **{f"returns_{m}": r for m, r in returns.items()})


def _plain_number(value):
    """json.dumps fallback for numpy scalars (label counts stay ints, losses floats)."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    raise TypeError(f"cannot store {type(value).__name__} in a seed file")


def _load_seed(out: Path, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(out / f"seed{seed}.npz") as z:
        info = json.loads(str(z["info"]))
        returns = {k.removeprefix("returns_"): z[k] for k in z.files if k.startswith("returns_")}
    labeled = out / f"labeled_seed{seed}.npz"
    if labeled.is_file():
        with np.load(labeled) as z:
            info["labeled"] = {k: z[k] for k in z.files}
    return returns, info


def _dataclass_from(cls, section, drop: tuple[str, ...] = ()) -> object:
    from omegaconf import OmegaConf

    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    for key in drop:
        values.pop(key, None)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s) {unknown}; known: {sorted(names)}")
    section_name = {c: n for n, c in _section_classes().items()}.get(cls, cls.__name__)
    for f in fields(cls):
        if f.name in values:
            _check_type(f"{section_name}.{f.name}", f.default, values[f.name])
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from exc


def _check_type(key: str, default, value) -> None:
    """A value of a dataclass field with a bool / int / float / str default must be of that kind (an int is a fine
    float): otherwise `bc.lr=fast` would reach the optimizer and fail there, after minutes of dynamics training."""
    if default is None or value is None or isinstance(default, (tuple, list, dict)):
        return
    if isinstance(default, bool):
        ok, wanted = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, wanted = _is_int(value), "an int"
    elif isinstance(default, float):
        ok, wanted = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
    elif isinstance(default, str):
        ok, wanted = isinstance(value, str), "a string"
    else:
        return
    if not ok:
        raise ConfigError(f"{key}: expected {wanted}, got {type(value).__name__} {value!r}")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_config(cfg) -> None:
    """Check values before anything runs; raise ConfigError naming what was expected and what came."""
    from omegaconf import ListConfig

    from rl_aug.agents.bc import BCConfig
    from rl_aug.ccil import DynamicsConfig, LabelConfig
    from rl_aug.envs.ccil.evaluation import UNBOUNDED
    from rl_aug.envs.ccil.tasks import TASKS

    if cfg.task not in TASKS:
        close = difflib.get_close_matches(str(cfg.task), sorted(TASKS), n=1)
        raise ConfigError(f"unknown task {cfg.task!r}{f'; did you mean {close[0]!r}?' if close else ''} "
                          f"Expected one of {sorted(TASKS)}")
    if not isinstance(cfg.seeds, ListConfig) or len(cfg.seeds) == 0 or not all(_is_int(s) for s in cfg.seeds):
        raise ConfigError(f"seeds must be a non-empty list of integers, e.g. seeds=[0,1,2], got {cfg.seeds!r}")
    if len(set(cfg.seeds)) != len(cfg.seeds):
        raise ConfigError(f"seeds must be distinct, got {list(cfg.seeds)}")
    if not _is_int(cfg.episodes) or cfg.episodes < 1:
        raise ConfigError(f"episodes must be a positive integer (evaluation episodes per seed), got {cfg.episodes!r}")
    if cfg.eval_noise is not None and (not isinstance(cfg.eval_noise, (int, float)) or isinstance(cfg.eval_noise, bool)
                                       or not 0.0 <= cfg.eval_noise <= 1.0):
        raise ConfigError(f"eval_noise must be null (the task's level) or a number in [0, 1], got {cfg.eval_noise!r}")
    if cfg.eval_unbounded not in UNBOUNDED:
        raise ConfigError(f"eval_unbounded must be one of {UNBOUNDED}, got {cfg.eval_unbounded!r}")
    if cfg.env_id is not None and not isinstance(cfg.env_id, str):
        raise ConfigError(f"env_id must be a gymnasium env id like 'Walker2d-v4' or null, got {cfg.env_id!r}")
    methods = list(cfg.methods) if isinstance(cfg.methods, ListConfig) else None
    if not methods:
        raise ConfigError(f"methods must be a non-empty list from {list(METHODS)}, got {cfg.methods!r}")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ConfigError(f"unknown method(s) {unknown}; expected a subset of {list(METHODS)}")
    if "bc_matched" in methods and "ccil" not in methods:
        raise ConfigError("method bc_matched trains for as many steps as CCIL's BC: it needs ccil in methods too")
    _dataclass_from(BCConfig, cfg.bc, drop=("normalize_on",))
    if cfg.bc.normalize_on not in ("train", "demos"):
        raise ConfigError(f"bc.normalize_on must be 'train' or 'demos', got {cfg.bc.normalize_on!r}")
    _dataclass_from(DynamicsConfig, cfg.dynamics)
    _dataclass_from(LabelConfig, cfg.labels, drop=("epsilon_step_quantile",))


def _new_run_dir(cfg) -> Path:
    if cfg.out:
        out = Path(cfg.out)
        if out.exists() and any(out.iterdir()):
            raise ConfigError(f"run directory {out} exists and is not empty; choose another out=, or continue "
                              f"that run with resume={out}")
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / "ccil" / f"{cfg.task}-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _log(cfg, message: str) -> None:
    print(f"[ccil {cfg.task}] {message}", flush=True)


def _bc_config(cfg, method: str, seed: int):
    from rl_aug.agents.bc import BCConfig

    bc_cfg = _dataclass_from(BCConfig, cfg.bc, drop=("normalize_on",))
    bc_cfg.seed = seed
    if method == "noisebc":
        bc_cfg.noise_fraction = float(cfg.noisebc.noise_fraction)
        bc_cfg.noise_scale = float(cfg.noisebc.noise_scale)
        bc_cfg.noise_shape = str(cfg.noisebc.noise_shape)
    return bc_cfg


def fit_and_label(cfg, task, demos, seed: int, log) -> tuple[dict[str, np.ndarray], dict]:
    """One seed's dynamics model and corrective labels as cfg.dynamics / cfg.labels configure them (the state
    pipeline's and benchmarks/ccil_pixels.py's): (labeled data, info with dynamics_seconds, dynamics_loss,
    label_stats, epsilon). `log(message)` gets the progress lines."""
    from omegaconf import OmegaConf

    from rl_aug.ccil import DynamicsConfig, LabelConfig, generate_labels, train_dynamics

    info: dict = {}
    dyn_cfg = _dataclass_from(DynamicsConfig, cfg.dynamics)
    dyn_cfg.seed = seed
    start = time.time()
    log(f"seed {seed}: dynamics ({dyn_cfg.epochs} epochs, lipschitz {dyn_cfg.lipschitz}) ...")
    model, dyn_hist = train_dynamics(demos.observations, demos.actions, demos.next_observations, dyn_cfg)
    info["dynamics_seconds"] = time.time() - start
    info["dynamics_loss"] = dyn_hist["mse"]
    log(f"seed {seed}: dynamics done in {info['dynamics_seconds']:.0f}s, final normalized MSE {dyn_hist['mse'][-1]:.4g}")
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
    log(f"seed {seed}: labels {json.dumps(stats)}")
    return labeled, info


def run_seed(cfg, task, demos, seed: int, out: Path | None) -> tuple[dict[str, np.ndarray], dict]:
    """One seed: fit dynamics, generate labels, train each policy, evaluate; returns returns per method."""
    import torch

    from rl_aug.agents.bc import train_bc
    from rl_aug.ccil.data import save_npz_atomic
    from rl_aug.envs.ccil.evaluation import evaluate

    torch.set_num_threads(1)
    info: dict = {"seed": seed, "bc_steps": {}}
    methods = list(cfg.methods)
    labeled = None
    if "ccil" in methods:
        labeled, label_info = fit_and_label(cfg, task, demos, seed, lambda message: _log(cfg, message))
        info.update(label_info)
        if out is not None:
            save_npz_atomic(out / f"labeled_seed{seed}.npz", **labeled)
    noise = task.eval_noise if cfg.eval_noise is None else float(cfg.eval_noise)
    returns: dict[str, np.ndarray] = {}
    bc_losses: dict[str, list[float]] = {}
    for method in methods:
        bc_cfg = _bc_config(cfg, method, seed)
        obs, act = demos.observations, demos.actions
        if method == "ccil":
            obs, act = labeled["observations"], labeled["actions"]
        elif method == "bc_matched":
            bc_cfg.steps = _bc_config(cfg, "ccil", seed).num_steps(len(labeled["observations"]))
        normalization = (demos.observations, demos.actions) if cfg.bc.normalize_on == "demos" else None
        start = time.time()
        policy, losses = train_bc(obs, act, bc_cfg, normalization=normalization)
        bc_losses[method] = losses
        info["bc_steps"][method] = len(losses)
        eval_seed = 10_000 + 1000 * seed
        returns[method] = evaluate(policy.predict, task.make_env, int(cfg.episodes), noise, eval_seed,
                                   unbounded=str(cfg.eval_unbounded))
        _log(cfg, f"seed {seed}: {method} trained on {len(obs)} rows for {len(losses)} steps, "
                  f"{cfg.episodes} episodes: mean return {returns[method].mean():.2f} ({time.time() - start:.0f}s)")
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


def paired_difference(a: np.ndarray, b: np.ndarray) -> dict[str, float | list[float]]:
    """Per-seed differences a_i - b_i of per-seed means, their mean and standard error (std with ddof 1 / sqrt n).

    With one seed the standard error is undefined (nan).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"paired_difference needs two 1-D arrays of the same non-zero length, got {a.shape} and {b.shape}")
    d = a - b
    se = float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
    return {"diffs": d.tolist(), "mean": float(d.mean()), "se": se, "n": len(d)}


def comparison_pairs(methods: list[str]) -> list[tuple[str, str]]:
    """(method, baseline) pairs reported: everything against bc, and ccil against the step-matched BC."""
    pairs = [(m, "bc") for m in methods if m != "bc" and "bc" in methods]
    if "ccil" in methods and "bc_matched" in methods:
        pairs.append(("ccil", "bc_matched"))
    return pairs


def write_tables(out: Path, task_name: str, per_seed, infos, methods, episodes: int, noise: float,
                 expert_return: float | None, planned_seeds: int | None = None) -> dict[str, tuple[float, float]]:
    rows = [{"task": task_name, "seed": info["seed"], "method": m, "episodes": len(r[m]), "eval_noise": noise,
             "mean_return": float(r[m].mean()), "std_return": float(r[m].std()),
             "bc_steps": info.get("bc_steps", {}).get(m)}
            for r, info in zip(per_seed, infos) for m in methods]
    _write_csv(out / "results.csv", rows)
    summary = summarize(per_seed, methods)
    done = len(per_seed)
    partial = planned_seeds is not None and done < planned_seeds
    lines = [f"# CCIL on {task_name}", ""]
    if partial:
        lines += [f"**Partial: {done} of {planned_seeds} seeds finished.**", ""]
    lines += [(f"{done} seeds x {episodes} episodes, eval noise {noise}; mean +- std over seeds of "
               f"per-seed means. Expert: {expert_return if expert_return is not None else 'n/a'}"), "",
              "| method | return | BC gradient steps (seed 0) |", "|---|---|---|"]
    lines += [f"| {m} | {summary[m][0]:.2f} +- {summary[m][1]:.2f} | {infos[0].get('bc_steps', {}).get(m, '')} |"
              for m in methods]
    pairs = comparison_pairs(methods)
    if pairs:
        seeds = [info["seed"] for info in infos]
        lines += ["", "Paired differences (same seed for both methods; per-seed means; s.e. = std(ddof 1) / sqrt(n)):",
                  "", "| comparison | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | s.e. |",
                  "|---|" + "---|" * (len(seeds) + 2)]
        for a, b in pairs:
            d = paired_difference([r[a].mean() for r in per_seed], [r[b].mean() for r in per_seed])
            lines.append(f"| {a} - {b} | " + " | ".join(f"{x:+.1f}" for x in d["diffs"])
                         + f" | {d['mean']:+.1f} | {d['se']:.1f} |")
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


def load_task_demos(cfg):
    """The task and its demos, checked against the task's environment (observation and action sizes)."""
    from rl_aug.ccil.data import DemoFormatError, load_demos
    from rl_aug.envs.ccil.tasks import get_task

    task = get_task(cfg.task)
    if cfg.env_id is not None:
        import dataclasses

        import gymnasium as gym

        if task.env_id is None:
            raise ConfigError(f"env_id={cfg.env_id}: task {cfg.task} is not a gymnasium env, its env cannot be swapped")
        if cfg.env_id not in gym.registry:
            close = difflib.get_close_matches(cfg.env_id, list(gym.registry), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"env_id={cfg.env_id!r} is not a registered gymnasium env{hint}")
        task = dataclasses.replace(task, env_id=cfg.env_id)
    demo_path = Path(cfg.demos) if cfg.demos else task.resolve_demo_path(cfg.data_dir)
    demos = load_demos(demo_path)
    env = task.make_env()
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    env.close()
    if (demos.obs_dim,) != tuple(obs_shape) or (demos.act_dim,) != tuple(act_shape):
        raise DemoFormatError(
            f"{demo_path}: demos have observations of shape ({demos.obs_dim},) and actions of shape "
            f"({demos.act_dim},), but task {cfg.task} ({task.env_id or 'pendulum'}) expects observations "
            f"{tuple(obs_shape)} and actions {tuple(act_shape)}; pass the demos of this task (demos=...)"
        )
    return task, demos, demo_path


def run(cfg, on_seed=None, resume: bool = False) -> tuple[Path, dict[str, tuple[float, float]]]:
    """The whole pipeline; ``on_seed(run_dir)`` is called after each seed's tables are written. With ``resume``
    (cfg from load_resume_config), seeds finished in cfg.out are read back instead of run again."""
    from omegaconf import OmegaConf

    validate_config(cfg)
    task, demos, demo_path = load_task_demos(cfg)
    out = Path(cfg.out) if resume else _new_run_dir(cfg)
    _log(cfg, f"run directory: {out}")
    _log(cfg, f"demos: {demo_path.name}, {len(demos)} transitions; seeds {list(cfg.seeds)}; "
              f"methods {list(cfg.methods)}")
    OmegaConf.save(cfg, out / "config.yaml")
    expert_file = demo_path.with_suffix(".json")
    expert_return = (json.loads(expert_file.read_text()).get("expert_return_mean") if expert_file.exists()
                     else task.expert_return)
    per_seed, infos = [], []
    summary: dict = {}
    for k, seed in enumerate(cfg.seeds):
        start = time.time()
        if resume and (out / f"seed{int(seed)}.npz").is_file():
            returns, info = _load_seed(out, int(seed))
            _log(cfg, f"seed {seed} ({k + 1}/{len(cfg.seeds)}): finished in an earlier launch, read back")
        else:
            _log(cfg, f"seed {seed} ({k + 1}/{len(cfg.seeds)}) ...")
            returns, info = run_seed(cfg, task, demos, int(seed), out)
            _save_seed(out, int(seed), returns, info)
        per_seed.append(returns)
        infos.append(info)
        means = {m: round(float(r.mean()), 2) for m, r in returns.items()}
        _log(cfg, f"seed {seed} ({k + 1}/{len(cfg.seeds)}) done: {means} ({time.time() - start:.0f}s)")
        summary = write_tables(out, cfg.task, per_seed, infos, list(cfg.methods), int(cfg.episodes),
                               infos[0]["eval_noise"], expert_return, planned_seeds=len(cfg.seeds))
        if on_seed is not None:
            on_seed(out)
    if cfg.plots:
        write_plots(out, demos, infos[0])
    return out, summary


def help_text() -> str:
    from omegaconf import OmegaConf

    from rl_aug.envs.ccil.tasks import TASKS

    default = _load_default()
    lines = [__doc__.strip(), "", "Tasks (task=...):"]
    for name, t in TASKS.items():
        source = f"demos from data_dir / $RL_AUG_CCIL_DATA ({t.data_file})" if t.data_file else "shipped demos"
        lines.append(f"  {name:26s} {t.env_id or 'our pendulum'}, eval noise {t.eval_noise}, {source}")
    lines += ["", f"Methods (methods=[...]): {', '.join(METHODS)}", "", "Config keys (defaults; task files override some):"]

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            else:
                lines.append(f"  {prefix}{key}={json.dumps(value).replace(' ', '')}")

    walk(OmegaConf.to_container(default), "")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(help_text())
        return 0
    from rl_aug.ccil.data import DemoFormatError

    try:
        resume = [a for a in argv if a.startswith("resume=")]
        if len(resume) > 1:
            raise ConfigError(f"expected one resume=RUN_DIR, got {resume}")
        if resume:
            argv = [a for a in argv if not a.startswith("resume=")]
            cfg = load_resume_config(resume[0].removeprefix("resume="), argv)
        else:
            cfg = load_config(argv)
        out, _summary = run(cfg, resume=bool(resume))
    except (ConfigError, DemoFormatError, FileNotFoundError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"rl-aug ccil: {message}", file=sys.stderr)
        return 2
    print((out / "results.md").read_text())
    _log(cfg, f"run directory: {out}")
    return 0
