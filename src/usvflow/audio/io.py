"""Reading and writing ultrasonic recordings.

Recordings can be hours long at 250-300 kHz, so everything here streams: :func:`iter_chunks` hands
out fixed-size float32 blocks and never holds the whole file. Decoding is done by libsndfile
(through ``soundfile``); this module adds the checks a lab needs before trusting a file (truncation,
encoding, sample rate, channel choice), each reported as one :class:`~usvflow.errors.InputError`.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

import numpy as np
import soundfile as sf

from ..errors import InputError

#: Encodings we decode. Compressed or companded WAVs (ADPCM, A-law, mu-law, MP3 in WAV) lose the
#: faint high-frequency energy that USVs live in, so they are refused rather than half-read.
SUPPORTED_SUBTYPES = {"PCM_16", "PCM_24", "PCM_32", "PCM_U8", "FLOAT", "DOUBLE"}

#: Below this rate the Nyquist frequency (80 kHz) cuts off much of the mouse USV range (35-110 kHz).
DEFAULT_MIN_SAMPLE_RATE_HZ = 160_000

Channel = Union[int, str]  # a 0-based index, or "mean" to average all channels


@dataclass(frozen=True)
class WavInfo:
    path: str
    sample_rate: int
    channels: int
    frames: int
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


@dataclass(frozen=True)
class Chunk:
    """A block of one channel. ``start`` is the index of ``samples[0]`` in the whole recording."""

    start: int
    samples: np.ndarray  # float32, full scale = 1.0

    @property
    def stop(self) -> int:
        return self.start + len(self.samples)


def _check_riff_size(path: Path) -> None:
    """Refuse WAVs whose data chunk is shorter than the header promises (an interrupted copy).

    libsndfile silently reads what is there, which would make a truncated recording look like a
    shorter, complete one.
    """
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return  # not a plain RIFF/WAVE file; libsndfile decides what it is
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            chunk_id, chunk_size = struct.unpack(endian + "4sI", fh.read(8))
            if chunk_id == b"data":
                if chunk_size in (0, 0xFFFFFFFF):
                    return  # size left open by a streaming recorder; nothing to compare
                available = size - pos - 8
                if available < chunk_size:
                    raise InputError(
                        path,
                        f"WAV is truncated: the header promises {chunk_size} bytes of audio "
                        f"but the file holds {available}",
                    )
                return
            pos += 8 + chunk_size + (chunk_size & 1)
        raise InputError(path, "WAV has no audio data chunk (truncated or not a recording)")


def inspect_wav(path: str | Path, min_sample_rate_hz: int = DEFAULT_MIN_SAMPLE_RATE_HZ) -> WavInfo:
    """Open ``path`` just enough to check it is a usable ultrasonic recording.

    Raises :class:`InputError` (one line: file and problem) for a missing, unreadable, truncated,
    empty, compressed or low-rate file.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected a WAV file")
    if p.stat().st_size == 0:
        raise InputError(p, "file is empty")
    _check_riff_size(p)
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        detail = str(exc).split(":")[-1].strip() or "unknown format"
        raise InputError(p, f"not a readable audio file ({detail})") from None
    if info.subtype not in SUPPORTED_SUBTYPES:
        raise InputError(
            p,
            f"unsupported encoding {info.subtype} ({info.subtype_info}); "
            "convert to 16/24/32-bit PCM or float WAV",
        )
    if info.samplerate < min_sample_rate_hz:
        raise InputError(
            p,
            f"sample rate {info.samplerate} Hz is too low for ultrasonic vocalizations "
            f"(need at least {min_sample_rate_hz} Hz)",
        )
    if info.frames == 0:
        raise InputError(p, "WAV holds no samples")
    return WavInfo(str(p), int(info.samplerate), int(info.channels), int(info.frames), info.subtype)


