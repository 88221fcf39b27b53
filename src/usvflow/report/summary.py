"""Machine-readable numbers per figure, and ``figures/summary.md`` putting them beside the papers'.

Every analysis writes ``results/stats/<name>.json`` with :func:`write_stats`::

    {"figure": "fig3", "dataset": "...", "values": {...all numbers...},
     "rows": [{"quantity": "...", "paper": "76.7 ± 6.6 %", "ours": "71.0 ± 4.2 %"}, ...]}

``paper`` is the value printed in the paper (text, as published); ``ours`` is formatted from this run's
computation. :func:`render_summary` turns any set of such files into one Markdown page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

import numpy as np


def _plain(obj: Any) -> Any:
    """JSON cannot hold numpy scalars or NaN; convert them (NaN → null)."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _plain(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def write_stats(path: str | Path, figure: str, dataset: str, values: dict, rows: list[dict]) -> None:
    """Write one figure's numbers. Each row needs ``quantity``, ``paper`` and ``ours``."""
    for r in rows:
        missing = {"quantity", "paper", "ours"} - set(r)
        if missing:
            raise ValueError(f"summary row lacks {sorted(missing)}: {r}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        json.dump(_plain({"figure": figure, "dataset": dataset, "values": values, "rows": rows}), fh, indent=2)


def _values_and_sem(x: Iterable[float], scale: float) -> tuple[np.ndarray, float]:
    """The finite values of ``x`` times ``scale`` and their SEM (NaN with fewer than two)."""
    a = np.asarray([v for v in x if v is not None and np.isfinite(v)], float) * scale
    return a, (a.std(ddof=1) / np.sqrt(a.size) if a.size > 1 else float("nan"))


def mean_sem(x: Iterable[float], scale: float = 100.0, unit: str = " %", digits: int = 1) -> str:
    """``mean ± SEM`` across folds or animals, as the paper reports them (scaled to % by default)."""
    a, sem = _values_and_sem(x, scale)
    if a.size == 0:
        return "n/a"
    return f"{a.mean():.{digits}f} ± {sem:.{digits}f}{unit} (n={a.size})"


def median_sem(x: Iterable[float], scale: float = 100.0, unit: str = " %", digits: int = 1) -> str:
    """``median ± SEM (mean …)``: the paper's form where it reports medians (Fig 3D, S1), the mean beside it."""
    a, sem = _values_and_sem(x, scale)
    if a.size == 0:
        return "n/a"
    return f"{np.median(a):.{digits}f} ± {sem:.{digits}f}{unit} median ± SEM (mean {a.mean():.{digits}f}{unit}, n={a.size})"


def render_summary(stat_files: Iterable[str | Path], header: str) -> str:
    """One Markdown page: per figure, a table of quantity / paper / this run."""
    lines = [header, ""]
    for path in sorted(map(Path, stat_files)):
        with open(path) as fh:
            stats = json.load(fh)
        lines += [f"## {stats['figure']}", "", f"Data: {stats['dataset']}", "",
                  "| quantity | paper | this run |", "|---|---|---|"]
        lines += [f"| {r['quantity']} | {r['paper']} | {r['ours']} |" for r in stats["rows"]]
        lines.append("")
    return "\n".join(lines)
