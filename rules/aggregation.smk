# Stage 6c: from single calls to recordings. The leave-one-animal-out predictions of every model say how a
# decision over N calls of a new animal fares (figures/aggregation.*), and give each model the calibration that
# its bundle carries (rules/final.smk). Simulated female + male pairs test mixed-pair attribution with the sex
# bundle. Logic: usvflow.classify.aggregate, .mixture, .apply; usvflow.simulate.pairs.
#
# results/aggregation/{task}/{model}.json: per-call and per-recording calibration, the accuracy-vs-calls
# curve, the calls needed for 90 %, the per-animal confusion rates.

from usvflow.classify.attribution_tasks import (  # noqa: E402
    attribution_settings,
    bundle_tasks,
    loao_prediction_files,
    per_animal_tasks,
)

ATTRIBUTION = config["attribution"]
AGG_FILES = {
    task: loao_prediction_files(task, TRAIN_JOBS, CLASSICAL, CLASSICAL_FEATURE_TASKS)
    for task in per_animal_tasks(TRAIN_JOBS, CLASSICAL)
}
BUNDLE_TASKS = bundle_tasks(ATTRIBUTION["tasks"], TRAIN_JOBS, CLASSICAL, SAMPLES)
PAIR_NAMES = [f"pair{i:02d}" for i in range(1, ATTRIBUTION["pairs"] + 1)]
PAIRS = SIMULATED and "sex" in BUNDLE_TASKS and bool(PAIR_NAMES)
PAIR_SETTINGS = attribution_settings(
    ATTRIBUTION,
    "pairs",
    (config["simulation"]["presets"][PRESET].get("sex") or {}).get("minutes", 1.0),
)
FIG_ATTRIBUTION = "4 Classifiers (Ivanenko et al. 2020)"


AGG_JOBS = [
    (task, model) for task, files in AGG_FILES.items() for model in sorted(files)
]
AGG_OUT = [f"results/aggregation/{task}/{model}.json" for task, model in AGG_JOBS]


rule aggregation_model:
    input:
        lambda wildcards: [
            AGG_FILES[wildcards.task][wildcards.model][fold]
            for fold in sorted(AGG_FILES[wildcards.task][wildcards.model])
        ],
    output:
        "results/aggregation/{task}/{model}.json",
    log:
        "logs/aggregation/{task}/{model}.log",
    wildcard_constraints:
        task=alternation(AGG_FILES),
        model="[a-z0-9_]+",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("aggregation_model"),
    params:
        folds=lambda wildcards: sorted(AGG_FILES[wildcards.task][wildcards.model]),
        settings=attribution_settings(ATTRIBUTION, "aggregation"),
    script:
        "../scripts/aggregation_model.py"


rule plot_aggregation:
    input:
        AGG_OUT,
    output:
        figure=report(
            "figures/aggregation.pdf",
            caption="../report/aggregation.rst",
            category=FIG_ATTRIBUTION,
            subcategory="Per-recording decisions (new)",
        ),
        table=report(
            "figures/aggregation.csv",
            caption="../report/aggregation.rst",
            category=FIG_ATTRIBUTION,
            subcategory="Per-recording decisions (new)",
        ),
        stats="results/stats/aggregation.json",
    log:
        "logs/figures/aggregation.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("plot_aggregation"),
    params:
        dataset=DATA_LABEL,
        data=DATA["caption"],
    script:
        "../scripts/plot_aggregation.py"


rule simulate_pairs:
    output:
        table="results/pairs/pairs.tsv",
        wavs=expand("results/pairs/wav/{pair}.wav", pair=PAIR_NAMES),
        truth=expand("results/pairs/truth/{pair}.calls.csv", pair=PAIR_NAMES),
    log:
        "logs/pairs/simulate.log",
    conda:
        "../envs/usvflow.yaml"
    threads: 2
    resources:
        **res("simulate_pairs"),
    params:
        simulation=planning.simulation_settings(config["simulation"]),
        pairs=PAIR_SETTINGS,
    script:
        "../scripts/simulate_pairs.py"


rule evaluate_pairs:
    input:
        bundle="results/bundles/sex.pt",
        table="results/pairs/pairs.tsv",
        wavs=expand("results/pairs/wav/{pair}.wav", pair=PAIR_NAMES),
        truth=expand("results/pairs/truth/{pair}.calls.csv", pair=PAIR_NAMES),
    output:
        table="results/pairs/evaluation.csv",
        stats="results/stats/pairs.json",
    log:
        "logs/pairs/evaluate.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("evaluate_pairs"),
    params:
        pairs=PAIR_SETTINGS,
        dataset=f"{DATA['cohort']}; pairs simulated with seed {ATTRIBUTION['pair_seed']}",
    script:
        "../scripts/evaluate_pairs.py"


register(
    targets=["figures/aggregation.pdf", "figures/aggregation.csv"] if AGG_JOBS else [],
    stats=(["results/stats/aggregation.json"] if AGG_JOBS else [])
    + (["results/stats/pairs.json"] if PAIRS else []),
)
