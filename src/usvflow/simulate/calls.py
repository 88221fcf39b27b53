"""Animals, call timing and calls of the simulator (layers 1-3 of :mod:`usvflow.simulate`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.signal as sps

from .plan import CALL_TYPES, CONTOUR_STEP_S, RecordingSpec, _stable_seed

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
    # Every animal carries its sex's effect, whichever cohort it belongs to (the strain cohort's males
    # are males too, so a sex model can be applied to them); the strain cohort adds its strain effect.
    contrasts = [(levels["sex"][spec.sex], eff["sex"])]
    if spec.cohort != "sex":
        contrasts.append((levels[spec.cohort][spec.group], eff[spec.cohort]))
    ind_default = float(eff["individual_sd"])
    ind_by_property: dict = eff.get("individual_sd_by_property", {})

    def group_shift(name: str) -> float:
        return sum(sign * float(effects.get(name, 0.0)) for sign, effects in contrasts)

    def shifted(name: str) -> float:
        ind = float(ind_by_property.get(name, ind_default))
        return group_shift(name) + ind * rng.standard_normal()

    logits = np.log(np.array([pop["type_probs"][t] for t in CALL_TYPES], dtype=float))
    for i, t in enumerate(CALL_TYPES):
        type_shift = sum(sign * float(effects.get("type_logits", {}).get(t, 0.0)) for sign, effects in contrasts)
        logits[i] += type_shift + ind_default * rng.standard_normal()
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
