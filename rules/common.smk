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
from usvflow.simulate import plan_cohorts, sample_sheet  # noqa: E402

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


def all_targets():
    targets = []
    if SIMULATED:
        targets.append("figures/simulator_vs_real.pdf")
        targets.append(f"{SIM_DIR}/samples.tsv")
    return targets
