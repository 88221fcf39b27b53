"""The simulator checked for substance: energy where the truth says calls are, only noise elsewhere,
labels consistent with the generated contours, group effects in the intended direction."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usvflow.audio.io import read_wav
from usvflow.audio.stft import spectrogram
from usvflow.simulate.calls import animal_profile
from usvflow.simulate.plan import CALL_TYPES, TRUTH_COLUMNS, RecordingSpec, plan_cohorts
from usvflow.simulate.recording import load_truth, render_mask, simulate_cohort, simulate_recording, write_recording


def _quiet(sim: dict) -> dict:
    """No transient noise, no tonal band and no stretch of raised broadband noise: only the noise floor
    remains besides the calls."""
    noise = sim["noise"]
    noise["faint_broadband"]["share_of_time"] = 0.0
    noise["movement"]["mean_interval_s"] = 1e9
    noise["clicks"].update(rate_per_s=0.0, share_of_calls_hit=0.0)
    noise["bursts"].update(rate_per_s=0.0, share_of_calls_hit=0.0)
    noise["tonal_band"]["probability"] = 0.0
    sim["loud_call_probability"] = 0.0
    return sim


SPEC = RecordingSpec("sex_F01", "sex", "F01", "F", "C57BL/6", "F", 12.0)


@pytest.fixture()
def quiet_recording(sim):
    return simulate_recording(_quiet(sim), SPEC)


def _db_above_floor(rec):
    spec = spectrogram(rec.audio, rec.sample_rate, window_s=0.001, hop_s=0.0005).band(25e3, 125e3)
    floor = np.median(spec.power, axis=1, keepdims=True)
    return spec, 10 * np.log10(spec.power / floor + 1e-30)


def test_energy_follows_the_truth_contours(quiet_recording):
    rec = quiet_recording
    spec, db = _db_above_floor(rec)
    df = np.median(np.diff(spec.freqs))
    hits, total = 0, 0
    for call in rec.calls[~rec.calls.faint].itertuples():
        sel = rec.contours["call_index"] == call.call_id
        t, f, a = rec.contours["t"][sel], rec.contours["f"][sel], rec.contours["a"][sel]
        strong = ~np.isnan(f) & (a > 0.5 * a.max())  # the body of the call, not its ramps
        for ti, fi in zip(t[strong][::10], f[strong][::10]):
            j = int(np.argmin(np.abs(spec.times - ti)))
            rows = np.abs(spec.freqs - fi) <= 1.5 * df
            total += 1
            hits += db[rows, j].max() > 10.0
    assert total > 500
    assert hits / total > 0.95, f"only {hits}/{total} contour points carry energy"


def test_only_noise_outside_calls(quiet_recording):
    rec = quiet_recording
    spec, db = _db_above_floor(rec)
    inside = np.zeros(spec.times.size, dtype=bool)
    for a, b in rec.calls[["onset_s", "offset_s"]].to_numpy():
        inside |= (spec.times >= a - 0.003) & (spec.times <= b + 0.003)  # half a window either side
    outside_peak = db[:, ~inside].max(axis=0)
    inside_peak = db[:, inside].max(axis=0)
    # Floor bins follow an exponential law: 20 dB above the median has probability ~1e-30 per bin.
    assert outside_peak.max() < 20.0
    assert np.mean(inside_peak > 20.0) > 0.5


def test_noise_events_are_where_the_truth_says(sim):
    sim["noise"]["clicks"]["rate_per_s"] = 2.0
    sim["noise"]["tonal_band"]["probability"] = 1.0
    rec = simulate_recording(sim, SPEC)
    kinds = set(rec.noise.kind)
    assert {"click", "tonal_band"} <= kinds
    spec, db = _db_above_floor(rec)
    clicks = rec.noise[rec.noise.kind == "click"]
    floor_dbfs = float(rec.nuisance.floor_dbfs.iloc[0])  # this recording's floor (jitter and gain included)
    loud = clicks[clicks.amplitude > 30 * 10 ** (floor_dbfs / 20)]
    for c in loud.itertuples():  # a click is broadband: most bins light up in its frame
        j = int(np.argmin(np.abs(spec.times - (c.onset_s + c.offset_s) / 2)))
        assert np.mean(db[:, j] > 6.0) > 0.5
    band = rec.noise[rec.noise.kind == "tonal_band"].iloc[0]
    row = int(np.argmin(np.abs(spec.freqs - (band.f_low_hz + band.f_high_hz) / 2)))
    assert np.median(spec.power[row]) > 2 * np.median(spec.power)  # a constant line above the floor


def test_labels_are_consistent(sim):
    rec = simulate_recording(sim, RecordingSpec("sex_F01", "sex", "F01", "F", "C57BL/6", "F", 40.0))
    c = rec.calls
    assert list(c.columns) == TRUTH_COLUMNS and len(c) > 20
    assert set(c.call_type) <= set(CALL_TYPES)
    assert (c.offset_s > c.onset_s).all() and (c.onset_s.diff().dropna() > 0).all()
    assert (c.onset_s.shift(-1).dropna() >= c.offset_s.iloc[:-1] + sim["timing"]["min_gap_s"] - 1e-3).all()
    assert (c.animal == "F01").all() and (c.sex == "F").all() and (c.cohort == "sex").all()
    lo, hi = sim["frequency_range_hz"]
    assert (c.f_min_hz >= lo - 1).all() and (c.f_max_hz <= hi + 1).all()
    assert set(c.direction) <= {-1, 0, 1}
    simple = c.call_type.isin(["flat", "up_fm", "down_fm", "chevron", "u_shape", "short", "tremolo"])
    assert (c.breaks[simple] == 0).all()
    assert (c.breaks[c.call_type.isin(["step", "two_syllable"])] >= 1).all()
    assert (c.tremolo[c.call_type == "tremolo"] == 1).all()
    assert ((c.broadband == 1) == c.bb_onset_s.notna()).all()
    assert (c.direction[c.call_type == "up_fm"] >= 0).all() and (c.direction[c.call_type == "down_fm"] <= 0).all()
    # The table's frequencies are the contour's.
    for call in c.itertuples():
        f = rec.contours["f"][rec.contours["call_index"] == call.call_id]
        assert np.isclose(np.nanmean(f), call.f_mean_hz, rtol=1e-4)
    assert c.noise_overlap.isin(["none", "click", "burst", "movement"]).all()


def test_deterministic_by_seed_and_recording(sim):
    short = RecordingSpec("sex_M02", "sex", "M02", "M", "C57BL/6", "M", 3.0)
    a, b = simulate_recording(sim, short), simulate_recording(sim, short)
    np.testing.assert_array_equal(a.audio, b.audio)
    pd.testing.assert_frame_equal(a.calls, b.calls)
    sim["seed"] += 1
    assert not np.array_equal(a.audio, simulate_recording(sim, short).audio)


def test_group_effects_point_the_configured_way(sim):
    """Over many animals, females differ from males as config says, and nothing else drives it."""
    sim["presets"]["many"] = {"sex": {"females": 60, "males": 60, "minutes": 1}}
    specs = plan_cohorts(sim, "many")
    prof = pd.DataFrame([
        dict(sex=s.sex, dur=p.log_duration_shift, level=p.level_db, freq=p.mean_frequency_hz)
        for s, p in ((s, animal_profile(sim, s)) for s in specs)
    ])
    means = prof.groupby("sex").mean()
    eff = sim["effects"]["sex"]
    assert np.sign(means.loc["F", "dur"] - means.loc["M", "dur"]) == np.sign(eff["log_duration"])
    assert np.sign(means.loc["F", "level"] - means.loc["M", "level"]) == np.sign(eff["volume"])
    # No sex effect on mean frequency (paper Fig 2B): the difference stays within individual noise.
    sd = prof.freq.std()
    assert abs(means.loc["F", "freq"] - means.loc["M", "freq"]) < 0.5 * sd


def test_strain_cohort_males_carry_the_male_effect(sim):
    """A strain-cohort mouse is a male: with no individual spread its shifts are the male half of the sex
    effect plus its strain's half of the strain effect, so a sex model can be applied to it."""
    sim["effects"]["individual_sd"] = 0.0
    sim["effects"]["individual_sd_by_property"] = {}
    eff, spread = sim["effects"], sim["spread"]
    for strain, sign in (("WT", -0.5), ("cortexless", 0.5)):
        spec = RecordingSpec(f"strain_{strain}", "strain", "X01", "M", strain, strain, 60.0)
        prof = animal_profile(sim, spec)
        expected = (-0.5 * eff["sex"].get("log_duration", 0.0)
                    + sign * eff["strain"].get("log_duration", 0.0)) * spread["log_duration"]
        assert prof.log_duration_shift == pytest.approx(expected)
        male = animal_profile(sim, RecordingSpec("sex_M01", "sex", "M01", "M", "C57BL/6", "M", 60.0))
        assert prof.level_db == pytest.approx(male.level_db + sign * eff["strain"].get("volume", 0.0)
                                              * spread["level_db"])


