"""The config of `rl-aug ccil`: configs/ccil/default.yaml <- configs/ccil/<task>.yaml <- `key=value` overrides.

The same machinery as the training config (agents/config.py): the config folders (config_dirs: the user's in
RL_AUG_CONFIG_PATH first, then the shipped configs), Hydra's override grammar (agents/overrides.py; values merged as
OmegaConf reads them, as `rl-aug train` does) and its one ConfigError. `task=<name>` picks a task file as a group
pick does; every other key must exist in the defaults or in the dataclass of its section (DynamicsConfig,
LabelConfig, BCConfig), so a typo is refused with the nearest key before minutes of training. Sweeps and
`+key` / `~key` are refused: a CCIL run is one config, its seeds a list (seeds=[0,1,2]).
"""

from __future__ import annotations

import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from rl_aug.agents.config import check_type, config_diff, config_dirs, default_types, find_config
from rl_aug.agents.overrides import ConfigError, parse

METHODS = ("bc", "noisebc", "ccil", "bc_matched")
# Keys the pipeline reads itself, on top of the dataclass fields of each section.
EXTRA_KEYS = {"labels": {"epsilon_step_quantile"}, "bc": {"normalize_on"}}
# How `rl-aug ccil` names the types that config.check_type expects (bc.lr=fast: "bc.lr: expected a number").
WORDS = {(bool,): "true or false", (int,): "an int", (float, int): "a number", (str,): "a string",
         (list, tuple): "a list"}


def _dirs() -> list[Path]:
    """ccil/ in the user's config folders (RL_AUG_CONFIG_PATH) first, then in the shipped configs."""
    return [d / "ccil" for d in config_dirs()]


def defaults() -> DictConfig:
    """configs/ccil/default.yaml (the user's copy first, if they have one)."""
    return OmegaConf.load(find_config("default.yaml", _dirs()))


def _section_classes() -> dict[str, type]:
    from rl_aug.agents.bc import BCConfig

    from rl_aug.ccil import DynamicsConfig, LabelConfig

    return {"dynamics": DynamicsConfig, "labels": LabelConfig, "bc": BCConfig}


def _overrides(argv: list[str], example: str, default: DictConfig) -> DictConfig:
    """The command line as a config: Hydra's grammar checks each item (a sweep or `+key` / `~key` is refused),
    the values are read as OmegaConf reads a dot-list, as in `rl-aug train`, and the keys checked (_check_keys)."""
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise ConfigError(f"expected key=value overrides (e.g. {example}), got {bad}")
    for item in parse(argv):
        if item.sweep:
            raise ConfigError(f"{item.text!r} is a sweep ({len(item.sweep)} values): rl-aug ccil runs one config; "
                              "give its seeds as a list, e.g. seeds=[0,1,2]")
        if item.kind != "set":
            raise ConfigError(f"{item.text!r}: rl-aug ccil takes key=value overrides of the keys in "
                              "configs/ccil/default.yaml (+key and ~key are for rl-aug train)")
    cli = OmegaConf.from_dotlist(argv)
    _check_keys(cli, default)
    return cli


def _check_keys(overrides: DictConfig, default: DictConfig) -> None:
    """Every key of ``overrides`` must exist in the defaults (or the section's dataclass); suggest near misses."""
    classes = _section_classes()
    for key in overrides:
        if key not in default:
            close = difflib.get_close_matches(str(key), sorted(default), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"unknown option {key!r} (in the top level){hint} Known: {sorted(default)}")
        if isinstance(default[key], DictConfig):
            if not isinstance(overrides[key], DictConfig):
                raise ConfigError(f"{key} is a section; set its keys as {key}.<name>=value, got "
                                  f"{key}={overrides[key]!r}")
            section_known = set(default[key]) | EXTRA_KEYS.get(key, set())
            if key in classes:
                section_known |= {f.name for f in fields(classes[key]) if f.name != "seed"}
            for sub in overrides[key]:
                if sub not in section_known:
                    close = difflib.get_close_matches(str(sub), sorted(section_known), n=1)
                    hint = f"; did you mean {key}.{close[0]}?" if close else ""
                    raise ConfigError(f"unknown option {key}.{sub}{hint} Known {key} keys: {sorted(section_known)}")


