"""Scoring detected calls against a reference (human annotation or simulator truth).

Detections and truth are time intervals. A detection matches a true call when their temporal
intersection-over-union (IoU) reaches a threshold (0.3 in the project's benchmark); with
``iou_threshold=0`` any overlap counts. Matching is one-to-one and maximal: each true call and each
detection is used at most once, and the number of matches is as large as possible (ties broken by
the larger total IoU), so a detector is never rewarded for splitting a call or merging two.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from ..errors import InputError

#: The criteria of the project's detection benchmark: name -> IoU threshold (0 = any overlap).
CRITERIA: dict[str, float] = {"iou0.3": 0.3, "iou0.5": 0.5, "overlap": 0.0}


@dataclass(frozen=True)
class Score:
    """Counts and rates of one comparison. ``precision``/``recall``/``f1`` are NaN when undefined."""

    n_true: int
    n_detected: int
    tp: int
    precision: float
    recall: float
    f1: float

    @staticmethod
    def from_counts(n_true: int, n_detected: int, tp: int) -> "Score":
        precision = tp / n_detected if n_detected else float("nan")
        recall = tp / n_true if n_true else float("nan")
        if n_true + n_detected == 0:
            f1 = float("nan")
        else:
            # 2TP / (2TP + FP + FN): defined (0) even when one side is empty.
            f1 = 2 * tp / (n_true + n_detected)
        return Score(n_true, n_detected, tp, precision, recall, f1)

    def __add__(self, other: "Score") -> "Score":
        """Pool two comparisons (e.g. several recordings) by adding their counts."""
        return Score.from_counts(
            self.n_true + other.n_true, self.n_detected + other.n_detected, self.tp + other.tp
        )

    def as_dict(self) -> dict:
        return asdict(self)


def _as_intervals(x) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        cols = ["onset_s", "offset_s"] if {"onset_s", "offset_s"} <= set(x.columns) else x.columns[:2]
        arr = x[list(cols)].to_numpy(dtype=float)
    else:
        arr = np.asarray(x, dtype=float)
    if arr.size == 0:
        return np.zeros((0, 2))
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError("intervals must be an (n, 2) array of onset, offset seconds")
    return arr


def iou_matrix(truth: np.ndarray, detected: np.ndarray) -> np.ndarray:
    """Temporal IoU of every (true, detected) pair; pairs that do not overlap get -1.

    -1 (rather than 0) keeps "touching" and "disjoint" apart from a genuine tiny overlap, so the
    any-overlap criterion can require a strictly positive intersection.
    """
    t0, t1 = truth[:, :1], truth[:, 1:]
    d0, d1 = detected[:, 0][None, :], detected[:, 1][None, :]
    inter = np.minimum(t1, d1) - np.maximum(t0, d0)
    union = np.maximum(t1, d1) - np.minimum(t0, d0)
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    return np.where(inter > 0, iou, -1.0)


def match(truth, detected, iou_threshold: float = 0.3) -> list[tuple[int, int, float]]:
    """One-to-one maximal matching of true and detected intervals.

    Returns ``(true_index, detected_index, iou)`` for each matched pair. A pair is admissible when
    the intervals overlap and their IoU is ``>= iou_threshold``. To keep memory linear in the number of
    calls on long recordings, intervals are first split into independent groups (chains of mutually
    overlapping intervals) and each group is solved with the Hungarian algorithm.
    """
    t = _as_intervals(truth)
    d = _as_intervals(detected)
    if len(t) == 0 or len(d) == 0:
        return []
    # Group all intervals (both sets) into connected runs along the time axis.
    starts = np.concatenate([t[:, 0], d[:, 0]])
    ends = np.concatenate([t[:, 1], d[:, 1]])
    is_true = np.concatenate([np.ones(len(t), bool), np.zeros(len(d), bool)])
    index = np.concatenate([np.arange(len(t)), np.arange(len(d))])
    order = np.argsort(starts, kind="stable")
    run_end = np.maximum.accumulate(ends[order])
    # A new group starts where an interval begins at or after everything before it has ended.
    new_group = np.r_[True, starts[order][1:] >= run_end[:-1]]
    group = np.cumsum(new_group)
    pairs: list[tuple[int, int, float]] = []
    for g in np.unique(group):
        members = order[group == g]
        ti = index[members[is_true[members]]]
        di = index[members[~is_true[members]]]
        if len(ti) == 0 or len(di) == 0:
            continue
        iou = iou_matrix(t[ti], d[di])
        ok = (iou >= iou_threshold) & (iou > -1)
        if not ok.any():
            continue
        # Maximise the number of admissible pairs first, total IoU second.
        weight = np.where(ok, 1.0 + np.clip(iou, 0, 1) / (len(ti) + len(di)), 0.0)
        rows, cols = linear_sum_assignment(weight, maximize=True)
        for r, c in zip(rows, cols):
            if ok[r, c]:
                pairs.append((int(ti[r]), int(di[c]), float(iou[r, c])))
    pairs.sort()
    return pairs


def score(truth, detected, iou_threshold: float = 0.3) -> Score:
    """Precision, recall and F1 of ``detected`` against ``truth`` (one-to-one matching)."""
    t = _as_intervals(truth)
    d = _as_intervals(detected)
    return Score.from_counts(len(t), len(d), len(match(t, d, iou_threshold)))


def timing_errors(truth, detected, iou_threshold: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Signed onset and offset errors (s, detected minus true) of the matched pairs (:func:`match`).
    Positive onset error: the detection starts late; positive offset error: it ends late."""
    t = _as_intervals(truth)
    d = _as_intervals(detected)
    pairs = match(t, d, iou_threshold)
    if not pairs:
        return np.zeros(0), np.zeros(0)
    ti = np.array([i for i, _, _ in pairs])
    di = np.array([j for _, j, _ in pairs])
    return d[di, 0] - t[ti, 0], d[di, 1] - t[ti, 1]


