"""How the simulator's "faint in broadband noise" condition was matched to the noisiest real dev clip.

    python benchmarks/faint_condition.py            # clip6 vs the clean clips vs simulated calls

Measures, the same way on real and simulated audio (usvflow.simulate.realism.call_visibility / noise_spectrum), each
call's peak SNR (loudest bin over its own floor at the call's best frame), the fades inside it (stretches of
>= 2 ms where no bin stands 10 dB above the floor, between its first and last visible frames) and the noise
floor's spectrum (level of an equivalent white noise, dBFS, per band). The simulated side: recordings of the
configured cohort with the condition forced on (share_of_time 1) and off (0), so each call is measured
against the floor of its own condition.
"""
from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from usvflow.audio.io import read_wav
from usvflow.detect.evaluate import read_intervals
from usvflow.simulate.plan import RecordingSpec
from usvflow.simulate.realism import call_visibility, noise_spectrum
from usvflow.simulate.recording import simulate_recording

ROOT = Path(__file__).resolve().parents[1]


def summarise(name: str, vis: pd.DataFrame, spectrum: dict[str, float]) -> dict:
    q = np.percentile(vis.peak_snr_db.dropna(), [10, 50, 90])
    return {"source": name, "calls": len(vis), "peak SNR p10": q[0], "p50": q[1], "p90": q[2],
            "fades per call": vis.fades.mean(), "calls with a fade": (vis.fades > 0).mean(),
            "median fade ms": (vis.fade_ms[vis.fades > 0] / vis.fades[vis.fades > 0]).median(),
            **{f"floor {k}": v for k, v in spectrum.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--recordings", type=int, default=4, help="simulated recordings per condition")
    ap.add_argument("--seconds", type=float, default=30.0)
    a = ap.parse_args()
    cfg = yaml.safe_load(open(ROOT / "config.yaml"))
    rows = []
    real = ROOT / "data" / "amvoc-dev"
    for clip in ("clip1", "clip2", "clip6"):
        x, fs = read_wav(real / clip / "recording.wav")
        t = read_intervals(real / clip / "truth.csv")
        rows.append(summarise(f"real {clip}", call_visibility(x, fs, t), noise_spectrum(x, fs, t)))
    for share, name in ((1.0, "simulated, faint_broadband"), (0.0, "simulated, standard")):
        sim = copy.deepcopy(cfg["simulation"])
        sim["noise"]["faint_broadband"]["share_of_time"] = share
        vis, spectra = [], []
        for k in range(a.recordings):
            spec = RecordingSpec(f"match_{k:02d}", "sex", f"F{k:02d}", "F", "C57BL/6", "F", a.seconds)
            rec = simulate_recording(sim, spec)
            t = rec.calls[["onset_s", "offset_s"]].to_numpy()
            vis.append(call_visibility(np.clip(rec.audio, -1, 1), rec.sample_rate, t))
            spectra.append(noise_spectrum(np.clip(rec.audio, -1, 1), rec.sample_rate, t))
        spectrum = {k: float(np.mean([s[k] for s in spectra])) for k in spectra[0]}
        rows.append(summarise(name, pd.concat(vis, ignore_index=True), spectrum))
    pd.set_option("display.width", 200)
    print(pd.DataFrame(rows).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