def test_presets_plan_the_papers_cohorts(sim):
    paper = plan_cohorts(sim, "paper")
    sex = [s for s in paper if s.cohort == "sex"]
    strain = [s for s in paper if s.cohort == "strain"]
    assert (sum(s.sex == "F" for s in sex), sum(s.sex == "M" for s in sex)) == (9, 8)
    assert (sum(s.strain == "WT" for s in strain), sum(s.strain == "cortexless" for s in strain)) == (6, 6)
    assert len({s.recording for s in paper}) == len(paper) and len({s.animal for s in paper}) == len(paper)
    with pytest.raises(KeyError, match="unknown preset"):
        plan_cohorts(sim, "huge")


def test_masks_render_on_any_grid(quiet_recording):
    rec = quiet_recording
    for window_s, hop_s in [(0.0005, 0.00025), (0.002, 0.001)]:
        spec = spectrogram(rec.audio, rec.sample_rate, window_s=window_s, hop_s=hop_s).band(25e3, 125e3)
        mask = render_mask(rec.contours, rec.calls, spec.times, spec.freqs)
        assert mask.shape == spec.power.shape
        floor = np.median(spec.power, axis=1, keepdims=True)
        loud = spec.power > 10 * floor
        # Mask pixels are mostly call energy, and the mask holds most of the energy above the floor.
        assert loud[mask].mean() > 0.6
        excess = np.where(loud, spec.power - floor, 0.0)
        assert excess[mask].sum() / excess.sum() > 0.9


