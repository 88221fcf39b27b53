"""A bundle applied to one recording: its calls, their class probabilities, and the recording's decision.

:func:`classify_recording` is what ``usvflow classify`` runs:

1. the recording is checked against the bundle (:func:`usvflow.classify.bundle.check_recording`);
2. its calls are detected with the bundle's detector and settings, each with its call image; or, given a call
   table (``--calls``), the table's calls are used: a call the detector also finds (temporal IoU >=
   :data:`CALL_MATCH_IOU`) takes the detector's image, any other gets its image made from the audio the same
   way, except that the detector's per-chunk removal of stationary tonal noise is not applied to it;
3. the member's inputs are built (images; or the features with the six properties auto-scored) and scored;
4. raw scores become calibrated per-call probabilities, and the calls' log-odds are combined into the
   recording's posterior (:mod:`usvflow.classify.aggregate`); with ``pair=True`` the share of calls from each
   class is estimated with an interval that carries the model's LOAO confusion rates
   (:mod:`usvflow.classify.mixture`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..audio.io import Channel, inspect_wav, iter_chunks
from ..detect import CALL_COLUMNS, detect_file
from ..detect.evaluate import match
from ..detect.images import _call_images
from ..detect.params import IMAGE_SIZE, IMAGE_T_STEP_S
from ..errors import InputError
from .aggregate import call_log_odds, predicted_accuracy, raw_logits, recording_posterior
from .bundle import check_recording, check_reproducible
from .final import classical_inputs, classical_scores
from .mixture import class_share

#: A table's call takes the detector's image when the detector found the same call (temporal IoU at least this).
CALL_MATCH_IOU = 0.9


@dataclass
class Classified:
    """What :func:`classify_recording` returns: the per-call table and the recording's summary (JSON-ready)."""

    calls: pd.DataFrame
    summary: dict[str, Any]


def pick_member(bundle: dict[str, Any], name: str | None = None) -> tuple[str, dict[str, Any]]:
    """A bundle member by name (``cnn``, ``classical``), or the bundle's default one."""
    name = name or bundle["default_member"]
    if name not in bundle["members"]:
        raise InputError(None, f"the {bundle['task']} bundle has members {', '.join(sorted(bundle['members']))}, "
                               f"not {name!r}")
    return name, bundle["members"][name]


