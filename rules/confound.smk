# Confound check (issue 16): the classical stage's ridge and SVM, leave-one-animal-out, trained on call-free
# stretches of each recording (same 100 x 100 images as the calls) and on recording nuisance measurements
# (noise-floor levels in bands, broadband and peak level, all of call-free audio). If they predict the group across held-out animals,
# the call classifiers' accuracies may come from how the groups were recorded. Logic and decision rule:
# usvflow.classify.confound.
#
# results/confound/{task}.json (verdict, the sentence for summary.md and Fig 3, every number),
# .folds.csv (held-out accuracy per animal and model), .stretches.csv (where the stretches are, their
# measurements); results/stats/confound.json feeds figures/summary.md.

CONFOUND_TASKS = [t for t, p in CLASSICAL.items() if not p["skipped"]]


rule confound:
    input:
        unpack(confound_inputs),
    output:
        result="results/confound/{task}.json",
        folds="results/confound/{task}.folds.csv",
        stretches="results/confound/{task}.stretches.csv",
    log:
        "logs/confound/{task}.log",
    benchmark:
        "benchmarks/confound/{task}.tsv"
    wildcard_constraints:
        task=alternation(CONFOUND_TASKS),
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("confound"),
    params:
        samples=lambda wildcards: SAMPLES.loc[
            cohort_recordings(classical_cohort(wildcards)),
            [
                "recording",
                "path",
                "animal",
                CLASSICAL[wildcards.task]["spec"]["column"],
            ],
        ],
        spec=lambda wildcards: CLASSICAL[wildcards.task]["spec"],
        settings=config["confound"],
        classical=config["classical"]["params"],
        detector=DATASET_DETECTOR,
        detection=config["detection"][DATASET_DETECTOR],
        channel=CHANNEL,
    script:
        "../scripts/confound.py"


rule confound_stats:
    input:
        [f"results/confound/{task}.json" for task in CONFOUND_TASKS],
    output:
        stats="results/stats/confound.json",
    log:
        "logs/confound_stats.log",
    conda:
        "../envs/usvflow.yaml"
    resources:
        **res("confound_stats"),
    params:
        dataset=DATA_LABEL,
    script:
        "../scripts/confound_stats.py"


if CONFOUND_TASKS:

    register(stats=["results/stats/confound.json"])
