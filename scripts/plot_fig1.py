"""Snakemake adapter: draw Fig 1 from the dataset, the features and fig1.json (no feature is computed)."""
import json

import numpy as np
import pandas as pd

from usvflow.audio.io import read_wav
from usvflow.audio.stft import spectrogram
from usvflow.features.dataset import load_cohort
from usvflow.figures.features import plot_fig1
from usvflow.figures.simulator import db_above_floor
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    table, images = load_cohort(smk.input.dataset, smk.input.images)
    feats = pd.read_parquet(smk.input.features)
    with open(smk.input.stats) as fh:
        stats = json.load(fh)
    calls = pd.read_csv(smk.input.calls)
    length = smk.params.stretch_s
    # Show the window holding the most calls (a display choice; nothing is recomputed).
    on = calls["onset_s"].to_numpy(float)
    best = int(np.argmax(np.searchsorted(on, on + 0.9 * length) - np.arange(len(on)))) if len(on) else 0
    start = max(0.0, float(on[best]) - 0.05) if len(on) else 0.0
    x, fs = read_wav(smk.input.wav, start_s=start, stop_s=start + length)
    spec = spectrogram(x, fs, window_s=0.001, hop_s=0.0005, t0=start).band(20e3, min(125e3, fs / 2))
    db = db_above_floor(spec.power, spec.freqs)
    shown = calls[(calls["onset_s"] < start + length) & (calls["offset_s"] > start)]
    stretch = {"db": db, "times": spec.times, "freqs": spec.freqs, "calls": shown,
               "title": f"C  {smk.params.recording}: {length:g} s with the {len(shown)} detected calls"}
    # B marks its noise-like examples by Fig 7's image criterion, as the dataset stage recorded it per call.
    noise_like = table["noise_like"].to_numpy(bool)
    plot_fig1(table, images, feats, stats, stretch, smk.params.group, list(smk.params.levels), smk.params.data,
              smk.output[0], noise_like=noise_like)


main(snakemake)  # noqa: F821