def load_config(argv: list[str]) -> DictConfig:
    """defaults <- task file <- command line; unknown keys raise ConfigError (with a suggestion)."""
    cfg = defaults()
    cli = _overrides(argv, "task=pendulum", cfg)
    task_file = find_config(f"{cli.get('task', cfg.task)}.yaml", _dirs())
    if task_file is not None:
        task_cfg = OmegaConf.load(task_file)
        _check_keys(task_cfg, cfg)
        cfg = OmegaConf.merge(cfg, task_cfg)
    return OmegaConf.merge(cfg, cli)


def load_resume_config(run_dir: str | Path, argv: list[str]) -> DictConfig:
    """The config of a run to continue: its saved config.yaml; `seeds` may be changed to add seeds, any other
    override must leave the config as it was (ConfigError naming the keys otherwise)."""
    run_dir = Path(run_dir)
    saved_file = run_dir / "config.yaml"
    if not saved_file.is_file():
        raise ConfigError(f"resume={run_dir}: expected the run directory of an earlier rl-aug ccil run (with "
                          f"config.yaml), found no {saved_file}")
    cli = _overrides(argv, "seeds=[0,1,2]", defaults())
    saved = OmegaConf.load(saved_file)
    cfg = OmegaConf.merge(saved, cli)
    cfg.out = str(run_dir)
    before, after = OmegaConf.to_container(saved), OmegaConf.to_container(cfg)
    for plain in (before, after):
        plain.pop("seeds", None)
        plain.pop("out", None)
    changed = [f"{key} ({old!r} -> {new!r})" for key, old, new in config_diff(before, after)]
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


def from_command_line(argv: list[str]) -> tuple[DictConfig, bool]:
    """The config of an `rl-aug ccil` command line and whether it resumes: `resume=RUN_DIR` continues that run
    (load_resume_config, the other items may add seeds), otherwise a new run (load_config)."""
    resume = [a for a in argv if a.startswith("resume=")]
    if len(resume) > 1:
        raise ConfigError(f"expected one resume=RUN_DIR, got {resume}")
    if resume:
        rest = [a for a in argv if not a.startswith("resume=")]
        return load_resume_config(resume[0].removeprefix("resume="), rest), True
    return load_config(argv), False


def dataclass_from(name: str, section: DictConfig | None, seed: int = 0) -> Any:
    """The dataclass of section `name` (dynamics: DynamicsConfig, labels: LabelConfig, bc: BCConfig) built from
    the config section for `seed`, without the keys the pipeline reads itself (EXTRA_KEYS). Each value is
    type-checked against its field's default, so `bc.lr=fast` fails here, not at the optimizer after minutes of
    dynamics training; a null is left to the dataclass (the yaml writes null for "off")."""
    cls = _section_classes()[name]
    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    for key in EXTRA_KEYS.get(name, ()):
        values.pop(key, None)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} option(s) {unknown}; known: {sorted(names)}")
    for f in fields(cls):
        if values.get(f.name) is not None:
            key = f"{name}.{f.name}"
            check_type(key, values[f.name], default_types(key, f.default), WORDS.__getitem__)
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    try:
        return cls(**{**values, "seed": seed})
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{cls.__name__}: {exc}") from exc


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_config(cfg: DictConfig) -> None:
    """Check values before anything runs; raise ConfigError naming what was expected and what came."""
    from rl_aug.agents.ccil_evaluation import UNBOUNDED
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
    dataclass_from("bc", cfg.bc)
    if cfg.bc.normalize_on not in ("train", "demos"):
        raise ConfigError(f"bc.normalize_on must be 'train' or 'demos', got {cfg.bc.normalize_on!r}")
    dataclass_from("dynamics", cfg.dynamics)
    dataclass_from("labels", cfg.labels)


