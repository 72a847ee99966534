"""Compose and check training configs: configs/train.yaml + one file per group + `key=value` overrides.

A small OmegaConf composition (Hydra-style `group=name` picks, dotted overrides) so the command line
and Python share one path:

    cfg = compose(["agent=sac", "strategy=svea", "task=walker-walk", "seed=1", "frames=500000"])

Every problem is reported once, here, as a ConfigError naming the valid options. ConfigError is defined in
agents/overrides.py (the override parser, below this module: it imports nothing from here) and is the one config
error of the package: `rl-aug ccil`'s config (agents/ccil_config.py) raises it too.
"""

from __future__ import annotations

import difflib
import inspect
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from rl_aug.extras import require

require("omegaconf", "training configs")
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException
from rl_aug.agents.overrides import ConfigError, parse

GROUPS = ("agent", "strategy", "task", "run")
# The shipped configs (package data of rl_aug.configs, found with importlib.resources so the wheel works
# from any folder). A user's folders (`--config-dir`, RL_AUG_CONFIG_PATH) come first and win file by file.
CONFIG_DIR = Path(str(resources.files("rl_aug.configs")))
CONFIG_PATH_ENV = "RL_AUG_CONFIG_PATH"
ConfigDirs = str | Path | list[str | Path] | None


def config_dirs(config_dir: ConfigDirs = None) -> list[Path]:
    """Where configs are looked up, first match wins: `config_dir` (one folder or a list), then the folders in
    RL_AUG_CONFIG_PATH (os.pathsep-separated), then the shipped configs."""
    given = [] if config_dir is None else [config_dir] if isinstance(config_dir, (str, Path)) else list(config_dir)
    from_env = [p for p in os.environ.get(CONFIG_PATH_ENV, "").split(os.pathsep) if p]
    dirs = [Path(p).expanduser() for p in [*given, *from_env]]
    for d in dirs:
        if not d.is_dir():
            raise ConfigError(f"expected a config folder, got {str(d)!r}, which is not a directory "
                              f"(from --config-dir or {CONFIG_PATH_ENV})")
    return [*dirs, CONFIG_DIR] if CONFIG_DIR not in dirs else dirs


def find_config(relative: str, dirs: list[Path]) -> Path | None:
    """The first `dir / relative` that exists, or None."""
    return next((d / relative for d in dirs if (d / relative).is_file()), None)


@dataclass
class TaskSchema:
    name: str | None = "cartpole-swingup"  # a dm_control task; for your own env, null: named after id / factory
    id: str | None = None       # your own env: a gymnasium id (configs/task/gym.yaml) ...
    factory: str | None = None  # ... or "package.module:function" returning a gymnasium.Env
    action_repeat: int = 8
    frame_stack: int = 3
    size: int = 84
    shift: Any = None
    render_quality: str = "fast"


@dataclass
class RunSchema:
    eval_every_frames: int = 10000
    eval_episodes: int = 10
    checkpoint_every_frames: int = 50000
    checkpoint_every_minutes: float = 10.0
    save_video: bool = True
    tensorboard: bool = True
    progress: bool = True
    num_threads: int = 0
    keep_freed_memory: bool = True
    snapshot_every_frames: int = 0


@dataclass
class TopSchema:
    seed: int = 1
    frames: int = 500000
    device: str = "cpu"
    precision: Any = None
    run_dir: Any = None
    resume: bool = False
    overwrite: bool = False
    agent: Any = field(default_factory=dict)
    strategy: Any = field(default_factory=dict)
    task: TaskSchema = field(default_factory=TaskSchema)
    run: RunSchema = field(default_factory=RunSchema)


# Keys of configs/agent/*.yaml that the loop reads; everything else goes to the agent's constructor.
AGENT_LOOP_KEYS = {"name": str, "replay_capacity": int, "seed_steps": (int, type(None)),
                   "seed_frames": (int, type(None)), "init_updates": (int, type(None))}


