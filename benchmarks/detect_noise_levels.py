"""What pure white noise reaches in the default detector's evidence: where its fixed levels come from.

    python benchmarks/detect_noise_levels.py               # 2 min at 250 and 300 kHz
    python benchmarks/detect_noise_levels.py --minutes 5 --fs 300000

Prints, over the given length of white Gaussian noise, the maximum (and 99.9th / 99.99th percentiles) of

* the best ridge score per frame (``threshold_db`` stands 1.5 dB above its maximum, about 7 dB), and
* its average over ``sustain_s`` (5 ms) above the median of its 0.5 s block: ``sustain_db`` stands 1.5 dB
  above this maximum (about 1.5 dB), the same margin.

Nothing here looks at real clips; the levels hold at either sample rate.
"""
from __future__ import annotations

import argparse

import numpy as np

from usvflow.detect import resolve_params
from usvflow.detect.default import _BLOCK, _default_evidence


def noise_levels(fs: int, minutes: float, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(per-frame best ridge score, its ``sustain_s`` average above the block median) over white noise."""
    p = {**resolve_params("default"), "_fft_workers": 1}
    L = max(1, int(round(p["sustain_s"] / p["hop_s"])))
    rng = np.random.default_rng(seed)
    scores, excess = [], []
    for _ in range(max(1, int(round(minutes * 60 / 12)))):  # 12 s chunks, as the detector reads them
        x = (0.01 * rng.standard_normal(12 * fs)).astype(np.float32)
        s = _default_evidence(x, fs, 0, p, None, (0, np.inf), None).s
        T = len(s)
        base = np.repeat([np.median(s[k : k + _BLOCK]) for k in range(0, T, _BLOCK)], _BLOCK)[:T]
        avg = np.convolve(s, np.ones(L) / L, mode="same") - base
        scores.append(s[L:-L])
        excess.append(avg[L:-L])  # away from the chunk's edges, where the window is cut
    return np.concatenate(scores), np.concatenate(excess)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--fs", type=int, nargs="+", default=[250_000, 300_000])
    a = ap.parse_args()
    p = resolve_params("default")
    for fs in a.fs:
        s, e = noise_levels(fs, a.minutes)
        for name, v, level in (("ridge score", s, p["threshold_db"]), ("5 ms average - block median", e, p["sustain_db"])):
            q = np.percentile(v, [99.9, 99.99])
            print(f"{fs} Hz, {a.minutes:g} min: {name}: 99.9 % {q[0]:.2f}, 99.99 % {q[1]:.2f}, max {v.max():.2f} dB "
                  f"(level {level} dB)")


if __name__ == "__main__":
    main()
