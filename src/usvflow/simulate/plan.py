"""The simulated cohort's plan and truth-table columns: which recordings a preset asks for (no audio).

Needs numpy and pandas only, so the workflow can plan its jobs without the scientific stack.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
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

#: Columns of the per-recording nuisance table (``truth/<recording>.nuisance.csv``, all recordings in
#: ``truth/recordings.tsv``): the planned quantiles ``q_*``, the values they give, and what was realised.
RECORDING_COLUMNS = [
    "recording", "cohort", "animal", "group",
    "q_distance", "q_floor", "q_gain", "q_tonal_band", "q_tonal_level", "q_movement", "q_clicks", "q_bursts", "q_faint",
    "distance_centre_m", "distance_mean_m", "distance_sd_m", "distance_calls_mean_m", "gain_db", "floor_dbfs",
    "tonal_bands", "tonal_level_db", "movement_events", "clicks", "bursts", "faint_broadband_s", "n_calls",
]

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
    #: Stratified quantile in (0, 1) of each recording-level nuisance (:data:`NUISANCES`), from
    #: :func:`plan_cohorts`; None: drawn at random from the recording's own seed (a recording planned alone).
    nuisance: dict[str, float] | None = field(default=None, compare=False)


def _stable_seed(*parts: Any) -> np.random.SeedSequence:
    """A seed from the global seed and names; crc32 because Python's hash() is salted per process."""
    ints = [p if isinstance(p, int) else zlib.crc32(str(p).encode()) for p in parts]
    return np.random.SeedSequence(ints)


#: Recording-level nuisance, one stratified quantile each per recording (docs/simulator.md §2.7): the distance
#: walk's centre, the noise floor's jitter, the recorder's gain, whether a tonal band is present and its level,
#: and how many movement episodes, clicks and bursts the recording gets.
NUISANCES = ("distance", "floor", "gain", "tonal_band", "tonal_level", "movement", "clicks", "bursts", "faint")


def stratified_quantiles(groups: list[str], rng: np.random.Generator) -> np.ndarray:
    """One quantile per recording, balanced across the groups by design.

    The ``n`` recordings get the evenly spaced levels ``(k + 0.5) / n``. Walking up the levels, each goes to
    the group furthest behind its share (``(k + 1) * n_g / n`` minus the levels it already has), so every
    group's levels spread over the whole range. Ties (two groups of equal size at every other level) are broken
    in a seeded random order that is reversed at the next tie: consecutive pairs are split between the groups
    in mirrored blocks (ABBA or BAAB), and two equal groups have the same mean level whenever their size is
    even (one level spacing ``1 / n`` apart at most otherwise). Within a group, the levels go to its
    recordings in a seeded random order. Independent of everything about the animals but its group's size.
    """
    n = len(groups)
    names = sorted(set(groups))
    size = {g: groups.count(g) for g in names}
    taken = {g: 0 for g in names}
    sequence: list[str] = []
    order: list[str] = []
    ties = 0
    for k in range(n):
        deficit = {g: (k + 1) * size[g] / n - taken[g] for g in names if taken[g] < size[g]}
        best = max(deficit.values())
        tied = [g for g in deficit if deficit[g] > best - 1e-9]
        if len(tied) > 1:
            order = [str(g) for g in rng.permutation(tied)] if ties % 2 == 0 else order[::-1]
            ties += 1
            pick = next(g for g in order if g in tied)
        else:
            pick = tied[0]
        sequence.append(pick)
        taken[pick] += 1
    levels = (np.arange(n) + 0.5) / n
    q = np.empty(n)
    for g in names:
        own = levels[[k for k, s in enumerate(sequence) if s == g]]
        q[[i for i, s in enumerate(groups) if s == g]] = rng.permutation(own)
    return q


def plan_nuisance(sim: dict, specs: list[RecordingSpec]) -> list[RecordingSpec]:
    """``specs`` with their :data:`NUISANCES` quantiles, stratified by group within each cohort
    (:func:`stratified_quantiles`), one independent draw per nuisance and cohort; deterministic in the seed."""
    q: dict[str, dict[str, float]] = {s.recording: {} for s in specs}
    for cohort in sorted({s.cohort for s in specs}):
        members = [s for s in specs if s.cohort == cohort]
        for name in NUISANCES:
            rng = np.random.default_rng(_stable_seed(sim["seed"], "nuisance", cohort, name))
            for s, v in zip(members, stratified_quantiles([m.group for m in members], rng)):
                q[s.recording][name] = float(v)
    return [replace(s, nuisance=q[s.recording]) for s in specs]


def plan_cohorts(sim: dict, preset: str) -> list[RecordingSpec]:
    """The recordings a preset asks for, in a fixed order, with their recording-level nuisance stratified
    across the groups (:func:`plan_nuisance`). Pure: no audio is made here."""
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
    return plan_nuisance(sim, specs)


def sample_sheet(specs: list[RecordingSpec], wav_dir: str | Path) -> pd.DataFrame:
    """The sample sheet of a simulated cohort, in the same format a lab writes for its own data."""
    wav_dir = Path(wav_dir)
    return pd.DataFrame([
        dict(recording=s.recording, path=str(wav_dir / f"{s.recording}.wav"), animal=s.animal, sex=s.sex,
             strain=s.strain, cohort=s.cohort, annotations="")
        for s in specs
    ])
