"""Recording conditions of the simulated recordings: stretches of *faint calls in broadband noise*.

The floor is raised by white noise over the whole band, and calls starting inside get fades (``noise.faint_broadband``
in config.yaml). Matched to the noisiest real dev clip, AMVOC clip6 (``docs/simulator.md`` §2.6); written in the
truth (``condition``, ``fades``) so the detection benchmark reports it on its own. Everything here is drawn from
generators of its own, so switching the condition off gives back the rest of a recording sample for sample.
"""

from __future__ import annotations

import numpy as np

from .plan import _stable_seed


def plan_faint_epochs(sim: dict, recording: str, duration_s: float, quantile: float = 0.5
                      ) -> list[tuple[float, float, float]]:
    """Stretches of a recording in the "faint in broadband noise" condition (``noise.faint_broadband``):
    ``(onset_s, offset_s, floor_raise_db)``.

    The recording spends ``2 x quantile x share_of_time`` of its length in the condition (at most all of it):
    ``quantile`` is its stratified quantile of the ``faint`` nuisance (:func:`usvflow.simulate.plan.plan_cohorts`),
    uniform over a cohort, so the share is ``share_of_time`` on average and the groups spend the same time in
    it by design. Stretch lengths are uniform in ``epoch_s`` (the last one cut to the total); the free time
    between them is split at uniform random points. Drawn from a generator of their own, so switching the
    condition on or off leaves every other draw of the recording unchanged."""
    fb = sim["noise"].get("faint_broadband") or {}
    share = min(1.0, 2.0 * float(quantile) * float(fb.get("share_of_time", 0.0)))
    total = share * duration_s
    if total <= 0:
        return []
    rng = np.random.default_rng(_stable_seed(sim["seed"], "faint_broadband", recording))
    lo, hi = fb["epoch_s"]
    lengths: list[float] = []
    while sum(lengths) < total - 1e-9:
        lengths.append(min(float(rng.uniform(lo, hi)), total - sum(lengths)))
    free = max(0.0, duration_s - total)
    cuts = np.sort(rng.uniform(0.0, free, len(lengths)))  # the free time before each stretch
    out, t_prev_free, t = [], 0.0, 0.0
    for cut, length in zip(cuts, lengths):
        t += float(cut) - t_prev_free
        t_prev_free = float(cut)
        out.append((t, min(duration_s, t + length), float(rng.uniform(*fb["floor_raise_db"]))))
        t += length
    return out


def add_fades(env: np.ndarray, step_s: float, rng: np.random.Generator, fb: dict) -> int:
    """Fades inside a call, in place on its envelope: Poisson(``fades_per_call``) dips of ``fade_ms`` (uniform)
    by ``fade_depth_db`` (uniform), each with 1 ms raised-cosine flanks, kept 2 ms away from the call's ends.
    Returns how many were made (none in calls too short to hold one)."""
    n = len(env)
    edge = int(round(0.002 / step_s))
    k = int(rng.poisson(float(fb.get("fades_per_call", 0.0))))
    made = 0
    for _ in range(k):
        width = int(round(rng.uniform(*fb["fade_ms"]) / 1000 / step_s))
        if n - 2 * edge <= width + 2:
            break
        start = int(rng.integers(edge, n - edge - width))
        gain = 10 ** (-rng.uniform(*fb["fade_depth_db"]) / 20)
        ramp = max(1, int(round(0.001 / step_s)))
        shape = np.ones(n)
        shape[start : start + width] = gain
        r = 0.5 + 0.5 * np.cos(np.linspace(0, np.pi, ramp + 2)[1:-1])  # 1 -> 0
        a = np.arange(max(0, start - ramp), start)
        shape[a] = gain + (1 - gain) * r[-len(a):] if len(a) else shape[a]
        b = np.arange(start + width, min(n, start + width + ramp))
        shape[b] = gain + (1 - gain) * r[::-1][: len(b)] if len(b) else shape[b]
        env *= shape
        made += 1
    return made


def _add_faint_epochs(audio: np.ndarray, fs: int, floor: float, epochs, rng: np.random.Generator | None,
                      recording: str, events: list[dict]) -> None:
    """White noise over the whole band during each epoch, so the floor stands ``floor_raise_db`` higher
    (20 ms raised-cosine ramps at both ends); one ``faint_broadband`` noise event per epoch."""
    n = len(audio)
    block = 1 << 22
    for t0, t1, raise_db in epochs:
        sd = floor * float(np.sqrt(10 ** (raise_db / 10) - 1))
        i0, i1 = int(t0 * fs), min(n, int(t1 * fs))
        ramp = min(int(0.02 * fs), (i1 - i0) // 2)
        for i in range(i0, i1, block):
            m = min(block, i1 - i)
            w = rng.standard_normal(m, dtype=np.float32) * np.float32(sd)
            k = np.arange(i, i + m) - i0
            g = np.minimum(1.0, np.minimum(k, i1 - i0 - 1 - k) / max(1, ramp))
            w *= (0.5 - 0.5 * np.cos(np.pi * np.clip(g, 0, 1))).astype(np.float32)
            audio[i : i + m] += w
        events.append(dict(recording=recording, kind="faint_broadband", onset_s=t0, offset_s=t1, f_low_hz=0.0,
                           f_high_hz=fs / 2, amplitude=sd))
