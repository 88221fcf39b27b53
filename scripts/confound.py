"""Snakemake adapter: the background-only control of one task's cohort (usvflow.classify.confound)."""
import json

from usvflow.classify.classical_tasks import encode_labels
from usvflow.classify.confound import cohort_background, evaluate, read_calls
from usvflow.errors import InputError
from usvflow.report.summary import _plain
from usvflow.workflow.script import script_main


@script_main
def main(smk):
    spec, task = smk.params.spec, smk.wildcards.task
    samples = smk.params.samples.reset_index(drop=True)
    calls = {rec: read_calls(path) for rec, path in zip(samples["recording"], smk.input.calls)}
    inputs, stretches = cohort_background(samples, calls, smk.params.settings, smk.params.detector,
                                          smk.params.detection, smk.params.channel)
    if stretches.empty:
        raise InputError(smk.input.calls[0], "no call-free stretch found in any recording of the cohort")
    y = encode_labels(stretches[spec["column"]], spec)
    result = evaluate(inputs, y, stretches["animal"], [spec["negative"], spec["positive"]], smk.params.classical,
                      smk.params.settings, group=spec["column"])
    stretches.to_csv(smk.output.stretches, index=False, float_format="%.6g")
    result.folds.to_csv(smk.output.folds, index=False, float_format="%.6g")
    with open(smk.output.result, "w") as fh:
        json.dump(_plain({"task": task, "sentence": result.sentence, **result.values}), fh, indent=2)
    print(f"{task}: {len(stretches)} call-free stretches from {len(samples)} recordings")
    print(result.sentence)


main(snakemake)  # noqa: F821
