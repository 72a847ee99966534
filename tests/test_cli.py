import subprocess
import sys

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
