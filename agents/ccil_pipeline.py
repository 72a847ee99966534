"""The `rl-aug ccil` pipeline: per seed, dynamics -> corrective labels -> BC, NoiseBC and CCIL -> noisy evaluation,
then the report; `resume` continues a stopped run from its finished seeds.

    cfg = load_config(["task=pendulum", "seeds=[0,1]"])   # agents/ccil_config.py
    run_dir, summary = run(cfg)                            # {method: (mean, std over seeds)}

Every seed trains every method with that seed (a paired comparison). The run directory gets the resolved config,
labeled data per seed (labeled_seed<N>.npz), one seed<N>.npz per finished seed (its returns and info, which is
what a resume reads back), the tables and plots (agents/ccil_report.py). The parts are rl_aug.ccil (model,
labels), agents.bc (policies) and envs.ccil (tasks, evaluation); benchmarks/ccil_pixels.py reuses
fit_and_label and load_task_demos.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from omegaconf import DictConfig, OmegaConf
from rl_aug.agents.bc import BCConfig, train_bc
from rl_aug.agents.ccil_config import ConfigError, dataclass_from, validate_config
from rl_aug.agents.ccil_evaluation import evaluate
from rl_aug.agents.ccil_report import write_plots, write_tables
from rl_aug.agents.config import new_run_dir
from rl_aug.envs.ccil.tasks import CCILTask, get_task

from rl_aug.ccil import generate_labels, train_dynamics
from rl_aug.ccil.data import DemoFormatError, Demonstrations, load_demos, save_npz_atomic
from rl_aug.files import write_text


def _save_seed(out: Path, seed: int, returns: dict[str, np.ndarray], info: dict) -> None:
    """One finished seed (returns per method, info without the labeled data, which has its own file), atomically."""
    plain = {k: v for k, v in info.items() if k != "labeled"}
    # numpy scalars are stored as their Python value (label counts stay ints, losses floats)
    save_npz_atomic(out / f"seed{seed}.npz", info=np.array(json.dumps(plain, default=np.generic.item)),
                    **{f"returns_{m}": r for m, r in returns.items()})


def _load_seed(out: Path, seed: int) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(out / f"seed{seed}.npz") as z:
        info = json.loads(str(z["info"]))
        returns = {k.removeprefix("returns_"): z[k] for k in z.files if k.startswith("returns_")}
    labeled = out / f"labeled_seed{seed}.npz"
    if labeled.is_file():
        with np.load(labeled) as z:
            info["labeled"] = dict(z)
    return returns, info


def _new_run_dir(cfg: DictConfig) -> Path:
    """out= (refused when it holds a run), or a new runs/ccil/<task>-<UTC time>."""
    if not cfg.out:
        return new_run_dir(Path("runs") / "ccil", f"{cfg.task}-")
    out = Path(cfg.out)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"run directory {out} exists and is not empty; choose another out=, or continue "
                          f"that run with resume={out}")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _log(cfg: DictConfig, message: str) -> None:
    print(f"[ccil {cfg.task}] {message}", flush=True)


def _bc_config(cfg: DictConfig, method: str, seed: int) -> BCConfig:
    """The BC settings of `method`: NoiseBC's are noisebc's noise settings over bc's."""
    return dataclass_from("bc", OmegaConf.merge(cfg.bc, cfg.noisebc) if method == "noisebc" else cfg.bc, seed)


