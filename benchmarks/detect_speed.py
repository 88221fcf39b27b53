"""Speed and memory of the detectors on a long 300 kHz recording.

    python benchmarks/detect_speed.py                    # 30-minute file, both methods
    python benchmarks/detect_speed.py --minutes 5 --methods default
    python benchmarks/detect_speed.py --compare-lengths 1 60   # peak RSS: 1-minute vs 1-hour file
    python benchmarks/detect_speed.py --repeat 3 --json out.json

The recording is synthesised block by block straight to disk (16-bit PCM, noise floor, low-frequency
movement noise, clicks and ~180 FM calls per minute), so making it needs little memory. Each
detector runs in its own subprocess; we report

* x real time on the wall clock (audio seconds per elapsed second),
* x real time per CPU-second (audio seconds per second of user + system time of all the process's
  threads): on a shared machine the wall clock depends on what else runs, CPU time much less so;
  wall-clock x real time on an otherwise idle machine is about this times the cores it can use,
* peak resident memory (``ru_maxrss``): the subprocess's own, plus, when the detector ran its chunks in
  worker processes (long files, default method), the largest worker's peak once per worker (an upper
  bound: forked workers share pages with their parent, counted again).

``--repeat N`` runs each detector N times and reports every run and the best.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import scipy.signal as sps
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"


def synthesize(path: Path, minutes: float, fs: int = 300_000, seed: int = 0, block_s: float = 10.0) -> Path:
    if path.exists() and sf.info(str(path)).frames == int(minutes * 60 * fs):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_total = int(minutes * 60 * fs)
    block = int(block_s * fs)
    b, a = sps.butter(2, 15e3, fs=fs)
    zi = np.zeros(max(len(a), len(b)) - 1)
    with sf.SoundFile(str(path), "w", fs, 1, "PCM_16") as fh:
        done = 0
        while done < n_total:
            n = min(block, n_total - done)
            x = 0.003 * rng.standard_normal(n)
            low, zi = sps.lfilter(b, a, rng.standard_normal(n), zi=zi)
            x += 0.05 * low
            for _ in range(rng.poisson(3 * n / fs)):  # ~180 calls/min
                dur = rng.uniform(0.005, 0.12)
                m = int(dur * fs)
                i = rng.integers(0, max(1, n - m))
                t = np.arange(m) / fs
                f0, f1 = rng.uniform(40e3, 100e3, 2)
                env = np.minimum(1, np.minimum(t, dur - t) / 0.002)
                x[i : i + m] += rng.uniform(0.005, 0.1) * env * sps.chirp(t, f0, dur, f1)
            for _ in range(rng.poisson(0.4 * n / fs)):  # clicks
                i = rng.integers(0, n - 100)
                x[i : i + 100] += 0.2 * rng.standard_normal(100)
            fh.write(np.clip(x, -1, 1 - 2**-15).astype(np.float32))
            done += n
    return path


_CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, time
    from usvflow.detect import detect_file
    path, method, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    def cpu():  # this process and its worker processes (counted once they have ended)
        rs = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(r.ru_utime + r.ru_stime for r in rs)
    load = os.getloadavg()[0]
    c, t = cpu(), time.perf_counter()
    det = detect_file(path, method, jobs=jobs)
    el, cpu_s = time.perf_counter() - t, cpu() - c
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest worker's peak
    workers = 0 if worker_mb == 0 else (jobs or min(2, os.cpu_count() or 1))
    # Upper bound of the memory held at once: this process's peak plus every worker at the largest peak
    # (forked workers share pages with this process, counted again here).
    rss_mb = self_mb + workers * worker_mb
    print(json.dumps(dict(method=method, seconds=el, cpu_seconds=cpu_s, audio_s=det.duration_s,
                          calls=len(det.calls), x_real_time=det.duration_s / el,
                          x_real_time_cpu=det.duration_s / cpu_s, peak_rss_mb=rss_mb,
                          peak_rss_self_mb=self_mb, peak_rss_worker_mb=worker_mb, workers=workers,
                          load_before=load, load_after=os.getloadavg()[0])))
    """
)


def run_one(path: Path, method: str, jobs: int) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(path), method, str(jobs)], capture_output=True,
                         text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _import_rss_mb() -> float:
    """Peak RSS of a process that only imports the detector (numpy, scipy, pandas): the fixed part."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    code = "import resource, usvflow.detect; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _workers(r: dict) -> str:
    if not r.get("workers"):
        return ""
    return f" ({r['peak_rss_self_mb']:.0f} + {r['workers']} workers x {r['peak_rss_worker_mb']:.0f})"


def _line(r: dict) -> str:
    return (f"{r['audio_s'] / 60:.1f} min in {r['seconds']:.1f} s wall / {r['cpu_seconds']:.1f} s CPU = "
            f"{r['x_real_time']:.0f}x real time (wall), {r['x_real_time_cpu']:.0f}x per CPU-second, "
            f"{r['seconds'] and r['cpu_seconds'] / r['seconds']:.2f} cores busy, peak RSS {r['peak_rss_mb']:.0f} MB"
            f"{_workers(r)}, "
            f"{r['calls']} calls, load {r['load_before']:.1f}->{r['load_after']:.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--methods", nargs="+", default=["default", "paper"])
    ap.add_argument("--jobs", type=int, default=0, help="detector threads (0: up to 2)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per detector (all reported, and the best)")
    ap.add_argument("--compare-lengths", nargs=2, type=float, metavar=("SHORT_MIN", "LONG_MIN"),
                    help="peak RSS of each detector on a short and a long file (e.g. 1 60)")
    ap.add_argument("--json", type=Path, help="also write every run's numbers here")
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} CPU(s); load average {os.getloadavg()[0]:.2f} at start")
    runs = []
    lengths = args.compare_lengths or [args.minutes]
    for minutes in lengths:
        path = synthesize(OUT / f"synthetic_{minutes:g}min_300k.wav", minutes)
        for m in args.methods:
            rs = [run_one(path, m, args.jobs) for _ in range(args.repeat)]
            for r in rs:
                r["minutes"] = minutes
                print(f"{m:8s} {_line(r)}")
            if len(rs) > 1:
                print(f"{m:8s} best: {max(r['x_real_time'] for r in rs):.0f}x wall, "
                      f"{max(r['x_real_time_cpu'] for r in rs):.0f}x per CPU-second, "
                      f"peak RSS {max(r['peak_rss_mb'] for r in rs):.0f} MB (largest)")
            runs += rs
    if args.compare_lengths:
        short, long_ = lengths
        print(f"(importing usvflow.detect alone: peak RSS {_import_rss_mb():.0f} MB)")
        for m in args.methods:
            rss = {mn: max(r["peak_rss_mb"] for r in runs if r["method"] == m and r["minutes"] == mn)
                   for mn in lengths}
            print(f"{m:8s} peak RSS {short:g} min: {rss[short]:.0f} MB, {long_:g} min: {rss[long_]:.0f} MB "
                  f"(ratio {rss[long_] / rss[short]:.2f})")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
