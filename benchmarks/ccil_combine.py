"""Combine the per-seed tables of paired CCIL runs (benchmarks/ccil.py --paired, one CSV per launch) into one
table over every seed: per method the mean +- std over seeds, and the paired differences with their s.e.

    python benchmarks/ccil_combine.py benchmarks/results/ccil_d4rl_hopper.csv \
        benchmarks/results/ccil_d4rl_hopper_seeds4-9.csv benchmarks/results/ccil_d4rl_hopper_seeds6-9.csv

A seed that appears in more than one file must agree (the same seed is the same run); a seed with a method missing
is left out of the comparisons that need it. Prints markdown; --out writes it to a file too.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

COMPARISONS = (("noisebc", "bc"), ("ccil", "bc"), ("bc_matched", "bc"), ("ccil", "bc_matched"))


def load(paths: list[Path]) -> tuple[str, dict[int, dict[str, float]]]:
    """task, {seed: {method: mean return}} over the files."""
    tasks: set[str] = set()
    table: dict[int, dict[str, float]] = {}
    for path in paths:
        with open(path) as fh:
            for r in csv.DictReader(fh):
                tasks.add(r["task"])
                seed, method, value = int(r["seed"]), r["method"], float(r["mean_return"])
                old = table.setdefault(seed, {}).get(method)
                if old is not None and not np.isclose(old, value):
                    raise SystemExit(f"seed {seed} {method}: {old} in one file, {value} in another (expected one run)")
                table[seed][method] = value
    if len(tasks) != 1:
        raise SystemExit(f"expected the tables of one task, got {sorted(tasks)}")
    return tasks.pop(), table


def markdown(task: str, table: dict[int, dict[str, float]], sources: list[Path]) -> str:
    seeds = sorted(table)
    methods = [m for m in ("bc", "noisebc", "ccil", "bc_matched") if any(m in table[s] for s in seeds)]
    lines = [f"# CCIL on {task}: {len(seeds)} seeds combined ({', '.join(str(s) for s in seeds)})", "",
             "Sources: " + ", ".join(f"`{p.name}`" for p in sources), "",
             "| method | seeds | return (mean +- std over seeds) |", "|---|---|---|"]
    for m in methods:
        v = np.array([table[s][m] for s in seeds if m in table[s]])
        lines.append(f"| {m} | {len(v)} | {v.mean():.1f} +- {v.std(ddof=1) if len(v) > 1 else 0:.1f} |")
    lines += ["", "Paired differences (same seed; s.e. = std(ddof 1) / sqrt(n)):", "",
              "| comparison | seeds | mean | s.e. | seeds above 0 |", "|---|---|---|---|---|"]
    for a, b in COMPARISONS:
        d = np.array([table[s][a] - table[s][b] for s in seeds if a in table[s] and b in table[s]])
        if len(d) == 0:
            continue
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        lines.append(f"| {a} - {b} | {len(d)} | {d.mean():+.1f} | {se:.1f} | {(d > 0).sum()} of {len(d)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csvs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    text = markdown(*load(args.csvs), args.csvs)
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
