# The papers' numbers beside this run's, collected from every results/stats/*.json that the
# requested figures registered (see register() in common.smk).


rule summary:
    input:
        lambda wildcards: SUMMARY_STATS,
    output:
        report(
            "figures/summary.md",
            caption="../report/summary.rst",
            category="7 Summary",
        ),
    log:
        "logs/summary.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("summary"),
    params:
        header=summary_header(),
        data=DATA["caption"],
    script:
        "../scripts/summary.py"
