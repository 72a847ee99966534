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
from omegaconf.errors import ConfigKeyError
from rl_aug.agents.config import check_type, config_diff, config_dirs, default_types, find_config, unknown
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


def _schema(default: DictConfig) -> DictConfig:
    """Every key a config may set, as a struct config: the defaults, plus in each section its dataclass's fields
    (DynamicsConfig, LabelConfig, BCConfig; seed is per run) and the keys the pipeline reads itself (EXTRA_KEYS)."""
    schema = default.copy()
    for name, cls in _section_classes().items():
        for key in [*(f.name for f in fields(cls) if f.name != "seed"), *sorted(EXTRA_KEYS.get(name, ()))]:
            schema[name].setdefault(key, None)
    OmegaConf.set_struct(schema, True)
    return schema


def _overrides(argv: list[str], example: str, schema: DictConfig) -> DictConfig:
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
    _check_keys(cli, schema)
    return cli


def _check_keys(node: DictConfig, schema: DictConfig) -> None:
    """Every key of `node` (the command line, a task file) must be in `schema` (_schema): merged into it as a
    struct config, an unknown key is named with the nearest valid one as `rl-aug train` names it."""
    for key, value in node.items():
        if isinstance(schema.get(key), DictConfig) and not isinstance(value, DictConfig):
            raise ConfigError(f"{key} is a section; set its keys as {key}.<name>=value, got {key}={value!r}")
    try:
        OmegaConf.merge(schema, node)
    except ConfigKeyError as exc:
        unknown(schema, exc.full_key)


def load_config(argv: list[str]) -> DictConfig:
    """defaults <- task file <- command line; unknown keys raise ConfigError (with a suggestion)."""
    cfg = defaults()
    schema = _schema(cfg)
    cli = _overrides(argv, "task=pendulum", schema)
    task_file = find_config(f"{cli.get('task', cfg.task)}.yaml", _dirs())
    if task_file is not None:
        task_cfg = OmegaConf.load(task_file)
        _check_keys(task_cfg, schema)
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
    cli = _overrides(argv, "seeds=[0,1,2]", _schema(defaults()))
    saved = OmegaConf.load(saved_file)
    cfg = OmegaConf.merge(saved, cli)
    cfg.out = str(run_dir)
    changed = [f"{key} ({old!r} -> {new!r})" for key, old, new in
               config_diff(OmegaConf.to_container(saved), OmegaConf.to_container(cfg)) if key not in ("seeds", "out")]
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
        return load_resume_config(resume[0].removeprefix("resume="), [a for a in argv if a not in resume]), True
    return load_config(argv), False


def dataclass_from(name: str, section: DictConfig | None, seed: int = 0) -> Any:
    """The dataclass of section `name` (dynamics: DynamicsConfig, labels: LabelConfig, bc: BCConfig) built from
    the config section for `seed`, without the keys the pipeline reads itself (EXTRA_KEYS); YAML's lists become
    the fields' tuples. The keys and types were checked before (load_config, validate_config); the dataclass
    checks the values (bc.epochs=0), reported as a ConfigError."""
    cls = _section_classes()[name]
    values = OmegaConf.to_container(section, resolve=True) if section is not None else {}
    values = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()
              if key not in EXTRA_KEYS.get(name, ())}
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
    checks = [  # (key, test of its value, what is expected)
        ("seeds", lambda v: isinstance(v, ListConfig) and len(v) > 0 and all(map(_is_int, v)),
         "a non-empty list of integers, e.g. seeds=[0,1,2]"),
        ("seeds", lambda v: len(set(v)) == len(v), "distinct"),
        ("episodes", lambda v: _is_int(v) and v >= 1, "a positive integer (evaluation episodes per seed)"),
        ("eval_noise", lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1),
         "null (the task's level) or a number in [0, 1]"),
        ("eval_unbounded", lambda v: v in UNBOUNDED, f"one of {UNBOUNDED}"),
        ("env_id", lambda v: v is None or isinstance(v, str), "a gymnasium env id like 'Walker2d-v4' or null"),
        ("methods", lambda v: isinstance(v, ListConfig) and len(v) > 0, f"a non-empty list from {list(METHODS)}"),
        ("bc.normalize_on", lambda v: v in ("train", "demos"), "'train' or 'demos'"),
    ]
    for key, test, expected in checks:
        if not test(value := OmegaConf.select(cfg, key)):
            raise ConfigError(f"{key} must be {expected}, got {value!r}")
    if unknown_methods := [m for m in cfg.methods if m not in METHODS]:
        raise ConfigError(f"unknown method(s) {unknown_methods}; expected a subset of {list(METHODS)}")
    if "bc_matched" in cfg.methods and "ccil" not in cfg.methods:
        raise ConfigError("method bc_matched trains for as many steps as CCIL's BC: it needs ccil in methods too")
    classes = _section_classes()
    noisebc = {"noisebc": classes["bc"]} if "noisebc" in cfg.methods else {}  # checked where it is used
    for name, cls in {**classes, **noisebc}.items():  # types: each field's default says which
        section = OmegaConf.to_container(cfg[name], resolve=True)
        for f in fields(cls):
            if section.get(f.name) is not None:  # a null is left to the dataclass (the yaml writes null for "off")
                key = f"{name}.{f.name}"
                check_type(key, section[f.name], default_types(key, f.default), WORDS.__getitem__)
    for name in classes:
        dataclass_from(name, cfg[name])
    if noisebc:  # NoiseBC's BC: noisebc's settings over bc's, a bad value named by the key the user set
        try:
            dataclass_from("bc", OmegaConf.merge(cfg.bc, cfg.noisebc))
        except ConfigError as exc:
            given = ", ".join(f"noisebc.{k}={v!r}" for k, v in cfg.noisebc.items())
            raise ConfigError(f"noisebc ({given}) over bc: {exc}") from None
