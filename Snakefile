# usvflow: raw ultrasonic recordings → calls → features → classifiers → the papers' figures.
# Glue only: configuration, stage files, and the final targets. Logic lives in src/usvflow.


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/simulate.smk"
include: "rules/extract.smk"
include: "rules/evaluate_detection.smk"
include: "rules/dataset.smk"
include: "rules/features.smk"
include: "rules/embed.smk"
include: "rules/classical.smk"
include: "rules/confound.smk"
include: "rules/nulls.smk"
include: "rules/figures_features.smk"
include: "rules/train.smk"
include: "rules/figures_models.smk"
include: "rules/aggregation.smk"
include: "rules/final.smk"
include: "rules/summary.smk"
include: "rules/network.smk"
include: "rules/segment.smk"
include: "rules/robustness.smk"


# Cheap bookkeeping rules run where snakemake runs, not as cluster jobs.
localrules:
    all,
    simulated_sample_sheet,
    simulated_recordings,
    summary,
    plot_detection_benchmark,
    robustness,
    robustness_table,


rule all:
    default_target: True
    input:
        all_targets(),
