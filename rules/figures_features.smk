# Figures 1 and 2 (Ivanenko et al. 2020): numbers first (results/stats/fig1.json, fig2.json), then each figure
# from its own plotting script that only reads computed results.

from usvflow.classify.classical_tasks import task_spec  # noqa: E402

FIG_COHORT = config["features"]["figure_cohort"]
FIG_GROUP = task_spec("sex", config["classical"]["tasks"])
FIG_LEVELS = [FIG_GROUP["negative"], FIG_GROUP["positive"]]
FIG_RECORDINGS = cohort_recordings(FIG_COHORT)
FIG_EMBEDDINGS = [
    "features.pca",
    "spectrograms.pca",
    "features.tsne",
    "spectrograms.tsne",
]
FIG_FEATURES = "3 Features (Ivanenko et al. 2020)"


rule features_fig1_stats:
    input:
        dataset=f"results/dataset/{FIG_COHORT}.calls.parquet",
        features=f"results/features/{FIG_COHORT}.features.parquet",
        wavs=[SAMPLES.loc[r, "path"] for r in FIG_RECORDINGS],
    output:
        "results/stats/fig1.json",
    log:
        "logs/figures/fig1_stats.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("features_fig1_stats"),
    params:
        samples=SAMPLES.loc[FIG_RECORDINGS],
        group=FIG_GROUP["column"],
        levels=FIG_LEVELS,
        dataset=f"{FIG_COHORT} cohort; {DATA_LABEL}",
    script:
        "../scripts/features_fig1_stats.py"


rule plot_fig1:
    input:
        dataset=f"results/dataset/{FIG_COHORT}.calls.parquet",
        images=f"results/dataset/{FIG_COHORT}.spectrograms.npy",
        features=f"results/features/{FIG_COHORT}.features.parquet",
        stats="results/stats/fig1.json",
        calls=f"results/extract/{DATASET_DETECTOR}/{(FIG_RECORDINGS or ['none'])[0]}.calls.csv",
        wav=SAMPLES.loc[FIG_RECORDINGS[0], "path"] if FIG_RECORDINGS else [],
    output:
        report(
            "figures/fig1.pdf",
            caption="../report/fig1.rst",
            category=FIG_FEATURES,
            subcategory="Figures",
        ),
    log:
        "logs/figures/fig1.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_fig1"),
    params:
        recording=(FIG_RECORDINGS or ["none"])[0],
        group=FIG_GROUP["column"],
        levels=FIG_LEVELS,
        stretch_s=1.5,
        data=DATA["caption"],
    script:
        "../scripts/plot_fig1.py"


rule features_fig2_stats:
    input:
        dataset=f"results/dataset/{FIG_COHORT}.calls.parquet",
        features=f"results/features/{FIG_COHORT}.features.parquet",
    output:
        "results/stats/fig2.json",
    log:
        "logs/figures/fig2_stats.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("features_fig2_stats"),
    params:
        group=FIG_GROUP["column"],
        levels=FIG_LEVELS,
        dataset=f"{FIG_COHORT} cohort; {DATA_LABEL}",
    script:
        "../scripts/features_fig2_stats.py"


rule plot_fig2:
    input:
        dataset=f"results/dataset/{FIG_COHORT}.calls.parquet",
        features=f"results/features/{FIG_COHORT}.features.parquet",
        embeddings=[f"results/embed/{FIG_COHORT}.{key}.npy" for key in FIG_EMBEDDINGS],
        stats="results/stats/fig2.json",
    output:
        report(
            "figures/fig2.pdf",
            caption="../report/fig2.rst",
            category=FIG_FEATURES,
            subcategory="Figures",
        ),
    log:
        "logs/figures/fig2.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_fig2"),
    params:
        embedding_keys=FIG_EMBEDDINGS,
        group=FIG_GROUP["column"],
        levels=FIG_LEVELS,
        data=DATA["caption"],
    script:
        "../scripts/plot_fig2.py"


if FIG_COHORT in COHORTS:

    register(
        targets=["figures/fig1.pdf", "figures/fig2.pdf"],
        stats=["results/stats/fig1.json", "results/stats/fig2.json"],
    )
