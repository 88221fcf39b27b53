"""The background-only confound check: stretches avoid calls, the dual-form models equal the classical
stage's, a cohort whose background differs by group is flagged, one whose background does not is not, and
real recordings with made-up groups are measured."""
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from usvflow.audio.io import write_wav
from usvflow.classify import confound as cf
from usvflow.classify import nulls
from usvflow.classify.classical import fit_predict
from usvflow.classify.classical_tasks import DEFAULT_PARAMS, encode_labels
from usvflow.detect import detect_file

SR = 250_000
SEX = {"positive": "M", "negative": "F"}


def test_stretches_keep_away_from_calls_and_each_other():
    calls = pd.DataFrame({"onset_s": [0.10, 0.50, 0.52, 1.20], "offset_s": [0.20, 0.51, 0.70, 1.30]})
    rng = np.random.default_rng(1)
    w = cf.call_free_windows(calls, 2.0, np.array([0.03, 0.05]), 30, 0.02, rng, edge_s=0.002)
    assert 0 < len(w) <= 30
    assert set(np.round(w.offset_s - w.onset_s, 9)) <= {0.03, 0.05}  # durations from the pool, never shortened
    for on, off in zip(calls.onset_s, calls.offset_s):
        assert ((w.offset_s <= on - 0.02 + 1e-12) | (w.onset_s >= off + 0.02 - 1e-12)).all()
    assert (w.onset_s.to_numpy()[1:] >= w.offset_s.to_numpy()[:-1] - 1e-12).all()
    assert w.onset_s.min() >= 0.002 and w.offset_s.max() <= 2.0 - 0.002
    # A recording full of calls leaves no room: nothing is drawn, nothing raises.
    busy = pd.DataFrame({"onset_s": [0.0], "offset_s": [2.0]})
    assert cf.call_free_windows(busy, 2.0, np.array([0.03]), 10, 0.02, rng).empty


@pytest.mark.parametrize("estimator", ["ridge", "svm_quadratic"])
def test_dual_form_scores_equal_the_classical_models(estimator):
    rng = np.random.default_rng(0)
    X = ((rng.random((120, 2000)) < 0.05) * rng.integers(0, 256, (120, 2000))).astype(np.float32) / 255
    y = rng.integers(0, 2, 100)
    tr, te = np.arange(100), np.arange(100, 120)
    params = nulls.fixed_regularisation(DEFAULT_PARAMS)  # one value, as the control uses
    direct, _ = fit_predict(estimator, X[tr], y, X[te], params)
    dual = nulls.Gram(X).scores(estimator, tr, te, y, params)
    np.testing.assert_allclose(dual, direct, atol=1e-5)


def _cohort(tmp_path, confounded: bool, n_per_group=4, seconds=1.5, seed=0):
    """Noise-only recordings with a few 'calls' (chirps) each. Confounded: the males' recordings have a
    tonal band at 45 kHz and 6 dB more noise (a different rig); otherwise levels are drawn alike for all."""
    rng = np.random.default_rng(seed)
    rows, calls = [], {}
    t = np.arange(int(seconds * SR)) / SR
    for i in range(2 * n_per_group):
        sex = "FM"[i % 2]
        level = 10 ** (rng.uniform(-70, -60) / 20)
        if confounded and sex == "M":
            level *= 2.0
        x = level * rng.standard_normal(len(t))
        if confounded and sex == "M":
            x += 10 ** (-55 / 20) * np.sin(2 * np.pi * 45_000 * t)
        onsets = np.sort(rng.uniform(0.05, seconds - 0.1, 4))
        for on in onsets:
            k = (t >= on) & (t < on + 0.04)
            x[k] += 0.05 * np.sin(2 * np.pi * (60_000 + 2e5 * (t[k] - on)) * t[k])
        path = tmp_path / f"{sex}{i:02d}.wav"
        write_wav(path, x.astype(np.float32), SR)
        rows.append({"recording": path.stem, "path": str(path), "animal": path.stem, "sex": sex})
        calls[path.stem] = pd.DataFrame({"onset_s": onsets, "offset_s": onsets + 0.04})
    return pd.DataFrame(rows), calls


def _run(samples, calls, settings=None):
    inputs, table = cf.cohort_background(samples, calls, settings)
    y = encode_labels(table["sex"], SEX)
    return cf.evaluate(inputs, y, table["animal"], ["F", "M"], dict(DEFAULT_PARAMS), settings, group="sex"), table


def test_background_that_differs_by_group_is_flagged(tmp_path):
    samples, calls = _cohort(tmp_path, confounded=True)
    res, table = _run(samples, calls, {"windows_per_recording": 12})
    assert len(table) == 8 * 12
    assert res.verdict == "confounded" and res.values["flagged"]
    assert res.values["p"] <= 0.05 and res.values["n_assignments"] == 70 and res.values["exhaustive"]
    assert res.values["best_mean_accuracy"] >= 0.9
    assert "predict sex in held-out animals" in res.sentence
    assert set(res.folds["fold"]) == set(samples["animal"])


def test_background_alike_in_both_groups_is_not_flagged(tmp_path):
    samples, calls = _cohort(tmp_path, confounded=False)
    res, _ = _run(samples, calls, {"windows_per_recording": 12})
    assert res.verdict == "clear" and not res.values["flagged"]
    assert res.values["p"] > 0.05
    assert "do not predict sex" in res.sentence


