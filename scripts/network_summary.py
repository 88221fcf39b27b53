"""Snakemake adapter: pool the folds' Fig 6 measurements; per-layer means, tests and results/stats/fig6.json."""
import pandas as pd

from usvflow.interpret.layers import layer_statistics, load_example, pick_examples, save_example, summarise_layers
from usvflow.report.interpret import fig6_numbers
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    long = pd.concat([pd.read_parquet(p) for p in smk.input.calls], ignore_index=True)
    summary = summarise_layers(long)
    tests = layer_statistics(long)
    summary.to_csv(smk.output.layers, index=False)
    examples = pick_examples([load_example(p) for p in smk.input.examples])
    for sex, path in (("F", smk.output.example_f), ("M", smk.output.example_m)):
        # a cohort with one sex only still gets both files (the other from that sex) so the DAG is fixed
        save_example(path, examples.get(sex) or next(iter(examples.values())))
    for sex, ex in examples.items():
        print(f"example {sex}: {ex['call_uid']}, typicality distance {ex.get('distance', float('nan')):.2f}, "
              f"measures {ex.get('measures')}")
    values, rows = fig6_numbers(summary, tests)
    values["n_calls"] = int(long["call_uid"].nunique())
    values["n_folds"] = len(smk.input.calls)
    write_stats(smk.output.stats, "fig6", smk.params.dataset, values, rows)
    for r in rows:
        print(f"{r['quantity']}: paper {r['paper']} | ours {r['ours']}")


main(snakemake)  # noqa: F821
