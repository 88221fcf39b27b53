"""The simulated cohort's plan and truth-table columns: which recordings a preset asks for (no audio).

Needs numpy and pandas only, so the workflow can plan its jobs without the scientific stack.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

CALL_TYPES = (
    "flat",
    "up_fm",
    "down_fm",
    "chevron",
    "u_shape",
    "complex",
    "two_syllable",
    "step",
    "short",
    "tremolo",
)

#: Columns of the per-call truth table (one row per simulated call).
TRUTH_COLUMNS = [
    "recording", "call_id", "onset_s", "offset_s", "duration_s", "call_type",
    "f_start_hz", "f_end_hz", "f_min_hz", "f_max_hz", "f_mean_hz",
    "amplitude", "level_dbfs", "snr_db", "faint", "clipped", "noise_overlap",
    "direction", "peaks", "breaks", "broadband", "tremolo", "complexity",
    "harmonic_amp", "bb_onset_s", "bb_offset_s", "bb_f_low_hz", "bb_f_high_hz",
    "distance_m", "animal", "sex", "strain", "cohort", "condition", "fades",
]

#: Recording conditions a call can be in (truth column ``condition``).
CONDITIONS = ("standard", "faint_broadband")

#: Columns of the per-recording noise-event table.
NOISE_COLUMNS = ["recording", "kind", "onset_s", "offset_s", "f_low_hz", "f_high_hz", "amplitude"]

CONTOUR_STEP_S = 1e-4  # contours are stored at 0.1 ms, finer than any spectrogram hop in use


# --------------------------------------------------------------------------------------------
# Cohort plan
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingSpec:
    """One simulated session: one animal recorded alone (the paper's resident-intruder design)."""

    recording: str
    cohort: str
    animal: str
    sex: str
    strain: str
    group: str  # the level of the cohort's contrast: F/M for sex, WT/cortexless for strain
    duration_s: float


def _stable_seed(*parts: Any) -> np.random.SeedSequence:
    """A seed from the global seed and names; crc32 because Python's hash() is salted per process."""
    ints = [p if isinstance(p, int) else zlib.crc32(str(p).encode()) for p in parts]
    return np.random.SeedSequence(ints)


def plan_cohorts(sim: dict, preset: str) -> list[RecordingSpec]:
    """The recordings a preset asks for, in a fixed order. Pure: no audio is made here."""
    try:
        sizes = sim["presets"][preset]
    except KeyError:
        raise KeyError(f"unknown preset {preset!r}; choose one of {sorted(sim['presets'])}") from None
    specs: list[RecordingSpec] = []
    sex = sizes.get("sex")
    if sex:
        minutes = float(sex["minutes"])
        for group, count, prefix in (("F", sex["females"], "F"), ("M", sex["males"], "M")):
            for i in range(1, int(count) + 1):
                animal = f"{prefix}{i:02d}"
                specs.append(RecordingSpec(f"sex_{animal}", "sex", animal, group, sim["sex_cohort_strain"], group, minutes * 60))
    strain = sizes.get("strain")
    if strain:
        minutes = float(strain["minutes"])
        for group, count, prefix in (("WT", strain["wt"], "WT"), ("cortexless", strain["cortexless"], "CL")):
            for i in range(1, int(count) + 1):
                animal = f"{prefix}{i:02d}"
                specs.append(RecordingSpec(f"strain_{animal}", "strain", animal, "M", group, group, minutes * 60))
    return specs


def sample_sheet(specs: list[RecordingSpec], wav_dir: str | Path) -> pd.DataFrame:
    """The sample sheet of a simulated cohort, in the same format a lab writes for its own data."""
    wav_dir = Path(wav_dir)
    return pd.DataFrame([
        dict(recording=s.recording, path=str(wav_dir / f"{s.recording}.wav"), animal=s.animal, sex=s.sex,
             strain=s.strain, cohort=s.cohort, annotations="")
        for s in specs
    ])