def agent_classes() -> dict[str, type]:
    from rl_aug.agents.drqv2 import DrQV2
    from rl_aug.agents.sac import SAC

    return {"sac": SAC, "sac_dmcgb": SAC, "drqv2": DrQV2}


def available(group: str, config_dir: ConfigDirs = None) -> list[str]:
    """Choices for a group: its YAML files (strategies: also every name rl_aug.strategies builds, with its
    defaults)."""
    names = {p.stem for d in config_dirs(config_dir) for p in (d / group).glob("*.yaml")}
    if group == "strategy":
        from rl_aug import strategies  # lazy: torch

        names |= set(strategies.available())
    return sorted(names)


def _load_mapping(path: Path, picks_groups: bool = True) -> DictConfig:
    """A group or preset file: a YAML mapping (ConfigError naming the file otherwise); without `defaults` (group
    picks) where `picks_groups` is False."""
    node = OmegaConf.load(path)
    if not isinstance(node, DictConfig):
        raise ConfigError(f"expected a mapping in {path}, got {type(node).__name__}")
    if not picks_groups and "defaults" in node:
        raise ConfigError(f"expected a mapping without 'defaults' in {path} (a strategy preset picks no groups)")
    return node


def _load_group(group: str, choice: str, dirs: list[Path]) -> DictConfig:
    path = find_config(f"{group}/{choice}.yaml", dirs)
    if path is None and group == "strategy" and choice in available(group, dirs):
        return OmegaConf.create({"name": choice})  # a registered strategy without a file: its defaults
    if path is None:
        options = ", ".join(available(group, dirs)) or "(none)"
        where = ", ".join(str(d / group) for d in dirs)
        raise ConfigError(f"unknown {group} {choice!r}: expected one of {options} (files in {where})")
    return _load_mapping(path)


def _split(overrides: list[str]) -> tuple[dict[str, str], list[Any]]:
    """Group picks (`agent=drqv2`) and the other overrides, parsed with Hydra's grammar (agents/overrides.py);
    a sweep here is an error: sweeps run with -m (multirun)."""
    picks: dict[str, str] = {}
    rest: list[Any] = []
    for item in parse(overrides):
        if item.key in GROUPS and item.kind != "set":
            raise ConfigError(f"{item.text!r}: a group is picked with {item.key}=<name>, not added or deleted")
        if item.sweep:
            raise ConfigError(f"{item.text!r} is a sweep ({len(item.sweep)} values): sweeps run one training per "
                              "combination with -m, e.g. rl-aug train -m seed=1,2,3 "
                              "(or on Ray: rl-aug sweep seed=1,2,3)")
        if item.key in GROUPS:
            picks[item.key] = item.text.split("=", 1)[1]
        else:
            rest.append(item)
    return picks, rest


def _valid_keys(node: Any, prefix: str = "") -> list[str]:
    """The dotted keys of the leaves under `node` (itself, named `prefix`, when it is a leaf)."""
    if not isinstance(node, DictConfig):
        return [prefix.rstrip(".")]
    return [key for k in node for key in _valid_keys(node._get_node(k), f"{prefix}{k}.")]


def _presets(agent: str, names: list[str], dirs: list[Path], picks_groups: bool = True) -> list[DictConfig]:
    """An agent's settings as its paper ran them, preset/<agent>/<name>.yaml for each name found, merged over the
    group files and under the command line: `_default` then `<task>` (e.g. agent=drqv2 gets DrQ-v2's action
    repeat, schedules and per-task overrides, and `rad` unless a strategy is named), then `strategy/<strategy>`:
    what the paper changed for one method (e.g. DMC-GB renders 100 px and crops to 84 for SODA), which picks no
    groups."""
    found = [find_config(f"preset/{agent}/{name}.yaml", dirs) for name in names]
    return [_load_mapping(path, picks_groups) for path in found if path is not None]


