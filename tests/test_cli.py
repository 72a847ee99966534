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
    try:
        main(["augment", "apply", "none", "--image", str(tmp_path / "in.png"), "--out", str(out)])
    except SystemExit as exc:
        assert "exists" in str(exc.code)
    else:
        raise AssertionError("an existing output must not be overwritten")
