# Stage 5: PCA and openTSNE (3-D) of the 9 features and of the spectrograms (paper Fig 2J-M), cached so that
# plotting never recomputes them. results/embed/{cohort}.{kind}.{method}.npy: (n, 3), dataset row order.


rule embed:
    input:
        dataset="results/dataset/{cohort}.calls.parquet",
        images="results/dataset/{cohort}.spectrograms.npy",
        features=lambda wildcards: (
            [f"results/features/{wildcards.cohort}.features.parquet"] if wildcards.kind == "features" else []
        ),
    output:
        "results/embed/{cohort}.{kind}.{method}.npy",
    params:
        embed=config["embed"],
    wildcard_constraints:
        cohort="|".join(COHORTS),
        kind="features|spectrograms",
        method="pca|tsne",
    log:
        "logs/embed/{cohort}.{kind}.{method}.log",
    benchmark:
        "benchmarks/embed/{cohort}.{kind}.{method}.tsv"
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/embed.py"
