"""Measured features and auto-scored properties against the simulator's truth (``figures/feature_recovery.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import PROPERTIES


def truth_errors(features: pd.DataFrame, dataset: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per matched call, measured minus true value of every feature the simulator's truth defines.

    ``truth`` must hold the truth rows of all recordings with ``recording`` and the per-recording row index
    ``reference_index`` (as the dataset's). Returns one row per matched call with ``err_<feature>`` columns.
    """
    pairs = {"duration_s": "duration_s", "mean_frequency_hz": "f_mean_hz", "f_start_hz": "f_start_hz",
             "f_end_hz": "f_end_hz", "f_min_ff_hz": "f_min_hz", "f_max_ff_hz": "f_max_hz",
             "spectral_width_hz": None}
    m = dataset["reference_index"].to_numpy(int) >= 0
    keys = pd.MultiIndex.from_arrays([dataset.loc[m, "recording"], dataset.loc[m, "reference_index"]])
    t = truth.set_index(["recording", "reference_index"]).reindex(keys)
    out = pd.DataFrame({"call_uid": dataset.loc[m, "call_uid"].to_numpy(),
                        "call_type": t["call_type"].to_numpy() if "call_type" in t else ""})
    f = features.loc[m]
    for feat, col in pairs.items():
        true = (t["f_max_hz"] - t["f_min_hz"]).to_numpy() if col is None else t[col].to_numpy()
        out[f"true_{feat}"] = true
        out[f"err_{feat}"] = f[feat].to_numpy(float) - true
    return out


def recovery_summary(errors: pd.DataFrame, dataset: pd.DataFrame, features: pd.DataFrame,
                     group: str = "all") -> pd.DataFrame:
    """Per feature the truth defines: the error distribution; per property: auto-score agreement.

    ``errors`` from :func:`truth_errors`; ``dataset``/``features`` row-aligned. Properties are compared on
    the calls whose reference is the truth (``properties_source == 'truth'`` in the dataset table).
    """
    from sklearn.metrics import cohen_kappa_score

    rows = []
    for col in [c for c in errors.columns if c.startswith("err_")]:
        e = errors[col].to_numpy(float)
        e = e[np.isfinite(e)]
        feat = col[4:]
        unit = "s" if feat.endswith("_s") else "Hz"
        rows.append({"group": group, "kind": "feature", "name": feat, "unit": unit, "n": int(e.size),
                     "mean_error": float(e.mean()) if e.size else np.nan,
                     "median_error": float(np.median(e)) if e.size else np.nan,
                     "median_abs_error": float(np.median(np.abs(e))) if e.size else np.nan,
                     "p90_abs_error": float(np.quantile(np.abs(e), 0.9)) if e.size else np.nan,
                     "sd_error": float(e.std(ddof=1)) if e.size > 1 else np.nan,
                     "accuracy": np.nan, "kappa": np.nan})
    ref = (dataset["properties_source"].to_numpy() == "truth") if len(dataset) else np.zeros(0, bool)
    for prop in PROPERTIES:
        a = features.loc[ref, f"auto_{prop}"].to_numpy(float)
        t = dataset.loc[ref, prop].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(t)
        a, t = a[ok].astype(int), t[ok].astype(int)
        kappa = float(cohen_kappa_score(t, a)) if a.size and len(np.unique(np.concatenate([a, t]))) > 1 else np.nan
        rows.append({"group": group, "kind": "property", "name": prop, "unit": "", "n": int(a.size),
                     "mean_error": float(np.mean(a - t)) if a.size else np.nan,
                     "median_error": float(np.median(a - t)) if a.size else np.nan,
                     "median_abs_error": float(np.median(np.abs(a - t))) if a.size else np.nan,
                     "p90_abs_error": float(np.quantile(np.abs(a - t), 0.9)) if a.size else np.nan,
                     "sd_error": np.nan,
                     "accuracy": float(np.mean(a == t)) if a.size else np.nan, "kappa": kappa})
    return pd.DataFrame(rows)
