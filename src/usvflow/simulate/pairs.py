"""Pair recordings: one female and one male in the same recording, their calls interleaved.

The test bed of mixed-pair attribution (``usvflow classify --pair``): the truth names each call's emitter,
so an estimate of the share of calls from each sex can be scored.

How a pair is made, with the single-animal generator (:func:`~usvflow.simulate.recording.simulate_recording`)
unchanged:

1. each animal gets its own profile and its own recording-length sequence of calls, exactly as if it were
   recorded alone (its own call rate, distance track and levels);
2. one of the two (the "noise carrier", alternating female and male from pair to pair) is simulated as usual,
   with the microphone floor and the noise events; the other is simulated with the noise turned down by
   :data:`QUIET_DB` (its calls are drawn before the noise, so they are the same calls), which leaves its calls
   alone on silence;
3. of the quiet animal's calls, those that would overlap a call of the noise carrier (within the simulator's
   ``timing.min_gap_s``) are removed, and the rest are thinned at random to a share drawn per pair, so the
   male share of a pair ranges widely instead of sitting at the two animals' natural call-rate ratio; removed
   calls are cut out of the quiet track sample by sample (they are alone there);
4. the two tracks are added. The truth table holds every kept call of both animals in time order with its
   own ``animal`` and ``sex``; SNR, ``faint``, ``clipped`` and ``noise_overlap`` are those of the mix.
"""

from __future__ import annotations

import copy
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .plan import RecordingSpec, _stable_seed
from .recording import SimulatedRecording, _clipped_calls, _overlaps, simulate_recording, write_recording

#: dB by which the quiet animal's noise is turned down: far below any 16-bit or float signal.
QUIET_DB = 300.0
#: Range of the share of the quiet animal's calls kept (drawn per pair, uniformly).
KEEP_SHARE = (0.2, 1.0)
#: Columns of ``pairs.tsv`` (one row per pair recording).
PAIR_COLUMNS = ["recording", "path", "female", "male", "noise_carrier", "n_calls", "n_female", "n_male",
                "male_share"]


@dataclass(frozen=True)
class PairSpec:
    """One pair recording: its two animals (each a single-animal spec) and how they are mixed."""

    recording: str
    female: RecordingSpec
    male: RecordingSpec
    noise_carrier: str  # "F" or "M": whose track carries the microphone noise
    keep_share: float  # share of the other animal's (non-overlapping) calls kept


def plan_pairs(sim: dict, n_pairs: int, minutes: float, prefix: str = "pair") -> list[PairSpec]:
    """``n_pairs`` pairs of new animals (``{prefix}01_F`` ...), deterministic in ``sim['seed']``."""
    specs = []
    strain = sim["sex_cohort_strain"]
    for i in range(1, int(n_pairs) + 1):
        name = f"{prefix}{i:02d}"
        rng = np.random.default_rng(_stable_seed(sim["seed"], "pair", name))
        female = RecordingSpec(f"{name}_F", "sex", f"{name}F", "F", strain, "F", minutes * 60.0)
        male = RecordingSpec(f"{name}_M", "sex", f"{name}M", "M", strain, "M", minutes * 60.0)
        specs.append(PairSpec(name, female, male, "F" if i % 2 else "M", float(rng.uniform(*KEEP_SHARE))))
    return specs


def _quiet_settings(sim: dict) -> dict:
    quiet = copy.deepcopy(sim)
    quiet["noise"]["floor_dbfs"] = float(sim["noise"]["floor_dbfs"]) - QUIET_DB
    quiet["noise"]["tonal_band"]["probability"] = 0.0
    return quiet


def _cut_calls(audio: np.ndarray, fs: int, calls: pd.DataFrame) -> None:
    for on, off in calls[["onset_s", "offset_s"]].to_numpy(float):
        audio[int(round(on * fs)):int(round(off * fs))] = 0.0


