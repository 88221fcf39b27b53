# Stage 6d: final models and bundles. Once leave-one-animal-out has measured them, the CNN and the best ridge/SVM
# of each task are trained on every animal of the cohort, and one bundle per task carries them to new
# recordings (`usvflow classify REC.wav --model results/bundles/{task}.pt`): weights, the detector and image and
# feature settings that rebuild their inputs, the LOAO accuracy and calibration (results/aggregation), the
# package version. Logic: usvflow.classify.final and .bundle.

from usvflow.classify.attribution_tasks import classical_candidates  # noqa: E402


rule final_cnn:
    input:
        table=lambda wildcards: f"results/dataset/{final_cohort(wildcards)}.calls.parquet",
        images=lambda wildcards: f"results/dataset/{final_cohort(wildcards)}.spectrograms.npy",
    output:
        model="results/final/{task}/cnn.pt",
        metrics="results/final/{task}/cnn.metrics.json",
    log:
        "logs/final/{task}/cnn.log",
    benchmark:
        "benchmarks/final/{task}/cnn.tsv"
    wildcard_constraints:
        task=alternation(BUNDLE_TASKS),
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("final_cnn"),
        gpu=1,
    params:
        settings=lambda wildcards: planning.train_job_settings(
            TRAIN, wildcards.task, "cnn"
        ),
    script:
        "../scripts/final_cnn.py"


rule final_classical:
    input:
        unpack(final_classical_inputs),
    output:
        model="results/final/{task}/classical.pt",
    log:
        "logs/final/{task}/classical.log",
    benchmark:
        "benchmarks/final/{task}/classical.tsv"
    wildcard_constraints:
        task=alternation(BUNDLE_TASKS),
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("final_classical"),
    params:
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        candidates=lambda wildcards: classical_candidates(
            wildcards.task, CLASSICAL_FEATURE_TASKS
        ),
        classical=config["classical"]["params"],
    script:
        "../scripts/final_classical.py"


rule bundle:
    input:
        unpack(bundle_inputs),
    output:
        "results/bundles/{task}.pt",
    log:
        "logs/final/{task}/bundle.log",
    wildcard_constraints:
        task=alternation(BUNDLE_TASKS),
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("bundle"),
    params:
        detector={
            "method": DATASET_DETECTOR,
            "params": config["detection"][DATASET_DETECTOR],
        },
        features=config["features"]["params"],
        channel=CHANNEL,
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        data=DATA["caption"],
    script:
        "../scripts/bundle.py"


register(targets=expand("results/bundles/{task}.pt", task=BUNDLE_TASKS))
