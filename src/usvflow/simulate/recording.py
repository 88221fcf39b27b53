"""One simulated recording end to end, its truth masks and files, and a whole cohort on disk."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio.io import write_wav
from .calls import (
    animal_profile,
    call_onsets_and_durations,
    make_call_shape,
    score_properties,
    synthesize_call,
)
from .conditions import add_fades, plan_faint_epochs
from .noise import _add_event, add_noise, nuisance_levels
from .plan import (
    CONTOUR_STEP_S,
    NOISE_COLUMNS,
    NUISANCES,
    RECORDING_COLUMNS,
    TRUTH_COLUMNS,
    RecordingSpec,
    _stable_seed,
    plan_cohorts,
    sample_sheet,
)

# --------------------------------------------------------------------------------------------
# One recording
# --------------------------------------------------------------------------------------------


@dataclass
class SimulatedRecording:
    spec: RecordingSpec
    sample_rate: int
    audio: np.ndarray  # float32, full scale 1.0 (not yet clipped)
    calls: pd.DataFrame  # TRUTH_COLUMNS
    noise: pd.DataFrame  # NOISE_COLUMNS
    nuisance: pd.DataFrame  # RECORDING_COLUMNS, one row
    contours: dict[str, np.ndarray]  # call_index, t (s, absolute), f (Hz, NaN in gaps), a (amplitude)


def _distance_track(rng: np.random.Generator, dist: dict, duration_s: float,
                    centre_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The animal's distance to the microphone (1 value per second): a slow walk around the recording's
    ``centre_m``. Its offset from the centre keeps ``exp(-1 / reversion_s)`` of itself each second and takes a
    step of SD ``step_sd_m`` (an Ornstein-Uhlenbeck walk); the offset is then shifted to average zero over the
    recording, so the recording's mean distance is its centre (which the cohort plan stratifies across groups),
    and the track reflects at the edges of ``range_m``."""
    k = int(duration_s) + 2
    lo, hi = dist["range_m"]
    keep = float(np.exp(-1.0 / dist["reversion_s"]))
    offset = np.empty(k)
    offset[0] = 0.0
    for i in range(1, k):
        offset[i] = keep * offset[i - 1] + dist["step_sd_m"] * rng.standard_normal()
    t = np.arange(k, dtype=float)
    d = centre_m + offset - offset[t <= duration_s].mean()
    span = hi - lo
    d = lo + np.abs((d - lo + span) % (2 * span) - span)  # reflect into [lo, hi]
    return t, d


def _nuisance_quantiles(sim: dict, spec: RecordingSpec) -> dict[str, float]:
    """The spec's planned nuisance quantiles; for a recording planned alone, uniform draws of its own."""
    if spec.nuisance is not None:
        return {name: float(spec.nuisance[name]) for name in NUISANCES}
    rng = np.random.default_rng(_stable_seed(sim["seed"], "nuisance", spec.recording))
    return {name: float(rng.uniform()) for name in NUISANCES}


