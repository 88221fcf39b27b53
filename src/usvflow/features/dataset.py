"""One table (and one image stack) of detected calls per cohort: the input of every analysis.

Each detected call gets its recording's labels (animal, sex, strain) and, where a reference exists,
the six human-scored properties of the paper (direction, peaks, breaks, broadband, tremolo,
complexity): from a lab's annotation table when the sample sheet names one, from the simulator's
truth on simulated data. The detection is matched one-to-one to the reference call it overlaps most
(temporal IoU ≥ 0.3); a detection without a partner keeps empty properties, and
``properties_source`` says where each row's properties came from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..detect.evaluate import match
from ..errors import InputError

PROPERTIES = ["direction", "peaks", "breaks", "broadband", "tremolo", "complexity"]
LABEL_COLUMNS = ["recording", "animal", "sex", "strain", "cohort"]
MATCH_IOU = 0.3


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


def build_cohort(samples: pd.DataFrame, calls_paths: dict[str, str], image_paths: dict[str, str],
                 truth_paths: dict[str, str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """Merge one cohort's per-recording detections into a call table and an aligned image stack.

    ``samples``: sample-sheet rows of the cohort (indexed by recording). ``truth_paths``: simulated
    truth tables by recording (None for real data; annotations then come from the sample sheet).
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
    return table, stack.astype(np.uint8)


def load_cohort(table_path: str | Path, images_path: str | Path) -> tuple[pd.DataFrame, np.ndarray]:
    """Read what the ``dataset`` rule wrote: the call table and its row-aligned (n, 100, 100) images."""
    table = pd.read_parquet(table_path)
    images = np.load(images_path)
    if len(table) != len(images):
        raise InputError(images_path, f"{len(images)} images but {len(table)} rows in {table_path}")
    return table, images