def _resolve_channel(info: WavInfo, channel: Channel) -> Channel:
    if isinstance(channel, str):
        if channel == "mean":
            return channel
        if channel.isdigit():
            channel = int(channel)
        else:
            raise InputError(info.path, f"channel must be a 0-based index or 'mean', got {channel!r}")
    if not 0 <= channel < info.channels:
        raise InputError(
            info.path,
            f"channel {channel} requested but the file has {info.channels} channel(s) "
            "(channels count from 0; 'mean' averages them)",
        )
    return channel


def _pick(block: np.ndarray, channel: Channel) -> np.ndarray:
    if block.ndim == 1:
        return block
    if channel == "mean":
        return block.mean(axis=1, dtype=np.float32)
    return np.ascontiguousarray(block[:, channel])


def iter_chunks(
    path: str | Path,
    chunk_s: float = 10.0,
    overlap_s: float = 0.0,
    channel: Channel = 0,
    min_sample_rate_hz: int = DEFAULT_MIN_SAMPLE_RATE_HZ,
) -> Iterator[Chunk]:
    """Stream one channel of a recording as float32 blocks of ``chunk_s`` seconds.

    Consecutive chunks share ``overlap_s`` seconds, so a detector can see context across the
    boundary; ``Chunk.start`` tells where each block sits in the file. Memory is bounded by the
    chunk size whatever the file length.
    """
    info = inspect_wav(path, min_sample_rate_hz)
    channel = _resolve_channel(info, channel)
    size = max(1, int(round(chunk_s * info.sample_rate)))
    overlap = int(round(overlap_s * info.sample_rate))
    if overlap >= size:
        raise ValueError("overlap_s must be shorter than chunk_s")
    step = size - overlap
    with sf.SoundFile(str(path)) as fh:
        start = 0
        while start < info.frames:
            samples = _read_at(fh, path, start, size, channel)
            if len(samples) == 0:
                break
            yield Chunk(start, samples)
            if start + len(samples) >= info.frames:
                break
            start += step


def _read_at(fh: sf.SoundFile, path: str | Path, start: int, size: int, channel: Channel) -> np.ndarray:
    """``size`` samples of one channel from sample ``start`` of an open file, float32 (fewer at its end)."""
    fh.seek(start)
    try:
        block = fh.read(size, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(path, f"could not decode audio at sample {start} ({exc})") from None
    return _pick(block, channel)


def read_block(path: str | Path, start: int, size: int, channel: Channel = 0) -> np.ndarray:
    """The block of :func:`iter_chunks` that starts at sample ``start`` (``size`` samples, fewer at the end),
    read on its own: a worker process can fetch its chunk itself instead of receiving it."""
    with sf.SoundFile(str(path)) as fh:
        return _read_at(fh, path, start, size, channel)


def read_wav(
    path: str | Path,
    channel: Channel = 0,
    start_s: float = 0.0,
    stop_s: float | None = None,
    min_sample_rate_hz: int = DEFAULT_MIN_SAMPLE_RATE_HZ,
) -> tuple[np.ndarray, int]:
    """Read one channel of (a stretch of) a recording into memory: ``(float32 samples, rate)``."""
    info = inspect_wav(path, min_sample_rate_hz)
    channel = _resolve_channel(info, channel)
    start = int(round(start_s * info.sample_rate))
    stop = info.frames if stop_s is None else min(info.frames, int(round(stop_s * info.sample_rate)))
    try:
        block, _ = sf.read(str(path), start=start, stop=stop, dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise InputError(path, f"could not decode audio ({exc})") from None
    return _pick(block, channel), info.sample_rate


def write_wav(path: str | Path, samples: np.ndarray, sample_rate: int, subtype: str = "PCM_16") -> None:
    """Write float samples (full scale 1.0; values beyond are clipped, as a recorder would)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    data = np.clip(samples, -1.0, 1.0 - 1.0 / 32768) if subtype.startswith("PCM") else samples
    sf.write(str(path), data, int(sample_rate), subtype=subtype)