def read_call_table(path: str | Path) -> pd.DataFrame:
    """A call table (CSV or tab-separated) with ``onset_s`` and ``offset_s`` in seconds; refused in one line
    when those columns are missing or hold something other than increasing times."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "call table not found")
    try:
        table = pd.read_csv(p, sep=None, engine="python")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(p, f"not a readable table ({str(exc).splitlines()[0] if str(exc) else 'empty'})") from None
    if not {"onset_s", "offset_s"} <= set(table.columns):
        raise InputError(p, "call table needs columns onset_s and offset_s (seconds from the recording's start)")
    on = pd.to_numeric(table["onset_s"], errors="coerce").to_numpy(float)
    off = pd.to_numeric(table["offset_s"], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(on) | ~np.isfinite(off) | (on < 0) | (off <= on)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(p, f"row {i + 2}: onset_s {table['onset_s'].iloc[i]!r}, offset_s {table['offset_s'].iloc[i]!r} "
                            "are not times with onset >= 0 and offset > onset")
    return table.assign(onset_s=on, offset_s=off)


def images_for_intervals(path: str | Path, onsets: np.ndarray, offsets: np.ndarray, params: dict[str, Any],
                         channel: Channel, min_sample_rate_hz: int) -> np.ndarray:
    """The call image of each (onset, offset) interval, streamed chunk by chunk (no noise-floor correction)."""
    out = np.zeros((len(onsets), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    if not len(onsets):
        return out
    info = inspect_wav(path, min_sample_rate_hz)
    sr = info.sample_rate
    win = float(params["image_window_s"])
    lo = onsets - win
    hi = np.minimum(offsets, onsets + IMAGE_SIZE * IMAGE_T_STEP_S) + win
    overlap = float((hi - lo).max()) + 0.1
    done = np.zeros(len(onsets), bool)
    for ch in iter_chunks(path, max(10.0, 4 * overlap), overlap, channel, min_sample_rate_hz):
        t0, t1 = ch.start / sr, ch.stop / sr
        last = ch.stop >= info.frames
        sel = ~done & (np.maximum(lo, 0) >= t0) & ((hi <= t1) | last)
        if sel.any():
            out[sel] = _call_images(ch.samples, sr, ch.start, onsets[sel], offsets[sel], params, None)
            done |= sel
        if done.all():
            break
    return out


def _calls_and_images(bundle: dict[str, Any], wav: str | Path, channel: Channel, table: pd.DataFrame | None,
                      progress: bool, jobs: int) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    det_cfg = bundle["input"]["detector"]
    need = int(bundle["input"]["min_sample_rate_hz"])
    det = detect_file(wav, det_cfg["method"], det_cfg["params"], channel=channel, progress=progress, jobs=jobs,
                      min_sample_rate_hz=need)
    if table is None:
        return det.calls.copy(), np.asarray(det.spectrograms), {"calls_from": "detector", "detected": len(det.calls)}
    images = np.zeros((len(table), IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    ref = table[["onset_s", "offset_s"]].to_numpy(float)
    found = det.calls[["onset_s", "offset_s"]].to_numpy(float)
    matched = np.zeros(len(table), bool)
    for i_tab, j_det, _ in match(ref, found, CALL_MATCH_IOU):
        images[i_tab] = det.spectrograms[j_det]
        matched[i_tab] = True
    rest = np.flatnonzero(~matched)
    if len(rest):
        images[rest] = images_for_intervals(wav, ref[rest, 0], ref[rest, 1], det.params, channel, need)
    return table.copy(), images, {"calls_from": "table", "detected": len(det.calls),
                                  "table_calls_matched_by_detector": int(matched.sum())}


def _network_scores(member: dict[str, Any], images: np.ndarray, progress: bool) -> np.ndarray:
    from .inputs import prepare_images
    from .models import build_model

    spec = member["model"]
    if spec["family"] != "cnn":
        raise InputError(None, f"bundle member {member['name']!r} is a {spec['family']} network; this usvflow "
                               "applies spectrogram CNNs only")
    net = build_model("cnn", int(spec["n_classes"]), spec["config"])
    net.load_state_dict(spec["state_dict"])
    net.eval()
    x, _ = prepare_images(images, int(spec["config"]["input_size"]))
    out = []
    steps = range(0, len(x), 512)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(steps, desc="classify", unit="batch", leave=False)
    with torch.no_grad():
        for i in steps:
            out.append(torch.sigmoid(net(x[i:i + 512])[:, 0]).double().numpy())
    return np.concatenate(out) if out else np.zeros(0)


def _feature_inputs(bundle: dict[str, Any], kind: str, calls: pd.DataFrame, wav: str | Path, channel: Channel
                    ) -> np.ndarray:
    from ..features.columns import PROPERTIES
    from ..features.extract import compute_features

    feats, vectors = compute_features(calls, wav, channel, bundle["input"]["features"],
                                      min_sample_rate_hz=int(bundle["input"]["min_sample_rate_hz"]))
    for prop in PROPERTIES:  # a new recording's properties are auto-scored, as the member's training calls' were
        feats[prop] = feats[f"auto_{prop}"]
    return classical_inputs(kind, feats, vectors=vectors)


def member_scores(bundle: dict[str, Any], member: dict[str, Any], calls: pd.DataFrame, images: np.ndarray,
                  wav: str | Path, channel: Channel, progress: bool = False) -> np.ndarray:
    """Raw per-call scores of ``member`` (a network's P(class 1), or a ridge/SVM decision value)."""
    if not len(calls):
        return np.zeros(0)
    if member["kind"] == "network":
        return _network_scores(member, images, progress)
    kind = member["model"]["input"]
    X = classical_inputs("spectrogram", images=images) if kind == "spectrogram" \
        else _feature_inputs(bundle, kind, calls, wav, channel)
    return classical_scores(member["model"], X)


def recording_summary(bundle: dict[str, Any], member_name: str, member: dict[str, Any], log_odds: np.ndarray,
                      pair: bool = False, level: float = 0.95) -> dict[str, Any]:
    """The recording's decision from its calls' log-odds (and, with ``pair``, the share of each class)."""
    classes = bundle["classes"]
    n = int(len(log_odds))
    p1 = recording_posterior(log_odds, member["calibration"]["recording"])
    decision = None if n == 0 or p1 == 0.5 else (classes[1] if p1 > 0.5 else classes[0])
    curve = pd.DataFrame(member["curve"])
    out: dict[str, Any] = {
        "task": bundle["task"], "member": member_name, "model": member["name"], "n_calls": n,
        "decision": decision, "posterior": float(max(p1, 1 - p1)) if decision else 0.5,
        "posterior_by_class": {classes[0]: 1 - p1, classes[1]: p1},
        "calls_called": {classes[0]: int((log_odds < 0).sum()), classes[1]: int((log_odds > 0).sum())},
        "loao_accuracy_for_this_many_calls": predicted_accuracy(curve, n) if n else None,
        "loao_call_accuracy": member["loao"]["accuracy_mean"],
    }
    if pair:
        share = class_share(int((log_odds > 0).sum()), n, member["rate_model"], level=level)
        out["pair"] = {
            "level": level, "naive_share": {classes[1]: share["naive"], classes[0]: 1 - share["naive"]},
            "share": {classes[1]: {"estimate": share["share"], "low": share["low"], "high": share["high"]},
                      classes[0]: {"estimate": 1 - share["share"], "low": 1 - share["high"], "high": 1 - share["low"]}},
            "loao_rates": {"sensitivity": share["sensitivity"], "false_positive_rate": share["false_positive_rate"],
                           "animals": {c: member["rate_model"][str(i)]["n_animals"] for i, c in enumerate(classes)}},
        }
    return out


def classify_recording(bundle: dict[str, Any], wav: str | Path, member: str | None = None,
                       calls: pd.DataFrame | None = None, channel: Channel | None = None, pair: bool = False,
                       progress: bool = False, jobs: int = 0, level: float = 0.95) -> Classified:
    """Apply ``bundle`` to one recording (see the module docstring). ``calls``: a call table to use instead of
    detecting (``onset_s``, ``offset_s``; :func:`read_call_table`)."""
    check_reproducible(bundle, wav)
    info, channel = check_recording(bundle, wav, channel)
    name, m = pick_member(bundle, member)
    table, images, provenance = _calls_and_images(bundle, wav, channel, calls, progress, jobs)
    raw = raw_logits(member_scores(bundle, m, table, images, wav, channel, progress), m["score"])
    log_odds = call_log_odds(raw, m["calibration"]["call"])
    p1 = 1.0 / (1.0 + np.exp(-log_odds))
    classes = bundle["classes"]
    out = table.reset_index(drop=True)
    if calls is None:
        out = out[CALL_COLUMNS]
    out[f"p_{classes[0]}"] = 1.0 - p1
    out[f"p_{classes[1]}"] = p1
    out["predicted"] = np.where(log_odds > 0, classes[1], classes[0]) if len(out) else pd.Series(dtype=str)
    summary = {"recording": str(wav), "bundle_task": bundle["task"], "sample_rate_hz": info.sample_rate,
               "duration_s": info.duration_s, "channel": channel, **provenance,
               **recording_summary(bundle, name, m, log_odds, pair=pair, level=level)}
    return Classified(out, summary)


def evaluate_pair(bundle: dict[str, Any], wav: str | Path, truth: pd.DataFrame, member: str | None = None,
                  level: float = 0.95) -> dict[str, Any]:
    """Score ``usvflow classify --pair`` on one simulated pair recording against its truth (one row per call with
    ``onset_s``, ``offset_s`` and the emitter's class in the task's column): the true share of class-1 calls, the
    estimate and its interval, and how well the detected calls were attributed one by one."""
    task_column = bundle["training"].get("label_column", bundle["task"])
    classes = bundle["classes"]
    res = classify_recording(bundle, wav, member=member, pair=True, level=level)
    share = res.summary["pair"]["share"][classes[1]]
    emitter = truth[task_column].astype(str).to_numpy()
    true_share = float(np.mean(emitter == classes[1])) if len(truth) else float("nan")
    pairs = match(truth[["onset_s", "offset_s"]].to_numpy(float), res.calls[["onset_s", "offset_s"]].to_numpy(float))
    hit = np.array([res.calls["predicted"].iloc[j] == emitter[i] for i, j, _ in pairs], bool)
    naive = res.summary["pair"]["naive_share"][classes[1]]
    return {"recording": Path(wav).stem, "n_true_calls": int(len(truth)), "n_calls": res.summary["n_calls"],
            "n_matched": int(len(pairs)), "call_accuracy": float(hit.mean()) if len(hit) else float("nan"),
            "true_share": true_share, "estimate": share["estimate"], "low": share["low"], "high": share["high"],
            "naive": naive, "covered": bool(share["low"] <= true_share <= share["high"]),
            "abs_error": abs(share["estimate"] - true_share), "naive_abs_error": abs(naive - true_share),
            "width": share["high"] - share["low"], "member": res.summary["member"], "model": res.summary["model"]}
