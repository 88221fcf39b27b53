# Stage 2b: one call table + image stack per cohort, labelled from the sample sheet and matched to a
# reference (simulator truth or a lab's annotations) for the six scored properties.

rule dataset:
    input:
        unpack(dataset_inputs),
    output:
        table="results/dataset/{cohort}.calls.parquet",
        images="results/dataset/{cohort}.spectrograms.npy",
    params:
        samples=lambda wildcards: SAMPLES.loc[cohort_recordings(wildcards.cohort)],
    wildcard_constraints:
        cohort="|".join(COHORTS),
    resources:
        mem_mb=2000,
        runtime=10,
    log:
        "logs/dataset/{cohort}.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/dataset.py"