def simulate_recording(sim: dict, spec: RecordingSpec) -> SimulatedRecording:
    """Generate one recording and its truth. Deterministic in ``(sim['seed'], spec)``: its recording-level
    nuisance comes from the plan's stratified quantiles (``spec.nuisance``, :func:`~usvflow.simulate.noise.nuisance_levels`)."""
    fs = int(sim["sample_rate_hz"])
    rng = np.random.default_rng(_stable_seed(sim["seed"], "recording", spec.recording))
    prof = animal_profile(sim, spec)
    quantiles = _nuisance_quantiles(sim, spec)
    levels = nuisance_levels(sim, quantiles, spec.duration_s)
    n = int(round(spec.duration_s * fs))
    audio = np.zeros(n, dtype=np.float32)
    onsets, durs, kinds = call_onsets_and_durations(rng, sim, prof, spec.duration_s)
    dist_t, dist_d = _distance_track(rng, sim["distance"], spec.duration_s, levels["distance_centre_m"])
    ref = sim["distance"]["reference_m"]
    floor_amp = 10 ** (levels["floor_dbfs"] / 20)
    epochs = plan_faint_epochs(sim, spec.recording, spec.duration_s, quantiles["faint"])
    epoch_rng = np.random.default_rng(_stable_seed(sim["seed"], "faint_broadband_draws", spec.recording))
    rows, c_idx, c_t, c_f, c_a = [], [], [], [], []
    for i, (on, dur, kind) in enumerate(zip(onsets, durs, kinds)):
        shape = make_call_shape(rng, sim, prof, kind, dur, fs / 2)
        epoch = next((e for e in epochs if e[0] <= on < e[1]), None)
        fades = add_fades(shape.env, CONTOUR_STEP_S, epoch_rng, sim["noise"]["faint_broadband"]) if epoch else 0
        distance = float(np.interp(on, dist_t, dist_d))
        level_db = (prof.level_db + sim["spread"]["level_db"] * rng.standard_normal() - 20 * np.log10(distance / ref)
                    + levels["gain_db"])
        if rng.random() < sim["loud_call_probability"]:
            level_db = rng.uniform(-3.0, 6.0)  # rare calls close to the microphone overdrive it
        amp = float(10 ** (level_db / 20))
        x = synthesize_call(shape, amp, fs, rng)
        start = int(round(on * fs))
        _add_event(audio, start, x)
        props = score_properties(shape)
        voiced = shape.f[~np.isnan(shape.f)]
        bb = shape.broadband
        # SNR of the call's tone against the recording's floor power in a 1 kHz band (docs/simulator.md), the floor raised in the faint-in-broadband-noise condition.
        snr_db = 10 * np.log10((amp ** 2 / 2) / (floor_amp ** 2 * 2 * 1000.0 / fs)) - (epoch[2] if epoch else 0.0)
        rows.append(dict(
            recording=spec.recording, call_id=i, onset_s=start / fs, offset_s=(start + len(x)) / fs,
            duration_s=len(x) / fs, call_type=kind,
            f_start_hz=float(voiced[0]), f_end_hz=float(voiced[-1]), f_min_hz=float(voiced.min()),
            f_max_hz=float(voiced.max()), f_mean_hz=float(voiced.mean()),
            amplitude=amp, level_dbfs=float(level_db), snr_db=float(snr_db),
            faint=bool(snr_db < sim["faint_snr_db"]), clipped=False, noise_overlap="none",
            harmonic_amp=shape.harmonic_amp,
            bb_onset_s=np.nan if bb is None else on + bb[0], bb_offset_s=np.nan if bb is None else on + bb[1],
            bb_f_low_hz=np.nan if bb is None else bb[2], bb_f_high_hz=np.nan if bb is None else bb[3],
            distance_m=distance, animal=spec.animal, sex=spec.sex, strain=spec.strain, cohort=spec.cohort,
            condition="faint_broadband" if epoch else "standard", fades=fades,
            **props,
        ))
        c_idx.append(np.full(shape.t.size, i, dtype=np.int32))
        c_t.append(start / fs + shape.t)
        c_f.append(shape.f.astype(np.float32))
        c_a.append((amp * shape.env).astype(np.float32))
    calls = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    spans = calls[["onset_s", "offset_s"]].to_numpy() if len(calls) else np.zeros((0, 2))
    events = add_noise(audio, fs, rng, sim["noise"], spec.recording, spans, levels, epochs, epoch_rng)
    noise = pd.DataFrame(events, columns=NOISE_COLUMNS)
    if len(calls):
        calls["clipped"] = _clipped_calls(audio, fs, spans)
        calls["noise_overlap"] = _overlaps(spans, noise)
    inside = dist_t <= spec.duration_s
    nuisance = pd.DataFrame([dict(
        recording=spec.recording, cohort=spec.cohort, animal=spec.animal, group=spec.group,
        **{f"q_{k}": v for k, v in quantiles.items()},
        distance_centre_m=levels["distance_centre_m"], distance_mean_m=float(dist_d[inside].mean()),
        distance_sd_m=float(dist_d[inside].std()),
        distance_calls_mean_m=float(calls["distance_m"].mean()) if len(calls) else np.nan,
        gain_db=levels["gain_db"], floor_dbfs=levels["floor_dbfs"],
        tonal_bands=int((noise.kind == "tonal_band").sum()),
        tonal_level_db=levels["tonal_level_db"] if levels["tonal_band"] else np.nan,
        movement_events=int((noise.kind == "movement").sum()),
        clicks=int((noise.kind == "click").sum()), bursts=int((noise.kind == "burst").sum()),
        faint_broadband_s=float(sum(b - a for a, b, _ in epochs)), n_calls=len(calls),
    )], columns=RECORDING_COLUMNS)
    contours = {
        "call_index": np.concatenate(c_idx) if c_idx else np.zeros(0, np.int32),
        "t": np.concatenate(c_t) if c_t else np.zeros(0),
        "f": np.concatenate(c_f) if c_f else np.zeros(0, np.float32),
        "a": np.concatenate(c_a) if c_a else np.zeros(0, np.float32),
    }
    return SimulatedRecording(spec, fs, audio, calls, noise, nuisance, contours)