def _median_ms(errors: list[np.ndarray]) -> float:
    """Median absolute error in ms over all matched pairs (NaN when none matched)."""
    e = np.concatenate(errors) if errors else np.zeros(0)
    return float(np.median(np.abs(e)) * 1e3) if len(e) else float("nan")


def read_intervals(path: str | Path) -> np.ndarray:
    """Read an interval table: a call table with ``onset_s``/``offset_s`` columns, a Raven selection
    table (``Begin Time (s)``/``End Time (s)``), or a headerless two-column ``onset,offset`` CSV (the
    format of the amvoc-dev truth and peer files)."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "file not found")
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(p, f"cannot read interval table ({exc})") from None
    first = text.lstrip().split("\n", 1)[0] if text.strip() else ""
    if not first:
        return np.zeros((0, 2))
    try:
        if "Begin Time (s)" in first:
            df = pd.read_csv(p, sep="\t")
            arr = df[["Begin Time (s)", "End Time (s)"]].to_numpy(float)
        elif "onset_s" in first:
            df = pd.read_csv(p)
            arr = df[["onset_s", "offset_s"]].to_numpy(float)
        else:
            arr = pd.read_csv(p, header=None, sep=None, engine="python").iloc[:, :2].to_numpy(float)
    except (ValueError, KeyError, pd.errors.ParserError) as exc:
        raise InputError(p, f"not an interval table with onset and offset seconds ({exc})") from None
    arr = arr.reshape(-1, 2)
    if np.isnan(arr).any() or (arr[:, 1] < arr[:, 0]).any():
        raise InputError(p, "interval table has missing values or offsets before onsets")
    return arr


def score_files(truth_path, detected_path, criteria: dict[str, float] | None = None) -> dict[str, Score]:
    """Score one tool's interval file against a truth file under each criterion."""
    t = read_intervals(truth_path)
    d = read_intervals(detected_path)
    return {name: score(t, d, thr) for name, thr in (criteria or CRITERIA).items()}


