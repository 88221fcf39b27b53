"""A simulated cohort of Avisoft-like ultrasonic recordings with complete ground truth.

The papers' recordings cannot be shipped, so the default data is generated. The generative model
(documented with its literature ranges in ``docs/simulator.md``) has four layers:

1. **Animals.** Each animal's call statistics (duration, frequency, bandwidth, call-type mix,
   tremolo/harmonic/broadband propensities, loudness, call rate) are the population values shifted by
   a small group effect (sex, or strain) and a larger individual signature, both in units of the
   per-call spread, so single features are weak predictors while individuals are recognisable.
2. **Timing.** Calls come in bouts: geometric bout sizes, log-normal intervals inside a bout,
   exponential pauses between bouts chosen to give the animal's call rate.
3. **Calls.** A frequency contour per call type (flat, up/down FM, chevron, U, complex, two-syllable,
   frequency steps, short, tremolo), optional second harmonic and broadband component, an amplitude
   envelope, and a level that falls with the animal's distance to the microphone.
4. **Noise.** A microphone noise floor, low-frequency movement noise, broadband clicks and bursts
   (some placed on top of calls), a constant tonal band, and clipping of the loudest events.

Every random draw comes from a generator seeded by ``(seed, recording id)``, so one recording can be
regenerated alone and the cohort is identical on every machine.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.signal as sps

from .io import write_wav

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
    "distance_m", "animal", "sex", "strain", "cohort",
]

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


# --------------------------------------------------------------------------------------------
# Animals
# --------------------------------------------------------------------------------------------


@dataclass
class AnimalProfile:
    """Per-animal parameters of the call generator (after group and individual effects)."""

    log_duration_shift: float  # added to every call type's log-median duration
    mean_frequency_hz: float
    bandwidth_scale: float
    type_probs: np.ndarray  # over CALL_TYPES
    p_harmonic: float
    p_broadband: float
    p_tremolo_extra: float
    level_db: float  # median call level at the reference distance, dBFS
    calls_per_min: float
    ici_median_s: float
    tremolo_rate_hz: float
    extra: dict = field(default_factory=dict)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))


def _expit(x: float) -> float:
    return float(1 / (1 + np.exp(-x)))


def animal_profile(sim: dict, spec: RecordingSpec) -> AnimalProfile:
    """Population values + the group's effect + this animal's own signature.

    Effects are in units of the per-call spread of each property (``sim['spread']``), so an
    effect of 0.3 shifts the animal's mean by 0.3 of the call-to-call standard deviation.
    """
    rng = np.random.default_rng(_stable_seed(sim["seed"], "animal", spec.cohort, spec.animal))
    pop, spread, eff = sim["population"], sim["spread"], sim["effects"]
    # +1/2 for one level of the contrast, -1/2 for the other, so the group difference equals the effect.
    levels = {"sex": {"F": 0.5, "M": -0.5}, "strain": {"WT": -0.5, "cortexless": 0.5}}
    sign = levels[spec.cohort][spec.group]
    group_eff: dict = eff[spec.cohort]
    ind_default = float(eff["individual_sd"])
    ind_by_property: dict = eff.get("individual_sd_by_property", {})

    def shifted(name: str) -> float:
        ind = float(ind_by_property.get(name, ind_default))
        return sign * float(group_eff.get(name, 0.0)) + ind * rng.standard_normal()

    logits = np.log(np.array([pop["type_probs"][t] for t in CALL_TYPES], dtype=float))
    type_eff = group_eff.get("type_logits", {})
    for i, t in enumerate(CALL_TYPES):
        logits[i] += sign * float(type_eff.get(t, 0.0)) + ind_default * rng.standard_normal()
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()

    rate = pop["calls_per_min"][spec.cohort]
    rate_key = {"F": "female", "M": "male"}.get(spec.group, spec.group) if spec.cohort == "sex" else spec.group
    rate = float(rate.get(rate_key, rate.get("all", 150))) if isinstance(rate, dict) else float(rate)
    rate *= float(np.exp(0.12 * rng.standard_normal()))

    return AnimalProfile(
        log_duration_shift=shifted("log_duration") * spread["log_duration"],
        mean_frequency_hz=pop["mean_frequency_hz"] + shifted("mean_frequency") * spread["mean_frequency_hz"],
        bandwidth_scale=float(np.exp(shifted("bandwidth") * spread["log_bandwidth"])),
        type_probs=probs,
        p_harmonic=_expit(_logit(pop["p_harmonic"]) + shifted("harmonic")),
        p_broadband=_expit(_logit(pop["p_broadband"]) + shifted("broadband")),
        p_tremolo_extra=_expit(_logit(pop["p_tremolo_extra"]) + shifted("tremolo")),
        level_db=pop["level_dbfs"] + shifted("volume") * spread["level_db"],
        calls_per_min=rate,
        ici_median_s=pop["ici_median_s"] * float(np.exp(shifted("ici") * spread["log_ici"])),
        tremolo_rate_hz=float(np.clip(pop["tremolo_rate_hz"] * np.exp(0.15 * rng.standard_normal()), 40, 200)),
    )


# --------------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------------


def call_onsets_and_durations(rng: np.random.Generator, sim: dict, prof: AnimalProfile, duration_s: float,
                              types: list[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Bouts of calls filling ``duration_s``: returns onsets, durations and call types."""
    timing = sim["timing"]
    bout_mean = float(timing["calls_per_bout"])
    min_gap = float(timing["min_gap_s"])
    rate_s = prof.calls_per_min / 60.0
    # Pause length that gives the target rate: rate = B / (B * ici + pause).
    pause_mean = max(0.2, bout_mean / rate_s - bout_mean * prof.ici_median_s * 1.1)
    onsets, durs, kinds = [], [], []
    t = float(rng.uniform(0.05, 0.5))
    margin = 0.25  # keep the last call away from the file end
    while t < duration_s - margin:
        n_bout = int(rng.geometric(1.0 / bout_mean))
        for _ in range(n_bout):
            kind = str(rng.choice(CALL_TYPES, p=prof.type_probs))
            dur = _draw_duration(rng, sim, prof, kind)
            if t + dur > duration_s - margin:
                break
            onsets.append(t)
            durs.append(dur)
            kinds.append(kind)
            ici = prof.ici_median_s * float(np.exp(timing["ici_log_sd"] * rng.standard_normal()))
            t = t + max(ici, dur + min_gap)
        t += float(rng.exponential(pause_mean))
    return np.array(onsets), np.array(durs), kinds


