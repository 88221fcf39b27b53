"""Snakemake adapter: figures/aggregation.pdf and .csv (per-recording accuracy against the number of calls) and
results/stats/aggregation.json."""
import json

from usvflow.classify.attribution_tasks import FIGURE_MODELS
from usvflow.figures.attribution import plot_aggregation
from usvflow.report.attribution import aggregation_rows, aggregation_table, by_task
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    per_model = []
    for path in smk.input:
        with open(path) as fh:
            per_model.append(json.load(fh))
    reports = by_task(per_model)
    table = aggregation_table(reports)
    table.to_csv(smk.output.table, index=False, float_format="%.4f")
    plot_aggregation(table, FIGURE_MODELS, smk.params.data).savefig(smk.output.figure)
    values = {r["task"]: {m: {"curve": v["curve"], "calls_needed_90": v["calls_needed_90"],
                              "calibration": v["calibration"], "loao": v["loao"]} for m, v in r["models"].items()}
              for r in reports}
    values["skipped"] = {r["task"]: r["skipped"] for r in reports if r["skipped"]}
    write_stats(smk.output.stats, "aggregation", smk.params.dataset, values, aggregation_rows(reports))
    print(table.to_string())


main(snakemake)  # noqa: F821
