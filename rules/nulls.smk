# Evidence beside the leave-one-animal-out headlines (issue 16): the truth ceiling and animal-level nulls.
#
# Truth ceiling (simulated cohorts only; logic: usvflow.classify.ceiling): the classical stage's ridge and
# linear SVM, leave-one-animal-out with nested selection, on the generator's own per-call parameters from
# results/simulated/truth (never the recording's conditions) -> results/stats/ceiling.json, quoted beside
# every model in figures/summary.md and drawn as a dashed line in Figs 3-5.
#
# Animal-level permutation nulls (logic: usvflow.classify.nulls): ridge and SVM on spectrograms (every task)
# and on the 9 features (feature tasks), the whole leave-one-animal-out evaluation repeated with the group
# labels reassigned across animals (all assignments up to nulls.max_permutations, else that many random
# ones), each model's regularisation fixed at the value its real folds chose most often.
# results/nulls/{task}.json; results/stats/nulls.json puts each p beside the nested accuracy, the
# call-level shuffled control and the ceiling.
#
# The CNN (one network per fold and relabelling: 70 x 8 trainings on the default cohort) is not permuted in
# the default run. Opt-in: `snakemake results/stats/cnn_permutation.json` trains the leave-one-animal-out CNN
# on nulls.cnn_permutations random relabellings (every fold of each) and writes the Monte Carlo p,
# (1 + #relabellings at least as accurate) / (1 + K); with nulls.cnn_in_summary it joins `all` and summary.md.

from usvflow.classify.classical_tasks import MODELS as CLASSICAL_MODELS  # noqa: E402

CEILING_TASKS = CONFOUND_TASKS if SIMULATED else []
NULL_TASKS = CONFOUND_TASKS
NULL_SPECTROGRAM = ["ridge", "svm"]
NULL_FEATURE = ["ridge_feat9", "svm_feat9"]


rule ceiling:
    input:
        calls=truth_files(
            [
                r
                for t in CEILING_TASKS
                for r in cohort_recordings(CLASSICAL[t]["spec"]["cohort"])
            ]
        ),
        recordings=f"{SIM_DIR}/truth/recordings.tsv",
    output:
        stats="results/stats/ceiling.json",
    log:
        "logs/ceiling.log",
    benchmark:
        "benchmarks/nulls/ceiling.tsv"
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("ceiling"),
    params:
        specs={t: CLASSICAL[t]["spec"] for t in CEILING_TASKS},
        classical=config["classical"]["params"],
        reference_m=config["simulation"]["distance"]["reference_m"],
        dataset=DATA_LABEL,
    script:
        "../scripts/ceiling.py"


rule nulls:
    input:
        unpack(null_inputs),
    output:
        result="results/nulls/{task}.json",
    log:
        "logs/nulls/{task}.log",
    benchmark:
        "benchmarks/nulls/{task}.tsv"
    wildcard_constraints:
        task=alternation(NULL_TASKS),
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("nulls"),
    params:
        models=lambda wildcards: {
            m: CLASSICAL_MODELS[m] for m in null_models(wildcards.task)
        },
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        classical=config["classical"]["params"],
        settings=config["nulls"],
    script:
        "../scripts/nulls.py"


rule nulls_stats:
    input:
        nulls=[f"results/nulls/{task}.json" for task in NULL_TASKS],
        ceiling=ceiling_json(),
    output:
        stats="results/stats/nulls.json",
    log:
        "logs/nulls_stats.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("nulls_stats"),
    params:
        dataset=DATA_LABEL,
    script:
        "../scripts/nulls_stats.py"


CNN_NULL_K = int(config["nulls"]["cnn_permutations"])


rule cnn_permutation_fold:
    input:
        table=lambda wildcards: f"results/dataset/{classical_cohort(wildcards)}.calls.parquet",
        images=lambda wildcards: f"results/dataset/{classical_cohort(wildcards)}.spectrograms.npy",
    output:
        metrics="results/nulls/cnn/{task}/p{perm}/{fold}.metrics.json",
    log:
        "logs/nulls/cnn/{task}/p{perm}/{fold}.log",
    benchmark:
        "benchmarks/nulls/cnn/{task}/p{perm}/{fold}.tsv"
    wildcard_constraints:
        task=alternation(NULL_TASKS),
        perm="[0-9]+",
        fold="[^/]+",
    conda:
        "../envs/usvflow.yaml"
    threads: 1
    resources:
        **res("train_cnn"),
        gpu=1,
    params:
        settings=lambda wildcards: planning.train_job_settings(
            TRAIN, wildcards.task, "cnn"
        ),
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        null=config["nulls"],
    script:
        "../scripts/cnn_permutation_fold.py"


rule cnn_permutation:
    input:
        unpack(cnn_null_inputs),
    output:
        stats="results/stats/cnn_permutation.json",
    log:
        "logs/cnn_permutation.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("nulls_stats"),
    params:
        tasks=NULL_TASKS,
        dataset=DATA_LABEL,
    script:
        "../scripts/cnn_permutation.py"


if NULL_TASKS and CNN_NULL_K and config["nulls"]["cnn_in_summary"]:

    register(stats=["results/stats/cnn_permutation.json"])

if CEILING_TASKS:

    register(stats=["results/stats/ceiling.json"])

if NULL_TASKS:

    register(stats=["results/stats/nulls.json"])
