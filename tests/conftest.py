"""Shared fixtures: the repository, its config, and small simulated recordings."""
from __future__ import annotations

import copy
import shutil
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def config() -> dict:
    with open(ROOT / "config.yaml") as fh:
        return yaml.safe_load(fh)


@pytest.fixture()
def sim(config) -> dict:
    """A private copy of the simulation settings that a test may change."""
    return copy.deepcopy(config["simulation"])


@pytest.fixture(scope="session")
def realdata() -> Path:
    return ROOT / "data" / "amvoc-dev"


SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# What a fresh clone holds that the workflow reads (results/ and figures/ are produced).
WORKFLOW_FILES = ["Snakefile", "config.yaml", "rules", "scripts", "schemas", "envs", "profiles", "report", "src", "data"]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A copy of the workflow files, so runs never touch the developer's results."""
    dest = tmp_path_factory.mktemp("clone")
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


def job_counts(stdout: str) -> dict[str, int]:
    """The 'job  count' table of a snakemake dry run, as {rule: count}."""
    counts, table = {}, False
    for line in stdout.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            table = True
        elif table and len(parts) == 2 and parts[1].isdigit():
            counts[parts[0]] = int(parts[1])
        elif table and counts and not line.strip():
            break
    return counts


def planned_animals(preset: str) -> dict[str, int]:
    """How many animals (= recordings) the preset's cohort plan holds, per cohort: what dry runs and SLURM
    plans are checked against, so a changed preset changes the expectation with it."""
    import yaml

    from usvflow.simulate.plan import plan_cohorts

    with open(ROOT / "config.yaml") as fh:
        sim = yaml.safe_load(fh)["simulation"]
    counts: dict[str, int] = {}
    for spec in plan_cohorts(sim, preset):
        counts[spec.cohort] = counts.get(spec.cohort, 0) + 1
    return counts


@pytest.fixture(scope="session")
def tiny_cohort(tmp_path_factory, config) -> dict:
    """The `test` preset's six animals (4 sex, 2 strain) at 3 s each, written as the workflow writes them
    (``wav/``, ``truth/``): a simulated cohort with known calls that costs seconds. ``samples`` is the sample
    sheet indexed by recording."""
    from usvflow.simulate.recording import simulate_cohort

    sim = copy.deepcopy(config["simulation"])
    for cohort in sim["presets"]["test"].values():
        cohort["minutes"] = 0.05
    out = tmp_path_factory.mktemp("tiny_cohort")
    sheet = simulate_cohort(sim, "test", out)
    return {"samples": sheet.set_index("recording", drop=False), "truth_dir": out / "truth", "dir": out}
