"""Leave-one-clip-out choice of the default detector's settings, from the command line.

    python benchmarks/detect_loco.py                       # data/amvoc-dev, the grid in config.yaml
    python benchmarks/detect_loco.py --real-dir DIR --criterion iou0.5

For each annotated clip, every combination of the grid (config.yaml ``detection_selection.grid``) is run on
every clip; the combination with the best pooled F1 on the *other* clips is scored on the held-out clip
(usvflow.detect.selection.loco_table). Prints the held-out scores next to the published tools' on the same clip, the
settings chosen for each fold, and the one chosen on all clips (what the library ships). The workflow rule
``evaluate_detection`` writes the same rows into figures/detection_benchmark.csv.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from usvflow.detect.evaluate import CRITERIA, real_clip_table
from usvflow.detect.selection import DETECTION_GRID, loco_table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real-dir", type=Path, default=ROOT / "data" / "amvoc-dev")
    ap.add_argument("--criterion", default="iou0.3", choices=list(CRITERIA), help="what the choice maximises")
    a = ap.parse_args()
    cfg = yaml.safe_load(open(ROOT / "config.yaml"))
    grid = (cfg.get("detection_selection") or {}).get("grid") or DETECTION_GRID
    detection = ((cfg.get("detection") or {}).get("default")) or {}
    loco, choice = loco_table(a.real_dir, grid, detection, a.criterion)
    shipped = real_clip_table(a.real_dir, ["default"], {"default": detection})
    table = pd.concat([shipped, loco], ignore_index=True)
    table["tool"] = [t + (" (LOCO)" if e == "leave-one-clip-out" else "") for t, e in zip(table.tool, table.evaluation)]
    pd.set_option("display.width", 220)
    for crit in ("iou0.3", "iou0.5"):
        print(f"F1, {crit} (one-to-one); columns: held-out clip")
        print(table[table.criterion == crit].pivot_table(index="tool", columns="subset", values="f1")
              .sort_values("pooled", ascending=False).round(3).to_string())
    print("median |onset| / |offset| error (ms) of calls matched at IoU >= 0.3, pooled")
    pooled = table[(table.criterion == "iou0.3") & (table.subset == "pooled")].set_index("tool")
    print(pooled[["onset_err_ms", "offset_err_ms"]].round(2).to_string())
    print(f"settings chosen ({len(pd.MultiIndex.from_product(list(grid.values())))} combinations):")
    print(choice.to_string(index=False))


if __name__ == "__main__":
    main()