def simulate_pair(sim: dict, pair: PairSpec) -> SimulatedRecording:
    """Generate one pair recording and its truth (one row per kept call, each with its emitter)."""
    carrier_spec, quiet_spec = ((pair.female, pair.male) if pair.noise_carrier == "F" else (pair.male, pair.female))
    carrier = simulate_recording(sim, carrier_spec)
    quiet = simulate_recording(_quiet_settings(sim), quiet_spec)
    fs = carrier.sample_rate
    audio = quiet.audio
    calls = quiet.calls
    inside = np.zeros(len(audio), bool)
    for on, off in calls[["onset_s", "offset_s"]].to_numpy(float):
        inside[int(round(on * fs)):int(round(off * fs))] = True
    leak = float(np.abs(audio[~inside]).max(initial=0.0))
    if leak > 1e-6:  # the noise model no longer scales with floor_dbfs: a pair would hide a second floor
        raise RuntimeError(f"pair {pair.recording}: the quiet track holds {20 * np.log10(leak):.0f} dBFS outside "
                           "its calls; simulate.pairs needs noise that scales with noise.floor_dbfs")
    gap = float(sim["timing"]["min_gap_s"])
    other = carrier.calls[["onset_s", "offset_s"]].to_numpy(float)
    on, off = calls["onset_s"].to_numpy(float), calls["offset_s"].to_numpy(float)
    if len(other):
        clash = ((on[:, None] < other[None, :, 1] + gap) & (off[:, None] > other[None, :, 0] - gap)).any(axis=1)
    else:
        clash = np.zeros(len(calls), bool)
    rng = np.random.default_rng(_stable_seed(sim["seed"], "pair-thinning", pair.recording))
    keep = ~clash & (rng.random(len(calls)) < pair.keep_share)
    _cut_calls(audio, fs, calls[~keep])
    audio += carrier.audio
    calls = calls[keep].copy()
    # SNR is of the call against the floor: the quiet track's floor was QUIET_DB lower.
    calls["snr_db"] = calls["snr_db"] - QUIET_DB
    calls["faint"] = calls["snr_db"] < sim["faint_snr_db"]
    merged = pd.concat([carrier.calls, calls], ignore_index=True).sort_values("onset_s", kind="stable")
    source = np.r_[np.zeros(len(carrier.calls), int), np.ones(len(calls), int)][merged.index.to_numpy()]
    old_id = merged["call_id"].to_numpy(int)
    merged = merged.reset_index(drop=True)
    merged["recording"] = pair.recording
    merged["call_id"] = np.arange(len(merged))
    spans = merged[["onset_s", "offset_s"]].to_numpy(float) if len(merged) else np.zeros((0, 2))
    noise = carrier.noise.assign(recording=pair.recording)
    if len(merged):
        merged["clipped"] = _clipped_calls(audio, fs, spans)
        merged["noise_overlap"] = _overlaps(spans, noise)
    contours = _merge_contours([carrier.contours, quiet.contours], source, old_id)
    spec = RecordingSpec(pair.recording, "pair", f"{pair.female.animal}+{pair.male.animal}", "", pair.female.strain,
                         "pair", pair.female.duration_s)
    # the recording-level nuisance (floor, gain, events) is the carrier's: its noise is the pair's noise
    nuisance = carrier.nuisance.assign(recording=pair.recording)
    return SimulatedRecording(spec, fs, audio, merged, noise, nuisance, contours)


def _merge_contours(parts: list[dict[str, np.ndarray]], source: np.ndarray, old_id: np.ndarray) -> dict[str, np.ndarray]:
    """The kept calls' contours, ``call_index`` renumbered to the pair's call order."""
    out = {"call_index": [], "t": [], "f": [], "a": []}
    for new, (src, old) in enumerate(zip(source, old_id)):
        c = parts[src]
        sel = c["call_index"] == old
        out["call_index"].append(np.full(int(sel.sum()), new, np.int32))
        for k in ("t", "f", "a"):
            out[k].append(c[k][sel])
    empty = {"call_index": np.int32, "t": float, "f": np.float32, "a": np.float32}
    return {k: np.concatenate(v) if v else np.zeros(0, empty[k]) for k, v in out.items()}


def _pair_row(rec: SimulatedRecording, pair: PairSpec, wav: Path) -> dict:
    sex = rec.calls["sex"].astype(str)
    n = len(rec.calls)
    return dict(recording=pair.recording, path=str(wav), female=pair.female.animal, male=pair.male.animal,
                noise_carrier=pair.noise_carrier, n_calls=n, n_female=int((sex == "F").sum()),
                n_male=int((sex == "M").sum()), male_share=float((sex == "M").mean()) if n else float("nan"))


def _simulate_and_write(args: tuple[dict, PairSpec, str, str]) -> dict:
    sim, pair, wav_dir, truth_dir = args
    rec = simulate_pair(sim, pair)
    wav = Path(wav_dir) / f"{pair.recording}.wav"
    write_recording(rec, wav, truth_dir)
    return _pair_row(rec, pair, wav)


def simulate_pairs(sim: dict, n_pairs: int, minutes: float, out_dir: str | Path, jobs: int = 1,
                   prefix: str = "pair") -> pd.DataFrame:
    """Write ``n_pairs`` pair recordings under ``out_dir`` (``wav/``, ``truth/``, ``pairs.tsv``); returns the
    table of ``pairs.tsv`` (:data:`PAIR_COLUMNS`: each pair's animals and its true male share of calls)."""
    out_dir = Path(out_dir)
    wav_dir, truth_dir = out_dir / "wav", out_dir / "truth"
    wav_dir.mkdir(parents=True, exist_ok=True)
    work = [(sim, p, str(wav_dir), str(truth_dir)) for p in plan_pairs(sim, n_pairs, minutes, prefix)]
    if jobs > 1 and len(work) > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            rows = list(pool.map(_simulate_and_write, work))
    else:
        rows = [_simulate_and_write(w) for w in work]
    table = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    table.to_csv(out_dir / "pairs.tsv", sep="\t", index=False)
    return table
