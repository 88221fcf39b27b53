"""Pair recordings (usvflow.simulate.pairs): two animals whose calls interleave, each call's emitter in the truth."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from usvflow.audio.io import read_wav
from usvflow.audio.stft import spectrogram
from usvflow.cli import main as usvflow
from usvflow.simulate.pairs import PAIR_COLUMNS, plan_pairs, simulate_pair, simulate_pairs
from usvflow.simulate.recording import simulate_recording


@pytest.fixture()
def pair_and_parts(sim):
    pair = plan_pairs(sim, 2, 0.25)[1]  # pair02: the male carries the noise, the female's calls are thinned
    rec = simulate_pair(sim, pair)
    return sim, pair, rec


def test_truth_names_both_emitters_and_calls_do_not_overlap(pair_and_parts):
    sim, pair, rec = pair_and_parts
    calls = rec.calls
    assert set(calls["sex"]) == {"F", "M"}
    assert set(calls["animal"]) == {pair.female.animal, pair.male.animal}
    assert (calls["recording"] == pair.recording).all() and list(calls["call_id"]) == list(range(len(calls)))
    assert calls["onset_s"].is_monotonic_increasing
    on, off = calls["onset_s"].to_numpy(), calls["offset_s"].to_numpy()
    sexes = calls["sex"].to_numpy()
    for i in range(len(calls) - 1):  # neighbours of different animals keep the simulator's minimum gap
        if sexes[i] != sexes[i + 1]:
            assert on[i + 1] >= off[i] + sim["timing"]["min_gap_s"] - 1e-9
    # The carrier's calls are all there, the quiet animal's are a subset of its own calls.
    male_alone = simulate_recording(sim, pair.male)
    assert (calls["sex"] == "M").sum() == len(male_alone.calls)
    female_alone = simulate_recording(sim, pair.female)
    kept = calls[calls["sex"] == "F"]
    assert 0 < len(kept) < len(female_alone.calls)
    assert set(np.round(kept["onset_s"], 6)) <= set(np.round(female_alone.calls["onset_s"], 6))
    # SNR of the quiet track's calls refers to the real floor: the same numbers as alone.
    alone = female_alone.calls.set_index(np.round(female_alone.calls["onset_s"], 6))
    assert np.allclose(kept["snr_db"].to_numpy(), alone.loc[np.round(kept["onset_s"], 6), "snr_db"].to_numpy())
    # One noise floor (the carrier's), not two.
    assert rec.noise.equals(male_alone.noise.assign(recording=pair.recording))


def _peak_db(audio, fs):
    """Per frame, the loudest bin in dB above that bin's median over the recording (25-125 kHz)."""
    spec = spectrogram(audio, fs, window_s=0.001, hop_s=0.0005).band(25e3, 125e3)
    floor = np.median(spec.power, axis=1, keepdims=True)
    return spec.times, 10 * np.log10(spec.power / floor + 1e-30).max(axis=0)


def _level(times, db, on, off):
    sel = (times >= on) & (times <= off)
    return float(db[sel].max()) if sel.any() else -np.inf


def test_both_animals_calls_carry_energy_and_removed_calls_are_gone(pair_and_parts):
    sim, pair, rec = pair_and_parts
    times, db = _peak_db(rec.audio, rec.sample_rate)
    for sex in ("F", "M"):
        loud = rec.calls[(rec.calls["sex"] == sex) & ~rec.calls["faint"]]
        assert np.median([_level(times, db, a, b) for a, b in loud[["onset_s", "offset_s"]].to_numpy()]) > 15
    alone = simulate_recording(sim, pair.female)
    gone = alone.calls[~np.isin(np.round(alone.calls["onset_s"], 6), np.round(rec.calls["onset_s"], 6))]
    # away from every kept call and from the carrier's noise events (a movement episode there would be measured)
    clear = [(a, b) for a, b in gone.loc[~gone["faint"], ["onset_s", "offset_s"]].to_numpy()
             if not ((rec.calls["onset_s"] < b + 0.01) & (rec.calls["offset_s"] > a - 0.01)).any()
             and not ((rec.noise["onset_s"] < b + 0.01) & (rec.noise["offset_s"] > a - 0.01)).any()]
    assert clear, "expected removed calls away from every kept call"
    t_alone, db_alone = _peak_db(alone.audio, alone.sample_rate)
    there = np.median([_level(t_alone, db_alone, a, b) for a, b in clear])
    now = np.median([_level(times, db, a, b) for a, b in clear])
    assert there > 15 and now < there - 10, (there, now)  # the call was in the female's track, not in the pair


def test_pairs_on_disk_and_through_the_cli(tmp_path, sim, capsys):
    table = simulate_pairs(sim, 2, 0.2, tmp_path / "lib")
    assert list(table.columns) == PAIR_COLUMNS and len(table) == 2
    for r in table.itertuples():
        truth = pd.read_csv(tmp_path / "lib" / "truth" / f"{r.recording}.calls.csv")
        assert r.male_share == pytest.approx((truth["sex"] == "M").mean())
        x, fs = read_wav(r.path)
        assert fs == sim["sample_rate_hz"] and len(x) == int(0.2 * 60 * fs)
    assert pd.read_csv(tmp_path / "lib" / "pairs.tsv", sep="\t")["recording"].tolist() == ["pair01", "pair02"]
    # `usvflow simulate --pairs N` writes the same files.
    code = usvflow(["simulate", "--preset", "test", "--pairs", "2", "--pair-minutes", "0.2", "-o",
                    str(tmp_path / "cli"), "-j", "1"])
    assert code == 0
    assert "2 pair recordings" in capsys.readouterr().out
    cli = pd.read_csv(tmp_path / "cli" / "pairs.tsv", sep="\t")
    assert cli["male_share"].tolist() == pytest.approx(table["male_share"].tolist())
    assert usvflow(["simulate", "--preset", "test", "--pairs", "2", "--pair-minutes", "-1", "-o",
                    str(tmp_path / "bad")]) == 2
    assert "--pair-minutes must be positive" in capsys.readouterr().err


def test_male_shares_spread_over_pairs(sim):
    shares = [simulate_pair(sim, p).calls["sex"].eq("M").mean() for p in plan_pairs(sim, 6, 0.2)]
    assert min(shares) < 0.4 and max(shares) > 0.6  # thinning alternates between the two animals
