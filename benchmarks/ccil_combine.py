"""Combine the per-seed tables of paired CCIL runs (benchmarks/ccil.py --paired, one CSV per launch) into one
table over every seed: per method the mean +- std over seeds, and the paired differences with their s.e.

    python benchmarks/ccil_combine.py benchmarks/results/ccil_d4rl_hopper.csv \
        benchmarks/results/ccil_d4rl_hopper_seeds4-9.csv benchmarks/results/ccil_d4rl_hopper_seeds6-9.csv

A seed that appears in more than one file must agree (the same seed is the same run); a seed with a method missing
is left out of the comparisons that need it. Prints markdown; --out writes it to a file too.

One-factor-at-a-time variants: `--variant LABEL=CSV [CSV ...]` adds the runs of the same command with one override
changed (e.g. `--set dynamics.lipschitz=spectral`); their methods are shown as `method[LABEL]` and compared, seed by
seed, with BC and with the same method of the base runs (`ccil[LABEL] - ccil` is the factor's effect on CCIL). A
variant may run only the methods the factor changes (`--set methods=[ccil]`); when it also ran BC on a factor BC
does not see, `bc[LABEL] - bc` is 0 exactly if the runs are deterministic. When a variant ran BC on a factor BC does
see (`--set env_id=Walker2d-v4`), `ccil[LABEL] - bc[LABEL]` is CCIL's gain inside the variant.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

COMPARISONS = (("noisebc", "bc"), ("ccil", "bc"), ("bc_matched", "bc"), ("ccil", "bc_matched"))


def load(paths: list[Path], suffix: str = "") -> tuple[str, dict[int, dict[str, float]]]:
    """task, {seed: {method + suffix: mean return}} over the files."""
    tasks: set[str] = set()
    table: dict[int, dict[str, float]] = {}
    for path in paths:
        with open(path) as fh:
            for r in csv.DictReader(fh):
                tasks.add(r["task"])
                seed, method, value = int(r["seed"]), r["method"] + suffix, float(r["mean_return"])
                old = table.setdefault(seed, {}).get(method)
                if old is not None and not np.isclose(old, value):
                    raise SystemExit(f"seed {seed} {method}: {old} in one file, {value} in another (expected one run)")
                table[seed][method] = value
    if len(tasks) != 1:
        raise SystemExit(f"expected the tables of one task, got {sorted(tasks)}")
    return tasks.pop(), table


def merge_variant(table: dict[int, dict[str, float]], label: str, paths: list[Path], task: str) -> None:
    """Add the `method[label]` columns of one variant's files to `table` (same task required)."""
    variant_task, variant = load(paths, f"[{label}]")
    if variant_task != task:
        raise SystemExit(f"variant {label}: expected runs of {task}, got {variant_task}")
    for seed, row in variant.items():
        table.setdefault(seed, {}).update(row)


def comparisons(methods: list[str]) -> list[tuple[str, str]]:
    """The base comparisons, then for every variant method m[v]: m[v] - bc, m[v] - m and, where the variant also ran
    BC (a factor BC sees, e.g. `env_id`), m[v] - bc[v]: the method's gain over BC inside the variant."""
    out = [(a, b) for a, b in COMPARISONS if a in methods and b in methods]
    for m in methods:
        if "[" in m:
            base, label = m.split("[", 1)
            within = f"bc[{label}" if base != "bc" else None
            out += [(m, b) for b in dict.fromkeys(("bc", base, within)) if b in methods]
    return out


def markdown(task: str, table: dict[int, dict[str, float]], sources: list[Path]) -> str:
    seeds = sorted(table)
    present = {m for s in seeds for m in table[s]}
    base = [m for m in ("bc", "noisebc", "ccil", "bc_matched") if m in present]
    methods = base + sorted(m for m in present if "[" in m)
    lines = [f"# CCIL on {task}: {len(seeds)} seeds combined ({', '.join(str(s) for s in seeds)})", "",
             "Sources: " + ", ".join(f"`{p.name}`" for p in sources), "",
             "| method | seeds | return (mean +- std over seeds) |", "|---|---|---|"]
    for m in methods:
        v = np.array([table[s][m] for s in seeds if m in table[s]])
        lines.append(f"| {m} | {len(v)} | {v.mean():.1f} +- {v.std(ddof=1) if len(v) > 1 else 0:.1f} |")
    lines += ["", "Paired differences (same seed; s.e. = std(ddof 1) / sqrt(n)):", "",
              "| comparison | seeds | mean | s.e. | seeds above 0 |", "|---|---|---|---|---|"]
    for a, b in comparisons(methods):
        d = np.array([table[s][a] - table[s][b] for s in seeds if a in table[s] and b in table[s]])
        if len(d) == 0:
            continue
        se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
        lines.append(f"| {a} - {b} | {len(d)} | {d.mean():+.1f} | {se:.1f} | {(d > 0).sum()} of {len(d)} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csvs", nargs="+", type=Path)
    p.add_argument("--variant", nargs="+", action="append", default=[], metavar="LABEL=CSV",
                   help="a one-factor variant: LABEL=CSV, then more CSVs of the same variant")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    task, table = load(args.csvs)
    sources = list(args.csvs)
    for spec in args.variant:
        label, sep, first = spec[0].partition("=")
        if not sep or not label or not first or "[" in label or "]" in label:
            p.error(f"--variant expects LABEL=CSV [CSV ...] with a label free of brackets, got {spec[0]!r}")
        paths = [Path(first), *map(Path, spec[1:])]
        merge_variant(table, label, paths, task)
        sources += paths
    text = markdown(task, table, sources)
    print(text, end="")
    if args.out is not None:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