def compose(overrides: list[str] | None = None, config_dir: ConfigDirs = None) -> DictConfig:
    """The resolved, checked training config for `overrides` (e.g. ["agent=drqv2", "frames=100000"]);
    `config_dir`: the user's config folder(s), searched before RL_AUG_CONFIG_PATH and the shipped configs."""
    dirs = config_dirs(config_dir)
    picks, rest = _split(list(overrides or []))
    saved = _saved_config(rest)
    if saved is not None:  # resuming a run directory: its own config, not the current defaults
        return _compose_resume(saved, picks, rest, dirs)
    top = OmegaConf.load(find_config("train.yaml", dirs))
    defaults = dict(top.pop("defaults", {}))
    defaults.update(picks)
    presets = _presets(str(defaults["agent"]), ["_default", str(defaults["task"])], dirs)
    for preset in presets:  # a preset's group choices apply where the command line made none
        for group, choice in dict(preset.pop("defaults", {})).items():
            if group not in picks:
                defaults[group] = choice
    presets += _presets(str(defaults["agent"]), [f"strategy/{defaults['strategy']}"], dirs, picks_groups=False)
    if "run" in picks:  # `run=<name>` on the command line is taken whole: a preset's run settings yield to it
        for preset in presets:
            preset.pop("run", None)
    cfg = OmegaConf.structured(TopSchema)
    try:
        cfg = OmegaConf.merge(cfg, top)
        for group in GROUPS:
            node = _load_group(group, str(defaults[group]), dirs)
            if group in ("agent", "strategy") and "name" not in node:
                node.name = str(defaults[group])
            cfg = OmegaConf.merge(cfg, {group: node})
        for preset in presets:
            cfg = OmegaConf.merge(cfg, preset)
    except OmegaConfBaseException as exc:
        raise ConfigError(f"bad config file: {exc}") from None
    OmegaConf.set_struct(cfg, True)
    for item in rest:
        _apply(cfg, item)
    return _finish(cfg)


def _apply(cfg: DictConfig, item: Any) -> None:
    """One parsed override (agents/overrides.Item): `key=value` merged with errors that name the key (and the
    closest valid one); `+key=value` adds a key that must be new, `++key=value` adds or changes, `~key` deletes."""
    exists = OmegaConf.select(cfg, item.key, default=_MISSING) is not _MISSING
    if item.kind == "add" and exists:
        raise ConfigError(f"{item.text!r}: {item.key} exists already; change it with {item.key}=..., "
                          f"or use ++{item.key}=... (add or change)")
    if item.kind in ("add", "force_add") and not exists and item.key.split(".")[0] not in ("agent", "strategy"):
        # the schema's keys (the top level, task, run) are what the loop reads: a new one would do nothing but keep
        # the run from resuming (its saved config would no longer read against the schema)
        unknown(cfg, item.key)
    if item.kind == "delete":
        if not exists:
            unknown(cfg, item.key)
        parent_key, _, leaf = item.key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key) if parent_key else cfg
        if item.value is not None and parent[leaf] != item.value:
            raise ConfigError(f"{item.text!r}: {item.key} is {parent[leaf]!r}, not {item.value!r}")
        if OmegaConf.get_type(parent) is not dict:  # a schema section (task, run, the top level): keys are fixed
            raise ConfigError(f"{item.text!r}: {item.key} is a required key; set it with {item.key}=... instead")
        with open_dict(parent):
            del parent[leaf]
        return
    try:
        if item.kind == "set":  # the value as OmegaConf reads it (YAML), into the struct config: no new keys
            cfg.merge_with_dotlist([item.text])
        else:
            with open_dict(cfg):
                OmegaConf.update(cfg, item.key, item.value, merge=True, force_add=True)
    except OmegaConfBaseException as exc:
        if item.kind == "set" and OmegaConf.select(cfg, item.key, default=_MISSING) is _MISSING:
            unknown(cfg, item.key)
        # OmegaConf reads `key=` as None and says only "field 'key' is not Optional"
        if item.kind == "set" and item.text.partition("=")[2] == "":
            raise ConfigError(f"override {item.text!r}: expected a value for {item.key} after '=', got nothing") from None
        raise ConfigError(f"bad value in override {item.text!r}: {str(exc).splitlines()[0]}") from None