def _draw_duration(rng: np.random.Generator, sim: dict, prof: AnimalProfile, kind: str) -> float:
    median_ms = float(sim["call_types"][kind]["duration_ms"])
    lo, hi = sim["timing"]["duration_range_ms"]
    if kind == "short":
        hi = min(hi, 12.0)
    log_d = np.log(median_ms) + prof.log_duration_shift + sim["spread"]["log_duration"] * rng.standard_normal()
    return float(np.clip(np.exp(log_d), lo, hi) / 1000.0)


# --------------------------------------------------------------------------------------------
# Calls
# --------------------------------------------------------------------------------------------


@dataclass
class CallShape:
    """The generator's own description of one call, from which audio, truth and masks follow."""

    call_type: str
    t: np.ndarray  # contour times relative to onset, s (CONTOUR_STEP_S grid)
    f: np.ndarray  # instantaneous frequency, Hz; NaN where the call is silent (a gap)
    env: np.ndarray  # relative amplitude 0..1
    breaks: int
    tremolo: bool
    harmonic_amp: float = 0.0
    broadband: tuple[float, float, float, float] | None = None  # onset, offset (rel. s), f_lo, f_hi


def _smooth_env(n: int, ramp: int) -> np.ndarray:
    env = np.ones(n)
    ramp = max(1, min(ramp, n // 2))
    r = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, ramp))
    env[:ramp] = r
    env[n - ramp:] = np.minimum(env[n - ramp:], r[::-1])
    return env