def fit_and_label(cfg: DictConfig, task: CCILTask, demos: Demonstrations, seed: int,
                  log: Callable[[str], None]) -> tuple[dict[str, np.ndarray], dict]:
    """One seed's dynamics model and corrective labels as cfg.dynamics / cfg.labels configure them (the state
    pipeline's and benchmarks/ccil_pixels.py's): (labeled data, info with dynamics_seconds, dynamics_loss,
    label_stats, epsilon). `log(message)` gets the progress lines."""
    dyn_cfg = dataclass_from("dynamics", cfg.dynamics, seed)
    start = time.time()
    log(f"seed {seed}: dynamics ({dyn_cfg.epochs} epochs, lipschitz {dyn_cfg.lipschitz}) ...")
    model, dyn_hist = train_dynamics(demos.observations, demos.actions, demos.next_observations, dyn_cfg)
    seconds = time.time() - start
    log(f"seed {seed}: dynamics done in {seconds:.0f}s, final normalized MSE {dyn_hist['mse'][-1]:.4g}")
    label_cfg = dataclass_from("labels", cfg.labels, seed)
    quantile = cfg.labels.get("epsilon_step_quantile")
    if label_cfg.epsilon is None and quantile is not None:
        steps = np.linalg.norm(demos.next_observations - demos.observations, axis=1)
        label_cfg.epsilon = float(np.quantile(steps, quantile))
    env = task.make_env()
    low, high = env.action_space.low, env.action_space.high
    env.close()
    labeled, stats = generate_labels(model, demos, label_cfg, low, high)
    log(f"seed {seed}: labels {json.dumps(stats)}")
    return labeled, {"dynamics_seconds": seconds, "dynamics_loss": dyn_hist["mse"], "label_stats": stats,
                     "epsilon": label_cfg.epsilon}


def run_seed(cfg: DictConfig, task: CCILTask, demos: Demonstrations, seed: int,
             out: Path | None) -> tuple[dict[str, np.ndarray], dict]:
    """One seed: fit dynamics, generate labels, train each policy, evaluate; returns returns per method."""
    torch.set_num_threads(1)
    info: dict = {"seed": seed, "bc_steps": {}, "bc_losses": {}}
    methods = list(cfg.methods)
    labeled = None
    if "ccil" in methods:
        labeled, label_info = fit_and_label(cfg, task, demos, seed, lambda message: _log(cfg, message))
        info.update(label_info)
        if out is not None:
            save_npz_atomic(out / f"labeled_seed{seed}.npz", **labeled)
    noise = task.eval_noise if cfg.eval_noise is None else float(cfg.eval_noise)
    returns: dict[str, np.ndarray] = {}
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
        info["bc_losses"][method] = losses
        info["bc_steps"][method] = len(losses)
        eval_seed = 10_000 + 1000 * seed
        returns[method] = evaluate(policy.predict, task.make_env, int(cfg.episodes), noise, eval_seed,
                                   unbounded=str(cfg.eval_unbounded))
        _log(cfg, f"seed {seed}: {method} trained on {len(obs)} rows for {len(losses)} steps, "
                  f"{cfg.episodes} episodes: mean return {returns[method].mean():.2f} ({time.time() - start:.0f}s)")
    info["eval_noise"] = noise
    return returns, info | ({"labeled": labeled} if labeled is not None else {})


def load_task_demos(cfg: DictConfig) -> tuple[CCILTask, Demonstrations, Path]:
    """The task and its demos, checked against the task's environment (observation and action sizes)."""
    task = get_task(cfg.task)
    if cfg.env_id is not None:
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


def run(cfg: DictConfig, on_seed: Callable[[Path], None] | None = None,
        resume: bool = False) -> tuple[Path, dict[str, tuple[float, float]]]:
    """The whole pipeline; ``on_seed(run_dir)`` is called after each seed's tables are written. With ``resume``
    (cfg from load_resume_config), seeds finished in cfg.out are read back instead of run again."""
    validate_config(cfg)
    task, demos, demo_path = load_task_demos(cfg)
    out = Path(cfg.out) if resume else _new_run_dir(cfg)
    _log(cfg, f"run directory: {out}")
    _log(cfg, f"demos: {demo_path.name}, {len(demos)} transitions; seeds {list(cfg.seeds)}; "
              f"methods {list(cfg.methods)}")
    write_text(out / "config.yaml", OmegaConf.to_yaml(cfg))
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

