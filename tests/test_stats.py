"""Statistics: against scipy/statsmodels and hand arithmetic."""
import numpy as np
import pandas as pd
import scipy.stats as st
from statsmodels.stats.multitest import multipletests

from usvflow.report import stats as S


def test_bonferroni_arithmetic_and_statsmodels():
    p = np.array([0.01, 0.04, 0.3, np.nan, 0.002])
    adj = S.bonferroni(p)
    assert np.allclose(adj[[0, 1, 2, 4]], np.minimum(1, p[[0, 1, 2, 4]] * 4))
    assert np.allclose(adj[[0, 1, 2, 4]], multipletests(p[[0, 1, 2, 4]], method="bonferroni")[1])
    assert np.isnan(adj[3])


def test_rank_sum_matches_scipy_and_effect_grows_with_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0.1, 1, 300)
    r = S.rank_sum(a, b)
    assert np.isclose(r.p, st.mannwhitneyu(a, b, method="asymptotic").pvalue)
    big = S.rank_sum(a, b + 1.0)
    assert 0 <= r.effect_size < big.effect_size < 1 and big.p < 1e-20
    # r^2 of a large shift is close to the point-biserial r^2 of the ranks.
    ranks = st.rankdata(np.concatenate([a, b + 1]))
    rpb = np.corrcoef(ranks, np.r_[np.zeros(300), np.ones(300)])[0, 1]
    assert abs(big.effect_size - rpb ** 2) < 0.02


def test_signed_rank_kruskal_binomial():
    rng = np.random.default_rng(1)
    x = rng.normal(0.5, 1, 40)
    assert np.isclose(S.signed_rank(x).p, st.wilcoxon(x, method="exact").pvalue)
    big = rng.normal(0.2, 1, 80)
    r = S.signed_rank(big)
    assert r.method == "normal approximation" and np.isclose(r.p, st.wilcoxon(big, method="approx").pvalue)
    h = S.kruskal_wallis(rng.normal(0, 1, 50), rng.normal(2, 1, 50), rng.normal(4, 1, 50))
    assert h.p < 1e-10 and 0.5 < h.effect_size <= 1
    assert S.binomial_vs_chance(60, 100) < 0.05 < S.binomial_vs_chance(55, 100)
    assert np.isnan(S.binomial_vs_chance(0, 0))


def test_compare_groups_flags_only_the_shifted_feature():
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"g": ["F"] * 200 + ["M"] * 200, "a": rng.normal(0, 1, 400),
                       "b": np.r_[rng.normal(0, 1, 200), rng.normal(1, 1, 200)]})
    out = S.compare_groups(df, ["a", "b"], "g", ["F", "M"]).set_index("feature")
    assert out.loc["b", "significant"] and not out.loc["a", "significant"]
    assert np.isclose(out.loc["b", "p_bonferroni"], min(1, 2 * out.loc["b", "p"]))


def test_small_samples_get_exact_p_values():
    """8 animals / 4 vs 4: the exact null distributions (the normal approximation is visibly off there)."""
    # 8 positive paired differences, all distinct: the exact two-sided p is 2 / 2^8.
    d = np.array([0.01, 0.02, 0.03, 0.05, 0.08, 0.13, 0.21, 0.34])
    r = S.signed_rank(d)
    assert r.method == "exact" and np.isclose(r.p, 2 / 256)
    assert not np.isclose(r.p, st.wilcoxon(d, method="approx").pvalue, rtol=0.05)
    assert np.isclose(S.signed_rank(d, alternative="greater").p, 1 / 256)
    # Paired x, y with a tie in |x - y|: every sign flip enumerated (exact), not the approximation.
    x, y = np.array([0.7, 0.6, 0.8, 0.75, 0.66, 0.71, 0.9, 0.62]), np.array([0.5, 0.5, 0.6, 0.55, 0.6, 0.6, 0.7, 0.6])
    r = S.signed_rank(x, y)
    flips = np.array([[1 - 2 * ((k >> i) & 1) for i in range(8)] for k in range(256)])
    dd = x - y
    ranks = st.rankdata(np.abs(dd))
    w = (flips * np.sign(dd) > 0) @ ranks
    w_obs = ranks[dd > 0].sum()
    p_enum = np.mean(np.abs(w - ranks.sum() / 2) >= abs(w_obs - ranks.sum() / 2) - 1e-9)
    assert r.method == "exact permutation" and np.isclose(r.p, p_enum)
    # Rank-sum 4 vs 4, complete separation: the exact two-sided p is 2 / C(8, 4) = 2/70.
    a, b = [0.8, 0.9, 0.85, 0.7], [0.5, 0.55, 0.6, 0.52]
    rs = S.rank_sum(a, b)
    assert rs.method == "exact" and np.isclose(rs.p, 2 / 70)
    # With ties: the exact permutation distribution over the 70 relabellings.
    rs = S.rank_sum([0.8, 0.6, 0.85, 0.7], [0.5, 0.6, 0.6, 0.52])
    assert rs.method == "exact permutation" and 0 < rs.p <= 1
    assert np.isclose(rs.p, st.mannwhitneyu([0.8, 0.6, 0.85, 0.7], [0.5, 0.6, 0.6, 0.52],
                                            method=st.PermutationMethod(n_resamples=10 ** 5)).pvalue)


def test_median_sem():
    m, s = S.median_sem([0.5, 0.6, 0.9, np.nan])
    assert m == 0.6 and np.isclose(s, np.std([0.5, 0.6, 0.9], ddof=1) / np.sqrt(3))