def score_table(rows: list[dict], criteria: dict[str, float] | None = None) -> pd.DataFrame:
    """Score many (dataset, clip, tool) comparisons and add pooled rows per (dataset, tool).

    ``rows`` are dicts with keys ``dataset``, ``clip``, ``tool``, ``truth`` and ``detected`` (each an
    interval array, a DataFrame or a path). Returns a long table with one row per comparison and
    criterion; pooled rows have ``clip == "pooled"``.
    """
    criteria = criteria or CRITERIA
    out = []
    pooled: dict[tuple, Score] = {}
    for r in rows:
        t = read_intervals(r["truth"]) if isinstance(r["truth"], (str, Path)) else _as_intervals(r["truth"])
        d = (
            read_intervals(r["detected"])
            if isinstance(r["detected"], (str, Path))
            else _as_intervals(r["detected"])
        )
        for name, thr in criteria.items():
            s = score(t, d, thr)
            extra = {k: v for k, v in r.items() if k not in ("truth", "detected")}
            out.append({**extra, "criterion": name, **s.as_dict()})
            key = (r["dataset"], r["tool"], name)
            pooled[key] = pooled[key] + s if key in pooled else s
    for (dataset, tool, name), s in pooled.items():
        out.append({"dataset": dataset, "clip": "pooled", "tool": tool, "criterion": name, **s.as_dict()})
    return pd.DataFrame(out)


def label_detections(detected, truth: pd.DataFrame, label_col: str, fallback=None) -> np.ndarray:
    """A label for every detection: that of the true call it overlaps most, else ``fallback[j]`` (e.g.
    the kind of noise it sits on), else ``"no call"``. Used to charge false positives to a category."""
    d = _as_intervals(detected)
    t = _as_intervals(truth)
    labels = np.array(["no call"] * len(d), dtype=object)
    if fallback is not None:
        labels[:] = np.asarray(fallback, dtype=object)
    if len(d) and len(t):
        # Overlap (s) of each detection with each call, in groups to bound memory on long files.
        for lo in range(0, len(d), 2000):
            dd = d[lo : lo + 2000]
            inter = np.minimum(dd[:, 1:2], t[None, :, 1]) - np.maximum(dd[:, 0:1], t[None, :, 0])
            best = inter.argmax(axis=1)
            has = inter[np.arange(len(dd)), best] > 0
            values = truth[label_col].to_numpy()[best]
            labels[lo : lo + 2000][has] = values[has]
    return labels


def category_scores(truth: pd.DataFrame, detected, label_col: str, iou_threshold: float = 0.3,
                    detection_labels: np.ndarray | None = None) -> dict[str, Score]:
    """Scores per value of ``truth[label_col]`` (e.g. call type, or the noise a call overlaps).

    True calls of a category and the detections matched to them give its TP and FN; an unmatched
    detection is a false positive of the category in ``detection_labels`` (default: that of the true
    call it overlaps most, see :func:`label_detections`). Detections charged to a label that no true
    call has are reported under that label with ``n_true == 0``.
    """
    t = _as_intervals(truth)
    d = _as_intervals(detected)
    pairs = match(t, d, iou_threshold)
    matched_t = np.zeros(len(t), bool)
    matched_d = np.zeros(len(d), bool)
    for i, j, _ in pairs:
        matched_t[i] = matched_d[j] = True
    if detection_labels is None:
        detection_labels = label_detections(d, truth, label_col)
    true_labels = truth[label_col].astype(str).to_numpy()
    det_labels = np.asarray(detection_labels).astype(str)
    out = {}
    for lab in sorted(set(true_labels) | set(det_labels[~matched_d])):
        is_t = true_labels == lab
        tp = int((matched_t & is_t).sum())
        fp = int(((~matched_d) & (det_labels == lab)).sum())
        out[lab] = Score.from_counts(int(is_t.sum()), tp + fp, tp)
    return out


