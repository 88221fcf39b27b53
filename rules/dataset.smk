# Stage 2b: one call table + image stack per cohort, labelled from the sample sheet and matched to a
# reference (simulator truth or a lab's annotations) for the six scored properties.


rule dataset:
    input:
        unpack(dataset_inputs),
    output:
        table="results/dataset/{cohort}.calls.parquet",
        images="results/dataset/{cohort}.spectrograms.npy",
    log:
        "logs/dataset/{cohort}.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("dataset"),
    params:
        samples=lambda wildcards: SAMPLES.loc[cohort_recordings(wildcards.cohort)],
        noise_like=config["dataset"]["noise_like"],
    script:
        "../scripts/dataset.py"