_MISSING = object()


def unknown(cfg: DictConfig, key: str) -> None:
    """ConfigError for an unknown key, naming the closest valid one and the valid keys at that level."""
    parent: Any = cfg
    for part in key.split(".")[:-1]:
        parent = parent.get(part) if isinstance(parent, DictConfig) and part in parent else None
    prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
    keys = _valid_keys(parent, prefix) if isinstance(parent, DictConfig) else _valid_keys(cfg)
    close = difflib.get_close_matches(key, keys, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ConfigError(f"unknown config key {key!r}{hint}: valid keys here are {', '.join(keys)}")


# What a resumed run may change: its budget, where it runs, and how it is driven (eval, logging, checkpoints).
# Numerics (precision) may change like the device: a run started in bf16 on a CPU without native bf16 can go on in fp32.
RESUME_MAY_CHANGE = ("frames", "device", "precision", "resume", "run_dir", "overwrite")


def _saved_config(rest: list[Any]) -> Path | None:
    """run_dir/config.yaml when the overrides ask to resume an existing run directory, else None."""
    values = dict(item.text.split("=", 1) for item in rest if item.kind == "set" and item.key in ("resume", "run_dir"))
    if str(values.get("resume", "")).lower() != "true" or not values.get("run_dir"):
        return None
    path = Path(values["run_dir"]) / "config.yaml"
    return path if path.is_file() else None


def load_saved(saved_path: Path) -> DictConfig:
    """A run's saved config.yaml read against the schema: ConfigError naming the file when it is not YAML,
    not a mapping, or has a value of the wrong type (an edited or damaged file), never a parser traceback."""
    import yaml

    try:
        cfg = OmegaConf.merge(OmegaConf.structured(TopSchema), OmegaConf.load(saved_path))
    except (OmegaConfBaseException, yaml.YAMLError, UnicodeDecodeError) as exc:
        key = getattr(exc, "full_key", None)  # OmegaConf puts the key on a later line of its message
        raise ConfigError(f"cannot read the saved config {saved_path}: {f'{key}: ' if key else ''}"
                          f"{str(exc).splitlines()[0]}") from None
    name = cfg.agent.get("name") if isinstance(cfg.get("agent"), DictConfig) else cfg.get("agent")
    if name not in agent_classes():
        raise ConfigError(f"cannot read the saved config {saved_path}: expected agent.name one of "
                          f"{', '.join(sorted(agent_classes()))}, got {name!r}")
    return cfg


def _compose_resume(saved_path: Path, picks: dict[str, str], rest: list[Any], dirs: list[Path]) -> DictConfig:
    """The saved config of the run being resumed, with the overrides that do not change the run; any other
    override that would change a value is refused by name (a run continues as it was made). `run=<name>`
    applies: it only sets run.* (how the run is driven), which a resume may change."""
    # overwrite is an order for the start that made the run (delete what was there), never part of the run: a saved
    # `overwrite: true` (configs written before this was fixed) replayed on resume would delete the run it resumes.
    cfg = saved_form(load_saved(saved_path))
    OmegaConf.set_struct(cfg, True)
    run_dir = saved_path.parent
    for group, choice in picks.items():
        if group == "run":
            try:
                cfg = OmegaConf.merge(cfg, {"run": _load_group("run", str(choice), dirs)})
            except OmegaConfBaseException as exc:
                raise ConfigError(f"bad run config {choice!r}: {str(exc).splitlines()[0]}") from None
            continue
        # A group file may be a named variant (strategy/svea_overlay.yaml builds `svea`): compare what it builds.
        built = _load_group(group, str(choice), dirs).get("name", choice) if group in ("agent", "strategy") else choice
        if str(built) != str(cfg[group].get("name")):
            raise ConfigError(f"cannot resume {run_dir} with {group}={choice}: the run was made with "
                              f"{group} {cfg[group].get('name')!r}; resume without it, or start a new run_dir")
    def value(key: str) -> Any:
        node = OmegaConf.select(cfg, key)
        return OmegaConf.to_container(node) if isinstance(node, (DictConfig, ListConfig)) else node

    for item in rest:
        key = item.key
        may_change = key in RESUME_MAY_CHANGE or key.startswith("run.")
        if item.kind != "set" and not may_change:
            raise ConfigError(f"cannot resume {run_dir} with {item.text}: adding or deleting keys would change the run")
        old = None if may_change else value(key)
        _apply(cfg, item)
        if not may_change and value(key) != old:
            raise ConfigError(f"cannot resume {run_dir} with {item.text}: {key} would change the run (saved: {old!r}); "
                              "resume with the run's own settings (see its config.yaml), or start a new run_dir")
    return _finish(cfg)


def _finish(cfg: DictConfig) -> DictConfig:
    if cfg.task.id is not None and cfg.task.factory is not None:
        raise ConfigError(f"task: expected one of task.id (a gymnasium id) or task.factory ('module:function'), "
                          f"got both (id={cfg.task.id!r}, factory={cfg.task.factory!r})")
    if cfg.task.name is None:  # your own env (task=gym): named after what makes it, for run dirs and reports
        if cfg.task.id is None and cfg.task.factory is None:
            raise ConfigError("task=gym: expected task.id=<gymnasium id> (e.g. InvertedPendulum-v5) or "
                              "task.factory=package.module:function, got neither")
        cfg.task.name = str(cfg.task.id or cfg.task.factory.rpartition(":")[2])
    check_start(cfg)
    if cfg.precision is not None:  # the one-word switch: precision=fp32 for the reference numerics
        if cfg.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"expected precision auto, bf16 or fp32 (or null: the agent's own), got {cfg.precision!r}")
        cfg.agent.precision = cfg.precision
    check(cfg)
    return cfg