def test_cohort_files_round_trip(tmp_path, sim):
    sim["presets"]["tiny"] = {"sex": {"females": 1, "males": 1, "minutes": 0.05}}
    sheet = simulate_cohort(sim, "tiny", tmp_path, jobs=1)
    assert list(sheet.recording) == ["sex_F01", "sex_M01"]
    written = pd.read_csv(tmp_path / "samples.tsv", sep="\t", keep_default_na=False)
    assert list(written.columns) == ["recording", "path", "animal", "sex", "strain", "cohort", "annotations"]
    calls, noise, contours = load_truth(tmp_path / "truth", "sex_M01")
    x, fs = read_wav(written.path[1])
    assert fs == sim["sample_rate_hz"] and abs(len(x) / fs - 3.0) < 1e-3
    assert len(calls) == sheet.n_calls_true[1] and set(np.unique(contours["call_index"])) == set(calls.call_id)


def test_write_recording_marks_clipping(tmp_path, sim):
    sim["loud_call_probability"] = 0.3
    rec = simulate_recording(sim, SPEC)
    write_recording(rec, tmp_path / "r.wav", tmp_path)
    x, _ = read_wav(tmp_path / "r.wav")
    assert rec.calls.clipped.any()
    for call in rec.calls[rec.calls.clipped].itertuples():
        seg = x[int(call.onset_s * rec.sample_rate):int(call.offset_s * rec.sample_rate)]
        assert np.abs(seg).max() > 0.99  # flat-topped at full scale in the file


# --------------------------------------------------------------------------------------------------
# The "faint in broadband noise" recording condition (matched to AMVOC clip6, docs/simulator.md)


