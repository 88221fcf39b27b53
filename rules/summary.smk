# The papers' numbers beside this run's, collected from every results/stats/*.json that the
# requested figures registered (see register() in common.smk), with the run's provenance: commit,
# config hash, sample sheet hash, package versions (params, known when planning) and the device each
# network trained on (read from the training metrics). Only this cheap local rule gets the provenance,
# so a new commit or package version rewrites the summary and results/provenance.json, nothing else.

from usvflow.classify.tasks import fold_paths  # noqa: E402


rule summary:
    input:
        stats=lambda wildcards: SUMMARY_STATS,
        metrics=lambda wildcards: fold_paths(TRAIN_JOBS),
    output:
        summary=report(
            "figures/summary.md",
            caption="../report/summary.rst",
            category="7 Summary",
        ),
        provenance="results/provenance.json",
    log:
        "logs/summary.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("summary"),
    params:
        header=summary_header(),
        provenance=PROVENANCE,
        data=DATA["caption"],
    script:
        "../scripts/summary.py"
