"""Shared fixtures: the repository, its config, and small simulated recordings."""
from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Callable

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


def copy_workflow(dest: Path) -> Path:
    """The workflow files of the checkout, copied to ``dest``."""
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    return dest


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    """A copy of the workflow files, so runs never touch the developer's results."""
    return copy_workflow(tmp_path_factory.mktemp("clone"))


@pytest.fixture(scope="session")
def test_preset_clone(tmp_path_factory) -> Path:
    """The copy the slow runs of the `test` preset share: test_slurm runs the sex cohort's simulation,
    extraction and CNN folds through SLURM first (test files run in name order), and test_workflow's full run
    of the preset then finds those jobs done instead of repeating them (where SLURM is not available it runs
    them itself). Outputs are deterministic, so which run made them does not change what is checked."""
    return copy_workflow(tmp_path_factory.mktemp("test_preset"))


#: What planning may not import: the scientific stack the jobs need, but the Python running snakemake need not.
HEAVY = ("torch", "sklearn", "scipy", "matplotlib", "skimage", "statsmodels", "openTSNE", "soundfile")

_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys
    HEAVY = {heavy!r}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                raise ImportError(f"planning imported {{name}}")
            return None
    sys.meta_path.insert(0, Block())
    from snakemake.cli import main
    sys.argv = ["snakemake"] + {args!r}
    main()
    """
)


def dry_run_without_scientific_stack(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """``snakemake <args>`` with torch, scikit-learn, scipy, matplotlib, ... made unimportable."""
    code = _BLOCKER.format(heavy=HEAVY, args=args)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def planning_clone(tmp_path_factory) -> Path:
    """A copy of the workflow files that only dry runs use (nothing writes into it)."""
    return copy_workflow(tmp_path_factory.mktemp("planning"))


@pytest.fixture(scope="session")
def default_dry_run(planning_clone) -> subprocess.CompletedProcess:
    """One dry run of the default preset for every test that reads its plan; planned with the scientific
    stack unimportable, so the same run checks that planning needs none of it (test_architecture)."""
    return dry_run_without_scientific_stack(["-n", "--cores", "2"], planning_clone)


@pytest.fixture(scope="session")
def paper_dry_run(planning_clone) -> subprocess.CompletedProcess:
    """One dry run of the paper preset (29 animals, ~400 jobs) shared by the tests that read its plan."""
    return dry_run_without_scientific_stack(["-n", "--cores", "2", "--config", "preset=paper"], planning_clone)


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


#: Two-sided false-alarm rate of the shuffled-label controls' chance bounds.
CHANCE_ALPHA = 0.001


def chance_halfwidth(n_test: int, alpha: float = CHANCE_ALPHA, chance: float = 0.5) -> float:
    """How far an accuracy over ``n_test`` calls may stray from ``chance`` by luck alone: the two-sided
    ``alpha`` quantile of Binomial(n_test, chance)/n_test. It treats the calls as independent guesses, which
    is the floor of the real spread (one model's errors on one animal's calls are correlated), so the bound
    catches a leak of labels (accuracy far off chance) and nothing subtler; the smaller the test set, the
    looser it is."""
    from scipy.stats import binom

    return float(binom.ppf(1 - alpha / 2, n_test, chance) / n_test - chance)


@pytest.fixture(scope="session")
def fold_cache() -> Callable[[tuple, Callable[[], Any]], Any]:
    """Trained folds shared between tests: ``fold_cache(key, train)`` trains once per key and session, so a
    later test that needs the same fold (same data, model and settings) reuses it. A test that checks
    training itself (determinism) still trains its own second copy."""
    cache: dict[tuple, Any] = {}

    def get(key: tuple, train: Callable[[], Any]) -> Any:
        if key not in cache:
            cache[key] = train()
        return cache[key]

    return get
