# Figures 3, 4, 5, S1, S2 and Tables 1-7 from the trained networks (rules/train.smk) and the ridge / SVM folds
# (rules/classical.smk). Each figure has its own plotting script that reads results only: editing a plot never
# retrains. Numbers go to results/stats/{figure}.json beside the paper's values.

from usvflow.classify.tasks import fold_paths  # noqa: E402

# Ridge / SVM folds, when the classical stage plans the task (it may skip a cohort).
CLASSICAL_PLAN = globals().get("CLASSICAL", {})
CLASSICAL_FEATS = globals().get("CLASSICAL_FEATURE_TASKS", [])
SPEC_CLASSICAL = ["ridge", "svm", "ridge_shuffled", "svm_shuffled"]
FEAT_CLASSICAL = ["ridge_feat9", "svm_feat9", "ridge_feat9_shuffled", "svm_feat9_shuffled",
                  "ridge_semiconv", "svm_semiconv", "ridge_semiconv_shuffled", "svm_semiconv_shuffled"]
FIG_DATA = (
    f"SIMULATED cohort (preset {config['preset']}, seed {config['simulation']['seed']})"
    if SIMULATED
    else f"sample sheet {config['samples']}"
)
NET_TABLES = [f"figures/table{i}.csv" for i in range(1, 8)]
CNN = ["cnn", "cnn_shuffled"]


rule fig3:
    input:
        sex=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "sex", "loao", CNN),
        curves=fold_paths(TRAIN_JOBS, ("curve", "model"), "sex", "loao", ["cnn"]),
        has_break=fold_paths(TRAIN_JOBS, ("metrics",), "has_break", "loao", CNN),
        classical=[
            f"results/train/sex/loao/{fold}/{m}.metrics.json"
            for fold in CLASSICAL_PLAN.get("sex", {}).get("folds", [])
            for m in SPEC_CLASSICAL
        ],
        table="results/dataset/sex.calls.parquet",
    output:
        figure=report("figures/fig3.pdf", caption="../report/fig3.rst", category="Networks"),
        stats="results/stats/fig3.json",
    params:
        dataset=FIG_DATA,
    log:
        "logs/figures/fig3.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_fig3.py"


rule fig4:
    input:
        properties=[
            p
            for task in ["direction", "breaks", "peaks", "broadband"]
            for p in fold_paths(TRAIN_JOBS, ("metrics", "predictions"), task, "random10", CNN)
        ],
        feature_nets=fold_paths(
            TRAIN_JOBS, ("metrics",), "sex", "loao", ["dnn9", "dnn9_shuffled", "semiconv", "semiconv_shuffled"]
        ),
        classical=[
            f"results/train/sex/loao/{fold}/{m}.metrics.json"
            for fold in (CLASSICAL_PLAN.get("sex", {}).get("folds", []) if "sex" in CLASSICAL_FEATS else [])
            for m in FEAT_CLASSICAL
        ],
        table="results/dataset/sex.calls.parquet",
        features="results/features/sex.features.parquet",
    output:
        figure=report("figures/fig4.pdf", caption="../report/fig4.rst", category="Networks"),
        stats="results/stats/fig4.json",
    params:
        dataset=FIG_DATA,
        ridge_alpha=config.get("classical", {}).get("params", {}).get("ridge_alpha", 1.0),
    log:
        "logs/figures/fig4.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_fig4.py"


rule fig5:
    input:
        strain=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "strain", "loao", CNN),
        classical=[
            f"results/train/strain/loao/{fold}/{m}.metrics.json"
            for fold in CLASSICAL_PLAN.get("strain", {}).get("folds", [])
            for m in SPEC_CLASSICAL
        ],
        table="results/dataset/strain.calls.parquet",
    output:
        figure=report("figures/fig5.pdf", caption="../report/fig5.rst", category="Networks"),
        stats="results/stats/fig5.json",
    params:
        dataset=FIG_DATA,
    log:
        "logs/figures/fig5.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_fig5.py"


rule figS1:
    input:
        loao=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "sex", "loao", CNN),
        random=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "sex", "random10", CNN),
        individual=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "individual", "random10", CNN),
        table="results/dataset/sex.calls.parquet",
    output:
        figure=report("figures/figS1.pdf", caption="../report/figS1.rst", category="Networks"),
        stats="results/stats/figS1.json",
    params:
        dataset=FIG_DATA,
        task="sex",
        figure="figS1",
    log:
        "logs/figures/figS1.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_figS1.py"


rule figS2:
    input:
        loao=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "strain", "loao", CNN),
        random=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "strain", "random10", CNN),
        individual=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "individual_strain", "random10", CNN),
        table="results/dataset/strain.calls.parquet",
    output:
        figure=report("figures/figS2.pdf", caption="../report/figS2.rst", category="Networks"),
        stats="results/stats/figS2.json",
    params:
        dataset=FIG_DATA,
        task="strain",
        figure="figS2",
    log:
        "logs/figures/figS2.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/plot_figS2.py"


rule network_settings:
    output:
        "results/train/settings.json",
    params:
        settings=TRAIN,
    log:
        "logs/train/settings.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/network_settings.py"


rule network_tables:
    input:
        settings="results/train/settings.json",
    output:
        NET_TABLES,
    log:
        "logs/figures/network_tables.log",
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/tables.py"


# Figures whose cohort exists (a user's sample sheet may hold one cohort only).
NET_FIGURES = (
    (["figures/fig3.pdf", "figures/fig4.pdf", "figures/figS1.pdf"] if "sex" in COHORTS else [])
    + (["figures/fig5.pdf", "figures/figS2.pdf"] if "strain" in COHORTS else [])
)
register(
    targets=NET_FIGURES + NET_TABLES,
    stats=[f.replace("figures/", "results/stats/").replace(".pdf", ".json") for f in NET_FIGURES],
)