def test_too_few_animals_is_said_plainly(tmp_path):
    samples, calls = _cohort(tmp_path, confounded=False, n_per_group=2)
    res, _ = _run(samples, calls, {"windows_per_recording": 10})
    assert res.values["n_assignments"] == 6 and res.values["p_min"] == pytest.approx(2 / 6)  # 3 splits, each twice
    assert res.verdict in ("undecided", "suspect")
    if res.verdict == "undecided":
        assert "too small to decide whether that is above chance" in res.sentence
    one_group = samples.assign(sex="F")
    inputs, table = cf.cohort_background(one_group, calls, {"windows_per_recording": 5})
    out = cf.evaluate(inputs, encode_labels(table["sex"], SEX), table["animal"], ["F", "M"], dict(DEFAULT_PARAMS))
    assert out.verdict == "undecided" and "not run" in out.sentence


def _real_sheet(realdata, tmp_path, halves=False):
    """The four dev clips with made-up sexes: first two F, last two M; ``halves`` cuts each clip in two
    'animals' (two animals per group recorded in the same session, as cohorts recorded group by group)."""
    rows = []
    for clip, sex in zip(["clip1", "clip2", "clip4", "clip6"], "FFMM"):
        path = realdata / clip / "recording.wav"
        if not halves:
            rows.append({"recording": clip, "path": str(path), "animal": clip, "sex": sex})
            continue
        x, sr = sf.read(path, dtype="int16")
        for part, seg in zip("ab", (x[: len(x) // 2], x[len(x) // 2:])):
            p = tmp_path / f"{clip}{part}.wav"
            sf.write(p, seg, sr, subtype="PCM_16")
            rows.append({"recording": p.stem, "path": str(p), "animal": p.stem, "sex": sex})
    samples = pd.DataFrame(rows)
    return samples, {r.recording: detect_file(r.path).calls for r in samples.itertuples()}


def test_made_up_sexes_on_four_real_clips_cannot_be_decided(realdata, tmp_path):
    """Measured: the made-up groups' background (two clean clips vs a loud clipped one and a faint one) does
    not carry over between held-out clips, and 4 animals allow no test; the control says it cannot decide."""
    res, _ = _run(*_real_sheet(realdata, tmp_path))
    assert res.values["n_animals"] == 4 and res.values["p_min"] == pytest.approx(2 / 6)
    assert res.verdict != "clear"  # never "no confound" on a cohort this small


@pytest.mark.slow
def test_made_up_sexes_recorded_session_by_session_are_flagged(realdata, tmp_path):
    res, _ = _run(*_real_sheet(realdata, tmp_path, halves=True))
    assert res.values["n_animals"] == 8
    assert res.values["flagged"], res.sentence
    assert res.values["best_mean_accuracy"] >= 0.75


def test_caption_gets_the_sentence_before_the_provenance_line(repo_root):
    template = (repo_root / "report" / "fig3.rst").read_text()
    out = cf.caption_with_control(template, "Background-only control: X.")
    assert out.index("Background-only control: X.") < out.index("Made by {{")
    assert out.startswith(template.split("\n\nMade by")[0])
    assert cf.caption_with_control("A caption.", "S.") == "A caption.\n\nS.\n"
    assert cf.caption_with_control(template, None) == template.rstrip("\n") + "\n"


@pytest.mark.parametrize("text,expected", [
    ("onset_s,f_min_hz\n0.1,40000\n", "call table lacks offset_s"),
    ("onset_s,offset_s\n0.1,0.2\n0.5,0.4\n", "row 3: onset_s / offset_s not a time span"),
])
def test_bad_call_table_is_one_line_naming_the_file(tmp_path, text, expected):
    from usvflow.errors import InputError

    path = tmp_path / "rec.calls.csv"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        cf.read_calls(path)
    assert str(path) in str(err.value) and expected in str(err.value)


@pytest.mark.slow
def test_made_up_sexes_on_seven_real_recordings_measured(realdata, tmp_path, config):
    """Issue 16's check on the nearest sheet the repository allows (benchmarks/confound_made_up_sex.py): 4 dev
    clips "F" (four sessions), the unlabelled recording in 3 pieces "M" (one session). Measured: not flagged.
    The background does tell the one "M" session (its held-out pieces are recognised), but each "F" clip is a
    session of its own that no other "F" shares, so held-out "F" clips are not recognised as "F"; the mean over
    animals sits near chance, and relabellings do as well. What this sheet lacks, against the issue's, is a
    recording condition that the made-up "F" recordings share."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("made_up", realdata.parents[1] / "benchmarks" / "confound_made_up_sex.py")
    made_up = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(made_up)
    sheet = made_up.made_up_sheet(realdata, tmp_path)
    assert list(sheet["sex"]) == list("FFFFMMM") and sheet["animal"].nunique() == 7
    res, _, _ = made_up.run(sheet, config)
    v = res.values
    assert v["n_assignments"] == 35 and v["exhaustive"] and v["p_min"] == pytest.approx(1 / 35)
    svm = v["models"]["svm_background"]["fold_accuracy"]
    pieces = [a for a in svm if a.startswith("unlabelled")]
    assert sum(svm[a] > 0.5 for a in pieces) >= 2  # the shared "M" session is recognised in held-out pieces
