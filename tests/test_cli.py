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
