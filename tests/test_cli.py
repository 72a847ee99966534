import re
import subprocess
import sys
from pathlib import Path

import pytest

from rl_aug.cli import SUBCOMMANDS, main


def test_help_lists_every_subcommand():
    out = subprocess.run(
        [sys.executable, "-m", "rl_aug.cli", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for name in SUBCOMMANDS:
        assert name in out


def test_unknown_subcommand_is_rejected(capsys):
    try:
        main(["no-such-command"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("an unknown subcommand must exit with status 2")
    assert "invalid choice" in capsys.readouterr().err


def test_augment_list_and_apply(tmp_path, capsys):
    import imageio.v3 as iio
    import numpy as np

    assert main(["augment", "list"]) == 0
    listing = capsys.readouterr().out
    assert "shift(pad=4)" in listing and "overlay(alpha=0.5" in listing
    image = np.zeros((20, 20, 3), np.uint8)
    image[5:15, 5:15] = 200
    iio.imwrite(tmp_path / "in.png", image)
    out = tmp_path / "out.png"
    assert main(["augment", "apply", "grayscale", "--image", str(tmp_path / "in.png"), "--out", str(out),
                 "--copies", "3"]) == 0
    result = iio.imread(out)
    assert result.shape == (20, 60, 3)
    assert np.all(result[..., 0] == result[..., 1])  # grayscale: equal channels
    capsys.readouterr()
    before = out.read_bytes()
    assert main(["augment", "apply", "none", "--image", str(tmp_path / "in.png"), "--out", str(out)]) == 2
    assert "--out: expected a new file" in capsys.readouterr().err
    assert out.read_bytes() == before  # an existing output is never overwritten


def test_a_headless_gl_backend_is_chosen_when_none_is_set():
    from rl_aug.gl import choose_backend

    def libraries(*present):
        return lambda name: f"lib{name}.so" if name in present else None

    env: dict[str, str] = {}
    assert choose_backend(env, libraries("EGL", "OSMesa")) == "egl"
    assert env == {"MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "egl"}
    env = {}
    assert choose_backend(env, libraries("OSMesa")) == "osmesa" and env["PYOPENGL_PLATFORM"] == "osmesa"
    env = {"MUJOCO_GL": "glfw"}
    assert choose_backend(env, libraries("EGL")) == "glfw" and env == {"MUJOCO_GL": "glfw"}  # the user's wins
    env = {"DISPLAY": ":0"}
    assert choose_backend(env, libraries("EGL")) is None and "MUJOCO_GL" not in env  # a display: MuJoCo's default
    env = {}
    assert choose_backend(env, libraries()) is None and env == {}


def test_version_prints_the_package_version_and_exits_0(capsys):
    from rl_aug import __version__

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and capsys.readouterr().out == f"rl-aug {__version__}\n"
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^version = "(.+)"$', pyproject, re.MULTILINE).group(1) == __version__


def test_evaluate_and_shifts_help_show_every_options_default():
    from rl_aug.cli import evaluate, shifts

    for parser, defaults in [(evaluate._parser(), ["(default: 10)", "(default: 2000)", "(default: 0)",
                                                   "(default: the last checkpoint)"]),
                             (shifts._parser(), ["(default: shifts.png)", "(default: 128)", "(default: default)",
                                                 "(default: False)"])]:
        text = " ".join(parser.format_help().split())
        options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
        assert text.count("(default") == len(options), text
        assert [d for d in defaults if d not in text] == []


def test_the_mujoco_gl_notice_is_not_printed_for_help(monkeypatch, capsys):
    import os

    import rl_aug.gl
    from rl_aug.cli import _choose_gl

    def choose(environ=None, find_library=None):  # a headless machine with EGL, whatever this one is
        os.environ["MUJOCO_GL"] = "egl"
        return "egl"

    monkeypatch.delenv("MUJOCO_GL", raising=False)
    monkeypatch.delenv("RL_AUG_GL_CHOSEN", raising=False)
    monkeypatch.setattr(rl_aug.gl, "choose_backend", choose)
    _choose_gl("evaluate", ["--help"])
    _choose_gl("train", ["agent=sac", "--cfg", "job"])
    assert capsys.readouterr().err == ""
    monkeypatch.delenv("MUJOCO_GL")
    _choose_gl("evaluate", ["runs/x"])  # a real run still says what was chosen
    assert "using MUJOCO_GL=egl" in capsys.readouterr().err


def test_train_cfg_job_prints_the_composed_config_and_starts_nothing(tmp_path, monkeypatch, capsys):
    from omegaconf import OmegaConf
    from rl_aug.agents.config import compose

    monkeypatch.chdir(tmp_path)  # a run would create runs/ here
    overrides = ["agent=drqv2", "task=walker-walk", "frames=1000", f"run_dir={tmp_path / 'r'}"]
    assert main(["train", *overrides, "--cfg", "job"]) == 0
    printed = OmegaConf.create(capsys.readouterr().out)
    assert printed == compose(overrides) and printed.agent.name == "drqv2" and printed.frames == 1000
    assert main(["train", "-m", "seed=1,2", f"run_dir={tmp_path / 'm'}", "--cfg=job"]) == 0
    out = capsys.readouterr().out
    assert out.count("# run ") == 2 and "\nseed: 2\n" in out
    assert list(tmp_path.iterdir()) == []  # no run directory, no runs/ folder
    for bad, phrase in [(["--cfg", "all"], "--cfg: expected one of job"), (["--cfg"], "--cfg needs a value")]:
        assert main(["train", *bad]) == 2
        assert phrase in capsys.readouterr().err
