"""Issue 16, item 5: does the background-only control flag groups of REAL recordings that were recorded differently?

The made-up-sex proxy (benchmarks/confound_made_up_sex.py) has no recording difference between its groups that
the control could find: its "M" animals are pieces of one recording whose level and noise spectrum sit inside
the range of the "F" clips. This check builds cohorts in which the groups differ in how they were recorded and
in nothing else, from the real AMVOC audio in data/amvoc-dev:

* every source recording (the four labelled clips and the unlabelled one) is cut into two halves: ten
  "animals", five of each made-up group, one half of every source in each group, so the mice, the sessions and
  the calls are the same in both groups. Which half is "M" alternates from source to source (second, first,
  second, ...): a file's first half holds its start (a louder peak on most of these files), so "M = every
  second half" would itself be a recording difference;
* the "M" halves then go through one documented recording difference (a second rig), the "F" halves stay as
  they were:

  - ``none``: no difference (the null: the control must not flag it);
  - ``gain``: the signal 8 dB quieter (another preamplifier setting);
  - ``response``: a microphone whose response falls above 60 kHz (a second-order low-pass at 60 kHz);
  - ``noise``: a louder noise floor (white noise added at the level of the source's own floor + 6 dB).

Runs the default detector on each file and exactly the workflow's control (usvflow.classify.confound with the
confound and classical settings of config.yaml; C(10, 5) = 252 label assignments, smallest p 2/252). Prints, per
condition, the verdict, p and each model's held-out accuracy. Nothing here is tuned to the answer.

    python benchmarks/confound_rig.py [OUT_DIR] [--conditions none gain response noise]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.signal as sps
import soundfile as sf
import yaml

from usvflow.classify.classical_tasks import encode_labels
from usvflow.classify.confound import cohort_background, evaluate
from usvflow.detect import detect_file

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ["clip1", "clip2", "clip4", "clip6", "unlabelled_small2"]
SEX = {"column": "sex", "positive": "M", "negative": "F"}
CONDITIONS = ("none", "gain", "response", "noise")


def _source(realdata: Path, name: str) -> tuple[np.ndarray, int]:
    path = realdata / name / "recording.wav" if (realdata / name).is_dir() else realdata / f"{name}.wav"
    x, sr = sf.read(path, dtype="float64", always_2d=True)
    return x[:, 0], sr


def second_rig(x: np.ndarray, sr: int, condition: str, rng: np.random.Generator) -> np.ndarray:
    """``x`` (float, full scale 1) as a second rig would have recorded it."""
    if condition == "none":
        return x
    if condition == "gain":
        return x * 10 ** (-8 / 20)
    if condition == "response":
        sos = sps.butter(2, 60e3, "lowpass", fs=sr, output="sos")
        return sps.sosfilt(sos, x)
    if condition == "noise":
        floor = np.sqrt(np.quantile(sps.medfilt(x ** 2, 255), 0.25))  # the quiet quarter's RMS level
        return x + rng.normal(0.0, floor * 10 ** (6 / 20), len(x))
    raise ValueError(f"unknown condition {condition!r}")


def rig_sheet(realdata: Path, out_dir: Path, condition: str, seed: int = 20200) -> pd.DataFrame:
    """The sample sheet of one condition: one half of each source as "F", the other through :func:`second_rig`
    as "M" (which half alternates over the sources)."""
    rng = np.random.default_rng(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in SOURCES:
        x, sr = _source(realdata, name)
        groups = "FM" if SOURCES.index(name) % 2 == 0 else "MF"
        for half, (group, piece) in enumerate(zip(groups, np.array_split(x, 2))):
            if group == "M":
                piece = second_rig(piece, sr, condition, rng)
            path = out_dir / f"{name}_half{half + 1}_{condition}.wav"
            sf.write(path, np.clip(piece, -1, 1 - 2 ** -15), sr, subtype="PCM_16")
            rows.append({"recording": path.stem, "path": str(path), "animal": path.stem, "sex": group})
    return pd.DataFrame(rows)


def run(sheet: pd.DataFrame, config: dict):
    calls = {r.recording: detect_file(r.path).calls for r in sheet.itertuples()}
    inputs, table = cohort_background(sheet, calls, config["confound"])
    y = encode_labels(table["sex"], SEX)
    return evaluate(inputs, y, table["animal"], ["F", "M"], config["classical"]["params"], config["confound"],
                    group="sex")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", type=Path, default=None)
    ap.add_argument("--conditions", nargs="+", default=list(CONDITIONS), choices=CONDITIONS)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="confound_rig_"))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    for condition in a.conditions:
        t0 = time.perf_counter()
        res = run(rig_sheet(ROOT / "data" / "amvoc-dev", out / condition, condition), config)
        v = res.values
        print(f"== {condition}: verdict {res.verdict} (flagged {v.get('flagged')}); p = {v.get('p'):.3g} "
              f"(smallest {v.get('p_min'):.3g}, {v.get('n_assignments')} assignments); "
              f"{time.perf_counter() - t0:.0f} s")
        for m, r in v.get("models", {}).items():
            folds = " ".join(f"{100 * acc:.0f}" for acc in r["fold_accuracy"].values())
            print(f"  {m:18s} mean {100 * r['mean_accuracy']:5.1f} %, p = {r['p']:.3g}; per animal: {folds}")


if __name__ == "__main__":
    main()
