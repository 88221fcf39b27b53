# Configuration checks and input functions shared by every stage.
import dataclasses
import os
import sys
from pathlib import Path

from snakemake.utils import min_version

min_version("9.19")

# The library lives in src/; make it importable here and in every script job, installed or not.
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)
os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH", "")) if p))

from usvflow.config import read_sample_sheet, validate_config  # noqa: E402
from usvflow.errors import InputError  # noqa: E402
from usvflow.simulate.plan import plan_cohorts, sample_sheet  # noqa: E402

SCHEMAS = Path(workflow.basedir) / "schemas"
SIM_DIR = "results/simulated"


def _stop(err):
    """Bad configuration or sample sheet: one line, then stop before any job runs."""
    sys.stderr.write(f"usvflow: {err}\n")
    sys.exit(1)


try:
    validate_config(config, SCHEMAS / "config.schema.yaml")
except InputError as err:
    _stop(err)

SIMULATED = not config["samples"]

if SIMULATED:
    SIM_SPECS = {s.recording: s for s in plan_cohorts(config["simulation"], config["preset"])}
    SAMPLES = sample_sheet(list(SIM_SPECS.values()), f"{SIM_DIR}/wav").set_index("recording", drop=False)
else:
    SIM_SPECS = {}
    try:
        SAMPLES = read_sample_sheet(config["samples"], SCHEMAS / "samples.schema.yaml")
    except InputError as err:
        _stop(err)

RECORDINGS = list(SAMPLES.index)


wildcard_constraints:
    recording="|".join(map(str, RECORDINGS)) or "__none__",


def wav_path(wildcards):
    """The WAV of one recording (simulated, or from the user's sample sheet)."""
    return SAMPLES.loc[wildcards.recording, "path"]


def sim_spec(wildcards):
    return dataclasses.asdict(SIM_SPECS[wildcards.recording])


DETECTION_METHODS = ["default", "paper"]


def detection_params(method):
    """The detection: block of config.yaml for one method (missing keys keep the library defaults)."""
    return dict((config.get("detection") or {}).get(method) or {})


def sim_detection_inputs(kind):
    """Simulated truth tables, or every recording's detections, for the detection benchmark."""
    if not SIMULATED:
        return []
    if kind == "truth":
        return expand(f"{SIM_DIR}/truth/{{recording}}.{{table}}.csv", recording=RECORDINGS, table=["calls", "noise"])
    return expand("results/extract/{method}/{recording}.calls.csv", method=DETECTION_METHODS, recording=RECORDINGS)


COHORTS = sorted(SAMPLES["cohort"].unique())
# Which detector's calls feed the analyses (features, embeddings, classifiers).
DATASET_DETECTOR = config.get("dataset", {}).get("detector", "default")


def cohort_recordings(cohort):
    return list(SAMPLES.index[SAMPLES["cohort"] == cohort])


def dataset_inputs(wildcards):
    """Per-recording detections (and simulated truth) of one cohort."""
    recs = cohort_recordings(wildcards.cohort)
    inputs = {
        "calls": [f"results/extract/{DATASET_DETECTOR}/{r}.calls.csv" for r in recs],
        "images": [f"results/extract/{DATASET_DETECTOR}/{r}.spectrograms.npz" for r in recs],
    }
    if SIMULATED:
        inputs["truth"] = [f"{SIM_DIR}/truth/{r}.calls.csv" for r in recs]
    return inputs


# Each stage file registers the figures it makes and the stats files that feed figures/summary.md,
# so adding a stage never means editing this file or the Snakefile's `rule all`.
TARGETS = []
SUMMARY_STATS = []


def register(targets=(), stats=()):
    TARGETS.extend(targets)
    SUMMARY_STATS.extend(stats)


def summary_header():
    if SIMULATED:
        sim = config["simulation"]
        data = (f"the SIMULATED cohort (preset `{config['preset']}`, seed {sim['seed']}, "
                f"{len(RECORDINGS)} recordings at {sim['sample_rate_hz']} Hz); not the papers' real mice")
    else:
        data = f"the recordings of sample sheet `{config['samples']}` ({len(RECORDINGS)} recordings)"
    return ("# usvflow summary: the papers' numbers beside this run's\n\n"
            f"This run analysed {data}. The 'paper' column is copied from Ivanenko et al. 2020 / "
            "Santana & Dietrich 2024 (real data); 'this run' is computed by the workflow.")


def all_targets():
    targets = list(TARGETS)
    if SIMULATED:
        targets += ["figures/simulator_vs_real.pdf", f"{SIM_DIR}/samples.tsv"]
    if SUMMARY_STATS:
        targets.append("figures/summary.md")
    return targets
