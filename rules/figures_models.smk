# Figures 3, 4, 5, S1, S2 and Tables 1-7 from the trained networks (rules/train.smk) and the ridge / SVM folds
# (rules/classical.smk). Each figure has its own plotting script that reads results only: editing a plot never
# retrains. Numbers go to results/stats/{figure}.json beside the paper's values.

from usvflow.classify.tasks import fold_paths  # noqa: E402

SPEC_CLASSICAL = ["ridge", "svm", "ridge_shuffled", "svm_shuffled"]
FEAT_CLASSICAL = [
    "ridge_feat9",
    "svm_feat9",
    "ridge_feat9_shuffled",
    "svm_feat9_shuffled",
    "ridge_semiconv",
    "svm_semiconv",
    "ridge_semiconv_shuffled",
    "svm_semiconv_shuffled",
]
NET_TABLES = [f"figures/table{i}.csv" for i in range(1, 8)]
CNN = ["cnn", "cnn_shuffled"]
FIG_NETWORKS = "4 Classifiers (Ivanenko et al. 2020)"


rule fig3:
    input:
        sex=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "sex", "loao", CNN),
        curves=fold_paths(TRAIN_JOBS, ("curve", "model"), "sex", "loao", ["cnn"]),
        has_break=fold_paths(TRAIN_JOBS, ("metrics",), "has_break", "loao", CNN),
        classical=classical_metrics("sex", SPEC_CLASSICAL),
        table="results/dataset/sex.calls.parquet",
        confound=confound_json("sex"),
        ceiling=ceiling_json(),
        caption_template="report/fig3.rst",
    output:
        # The caption is report/fig3.rst with the background-only control's sentence added by the script.
        figure=report(
            "figures/fig3.pdf",
            caption="../results/report/fig3.rst",
            category=FIG_NETWORKS,
            subcategory="Figures",
        ),
        stats="results/stats/fig3.json",
        caption="results/report/fig3.rst",
    log:
        "logs/figures/fig3.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("fig3"),
    params:
        dataset=DATA["cohort"],
        data=DATA["caption"],
    script:
        "../scripts/plot_fig3.py"


rule fig4:
    input:
        properties=[
            p
            for task in ["direction", "breaks", "peaks", "broadband"]
            for p in fold_paths(
                TRAIN_JOBS, ("metrics", "predictions"), task, "random10", CNN
            )
        ],
        feature_nets=fold_paths(
            TRAIN_JOBS,
            ("metrics",),
            "sex",
            "loao",
            ["dnn9", "dnn9_shuffled", "semiconv", "semiconv_shuffled"],
        ),
        classical=classical_metrics("sex", FEAT_CLASSICAL, feature_task=True),
        table="results/dataset/sex.calls.parquet",
        features="results/features/sex.features.parquet",
        # A, F, J: one trained fold of each network, drawn from its layers
        networks=[
            p
            for task, split, model in [
                ("direction", "random10", "cnn"),
                ("sex", "loao", "dnn9"),
                ("sex", "loao", "semiconv"),
            ]
            for p in fold_paths(TRAIN_JOBS, ("model",), task, split, [model])[:1]
        ],
        ceiling=ceiling_json(),
    output:
        figure=report(
            "figures/fig4.pdf",
            caption="../report/fig4.rst",
            category=FIG_NETWORKS,
            subcategory="Figures",
        ),
        stats="results/stats/fig4.json",
    log:
        "logs/figures/fig4.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("fig4"),
    params:
        dataset=DATA["cohort"],
        data=DATA["caption"],
    script:
        "../scripts/plot_fig4.py"


rule fig5:
    input:
        strain=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), "strain", "loao", CNN),
        classical=classical_metrics("strain", SPEC_CLASSICAL),
        table="results/dataset/strain.calls.parquet",
        ceiling=ceiling_json(),
    output:
        figure=report(
            "figures/fig5.pdf",
            caption="../report/fig5.rst",
            category=FIG_NETWORKS,
            subcategory="Figures",
        ),
        stats="results/stats/fig5.json",
    log:
        "logs/figures/fig5.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("fig5"),
    params:
        dataset=DATA["cohort"],
        data=DATA["caption"],
    script:
        "../scripts/plot_fig5.py"


# S1 Fig (sex cohort) and S2 Fig (strain cohort): one layout, one script.
SUPPLEMENT = {
    "figS1": ("sex", "individual"),
    "figS2": ("strain", "individual_strain"),
}


for _figure, (_task, _individual) in SUPPLEMENT.items():

    rule:
        name:
            _figure
        input:
            loao=fold_paths(TRAIN_JOBS, ("metrics", "predictions"), _task, "loao", CNN),
            random=fold_paths(
                TRAIN_JOBS, ("metrics", "predictions"), _task, "random10", CNN
            ),
            individual=fold_paths(
                TRAIN_JOBS, ("metrics", "predictions"), _individual, "random10", CNN
            ),
            table=f"results/dataset/{_task}.calls.parquet",
        output:
            figure=report(
                f"figures/{_figure}.pdf",
                caption=f"../report/{_figure}.rst",
                category=FIG_NETWORKS,
                subcategory="Supplementary figures",
            ),
            stats=f"results/stats/{_figure}.json",
        log:
            f"logs/figures/{_figure}.log",
        conda:
            "../envs/usvflow.yaml"
        resources:
            **res(_figure),
        params:
            dataset=DATA["cohort"],
            task=_task,
            figure=_figure,
            data=DATA["caption"],
        script:
            "../scripts/plot_supplement.py"


rule network_tables:
    output:
        [
            report(
                table,
                caption="../report/tables.rst",
                category=FIG_NETWORKS,
                subcategory="Tables 1-7: networks and protocols",
                labels={"table": f"Table {i}"},
            )
            for i, table in enumerate(NET_TABLES, start=1)
        ],
    log:
        "logs/figures/network_tables.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("network_tables"),
    params:
        settings=planning.table_settings(TRAIN),
    script:
        "../scripts/tables.py"


# Figures whose cohort exists (a user's sample sheet may hold one cohort only).
NET_FIGURES = (
    ["figures/fig3.pdf", "figures/fig4.pdf", "figures/figS1.pdf"]
    if "sex" in COHORTS
    else []
) + (["figures/fig5.pdf", "figures/figS2.pdf"] if "strain" in COHORTS else [])
register(
    targets=NET_FIGURES + NET_TABLES,
    stats=[
        f.replace("figures/", "results/stats/").replace(".pdf", ".json")
        for f in NET_FIGURES
    ],
)