def check_start(cfg: DictConfig) -> None:
    """resume and overwrite contradict each other: one continues the run in run_dir, the other deletes it."""
    if cfg.resume and cfg.overwrite:
        raise ConfigError(f"resume=true and overwrite=true contradict each other: resume continues the run in "
                          f"run_dir ({cfg.run_dir}), overwrite deletes it; pass only one of them")


def saved_form(cfg: DictConfig) -> DictConfig:
    """`cfg` as a run directory keeps it (config.yaml, the checkpoint): without the one-off overwrite order."""
    saved = cfg.copy()
    saved.overwrite = False
    return saved


def _type_name(expected: Any) -> str:
    if isinstance(expected, tuple):
        return " or ".join(_type_name(t) for t in expected)
    return "null" if expected is type(None) else expected.__name__


# The types a value may have, by the type of its default (the first match: a bool is also an int); an int is a fine
# float and a list a fine tuple (YAML has no tuples).
_TYPES_OF_DEFAULT: tuple[tuple[type | tuple[type, ...], tuple[type, ...]], ...] = (
    (bool, (bool,)), (int, (int,)), (float, (float, int)), (str, (str,)), ((tuple, list), (list, tuple)))


def default_types(where: str, default: Any) -> tuple[type, ...] | None:
    """The types a value of `where` may have, read from its default (an agent constructor's, a CCIL dataclass
    field's); None where the default says nothing (None, no default, another type): any value then."""
    if isinstance(default, str) and where.endswith("stddev_schedule"):
        return (str, int, float)  # DrQ-v2's schedule: a spec like linear(1.0,0.1,100000), or a constant
    return next((types for kind, types in _TYPES_OF_DEFAULT if isinstance(default, kind)), None)


