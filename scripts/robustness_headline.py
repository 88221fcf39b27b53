"""Snakemake adapter: one run's headline numbers (results/robustness/headline.json), read by the seed sweep."""
import json

from usvflow.figures import models as pm
from usvflow.figures.robustness import seed_headline
from usvflow.report.summary import write_stats
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    metrics = pm.read_metrics(list(smk.input.metrics))
    with open(smk.input.callspace) as fh:
        callspace = json.load(fh)["values"]
    values = seed_headline(metrics, callspace)
    write_stats(smk.output[0], "headline", smk.params.dataset, values, [])
    print(json.dumps({k: v.get("mean") for k, v in values.items() if isinstance(v, dict) and "mean" in v}, indent=1))


main(snakemake)  # noqa: F821
