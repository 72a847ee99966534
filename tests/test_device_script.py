"""The GPU device run cannot rot while no GPU is at hand: its dry run (CPU, tiny budgets, the same stages and
files) runs here, and the helpers that prepare and bring home its files are checked on small inputs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import benchmark_script

ROOT = Path(__file__).resolve().parents[1]


device_prepare = benchmark_script("device_prepare")
device_results = benchmark_script("device_results")


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("device_out")
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable, "DEVICE_BUDGET_S": "1500"}
    proc = subprocess.run(["bash", "benchmarks/device.sh", "--dry-run"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=1500, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def test_dry_run_writes_every_file_with_measured_values(dry_run: Path):
    assert sorted(p.name for p in dry_run.iterdir()) == sorted(
        ["log.txt", "facts.json", "augment.json", "update_b128.json", "update_b512.json", "fps.json",
         "learning.csv", "learning.json"])
    log = (dry_run / "log.txt").read_text()
    for stage in ("facts", "tests", "augment", "update_b128", "update_b512", "fps", "learning"):
        assert f"== {stage}: exit 0" in log, f"stage {stage} did not finish cleanly:\n{log[-3000:]}"
    assert re.search(r"\d+ passed", log) and not re.search(r"\d+ failed", log)
    facts = json.loads((dry_run / "facts.json").read_text())
    assert facts["cartpole_env_step_ms"] > 0 and facts["mujoco"].startswith("3.")
    augment = json.loads((dry_run / "augment.json").read_text())
    assert augment["batches"]["8"]["ms"]["shift: rl_aug (uint8)"] > 0
    for name in ("update_b128.json", "update_b512.json"):
        rows = json.loads((dry_run / name).read_text())["rows"]
        assert rows and all(r["ms_per_update"] > 0 for r in rows)
    fps = json.loads((dry_run / "fps.json").read_text())
    assert fps["fps"] > 0 and fps["episodes"] >= 1
    with open(dry_run / "learning.csv") as fh:
        rows = list(csv.DictReader(fh))
    learning = json.loads((dry_run / "learning.json").read_text())
    runs = {(r["method"], r["seed"]) for r in learning["runs"]}
    assert len(runs) == learning["plan"]["runs"] == 2 and all(r["finished"] for r in learning["runs"])
    for method, seed in runs:
        frames = [int(r["frame"]) for r in rows if (r["method"], int(r["seed"])) == (method, seed)]
        assert frames == [0, 1000, 2000]
    assert {r["device"] for r in rows} == {"cpu"} and learning["plan"]["predicted_run_s"] > 0


def test_results_come_home_named_by_their_gpu(dry_run: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(device_results, "DEVICE_RESULTS", tmp_path / "device")
    dest = device_results.bring_home(dry_run, "2026-01-02")
    assert dest.name == "2026-01-02-cpu"
    assert {p.name for p in dest.iterdir()} >= {"facts.json", "learning.csv", "log.txt"}
    for path in dest.iterdir():  # no machine's absolute paths come home (the dry run's runs live in a tmp dir)
        assert not re.search(r"(?<![\w.])/(tmp|root|home)/", path.read_text()), path.name
    with pytest.raises(FileExistsError, match="home already"):
        device_results.bring_home(dry_run, "2026-01-02")
    with pytest.raises(FileNotFoundError, match="facts.json"):
        device_results.bring_home(tmp_path, "2026-01-02")


def test_slim_wheel_drops_folders_and_rewrites_record(tmp_path: Path):
    wheel = tmp_path / "pkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("pkg/__init__.py", "x = 1\n")
        zf.writestr("pkg/big/asset.bin", b"\0" * 1000)
        zf.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\n")
        zf.writestr("pkg-1.0.dist-info/RECORD", "stale\n")
    device_prepare.slim_wheel(wheel, ("pkg/big/",))
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        record = zf.read("pkg-1.0.dist-info/RECORD").decode().splitlines()
    assert "pkg/big/asset.bin" not in names and "pkg/__init__.py" in names
    assert [line.split(",")[0] for line in record] == ["pkg/__init__.py", "pkg-1.0.dist-info/METADATA",
                                                       "pkg-1.0.dist-info/RECORD"]
    assert record[0] == device_prepare._record_line("pkg/__init__.py", b"x = 1\n")
