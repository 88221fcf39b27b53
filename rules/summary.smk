# The papers' numbers beside this run's, collected from every results/stats/*.json that the
# requested figures registered (see register() in common.smk).


rule summary:
    input:
        lambda wildcards: SUMMARY_STATS,
    output:
        report("figures/summary.md", caption="../report/summary.rst", category="Summary"),
    params:
        header=summary_header(),
    log:
        "logs/summary.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/summary.py"
