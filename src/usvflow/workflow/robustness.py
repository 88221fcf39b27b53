"""Planning of the seed sweep (``snakemake robustness``, rules/robustness.smk): what one seed's run is given.

Each seed reruns the same Snakefile in its own working directory, ``results/robustness/seed_{seed}/``, asking
for the headline file only (:data:`HEADLINE`), so every analysis has one implementation and the sweep reuses the
workflow's caching: a seed whose run was interrupted, or whose settings did not change, redoes only what is
missing. The seed's configuration is this run's resolved configuration with the simulation seed replaced
(:func:`seed_config`); it is written as ``config.yaml`` in the seed's folder, where the Snakefile's
``configfile:`` finds it. Standard library only: this runs when the workflow is planned.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Sequence

#: One seed's working directory, relative to the sweep's own.
SEED_DIR = "results/robustness/seed_{seed}"
#: The per-seed headline numbers (rules/robustness.smk, rule robustness_headline), relative to a working directory.
HEADLINE = "results/robustness/headline.json"


def seed_dir(seed: int | str) -> str:
    return SEED_DIR.format(seed=seed)


def seed_config(config: dict[str, Any], seed: int, root: str | Path = ".") -> dict[str, Any]:
    """The configuration of one seed's run.

    This run's resolved configuration with ``simulation.seed`` set to ``seed``, always on the simulated cohort
    (``samples`` empty: the sweep redraws the simulation, so a sample sheet has no place in it), the real clips'
    folder made absolute against ``root`` (the seed runs in another working directory), and without what does
    not change a seed's results: keys starting with ``_`` (the provenance added while planning) and the sweep's
    own ``robustness`` block, so adding a seed reruns no other seed.
    """
    out = copy.deepcopy({k: v for k, v in config.items() if not k.startswith("_") and k != "robustness"})
    out["simulation"]["seed"] = int(seed)
    out["samples"] = ""
    realdata = Path(out["realdata_dir"])
    out["realdata_dir"] = os.path.normpath(realdata if realdata.is_absolute() else Path(root).resolve() / realdata)
    return out


def seed_command(python: str, snakefile: str | Path, workdir: str | Path, cores: int,
                 targets: Sequence[str] = (HEADLINE,)) -> list[str]:
    """The command that runs one seed: the same Snakefile, in ``workdir``, on ``cores`` cores, for ``targets``.
    ``--rerun-incomplete``: a seed's run killed halfway resumes instead of stopping on its incomplete files."""
    return [python, "-m", "snakemake", "--snakefile", str(snakefile), "--directory", str(workdir),
            "--cores", str(int(cores)), "--rerun-incomplete", "--printshellcmds", *targets]
