"""The streaming driver: chunks of a recording through either detector, calls found exactly once."""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
from collections import deque
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd

from ..audio.io import Channel, Chunk, _resolve_channel, inspect_wav, iter_chunks, read_block
from ..errors import InputError
from .calls import Detections, _ChunkCalls, _empty_calls, _OverviewBuilder
from .default import EVIDENCE_KEYS, _default_evidence, _Evidence
from .images import _call_images
from .paper import _paper_chunk, _paper_thresholds, _PaperSpectrogram
from .params import CALL_COLUMNS, IMAGE_F_LO_HZ, IMAGE_SIZE, resolve_params
from .segments import _default_calls, _default_chunk


class _ImageSpool:
    """Call images written to an anonymous temporary file as they come and handed back memory-mapped
    (copy-on-write), so the images of a long recording (10 kB per call, ~85 MB per hour of a busy
    recording) do not pile up in memory: peak memory does not grow with the recording's length."""

    def __init__(self) -> None:
        self._fh = None
        self.n = 0

    def append(self, imgs: np.ndarray) -> None:
        if len(imgs) == 0:
            return
        if self._fh is None:
            import tempfile

            self._fh = tempfile.TemporaryFile()  # already unlinked: gone when the mapping is
        self._fh.write(np.ascontiguousarray(imgs, np.uint8).data)
        self.n += len(imgs)

    def array(self) -> np.ndarray:
        if self.n == 0:
            return np.zeros((0, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
        self._fh.flush()
        arr = np.memmap(self._fh, np.uint8, mode="c", shape=(self.n, IMAGE_SIZE, IMAGE_SIZE))
        self._fh.close()  # the mapping keeps its own handle
        return arr


#: Fewest chunks for which the default method runs its chunks in worker processes (below, threads: a
#: process pool's start costs more than it saves on a short recording).
PROCESS_MIN_CHUNKS = 4


@dataclass(frozen=True)
class _Job:
    """What the work on every chunk of one recording needs (sent once to each worker process)."""

    path: str
    channel: Channel
    sr: int
    frames: int
    size: int
    overlap: int
    dur: float
    p: dict
    p_run: dict
    sp: Any
    thresholds: Any
    slack: float = 0.05


def _work(job: _Job, chunk: Chunk, buf: dict, ov: Any):
    """One chunk through the detector: its own calls (those starting in its own stretch), their times
    clipped to the recording, and their images. ``buf``: scratch arrays reused from chunk to chunk."""
    step = job.size - job.overlap
    is_first = chunk.start == 0
    is_last = chunk.stop >= job.frames
    # This chunk's own stretch: from the middle of the overlap with the previous chunk to the
    # middle of the overlap with the next one.
    own_lo = 0.0 if is_first else (chunk.start + job.overlap / 2) / job.sr
    own_hi = math.inf if is_last else (chunk.start + step + job.overlap / 2) / job.sr
    if job.sp is None:
        buf.pop("_image_floor", None)
        found = _default_chunk(chunk.samples, job.sr, chunk.start, job.p_run, ov, (own_lo, own_hi), buf)
        floor = buf.pop("_image_floor", None)
    else:
        floor = None  # the paper's method keeps the paper's plain spectrogram images
        found = _paper_chunk(chunk.samples, job.sr, chunk.start, job.p_run, job.sp, job.thresholds, ov,
                             (own_lo, own_hi))
    # Calls starting in this stretch (with a little slack, since neighbouring chunks may place an
    # onset a frame apart), except one running into the end of a chunk that is not the file's end
    # (the next chunk sees it whole). Their images are made here, in the worker.
    mine = (found.onset >= own_lo - job.slack) & (found.onset < own_hi + job.slack)
    if not is_last:
        mine &= ~found.at_end
    found = found.select(mine)
    on, off = np.clip(found.onset, 0, job.dur), np.clip(found.offset, 0, job.dur)
    return found, on, off, _call_images(chunk.samples, job.sr, chunk.start, on, off, job.p, floor)


_WORKER: dict[str, Any] = {}  # in a worker process: its job and its scratch arrays


def _process_init(job: _Job) -> None:
    _WORKER["job"], _WORKER["buf"] = job, {}


def _process_chunk(start: int):
    job = _WORKER["job"]
    samples = read_block(job.path, start, job.size, job.channel)
    return _work(job, Chunk(start, samples), _WORKER["buf"], None)


def process_context():
    """Fork where the platform has it (no re-import in the workers), else spawn."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _in_order(pool: Executor, fn: Callable, items: Iterable, jobs: int) -> Iterator:
    """``fn`` over ``items`` on ``pool``, results in order, at most ``jobs + 1`` of them pending (memory)."""
    pending: deque = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) > jobs:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()



def _no_progress(it: Iterable, **_: Any) -> Iterable:
    return it


def detect_file(
    path: str | Path,
    method: str = "default",
    params: dict | None = None,
    channel: Channel = 0,
    progress: bool = False,
    overview: bool = False,
    min_sample_rate_hz: int | None = None,
    jobs: int = 0,
) -> Detections:
    """Detect USVs in one WAV file.

    Parameters
    ----------
    path: the recording (PCM or float WAV, any number of channels).
    method: ``"default"`` (the project's detector) or ``"paper"`` (Ivanenko et al. 2020 Methods).
    params: overrides of :data:`DEFAULT_PARAMS` ``[method]`` (unknown names raise ``ValueError``).
    channel: 0-based channel index, or ``"mean"`` to average all channels.
    progress: show a tqdm progress bar (chunks of the file).
    overview: also build a coarse spectrogram of the whole recording (for :func:`plot_overview`).
    jobs: chunks processed in parallel; 0 = up to 2, as many as there are CPU cores. The default method
        on a recording of at least :data:`PROCESS_MIN_CHUNKS` chunks without ``overview`` uses worker
        processes, anything else threads. Results do not depend on it.

    Raises :class:`~usvflow.errors.InputError` for files that cannot be used (one-line message). A
    silent or noise-only recording gives an empty table with the usual columns.
    """
    p = resolve_params(method, params)
    kw = {} if min_sample_rate_hz is None else {"min_sample_rate_hz": min_sample_rate_hz}
    info = inspect_wav(path, **kw)
    channel = _resolve_channel(info, channel)
    sr = info.sample_rate
    if method == "paper" and p["highpass_hz"] >= sr / 2:
        raise InputError(path, f"sample rate {sr} Hz is too low for a {p['highpass_hz']:.0f} Hz high-pass")

    size = max(1, int(round(p["chunk_s"] * sr)))
    overlap = int(round(p["overlap_s"] * sr))
    step = size - overlap
    n_chunks = 1 + max(0, math.ceil((info.frames - size) / step))
    if method == "paper":
        n_chunks += math.ceil(info.frames / size)  # the histogram pass

    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_chunks, unit="chunk", desc=f"detect {Path(path).name}", leave=False)

        def prog(it):
            for item in it:
                yield item
                bar.update(1)
    else:
        bar = None
        prog = _no_progress

    f_lo = p.get("f_lo_hz", IMAGE_F_LO_HZ)
    f_hi = min(p.get("f_hi_hz", 125_000.0), sr / 2)
    ov = _OverviewBuilder(info.duration_s, f_lo, f_hi) if overview else None
    sp = _PaperSpectrogram(sr, p) if method == "paper" else None
    thresholds = _paper_thresholds(path, channel, info, sp, {**p, "_fft_workers": -1}, prog) if sp else None

    parts: list[pd.DataFrame] = []
    images = _ImageSpool()
    last_offset = -math.inf
    # Chunks run on a small thread pool (numpy and pocketfft release the GIL; the call images are made
    # in the workers too); results are taken in file order and at most ``jobs + 1`` chunks are in memory.
    jobs = max(1, int(jobs if jobs else min(2, os.cpu_count() or 1)))
    p_run = {**p, "_fft_workers": 1 if jobs > 1 else -1}

    job = _Job(str(path), channel, sr, info.frames, size, overlap, info.duration_s, p, p_run, sp, thresholds)
    scratch: queue.SimpleQueue = queue.SimpleQueue()

    def work(chunk):
        try:  # one set of scratch arrays per thread at work, handed from chunk to chunk
            buf = scratch.get_nowait()
        except queue.Empty:
            buf = {}
        try:
            return _work(job, chunk, buf, ov)
        finally:
            scratch.put(buf)

    def results():
        if jobs == 1:
            for chunk in prog(iter_chunks(path, p["chunk_s"], p["overlap_s"], channel, **kw)):
                yield work(chunk)
            return
        if sp is None and ov is None and n_chunks >= PROCESS_MIN_CHUNKS:
            # Long recordings, default method: worker processes, each reading its own chunks (much of the
            # detector is many small numpy steps that hold the GIL, so threads fill about one core).
            starts = range(0, info.frames, step)[: n_chunks]
            with ProcessPoolExecutor(max_workers=jobs, mp_context=process_context(),
                                     initializer=_process_init, initargs=(job,)) as pool:
                yield from _in_order(pool, _process_chunk, prog(starts), jobs)
            return
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            yield from _in_order(pool, work, prog(iter_chunks(path, p["chunk_s"], p["overlap_s"], channel, **kw)),
                                 jobs)

    try:
        for found, on, off, imgs in results():
            # A call overlapping one already reported (its duplicate from the previous chunk) is dropped.
            mine = found.onset >= last_offset
            if not mine.any():
                continue
            found = found.select(mine)
            df = pd.DataFrame(
                {
                    "onset_s": on[mine],
                    "offset_s": off[mine],
                    "f_min_hz": found.f_min,
                    "f_max_hz": found.f_max,
                    "f_mean_hz": found.f_mean,
                    "peak_amplitude": found.amp,
                    "snr_db": found.snr,
                    "score": found.score,
                }
            )
            images.append(imgs[mine])
            parts.append(df)
            last_offset = float(df["offset_s"].iloc[-1])
    finally:
        if bar is not None:
            bar.close()
    calls = pd.concat(parts, ignore_index=True) if parts else _empty_calls()
    calls = calls[CALL_COLUMNS].astype(float)
    specs = images.array()
    return Detections(calls, specs, sr, info.duration_s, method, p, ov.result() if ov else None)


def detect_array(samples: np.ndarray, sample_rate: int, method: str = "default", params: dict | None = None,
                 tmp_dir: str | Path | None = None) -> Detections:
    """Convenience for in-memory signals (tests, notebooks): writes a float WAV and runs :func:`detect_file`."""
    import tempfile

    from ..audio.io import write_wav

    with tempfile.TemporaryDirectory(dir=tmp_dir) as d:
        path = Path(d) / "signal.wav"
        write_wav(path, np.asarray(samples, np.float32), sample_rate, subtype="FLOAT")
        return detect_file(path, method, params)


def detect_variants(path: str | Path, variants: list[dict], channel: Channel = 0,
                    min_sample_rate_hz: int | None = None) -> list[pd.DataFrame]:
    """The default detector's calls (``onset_s``, ``offset_s``, ``score``) under each of several settings,
    for choosing settings on annotated clips: the evidence is computed once per distinct front end
    (:data:`EVIDENCE_KEYS`) and only segmentation reruns. Each table equals
    ``detect_file(path, params=variant).calls`` (same columns subset); a file longer than one chunk is
    simply run through :func:`detect_file` once per variant."""
    kw = {} if min_sample_rate_hz is None else {"min_sample_rate_hz": min_sample_rate_hz}
    info = inspect_wav(path, **kw)
    resolved = [resolve_params("default", v) for v in variants]
    cols = ["onset_s", "offset_s", "score"]
    if any(int(round(p["chunk_s"] * info.sample_rate)) < info.frames for p in resolved):
        return [detect_file(path, "default", v, channel, **kw).calls[cols] for v in variants]
    x = next(iter_chunks(path, resolved[0]["chunk_s"], 0.0, channel, **kw)).samples
    sr, dur = info.sample_rate, info.duration_s
    cache: dict[tuple, _Evidence | None] = {}
    out = []
    for p in resolved:
        p = {**p, "_fft_workers": 1}
        key = tuple(p[k] for k in EVIDENCE_KEYS)
        if key not in cache:
            cache[key] = _default_evidence(x, sr, 0, p, None, (0.0, math.inf), None)
        ev = cache[key]
        found = _default_calls(ev, p) if ev is not None else _ChunkCalls.empty()
        out.append(pd.DataFrame({"onset_s": np.clip(found.onset, 0, dur), "offset_s": np.clip(found.offset, 0, dur),
                                 "score": found.score}, columns=cols).astype(float))
    return out
