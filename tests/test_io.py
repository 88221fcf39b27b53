"""The WAV reader: formats, channels, streaming, and every bad input answered with one line."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from usvflow.audio.io import inspect_wav, iter_chunks, read_wav, write_wav
from usvflow.errors import InputError

FS = 250_000


def _tone(n: int = FS // 2, f: float = 60e3, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / FS)).astype(np.float32)


@pytest.mark.parametrize("subtype,tol", [("PCM_16", 1 / 2**15), ("PCM_24", 1 / 2**23), ("PCM_32", 1 / 2**31),
                                         ("FLOAT", 0.0), ("DOUBLE", 0.0)])
def test_formats_read_back(tmp_path, subtype, tol):
    x = _tone()
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, x, FS, subtype=subtype)
    y, fs = read_wav(path)
    assert fs == FS and y.dtype == np.float32
    assert np.max(np.abs(y - x)) <= tol + 1e-7


def test_chunks_rebuild_the_file_and_stay_bounded(tmp_path):
    x = np.random.default_rng(1).standard_normal(FS * 3 + 123).astype(np.float32) * 0.1
    path = tmp_path / "noise.wav"
    sf.write(path, x, FS, subtype="FLOAT")
    chunk_s, overlap_s = 0.4, 0.05
    chunks = list(iter_chunks(path, chunk_s=chunk_s, overlap_s=overlap_s))
    size, overlap = int(chunk_s * FS), int(overlap_s * FS)
    assert all(len(c.samples) <= size for c in chunks)
    assert [c.start for c in chunks] == list(range(0, len(x) - overlap, size - overlap))[: len(chunks)]
    assert chunks[-1].stop == len(x)
    for c in chunks:  # every block is exactly the file's samples at its position
        np.testing.assert_array_equal(c.samples, x[c.start:c.stop])


def test_channels(tmp_path):
    left, right = _tone(f=50e3), _tone(f=80e3, amp=0.25)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), FS, subtype="FLOAT")
    assert inspect_wav(path).channels == 2
    np.testing.assert_allclose(read_wav(path, channel=1)[0], right)
    np.testing.assert_allclose(read_wav(path, channel="1")[0], right)
    np.testing.assert_allclose(read_wav(path, channel="mean")[0], (left + right) / 2, atol=1e-7)
    chunk = next(iter_chunks(path, chunk_s=0.1, channel=0))
    np.testing.assert_allclose(chunk.samples, left[: len(chunk.samples)])
    with pytest.raises(InputError, match=r"channel 2 requested but the file has 2 channel"):
        read_wav(path, channel=2)
    with pytest.raises(InputError, match="0-based index or 'mean'"):
        read_wav(path, channel="left")


def test_write_wav_clips_like_a_recorder(tmp_path):
    path = tmp_path / "loud.wav"
    write_wav(path, np.array([0.0, 2.0, -3.0, 0.5], dtype=np.float32), FS)
    y, _ = read_wav(path)
    assert y.max() < 1.0 and y.min() == -1.0 and abs(y[3] - 0.5) < 1e-4


# --- bad input: one line naming the file and the problem --------------------------------------


def _one_line(err: InputError, path) -> str:
    msg = str(err)
    assert "\n" not in msg and msg.startswith(str(path))
    return msg


def test_missing_and_empty_and_garbage(tmp_path):
    with pytest.raises(InputError) as e:
        inspect_wav(tmp_path / "absent.wav")
    assert "file not found" in _one_line(e.value, tmp_path / "absent.wav")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="file is empty"):
        inspect_wav(empty)
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 20)
    with pytest.raises(InputError) as e:
        inspect_wav(text)
    assert "not a readable audio file" in _one_line(e.value, text)


def test_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    sf.write(path, _tone(), FS, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # an interrupted copy
    with pytest.raises(InputError) as e:
        inspect_wav(path)
    assert "truncated" in _one_line(e.value, path)


@pytest.mark.parametrize("subtype", ["ULAW", "ALAW", "IMA_ADPCM"])
def test_compressed_encodings_refused(tmp_path, subtype):
    path = tmp_path / f"{subtype}.wav"
    sf.write(path, _tone(n=FS // 10), FS, subtype=subtype)
    with pytest.raises(InputError) as e:
        inspect_wav(path)
    assert f"unsupported encoding {subtype}" in _one_line(e.value, path)


def test_low_sample_rate_refused(tmp_path):
    path = tmp_path / "speech.wav"
    sf.write(path, np.zeros(4410, dtype=np.float32), 44_100, subtype="PCM_16")
    with pytest.raises(InputError) as e:
        inspect_wav(path)
    assert "sample rate 44100 Hz is too low" in _one_line(e.value, path)
    assert inspect_wav(path, min_sample_rate_hz=40_000).sample_rate == 44_100


def test_header_only_wav(tmp_path):
    path = tmp_path / "nothing.wav"
    sf.write(path, np.zeros(0, dtype=np.float32), FS, subtype="PCM_16")
    with pytest.raises(InputError, match="no samples"):
        inspect_wav(path)
