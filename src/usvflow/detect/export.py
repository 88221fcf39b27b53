"""Writing detections: the call images (``.npz``) and Raven Pro selection tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .calls import Detections
from .images import _image_axes


def save_spectrograms(path: str | Path, det: Detections) -> None:
    """Write the call images as a compressed ``.npz``.

    Arrays: ``spectrograms`` (n, 100, 100) uint8 [call, frequency row, time column]; ``onset_s`` and
    ``offset_s`` (n,) of each call; ``time_s`` (100,) offset of each column from the onset (1 ms steps, 2.33 ms
    for ``image_format`` ``paper``);
    ``freq_hz`` (100,) centre of each row; ``sample_rate``; ``method``; ``dynamic_range_db`` (the dB
    span mapped to 0..255); ``level_reference`` (``call``: 255 is each call's maximum, ``full_scale``: a
    full-scale sine); ``floor_margin_db`` (background bins below this margin are 0; NaN: kept);
    ``image_format`` (``default`` or ``paper``, see :mod:`usvflow.detect.images`).
    """
    times, freqs = _image_axes(det.params.get("image_format", "default"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        spectrograms=det.spectrograms,
        onset_s=det.calls["onset_s"].to_numpy(float),
        offset_s=det.calls["offset_s"].to_numpy(float),
        time_s=times,
        freq_hz=freqs,
        sample_rate=np.int64(det.sample_rate),
        method=np.str_(det.method),
        dynamic_range_db=np.float64(det.params.get("image_dynamic_range_db", np.nan)),
        level_reference=np.str_(det.params.get("image_level", "call")),
        floor_margin_db=np.float64(np.nan if det.params.get("image_floor_margin_db") is None
                                   else det.params["image_floor_margin_db"]),
        image_format=np.str_(det.params.get("image_format", "default")),
    )


def load_spectrograms(path: str | Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


RAVEN_COLUMNS = ["Selection", "View", "Channel", "Begin Time (s)", "End Time (s)", "Low Freq (Hz)",
                 "High Freq (Hz)", "Peak Freq (Hz)", "Score", "SNR (dB)"]


def write_raven(path: str | Path, calls: pd.DataFrame, channel: int = 1) -> None:
    """Raven Pro selection table (tab-separated), one spectrogram selection per call."""
    n = len(calls)
    df = pd.DataFrame(
        {
            "Selection": np.arange(1, n + 1),
            "View": ["Spectrogram 1"] * n,
            "Channel": [channel] * n,
            "Begin Time (s)": calls["onset_s"].round(6).to_numpy(),
            "End Time (s)": calls["offset_s"].round(6).to_numpy(),
            "Low Freq (Hz)": calls["f_min_hz"].round(1).to_numpy(),
            "High Freq (Hz)": calls["f_max_hz"].round(1).to_numpy(),
            "Peak Freq (Hz)": calls["f_mean_hz"].round(1).to_numpy(),
            "Score": calls["score"].round(3).to_numpy(),
            "SNR (dB)": calls["snr_db"].round(2).to_numpy(),
        },
        columns=RAVEN_COLUMNS,
    )
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, lineterminator="\n")
