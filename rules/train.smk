# Stage 6 (networks): the paper's spectrogram CNNs, 9-feature DNN and semi-convolutional DNN, one job per
# (task, split, fold, model): leave-one-animal-out folds are the held-out animals (from the sample sheet),
# random-split folds k0..k9 (the preset may train fewer). Logic: usvflow.classify (planning:
# usvflow.classify.tasks, no torch at parse time).
#
# results/train/{task}/{split}/{fold}/{model}.metrics.json, .predictions.parquet, .pt, .curve.csv
# model: cnn, dnn9, semiconv, each also *_shuffled (labels permuted across the training calls: the control).
# A model and its shuffled control train in the same job, one after the other: the control needs the same
# data, and on a laptop the start-up (Python, torch, the cohort's images) is a third of a default fold's time.
# Each job gets only its own network's architecture and protocol: editing dnn9 retrains the dnn9 folds only.
#
# GPUs: the convolutional networks ask for gpu=1, the 9-feature DNN runs on the CPU (gpu=0). With
# train.gpu_slots_per_device = k, `--resources gpu=N` lets N x k GPU jobs run at once (planning.share_gpus);
# each job takes a device of its own choosing (usvflow.classify.training.pick_device: the first free slot,
# round robin over the visible GPUs). Under SLURM every job asks for one whole GPU (--gpus=1).

from usvflow.classify.tasks import GPU_FAMILIES  # noqa: E402
from usvflow.classify.tasks import SPLITS as NET_SPLITS  # noqa: E402
from usvflow.classify.tasks import TASKS as NET_TASKS  # noqa: E402
from usvflow.classify.tasks import plan_folds, train_settings  # noqa: E402

TRAIN = train_settings(config)
planning.share_gpus(workflow, int(TRAIN["gpu_slots_per_device"]))
TRAIN_JOBS = plan_folds(SAMPLES, TRAIN, SIMULATED)
TRAIN_OUT = "results/train/{task}/{split}/{fold}/{model}"
SHUFFLED_OUT = "results/train/{task}/{split}/{fold}/{model}_shuffled"


rule train_cnn:
    input:
        table=lambda wildcards: f"results/dataset/{net_cohort(wildcards)}.calls.parquet",
        images=lambda wildcards: f"results/dataset/{net_cohort(wildcards)}.spectrograms.npy",
    output:
        metrics=f"{TRAIN_OUT}.metrics.json",
        predictions=f"{TRAIN_OUT}.predictions.parquet",
        model=f"{TRAIN_OUT}.pt",
        curve=f"{TRAIN_OUT}.curve.csv",
        shuffled_metrics=f"{SHUFFLED_OUT}.metrics.json",
        shuffled_predictions=f"{SHUFFLED_OUT}.predictions.parquet",
        shuffled_model=f"{SHUFFLED_OUT}.pt",
        shuffled_curve=f"{SHUFFLED_OUT}.curve.csv",
    log:
        "logs/train/{task}/{split}/{fold}/{model}.log",
    benchmark:
        "benchmarks/train/{task}/{split}/{fold}/{model}.tsv"
    wildcard_constraints:
        task=alternation(NET_TASKS),
        split=alternation(NET_SPLITS),
        fold="[^/]+",
        model="cnn",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("train_cnn"),
        gpu=1,
    params:
        settings=net_settings,
    script:
        "../scripts/train_fold.py"


rule train_feature_dnn:
    input:
        table=lambda wildcards: f"results/dataset/{net_cohort(wildcards)}.calls.parquet",
        features=lambda wildcards: f"results/features/{net_cohort(wildcards)}.features.parquet",
        vectors=lambda wildcards: f"results/features/{net_cohort(wildcards)}.vectors.npz",
    output:
        metrics=f"{TRAIN_OUT}.metrics.json",
        predictions=f"{TRAIN_OUT}.predictions.parquet",
        model=f"{TRAIN_OUT}.pt",
        curve=f"{TRAIN_OUT}.curve.csv",
        shuffled_metrics=f"{SHUFFLED_OUT}.metrics.json",
        shuffled_predictions=f"{SHUFFLED_OUT}.predictions.parquet",
        shuffled_model=f"{SHUFFLED_OUT}.pt",
        shuffled_curve=f"{SHUFFLED_OUT}.curve.csv",
    log:
        "logs/train/{task}/{split}/{fold}/{model}.log",
    benchmark:
        "benchmarks/train/{task}/{split}/{fold}/{model}.tsv"
    wildcard_constraints:
        task=alternation(NET_TASKS),
        split=alternation(NET_SPLITS),
        fold="[^/]+",
        model="dnn9|semiconv",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("train_feature_dnn"),
        gpu=lambda wildcards: int(wildcards.model in GPU_FAMILIES),
    params:
        settings=net_settings,
    script:
        "../scripts/train_fold.py"
