"""The package's shape: one import root, data found through importlib.resources, a user's config folder that
wins, the augmentation core importable with torch and numpy alone, and missing extras named by pip command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rl_aug.agents.config import CONFIG_DIR, ConfigError, available, compose

OPTIONAL = ["gymnasium", "omegaconf", "dm_control", "mujoco", "shimmy", "matplotlib", "stable_baselines3",
            "imageio", "tensorboard", "tqdm"]


def run_without(modules: list[str], code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter where importing any of `modules` fails as if not installed."""
    block = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run([sys.executable, "-c", block + code], capture_output=True, text=True, timeout=120, cwd=cwd,
                          check=False)


def test_augmentation_core_needs_only_torch_and_numpy(tmp_path):
    code = ("import torch\n"
            "from rl_aug import augment, strategies\n"
            "x = torch.zeros(2, 9, 16, 16, dtype=torch.uint8)\n"
            "print(augment.parse('shift(pad=2)+conv')(x).shape, strategies.make('svea').name)\n")
    result = run_without(OPTIONAL, code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "torch.Size([2, 9, 16, 16]) svea"


@pytest.mark.parametrize("module,code,extra", [
    ("gymnasium", "from rl_aug import envs", "envs"),
    ("gymnasium", "import rl_aug.wrappers", "envs"),
    ("omegaconf", "import rl_aug.agents.config", "train"),
    ("stable_baselines3", "import rl_aug.sb3", "sb3"),
])
def test_a_missing_extra_names_the_pip_command(tmp_path, module, code, extra):
    result = run_without([module], code, tmp_path)
    assert result.returncode != 0
    assert f'pip install "rl-aug[{extra}]"' in result.stderr and "MissingExtra" in result.stderr


def test_the_cli_reports_a_missing_extra_without_a_traceback(tmp_path):
    result = run_without(["omegaconf"], "from rl_aug.cli import main; raise SystemExit(main(['train']))", tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert 'pip install "rl-aug[train]"' in result.stderr


def test_no_top_level_agents_or_envs_modules(tmp_path):
    code = "import importlib.util as u; print(u.find_spec('agents'), u.find_spec('envs'), u.find_spec('configs'))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=60,
                            check=False)
    assert result.stdout.strip() == "None None None", result.stderr


def test_shipped_data_is_found_through_the_package():
    import rl_aug.configs
    from rl_aug.envs.ccil.tasks import DEMO_DIR, EXPERT_DIR

    assert CONFIG_DIR == Path(rl_aug.configs.__file__).parent and (CONFIG_DIR / "train.yaml").is_file()
    assert (DEMO_DIR / "pendulum.npz").is_file() and (EXPERT_DIR / "Reacher-v5.zip").is_file()


def test_a_user_config_folder_wins_file_by_file(tmp_path, monkeypatch):
    mine = tmp_path / "mine"
    (mine / "task").mkdir(parents=True)
    (mine / "task" / "my-cartpole.yaml").write_text("name: cartpole-balance\naction_repeat: 4\n")
    (mine / "task" / "cartpole-swingup.yaml").write_text("name: cartpole-swingup\naction_repeat: 2\n")
    cfg = compose(["task=my-cartpole"], config_dir=mine)
    assert cfg.task.name == "cartpole-balance" and cfg.task.action_repeat == 4 and cfg.task.size == 84
    assert compose(["task=cartpole-swingup"], config_dir=mine).task.action_repeat == 2  # mine wins
    assert compose(["task=cartpole-swingup"]).task.action_repeat == 8  # the shipped one otherwise
    monkeypatch.setenv("RL_AUG_CONFIG_PATH", str(mine))
    assert "my-cartpole" in available("task") and compose(["task=my-cartpole"]).task.action_repeat == 4
    with pytest.raises(ConfigError, match="not a directory"):
        compose([], config_dir=tmp_path / "missing")



def test_the_wheel_builds_without_setuptools_warnings_and_ships_every_config(tmp_path):
    """Building the wheel prints no setuptools warning (a data folder missing from `packages` gives one per folder)
    and the wheel holds every configs/**/*.yaml under rl_aug/configs/. Built from a copy of the sources, so no
    stale build/ folder of the checkout can hide or add a file."""
    setuptools = pytest.importorskip("setuptools", reason="the [dev] extra installs setuptools>=77")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"expected setuptools>=77 (pyproject's build-system; the [dev] extra), got {setuptools.__version__}")
    import shutil
    import zipfile

    root = Path(__file__).resolve().parents[1]
    src = tmp_path / "src"
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "build", "dist")
    for name in ("rl_aug", "agents", "envs", "configs"):
        shutil.copytree(root / name, src / name, ignore=skip)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, src / name)
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation",
                             "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300,
                            check=False)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    warnings = sorted({line.strip() for line in log.splitlines() if "Warning:" in line})
    assert warnings == [], "\n".join(warnings)
    (wheel,) = (tmp_path / "dist").glob("rl_aug-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    configs = sorted(f"rl_aug/configs/{p.relative_to(root / 'configs').as_posix()}"
                     for p in (root / "configs").rglob("*.yaml"))
    assert len(configs) > 40 and [c for c in configs if c not in shipped] == []
