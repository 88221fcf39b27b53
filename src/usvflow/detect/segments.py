"""Step 6 of the default detector: segmentation with trajectory bridging, and the calls of one chunk.

The evidence of steps 1-5 (:func:`usvflow.detect.default._default_evidence`) gives, per frame, the best
ridge score; here runs of frames become calls (:func:`_default_segments`), fragments that continue one
another's frequency trajectory are joined (:func:`_bridges`), faint calls are found by their sustained
evidence (:func:`_with_sustained`), and each call gets its contour, level and padding (:func:`_default_calls`).
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .calls import _ChunkCalls, _merge_runs, _OverviewBuilder, _run_frames, _runs, _summarise
from .default import _BLOCK, _default_evidence, _Evidence, _pad

_BRIDGE_CANDIDATES = 10  # later fragments a fragment may continue into (noise fragments may lie between)


def _edge_bins(ev: _Evidence, starts: np.ndarray, stops: np.ndarray, edge: int) -> tuple[np.ndarray, ...]:
    """For each run, the ridge's bin at its strongest frame among its first ``edge`` frames and among its
    last ``edge`` frames: (first bin, first frame, last bin, last frame). The strongest frame, not the
    very first or last, because at a run's ends the ridge barely clears the noise and its bin is a guess."""
    k = np.arange(edge)
    first = np.minimum(starts[:, None] + k, stops[:, None] - 1)
    last = np.maximum(stops[:, None] - 1 - k, starts[:, None])
    rows = np.arange(len(starts))
    i0 = first[rows, ev.s[first].argmax(axis=1)]
    i1 = last[rows, ev.s[last].argmax(axis=1)]
    return ev.R[:, i0].argmax(axis=0), i0, ev.R[:, i1].argmax(axis=0), i1