def make_call_shape(rng: np.random.Generator, sim: dict, prof: AnimalProfile, kind: str, dur: float,
                    nyquist: float) -> CallShape:
    """Draw the frequency contour and envelope of one call of type ``kind`` lasting ``dur`` s."""
    ct = sim["call_types"][kind]
    n = max(3, int(round(dur / CONTOUR_STEP_S)))
    t = np.arange(n) * CONTOUR_STEP_S
    u = np.linspace(0.0, 1.0, n)
    f_lo, f_hi = sim["frequency_range_hz"]
    fc = prof.mean_frequency_hz + float(ct.get("freq_offset_hz", 0.0)) + sim["spread"]["mean_frequency_hz"] * rng.standard_normal()
    bw = float(ct["bandwidth_hz"]) * prof.bandwidth_scale * float(np.exp(sim["spread"]["log_bandwidth"] * rng.standard_normal()))
    gaps = np.zeros(n, dtype=bool)
    breaks = 0
    if kind in ("flat", "short"):
        f = fc + rng.uniform(-0.5, 0.5) * bw * u + 300.0 * np.sin(2 * np.pi * rng.uniform(0.3, 1.2) * u + rng.uniform(0, 6))
    elif kind == "up_fm":
        f = fc - bw / 2 + bw * u ** rng.uniform(0.6, 1.6)
    elif kind == "down_fm":
        f = fc + bw / 2 - bw * u ** rng.uniform(0.6, 1.6)
    elif kind == "chevron":
        peak = rng.uniform(0.35, 0.65)
        f = fc - bw / 2 + bw * (1 - ((u - peak) / max(peak, 1 - peak)) ** 2)
    elif kind == "u_shape":
        trough = rng.uniform(0.35, 0.65)
        f = fc + bw / 2 - bw * (1 - ((u - trough) / max(trough, 1 - trough)) ** 2)
    elif kind == "complex":
        k = int(rng.integers(2, 5))
        f = fc + sum(
            (bw / (2 * k ** 0.5)) * np.sin(2 * np.pi * rng.uniform(0.8, 2.5) * u + rng.uniform(0, 2 * np.pi))
            for _ in range(k)
        )
    elif kind == "two_syllable":
        # Two notes with a short silence between them: one break in the FF line.
        split = rng.uniform(0.35, 0.6)
        gap = rng.uniform(*ct["gap_ms"]) / 1000.0
        second = rng.choice([-1, 1]) * rng.uniform(0.0, 1.0) * bw
        f = np.where(u < split, fc + (bw / 3) * u, fc + second + (bw / 3) * (u - split))
        gaps = (t >= split * dur) & (t < split * dur + gap)
        breaks = 1
    elif kind == "step":
        # Instantaneous frequency jumps (the paper's 'breaks'), each with a brief amplitude dip.
        k = int(rng.choice([1, 1, 1, 2, 2, 3]))
        f = fc + rng.uniform(-0.3, 0.3) * bw * u
        cuts = np.sort(rng.uniform(0.2, 0.8, size=k))
        jump = float(ct["jump_hz"])
        for c in cuts:
            f = f + np.where(u >= c, rng.choice([-1, 1]) * jump * rng.uniform(0.7, 1.4), 0.0)
            dip = rng.uniform(0.4, 1.5) / 1000.0
            gaps |= (t >= c * dur) & (t < c * dur + dip)
        breaks = k
    elif kind == "tremolo":
        f = fc + rng.uniform(-0.3, 0.3) * bw * u
    else:  # pragma: no cover - guarded by CALL_TYPES
        raise ValueError(kind)
    tremolo = kind == "tremolo" or (kind in ("flat", "up_fm", "down_fm") and rng.random() < prof.p_tremolo_extra)
    if tremolo:
        depth = rng.uniform(*sim["tremolo_depth_hz"])
        f = f + depth * np.sin(2 * np.pi * prof.tremolo_rate_hz * t + rng.uniform(0, 2 * np.pi))
    # Keep contours inside the species' range by shifting, not clipping, so the shape survives.
    shift = max(0.0, f_lo - f.min()) - max(0.0, f.max() - min(f_hi, 0.95 * nyquist))
    f = np.clip(f + shift, f_lo, min(f_hi, 0.95 * nyquist))
    env = _smooth_env(n, int(round(rng.uniform(1.0, 4.0) / 1000 / CONTOUR_STEP_S)))
    env *= 1.0 + 0.2 * np.sin(2 * np.pi * rng.uniform(0.5, 2.0) * u + rng.uniform(0, 6))  # slow level change
    env /= env.max()
    if gaps.any():
        # Short ramps around gaps avoid a click at each break.
        ramp = np.convolve(gaps.astype(float), np.ones(5) / 5, mode="same")
        env *= 1 - np.clip(ramp * 1.5, 0, 1)
        env[gaps] = 0.0
    f = f.astype(float)
    f[gaps] = np.nan
    harmonic = float(rng.uniform(*sim["harmonic_amp"])) if rng.random() < prof.p_harmonic else 0.0
    bb = None
    if rng.random() < prof.p_broadband and dur > 0.008:
        width = rng.uniform(2.0, 8.0) / 1000.0
        start = rng.uniform(0.0, max(1e-4, dur - width))
        centre = float(np.nanmean(f))
        half = rng.uniform(*sim["broadband_halfwidth_hz"])
        bb = (start, start + width, max(f_lo - 10e3, centre - half), min(0.97 * nyquist, centre + half))
    return CallShape(kind, t, f, env, breaks, tremolo, harmonic, bb)


