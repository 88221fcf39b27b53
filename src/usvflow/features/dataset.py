"""One table (and one image stack) of detected calls per cohort: the input of every analysis.

Each detected call gets its recording's labels (animal, sex, strain) and, where a reference exists,
the six human-scored properties of the paper (direction, peaks, breaks, broadband, tremolo,
complexity): from a lab's annotation table when the sample sheet names one, from the simulator's
truth on simulated data. The detection is matched one-to-one to the reference call it overlaps most
(temporal IoU ≥ 0.3); a detection without a partner keeps empty properties, and
``properties_source`` says where each row's properties came from.

Every row also gets Fig 7's image measures (:func:`usvflow.features.noise.image_noise_measures`: ``low_share``,
``broadest_khz``, ``noise_like``). The ``noise_like`` setting (config ``dataset.noise_like``) says what to do
with the noise-like calls: ``keep`` them (the default: on the annotated real clips they are mostly true calls
heard over noise, ``benchmarks/noise_like_real.py``) or ``drop`` them from the table and the images alike;
the remaining rows keep their ``call_index`` and ``call_uid`` (the detector's numbering).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..detect.evaluate import match
from ..errors import InputError
from .noise import image_noise_measures

PROPERTIES = ["direction", "peaks", "breaks", "broadband", "tremolo", "complexity"]
LABEL_COLUMNS = ["recording", "animal", "sex", "strain", "cohort"]
MATCH_IOU = 0.3
NOISE_COLUMNS = ["low_share", "broadest_khz", "noise_like"]
#: What the dataset does with noise-like calls (config ``dataset.noise_like``).
NOISE_POLICIES = ("keep", "drop")


def read_annotations(path: str | Path) -> pd.DataFrame:
    """A lab's per-call table: ``onset_s, offset_s`` (or the first two columns) and any properties."""
    path = Path(path)
    try:
        table = pd.read_csv(path, sep=None, engine="python")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"annotations are not a readable table ({str(exc).splitlines()[0]})") from None
    if not {"onset_s", "offset_s"} <= set(table.columns):
        raise InputError(path, "annotations need columns onset_s and offset_s (seconds from the recording's start)")
    return table


def attach_reference(calls: pd.DataFrame, reference: pd.DataFrame | None, source: str) -> pd.DataFrame:
    """Copy the scored properties (and, for simulated truth, the call type) of matched reference calls."""
    out = calls.copy()
    for col in PROPERTIES:
        out[col] = np.nan
    out["properties_source"] = "none"
    out["reference_index"] = -1
    out["reference_iou"] = np.nan
    out["truth_call_type"] = ""
    if reference is None or reference.empty or out.empty:
        return out
    pairs = match(reference[["onset_s", "offset_s"]].to_numpy(float), out[["onset_s", "offset_s"]].to_numpy(float),
                  MATCH_IOU)
    for i_ref, j_det, iou in pairs:
        row = out.index[j_det]
        out.loc[row, "reference_index"] = int(i_ref)
        out.loc[row, "reference_iou"] = float(iou)
        present = [c for c in PROPERTIES if c in reference.columns and pd.notna(reference.iloc[i_ref][c])]
        for col in present:
            out.loc[row, col] = float(reference.iloc[i_ref][col])
        if present:
            out.loc[row, "properties_source"] = source
        if "call_type" in reference.columns:
            out.loc[row, "truth_call_type"] = str(reference.iloc[i_ref]["call_type"])
    return out


def noise_columns(table: pd.DataFrame, images: np.ndarray, policy: str = "keep") -> tuple[pd.DataFrame, np.ndarray]:
    """``table`` with :data:`NOISE_COLUMNS` of its row-aligned ``images`` appended, and, with ``policy ==
    "drop"``, the noise-like rows taken out of both (the rest in their order, the table's index reset)."""
    if policy not in NOISE_POLICIES:
        raise ValueError(f"noise_like must be one of {', '.join(NOISE_POLICIES)}, got {policy!r}")
    if len(table) != len(images):
        raise ValueError(f"{len(images)} images for {len(table)} calls")
    measures = image_noise_measures(images)
    out = table.copy()
    for column, dtype in zip(NOISE_COLUMNS, (float, float, bool)):
        out[column] = measures[column].to_numpy(dtype)
    if policy == "keep":
        return out, images
    keep = ~out["noise_like"].to_numpy(bool)
    return out[keep].reset_index(drop=True), images[keep]


def build_cohort(samples: pd.DataFrame, calls_paths: dict[str, str], image_paths: dict[str, str],
                 truth_paths: dict[str, str] | None = None,
                 noise_like: str = "keep") -> tuple[pd.DataFrame, np.ndarray]:
    """Merge one cohort's per-recording detections into a call table and an aligned image stack.

    ``samples``: sample-sheet rows of the cohort (indexed by recording). ``truth_paths``: simulated
    truth tables by recording (None for real data; annotations then come from the sample sheet).
    ``noise_like``: ``keep`` or ``drop`` the noise-like calls (:func:`noise_columns`).
    """
    tables, images = [], []
    for rec, row in samples.iterrows():
        calls = pd.read_csv(calls_paths[rec])
        with np.load(image_paths[rec], allow_pickle=False) as z:
            imgs = z["spectrograms"]
        if len(imgs) != len(calls):
            raise InputError(image_paths[rec], f"{len(imgs)} images for {len(calls)} calls in {calls_paths[rec]}")
        if truth_paths and rec in truth_paths:
            reference, source = pd.read_csv(truth_paths[rec]), "truth"
        elif row.get("annotations"):
            reference, source = read_annotations(row["annotations"]), "annotations"
        else:
            reference, source = None, "none"
        calls = attach_reference(calls, reference, source)
        calls.insert(0, "call_index", np.arange(len(calls)))
        for col in reversed(LABEL_COLUMNS):
            calls.insert(0, col, row[col] if col != "recording" else rec)
        calls.insert(0, "call_uid", [f"{rec}#{i}" for i in range(len(calls))])
        tables.append(calls)
        images.append(imgs)
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    stack = np.concatenate(images) if images else np.zeros((0, 100, 100), np.uint8)
    return noise_columns(table, stack.astype(np.uint8), noise_like)


def load_cohort(table_path: str | Path, images_path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read what the ``dataset`` rule wrote: the call table and its row-aligned (n, 100, 100) images."""
    table = pd.read_parquet(table_path)
    images = np.load(images_path)
    if len(table) != len(images):
        raise InputError(images_path, f"{len(images)} images but {len(table)} rows in {table_path}")
    return table, images
