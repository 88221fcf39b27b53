"""How long `usvflow simulate` takes to write a preset's cohort (default: the paper-scale one).

    python benchmarks/simulate_speed.py [--preset paper] [--jobs 2] [--keep DIR]

Prints wall time, audio minutes, calls and the speed in × real time. Goal (issue 2): the paper
preset (99 min of 300 kHz audio, ~15k calls) in under 2 minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from usvflow.config import load_config  # noqa: E402
from usvflow.simulate.recording import simulate_cohort  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--keep", default=None, help="write here and keep the files (default: a temporary folder)")
    args = ap.parse_args()
    config = load_config(ROOT / "config.yaml", ROOT / "schemas/config.schema.yaml", {"preset": args.preset})
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="usvflow-sim-"))
    try:
        start = time.perf_counter()
        sheet = simulate_cohort(config["simulation"], args.preset, out, jobs=args.jobs)
        wall = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (out / "wav").glob("*.wav"))
        fs = config["simulation"]["sample_rate_hz"]
        minutes = (size - 44 * len(sheet)) / 2 / fs / 60  # 16-bit mono
        print(f"machine: {os.cpu_count()} CPUs; preset {args.preset}; jobs {args.jobs}")
        print(f"recordings: {len(sheet)}; audio: {minutes:.1f} min at {fs} Hz ({size / 1e9:.2f} GB); "
              f"calls: {int(sheet.n_calls_true.sum())}")
        print(f"wall time: {wall:.1f} s  ({minutes * 60 / wall:.0f}x real time)")
    finally:
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
