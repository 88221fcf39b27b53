"""Statistics of the paper (scipy / statsmodels): rank tests, Bonferroni, effect sizes, binomial tests.

Rank tests use the exact null distribution at small n, as MATLAB's ``ranksum`` / ``signrank`` (the paper's
toolbox) do: with 8 animals or 4 vs 4 folds the normal approximation is off by a factor of up to ~2 in p.
scipy's ``method="exact"`` where the data have no ties (or zero differences); with ties, the exact
permutation distribution (every relabelling or sign flip enumerated, :class:`scipy.stats.PermutationMethod`)
while that stays small; the normal approximation only for large samples. :attr:`TestResult.method` says
which was used.

Effect sizes are the share of variance explained by the grouping: for the rank-sum test ``r^2 = z^2 / N``
(``z`` from the normal approximation), for Kruskal-Wallis ``eta^2_H = (H - k + 1) / (N - k)``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import comb
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.stats as st
from statsmodels.stats.multitest import multipletests


@dataclass
class TestResult:
    """One test: statistic, p-value, effect size (variance explained) and sample sizes."""

    test: str
    statistic: float
    p: float
    effect_size: float
    n: tuple[int, ...]
    method: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def _clean(x: Sequence[float]) -> np.ndarray:
    a = np.asarray(x, float)
    return a[np.isfinite(a)]


#: Largest number of relabellings / sign flips enumerated for an exact test with ties.
EXACT_PERMUTATIONS = 200_000
#: scipy's exact distributions are used up to this sample size (no ties), as its own ``auto`` rule.
EXACT_MAX_N = 50


def _has_ties(x: np.ndarray) -> bool:
    return np.unique(x).size < x.size


def rank_sum(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> TestResult:
    """Wilcoxon rank-sum test (Mann-Whitney U), exact at small n; effect ``r^2 = z^2/N``.

    No ties and both samples ≤ :data:`EXACT_MAX_N`: scipy's exact distribution; ties and at most
    :data:`EXACT_PERMUTATIONS` relabellings: the exact permutation distribution; otherwise the normal
    approximation with tie correction.
    """
    a, b = _clean(a), _clean(b)
    if a.size == 0 or b.size == 0:
        return TestResult("wilcoxon_rank_sum", np.nan, np.nan, np.nan, (a.size, b.size), "")
    both = np.concatenate([a, b])
    if not _has_ties(both) and max(a.size, b.size) <= EXACT_MAX_N:
        method, kind = "exact", "exact"
    elif comb(a.size + b.size, a.size) <= EXACT_PERMUTATIONS:
        method, kind = st.PermutationMethod(n_resamples=EXACT_PERMUTATIONS), "exact permutation"
    else:
        method, kind = "asymptotic", "normal approximation"
    res = st.mannwhitneyu(a, b, alternative=alternative, method=method)
    n1, n2 = a.size, b.size
    ranks = st.rankdata(both)
    _, counts = np.unique(ranks, return_counts=True)
    n = n1 + n2
    tie = np.sum(counts ** 3 - counts) / (n * (n - 1)) if n > 1 else 0.0
    sd = np.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie))
    z = (res.statistic - n1 * n2 / 2.0) / sd if sd > 0 else 0.0
    return TestResult("wilcoxon_rank_sum", float(res.statistic), float(res.pvalue), float(z ** 2 / n), (n1, n2),
                      kind)


def signed_rank(x: Sequence[float], y: Sequence[float] | None = None, alternative: str = "two-sided") -> TestResult:
    """Wilcoxon signed-rank test of ``x`` (or of paired ``x - y``) against 0, exact at small n.

    No ties or zeros and n ≤ :data:`EXACT_MAX_N`: scipy's exact distribution; otherwise, while 2^n ≤
    :data:`EXACT_PERMUTATIONS`, the exact sign-flip distribution (zeros dropped, as MATLAB's ``signrank``);
    beyond, the normal approximation. ``alternative='greater'``: is the median of ``x - y`` above 0?
    Effect ``r^2 = z^2/n`` with ``z`` the normal quantile of p (of p/2 when two-sided).
    """
    x = np.asarray(x, float)
    d = x - np.asarray(y, float) if y is not None else x
    d = d[np.isfinite(d)]
    if d.size == 0 or np.all(d == 0):
        return TestResult("wilcoxon_signed_rank", np.nan, 1.0 if d.size else np.nan, 0.0, (d.size,), "")
    nz = d[d != 0]
    if nz.size == d.size and not _has_ties(np.abs(d)) and d.size <= EXACT_MAX_N:
        res, kind = st.wilcoxon(d, alternative=alternative, method="exact"), "exact"
    elif 2 ** nz.size <= EXACT_PERMUTATIONS:
        res = st.wilcoxon(nz, alternative=alternative, method=st.PermutationMethod(n_resamples=EXACT_PERMUTATIONS))
        kind = "exact permutation"
    else:
        res, kind = st.wilcoxon(d, alternative=alternative, method="approx"), "normal approximation"
    p = max(float(res.pvalue), 1e-300)
    z = st.norm.isf(p / 2) if alternative == "two-sided" else abs(st.norm.isf(p))
    return TestResult("wilcoxon_signed_rank", float(res.statistic), float(res.pvalue), float(z ** 2 / d.size),
                      (d.size,), kind)


def kruskal_wallis(*groups: Sequence[float]) -> TestResult:
    """Kruskal-Wallis H test across groups; effect ``eta^2_H = (H - k + 1)/(N - k)``."""
    gs = [g for g in (_clean(g) for g in groups) if g.size]
    n = sum(g.size for g in gs)
    k = len(gs)
    if k < 2 or np.all(np.concatenate(gs) == np.concatenate(gs)[0]):
        return TestResult("kruskal_wallis", np.nan, np.nan, np.nan, tuple(g.size for g in gs))
    h, p = st.kruskal(*gs)
    eta = (h - k + 1) / (n - k) if n > k else np.nan
    return TestResult("kruskal_wallis", float(h), float(p), float(eta), tuple(g.size for g in gs))


def bonferroni(pvalues: Sequence[float]) -> np.ndarray:
    """Bonferroni-adjusted p-values (``min(1, p m)``; NaN stays NaN and does not count in ``m``)."""
    p = np.asarray(pvalues, float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method="bonferroni")[1]
    return out


def binomial_vs_chance(correct: int, n: int, chance: float = 0.5) -> float:
    """One-sided binomial test: is ``correct`` of ``n`` above ``chance``? Returns the p-value."""
    if n <= 0:
        return float("nan")
    return float(st.binomtest(int(correct), int(n), chance, alternative="greater").pvalue)


def mean_sem(x: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the finite values (SEM NaN for fewer than two)."""
    a = _clean(x)
    if a.size == 0:
        return float("nan"), float("nan")
    return float(a.mean()), float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else float("nan")


def median_sem(x: Sequence[float]) -> tuple[float, float]:
    """Median and standard error of the mean of the finite values: the paper's "median ± SEM" (Fig 3D)."""
    a = _clean(x)
    if a.size == 0:
        return float("nan"), float("nan")
    return float(np.median(a)), float(a.std(ddof=1) / np.sqrt(a.size)) if a.size > 1 else float("nan")


def compare_groups(table: pd.DataFrame, columns: Sequence[str], group: str, levels: Sequence[str],
                   alpha: float = 0.05) -> pd.DataFrame:
    """Per column, the rank-sum test between two levels of ``group`` with Bonferroni over the columns.

    Returns one row per column: medians, means and SEMs per level, U, p, Bonferroni p, significance at
    ``alpha`` (after correction) and the variance explained.
    """
    a_lvl, b_lvl = levels
    rows = []
    for col in columns:
        a = table.loc[table[group] == a_lvl, col]
        b = table.loc[table[group] == b_lvl, col]
        r = rank_sum(a, b)
        (ma, sa), (mb, sb) = mean_sem(a), mean_sem(b)
        rows.append({"feature": col, f"median_{a_lvl}": float(np.nanmedian(a)) if len(a) else np.nan,
                     f"median_{b_lvl}": float(np.nanmedian(b)) if len(b) else np.nan,
                     f"mean_{a_lvl}": ma, f"sem_{a_lvl}": sa, f"mean_{b_lvl}": mb, f"sem_{b_lvl}": sb,
                     "n_" + a_lvl: r.n[0], "n_" + b_lvl: r.n[1], "U": r.statistic, "p": r.p,
                     "variance_explained": r.effect_size})
    out = pd.DataFrame(rows)
    out["p_bonferroni"] = bonferroni(out["p"]) if len(out) else []
    out["significant"] = out["p_bonferroni"] < alpha
    return out
