"""Do two finished runs of one commit and config give the same outputs? (issue 16: deterministic outputs)

    python benchmarks/compare_runs.py RUN_A RUN_B

RUN_A and RUN_B are two workflow directories, each after a complete run (e.g. two fresh clones, each run with
`snakemake --cores 2`). Compares byte for byte `figures/summary.md` and every `figures/*.csv`, then every table
under `results/` (csv, json, parquet, tsv, npz, npy). A JSON table that differs is compared again without the
times jobs record for `benchmarks/` (`seconds`, `cpu_seconds`, `calls_per_second`), and a segmentation history
without its last column (seconds): what differs only there is reported as timing. Prints the counts and every
file that differs beyond timing; exits 1 if summary.md, a figures table, or a results table differs beyond
timing.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import sys
from pathlib import Path

TIMING_KEYS = {"seconds", "cpu_seconds", "calls_per_second"}
TABLES = ("*.csv", "*.json", "*.parquet", "*.tsv", "*.npz", "*.npy")


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def timing_only(a: Path, b: Path) -> bool:
    """Whether two differing files differ only in the times their jobs recorded."""
    if a.suffix == ".json":
        return _without_timing(json.loads(a.read_text())) == _without_timing(json.loads(b.read_text()))
    if a.name.endswith(".history.csv"):
        cut = [[line.rsplit(",", 1)[0] for line in p.read_text().splitlines()] for p in (a, b)]
        return cut[0] == cut[1]
    return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_a", type=Path)
    ap.add_argument("run_b", type=Path)
    args = ap.parse_args(argv)
    bad = 0
    figures = [args.run_a / "figures" / "summary.md"] + sorted((args.run_a / "figures").glob("*.csv"))
    for f in figures:
        other = args.run_b / f.relative_to(args.run_a)
        same = other.exists() and filecmp.cmp(f, other, shallow=False)
        print(f"{'same' if same else 'DIFFERS'}  {f.relative_to(args.run_a)}")
        bad += not same
    counts = {"same": 0, "timing only": 0, "differs": 0, "missing": 0}
    for pattern in TABLES:
        for f in sorted((args.run_a / "results").rglob(pattern)):
            rel = f.relative_to(args.run_a)
            other = args.run_b / rel
            if rel.name == "provenance.json":  # names the commit and its state: compared by hand
                continue
            if not other.exists():
                counts["missing"] += 1
                print(f"MISSING in {args.run_b}: {rel}")
            elif filecmp.cmp(f, other, shallow=False):
                counts["same"] += 1
            elif timing_only(f, other):
                counts["timing only"] += 1
            else:
                counts["differs"] += 1
                print(f"DIFFERS  {rel}")
    print("results/ tables: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    bad += counts["differs"] + counts["missing"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
