"""Snakemake adapter: FF line from the spectrogram peak vs from the SqueakOut mask, scored against the truth."""
from pathlib import Path

import numpy as np

from usvflow.report.summary import write_stats
from usvflow.segment.dataset import load_dataset
from usvflow.segment.ffline import compare_ff_sources
from usvflow.workflow.script import script_main

METRICS = {"ff_mae_khz": "FF line error (kHz)", "mean_freq_err_khz": "mean frequency error (kHz)",
           "duration_err_ms": "duration error (ms)", "coverage": "truth frames covered"}
SOURCES = {"peak": "spectrogram peak (features.ff_line)", "squeakout": "SqueakOut mask",
           "truth_mask": "truth mask (oracle)"}


@script_main
def main(smk):
    data = load_dataset(smk.input.dataset)
    with np.load(smk.input.predictions) as z:
        rows, pred, truth = z["rows"], z["pred_squeakout"], z["truth"]
    table = compare_ff_sources(data, rows, {"squeakout": pred, "truth_mask": truth}, smk.params.samples,
                               Path(smk.input.truth[0]).parent, smk.params.channel)
    table.to_csv(smk.output.calls, index=False)
    values, out_rows = {"n_calls": int(len(table))}, []
    for metric, label in METRICS.items():
        med = {src: float(np.nanmedian(table[f"{src}_{metric}"])) if len(table) else float("nan")
               for src in SOURCES}
        values[metric] = dict(median=med, mean={src: float(np.nanmean(table[f"{src}_{metric}"])) if len(table)
                                                else float("nan") for src in SOURCES})
        if metric == "coverage":
            best = max(("peak", "squeakout"), key=lambda s: med[s])
        else:
            best = min(("peak", "squeakout"), key=lambda s: med[s])
        values[metric]["better"] = best
        out_rows.append(dict(quantity=f"{label}, median over test calls: peak / SqueakOut mask / truth mask",
                             paper="n/a (not in the paper)",
                             ours=" / ".join(f"{med[s]:.3g}" for s in SOURCES) + f" → better: {SOURCES[best]}"))
        print(out_rows[-1]["quantity"], out_rows[-1]["ours"])
    write_stats(smk.output.stats, "SqueakOut masks for features", smk.params.dataset, values, out_rows)


main(snakemake)  # noqa: F821
