"""Where segmentation Dice is lost: Table 1's test crops broken down by what differs between them (issue 18).

    python benchmarks/segment_breakdown.py                         # the run in results/
    python benchmarks/segment_breakdown.py --results /path/to/results --csv breakdown.csv

Reads a finished run's ``segment/dataset.npz``, ``segment/test_predictions.npz`` and the simulator's truth
(``simulated/truth``), so it needs no training. Per model (the seed-averaged Dice of every trained row, and the
threshold baseline) it prints the mean Dice of the test call crops by simulation condition, faint calls, the
call's SNR, duration and bandwidth, mask area, number of calls in the crop and test animal; and per animal the
precision and recall of the pooled pixels with the frequency rows a constant tonal band takes (when the
recording has one). ``ceiling`` is the Dice of the truth mask against its own pixels at least 6 dB above the
crop's median grey level, i.e. what a model that segments only visible energy could reach.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from usvflow.segment.crops import CropGrid  # noqa: E402
from usvflow.segment.dataset import load_dataset  # noqa: E402

ROWS = ("squeakout", "squeakout_noaug", "unet", "unet_aug", "threshold")


def dice(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = a.sum((1, 2)) + b.sum((1, 2))
    return np.where(s > 0, 2 * (a & b).sum((1, 2)) / np.maximum(s, 1), 1.0) * 100


def crop_table(results: Path) -> tuple[pd.DataFrame, dict, np.ndarray]:
    """One row per test call crop: Dice of every model, the main true call's properties, the visibility ceiling."""
    data = load_dataset(results / "segment/dataset.npz")
    grid = CropGrid(**data["grid"])
    with np.load(results / "segment/test_predictions.npz", allow_pickle=True) as z:
        pred = {k[5:]: z[k] for k in z.files if k.startswith("pred_")}
        table = pd.DataFrame({k: z[f"dice_seedmean_{k}"] * 100 for k in ROWS if f"dice_seedmean_{k}" in z.files})
        rows = z["rows"]
    meta = data["meta"].iloc[rows].reset_index(drop=True)
    table = pd.concat([meta[["recording", "animal", "kind", "onset_s", "offset_s", "t0_s", "t1_s"]], table], axis=1)
    truth = data["truth"][rows]
    info = []
    for rec, idx in table.groupby("recording").groups.items():
        calls = pd.read_csv(results / f"simulated/truth/{rec}.calls.csv")
        for i in idx:
            r = table.loc[i]
            inside = calls[(calls["onset_s"] < r["t1_s"] + grid.hop_s) & (calls["offset_s"] > r["t0_s"] - grid.hop_s)]
            d = {"n_calls": len(inside)}
            if r["kind"] == "call" and len(inside):
                ov = np.minimum(inside["offset_s"], r["offset_s"]) - np.maximum(inside["onset_s"], r["onset_s"])
                c = inside.iloc[int(np.argmax(ov.to_numpy()))]
                d.update(condition=c["condition"], faint=bool(c["faint"]), snr_db=c["snr_db"],
                         duration_ms=c["duration_s"] * 1e3, bandwidth_khz=(c["f_max_hz"] - c["f_min_hz"]) / 1e3)
            info.append(pd.Series(d, name=i))
    table = pd.concat([table, pd.DataFrame(info)], axis=1)
    db = data["images"][rows].astype(float) / 255 * grid.dynamic_range_db - 5.0  # dB over the crop's median
    table["area"] = truth.sum((1, 2))
    table["ceiling"] = dice(truth, truth & (db > 6))
    return table, pred, truth


def tonal_rows(results: Path, recordings: np.ndarray, n_freq: int, f_lo: float, df: float) -> np.ndarray:
    """(crops, n_freq) boolean: the rows within two bins of the recording's constant tonal band."""
    freqs = f_lo + df * np.arange(n_freq)
    out = np.zeros((len(recordings), n_freq), bool)
    for rec in np.unique(recordings):
        noise = pd.read_csv(results / f"simulated/truth/{rec}.noise.csv")
        for _, b in noise[noise["kind"] == "tonal_band"].iterrows():
            out[recordings == rec] |= (freqs >= b["f_low_hz"] - 2 * df) & (freqs <= b["f_high_hz"] + 2 * df)
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=Path("results"))
    ap.add_argument("--csv", type=Path, help="write the per-crop table here")
    a = ap.parse_args(argv)
    table, pred, truth = crop_table(a.results)
    calls = table[table["kind"] == "call"]
    cols = [k for k in ROWS if k in table] + ["ceiling"]
    by = {"condition": calls["condition"], "faint": calls["faint"],
          "snr_db": pd.cut(calls["snr_db"], [-50, 10, 20, 30, 80]),
          "duration_ms": pd.cut(calls["duration_ms"], [0, 10, 40, 80, 1000]),
          "bandwidth_khz": pd.cut(calls["bandwidth_khz"], [-1, 5, 20, 200]),
          "area": pd.cut(calls["area"], [0, 100, 400, 100_000]), "n_calls": calls["n_calls"].clip(upper=3),
          "animal": calls["animal"]}
    with pd.option_context("display.width", 200):
        print(f"{len(calls)} test call crops; mean Dice: " + ", ".join(f"{k} {calls[k].mean():.1f}" for k in cols))
        for name, key in by.items():
            g = calls.groupby(key, observed=True)
            t = g[cols].mean().round(1)
            t.insert(0, "n", g.size())
            print(f"\nby {name}\n{t.to_string()}")
    grid = CropGrid(**load_dataset(a.results / "segment/dataset.npz")["grid"])
    band = tonal_rows(a.results, table["recording"].to_numpy(), truth.shape[1], grid.f_lo_hz, 1 / grid.window_s)
    print("\nper animal: pixel precision / recall, and the share of false positives on tonal-band rows")
    for k in (k for k in ROWS if k in pred):
        p = pred[k]
        for animal, idx in table.groupby("animal").groups.items():
            s = np.asarray(idx)
            tp, fp = (p[s] & truth[s]).sum(), (p[s] & ~truth[s])
            on_band = (fp & band[s][:, :, None]).sum() / max(1, fp.sum())
            print(f"  {k:16s} {animal:6s} precision {tp / max(1, tp + fp.sum()):.2f} "
                  f"recall {tp / max(1, truth[s].sum()):.2f}  false positives on band rows {on_band:.2f}")
    if a.csv:
        table.to_csv(a.csv, index=False)


if __name__ == "__main__":
    main()