def test_faint_broadband_condition_is_in_the_truth(sim):
    from usvflow.simulate.conditions import plan_faint_epochs
    from usvflow.simulate.plan import CONDITIONS

    sim["noise"]["faint_broadband"]["share_of_time"] = 0.5
    spec = RecordingSpec("sex_F02", "sex", "F02", "F", "C57BL/6", "F", 30.0)
    rec = simulate_recording(sim, spec)
    from usvflow.simulate.recording import _nuisance_quantiles

    q = _nuisance_quantiles(sim, spec)["faint"]
    epochs = plan_faint_epochs(sim, spec.recording, spec.duration_s, q)
    assert epochs, "a 30 s recording at share 0.5 has stretches in the condition"
    # the recording's time in the condition is what its quantile asks for, in stretches of epoch_s at most
    spent = sum(b - a for a, b, _ in epochs)
    assert spent == pytest.approx(min(1.0, 2 * q * 0.5) * 30.0)
    assert all(b - a <= sim["noise"]["faint_broadband"]["epoch_s"][1] + 1e-9 for a, b, _ in epochs)
    assert all(e[1] <= f[0] for e, f in zip(epochs, epochs[1:]))  # in order, not overlapping
    c = rec.calls
    assert set(c.condition) <= set(CONDITIONS) and set(c.condition) == set(CONDITIONS)
    ev = rec.noise[rec.noise.kind == "faint_broadband"]
    np.testing.assert_allclose(ev[["onset_s", "offset_s"]].to_numpy(), [[a, b] for a, b, _ in epochs])
    for _, call in c.iterrows():
        inside = [e for e in epochs if e[0] <= call.onset_s < e[1]]
        assert (call.condition == "faint_broadband") == bool(inside)
    # Fades only inside the condition, and the truth's SNR is taken against the raised floor.
    assert (c.fades[c.condition == "standard"] == 0).all() and c.fades[c.condition == "faint_broadband"].sum() > 0
    quiet = simulate_recording({**sim, "noise": {**sim["noise"], "faint_broadband": {
        **sim["noise"]["faint_broadband"], "share_of_time": 0.0}}}, spec)
    assert set(quiet.calls.condition) == {"standard"}
    in_cond = c.condition == "faint_broadband"
    raise_db = np.array([next(r for a, b, r in epochs if a <= on < b) for on in c.onset_s[in_cond]])
    np.testing.assert_allclose(quiet.calls.snr_db[in_cond] - c.snr_db[in_cond], raise_db)
    # The floor really is that much higher inside a stretch (white noise over the whole band): the median
    # power in the USV band, where the microphone floor is white too, rises by the stretch's raise.
    fs = rec.sample_rate
    a, b, r = max(epochs, key=lambda e: e[1] - e[0])
    mid = slice(int((a + 0.1) * fs), int((b - 0.1) * fs))
    level = [np.median(spectrogram(x.audio[mid], fs, window_s=0.001, hop_s=0.0005).band(30e3, 120e3).power)
             for x in (rec, quiet)]
    assert 10 * np.log10(level[0] / level[1]) == pytest.approx(r, abs=1.0)


def test_condition_leaves_the_rest_of_the_recording_unchanged(sim):
    spec = RecordingSpec("sex_M03", "sex", "M03", "M", "C57BL/6", "M", 30.0)
    sim["noise"]["faint_broadband"]["share_of_time"] = 0.0
    off = simulate_recording(sim, spec)
    sim["noise"]["faint_broadband"]["share_of_time"] = 0.5
    on = simulate_recording(sim, spec)
    ev = on.noise[on.noise.kind == "faint_broadband"][["onset_s", "offset_s"]].to_numpy()
    t = np.arange(len(on.audio)) / on.sample_rate
    outside = ~((t[:, None] >= ev[None, :, 0]) & (t[:, None] < ev[None, :, 1] + 0.01)).any(axis=1)
    assert len(ev) and outside.mean() > 0.3
    np.testing.assert_array_equal(on.audio[outside], off.audio[outside])
    cols = ["onset_s", "offset_s", "call_type", "f_mean_hz", "amplitude"]
    pd.testing.assert_frame_equal(on.calls[cols], off.calls[cols])