def _near(ev: _Evidence, f0: np.ndarray, f1: np.ndarray, centre: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """Per item, the best ridge score (dB) over frames ``f0 .. f1 - 1`` (at most a few) and bins within
    ``reach`` of ``centre``, and its bin."""
    F, T = ev.R.shape
    width = int((f1 - f0).max())
    fr = np.minimum(f0[:, None] + np.arange(width), np.maximum(f1 - 1, f0)[:, None])  # (items, frames)
    bins = np.clip(centre[:, None] + np.arange(-reach, reach + 1), 0, F - 1)  # (items, bins)
    vals = ev.R[bins[:, None, :], fr[:, :, None]]  # (items, frames, bins)
    flat = vals.reshape(len(f0), -1)
    k = flat.argmax(axis=1)
    best = flat[np.arange(len(f0)), k] * (10.0 / (2 * ev.half + 1))
    return best, bins[np.arange(len(f0)), k % bins.shape[1]]


def _plain_ridge(ev: _Evidence, starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ridge score without the broadband penalty on the frames of the given spans (any order, may
    overlap): (bins x frames array of the spans' union, and for every frame of the chunk its column there,
    -1 outside). Computed only where asked, block by block as in step 4."""
    plain = copy.copy(ev.contrast)
    plain.penalty = 0.0
    order = np.argsort(starts, kind="stable")
    a, b = _merge_runs(starts[order], np.maximum.accumulate(stops[order]), 1)
    T = len(ev.s)
    col = np.full(T, -1, np.int64)
    out = np.empty((ev.R.shape[0], int((b - a).sum())), np.float32)
    at = 0
    h = ev.half
    for lo, hi in zip(a, b):
        c = lo
        while c < hi:
            n = min(_BLOCK - c % _BLOCK, hi - c)  # within one floor block
            c0, c1 = max(0, c - h), min(T, c + n + h)
            plain.set_floor(ev.block_floors[c // _BLOCK], ev.fills[c // _BLOCK])
            plain.block(ev.W[:, c0:c1], c - c0, out[:, at : at + n])
            col[c : c + n] = np.arange(at, at + n)
            at += n
            c += n
    return out, col


def _bridges(ev: _Evidence, starts: np.ndarray, stops: np.ndarray, p: dict) -> np.ndarray:
    """Trajectory bridging: for each run (fragment) of frames above the hysteresis level, the index of
    the later fragment it continues (-1: none). Fragment j continues fragment i when

    * the gap between them is at most ``bridge_gap_s``;
    * j starts where i ended in frequency: the ridge's bins differ by at most ``bridge_df_hz``, or (with
      ``bridge_near``) where the strongest bin of one of them is elsewhere (a louder noise band), it holds
      the hysteresis level within ``bridge_df_hz`` of the other's end bin;
    * the gap is a fade inside one call, not the silence between two calls: along the straight line
      from i's end to j's start in the time-frequency plane, the ridge score (its best bin within
      +/- 2 kHz of the line, averaged over 2 ms) is below ``bridge_db`` for no stretch longer than
      ``bridge_fade_s``. Gaps
      up to ``bridge_fade_s`` thus always qualify; longer ones only where the call is still there,
      fainter than the hysteresis level (a faint call in broadband noise). This test uses the ridge
      *without* the broadband penalty (:func:`_plain_ridge`): the penalty keeps bursts from starting
      calls, but along a trajectory that a call has already set, the only question is whether the tone
      still stands above the noise around it, and in broadband noise the penalty would hide it.

    Among the next few fragments, the first that qualifies is taken (the fragments of noise elsewhere
    in the band that lie between two pieces of a call are skipped)."""
    n = len(starts)
    nxt = np.full(n, -1, np.int64)
    gmax = int(math.floor(p["bridge_gap_s"] / ev.hop_s + 1e-9))
    if n < 2 or gmax <= 0:
        return nxt
    df = float(ev.fb[1] - ev.fb[0])
    edge = max(1, int(round(0.002 / ev.hop_s)))
    b0, _, b1, _ = _edge_bins(ev, starts, stops, edge)
    # Candidate pairs (i, i + k), nearest first.
    ii, jj = [], []
    for k in range(1, min(_BRIDGE_CANDIDATES, n - 1) + 1):
        i = np.arange(n - k)
        j = i + k
        ok = (starts[j] - stops[i]) <= gmax
        ii.append(i[ok])
        jj.append(j[ok])
    ii = np.concatenate(ii)
    jj = np.concatenate(jj)
    if len(ii) == 0:
        return nxt
    # Frequency continuity: j starts where i ended. Where a fragment's strongest bin is elsewhere (a
    # noise band louder than the call in broadband noise), the trajectory is still continued when the
    # fragment holds the hysteresis level (the level that makes it a fragment) within bridge_df_hz of
    # the other's end, in its first (j) or last (i) 2 ms: the line then runs to that bin.
    reach = int(math.floor(p["bridge_df_hz"] / df + 1e-9))
    line0, line1 = b1[ii].copy(), b0[jj].copy()
    ok = np.abs(line1 - line0) <= reach
    if p.get("bridge_near") and (~ok).any():
        bad = np.flatnonzero(~ok)
        v_j, bin_j = _near(ev, starts[jj[bad]], np.minimum(starts[jj[bad]] + edge, stops[jj[bad]]), b1[ii[bad]], reach)
        v_i, bin_i = _near(ev, np.maximum(stops[ii[bad]] - edge, starts[ii[bad]]), stops[ii[bad]], b0[jj[bad]], reach)
        use_j = v_j >= p["hysteresis_db"]
        use_i = ~use_j & (v_i >= p["hysteresis_db"])
        line1[bad[use_j]] = bin_j[use_j]
        line0[bad[use_i]] = bin_i[use_i]
        ok[bad] = use_j | use_i
    ii, jj, line0, line1 = ii[ok], jj[ok], line0[ok], line1[ok]
    if len(ii) == 0:
        return nxt
    # Ridge evidence along each pair's gap: frames stops[i] .. starts[j] - 1, bins on the line.
    gap = starts[jj] - stops[ii]
    ok = np.ones(len(ii), bool)
    fade = int(math.floor(p["bridge_fade_s"] / ev.hop_s + 1e-9))
    long_ = np.flatnonzero(gap > fade)
    if len(long_):
        g = gap[long_]
        fr, pair = _run_frames(stops[ii[long_]], starts[jj[long_]])
        u = (fr - stops[ii[long_]][pair] + 1) / (g[pair] + 1)
        line = np.rint(line0[long_][pair] + u * (line1[long_][pair] - line0[long_][pair])).astype(np.int64)
        w = max(1, int(round(2000.0 / df)))
        F = ev.R.shape[0]
        R0, col = _plain_ridge(ev, stops[ii[long_]], starts[jj[long_]])
        local = np.full(len(fr), -np.inf, np.float32)
        for o in range(-w, w + 1):
            np.maximum(local, R0[np.clip(line + o, 0, F - 1), col[fr]], out=local)
        # Averaged over 2 ms (within each gap): single noise frames reach the level now and then, a faint
        # tone holds it.
        seg = np.cumsum(g) - g
        k = max(1, int(round(0.001 / ev.hop_s)))
        cs = np.concatenate(([0.0], np.cumsum(local, dtype=np.float64)))
        pos = np.arange(len(fr))
        lo_ = np.maximum(pos - k, seg[pair])
        hi_ = np.minimum(pos + k + 1, seg[pair] + g[pair])
        smooth = (cs[hi_] - cs[lo_]) / (hi_ - lo_)
        below = smooth * (10.0 / (2 * ev.half + 1)) < p["bridge_db"]
        # Longest stretch below the level in each pair's gap (a False between pairs separates them).
        mask = np.zeros(len(fr) + len(g), bool)
        mask[np.arange(len(fr)) + pair] = below
        a, b = _runs(mask)
        longest = np.zeros(len(g), np.int64)
        if len(a):
            owner = np.searchsorted(seg + np.arange(len(g)), a, side="right") - 1
            np.maximum.at(longest, owner, b - a)
        ok[long_] = longest <= fade
    ii, jj = ii[ok], jj[ok]
    # The nearest qualifying fragment (pairs were listed nearest first; keep each i's first).
    first = np.unique(ii, return_index=True)[1]
    nxt[ii[first]] = jj[first]
    return nxt


def _default_segments(ev: _Evidence, p: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 6: calls as runs of frames (start, stop exclusive) and the frames above the hysteresis
    level.

    Fragments are the runs of frames above ``hysteresis_db``. Fragments that continue one another's
    frequency trajectory (:func:`_bridges`) form one chain, and a chain is a call when it reaches
    ``threshold_db`` somewhere. So a faint call whose level dips below the hysteresis level (a fade, a
    noisier stretch) stays one call, its fainter pieces included, while a neighbour at another frequency
    stays apart. Chains longer than ``max_duration_s`` (noise beds) are dropped before anything is merged
    with them; then calls closer than ``merge_gap_s`` are merged (calls of several notes and frequency
    jumps stay one call), and too short or too long ones dropped. Last, the sustained evidence of faint
    calls (:func:`_with_sustained`, ``sustain_db``; None: off) adds the faint calls and remainders that never
    reached ``threshold_db``."""
    s = ev.s
    lo = s > p["hysteresis_db"]
    starts, stops = _runs(lo)
    if len(starts) == 0:
        return starts, stops, lo
    peak = np.maximum.reduceat(s, starts)
    nxt = _bridges(ev, starts, stops, p)
    # Chains: follow the links (each fragment links to at most one later fragment).
    chain = np.arange(len(starts))
    for i in np.flatnonzero(nxt >= 0):  # increasing i: a fragment's chain is known before it links on
        chain[nxt[i]] = chain[i]
    heads = np.unique(chain)
    label = np.searchsorted(heads, chain)
    c_start = np.full(len(heads), np.iinfo(np.int64).max)
    c_stop = np.zeros(len(heads), np.int64)
    c_peak = np.full(len(heads), -np.inf)
    np.minimum.at(c_start, label, starts)
    np.maximum.at(c_stop, label, stops)
    np.maximum.at(c_peak, label, peak)
    keep = (c_peak > p["threshold_db"]) & ((c_stop - c_start) * ev.hop_s <= p["max_duration_s"])
    order = np.argsort(c_start[keep], kind="stable")
    starts, stops = c_start[keep][order], c_stop[keep][order]
    # Interleaved chains (a noise fragment inside a bridged gap that is a call of its own) become one.
    starts, stops = _merge_runs(starts, np.maximum.accumulate(stops), 1)
    starts, stops = _merge_runs(starts, stops, int(math.ceil(p["merge_gap_s"] / ev.hop_s)))
    dur = (stops - starts) * ev.hop_s
    long_enough = dur >= p["min_duration_s"]
    if p.get("short_call_db") is not None and len(starts):
        # A run shorter than min_duration_s is still a call when its evidence is strong: noise and the
        # pieces of clicks stay far below short_call_db, short calls ("short" type, 3-5 ms) do not. It
        # must still span the ridge (2 x ridge_s): a shorter run is not a contour.
        strong = np.maximum.reduceat(ev.s, starts) >= p["short_call_db"]
        long_enough |= strong & (dur >= 2 * ev.half * ev.hop_s)
    keep = long_enough & (dur <= p["max_duration_s"])
    if p.get("sustain_db") is not None:
        return (*_with_sustained(ev, starts[keep], stops[keep], p, (starts[~keep], stops[~keep])), lo)
    return starts[keep], stops[keep], lo


def _sustained_runs(ev: _Evidence, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Runs of frames where the best ridge score, averaged over ``sustain_s``, stands more than ``sustain_db``
    above its median over the frame's floor block (0.5 s): a faint call that never reaches
    ``threshold_db`` but holds its level for a while (averaging over L frames shrinks the noise's
    spread ~ 1 / sqrt(L), a call's level stays). Runs shorter than ``sustain_s`` are dropped."""
    s = ev.s
    T = len(s)
    L = max(1, int(round(p["sustain_s"] / ev.hop_s)))
    if T < 2 * L:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    full = T // _BLOCK
    base = np.median(s[: full * _BLOCK].reshape(full, _BLOCK), axis=1)
    if T > full * _BLOCK:
        base = np.r_[base, np.median(s[full * _BLOCK :])]
    cs = np.concatenate(([0.0], np.cumsum(s, dtype=np.float64)))
    lo_ = np.clip(np.arange(T) - L // 2, 0, T - L)
    avg = (cs[lo_ + L] - cs[lo_]) / L
    a, b = _runs(avg - base[np.arange(T) // _BLOCK] > p["sustain_db"])
    ok = (b - a) >= L
    return a[ok], b[ok]


def _overlapping(a: np.ndarray, b: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """For each run ``a[i]:b[i]``, whether it overlaps any of the sorted, disjoint runs ``starts:stops``."""
    if len(starts) == 0:
        return np.zeros(len(a), bool)
    pos = np.searchsorted(starts, b)  # the last run starting before b is the one that may overlap
    return (pos > 0) & (stops[np.maximum(pos - 1, 0)] > a)


def _with_sustained(ev: _Evidence, starts: np.ndarray, stops: np.ndarray, p: dict,
                    judged: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The calls (runs of frames ``starts``, ``stops``) joined with the sustained runs (:func:`_sustained_runs`).

    A sustained run that overlaps no call is a faint call of its own; its extent is that of the averaging
    windows that stood above the level (the run and half a window either side: a call barely above the
    level raises the average only where the window lies wholly on it). A run that overlaps a call is
    first trimmed by half a window at both ends (next to a clear call the average spreads it by about
    that much, so the trimmed run lies within the call and changes nothing); what is left beyond the call
    is the faint remainder of a call of which only a piece reached the threshold, and joins the piece.

    ``judged``: runs that reached the threshold and were dropped (too short, too long; sorted, disjoint). A
    sustained run on one of them that touches no call is not a call: its evidence reached the threshold
    and the duration rules have judged it (a 2-3 ms blip of 12 dB raises the 5 ms average as much as a
    held faint tone does)."""
    a, b = _sustained_runs(ev, p)
    if len(a) == 0:
        return starts, stops
    half = max(1, int(round(p["sustain_s"] / ev.hop_s))) // 2
    touches = _overlapping(a, b, starts, stops)
    ok = np.ones(len(a), bool) if judged is None else touches | ~_overlapping(a, b, *judged)
    shift = np.where(touches, half, -half)
    a, b = np.maximum(a + shift, 0), np.minimum(b - shift, len(ev.s))
    ok &= (b > a) & ((b - a) * ev.hop_s <= p["max_duration_s"])
    a, b = a[ok], b[ok]
    order = np.argsort(np.r_[starts, a], kind="stable")
    starts, stops = np.r_[starts, a][order], np.r_[stops, b][order]
    starts, stops = _merge_runs(starts, np.maximum.accumulate(stops), 1)
    return _merge_runs(starts, stops, int(math.ceil(p["merge_gap_s"] / ev.hop_s)))


def _default_calls(ev: _Evidence, p: dict) -> _ChunkCalls:
    """Step 6 and the calls' statistics from one chunk's evidence: segments (:func:`_default_segments`),
    then each call's contour, level and padding."""
    starts, stops, lo = _default_segments(ev, p)
    if len(starts) == 0:
        return _ChunkCalls.empty()
    # Contour of the call (its frames only): frequency, level above floor and sine amplitude at the
    # ridge's peak bin.
    count = len(ev.s)
    fr, _ = _run_frames(starts, stops)
    best = ev.R[:, fr].argmax(axis=0)
    contour_f = np.zeros(count)
    contour_db = np.zeros(count)
    contour_amp = np.zeros(count)
    contour_f[fr] = ev.fb[best]
    contour_db[fr] = 10 * (np.log10(np.maximum(ev.W[best, fr], ev.floor_min)) - ev.block_floors[fr // _BLOCK, best])
    contour_amp[fr] = np.sqrt(ev.P4[best, fr]) / ev.win_sum  # 2 x sqrt(power) / sum(window)
    # Within half a ridge length of the chunk's end the evidence is incomplete too.
    hop_s = ev.hop_s
    return _summarise(starts, stops, ev.times - hop_s / 2, ev.times + hop_s / 2, contour_f, contour_db,
                      contour_amp, ev.s, lambda peak: _pad(peak, p), margin=ev.half + 1, valid=lo)


def _default_chunk(x: np.ndarray, sr: int, chunk_start: int, p: dict, overview: _OverviewBuilder | None,
                   own: tuple[float, float], buf: dict | None = None) -> _ChunkCalls:
    """Calls in one chunk: evidence (:func:`_default_evidence`), then calls (:func:`_default_calls`)."""
    ev = _default_evidence(x, sr, chunk_start, p, overview, own, buf)
    if ev is None:
        return _ChunkCalls.empty()
    return _default_calls(ev, p)
