"""Attributing recordings: the accuracy-vs-calls table and the summary rows of the per-recording and pair analyses.

Reads what ``results/aggregation/{task}.json`` (:func:`usvflow.classify.aggregate.model_report` per model) and the
pair evaluation hold. Neither paper reports these numbers: the "paper" column says so.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

NOT_IN_PAPER = "not reported (new)"
#: Models whose curve gets summary rows (when the task has them), in this order.
SUMMARY_MODELS = ("cnn", "dnn9", "ridge", "svm")
MODEL_LABELS = {"cnn": "CNN", "dnn9": "9-feature DNN", "semiconv": "semi-conv DNN", "ridge": "ridge (spectrograms)",
                "svm": "SVM (spectrograms)", "ridge_feat9": "ridge (9 features)", "svm_feat9": "SVM (9 features)",
                "ridge_semiconv": "ridge (24 features + vectors)", "svm_semiconv": "SVM (24 features + vectors)"}


def by_task(model_reports: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per-model reports (``results/aggregation/{task}/{model}.json``) grouped as ``{"task", "models": {...},
    "skipped": {...}}`` per task."""
    tasks: dict[str, dict[str, Any]] = {}
    for rep in model_reports:
        t = tasks.setdefault(rep["task"], {"task": rep["task"], "models": {}, "skipped": {}})
        if rep.get("skipped"):
            t["skipped"][rep["model"]] = rep["skipped"]
        else:
            t["models"][rep["model"]] = rep
    return [tasks[k] for k in sorted(tasks)]


def aggregation_table(reports: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (task, model, N): the per-recording accuracy curve of every model of every task."""
    rows = []
    for rep in reports:
        for model, m in rep["models"].items():
            need = m["calls_needed_90"]
            for r in m["curve"]:
                rows.append({"task": rep["task"], "model": model, **r, "loao_call_accuracy": m["loao"]["accuracy_mean"],
                             "calls_for_90": need["calls"], "n_calls_in_cohort": m["n_calls"]})
    cols = ["task", "model", "n_calls", "n_calls_used", "accuracy", "sem", "accuracy_class0", "accuracy_class1",
            "mean_posterior", "n_animals", "animals_short", "loao_call_accuracy", "calls_for_90", "n_calls_in_cohort"]
    table = pd.DataFrame(rows)
    for c in cols:
        if c not in table:
            table[c] = np.nan
    return table[cols]


def _pct(x: float | None) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{100 * x:.1f} %"


def needed_text(need: dict[str, Any]) -> str:
    """'N calls', or that 90 % is not reached and where the curve levels off."""
    if need["calls"] is not None:
        return f"{need['calls']} calls"
    if need["accuracy_all_calls"] >= need["target"]:
        return (f"more than {need['searched_up_to']} (every animal's calls: {_pct(need['accuracy_all_calls'])} with "
                f"all of them, median {need.get('median_calls_all', float('nan')):.0f})")
    return (f"not reached within {need['searched_up_to']} calls (levels off at {_pct(need['accuracy_all_calls'])} "
            f"with all calls; best {_pct(need['max_accuracy'])})")


def aggregation_rows(reports: Sequence[dict[str, Any]]) -> list[dict[str, str]]:
    """Summary rows: per task and model, the per-recording accuracy at 1, 10 and all calls, and the calls
    a decision needs for 90 %."""
    rows = []
    for rep in reports:
        for model in [m for m in SUMMARY_MODELS if m in rep["models"]]:
            m = rep["models"][model]
            curve = {r["n_calls"]: r for r in m["curve"]}
            label = f"{rep['task']}, {MODEL_LABELS.get(model, model)}"
            parts = [f"{n} call{'s' if n != '1' else ''} {_pct(curve[n]['accuracy'])}" for n in ("1", "10") if n in curve]
            if "all" in curve:
                parts.append(f"all calls (median {curve['all']['n_calls_used']:.0f}) {_pct(curve['all']['accuracy'])}")
            rows.append({"quantity": f"{label}: per-recording accuracy (LOAO, {m['n_animals']} animals)",
                         "paper": NOT_IN_PAPER, "ours": "; ".join(parts)})
            rows.append({"quantity": f"{label}: calls for 90 % per-recording accuracy", "paper": NOT_IN_PAPER,
                         "ours": needed_text(m["calls_needed_90"])})
    return rows


def pair_rows(table: pd.DataFrame, level: float) -> list[dict[str, str]]:
    """Summary rows of the simulated pairs: coverage of the male share's interval, errors, interval width."""
    n = len(table)
    if not n:
        return [{"quantity": "mixed pairs", "paper": NOT_IN_PAPER, "ours": "no pairs"}]
    covered = int(table["covered"].sum())
    return [
        {"quantity": f"mixed F + M pairs: true male share inside the {100 * level:.0f} % interval",
         "paper": NOT_IN_PAPER, "ours": f"{covered}/{n} pairs ({100 * covered / n:.0f} %)"},
        {"quantity": "mixed pairs: mean |estimated - true| male share, corrected / uncorrected",
         "paper": NOT_IN_PAPER,
         "ours": f"{100 * table['abs_error'].mean():.1f} / {100 * table['naive_abs_error'].mean():.1f} points "
                 f"(interval width {100 * table['width'].mean():.0f} points on average; {n} pairs, "
                 f"{table['n_calls'].mean():.0f} calls each)"},
    ]
