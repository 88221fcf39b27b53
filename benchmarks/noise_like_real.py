"""Are noise-like detections false positives? The default detector on the annotated real clips, and the dataset's
simulated cohorts against their truth (issue 23).

    python benchmarks/noise_like_real.py                                  # data/amvoc-dev, LOCO choices recomputed
    python benchmarks/noise_like_real.py --selection figures/detection_selection.csv --results results

Each detection's 100 x 100 image is the one the workflow's ``extract_calls`` makes for the dataset stage
(:func:`usvflow.detect.detect_file` with config.yaml's settings for the dataset's detector) and is scored by
Fig 7's criterion (:func:`usvflow.features.noise.image_noise_measures`). Against the human annotations (one-to-one,
temporal IoU >= 0.3, as the detection benchmark) the script prints, per clip and pooled: detections, noise-like
detections, the precision of noise-like and of the other detections, and recall / F1 with all detections kept and
with the noise-like ones dropped (``calls_lost``: annotated calls matched only by a noise-like detection). The
same follows for each leave-one-clip-out fold (settings chosen on the other clips, scored on the held-out one:
read from a ``detection_selection.csv`` the ``evaluate_detection`` rule wrote, or chosen again here, about 1.5 min
on one core). With ``--results`` (a finished run's results/ folder), the dataset's simulated cohorts too, against
the simulator's truth, with the noise event under each noise-like detection's true call.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from usvflow.detect.evaluate import _annotated_clips
from usvflow.detect.selection import loco_table
from usvflow.features.dataset import load_cohort
from usvflow.features.noise import clip_noise_effect, drop_effect, image_noise_measures, pool_effects, truth_noise
from usvflow.workflow.planning import detection_settings

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ["n_true", "n_detected", "n_noise_like", "tp_noise_like", "precision_noise_like", "precision_other",
         "recall", "recall_drop", "calls_lost", "f1", "f1_drop"]


def clip_effect(clip: Path, params: dict, iou: float) -> dict:
    return clip_noise_effect(clip / "recording.wav", clip / "truth.csv", params, iou)


def with_pooled(rows: dict[str, dict]) -> pd.DataFrame:
    table = pd.DataFrame({**rows, "pooled": pool_effects(list(rows.values()))}).T[SHOWN]
    counts = [c for c in SHOWN if c.startswith(("n_", "tp_")) or c == "calls_lost"]
    return table.astype({c: int for c in counts})


def loco_choices(real_dir: Path, selection: Path | None, cfg: dict) -> pd.DataFrame:
    if selection is not None:
        return pd.read_csv(selection)
    return loco_table(real_dir, cfg["detection_selection"]["grid"], cfg["detection"]["default"])[1]


def simulated(results: Path, iou: float) -> None:
    truth_dir = results / "simulated" / "truth"
    for table_path in sorted((results / "dataset").glob("*.calls.parquet")):
        cohort = table_path.name.split(".")[0]
        table, images = load_cohort(table_path, results / "dataset" / f"{cohort}.spectrograms.npy")
        flags = image_noise_measures(images)["noise_like"].to_numpy(bool)
        if "noise_like" in table and len(table) and not flags.any():
            print(f"\nnote: {table_path} holds no noise-like call (built with dataset.noise_like: drop?)")
        truth = {r: pd.read_csv(truth_dir / f"{r}.calls.csv") for r in table["recording"].unique()}
        rows = {}
        for rec, sub in table.groupby("recording", sort=True):
            rows[rec] = drop_effect(truth[rec], sub[["onset_s", "offset_s"]], flags[sub.index.to_numpy()], iou)
        print(f"\nsimulated cohort {cohort!r} ({table_path}; truth in {truth_dir})")
        print(with_pooled(rows).round(3).to_string())
        under = truth_noise(table, truth)[flags].value_counts()
        print("noise event under the true call of each noise-like detection:", under.to_dict())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-dir", type=Path, default=ROOT / "data" / "amvoc-dev")
    ap.add_argument("--config", type=Path, default=ROOT / "config.yaml")
    ap.add_argument("--selection", type=Path, help="detection_selection.csv of a run (else chosen again here)")
    ap.add_argument("--results", type=Path, help="a finished run's results/ folder: its simulated cohorts too")
    ap.add_argument("--iou", type=float, default=0.3)
    a = ap.parse_args()
    cfg = yaml.safe_load(open(a.config))
    detector = (cfg.get("dataset") or {}).get("detector", "default")
    if detector != "default":
        raise SystemExit(f"the dataset's detector is {detector!r}; this check runs the default detector")
    params = detection_settings(cfg, "default")
    clips = _annotated_clips(a.real_dir)
    pd.set_option("display.width", 220)
    print(f"default detector, {a.config.name} settings; noise-like by Fig 7's criterion; IoU >= {a.iou}")
    print(with_pooled({c.name: clip_effect(c, params, a.iou) for c in clips}).round(3).to_string())
    choices = loco_choices(a.real_dir, a.selection, cfg).set_index("held_out")
    grid = [c for c in choices.columns if c not in ("chosen_on", "train_f1")]
    folds = {c.name: clip_effect(c, {**params, **choices.loc[c.name, grid].to_dict()}, a.iou) for c in clips}
    loco = with_pooled(folds)
    print("\nleave-one-clip-out: each clip with the settings chosen on the others")
    print(loco.round(3).to_string())
    gain = (loco["f1_drop"] - loco["f1"]).drop("pooled")
    print(f"dropping noise-like detections raises held-out F1 in {int((gain > 0).sum())} of {len(gain)} folds, "
          f"lowers it in {int((gain < 0).sum())}")
    if a.results is not None:
        simulated(a.results, a.iou)


if __name__ == "__main__":
    main()
