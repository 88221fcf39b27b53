"""profiles/slurm against a real single-node SLURM on localhost (munge, slurmctld, slurmd, a fake GPU).

The `test` preset runs through the profile: every job is an sbatch submission and rules declaring
`resources: gpu=1` must reach SLURM as GPU requests. Skipped where SLURM cannot be started, unless
USVFLOW_REQUIRE_SLURM=1 (set by .ci/run), where that is a failure.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from conftest import job_counts as _job_counts
from conftest import planned_animals
from slurm_cluster import LocalSlurm, available

REQUIRED = os.environ.get("USVFLOW_REQUIRE_SLURM") == "1"


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = available()
    if reason:
        if REQUIRED:
            pytest.fail(f"SLURM required but unavailable: {reason}")
        pytest.skip(reason)
    cluster = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _jobs(cluster: LocalSlurm) -> list[dict[str, str]]:
    """Every job slurmctld remembers (MinJobAge keeps finished ones for 10 min; no accounting DB)."""
    out = subprocess.run(["scontrol", "show", "job", "-o"], env=cluster.env, capture_output=True, text=True).stdout
    jobs = []
    for line in out.splitlines():
        if line.startswith("JobId="):
            jobs.append(dict(re.findall(r"(\w+)=(\S*)", line)))
    return jobs


def test_profile_plans_gpu_jobs_for_the_paper_preset(planning_clone):
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", "-n",
                           "--config", "preset=paper"], cwd=planning_clone, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    counts = _job_counts(proc.stdout)
    planned = planned_animals("paper")
    assert counts["simulate_recording"] == sum(planned.values())
    # One CNN job per held-out animal (17 sex, 12 strain), each asking for a GPU.
    loao = {"sex": set(), "strain": set()}
    for block in proc.stdout.split("\nrule ")[1:]:
        if not block.startswith("train_cnn:"):
            continue
        wc = dict(re.findall(r"(\w+)=([^,\s]+)", block.split("wildcards:")[1].splitlines()[0]))
        if wc["split"] == "loao" and wc["model"] == "cnn" and wc["task"] in loao:
            assert re.search(r"resources:.*\bgpu=1\b", block), block
            loao[wc["task"]].add(wc["fold"])
    assert (len(loao["sex"]), len(loao["strain"])) == (planned["sex"], planned["strain"])


@pytest.mark.slow
def test_test_preset_runs_through_slurm(slurm, test_preset_clone, capsys):
    """The sex cohort of the `test` preset, from simulation to one CNN fold per held-out animal, as sbatch
    jobs. (The whole preset is ~200 jobs: minutes of SLURM scheduling for no extra coverage.)"""
    sheet = subprocess.run([sys.executable, "-c", "import sys, yaml; sys.path.insert(0, 'src');"
                            "from usvflow.simulate.plan import plan_cohorts;"
                            "c = yaml.safe_load(open('config.yaml'))['simulation'];"
                            "print(' '.join(s.animal for s in plan_cohorts(c, 'test') if s.cohort == 'sex'))"],
                           cwd=test_preset_clone, capture_output=True, text=True, check=True).stdout.split()
    targets = [f"results/train/sex/loao/{animal}/cnn.metrics.json" for animal in sheet]
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--profile", "profiles/slurm", "--config", "preset=test",
                           "--slurm-logdir", str(slurm.dir / "joblogs"), *targets],
                          cwd=test_preset_clone, env=dict(slurm.env), capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    jobs = _jobs(slurm)
    completed = [j for j in jobs if j.get("JobState") == "COMPLETED"]
    gpu = [j for j in completed if "gpu" in j.get("TresPerNode", "") + j.get("TresPerJob", "")]
    assert len(completed) == len(jobs), [(j.get("JobName"), j.get("JobState")) for j in jobs]
    # simulate + extract per recording, the cohort's dataset, one CNN per held-out animal
    assert len(completed) == 2 * len(sheet) + 1 + len(sheet)
    assert len(gpu) == len(sheet), "each training fold must reach SLURM as a GPU job"
    for target in targets:
        metrics = json.loads((test_preset_clone / target).read_text())
        assert metrics["task"] == "sex" and metrics["n_test"] > 0
    with capsys.disabled():
        print(f"\nSLURM executed {len(completed)} jobs ({len(gpu)} with a GPU request) for the test preset's sex cohort")
