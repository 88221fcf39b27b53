"""Snakemake adapter: score the detectors on the real clips (shipped settings, and the default detector's
settings chosen leave-one-clip-out) and on the simulated cohort."""
from pathlib import Path

import pandas as pd

from usvflow.detect.evaluate import real_clip_table, simulated_table
from usvflow.detect.selection import DETECTION_GRID, check_grid, loco_table
from usvflow.errors import InputError
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    grid = smk.params.loco_grid or DETECTION_GRID
    try:  # before any detection runs: a bad grid fails in seconds, naming the setting
        check_grid(grid, smk.params.detection.get("default"))
    except ValueError as err:
        raise InputError("config.yaml", f"detection_selection → grid: {err}") from None
    real = real_clip_table(Path(smk.params.realdata_dir), smk.params.methods, smk.params.detection, jobs=smk.threads)
    loco, selection = loco_table(Path(smk.params.realdata_dir), grid,
                                 smk.params.detection.get("default"), jobs=smk.threads)
    tables = [real, loco]
    if smk.params.recordings:
        truth_dir, extract_dir = Path(smk.params.truth_dir), Path(smk.params.extract_dir)
        # simulated_table reads <truth_dir>/<rec>.calls.csv, .noise.csv and <extract_dir>/<method>/<rec>.calls.csv:
        # the rule declares exactly those.
        reads = {truth_dir / f"{rec}.{kind}.csv" for rec in smk.params.recordings for kind in ("calls", "noise")}
        reads |= {extract_dir / m / f"{rec}.calls.csv" for m in smk.params.methods for rec in smk.params.recordings}
        undeclared = reads - {Path(p) for p in [*smk.input.sim_truth, *smk.input.sim_calls]}
        if undeclared:
            raise InputError(sorted(undeclared)[0], "read but not declared as an input of rule evaluate_detection")
        tables.append(simulated_table(smk.params.recordings, truth_dir, extract_dir, smk.params.methods))
    table = pd.concat(tables, ignore_index=True)
    Path(smk.output.table).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(smk.output.table, index=False, float_format="%.4f")
    selection.to_csv(smk.output.selection, index=False, float_format="%.4g")
    pooled = table[(table.subset == "pooled") & (table.criterion == "iou0.3")]
    print(pooled[["dataset", "tool", "evaluation", "precision", "recall", "f1", "onset_err_ms",
                  "offset_err_ms"]].to_string(index=False))
    print(selection.to_string(index=False))


main(snakemake)  # noqa: F821
