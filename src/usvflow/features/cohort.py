"""A cohort's feature table and vectors, row-aligned with its dataset table; reading them back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .columns import (
    AUTO_COLUMNS,
    EXTRA_COLUMNS,
    FEATURE_COLUMNS,
    FEATURES_24,
    N_SPECTRAL,
    PROPERTIES,
    SPECTRAL_GRID_HZ,
    VECTOR_LEN,
)


def fill_properties(dataset: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """The six properties per call: the reference's where the dataset has them, auto-scored otherwise.

    Rows with ``properties_source == 'none'`` (or a missing value) take ``auto_<property>`` and are
    recorded as ``'auto'``.
    """
    out = pd.DataFrame(index=dataset.index)
    source = dataset.get("properties_source", pd.Series("none", index=dataset.index)).astype(str).copy()
    missing = (source == "none") | dataset[PROPERTIES].isna().any(axis=1) if set(PROPERTIES) <= set(dataset) \
        else pd.Series(True, index=dataset.index)
    for prop in PROPERTIES:
        ref = dataset[prop] if prop in dataset else pd.Series(np.nan, index=dataset.index)
        out[prop] = np.where(missing, features[f"auto_{prop}"].to_numpy(), ref.to_numpy()).astype(float)
    out["properties_source"] = np.where(missing, "auto", source)
    return out


def merge_cohort(dataset: pd.DataFrame, per_recording: dict[str, tuple[pd.DataFrame, dict[str, np.ndarray]]]
                 ) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One feature table + vectors per cohort, row-aligned with the dataset table (``call_uid`` order).

    ``per_recording`` maps a recording to what :func:`compute_features` returned for its call table (rows
    in the detector's order, which is how the dataset numbers ``call_index``).
    """
    parts, vec_parts = [], {k: [] for k in ("ff_line", "time_marginal", "spectral_marginal")}
    for rec, sub in dataset.groupby("recording", sort=False):
        table, vecs = per_recording[rec]
        idx = sub["call_index"].to_numpy(int)
        if len(table) and idx.max(initial=-1) >= len(table):
            raise InputError(rec, f"dataset has call_index {idx.max()} but only {len(table)} feature rows")
        part = table.iloc[idx].reset_index(drop=True)
        part.index = sub.index
        parts.append(part)
        for k in vec_parts:
            vec_parts[k].append(pd.DataFrame(vecs[k][idx], index=sub.index))
    if parts:
        feats = pd.concat(parts).loc[dataset.index]
        vectors = {k: pd.concat(v).loc[dataset.index].to_numpy(np.float32) for k, v in vec_parts.items()}
    else:
        feats = pd.DataFrame(columns=FEATURE_COLUMNS + EXTRA_COLUMNS + AUTO_COLUMNS)
        vectors = {"ff_line": np.zeros((0, VECTOR_LEN), np.float32), "time_marginal": np.zeros((0, VECTOR_LEN), np.float32),
                   "spectral_marginal": np.zeros((0, N_SPECTRAL), np.float32)}
    props = fill_properties(dataset, feats) if len(dataset) else pd.DataFrame(columns=PROPERTIES + ["properties_source"])
    out = pd.concat([dataset[["call_uid"]] if "call_uid" in dataset else pd.DataFrame(index=dataset.index),
                     feats[FEATURE_COLUMNS], props, feats[EXTRA_COLUMNS + AUTO_COLUMNS]], axis=1)
    vectors["call_uid"] = out["call_uid"].to_numpy(str) if "call_uid" in out else np.zeros(0, str)
    return out.reset_index(drop=True), vectors


def save_vectors(path: str | Path, vectors: dict[str, np.ndarray]) -> None:
    """Write ``call_uid``, ``ff_line``, ``time_marginal``, ``spectral_marginal`` (+ the frequency grid)."""
    np.savez_compressed(path, call_uid=np.asarray(vectors["call_uid"], dtype=str), ff_line=vectors["ff_line"],
                        time_marginal=vectors["time_marginal"], spectral_marginal=vectors["spectral_marginal"],
                        spectral_grid_hz=SPECTRAL_GRID_HZ)


def load_vectors(path: str | Path) -> dict[str, np.ndarray]:
    """Read what :func:`save_vectors` wrote."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_features(features_path: str | Path, vectors_path: str | Path | None = None
                  ) -> tuple[pd.DataFrame, dict[str, np.ndarray] | None]:
    """A cohort's feature table (and vectors), as the ``features`` rule wrote them."""
    table = pd.read_parquet(features_path)
    vectors = load_vectors(vectors_path) if vectors_path is not None else None
    if vectors is not None and len(vectors["call_uid"]) != len(table):
        raise InputError(vectors_path, f"{len(vectors['call_uid'])} vectors but {len(table)} rows in {features_path}")
    return table, vectors


def semiconv_matrix(table: pd.DataFrame, vectors: dict[str, np.ndarray]) -> np.ndarray:
    """The paper's 457-dimensional input of the semi-convolutional models: 24 features + 3 vectors."""
    return np.hstack([table[FEATURES_24].to_numpy(float), vectors["ff_line"], vectors["time_marginal"],
                      vectors["spectral_marginal"]]).astype(np.float64)
