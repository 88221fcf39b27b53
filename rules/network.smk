# Inside the network and the call space (Ivanenko et al. 2020, Fig 6, Fig 7, S1 Video). Nothing here trains:
# it reads the sex CNN's leave-one-animal-out folds (rules/train.smk) and the cached 3-D t-SNE of the
# spectrograms (rules/embed.smk). Logic: usvflow.interpret, usvflow.report.interpret, usvflow.figures.network
# (Fig 6), usvflow.figures.callspace (Fig 7).
#
# results/network/sex/{animal}.calls.parquet   per held-out call and layer: sparsity, within/across-sex
#                                              correlation, deconvolution scores (one job per fold)
# results/network/sex/{animal}.example.npz     the fold's most typical correctly classified call (interpret.examples)
# results/network/sex.example_{F,M}.npz        Fig 6A/E: per sex, the fold example closest to the sex's medians
# results/network/sex.layers.csv               per layer and sex: mean, SEM, n (Fig 6C/D/G/H)
# results/callspace/sex.calls.parquet          per call: map coordinates, sex, CNN score, cluster, kNN, overlays
# results/stats/fig6.json, fig7.json           the numbers beside the paper's

NETWORK = config["network"]
NET_COHORT = "sex"
NET_ANIMALS = sorted(
    SAMPLES.loc[
        (SAMPLES.cohort == NET_COHORT)
        & SAMPLES["sex"].astype(str).str.upper().isin(["F", "M"]),
        "animal",
    ]
    .astype(str)
    .unique()
)
NET_FOLD = f"results/train/{NET_COHORT}/loao/{{animal}}/cnn"
NET_DATA = f"{NET_COHORT} cohort; {DATA['short']}, {DATASET_DETECTOR} detector"
FIG_INSIDE = "5 Inside the network (Ivanenko et al. 2020)"


rule network_fold:
    input:
        model=f"{NET_FOLD}.pt",
        # which held-out calls the fold's network gets right: Fig 6's example is one of them
        predictions=f"{NET_FOLD}.predictions.parquet",
        dataset=f"results/dataset/{NET_COHORT}.calls.parquet",
        images=f"results/dataset/{NET_COHORT}.spectrograms.npy",
    output:
        calls="results/network/sex/{animal}.calls.parquet",
        example="results/network/sex/{animal}.example.npz",
    log:
        "logs/network/sex/{animal}.log",
    benchmark:
        "benchmarks/network/sex/{animal}.tsv"
    wildcard_constraints:
        animal=alternation(NET_ANIMALS),
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("network_fold"),
    params:
        network=planning.network_fold_settings(NETWORK),
    script:
        "../scripts/network_fold.py"


rule network_summary:
    input:
        calls=expand("results/network/sex/{animal}.calls.parquet", animal=NET_ANIMALS),
        examples=expand("results/network/sex/{animal}.example.npz", animal=NET_ANIMALS),
    output:
        layers="results/network/sex.layers.csv",
        example_f="results/network/sex.example_F.npz",
        example_m="results/network/sex.example_M.npz",
        stats="results/stats/fig6.json",
    log:
        "logs/network/sex_summary.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("network_summary"),
    params:
        dataset=NET_DATA,
    script:
        "../scripts/network_summary.py"


rule network_callspace:
    input:
        dataset=f"results/dataset/{NET_COHORT}.calls.parquet",
        features=f"results/features/{NET_COHORT}.features.parquet",
        tsne=f"results/embed/{NET_COHORT}.spectrograms.tsne.npy",
        predictions=expand(f"{NET_FOLD}.predictions.parquet", animal=NET_ANIMALS),
    output:
        calls="results/callspace/sex.calls.parquet",
        clusters="results/callspace/sex.clusters.csv",
        density="results/callspace/sex.density.npz",
        stats="results/stats/fig7.json",
    log:
        "logs/network/callspace.log",
    benchmark:
        "benchmarks/network/callspace.tsv"
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("network_callspace"),
    params:
        network=planning.callspace_settings(NETWORK),
        dataset=NET_DATA,
    script:
        "../scripts/network_callspace.py"


rule plot_fig6:
    input:
        layers="results/network/sex.layers.csv",
        example_f="results/network/sex.example_F.npz",
        example_m="results/network/sex.example_M.npz",
        stats="results/stats/fig6.json",
    output:
        figure=report(
            "figures/fig6.pdf",
            caption="../report/fig6.rst",
            category=FIG_INSIDE,
            subcategory="Figures",
        ),
    log:
        "logs/figures/fig6.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_fig6"),
    params:
        data=DATA["caption"],
    script:
        "../scripts/plot_fig6.py"


rule plot_fig7:
    input:
        calls="results/callspace/sex.calls.parquet",
        density="results/callspace/sex.density.npz",
        images=f"results/dataset/{NET_COHORT}.spectrograms.npy",
        stats="results/stats/fig7.json",
        # I: how noise-like each cluster is (the call table; the simulator's noise events where simulated)
        table=f"results/dataset/{NET_COHORT}.calls.parquet",
        truth=truth_files(cohort_recordings(NET_COHORT)),
    output:
        figure=report(
            "figures/fig7.pdf",
            caption="../report/fig7.rst",
            category=FIG_INSIDE,
            subcategory="Figures",
        ),
    log:
        "logs/figures/fig7.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_fig7"),
    params:
        data=DATA["caption"],
    script:
        "../scripts/plot_fig7.py"


rule movie_s1:
    input:
        calls="results/callspace/sex.calls.parquet",
    output:
        movie=report(
            "figures/movieS1.gif",
            caption="../report/movieS1.rst",
            category=FIG_INSIDE,
            subcategory="S1 Video",
        ),
    log:
        "logs/figures/movieS1.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("movie_s1"),
    params:
        frames=NETWORK["movie_frames"],
        data=DATA["caption"],
    script:
        "../scripts/movie_s1.py"


# Fig 6 needs trained folds of both sexes; without a sex cohort there is nothing to show.
_NET_SEXES = set(
    SAMPLES.loc[SAMPLES.cohort == NET_COHORT, "sex"].astype(str).str.upper()
) & {"F", "M"}
register(
    targets=(
        ["figures/fig6.pdf", "figures/fig7.pdf", "figures/movieS1.gif"]
        if len(_NET_SEXES) == 2
        else []
    ),
    stats=(
        ["results/stats/fig6.json", "results/stats/fig7.json"]
        if len(_NET_SEXES) == 2
        else []
    ),
)
