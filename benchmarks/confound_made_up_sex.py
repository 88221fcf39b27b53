"""Issue 16, item 5: is a made-up-sex sample sheet of REAL recordings flagged by the background-only control?

The issue's sheet (seven real recordings, the first four "F", the rest "M") is not in the repository. The
nearest honest proxy from data/amvoc-dev: the four labelled clips as "F" (four recording sessions) and the
unlabelled 3 s recording cut into three separate 1 s files as "M" (a fifth session): seven "animals", 4 + 3,
each group recorded in its own session(s), nothing about sex to learn. With 4 + 3 animals there are
C(7, 3) = 35 label assignments, so p can reach 1/35 = 0.029.

Runs the default detector on each file, then exactly the workflow's control (usvflow.classify.confound: the
confound and classical settings of config.yaml), and prints the verdict, p, each model's held-out accuracy
and each animal's. Nothing here is tuned to the answer.

    python benchmarks/confound_made_up_sex.py [OUT_DIR]        # writes the cut files and sample sheet there
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import yaml

from usvflow.classify.classical_tasks import encode_labels
from usvflow.classify.confound import cohort_background, evaluate
from usvflow.detect import detect_file

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ["clip1", "clip2", "clip4", "clip6"]
SEX = {"column": "sex", "positive": "M", "negative": "F"}


def made_up_sheet(realdata: Path, out_dir: Path, parts: int = 3) -> pd.DataFrame:
    """The sample sheet: the labelled clips as F, ``parts`` consecutive pieces of the unlabelled one as M."""
    rows = [{"recording": c, "path": str(realdata / c / "recording.wav"), "animal": c, "sex": "F"} for c in CLIPS]
    x, sr = sf.read(realdata / "unlabelled_small2.wav", dtype="int16")
    out_dir.mkdir(parents=True, exist_ok=True)
    for i, piece in enumerate(np.array_split(x, parts)):
        path = out_dir / f"unlabelled_small2_part{i + 1}.wav"
        sf.write(path, piece, sr, subtype="PCM_16")
        rows.append({"recording": path.stem, "path": str(path), "animal": path.stem, "sex": "M"})
    return pd.DataFrame(rows)


def run(sheet: pd.DataFrame, config: dict):
    """The control on ``sheet`` with the workflow's settings: its result and the table of stretches."""
    calls = {r.recording: detect_file(r.path).calls for r in sheet.itertuples()}
    inputs, table = cohort_background(sheet, calls, config["confound"])
    y = encode_labels(table["sex"], SEX)
    res = evaluate(inputs, y, table["animal"], ["F", "M"], config["classical"]["params"], config["confound"],
                   group="sex")
    return res, table, calls


def main(out: Path) -> None:
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    t0 = time.perf_counter()
    sheet = made_up_sheet(ROOT / "data" / "amvoc-dev", out)
    sheet.to_csv(out / "samples.tsv", sep="\t", index=False)
    res, table, calls = run(sheet, config)
    v = res.values
    print(f"sheet: {out / 'samples.tsv'} ({len(sheet)} recordings; "
          f"{', '.join(f'{r} {len(c)} calls' for r, c in calls.items())})")
    print(f"stretches per animal: {table.groupby('animal').size().to_dict()}")
    print(f"verdict: {res.verdict} (flagged: {v.get('flagged')}); p = {v.get('p')}, smallest possible "
          f"{v.get('p_min')}, {v.get('n_assignments')} assignments")
    for m, r in v.get("models", {}).items():
        folds = ", ".join(f"{a} {100 * acc:.0f}" for a, acc in r["fold_accuracy"].items())
        print(f"  {m}: mean {100 * r['mean_accuracy']:.1f} %, p = {r['p']:.3g}; per animal: {folds}")
    print(res.sentence)
    print(f"time: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="made_up_sex_")))
