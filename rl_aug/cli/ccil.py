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
This module is a shell over the library: agents/ccil_config.py (the config), agents/ccil_pipeline.py (the run).
"""

from __future__ import annotations

import json

from rl_aug.cli import command, refuse


def help_text() -> str:
    """This docstring, the tasks, the methods and every config key with its default."""
    from omegaconf import OmegaConf

    from rl_aug.agents.ccil_config import METHODS, defaults
    from rl_aug.envs.ccil.tasks import TASKS

    lines = [__doc__.strip(), "", "Tasks (task=...):"]
    for name, t in TASKS.items():
        source = f"demos from data_dir / $RL_AUG_CCIL_DATA ({t.data_file})" if t.data_file else "shipped demos"
        lines.append(f"  {name:26s} {t.env_id or 'our pendulum'}, eval noise {t.eval_noise}, {source}")
    lines += ["", f"Methods (methods=[...]): {', '.join(METHODS)}", "",
              "Config keys (defaults; task files override some):"]
    for key, value in OmegaConf.to_container(defaults()).items():  # top-level keys, and sections of keys
        leaves = {f"{key}.{sub}": v for sub, v in value.items()} if isinstance(value, dict) else {key: value}
        lines += [f"  {name}={json.dumps(v).replace(' ', '')}" for name, v in leaves.items()]
    return "\n".join(lines)


@command("ccil")
def main(argv: list[str]) -> int:
    """Run the pipeline for a command line; 2 (one line on stderr) for a bad input, 0 after printing the report."""
    if argv and argv[0] in ("-h", "--help"):
        print(help_text())
        return 0
    from rl_aug.agents.ccil_config import from_command_line
    from rl_aug.agents.ccil_pipeline import run

    try:
        cfg, resume = from_command_line(argv)
        out, _summary = run(cfg, resume=resume)
    except (FileNotFoundError, KeyError) as exc:  # a missing demo file, an unknown task: not UserInputErrors
        return refuse("ccil", exc)
    print((out / "results.md").read_text())
    print(f"[ccil {cfg.task}] run directory: {out}", flush=True)
    return 0
