# Stage 6 (classical part): ridge regression and SVMs, leave-one-animal-out, one rule instance per held-out
# animal, each model with a shuffled-label control. Logic: usvflow.classify.classical (planning:
# usvflow.classify.classical_tasks, no scikit-learn at parse time).
#
# results/train/{task}/loao/{fold}/{model}.metrics.json and .predictions.parquet (fold = held-out animal):
# spectrogram models ridge, svm (+ _shuffled); feature models ridge_feat9, svm_feat9 (the paper's 9 features)
# and ridge_semiconv, svm_semiconv (24 features + 3 vectors), each + _shuffled.
# Ridge alpha and SVM C are chosen per fold by nested leave-one-animal-out on the training animals (the grid in
# classical.params); each fold's metrics.json records the choice under "hyperparameter".
# results/stats/classical.json: every fold, the mean ± SEM and the chosen values per model, beside the paper.

from usvflow.classify.classical_tasks import (
    FEATURE_MODELS,
    SPECTROGRAM_MODELS,
    plan_tasks,
)  # noqa: E402

CLASSICAL = plan_tasks(SAMPLES, config["classical"]["tasks"], COHORTS)
CLASSICAL_FEATURE_TASKS = [
    t for t in config["classical"]["feature_tasks"] if t in CLASSICAL
]
CLASSICAL_SKIPPED = {t: p["skipped"] for t, p in CLASSICAL.items() if p["skipped"]}
for _task, _why in CLASSICAL_SKIPPED.items():
    sys.stderr.write(f"usvflow: classical task {_task} skipped: {_why}\n")

CLASSICAL_METRICS = [
    f"results/train/{task}/loao/{fold}/{model}.metrics.json"
    for task, plan in CLASSICAL.items()
    for fold in plan["folds"]
    for model in SPECTROGRAM_MODELS
    + (FEATURE_MODELS if task in CLASSICAL_FEATURE_TASKS else [])
]


rule classical_spectrogram:
    input:
        dataset=lambda wildcards: f"results/dataset/{classical_cohort(wildcards)}.calls.parquet",
        images=lambda wildcards: f"results/dataset/{classical_cohort(wildcards)}.spectrograms.npy",
    output:
        metrics=expand(
            "results/train/{{task}}/loao/{{fold}}/{model}.metrics.json",
            model=SPECTROGRAM_MODELS,
        ),
        predictions=expand(
            "results/train/{{task}}/loao/{{fold}}/{model}.predictions.parquet",
            model=SPECTROGRAM_MODELS,
        ),
    log:
        "logs/train/{task}/loao/{fold}/classical_spectrogram.log",
    benchmark:
        "benchmarks/train/{task}/loao/{fold}/classical_spectrogram.tsv"
    wildcard_constraints:
        task=alternation(CLASSICAL),
        fold="[^/]+",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("classical_spectrogram"),
    params:
        models=SPECTROGRAM_MODELS,
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        classical=config["classical"]["params"],
    script:
        "../scripts/classical_fold.py"


rule classical_features:
    input:
        dataset=lambda wildcards: f"results/dataset/{classical_cohort(wildcards)}.calls.parquet",
        features=lambda wildcards: f"results/features/{classical_cohort(wildcards)}.features.parquet",
        vectors=lambda wildcards: f"results/features/{classical_cohort(wildcards)}.vectors.npz",
    output:
        metrics=expand(
            "results/train/{{task}}/loao/{{fold}}/{model}.metrics.json",
            model=FEATURE_MODELS,
        ),
        predictions=expand(
            "results/train/{{task}}/loao/{{fold}}/{model}.predictions.parquet",
            model=FEATURE_MODELS,
        ),
    log:
        "logs/train/{task}/loao/{fold}/classical_features.log",
    benchmark:
        "benchmarks/train/{task}/loao/{fold}/classical_features.tsv"
    wildcard_constraints:
        task=alternation(CLASSICAL_FEATURE_TASKS),
        fold="[^/]+",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("classical_features"),
    params:
        models=FEATURE_MODELS,
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        classical=config["classical"]["params"],
    script:
        "../scripts/classical_fold.py"


rule classical_stats:
    input:
        CLASSICAL_METRICS,
    output:
        stats="results/stats/classical.json",
        table="results/classical/loao_folds.csv",
    log:
        "logs/classical_stats.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("classical_stats"),
    params:
        skipped=CLASSICAL_SKIPPED,
        dataset=DATA_LABEL,
    script:
        "../scripts/classical_stats.py"


register(stats=["results/stats/classical.json"])
