# Stage 6 (networks): the paper's spectrogram CNNs, 9-feature DNN and semi-convolutional DNN, one job per
# (task, split, fold, model): leave-one-animal-out folds are the held-out animals (from the sample sheet),
# random-split folds k0..k9 (the preset may train fewer). Logic: usvflow.train, usvflow.models.
#
# results/train/{task}/{split}/{fold}/{model}.metrics.json, .predictions.parquet, .pt, .curve.csv
# model: cnn, dnn9, semiconv, each also *_shuffled (labels permuted across the training calls: the control).
# A model and its shuffled control train in the same job, one after the other: the control needs the same
# data, and on a laptop the start-up (Python, torch, the cohort's images) is a third of a default fold's time.

from usvflow.classify.tasks import MODELS as NET_MODELS  # noqa: E402
from usvflow.classify.tasks import SPLITS as NET_SPLITS  # noqa: E402
from usvflow.classify.tasks import TASKS as NET_TASKS  # noqa: E402
from usvflow.classify.tasks import plan_folds, train_settings  # noqa: E402

TRAIN = train_settings(config)
TRAIN_JOBS = plan_folds(SAMPLES, TRAIN, SIMULATED)
TRAIN_OUT = "results/train/{task}/{split}/{fold}/{model}"
SHUFFLED_OUT = "results/train/{task}/{split}/{fold}/{model}_shuffled"


rule train_cnn:
    input:
        table=lambda wildcards: f"results/dataset/{NET_TASKS[wildcards.task].cohort}.calls.parquet",
        images=lambda wildcards: f"results/dataset/{NET_TASKS[wildcards.task].cohort}.spectrograms.npy",
    output:
        metrics=f"{TRAIN_OUT}.metrics.json",
        predictions=f"{TRAIN_OUT}.predictions.parquet",
        model=f"{TRAIN_OUT}.pt",
        curve=f"{TRAIN_OUT}.curve.csv",
        shuffled_metrics=f"{SHUFFLED_OUT}.metrics.json",
        shuffled_predictions=f"{SHUFFLED_OUT}.predictions.parquet",
        shuffled_model=f"{SHUFFLED_OUT}.pt",
        shuffled_curve=f"{SHUFFLED_OUT}.curve.csv",
    params:
        settings=TRAIN,
    wildcard_constraints:
        task="|".join(NET_TASKS),
        split="|".join(NET_SPLITS),
        fold="[^/]+",
        model="cnn",
    threads: 1
    resources:
        gpu=1,
    log:
        "logs/train/{task}/{split}/{fold}/{model}.log",
    benchmark:
        "benchmarks/train/{task}/{split}/{fold}/{model}.tsv"
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/train_fold.py"


rule train_feature_dnn:
    input:
        table=lambda wildcards: f"results/dataset/{NET_TASKS[wildcards.task].cohort}.calls.parquet",
        features=lambda wildcards: f"results/features/{NET_TASKS[wildcards.task].cohort}.features.parquet",
        vectors=lambda wildcards: f"results/features/{NET_TASKS[wildcards.task].cohort}.vectors.npz",
    output:
        metrics=f"{TRAIN_OUT}.metrics.json",
        predictions=f"{TRAIN_OUT}.predictions.parquet",
        model=f"{TRAIN_OUT}.pt",
        curve=f"{TRAIN_OUT}.curve.csv",
        shuffled_metrics=f"{SHUFFLED_OUT}.metrics.json",
        shuffled_predictions=f"{SHUFFLED_OUT}.predictions.parquet",
        shuffled_model=f"{SHUFFLED_OUT}.pt",
        shuffled_curve=f"{SHUFFLED_OUT}.curve.csv",
    params:
        settings=TRAIN,
    wildcard_constraints:
        task="|".join(NET_TASKS),
        split="|".join(NET_SPLITS),
        fold="[^/]+",
        model="dnn9|semiconv",
    threads: 1
    resources:
        gpu=1,
    log:
        "logs/train/{task}/{split}/{fold}/{model}.log",
    benchmark:
        "benchmarks/train/{task}/{split}/{fold}/{model}.tsv"
    conda:
        "../envs/usvflow.yaml"
    script:
        "../scripts/train_fold.py"
