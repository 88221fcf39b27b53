# Configuration checks and input functions shared by every stage. Planning imports no torch, scikit-learn,
# scipy or matplotlib (usvflow.workflow.planning): `snakemake -n` needs snakemake, pandas, pyyaml, jsonschema.
import dataclasses
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")

# The library lives in src/; make it importable here and in every script job, installed or not.
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p)
)

from usvflow.config import read_sample_sheet, validate_config  # noqa: E402
from usvflow.errors import InputError  # noqa: E402
from usvflow.report import provenance  # noqa: E402
from usvflow.simulate.plan import plan_cohorts, sample_sheet  # noqa: E402
from usvflow.workflow import planning  # noqa: E402
from usvflow.workflow.planning import alternation  # noqa: E402

SCHEMAS = Path(workflow.basedir) / "schemas"
SIM_DIR = "results/simulated"


def _stop(err):
    """Bad configuration or sample sheet: one line, then stop before any job runs."""
    sys.stderr.write(f"usvflow: {err}\n")
    sys.exit(1)


# Validation fills in the schema's defaults, so every entry below exists.
try:
    validate_config(config, SCHEMAS / "config.schema.yaml")
except InputError as err:
    _stop(err)

PRESET = config["preset"]
SIMULATED = not config["samples"]

if SIMULATED:
    SIM_SPECS = {s.recording: s for s in plan_cohorts(config["simulation"], PRESET)}
    SAMPLES = sample_sheet(list(SIM_SPECS.values()), f"{SIM_DIR}/wav").set_index(
        "recording", drop=False
    )
else:
    SIM_SPECS = {}
    try:
        SAMPLES = read_sample_sheet(config["samples"], SCHEMAS / "samples.schema.yaml")
    except InputError as err:
        _stop(err)

# What makes this run's outputs: commit, resolved config, sample sheet, packages (usvflow.report.provenance).
# Only the summary rule gets it as params, so a new commit reruns the summary alone; the report's captions
# read it from config (docs/architecture.md, "Provenance").
PROVENANCE = provenance.collect(
    config,
    Path(workflow.basedir) / "Snakefile",
    sheet=config["samples"] or None,
    sheet_text=SAMPLES.to_csv(sep="\t", index=False) if SIMULATED else None,
    sheet_label=f"simulated cohort ({SIM_DIR}/samples.tsv)",
)
config[provenance.CONFIG_KEY] = PROVENANCE

RECORDINGS = list(SAMPLES.index)
COHORTS = sorted(SAMPLES["cohort"].unique())
CHANNEL = config["channel"]
# Which detector's calls feed the analyses (features, embeddings, classifiers).
DATASET_DETECTOR = config["dataset"]["detector"]
DETECTION_METHODS = ["default", "paper"]
# Where the data come from, worded once for captions, stats files and figure notes.
DATA = planning.data_notice(config, SIMULATED, len(RECORDINGS))
# What every stats file says about the data it came from.
DATA_LABEL = f"{DATA['cohort']}, {DATASET_DETECTOR} detector"

REALDATA_FILES = planning.realdata_files(config["realdata_dir"])
if not REALDATA_FILES:
    _stop(
        InputError(
            config["realdata_dir"],
            "realdata_dir holds no annotated clips (expected <clip>/recording.wav and <clip>/truth.csv)",
        )
    )


wildcard_constraints:
    recording=alternation(RECORDINGS),
    cohort=alternation(COHORTS),


def res(rule):
    """mem_mb and runtime of a rule on this preset (usvflow.workflow.planning.RESOURCES)."""
    return planning.resources(rule, PRESET)


def wav_path(wildcards):
    """The WAV of one recording (simulated, or from the user's sample sheet)."""
    return SAMPLES.loc[wildcards.recording, "path"]


def sim_spec(wildcards):
    return dataclasses.asdict(SIM_SPECS[wildcards.recording])


def truth_files(recordings, kinds=("calls.csv",)):
    """Simulated truth files of ``recordings`` (none for a user's sample sheet)."""
    if not SIMULATED:
        return []
    return [f"{SIM_DIR}/truth/{r}.{kind}" for r in recordings for kind in kinds]


def cohort_recordings(cohort):
    return list(SAMPLES.index[SAMPLES["cohort"] == cohort])


def dataset_inputs(wildcards):
    """Per-recording detections (and simulated truth) of one cohort."""
    recs = cohort_recordings(wildcards.cohort)
    inputs = {
        "calls": [f"results/extract/{DATASET_DETECTOR}/{r}.calls.csv" for r in recs],
        "images": [
            f"results/extract/{DATASET_DETECTOR}/{r}.spectrograms.npz" for r in recs
        ],
    }
    if SIMULATED:
        inputs["truth"] = truth_files(recs)
    # A lab's per-call annotations, where the sample sheet names them.
    inputs["annotations"] = [a for a in SAMPLES.loc[recs, "annotations"] if a]
    return inputs


# Input functions of the training and figure stages (they read CLASSICAL, NET_TASKS, TRAIN when called).


def classical_cohort(wildcards):
    return CLASSICAL[wildcards.task]["spec"]["cohort"]


def net_cohort(wildcards):
    return NET_TASKS[wildcards.task].cohort


def net_settings(wildcards):
    return planning.train_job_settings(TRAIN, wildcards.task, wildcards.model)