def check_type(where: str, value: Any, expected: type | tuple[type, ...] | None,
               words: Callable[[tuple[type, ...]], str] = _type_name) -> None:
    """ConfigError unless `value` has one of the `expected` types (None: any value); a bool passes only where bool
    is expected (true is no int). The one value check of the training and the CCIL configs; `words` names the
    types: Python's names for `rl-aug train` (agent.lr: expected float or int), words for `rl-aug ccil`."""
    if expected is None:
        return
    types = expected if isinstance(expected, tuple) else (expected,)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise ConfigError(f"{where}: expected {words(types)}, got {type(value).__name__} {value!r}")


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT = _Absent()


def config_diff(saved: Any, now: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted key, saved value, current value) for each leaf that differs between two config containers; a key
    only one side has shows `absent` on the other. What a resume refuses to change (training and CCIL)."""
    if isinstance(saved, dict) and isinstance(now, dict):
        return [d for k in [*saved, *(k for k in now if k not in saved)]
                for d in config_diff(saved.get(k, _ABSENT), now.get(k, _ABSENT), f"{prefix}.{k}" if prefix else str(k))]
    return [] if saved == now else [(prefix, saved, now)]


def new_run_dir(parent: Path, prefix: str = "") -> Path:
    """A new folder `parent/<prefix><UTC time>`, created; `-2`, `-3`, ... appended when a run started in the same
    second took the name, so a run never writes into another's folder."""
    stamp = f"{prefix}{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"
    parent.mkdir(parents=True, exist_ok=True)
    for suffix in itertools.count(1):
        run = parent / (stamp if suffix == 1 else f"{stamp}-{suffix}")
        try:
            run.mkdir()  # exclusive: of two processes asking for one name, one gets it, the other the next
            return run
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def _kwargs(section: DictConfig, drop: Any) -> dict[str, Any]:
    """A config section as plain keyword arguments, without the keys in `drop` (not the constructor's)."""
    node = OmegaConf.to_container(section, resolve=True)
    assert isinstance(node, dict)
    return {k: v for k, v in node.items() if k not in drop}


def agent_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """Constructor keyword arguments for the agent named in cfg.agent (loop-only keys removed)."""
    return _kwargs(cfg.agent, AGENT_LOOP_KEYS)


# (key, lowest value, what is expected) of the numbers the loop counts with; seed: numpy's seeding refuses a
# negative one deep inside the first reset.
_LOWEST = (("seed", 0, "an int >= 0"), ("frames", 1, "a positive number of env frames"),
           ("task.action_repeat", 1, ">= 1"), ("task.frame_stack", 1, "an int >= 1"), ("task.size", 1, "an int >= 1"),
           ("run.eval_every_frames", 1, "a positive number of env frames"),
           ("run.checkpoint_every_frames", 1, "a positive number of env frames"),
           ("run.eval_episodes", 1, "an int >= 1"), ("run.num_threads", 0, "an int >= 0"),
           ("run.snapshot_every_frames", 0, "an int >= 0"),
           ("run.checkpoint_every_minutes", 0, ">= 0 (0: at every episode end)"))