# --------------------------------------------------------------------------------------------------
# The project's detection benchmark (figures/detection_benchmark.csv / .pdf)

#: Columns of the benchmark table. ``evaluation`` says how the settings relate to the scored data:
#: ``in-sample`` (our detectors' shipped settings, chosen on these very clips), ``leave-one-clip-out``
#: (the default detector with settings chosen on the other clips only, see
#: :func:`usvflow.detect.selection.loco_table`) or
#: ``independent`` (settings never chosen on this data: the published tools' own detections, the paper's
#: method, and our detectors on the simulated cohort). ``onset_err_ms`` / ``offset_err_ms``: median
#: absolute onset / offset error of the calls matched under the row's criterion.
BENCHMARK_COLUMNS = ["dataset", "subset", "tool", "evaluation", "criterion", "n_true", "n_detected", "tp",
                     "precision", "recall", "f1", "onset_err_ms", "offset_err_ms"]


def _rows(dataset: str, subset: str, tool: str, scores: dict[str, Score], evaluation: str = "independent",
          errors: dict[str, tuple[list, list]] | None = None) -> list[dict]:
    out = []
    for c, s in scores.items():
        on, off = (errors or {}).get(c, ([], []))
        out.append({"dataset": dataset, "subset": subset, "tool": tool, "evaluation": evaluation, "criterion": c,
                    **s.as_dict(), "onset_err_ms": _median_ms(on), "offset_err_ms": _median_ms(off)})
    return out


class _Pool:
    """Scores and timing errors of several comparisons, pooled by key (counts added, errors concatenated)."""

    def __init__(self) -> None:
        self.scores: dict[tuple, dict[str, Score]] = {}
        self.errors: dict[tuple, dict[str, tuple[list, list]]] = {}

    def add(self, key: tuple, truth: np.ndarray, det: np.ndarray) -> tuple[dict[str, Score], dict]:
        scores, errors = {}, {}
        for c, thr in CRITERIA.items():
            scores[c] = score(truth, det, thr)
            on, off = timing_errors(truth, det, thr)
            errors[c] = ([on], [off])
            acc = self.scores.setdefault(key, {})
            acc[c] = acc[c] + scores[c] if c in acc else scores[c]
            e = self.errors.setdefault(key, {}).setdefault(c, ([], []))
            e[0].append(on)
            e[1].append(off)
        return scores, errors


def _evaluation(tool: str) -> str:
    return "in-sample" if tool == "usvflow-default" else "independent"


def real_clip_table(real_dir: str | Path, methods: list[str], detection: dict | None = None,
                    jobs: int = 0) -> pd.DataFrame:
    """Our detectors and the shipped peer tools against the human truth of each clip in ``real_dir``
    (layout of ``data/amvoc-dev``: ``clipK/recording.wav``, ``truth.csv``, ``peers/<tool>.csv``).
    One row per clip, tool and criterion, plus ``subset == "pooled"`` rows (counts added over clips,
    timing errors pooled over all matched calls)."""
    from .stream import detect_file

    clips = _annotated_clips(real_dir)
    rows: list[dict] = []
    pool = _Pool()
    for clip in clips:
        truth = read_intervals(clip / "truth.csv")
        tools: dict[str, np.ndarray] = {}
        for m in methods:
            det = detect_file(clip / "recording.wav", m, params=(detection or {}).get(m), jobs=jobs)
            tools[f"usvflow-{m}"] = det.calls[["onset_s", "offset_s"]].to_numpy()
        for peer in sorted((clip / "peers").glob("*.csv")):
            tools[peer.stem] = read_intervals(peer)
        for tool, det in tools.items():
            scores, errors = pool.add((tool,), truth, det)
            rows += _rows(Path(real_dir).name, clip.name, tool, scores, _evaluation(tool), errors)
    for (tool,), scores in pool.scores.items():
        rows += _rows(Path(real_dir).name, "pooled", tool, scores, _evaluation(tool), pool.errors[(tool,)])
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)