def score_properties(shape: CallShape) -> dict:
    """The paper's six human-scored properties, read off the generator's own contour."""
    f = shape.f
    voiced = ~np.isnan(f)
    seg_f = np.where(voiced, f, np.nan)
    # Direction: which of rising / falling / flat pieces covers most of the call.
    slope = np.diff(seg_f) / CONTOUR_STEP_S  # Hz/s; NaN across gaps and jumps are excluded below
    jump = np.abs(np.diff(seg_f)) > 2000  # a frequency step is not a slope
    ok = ~np.isnan(slope) & ~jump
    s = slope[ok]
    if shape.tremolo and s.size > 20:
        # Judge direction on the contour without its vibrato, as a human does.
        s = np.gradient(sps.savgol_filter(seg_f[voiced], min(int(s.size // 2) * 2 - 1, 301), 2)) / CONTOUR_STEP_S
    flat_lim = 1.0e5  # 0.1 kHz per ms
    counts = {1: int(np.sum(s > flat_lim)), -1: int(np.sum(s < -flat_lim)), 0: int(np.sum(np.abs(s) <= flat_lim))}
    direction = max(counts, key=lambda k: (counts[k], k == 0))
    # Peaks: clear local maxima of the contour (≥ 3 kHz prominence), gaps bridged by interpolation.
    fi = np.interp(np.arange(f.size), np.flatnonzero(voiced), f[voiced]) if voiced.any() else np.zeros(1)
    if shape.tremolo:
        peaks = len(sps.find_peaks(sps.savgol_filter(fi, min(fi.size // 2 * 2 - 1, 301), 2) if fi.size > 10 else fi, prominence=3000)[0])
    else:
        peaks = len(sps.find_peaks(fi, prominence=3000)[0])
    complexity = int(shape.call_type == "complex" or peaks + shape.breaks >= 2 or shape.tremolo)
    return {
        "direction": int(direction),
        "peaks": int(peaks),
        "breaks": int(shape.breaks),
        "broadband": int(shape.broadband is not None),
        "tremolo": int(shape.tremolo),
        "complexity": complexity,
    }


def synthesize_call(shape: CallShape, amplitude: float, fs: int, rng: np.random.Generator) -> np.ndarray:
    """Audio of one call: phase-continuous FM tone (+ harmonic, + broadband patch) at ``fs``."""
    n = int(round(shape.t[-1] * fs)) + 1
    ts = np.arange(n) / fs
    f = np.interp(ts, shape.t, np.nan_to_num(shape.f, nan=float(np.nanmean(shape.f))))
    env = np.interp(ts, shape.t, shape.env)
    phase = 2 * np.pi * np.cumsum(f) / fs + rng.uniform(0, 2 * np.pi)
    x = np.sin(phase)
    if shape.harmonic_amp > 0:
        h = np.sin(2 * phase)
        h[2 * f >= fs / 2 * 0.98] = 0.0  # no aliasing: drop the harmonic where it would fold
        x = x + shape.harmonic_amp * h
    x *= env
    if shape.broadband is not None:
        b0, b1, lo, hi = shape.broadband
        i0, i1 = int(b0 * fs), min(n, max(int(b0 * fs) + 8, int(b1 * fs)))
        sos = sps.butter(4, [max(lo, 1000.0), min(hi, 0.99 * fs / 2)], btype="bandpass", fs=fs, output="sos")
        noise = sps.sosfilt(sos, rng.standard_normal(i1 - i0))
        noise *= np.hanning(i1 - i0) / (np.std(noise) + 1e-12) * 0.7
        x[i0:i1] += noise
    return (amplitude * x).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Noise
# --------------------------------------------------------------------------------------------


def _add_event(audio: np.ndarray, start: int, burst: np.ndarray) -> None:
    stop = min(len(audio), start + len(burst))
    if stop > start:
        audio[start:stop] += burst[: stop - start]


def _bandlimited_noise(rng: np.random.Generator, n: int, fs: int, lo: float, hi: float) -> np.ndarray:
    if lo <= 0:
        sos = sps.butter(4, hi, btype="lowpass", fs=fs, output="sos")
    else:
        sos = sps.butter(4, [lo, min(hi, 0.99 * fs / 2)], btype="bandpass", fs=fs, output="sos")
    x = sps.sosfilt(sos, rng.standard_normal(n).astype(np.float32))
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


def add_noise(audio: np.ndarray, fs: int, rng: np.random.Generator, noise: dict, recording: str,
              call_spans: np.ndarray) -> list[dict]:
    """Add every noise source in place; returns the noise events for the truth table.

    ``call_spans`` (n×2, seconds) lets a share of clicks and bursts land on top of calls, the case
    that breaks energy-threshold detectors.
    """
    n = len(audio)
    dur = n / fs
    events: list[dict] = []
    floor = float(10 ** (noise["floor_dbfs"] / 20)) * float(np.exp(noise["floor_jitter_log_sd"] * rng.standard_normal()))
    block = 1 << 22  # ~14 s at 300 kHz: bounded temporary memory
    low_sos = sps.butter(2, noise["floor_low_corner_hz"], btype="lowpass", fs=fs, output="sos")
    zi = np.zeros((low_sos.shape[0], 2))
    for i in range(0, n, block):
        w = rng.standard_normal(min(block, n - i), dtype=np.float32)
        # Microphones are noisier at low frequencies: a low-passed copy of the same white noise
        # gives that tilt for the cost of one filter.
        low, zi = sps.sosfilt(low_sos, w, zi=zi)
        audio[i:i + len(w)] += floor * (w + noise["floor_low_gain"] * low.astype(np.float32))

    # Movement noise: episodes of loud low-frequency rumble whose top edge leaks above 25 kHz.
    mv = noise["movement"]
    t = rng.exponential(mv["mean_interval_s"])
    while t < dur:
        length = rng.uniform(*mv["duration_s"])
        m = int(length * fs)
        top = rng.uniform(*mv["top_hz"])
        x = _bandlimited_noise(rng, m, fs, 0.0, top)
        x *= np.hanning(m) * floor * 10 ** (rng.uniform(*mv["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="movement", onset_s=t, offset_s=t + length, f_low_hz=0.0,
                           f_high_hz=top, amplitude=float(np.abs(x).max())))
        t += length + rng.exponential(mv["mean_interval_s"])

    def placed_times(rate: float, share_on_calls: float) -> list[float]:
        k = rng.poisson(rate * dur)
        times = list(rng.uniform(0, dur, size=k))
        if len(call_spans):
            on = rng.random(len(call_spans)) < share_on_calls
            times += [float(rng.uniform(a, b)) for a, b in call_spans[on]]
        return sorted(times)

    ck = noise["clicks"]
    for t in placed_times(ck["rate_per_s"], ck["share_of_calls_hit"]):
        m = max(8, int(rng.uniform(*ck["duration_ms"]) / 1000 * fs))
        decay = np.exp(-np.arange(m) / (m / 4))
        x = rng.standard_normal(m).astype(np.float32) * decay * floor * 10 ** (rng.uniform(*ck["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x.astype(np.float32))
        events.append(dict(recording=recording, kind="click", onset_s=t, offset_s=t + m / fs, f_low_hz=0.0,
                           f_high_hz=fs / 2, amplitude=float(np.abs(x).max())))

    bs = noise["bursts"]
    for t in placed_times(bs["rate_per_s"], bs["share_of_calls_hit"]):
        length = rng.uniform(*bs["duration_ms"]) / 1000
        m = int(length * fs)
        lo, hi = 2000.0, 0.97 * fs / 2
        x = _bandlimited_noise(rng, m, fs, lo, hi) * np.hanning(m)
        x *= floor * 10 ** (rng.uniform(*bs["level_db_above_floor"]) / 20)
        _add_event(audio, int(t * fs), x)
        events.append(dict(recording=recording, kind="burst", onset_s=t, offset_s=t + length, f_low_hz=lo,
                           f_high_hz=hi, amplitude=float(np.abs(x).max())))

    tb = noise["tonal_band"]
    if rng.random() < tb["probability"]:
        f0 = rng.uniform(*tb["frequency_hz"])
        amp = floor * 10 ** (rng.uniform(*tb["level_db_above_floor"]) / 20)
        for i in range(0, n, block):
            k = np.arange(i, min(n, i + block))
            # A slow ±jitter keeps the band from being a perfect line, as with real electrical noise.
            audio[i:i + len(k)] += (amp * np.sin(2 * np.pi * f0 * k / fs + 0.3 * np.sin(2 * np.pi * 0.2 * k / fs))).astype(np.float32)
        events.append(dict(recording=recording, kind="tonal_band", onset_s=0.0, offset_s=dur, f_low_hz=f0 - 100,
                           f_high_hz=f0 + 100, amplitude=float(amp)))
    return events


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
    contours: dict[str, np.ndarray]  # call_index, t (s, absolute), f (Hz, NaN in gaps), a (amplitude)


def _distance_track(rng: np.random.Generator, dist: dict, duration_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The animal's distance to the microphone: a slow, bounded random walk (1 value per second)."""
    k = int(duration_s) + 2
    lo, hi = dist["range_m"]
    d = np.empty(k)
    d[0] = rng.uniform(lo, hi)
    for i in range(1, k):
        d[i] = d[i - 1] + dist["step_sd_m"] * rng.standard_normal()
        d[i] = lo + abs(d[i] - lo) if d[i] < lo else (hi - abs(d[i] - hi) if d[i] > hi else d[i])
    return np.arange(k, dtype=float), d


def simulate_recording(sim: dict, spec: RecordingSpec) -> SimulatedRecording:
    """Generate one recording and its truth. Deterministic in ``(sim['seed'], spec.recording)``."""
    fs = int(sim["sample_rate_hz"])
    rng = np.random.default_rng(_stable_seed(sim["seed"], "recording", spec.recording))
    prof = animal_profile(sim, spec)
    n = int(round(spec.duration_s * fs))
    audio = np.zeros(n, dtype=np.float32)
    onsets, durs, kinds = call_onsets_and_durations(rng, sim, prof, spec.duration_s)
    dist_t, dist_d = _distance_track(rng, sim["distance"], spec.duration_s)
    ref = sim["distance"]["reference_m"]
    floor_amp = 10 ** (sim["noise"]["floor_dbfs"] / 20)
    rows, c_idx, c_t, c_f, c_a = [], [], [], [], []
    for i, (on, dur, kind) in enumerate(zip(onsets, durs, kinds)):
        shape = make_call_shape(rng, sim, prof, kind, dur, fs / 2)
        distance = float(np.interp(on, dist_t, dist_d))
        level_db = prof.level_db + sim["spread"]["level_db"] * rng.standard_normal() - 20 * np.log10(distance / ref)
        if rng.random() < sim["loud_call_probability"]:
            level_db = rng.uniform(-3.0, 6.0)  # rare calls close to the microphone overdrive it
        amp = float(10 ** (level_db / 20))
        x = synthesize_call(shape, amp, fs, rng)
        start = int(round(on * fs))
        _add_event(audio, start, x)
        props = score_properties(shape)
        voiced = shape.f[~np.isnan(shape.f)]
        bb = shape.broadband
        # SNR of the call's tone against the floor's power in a 1 kHz band (documented in docs/simulator.md).
        snr_db = 10 * np.log10((amp ** 2 / 2) / (floor_amp ** 2 * 2 * 1000.0 / fs))
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
            **props,
        ))
        c_idx.append(np.full(shape.t.size, i, dtype=np.int32))
        c_t.append(start / fs + shape.t)
        c_f.append(shape.f.astype(np.float32))
        c_a.append((amp * shape.env).astype(np.float32))
    calls = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    spans = calls[["onset_s", "offset_s"]].to_numpy() if len(calls) else np.zeros((0, 2))
    events = add_noise(audio, fs, rng, sim["noise"], spec.recording, spans)
    noise = pd.DataFrame(events, columns=NOISE_COLUMNS)
    if len(calls):
        calls["clipped"] = _clipped_calls(audio, fs, spans)
        calls["noise_overlap"] = _overlaps(spans, noise)
    contours = {
        "call_index": np.concatenate(c_idx) if c_idx else np.zeros(0, np.int32),
        "t": np.concatenate(c_t) if c_t else np.zeros(0),
        "f": np.concatenate(c_f) if c_f else np.zeros(0, np.float32),
        "a": np.concatenate(c_a) if c_a else np.zeros(0, np.float32),
    }
    return SimulatedRecording(spec, fs, audio, calls, noise, contours)


def _clipped_calls(audio: np.ndarray, fs: int, spans: np.ndarray) -> list[bool]:
    return [bool(np.abs(audio[int(a * fs):int(b * fs) + 1]).max(initial=0.0) >= 1.0) for a, b in spans]


def _overlaps(spans: np.ndarray, noise: pd.DataFrame) -> list[str]:
    """The transient noise overlapping each call, burst before click before movement ('none' if clean)."""
    out = []
    for a, b in spans:
        hit = noise[(noise.onset_s < b) & (noise.offset_s > a) & (noise.kind != "tonal_band")]
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
                include_broadband: bool = True) -> np.ndarray:
    """Boolean mask (freq × time) of the call pixels for any spectrogram grid.

    ``times`` are frame centres (s, same clock as the truth), ``freqs`` bin centres (Hz). A pixel is
    on when a call's instantaneous frequency (or its second harmonic, or its broadband patch) falls
    within ``halfwidth_hz`` of the bin during the frame. The default half-width is two bins, the
    main lobe of a Hann-windowed tone; a frame reaches one hop either side of its centre, which is
    half the window at the usual 50 % overlap.
    """
    freqs = np.asarray(freqs, float)
    times = np.asarray(times, float)
    if halfwidth_hz is None:
        halfwidth_hz = 2 * float(np.median(np.diff(freqs))) if freqs.size > 1 else 2000.0
    mask = np.zeros((freqs.size, times.size), dtype=bool)
    if times.size == 0 or contours["t"].size == 0:
        return mask
    dt = 2 * float(np.median(np.diff(times))) if times.size > 1 else CONTOUR_STEP_S
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
    np.savez_compressed(truth_dir / f"{rec.spec.recording}.contours.npz", **rec.contours)


def load_truth(truth_dir: str | Path, recording: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Read back what :func:`write_recording` stored for one recording."""
    truth_dir = Path(truth_dir)
    calls = pd.read_csv(truth_dir / f"{recording}.calls.csv")
    noise = pd.read_csv(truth_dir / f"{recording}.noise.csv")
    with np.load(truth_dir / f"{recording}.contours.npz") as z:
        contours = {k: z[k] for k in z.files}
    return calls, noise, contours


def sample_sheet(specs: list[RecordingSpec], wav_dir: str | Path) -> pd.DataFrame:
    """The sample sheet of a simulated cohort, in the same format a lab writes for its own data."""
    wav_dir = Path(wav_dir)
    return pd.DataFrame([
        dict(recording=s.recording, path=str(wav_dir / f"{s.recording}.wav"), animal=s.animal, sex=s.sex,
             strain=s.strain, cohort=s.cohort, annotations="")
        for s in specs
    ])


def _simulate_and_write(args: tuple[dict, RecordingSpec, str, str]) -> int:
    sim, spec, wav_dir, truth_dir = args
    rec = simulate_recording(sim, spec)
    write_recording(rec, Path(wav_dir) / f"{spec.recording}.wav", truth_dir)
    return len(rec.calls)


def simulate_cohort(sim: dict, preset: str, out_dir: str | Path, jobs: int = 1,
                    progress: bool = False) -> pd.DataFrame:
    """Write every recording of a preset under ``out_dir`` (``wav/``, ``truth/``, ``samples.tsv``).

    Returns the sample sheet. Recordings are independent, so ``jobs`` processes share them.
    """
    out_dir = Path(out_dir)
    wav_dir, truth_dir = out_dir / "wav", out_dir / "truth"
    specs = plan_cohorts(sim, preset)
    work = [(sim, s, str(wav_dir), str(truth_dir)) for s in specs]
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            counts = list(_progress(pool.map(_simulate_and_write, work), len(work), progress))
    else:
        counts = list(_progress(map(_simulate_and_write, work), len(work), progress))
    sheet = sample_sheet(specs, wav_dir)
    sheet["n_calls_true"] = counts
    out_dir.mkdir(parents=True, exist_ok=True)
    sheet.drop(columns="n_calls_true").to_csv(out_dir / "samples.tsv", sep="\t", index=False)
    return sheet


def _progress(it, total: int, enabled: bool):
    if not enabled:
        return it
    from tqdm import tqdm

    return tqdm(it, total=total, unit="rec", desc="simulate")
