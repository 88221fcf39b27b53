# Stage 5: PCA and openTSNE (3-D) of the 9 features and of the spectrograms (paper Fig 2J-M), cached so that
# plotting never recomputes them. results/embed/{cohort}.{kind}.{method}.npy: (n, 3), dataset row order.


rule embed:
    input:
        dataset="results/dataset/{cohort}.calls.parquet",
        images="results/dataset/{cohort}.spectrograms.npy",
        features=lambda wildcards: (
            [f"results/features/{wildcards.cohort}.features.parquet"]
            if wildcards.kind == "features"
            else []
        ),
    output:
        "results/embed/{cohort}.{kind}.{method}.npy",
    log:
        "logs/embed/{cohort}.{kind}.{method}.log",
    benchmark:
        "benchmarks/embed/{cohort}.{kind}.{method}.tsv"
    wildcard_constraints:
        kind="features|spectrograms",
        method="pca|tsne",
    conda:
        "../envs/usvflow.yaml"
    # one thread: t-SNE amplifies the rounding differences of multi-threaded sums (usvflow.features.embed)
    threads: 1
    resources:
        **res("embed"),
    params:
        embed=lambda wildcards: planning.embed_settings(
            config["embed"], wildcards.kind, wildcards.method
        ),
    script:
        "../scripts/embed.py"
