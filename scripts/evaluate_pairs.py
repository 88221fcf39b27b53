"""Snakemake adapter: `usvflow classify --pair` with the sex bundle on every simulated pair, against the truth →
results/pairs/evaluation.csv and results/stats/pairs.json."""
from pathlib import Path

import pandas as pd

from usvflow.classify.apply import evaluate_pair
from usvflow.classify.bundle import load_bundle
from usvflow.report.attribution import pair_rows
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    level = float(smk.params.pairs["level"])
    bundle = load_bundle(smk.input.bundle)
    truth = {Path(p).name.removesuffix(".calls.csv"): p for p in smk.input.truth}
    rows = []
    for wav in smk.input.wavs:
        name = Path(wav).stem
        rows.append(evaluate_pair(bundle, wav, pd.read_csv(truth[name]), level=level))
        r = rows[-1]
        print(f"{name}: true male share {r['true_share']:.3f}, estimate {r['estimate']:.3f} "
              f"[{r['low']:.3f}, {r['high']:.3f}] ({'inside' if r['covered'] else 'OUTSIDE'}), naive {r['naive']:.3f}")
    table = pd.DataFrame(rows)
    table.to_csv(smk.output.table, index=False, float_format="%.4f")
    values = {"level": level, "pairs": rows, "coverage": float(table["covered"].mean()),
              "mean_abs_error": float(table["abs_error"].mean()),
              "mean_naive_abs_error": float(table["naive_abs_error"].mean())}
    write_stats(smk.output.stats, "pairs", smk.params.dataset, values, pair_rows(table, level))


main(snakemake)  # noqa: F821
