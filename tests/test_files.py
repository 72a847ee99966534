"""rl_aug.files.atomic_path: a file is written whole or not at all."""

from __future__ import annotations

import pytest

from rl_aug.files import atomic_path, temporary_name


def test_the_content_appears_only_when_the_block_ends(tmp_path):
    target = tmp_path / "eval.csv"
    target.write_text("old\n")
    with atomic_path(target) as tmp:
        tmp.write_text("new\n")
        assert target.read_text() == "old\n"  # readers see the old file while the new one is written
        assert tmp.parent == tmp_path and tmp.name == ".eval.tmp.csv"  # hidden, beside it, its suffix kept
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval.csv"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "result.json"
    target.write_text('{"frame": 10}\n')
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(target) as tmp:
        tmp.write_text('{"fra')
        raise RuntimeError("disk full")
    assert target.read_text() == '{"frame": 10}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.json"]


def test_writers_that_pick_the_format_by_the_suffix_get_it():
    from pathlib import Path

    assert temporary_name(Path("videos/eval_000001000.mp4")).name == ".eval_000001000.tmp.mp4"
    assert temporary_name(Path("seed0.npz")).suffix == ".npz"  # np.savez would append .npz otherwise


def test_write_text_replaces_the_file_whole(tmp_path):
    from rl_aug.files import write_text

    target = tmp_path / "config.yaml"
    assert write_text(target, "seed: 1\n") == target
    assert write_text(target, "seed: 2\n").read_text() == "seed: 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
