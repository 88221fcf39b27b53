"""The detectors: real clips, chunk boundaries, sample rates, noise, silence and the call images."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as sps

from usvflow.audio.io import write_wav
from usvflow.detect import CALL_COLUMNS, DEFAULT_PARAMS, detect_file, resolve_params
from usvflow.detect.evaluate import read_intervals, score

CLIPS = ["clip1", "clip2", "clip4", "clip6"]


def _chirp(fs, dur, f0, f1, amp):
    t = np.arange(int(dur * fs)) / fs
    env = np.minimum(1, np.minimum(t, dur - t) / 0.002)  # 2 ms ramps
    return (amp * env * sps.chirp(t, f0, dur, f1)).astype(np.float32)


def _recording(fs, seconds, calls, noise=0.002, seed=0):
    rng = np.random.default_rng(seed)
    x = (noise * rng.standard_normal(int(seconds * fs))).astype(np.float32)
    for on, dur, f0, f1, amp in calls:
        c = _chirp(fs, dur, f0, f1, amp)
        i = int(on * fs)
        x[i : i + len(c)] += c
    return x


@pytest.fixture(scope="module")
def real_scores(realdata):
    out = {}
    for method in ("default", "paper"):
        total = {}
        for clip in CLIPS:
            truth = read_intervals(realdata / clip / "truth.csv")
            det = detect_file(realdata / clip / "recording.wav", method)
            for thr in (0.3, 0.0):
                s = score(truth, det.calls, thr)
                total[thr] = total[thr] + s if thr in total else s
        out[method] = total
    peers = {}
    for tool in ("usvseg", "deepsqueak", "vocalmat", "mupet", "msa2"):
        total = None
        for clip in CLIPS:
            s = score(read_intervals(realdata / clip / "truth.csv"), read_intervals(realdata / clip / "peers" / f"{tool}.csv"))
            total = s if total is None else total + s
        peers[tool] = total.f1
    return out, peers


def test_default_beats_every_published_tool_on_real_clips(real_scores):
    ours, peers = real_scores
    f1 = ours["default"][0.3].f1
    assert f1 >= 0.93, f1  # a regression threshold (measured 0.953 in-sample at the shipped settings), not a goal
    assert f1 > max(peers.values())
    assert ours["default"][0.0].f1 >= f1


def test_paper_method_finds_calls_on_real_clips(real_scores):
    ours, _ = real_scores
    # The paper's extractor is reproduced as published, whatever it scores; it must find most calls
    # under the lenient criterion.
    assert ours["paper"][0.0].recall > 0.6


def test_columns_types_and_images(realdata):
    det = detect_file(realdata / "clip1" / "recording.wav")
    calls = det.calls
    assert list(calls.columns) == CALL_COLUMNS
    assert (calls.offset_s > calls.onset_s).all()
    assert (calls.f_min_hz <= calls.f_mean_hz).all() and (calls.f_mean_hz <= calls.f_max_hz).all()
    assert calls.f_mean_hz.between(30e3, 125e3).all()
    assert det.spectrograms.shape == (len(calls), 100, 100) and det.spectrograms.dtype == np.uint8
    # Left-aligned, 1 ms per column: columns after the call's duration are empty.
    dur_ms = ((calls.offset_s - calls.onset_s) * 1000).to_numpy()
    for img, d in zip(det.spectrograms, dur_ms):
        if d < 95:
            assert not img[:, int(np.ceil(d)) + 1 :].any()
        assert img[:, :2].any()  # background bins are 0: the detection's first ms may hold only background


@pytest.mark.parametrize("method", ["default", "paper"])
def test_call_across_a_chunk_boundary_is_found_once(tmp_path, method):
    fs = 250_000
    # Chunks of 2 s overlapping by 0.5 s: their own stretches meet at 1.75 s, 3.25 s, ...
    calls = [(1.70, 0.08, 60e3, 75e3, 0.05), (1.745, 0.0, 0, 0, 0), (3.22, 0.06, 70e3, 55e3, 0.05),
             (0.5, 0.04, 50e3, 60e3, 0.05)]
    calls = [c for c in calls if c[1] > 0]
    path = tmp_path / "boundary.wav"
    write_wav(path, _recording(fs, 4.5, calls), fs)
    chunked = detect_file(path, method, params={"chunk_s": 2.0, "overlap_s": 0.5}).calls
    whole = detect_file(path, method, params={"chunk_s": 10.0, "overlap_s": 1.0}).calls
    truth = np.array([[on, on + d] for on, d, *_ in calls])
    assert len(chunked) == len(whole) == 3
    assert score(truth, chunked).f1 == 1.0
    np.testing.assert_allclose(chunked[["onset_s", "offset_s"]], whole[["onset_s", "offset_s"]], atol=0.002)


@pytest.mark.parametrize("fs", [250_000, 300_000])
def test_same_calls_at_250_and_300_khz(tmp_path, fs):
    calls = [(0.2, 0.03, 50e3, 80e3, 0.02), (0.6, 0.005, 70e3, 72e3, 0.02), (1.0, 0.12, 60e3, 60e3, 0.01)]
    path = tmp_path / f"r{fs}.wav"
    write_wav(path, _recording(fs, 1.5, calls), fs)
    det = detect_file(path)
    truth = np.array([[on, on + d] for on, d, *_ in calls])
    assert score(truth, det.calls, 0.5).f1 == 1.0


def test_clicks_low_noise_and_tonal_band_are_not_calls(tmp_path):
    fs = 300_000
    rng = np.random.default_rng(3)
    x = (0.002 * rng.standard_normal(2 * fs)).astype(np.float32)
    t = np.arange(len(x)) / fs
    x += (0.01 * np.sin(2 * np.pi * 42e3 * t)).astype(np.float32)  # constant tonal band
    b, a = sps.butter(4, 15e3, fs=fs)
    x += (sps.lfilter(b, a, rng.standard_normal(len(x))) * 0.2).astype(np.float32)  # movement noise
    for c in rng.uniform(0.1, 1.9, 8):  # broadband clicks, 0.3 ms, 30+ dB above the floor
        i = int(c * fs)
        x[i : i + 90] += (0.3 * rng.standard_normal(90)).astype(np.float32)
    path = tmp_path / "noise.wav"
    write_wav(path, x, fs)
    assert len(detect_file(path).calls) == 0


def test_call_under_a_click_is_kept(tmp_path):
    fs = 250_000
    x = _recording(fs, 1.0, [(0.3, 0.05, 60e3, 70e3, 0.02)])
    rng = np.random.default_rng(5)
    i = int(0.32 * fs)
    x[i : i + 100] += (0.3 * rng.standard_normal(100)).astype(np.float32)
    path = tmp_path / "click_on_call.wav"
    write_wav(path, x, fs)
    det = detect_file(path)
    assert score(np.array([[0.3, 0.35]]), det.calls).f1 == 1.0


@pytest.mark.parametrize("method", ["default", "paper"])
def test_silence_gives_an_empty_table(tmp_path, method):
    path = tmp_path / "silent.wav"
    write_wav(path, np.zeros(250_000), 250_000)
    det = detect_file(path, method)
    assert list(det.calls.columns) == CALL_COLUMNS and len(det.calls) == 0
    assert det.spectrograms.shape == (0, 100, 100)


def test_params_are_checked():
    with pytest.raises(ValueError, match="unknown parameter"):
        resolve_params("default", {"treshold_db": 3})
    with pytest.raises(ValueError, match="unknown detection method"):
        resolve_params("deepsqueak")
    assert resolve_params("paper")["energy_percentile"] == DEFAULT_PARAMS["paper"]["energy_percentile"]


# --------------------------------------------------------------------------------------------------
# The fast default detector: its building blocks equal the textbook operations they replace, and it
# stays fast and thread-count independent.


@pytest.mark.parametrize("n, b0, b1", [(300, 30, 121), (250, 30, 121), (251, 0, 126), (300, 1, 151)])
def test_frequency_domain_hann_band_power_is_exact(n, b0, b1):
    from numpy.lib.stride_tricks import sliding_window_view

    from usvflow.detect.default import _band_power

    rng = np.random.default_rng(1)
    x = rng.standard_normal(40 * n).astype(np.float32)
    frames = sliding_window_view(x, n)[:: n // 2]
    win = sps.windows.hann(n, sym=False)
    ref = np.abs(np.fft.rfft(frames.astype(np.float64) * win, axis=1)[:, b0:b1].T) ** 2
    out = np.empty((b1 - b0, len(frames)), np.float32)
    _band_power(frames, n, b0, b1, 1, out)
    np.testing.assert_allclose(out / 4, ref, rtol=1e-3, atol=1e-4 * ref.max())


def test_row_filters_match_scipy_ndimage():
    import scipy.ndimage as ndi

    from usvflow.detect.default import _box_sum_nearest, _window_reduce

    A = np.random.default_rng(2).standard_normal((40, 7)).astype(np.float32)
    for size in (1, 2, 3, 4, 6, 17):
        np.testing.assert_allclose(_box_sum_nearest(A, size) / size,
                                   ndi.uniform_filter1d(A, size, axis=0, mode="nearest"), atol=1e-5)
    for width in (3, 5, 9):
        r = width // 2
        full = ndi.maximum_filter1d(A, width, axis=0, mode="constant", cval=-np.inf)
        np.testing.assert_array_equal(_window_reduce(A, width, np.maximum), full[r : len(A) - r])


def test_results_do_not_depend_on_threads_or_processes(tmp_path, monkeypatch):
    from usvflow.audio.io import iter_chunks, read_block
    from usvflow.detect import stream

    fs = 300_000
    calls = [(0.5 + 1.1 * k, 0.02 + 0.01 * (k % 5), 50e3 + 3e3 * k, 70e3, 0.02) for k in range(25)]
    path = tmp_path / "threads.wav"
    write_wav(path, _recording(fs, 30.0, calls), fs)
    # Worker processes read their own chunks: the same blocks as the streaming reader.
    for chunk in iter_chunks(path, 5.0, 0.5):
        np.testing.assert_array_equal(read_block(path, chunk.start, len(chunk.samples)), chunk.samples)
    one = detect_file(path, jobs=1, params={"chunk_s": 5.0})
    pools = []

    class Pool(stream.ProcessPoolExecutor):
        def __init__(self, *args, **kwargs):
            pools.append(kwargs["max_workers"])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(stream, "ProcessPoolExecutor", Pool)
    procs = detect_file(path, jobs=2, params={"chunk_s": 5.0})  # >= PROCESS_MIN_CHUNKS chunks: processes
    assert pools == [2]
    threads = detect_file(path, jobs=2, params={"chunk_s": 5.0}, overview=True)  # an overview: threads
    assert pools == [2]
    assert len(one.calls) == 25
    for other in (procs, threads):
        np.testing.assert_array_equal(one.calls.to_numpy(), other.calls.to_numpy())
        np.testing.assert_array_equal(one.spectrograms, other.spectrograms)



def test_images_drop_a_constant_tonal_band(tmp_path):
    # A constant tone at 90 kHz runs through the whole recording, a call sweeps 50 -> 60 kHz. The tone belongs
    # to the recording, not the call: the call's image must look as it does without the tone.
    fs = 300_000
    clean = _recording(fs, 2.0, [(0.8, 0.04, 50_000, 60_000, 0.3)], noise=0.002, seed=3)
    t = np.arange(len(clean)) / fs
    toned = clean + (0.01 * np.sin(2 * np.pi * 90_000 * t)).astype(np.float32)
    images = {}
    for name, x in (("clean", clean), ("toned", toned)):
        write_wav(tmp_path / f"{name}.wav", x, fs)
        det = detect_file(tmp_path / f"{name}.wav")
        hit = np.flatnonzero((det.calls["onset_s"] < 0.82) & (det.calls["offset_s"] > 0.82))
        assert len(hit) == 1, (name, det.calls)
        images[name] = det.spectrograms[hit[0]].astype(float)
    tone_rows = slice(90 - 25 - 1, 90 - 25 + 2)
    cols = images["clean"].max(axis=0) > 0
    background = np.median(images["clean"][:, cols])
    # Uncorrected, the tone would stand ~33 dB (about 130 of 255 levels) above the background.
    assert np.median(images["toned"][tone_rows][:, cols].max(axis=0)) < background + 30
    assert np.abs(images["toned"][25:36] - images["clean"][25:36]).mean() < 6  # the call itself is unchanged


def _image_of(tmp_path, name, x, fs, params=None):
    write_wav(tmp_path / f"{name}.wav", x, fs)
    det = detect_file(tmp_path / f"{name}.wav", params=params)
    hit = np.flatnonzero((det.calls["onset_s"] < 0.82) & (det.calls["offset_s"] > 0.82))
    assert len(hit) == 1, (name, det.calls)
    return det.spectrograms[hit[0]].astype(float)


def test_images_do_not_show_the_recordings_noise_level(tmp_path):
    # The same call over a quiet and a 4x (12 dB) louder noise floor. Kept, the floor is a grey level that
    # tells a network each recording's noise level (the louder floor is brighter relative to the call);
    # by default background bins are 0 and the call's own pixels are the same in both images.
    fs = 300_000
    call = [(0.8, 0.04, 50_000, 60_000, 0.3)]
    quiet, loud = (_recording(fs, 2.0, call, noise=n, seed=3) for n in (0.003, 0.012))
    sparse = {k: _image_of(tmp_path, k, x, fs) for k, x in (("quiet", quiet), ("loud", loud))}
    kept = {k: _image_of(tmp_path, k, x, fs, {"image_floor_margin_db": None}) for k, x in (("quiet", quiet), ("loud", loud))}
    cols = slice(2, 38)  # inside the call, away from its ramps
    background = np.r_[0:15, 45:100]  # rows 25-40 and 70-125 kHz; the call sweeps 50-60 kHz (rows 25-35)
    assert np.median(kept["loud"][background][:, cols]) > np.median(kept["quiet"][background][:, cols]) + 20
    for k in ("quiet", "loud"):
        assert (sparse[k][background][:, cols] > 0).mean() < 0.01
        assert sparse[k][25:36, cols].max(axis=0).min() > 150  # the call's ridge is kept in every column
    assert np.abs(sparse["quiet"][25:36, cols].max(axis=0) - sparse["loud"][25:36, cols].max(axis=0)).mean() < 3


def test_full_scale_images_keep_the_calls_level(tmp_path):
    # Halving a call's amplitude (-6 dB) leaves a call-referenced image unchanged; referenced to full scale
    # its pixels drop by 6 dB of the dynamic range.
    fs = 300_000
    level = {"image_level": "full_scale", "image_dynamic_range_db": 70.0}
    img = {}
    for amp in (0.3, 0.15):
        x = _recording(fs, 2.0, [(0.8, 0.04, 50_000, 60_000, amp)], noise=0.0005, seed=4)
        img[("call", amp)] = _image_of(tmp_path, f"c{amp}", x, fs)
        img[("full", amp)] = _image_of(tmp_path, f"f{amp}", x, fs, level)
    assert img[("call", 0.3)].max() == img[("call", 0.15)].max() == 255
    drop = img[("full", 0.3)].max() - img[("full", 0.15)].max()
    assert abs(drop - 6.02 / 70 * 255) < 3
    # A full-scale sine would be 255: a 0.3 amplitude call peaks 10.5 dB below it.
    assert abs(img[("full", 0.3)].max() - (1 + 20 * np.log10(0.3) / 70) * 255) < 4


def test_paper_image_format_follows_the_methods(tmp_path):
    # Ivanenko et al. 2020, "Input data preparation": the N x 233 spectrogram (1 ms columns) cut at 100 ms,
    # rescaled to M x 100 keeping the aspect ratio, left-aligned. A 40 ms call fills round(40 x 100/233) = 17
    # columns, a 150 ms call is cut to 100 ms and fills 43; rows stay 1 kHz from 25 kHz, so the call's band
    # (50-60 kHz) is in rows 25-35 as in the default image. The default format is unchanged by the option.
    fs = 300_000
    x = _recording(fs, 2.0, [(0.5, 0.04, 50_000, 60_000, 0.3), (1.2, 0.15, 50_000, 60_000, 0.3)], noise=0.002, seed=5)
    write_wav(tmp_path / "two.wav", x, fs)
    paper = detect_file(tmp_path / "two.wav", params={"image_format": "paper"})
    default = detect_file(tmp_path / "two.wav")
    assert np.array_equal(paper.calls.to_numpy(), default.calls.to_numpy())  # only the images differ
    for img, on, off in zip(paper.spectrograms, paper.calls["onset_s"], paper.calls["offset_s"]):
        n = min(int(np.ceil((off - on) * 1000 - 1e-9)), 100)
        m = round(n * 100 / 233)
        used = np.flatnonzero(img.any(axis=0))
        assert used.max() + 1 <= m and used.min() <= 1, (n, m, used)  # left-aligned, M columns at most
        assert used.max() + 1 >= m - 2  # the call reaches its end (background at the ramps may be 0)
        ridge = img[:, :m].argmax(axis=0)
        assert np.median(ridge) == pytest.approx(30, abs=6)  # 50-60 kHz: rows 25-35
    long = paper.spectrograms[np.argmax(paper.calls["offset_s"] - paper.calls["onset_s"])]
    assert 41 <= np.flatnonzero(long.any(axis=0)).max() + 1 <= 43  # cut at 100 ms: at most 43 columns
    # The same pixels as the default image squeezed 100/233 in time (anti-aliased), up to resampling.
    from skimage.transform import resize

    d = default.spectrograms[0][:, :40].astype(float)
    squeezed = resize(d, (100, 17), anti_aliasing=True, preserve_range=True)
    assert np.corrcoef(squeezed.ravel(), paper.spectrograms[0][:, :17].astype(float).ravel())[0, 1] > 0.85


# --------------------------------------------------------------------------------------------------
# Faint calls kept whole (issue 15): fragments along one frequency trajectory are one call.


def _faded_call(fs, seed, strong=0.003, faint=0.0008):
    """A 80 ms up-sweep: 20 ms clearly above the noise, a 6 ms fade to silence, then 54 ms so faint that its
    ridge stays between the hysteresis and the detection threshold."""
    rng = np.random.default_rng(seed)
    x = (0.002 * rng.standard_normal(int(0.6 * fs))).astype(np.float32)
    dur = 0.08
    t = np.arange(int(dur * fs)) / fs
    env = np.minimum(1, np.minimum(t, dur - t) / 0.002) * np.where(t < 0.02, strong, faint)
    env[(t >= 0.02) & (t < 0.026)] = 0.0
    i = int(0.25 * fs)
    x[i : i + len(t)] += (env * np.sin(2 * np.pi * np.cumsum(60e3 + 10e3 * t / dur) / fs)).astype(np.float32)
    return x, np.array([[0.25, 0.25 + dur]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_faded_faint_call_stays_whole(tmp_path, seed):
    # Before trajectory bridging only the strong 20 ms piece was reported (IoU 0.25 with the call): a miss
    # and a false detection, the failure seen on unseen real clips.
    fs = 250_000
    x, truth = _faded_call(fs, seed)
    path = tmp_path / "faded.wav"
    write_wav(path, x, fs)
    calls = detect_file(path).calls
    assert len(calls) == 1
    assert score(truth, calls, 0.5).f1 == 1.0


def test_a_call_through_broadband_noise_stays_whole(tmp_path):
    # A 100 ms call with a 30 ms broadband burst (20 dB above the floor) over its middle: the broadband
    # penalty hides the call inside the burst, and the old detector reported two halves.
    fs = 250_000
    rng = np.random.default_rng(0)
    x = _recording(fs, 0.6, [(0.2, 0.1, 70e3, 62e3, 0.003)])
    sos = sps.butter(4, [2e3, 0.97 * fs / 2], btype="bandpass", fs=fs, output="sos")
    m = int(0.03 * fs)
    burst = sps.sosfilt(sos, rng.standard_normal(m))
    x[int(0.235 * fs) : int(0.235 * fs) + m] += (burst / burst.std() * 0.02 * np.hanning(m)).astype(np.float32)
    path = tmp_path / "burst.wav"
    write_wav(path, x, fs)
    calls = detect_file(path).calls
    assert len(calls) == 1
    assert score(np.array([[0.2, 0.3]]), calls, 0.5).f1 == 1.0


@pytest.mark.parametrize("f_second", [66e3, 90e3])
def test_neighbours_across_a_silent_gap_stay_apart(tmp_path, f_second):
    # 20 ms of silence (longer than merge_gap_s, shorter than bridge_gap_s) between two calls, the second
    # continuing the first's frequency or not: nothing along the way, so no bridge.
    fs = 300_000
    calls = [(0.2, 0.05, 60e3, 66e3, 0.01), (0.27, 0.04, f_second, f_second - 4e3, 0.01)]
    path = tmp_path / "neighbours.wav"
    write_wav(path, _recording(fs, 0.6, calls), fs)
    det = detect_file(path).calls
    truth = np.array([[on, on + d] for on, d, *_ in calls])
    assert len(det) == 2 and score(truth, det, 0.5).f1 == 1.0


def test_bridging_can_be_switched_off(tmp_path):
    fs = 250_000
    x, truth = _faded_call(fs, 0)
    path = tmp_path / "faded.wav"
    write_wav(path, x, fs)
    off = detect_file(path, params={"bridge_gap_s": 0.0}).calls
    assert score(truth, off, 0.3).tp == 0  # only the strong piece: the failure


def test_detect_variants_equal_detect_file(realdata):
    from usvflow.detect import detect_variants

    path = realdata / "clip4" / "recording.wav"
    variants = [{}, {"threshold_db": 9.0, "pad_s": 0.002}, {"broadband_penalty": 0.2}, {"bridge_gap_s": 0.0}]
    for v, table in zip(variants, detect_variants(path, variants)):
        ref = detect_file(path, params=v).calls[["onset_s", "offset_s", "score"]]
        np.testing.assert_array_equal(table.to_numpy(), ref.to_numpy())


def test_input_error_crosses_processes_intact():
    # A worker process's InputError reaches the parent as the same one line (pickled by path and problem).
    import pickle

    from usvflow.errors import InputError

    err = pickle.loads(pickle.dumps(InputError("rec.wav", "could not decode audio at sample 5")))
    assert isinstance(err, InputError) and (err.path, err.problem) == ("rec.wav", "could not decode audio at sample 5")
    assert str(err) == "rec.wav: could not decode audio at sample 5"