def _clipped_calls(audio: np.ndarray, fs: int, spans: np.ndarray) -> list[bool]:
    return [bool(np.abs(audio[int(a * fs):int(b * fs) + 1]).max(initial=0.0) >= 1.0) for a, b in spans]


def _overlaps(spans: np.ndarray, noise: pd.DataFrame) -> list[str]:
    """The transient noise overlapping each call, burst before click before movement ('none' if clean); the
    tonal band and the faint-in-broadband-noise stretches are conditions, not transients (see ``condition``)."""
    out = []
    for a, b in spans:
        hit = noise[(noise.onset_s < b) & (noise.offset_s > a) & noise.kind.isin(["burst", "click", "movement"])]
        if hit.empty:
            out.append("none")
        else:
            order = {"burst": 0, "click": 1, "movement": 2}
            out.append(min(hit.kind, key=lambda k: order[k]))
    return out


# --------------------------------------------------------------------------------------------
# Masks
# --------------------------------------------------------------------------------------------


def render_mask(contours: dict[str, np.ndarray], calls: pd.DataFrame, times: np.ndarray, freqs: np.ndarray,
                halfwidth_hz: float | None = None, include_harmonics: bool = True,
                include_broadband: bool = True, frame_s: float | None = None) -> np.ndarray:
    """Boolean mask (freq × time) of the call pixels for any spectrogram grid.

    ``times`` are frame centres (s, same clock as the truth), ``freqs`` bin centres (Hz). A pixel is
    on when a call's instantaneous frequency (or its second harmonic, or its broadband patch) falls
    within ``halfwidth_hz`` of the bin during the frame. The default half-width is two bins, the
    main lobe of a Hann-windowed tone.

    ``frame_s`` is the time one frame sees, the STFT window (s): a frame reaches ``frame_s / 2`` either
    side of its centre. Pass the grid's window; the default, two hops, is the window only at 50 %
    overlap. On a grid without overlap (window = hop, as the SqueakOut crops) the default would let
    each column take the contour of its neighbours' frames too: a sweep's mask too tall in frequency
    and every call and broadband patch up to one column longer at either end.
    """
    freqs = np.asarray(freqs, float)
    times = np.asarray(times, float)
    if halfwidth_hz is None:
        halfwidth_hz = 2 * float(np.median(np.diff(freqs))) if freqs.size > 1 else 2000.0
    mask = np.zeros((freqs.size, times.size), dtype=bool)
    if times.size == 0 or contours["t"].size == 0:
        return mask
    if frame_s is None:
        frame_s = 2 * float(np.median(np.diff(times))) if times.size > 1 else CONTOUR_STEP_S
    if not frame_s > 0:
        raise ValueError(f"frame_s must be positive, got {frame_s}")
    dt = float(frame_s)
    for i, call in calls.reset_index(drop=True).iterrows():
        sel = contours["call_index"] == int(call["call_id"])
        ct, cf = contours["t"][sel], contours["f"][sel].astype(float)
        cols = np.flatnonzero((times + dt / 2 >= ct[0]) & (times - dt / 2 <= ct[-1]))
        for j in cols:
            w = (ct >= times[j] - dt / 2) & (ct <= times[j] + dt / 2)
            fv = cf[w]
            fv = fv[~np.isnan(fv)]
            if fv.size == 0:
                continue
            lo, hi = fv.min() - halfwidth_hz, fv.max() + halfwidth_hz
            mask[(freqs >= lo) & (freqs <= hi), j] = True
            if include_harmonics and call["harmonic_amp"] > 0:
                mask[(freqs >= 2 * lo) & (freqs <= 2 * hi), j] = True
        if include_broadband and not np.isnan(call["bb_onset_s"]):
            tcols = (times + dt / 2 >= call["bb_onset_s"]) & (times - dt / 2 <= call["bb_offset_s"])
            frows = (freqs >= call["bb_f_low_hz"]) & (freqs <= call["bb_f_high_hz"])
            mask[np.ix_(frows, tcols)] = True
    return mask


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def write_recording(rec: SimulatedRecording, wav_path: str | Path, truth_dir: str | Path) -> None:
    """WAV (16-bit PCM, clipped at full scale like a recorder) + truth tables + contours."""
    write_wav(wav_path, rec.audio, rec.sample_rate, subtype="PCM_16")
    truth_dir = Path(truth_dir)
    truth_dir.mkdir(parents=True, exist_ok=True)
    rec.calls.to_csv(truth_dir / f"{rec.spec.recording}.calls.csv", index=False)
    rec.noise.to_csv(truth_dir / f"{rec.spec.recording}.noise.csv", index=False)
    rec.nuisance.to_csv(truth_dir / f"{rec.spec.recording}.nuisance.csv", index=False)
    np.savez_compressed(truth_dir / f"{rec.spec.recording}.contours.npz", **rec.contours)