def check(cfg: DictConfig) -> None:
    """Agent keys and types against the agent's constructor; budgets positive; agent/strategy fit."""
    classes = agent_classes()
    name = cfg.agent.get("name")
    if name not in classes:
        raise ConfigError(f"unknown agent {name!r}: expected one of {', '.join(sorted(classes))}")
    params = inspect.signature(classes[name]).parameters
    valid = sorted([k for k in params if k not in ("obs_shape", "action_dim", "device")] + list(AGENT_LOOP_KEYS))
    agent = _kwargs(cfg.agent, ())
    for key, value in agent.items():
        if key in AGENT_LOOP_KEYS:
            check_type(f"agent.{key}", value, AGENT_LOOP_KEYS[key])
            continue
        if key not in valid:
            raise ConfigError(f"unknown key agent.{key} for agent {name!r}: valid keys are {', '.join(valid)}")
        check_type(f"agent.{key}", value, default_types(f"agent.{key}", params[key].default))
    from rl_aug.agents.base import check_hyperparameters

    try:
        check_hyperparameters(agent, "agent.")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    if (cfg.agent.get("seed_steps") is None) == (cfg.agent.get("seed_frames") is None):
        raise ConfigError("agent: expected exactly one of seed_steps (agent steps) or seed_frames (env frames)")
    if cfg.agent.get("precision", "auto") not in ("auto", "bf16", "fp32"):
        raise ConfigError(f"agent.precision: expected auto, bf16 or fp32, got {cfg.agent.precision!r}")
    for key, low, expected in _LOWEST:
        if (value := OmegaConf.select(cfg, key)) < low:
            raise ConfigError(f"{key}: expected {expected}, got {value}")
    check_frames(int(cfg.frames), int(cfg.task.action_repeat))
    if cfg.task.shift is not None:
        if not isinstance(cfg.task.shift, str):
            shift = OmegaConf.to_container(cfg.task.shift) if isinstance(cfg.task.shift, ListConfig) else cfg.task.shift
            raise ConfigError(f"task.shift: expected one shift name, or several joined by '+' (e.g. "
                              f"color_hard+camera), got {shift!r}")
        from rl_aug.wrappers.shifts import parse_shift

        try:  # checked here, not when the first env is built inside the Trainer
            parse_shift(cfg.task.shift)
        except ValueError as exc:
            raise ConfigError(f"task.shift: {exc}") from None
    _check_device(str(cfg.device))
    regularizers = cfg.strategy.get("regularizers")
    if regularizers is not None and not isinstance(regularizers, ListConfig):
        raise ConfigError(f"strategy.regularizers: expected a list (e.g. strategy.regularizers=[tangent_prop]), "
                          f"got {regularizers!r}")
    make_strategy(cfg)  # built once here (cheap: no networks), so a bad option fails at compose time, by name
    supported = cfg.strategy.get("agents")
    if supported is not None and name not in supported:
        raise ConfigError(
            f"strategy {cfg.strategy.name!r} does not fit agent {name!r}: it supports {', '.join(supported)}"
        )


def check_frames(frames: int, action_repeat: int) -> None:
    """The budget is whole agent steps: a `frames` between two multiples of the action repeat is an error (it was
    silently rounded down), naming the valid values either side."""
    if frames % action_repeat:
        low, high = frames // action_repeat * action_repeat, (frames // action_repeat + 1) * action_repeat
        nearest = f"frames={low} or frames={high}" if low > 0 else f"frames={high}"
        raise ConfigError(f"frames={frames} is not a multiple of task.action_repeat={action_repeat} (each agent step "
                          f"is {action_repeat} env frames): use {nearest}")


def _check_device(device: str) -> None:
    """The device exists here: a CUDA device needs a CUDA build of torch and a visible GPU."""
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(f"device: expected cpu, cuda, cuda:N or mps, got {device!r}") from None
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            build = "a CPU-only build of torch" if torch.version.cuda is None else "no visible GPU"
            raise ConfigError(f"device={device}: CUDA is not available here ({build}); use device=cpu")
        if dev.index is not None and dev.index >= count:
            raise ConfigError(f"device={device}: only {count} CUDA device(s) here (cuda:0..cuda:{count - 1})")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ConfigError(f"device={device}: MPS is not available here; use device=cpu")


def strategy_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """Keyword arguments for rl_aug.strategies.make (the strategy file without its name / agents keys)."""
    return _kwargs(cfg.strategy, ("name", "agents"))


def make_strategy(cfg: DictConfig) -> Any:
    """The strategy of cfg.strategy (rl_aug.strategies.from_config), or a ConfigError naming the problem: what
    `check` builds to test the options and what the Trainer trains with."""
    from rl_aug import strategies

    try:
        return strategies.from_config({"name": cfg.strategy.name, **strategy_kwargs(cfg)})
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"strategy: {exc}") from None