def _annotated_clips(real_dir: str | Path) -> list[Path]:
    real_dir = Path(real_dir)
    clips = sorted(p.parent for p in real_dir.glob("*/truth.csv"))
    if not clips:
        raise InputError(real_dir, "no annotated clips found (expected <clip>/truth.csv and recording.wav)")
    return clips



def _noise_labels(detected: np.ndarray, noise: pd.DataFrame) -> np.ndarray:
    """The loudest kind of transient noise each detection sits on ("none" if none)."""
    order = ["burst", "click", "movement"]
    out = []
    transient = noise[noise["kind"].isin(order)]
    for a, b in detected:
        hit = transient[(transient.onset_s < b) & (transient.offset_s > a)]
        kinds = set(hit["kind"])
        out.append(next((k for k in order if k in kinds), "none"))
    return np.array(out, dtype=object)


def _condition_labels(detected: np.ndarray, noise: pd.DataFrame) -> np.ndarray:
    """The recording condition at each detection's midpoint: ``faint_broadband`` inside a stretch of faint
    calls in broadband noise (noise events of that kind), else ``standard``."""
    out = np.array(["standard"] * len(detected), dtype=object)
    epochs = noise[noise["kind"] == "faint_broadband"][["onset_s", "offset_s"]].to_numpy(float)
    if len(detected) and len(epochs):
        mid = detected.mean(axis=1)
        inside = ((mid[:, None] >= epochs[None, :, 0]) & (mid[:, None] < epochs[None, :, 1])).any(axis=1)
        out[inside] = "faint_broadband"
    return out


def simulated_table(recordings: list[str], truth_dir: str | Path, extract_dir: str | Path,
                    methods: list[str]) -> pd.DataFrame:
    """Our detectors against the simulator's truth: pooled over the cohort, per noise condition a call
    overlaps (``noise:<kind>``; false positives charged to the noise they sit on), per recording condition
    (``condition:<name>``, e.g. faint calls in broadband noise; false positives charged to the condition at
    their midpoint) and per call type (``type:<name>``; false positives charged to the call they overlap,
    else ``type:no call``)."""
    truth_dir, extract_dir = Path(truth_dir), Path(extract_dir)
    rows: list[dict] = []
    for m in methods:
        acc: dict[tuple[str, str], Score] = {}

        def add(subset: str, crit: str, s: Score) -> None:
            acc[(subset, crit)] = acc[(subset, crit)] + s if (subset, crit) in acc else s

        for rec in recordings:
            truth = pd.read_csv(truth_dir / f"{rec}.calls.csv")
            noise = pd.read_csv(truth_dir / f"{rec}.noise.csv")
            det = read_intervals(extract_dir / m / f"{rec}.calls.csv")
            nl = _noise_labels(det, noise)
            for crit, thr in CRITERIA.items():
                add("pooled", crit, score(truth, det, thr))
                for lab, s in category_scores(truth, det, "noise_overlap", thr, nl).items():
                    add(f"noise:{lab}", crit, s)
                for lab, s in category_scores(truth, det, "call_type", thr).items():
                    add(f"type:{lab}", crit, s)
                if "condition" in truth:
                    cl = _condition_labels(det, noise)
                    for lab, s in category_scores(truth, det, "condition", thr, cl).items():
                        add(f"condition:{lab}", crit, s)
                if "faint" in truth:
                    faint = truth.assign(faint=np.where(truth["faint"].astype(bool), "faint", "not faint"))
                    for lab, s in category_scores(faint, det, "faint", thr).items():
                        add(f"level:{lab}", crit, s)
        for (subset, crit), s in sorted(acc.items()):
            rows += _rows("simulated", subset, f"usvflow-{m}", {crit: s})
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)