def classical_metrics(task, models, feature_task=False):
    """Ridge / SVM fold metrics of a task, when the classical stage plans it (it may skip a cohort)."""
    if task not in CLASSICAL or (feature_task and task not in CLASSICAL_FEATURE_TASKS):
        return []
    return [
        f"results/train/{task}/loao/{fold}/{m}.metrics.json"
        for fold in CLASSICAL[task]["folds"]
        for m in models
    ]


# Input functions of the final models and bundles (rules/final.smk; they read CLASSICAL when called).


def final_cohort(wildcards):
    return CLASSICAL[wildcards.task]["spec"]["cohort"]


def final_classical_inputs(wildcards):
    cohort = final_cohort(wildcards)
    task = wildcards.task
    inputs = {
        "dataset": f"results/dataset/{cohort}.calls.parquet",
        "images": f"results/dataset/{cohort}.spectrograms.npy",
        "metrics": classical_metrics(
            task, classical_candidates(task, CLASSICAL_FEATURE_TASKS)
        ),
    }
    if task in CLASSICAL_FEATURE_TASKS:
        inputs["features"] = f"results/features/{cohort}.features.parquet"
        inputs["vectors"] = f"results/features/{cohort}.vectors.npz"
    return inputs


def bundle_inputs(wildcards):
    recs = cohort_recordings(final_cohort(wildcards))
    return {
        "cnn": f"results/final/{wildcards.task}/cnn.pt",
        "cnn_metrics": f"results/final/{wildcards.task}/cnn.metrics.json",
        "classical": f"results/final/{wildcards.task}/classical.pt",
        "aggregation": [
            f"results/aggregation/{wildcards.task}/{model}.json"
            for model in ["cnn"]
            + classical_candidates(wildcards.task, CLASSICAL_FEATURE_TASKS)
        ],
        "dataset": f"results/dataset/{final_cohort(wildcards)}.calls.parquet",
        "images": [
            f"results/extract/{DATASET_DETECTOR}/{r}.spectrograms.npz" for r in recs
        ],
    }


# Input functions of the confound check (rules/confound.smk; they read CONFOUND_TASKS when called).


def confound_inputs(wildcards):
    recs = cohort_recordings(classical_cohort(wildcards))
    return {
        "calls": [f"results/extract/{DATASET_DETECTOR}/{r}.calls.csv" for r in recs],
        "wavs": [SAMPLES.loc[r, "path"] for r in recs],
    }


def confound_json(task):
    """The control's result for ``task`` where the workflow runs it (for figures that quote it)."""
    return [f"results/confound/{task}.json"] if task in CONFOUND_TASKS else []


# Input functions of the truth ceiling and the animal-level nulls (rules/nulls.smk; they read CEILING_TASKS,
# NULL_TASKS and TRAIN_JOBS when called).


def null_models(task):
    return NULL_SPECTROGRAM + (NULL_FEATURE if task in CLASSICAL_FEATURE_TASKS else [])


def null_inputs(wildcards):
    cohort = classical_cohort(wildcards)
    task = wildcards.task
    out = {
        "dataset": f"results/dataset/{cohort}.calls.parquet",
        "images": f"results/dataset/{cohort}.spectrograms.npy",
        "metrics": classical_metrics(
            task, null_models(task) + [f"{m}_shuffled" for m in null_models(task)]
        ),
    }
    if task in CLASSICAL_FEATURE_TASKS:
        out["features"] = f"results/features/{cohort}.features.parquet"
    return out


def ceiling_json():
    """The truth ceiling where the workflow computes it (simulated cohorts), for figures that quote it."""
    return ["results/stats/ceiling.json"] if CEILING_TASKS else []


def cnn_null_inputs(wildcards):
    jobs = [
        (t, f)
        for t, s, f, m in TRAIN_JOBS
        if s == "loao" and m == "cnn" and t in NULL_TASKS
    ]
    return {
        "perms": [
            f"results/nulls/cnn/{t}/p{k}/{f}.metrics.json"
            for t, f in jobs
            for k in range(1, CNN_NULL_K + 1)
        ],
        "real": [f"results/train/{t}/loao/{f}/cnn.metrics.json" for t, f in jobs],
    }


# Each stage file registers the figures it makes and the stats files that feed figures/summary.md,
# so adding a stage never means editing this file or the Snakefile's `rule all`.
TARGETS = []
SUMMARY_STATS = []


def register(targets=(), stats=()):
    TARGETS.extend(targets)
    SUMMARY_STATS.extend(stats)


def summary_header():
    return (
        "# usvflow summary: the papers' numbers beside this run's\n\n"
        f"This run analysed {DATA['summary']}. The 'paper' column is copied from Ivanenko et al. 2020 / "
        "Santana & Dietrich 2024 (real data); 'this run' is computed by the workflow."
        + (f"\n\n{DATA['reading']}" if DATA["reading"] else "")
    )


def all_targets():
    targets = list(TARGETS)
    if SIMULATED:
        targets += ["figures/simulator_vs_real.pdf", f"{SIM_DIR}/samples.tsv"]
        targets.append(f"{SIM_DIR}/truth/recordings.tsv")
    if SUMMARY_STATS:
        targets.append("figures/summary.md")
    return targets
