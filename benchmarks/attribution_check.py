"""The done-when checks of issue 19 (attributing new recordings), run after a default run.

    python benchmarks/attribution_check.py [--bundle results/bundles/sex.pt] [--aggregation figures/aggregation.csv]
                                           [--seed 777] [--pairs 20] [--work DIR] [--keep]

1. ``usvflow simulate --preset paper --seed 777``: a cohort of new animals (29 recordings); ``usvflow classify``
   with the sex bundle on every recording: decision and posterior per recording;
2. its per-recording accuracy against the 95 % binomial interval of what figures/aggregation.csv predicts
   (leave-one-animal-out per-recording accuracy of the bundle's model for each recording's number of calls);
3. recordings decided with posterior >= 0.95: share right (goal >= 90 %);
4. ``usvflow simulate --pairs N`` (seed 777, the paper preset's 3-min recordings) and ``usvflow classify --pair`` on
   each: share of pairs whose true male share lies inside the stated 95 % interval (goal >= 90 %);
5. ``usvflow classify`` on the real 250 kHz clip data/amvoc-dev/clip1 writes the per-call table;
6. a 192 kHz recording is refused in one line (exit status 2);
7. the calls a per-recording decision needs for 90 % accuracy, from figures/aggregation.csv.

Prints every number and PASS/FAIL per check; exits 1 if a check fails.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import binom  # noqa: E402

from usvflow.classify.aggregate import predicted_accuracy  # noqa: E402
from usvflow.classify.bundle import load_bundle  # noqa: E402
from usvflow.cli import main as usvflow  # noqa: E402

USVFLOW = [sys.executable, "-m", "usvflow.cli"]


def run_cli(args: list[str]) -> tuple[int, str]:
    """``usvflow ARGS`` in this process (the command's own code path); returns (status, stdout)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = usvflow(args)
    return status, out.getvalue()


def check(name: str, ok: bool, detail: str, results: list[tuple[str, bool]]) -> None:
    results.append((name, ok))
    print(f"[{'PASS' if ok else 'FAIL'}] {name}: {detail}")


def judge(table: pd.DataFrame, label: str, results: list[tuple[str, bool]]) -> None:
    """Checks 2 and 3 on a set of classified recordings."""
    n, k = len(table), int(table["right"].sum())
    p_bar = float(table["predicted_accuracy"].mean())
    lo, hi = int(binom.ppf(0.025, n, p_bar)), int(binom.ppf(0.975, n, p_bar))
    check(f"{label}: per-recording accuracy within the 95 % binomial interval of aggregation.csv's prediction",
          lo <= k <= hi, f"{k}/{n} right ({100 * k / n:.1f} %); predicted {100 * p_bar:.1f} % -> 95 % interval "
          f"{lo}-{hi} of {n}", results)
    sure = table[table["posterior"] >= 0.95]
    name = f"{label}: recordings decided with posterior >= 0.95 are right >= 90 % of the time"
    if not len(sure):
        print(f"[N/A ] {name}: no recording reaches posterior 0.95 (highest {table['posterior'].max():.3f})")
        return
    share = float(sure["right"].mean())
    check(name, share >= 0.9, f"{int(sure['right'].sum())}/{len(sure)} right ({100 * share:.1f} %)", results)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", default=str(ROOT / "results/bundles/sex.pt"))
    ap.add_argument("--aggregation", default=str(ROOT / "figures/aggregation.csv"))
    ap.add_argument("--seed", type=int, default=777)
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--member", default=None, help="the bundle's member to use (default: the bundle's default)")
    ap.add_argument("--work", default=None, help="working folder (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    args = ap.parse_args()
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="usvflow-attribution-"))
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    results: list[tuple[str, bool]] = []
    bundle = load_bundle(args.bundle)
    member_name = args.member or bundle["default_member"]
    member = bundle["members"][member_name]
    pick = ["--member", member_name]
    agg = pd.read_csv(args.aggregation, dtype={"n_calls": str})
    curve = agg[(agg["task"] == bundle["task"]) & (agg["model"] == member["name"])]
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; bundle {args.bundle} "
          f"(task {bundle['task']}, member {member_name} = {member['name']}, "
          f"usvflow {bundle['usvflow_version']})")
    try:
        # 1-3: a new cohort
        cohort = work / "cohort"
        t0 = time.perf_counter()
        if not (cohort / "samples.tsv").exists():
            status, text = run_cli(["simulate", "--preset", args.preset, "--seed", str(args.seed), "-o", str(cohort),
                                    "--config", str(ROOT / "config.yaml")])
            print(text.strip())
        sheet = pd.read_csv(cohort / "samples.tsv", sep="\t")
        rows = []
        for r in sheet.itertuples():
            out = work / f"classified_{member_name}" / f"{r.recording}.csv"
            summ = out.with_suffix(".json")
            status, text = run_cli(["classify", r.path, "--model", args.bundle, "-o", str(out), "--summary", str(summ),
                                    "--no-progress", *pick])
            print(text.strip())
            s = json.loads(summ.read_text())
            truth = getattr(r, bundle["task"]) if bundle["task"] in sheet.columns else None
            rows.append({"recording": r.recording, "cohort": r.cohort, "truth": truth, "n_calls": s["n_calls"],
                         "decision": s["decision"], "posterior": s["posterior"],
                         "predicted_accuracy": predicted_accuracy(curve, s["n_calls"])})
        table = pd.DataFrame(rows)
        table["right"] = table["decision"] == table["truth"]
        table.to_csv(work / f"recordings_{member_name}.csv", index=False)
        print(f"\n{len(table)} recordings classified in {time.perf_counter() - t0:.0f} s (simulation included); "
              f"calls per recording {table['n_calls'].min()}-{table['n_calls'].max()} (median {table['n_calls'].median():.0f})")
        for (cohort_name, truth), g in table.groupby(["cohort", "truth"]):
            print(f"  {cohort_name} cohort, {truth}: {int(g['right'].sum())}/{len(g)} right, posterior "
                  f"{g['posterior'].min():.3f}-{g['posterior'].max():.3f}")
        judge(table, f"all {len(table)} recordings", results)
        # The simulator gives an animal the contrast of its own cohort only (sex effects in the sex cohort, strain
        # effects in the strain cohort): the other cohort's labels carry no signal for this task.
        own = bundle["training"]["cohort"]
        judge(table[table["cohort"] == own], f"the {own} cohort's {int((table['cohort'] == own).sum())} recordings",
              results)

        # 4: pairs
        pairs_dir = work / "pairs"
        if not (pairs_dir / "pairs.tsv").exists():
            status, text = run_cli(["simulate", "--preset", args.preset, "--seed", str(args.seed), "--pairs",
                                    str(args.pairs), "-o", str(pairs_dir), "--config", str(ROOT / "config.yaml")])
            print(text.strip())
        pairs = pd.read_csv(pairs_dir / "pairs.tsv", sep="\t")
        prow = []
        for r in pairs.itertuples():
            summ = work / f"pairs_{member_name}" / f"{r.recording}.json"
            status, text = run_cli(["classify", r.path, "--model", args.bundle, "--pair", "-o",
                                    str(summ.with_suffix(".csv")), "--summary", str(summ), "--no-progress", *pick])
            print(text.strip())
            est = json.loads(summ.read_text())["pair"]["share"]["M"]
            prow.append({"pair": r.recording, "true": r.male_share, **est,
                         "inside": est["low"] <= r.male_share <= est["high"]})
        ptable = pd.DataFrame(prow)
        ptable.to_csv(work / f"pairs_{member_name}.csv", index=False)
        cov = float(ptable["inside"].mean())
        check("pairs: true male share inside the stated 95 % interval for >= 90 % of pairs", cov >= 0.9,
              f"{int(ptable['inside'].sum())}/{len(ptable)} ({100 * cov:.0f} %); mean |error| "
              f"{100 * (ptable['estimate'] - ptable['true']).abs().mean():.1f} points, mean interval width "
              f"{100 * (ptable['high'] - ptable['low']).mean():.0f} points", results)

        # 5: a real 250 kHz clip
        clip = ROOT / "data/amvoc-dev/clip1/recording.wav"
        out = work / "clip1.csv"
        proc = subprocess.run(USVFLOW + ["classify", str(clip), "--model", args.bundle, "-o", str(out)],
                              capture_output=True, text=True, env=env)
        ok = proc.returncode == 0 and out.exists()
        rows_written = len(pd.read_csv(out)) if ok else 0
        check("usvflow classify on the real 250 kHz clip writes the per-call table", ok and rows_written > 0,
              f"exit {proc.returncode}, {rows_written} calls; {proc.stdout.strip()}", results)

        # 6: too low a sample rate
        from usvflow.audio.io import read_wav, write_wav

        x, sr = read_wav(clip)
        low = work / "clip1_192k.wav"
        from scipy.signal import resample_poly

        write_wav(low, resample_poly(x, 192, 250).astype(np.float32), 192_000)
        proc = subprocess.run(USVFLOW + ["classify", str(low), "--model", args.bundle, "-o", str(work / "low.csv")],
                              capture_output=True, text=True, env=env)
        err = proc.stderr.strip().splitlines()
        check("a 192 kHz recording is refused in one line", proc.returncode == 2 and len(err) == 1,
              f"exit {proc.returncode}: {err}", results)

        # 7: calls for 90 %
        for model in ("cnn", "svm", "ridge", "dnn9"):
            g = agg[(agg["task"] == bundle["task"]) & (agg["model"] == model)]
            if len(g):
                need = g["calls_for_90"].iloc[0]
                print(f"{bundle['task']}, {model}: calls for 90 % per-recording accuracy: "
                      f"{'not reached' if pd.isna(need) else int(need)}; accuracy with 1 / 10 / all calls "
                      + " / ".join(f"{100 * g.loc[g['n_calls'] == c, 'accuracy'].iloc[0]:.1f} %" for c in ("1", "10", "all")))
    finally:
        if not args.keep and not args.work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"files kept in {work}")
    failed = [name for name, ok in results if not ok]
    print(f"\n{len(results) - len(failed)}/{len(results)} checks pass" + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
