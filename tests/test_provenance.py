"""Provenance: the record of commit, resolved config, sample sheet, packages and training device that
figures/summary.md, the report and results/provenance.json carry, and `usvflow --version`."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, SNAKEMAKE, WORKFLOW_FILES, job_counts

from usvflow.cli import main
from usvflow.config import validate_config
from usvflow.report import provenance

SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def _repo(path):
    """A git repository at ``path`` with every file there committed."""
    _git(path, "init", "-q")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@t", "add", "-A")
    _git(path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "initial")
    return _git(path, "rev-parse", "HEAD").strip()


def test_config_hash_is_of_the_resolved_config(config):
    """A config that spells out the schema's defaults hashes like one that leaves them out; key order does
    not count; any changed value does."""
    full = copy.deepcopy(config)
    validate_config(full, SCHEMA)
    trimmed = copy.deepcopy(config)
    del trimmed["embed"]
    validate_config(trimmed, SCHEMA)
    assert provenance.config_sha256(trimmed) == provenance.config_sha256(full)
    reordered = dict(reversed(list(full.items())))
    assert provenance.config_sha256(reordered) == provenance.config_sha256(full)
    changed = copy.deepcopy(full)
    changed["embed"]["perplexity"] += 1
    assert provenance.config_sha256(changed) != provenance.config_sha256(full)
    # the record the workflow adds to config for the report is not part of the configuration
    stamped = {**full, provenance.CONFIG_KEY: {"short": "x"}}
    assert provenance.config_sha256(stamped) == provenance.config_sha256(full)


def test_git_state_clean_dirty_and_outside_a_checkout(tmp_path):
    (tmp_path / "Snakefile").write_text("rule a:\n")
    (tmp_path / "README").write_text("one\n")
    assert provenance.git_state(tmp_path / "Snakefile") == {
        "commit": None, "dirty": None, "diff_sha256": None, "note": "not a git checkout"}
    head = _repo(tmp_path)
    clean = provenance.git_state(tmp_path / "Snakefile")
    assert clean == {"commit": head, "dirty": False, "diff_sha256": None, "note": ""}
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "new.txt").write_text("untracked files do not make the tree dirty\n")
    assert provenance.git_state(tmp_path / "Snakefile") == clean
    (tmp_path / "README").write_text("two\n")
    dirty = provenance.git_state(tmp_path / "Snakefile")
    assert dirty["commit"] == head and dirty["dirty"] is True and len(dirty["diff_sha256"]) == 64
    (tmp_path / "README").write_text("three\n")
    assert provenance.git_state(tmp_path / "Snakefile")["diff_sha256"] != dirty["diff_sha256"]
    assert provenance.git_text(dirty).startswith(f"commit {head[:12]} (dirty, diff ")
    # a file git does not track (an installed copy inside a checkout) has no commit
    assert provenance.git_state(tmp_path / "results" / "new.txt")["note"] == "new.txt is not tracked by git"


def test_package_versions_come_from_metadata_without_importing():
    """Planning must stay torch- and scikit-learn-free: the versions are read, the packages not imported."""
    code = textwrap.dedent("""
        import sys
        from usvflow.report.provenance import package_versions
        v = package_versions()
        heavy = [m for m in ("torch", "sklearn", "scipy", "openTSNE") if m in sys.modules]
        print(heavy, v["torch"], v["scikit-learn"], v["usvflow"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    import sklearn
    import torch

    from usvflow import __version__
    assert out.split() == ["[]", torch.__version__, sklearn.__version__, __version__]
    assert provenance.package_versions(["no-such-package-xyz"])["no-such-package-xyz"] == "not installed"


def test_training_devices_from_metrics(tmp_path):
    files = []
    for i, device in enumerate(["cpu", "cuda", "cpu", None]):
        p = tmp_path / f"{i}.metrics.json"
        p.write_text(json.dumps({"accuracy": 0.5} if device is None else {"accuracy": 0.5, "device": device}))
        files.append(p)
    assert provenance.training_devices(files) == {"cpu": 2, "cuda": 1}
    assert provenance.devices_text({"cpu": 2, "cuda": 1}) == \
        "cpu (2 network training runs), cuda (1 network training run)"
    assert provenance.devices_text({}) == "no network was trained"


def test_record_and_markdown_have_no_time_or_host(tmp_path, config):
    (tmp_path / "Snakefile").write_text("x\n")
    sheet = tmp_path / "samples.csv"
    sheet.write_text("recording,path\n")
    cfg = copy.deepcopy(config)
    validate_config(cfg, SCHEMA)
    record = provenance.collect(cfg, tmp_path / "Snakefile", sheet=sheet)
    assert record == provenance.collect(cfg, tmp_path / "Snakefile", sheet=sheet)  # deterministic
    assert record["sample_sheet"]["sha256"] == provenance.sha256_text("recording,path\n")
    assert record["short"] == f"usvflow {record['usvflow']}, not a git checkout, config {record['config_sha256'][:12]}"
    text = provenance.render_markdown({**record, "training_devices": {"cpu": 3}})
    import re
    import socket
    assert socket.gethostname() not in text
    assert not re.search(r"\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}", text), text  # no date, no time of day
    for expected in ("## Provenance", record["config_sha256"][:12], "numpy ", "torch ", "scikit-learn ", "openTSNE ",
                     "snakemake ", "usvflow ", "cpu (3 network training runs)", "not a git checkout",
                     record["sample_sheet"]["sha256"][:12]):
        assert expected in text, expected


def test_simulated_sheet_hash_equals_the_written_file(tmp_path):
    text = "recording\tpath\nr1\tr1.wav\n"
    (tmp_path / "samples.tsv").write_text(text)
    record = provenance.collect({}, tmp_path / "x", sheet_text=text, sheet_label="simulated")
    assert record["sample_sheet"] == {"source": "simulated", "sha256": provenance.sha256_file(tmp_path / "samples.tsv")}


def test_version_prints_commit_and_packages(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    out = capsys.readouterr().out.splitlines()
    from usvflow import __version__
    assert out[0] == f"usvflow {__version__}"
    git = provenance.git_state(ROOT / "src" / "usvflow" / "__init__.py")
    assert out[1] == f"git: {provenance.git_text(git)}"
    if git["commit"]:  # a checkout (CI, developers): the commit is printed
        assert git["commit"][:12] in out[1]
    names = [line.split()[0] for line in out[2:]]
    assert names == ["Python", "numpy", "scipy", "pandas", "scikit-learn", "torch", "openTSNE", "snakemake"]


def test_version_outside_a_checkout_says_so(tmp_path):
    """An installed copy of the package (not tracked by git) prints no commit."""
    pkg = tmp_path / "usvflow"
    shutil.copytree(ROOT / "src" / "usvflow", pkg, ignore=shutil.ignore_patterns("__pycache__"))
    out = subprocess.run([sys.executable, "-c", "from usvflow.report.provenance import version_text; "
                          "print(version_text())"], cwd=tmp_path, capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)}).stdout
    assert out.splitlines()[1] == "git: not a git checkout"


# ------------------------------------------------------------------------------------------ in the workflow


@pytest.fixture(scope="module")
def repo_clone(tmp_path_factory):
    """The workflow files in a fresh git repository (one commit), as a lab's clone."""
    dest = tmp_path_factory.mktemp("repo")
    for name in WORKFLOW_FILES + ["README.md"]:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(src, dest / name)
    (dest / ".gitignore").write_text("results/\nlogs/\nfigures/\n.snakemake/\nbenchmarks/\nreport.html\n")
    _repo(dest)
    return dest


def _snakemake(args, cwd, timeout=1500):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def _commit_readme(cwd, text):
    (cwd / "README.md").write_text(text)
    _git(cwd, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "docs")
    return _git(cwd, "rev-parse", "HEAD").strip()


@pytest.mark.slow
def test_report_captions_carry_the_short_form(repo_clone):
    """A cheap target (the simulated cohort against the real clips) and its report: the caption ends with
    the short form, the report's description gives the full record; a new commit reruns nothing there."""
    target = ["--config", "preset=test", "--", "figures/simulator_vs_real.pdf", "results/simulated/samples.tsv"]
    proc = _snakemake(["--cores", "2", *target], repo_clone)
    assert proc.returncode == 0, proc.stderr[-3000:]
    head = _git(repo_clone, "rev-parse", "HEAD").strip()
    report = repo_clone / "report.html"
    proc = _snakemake(["--report", str(report), *target], repo_clone)
    assert proc.returncode == 0, proc.stderr[-3000:]
    html = report.read_text()
    assert "Made by usvflow" in html and f"commit {head[:12]} (clean), config " in html
    assert head in html and "numpy " in html and "snakemake " in html
    # the simulated sheet's hash is that of the sheet the workflow wrote
    assert provenance.sha256_file(repo_clone / "results/simulated/samples.tsv") in html
    _commit_readme(repo_clone, "changed\n")
    proc = _snakemake(["-n", "--cores", "2", *target], repo_clone)
    assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout


def _summary_inputs(cwd):
    """The summary job's declared inputs, from a dry run of the test preset."""
    proc = _snakemake(["-n", "--config", "preset=test", "--", "figures/summary.md"], cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    block = proc.stdout.split("\nrule summary:\n")[1]
    line = next(ln for ln in block.splitlines() if ln.strip().startswith("input:"))
    return [f.strip() for f in line.split(":", 1)[1].split(",")]


@pytest.mark.slow
def test_summary_states_provenance_and_a_new_commit_reruns_it(repo_clone):
    """The done-when, on the summary rule alone (its inputs written here, so no training runs): the summary
    states commit, config hash, package versions and training device, results/provenance.json the full
    record; a new commit or an uncommitted edit reruns the summary; one commit gives byte-identical files."""
    inputs = _summary_inputs(repo_clone)
    metrics = [f for f in inputs if f.endswith(".metrics.json")]
    stats = [f for f in inputs if f.startswith("results/stats/")]
    assert metrics and stats and len(metrics) + len(stats) == len(inputs), inputs
    for i, f in enumerate(metrics):
        (repo_clone / f).parent.mkdir(parents=True, exist_ok=True)
        (repo_clone / f).write_text(json.dumps({"accuracy": 0.5, "device": "cuda" if i < 2 else "cpu"}))
    for f in stats:
        (repo_clone / f).parent.mkdir(parents=True, exist_ok=True)
        (repo_clone / f).write_text(json.dumps({"figure": f, "dataset": "d", "values": {},
                                                "rows": [{"quantity": "q", "paper": "1", "ours": "2"}]}))
    only_summary = ["--cores", "1", "--allowed-rules", "summary", "--config", "preset=test", "--", "figures/summary.md"]

    def run():
        proc = _snakemake(only_summary, repo_clone)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return (repo_clone / "figures/summary.md").read_text()

    def planned():
        return job_counts(_snakemake(["-n", *only_summary], repo_clone).stdout).get("summary", 0)

    summary = run()
    head = _git(repo_clone, "rev-parse", "HEAD").strip()
    record = json.loads((repo_clone / "results/provenance.json").read_text())
    assert record["git"] == {"commit": head, "dirty": False, "diff_sha256": None, "note": ""}
    assert record["training_devices"] == {"cpu": len(metrics) - 2, "cuda": 2}
    packages = record["packages"]
    for expected in (f"commit {head[:12]} (clean)", f"sha256 {record['config_sha256'][:12]}",
                     f"numpy {packages['numpy']}", f"torch {packages['torch']}",
                     f"scikit-learn {packages['scikit-learn']}", f"openTSNE {packages['openTSNE']}",
                     f"snakemake {packages['snakemake']}", f"usvflow {packages['usvflow']}",
                     f"cpu ({len(metrics) - 2} network training runs), cuda (2 network training runs)",
                     "| q | 1 | 2 |"):
        assert expected in summary, expected
    assert planned() == 0
    # Determinism: the same commit again writes the same bytes.
    (repo_clone / "figures/summary.md").unlink()
    assert run() == summary
    # An uncommitted edit of a tracked file: the summary reruns and says so.
    (repo_clone / "README.md").write_text("edited\n")
    assert planned() == 1
    assert f"commit {head[:12]} (dirty, diff " in run()
    # Committed: the summary reruns again and states the new commit.
    new = _commit_readme(repo_clone, "edited\n")
    assert planned() == 1
    assert f"commit {new[:12]} (clean)" in run()
