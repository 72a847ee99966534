"""The runs of a sweep: every combination of the swept overrides, each a training run with its own directory.

    jobs = plan(["seed=1-3", "strategy=drq,svea", "task=cartpole-swingup"], base=Path("runs/sweeps/s1"))
    [job.name for job in jobs]  # ['0-seed=1,strategy=drq', '1-seed=1,strategy=svea', ...]

Shared by `rl-aug train -m` (Hydra's basic multirun, one run after the other here) and `rl-aug sweep` (trials on
Ray Tune, agents/ray_tune.py). Every config is composed and checked before the first run starts, so a bad value
stops nothing half-way. A run directory's name is `<n>-<swept key=value,...>` (Hydra's job number and override
dirname), or a `subdir` template such as `{task}/{strategy}/seed{seed}` filled with the override values as typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf
from rl_aug.agents import run_lock
from rl_aug.agents.config import GROUPS, ConfigError, compose
from rl_aug.agents.overrides import expand, parse, swept_keys
from rl_aug.agents.train import finished

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


@dataclass(frozen=True)
class Job:
    """One run of a sweep: its number, its directory name under the sweep, its overrides (with run_dir) and the
    composed config."""

    num: int
    name: str
    overrides: list[str]
    cfg: DictConfig

    @property
    def run_dir(self) -> Path:
        return Path(self.cfg.run_dir)

    def finished(self) -> bool:
        """The run trained its whole budget (its result.json says so): `frames` rounded down to whole agent steps."""
        repeat = int(self.cfg.task.action_repeat)
        return finished(self.run_dir, int(self.cfg.frames) // repeat * repeat)

    def started(self) -> bool:
        return bool(run_lock.contents(self.run_dir))


def _dirname(num: int, overrides: list[str], swept: list[str], subdir: str | None, cfg: DictConfig) -> str:
    values = {key: value for key, _, value in (o.lstrip("+~").partition("=") for o in overrides)}
    if subdir is not None:
        def fill(m: re.Match[str]) -> str:
            if m[1] == "num":
                return str(num)
            if m[1] in values:  # as typed: strategy=svea_overlay names the file, not cfg.strategy.name
                return values[m[1]]
            node = OmegaConf.select(cfg, m[1])
            if m[1] in GROUPS:
                node = node.name
            if node is None or isinstance(node, DictConfig):
                raise ConfigError(f"--subdir {subdir!r}: {{{m[1]}}} is not a value of this sweep's config; expected "
                                  "{num}, a group ({" + "}, {".join(GROUPS) + "}) or a key such as {seed}, {agent.lr}")
            return str(node)
        name = _FIELD.sub(fill, subdir)
        parts = [re.sub(r"[^A-Za-z0-9_.,=+-]", "_", p) for p in name.split("/") if p not in ("", ".", "..")]
        if not parts:
            raise ConfigError(f"--subdir {subdir!r} gives an empty directory name")
        return "/".join(parts)
    picked = ",".join(f"{k}={values[k]}" for k in values if k in swept)
    return f"{num}-{re.sub(r'[^A-Za-z0-9_.,=+-]', '_', picked)}" if picked else str(num)


def plan(argv: list[str], base: Path, config_dirs: list[str] | None = None, subdir: str | None = None) -> list[Job]:
    """Every combination of the sweeps in `argv`, composed and checked, each with run_dir under `base`.
    Raises ConfigError on the first bad override, naming it; or when two runs would share a directory."""
    runs = expand(argv)
    swept = swept_keys(argv)
    jobs: list[Job] = []
    for num, overrides in enumerate(runs):
        job = [o for o in overrides if not o.startswith("run_dir=")]
        cfg = compose(job, config_dirs)
        name = _dirname(num, job, swept, subdir, cfg)
        job.append(f"run_dir={base / name}")
        # A run directory that holds a run is checked now against its saved config, as its resume will be: a sweep
        # never finds out half-way that a folder holds another run.
        if (base / name / "config.yaml").is_file():
            cfg = compose([*job, "resume=true"], config_dirs)
        else:
            cfg.run_dir = str(base / name)
        jobs.append(Job(num, name, job, cfg))
    names = [j.name for j in jobs]
    clash = next((n for n in names if names.count(n) > 1), None)
    if clash is not None:
        raise ConfigError(f"--subdir {subdir!r} gives {clash!r} to {names.count(clash)} runs: name every swept key "
                          f"in it ({', '.join(swept)})")
    return jobs


def base_dir(argv: list[str]) -> str | None:
    """The `run_dir=DIR` of a sweep's command line (the folder its runs go under), if one was given."""
    return next((it.text.split("=", 1)[1] for it in parse(argv) if it.key == "run_dir" and not it.sweep), None)
