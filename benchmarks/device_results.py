"""Bring a device run's files home: `benchmarks/results/device/<date>-<gpu>/`, named by the GPU that made them.

    python benchmarks/device_results.py FILES_AT [--date 2026-11-28]

FILES_AT is the folder the device tool copied $OUT into. The JSON and CSV files are kept as they came; the log
loses its progress-bar lines (tqdm redraws) and every repeat of a line already kept (the same deprecation
warning thousands of times), keeping the first of each and every stage line. `learning.py report`
then draws the returned learning curves beside the CPU runs, and BENCHMARKS.md cites the folder.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEVICE_RESULTS = ROOT / "benchmarks" / "results" / "device"
KEEP = ("facts.json", "augment.json", "update_b128.json", "update_b512.json", "fps.json", "learning.csv",
        "learning.json")
PROGRESS = re.compile(r"\d+/\d+ \[[\d:<, ]+.*frame/s")
# Absolute paths of the device machine (its $OUT, temporary folders, Python install) become placeholders, so no
# machine's layout lands in the repository: the package-relative part stays (e.g. <path>/dm_control/mujoco/index.py).
MACHINE_PATH = re.compile(r"(?<![\w.])/(?:tmp|root|home|opt|usr|work|var)(?:/[^\s\"',:)]*?)?(?=/(?:dm_control|mujoco|gymnasium|"
                          r"stable_baselines3|torch|pytest\w*|numpy|rl_aug|benchmarks|tests)/|[\s\"',:)]|$)")


def scrub(text: str) -> str:
    return MACHINE_PATH.sub("<path>", text)


def scrub_json(value: Any) -> Any:
    """scrub() on every string inside a JSON value (in the file's text, escapes like \\n would hide the paths)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub_json(v) for k, v in value.items()}
    return value


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def bring_home(files_at: Path, date: str) -> Path:
    facts_path = files_at / "facts.json"
    if not facts_path.is_file():
        raise FileNotFoundError(f"expected the device run's facts.json in {files_at}, found none: is this FILES_AT?")
    gpu = json.loads(facts_path.read_text()).get("gpu") or "cpu"
    dest = DEVICE_RESULTS / f"{date}-{slug(gpu)}"
    if dest.exists():
        raise FileExistsError(f"{dest} exists: results of that day and GPU are home already (remove it to redo)")
    dest.mkdir(parents=True)
    for name in KEEP:
        if (files_at / name).is_file():
            text = (files_at / name).read_text(errors="replace")
            if name.endswith(".json"):
                text = json.dumps(scrub_json(json.loads(text)), indent=2) + "\n"
            (dest / name).write_text(scrub(text))
    log = files_at / "log.txt"
    if log.is_file():
        seen: set[str] = set()
        kept = []
        for line in log.read_text(errors="replace").replace("\r", "\n").splitlines():
            if PROGRESS.search(line) or (line in seen and not line.startswith("[")):
                continue
            seen.add(line)
            kept.append(line)
        (dest / "log.txt").write_text(scrub("\n".join(kept) + "\n"))
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files_at", type=Path)
    parser.add_argument("--date", default=dt.date.today().isoformat())
    args = parser.parse_args()
    dest = bring_home(args.files_at, args.date)
    print(f"wrote {dest}: {', '.join(sorted(p.name for p in dest.iterdir()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
