"""benchmarks/ccil_combine.py: per-seed paired tables joined across launches, and one-factor variants."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import benchmark_script

ROOT = Path(__file__).resolve().parents[1]


ccil_combine = benchmark_script("ccil_combine")


def write(path: Path, rows: list[tuple[int, str, float]], task: str = "hopper_d4rl") -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["task", "seed", "method", "mean_return"])
        writer.writeheader()
        writer.writerows({"task": task, "seed": s, "method": m, "mean_return": v} for s, m, v in rows)
    return path


def row_of(text: str, comparison: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith(f"| {comparison} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_launches_combine_and_a_variant_is_compared_seed_by_seed(tmp_path, capsys):
    a = write(tmp_path / "a.csv", [(0, "bc", 100.0), (0, "ccil", 130.0), (1, "bc", 200.0), (1, "ccil", 190.0)])
    b = write(tmp_path / "b.csv", [(2, "bc", 300.0), (2, "ccil", 360.0)])
    v = write(tmp_path / "v.csv", [(0, "bc", 100.0), (0, "ccil", 150.0), (1, "ccil", 250.0), (2, "ccil", 330.0)])
    out = tmp_path / "combined.md"
    assert ccil_combine.main([str(a), str(b), "--variant", f"lip2={v}", "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out
    # ccil - bc over 3 seeds: +30, -10, +60 -> mean +26.7, s.e. std([30, -10, 60], ddof 1) / sqrt 3 = 20.3
    assert row_of(text, "ccil - bc") == ["ccil - bc", "3", "+26.7", "20.3", "2 of 3"]
    # the variant's CCIL against BC (+50, +50, +30) and against the base CCIL (+20, +60, -30)
    assert row_of(text, "ccil[lip2] - bc") == ["ccil[lip2] - bc", "3", "+43.3", "6.7", "3 of 3"]
    assert row_of(text, "ccil[lip2] - ccil") == ["ccil[lip2] - ccil", "3", "+16.7", "26.0", "2 of 3"]
    # BC of the variant ran on seed 0 only and equals the base BC: the determinism check
    assert row_of(text, "bc[lip2] - bc") == ["bc[lip2] - bc", "1", "+0.0", "nan", "0 of 1"]
    # and where the variant ran BC too, CCIL's gain inside the variant (seed 0: 150 - 100)
    assert row_of(text, "ccil[lip2] - bc[lip2]") == ["ccil[lip2] - bc[lip2]", "1", "+50.0", "nan", "1 of 1"]
    assert row_of(text, "ccil[lip2]") == ["ccil[lip2]", "3", "243.3 +- 90.2"]


def test_conflicting_runs_and_bad_variants_are_refused(tmp_path):
    a = write(tmp_path / "a.csv", [(0, "bc", 100.0)])
    clash = write(tmp_path / "clash.csv", [(0, "bc", 101.0)])
    with pytest.raises(SystemExit, match="seed 0 bc: 100.0 in one file, 101.0 in another"):
        ccil_combine.main([str(a), str(clash)])
    walker = write(tmp_path / "w.csv", [(0, "ccil", 1.0)], task="walker2d_d4rl")
    with pytest.raises(SystemExit, match="variant w: expected runs of hopper_d4rl, got walker2d_d4rl"):
        ccil_combine.main([str(a), "--variant", f"w={walker}"])
    with pytest.raises(SystemExit):
        ccil_combine.main([str(a), "--variant", str(walker)])  # no LABEL=