def load_truth(truth_dir: str | Path, recording: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Read back what :func:`write_recording` stored for one recording."""
    truth_dir = Path(truth_dir)
    calls = pd.read_csv(truth_dir / f"{recording}.calls.csv")
    noise = pd.read_csv(truth_dir / f"{recording}.noise.csv")
    with np.load(truth_dir / f"{recording}.contours.npz") as z:
        contours = {k: z[k] for k in z.files}
    return calls, noise, contours


def _simulate_and_write(args: tuple[dict, RecordingSpec, str, str]) -> pd.DataFrame:
    sim, spec, wav_dir, truth_dir = args
    rec = simulate_recording(sim, spec)
    write_recording(rec, Path(wav_dir) / f"{spec.recording}.wav", truth_dir)
    return rec.nuisance


def write_recordings_table(tables: list[pd.DataFrame], path: str | Path) -> pd.DataFrame:
    """All recordings' nuisance rows (``<recording>.nuisance.csv``) in one TSV, in plan order."""
    table = pd.concat(tables, ignore_index=True)[RECORDING_COLUMNS]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path, sep="\t", index=False)
    return table


def simulate_cohort(sim: dict, preset: str, out_dir: str | Path, jobs: int = 1,
                    progress: bool = False) -> pd.DataFrame:
    """Write every recording of a preset under ``out_dir`` (``wav/``, ``truth/``, ``truth/recordings.tsv``,
    ``samples.tsv``).

    Returns the sample sheet. Recordings are independent, so ``jobs`` processes share them.
    """
    out_dir = Path(out_dir)
    wav_dir, truth_dir = out_dir / "wav", out_dir / "truth"
    specs = plan_cohorts(sim, preset)
    work = [(sim, s, str(wav_dir), str(truth_dir)) for s in specs]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            tables = list(_progress(pool.map(_simulate_and_write, work), len(work), progress))
    else:
        tables = list(_progress(map(_simulate_and_write, work), len(work), progress))
    write_recordings_table(tables, truth_dir / "recordings.tsv")
    sheet = sample_sheet(specs, wav_dir)
    sheet["n_calls_true"] = [int(t["n_calls"].iloc[0]) for t in tables]
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet.drop(columns="n_calls_true").to_csv(out_dir / "samples.tsv", sep="\t", index=False)
    return sheet


def _progress(it, total: int, enabled: bool):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, unit="rec", desc="simulate")
