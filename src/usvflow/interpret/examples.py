"""Fig 6's example calls (panels A, B, E, F): for each sex one representative call, chosen by a fixed rule.

The rule (no look at the figure, no random draw, no score beyond the fold's own verdict):

1. **Measures** of every call's network input image (time on the last axis, levels in [0, 1] = the call's
   own dB range): ``lit`` — pixels at or above :data:`LIT_LEVEL` (a quarter of the call's level range, so
   faint fringes do not count); ``duration`` — columns from the first to the last lit one; ``bandwidth`` —
   rows from the lowest to the highest lit one (:func:`image_measures`).
2. **Typicality distance** of a call from its sex: per measure, ``(value − median) / IQR`` with the median
   and interquartile range over *all* the cohort's calls of that sex, then the Euclidean norm over the three
   measures (:func:`typicality`). Every fold computes it over the same cohort, so the folds' distances compare.
3. **Per fold** (:func:`representative_call`): among the held-out calls that the fold's network classifies
   correctly (its predictions table), the one with the smallest distance; ties go to the first in table order.
   A fold whose network gets no held-out call right falls back to all its held-out calls.
4. **Per sex** (:func:`usvflow.interpret.layers.pick_examples`): the fold example with the smallest distance;
   ties go to the first fold in the given (sorted) order.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

LIT_LEVEL = 0.25
MEASURES = ("lit", "duration", "bandwidth")
RULE_TEXT = ("per sex, the correctly classified held-out call nearest the sex's median lit area, duration and "
             "bandwidth")


def image_measures(images: np.ndarray, level: float = LIT_LEVEL) -> pd.DataFrame:
    """``lit``, ``duration`` and ``bandwidth`` (pixels, columns, rows) of images (n, F, T) with levels in [0, 1].

    An image with no lit pixel gets 0 for all three."""
    lit = np.asarray(images) >= level
    if lit.ndim != 3:
        raise ValueError(f"images must be (n, frequency, time), got shape {lit.shape}")

    def span(mask: np.ndarray) -> np.ndarray:  # (n, L) -> last lit index - first lit index + 1, 0 if none
        any_lit = mask.any(axis=1)
        first = mask.argmax(axis=1)
        last = mask.shape[1] - 1 - mask[:, ::-1].argmax(axis=1)
        return np.where(any_lit, last - first + 1, 0)

    return pd.DataFrame({"lit": lit.sum(axis=(1, 2)), "duration": span(lit.any(axis=1)),
                         "bandwidth": span(lit.any(axis=2))}).astype(float)


def typicality(measures: pd.DataFrame, sex: Sequence[str]) -> np.ndarray:
    """Each call's distance from its own sex's medians: per measure ``(value − median) / IQR`` (median and IQR
    over the calls of that sex; an IQR of 0 counts as 1), the Euclidean norm over the measures."""
    values = measures[list(MEASURES)].to_numpy(float)
    sex = np.asarray(sex).astype(str)
    if len(sex) != len(values):
        raise ValueError(f"{len(sex)} sexes for {len(values)} calls")
    dist = np.full(len(values), np.nan)
    for s in np.unique(sex):
        rows = sex == s
        v = values[rows]
        q1, med, q3 = np.percentile(v, [25, 50, 75], axis=0)
        iqr = np.where(q3 - q1 > 0, q3 - q1, 1.0)
        dist[rows] = np.sqrt((((v - med) / iqr) ** 2).sum(axis=1))
    return dist


def representative_call(distance: np.ndarray, candidates: np.ndarray, fallback: np.ndarray) -> int:
    """The row (an index into ``distance``) with the smallest distance among ``candidates`` (row indices), or
    among ``fallback`` when there is no candidate; ties go to the first in the given order."""
    pool = np.asarray(candidates, int)
    if pool.size == 0:
        pool = np.asarray(fallback, int)
    if pool.size == 0:
        raise ValueError("no call to choose an example from")
    return int(pool[np.argmin(np.asarray(distance, float)[pool])])
