"""The Snakemake workflow as users run it: lint, dry runs of the presets, bad input, and a real run
of the `test` preset through every rule."""
from __future__ import annotations

import subprocess

import pandas as pd
import pytest
from conftest import SNAKEMAKE, planned_animals
from conftest import job_counts as _job_counts


def _run(args, cwd, timeout=600):
    return subprocess.run(SNAKEMAKE + args, cwd=cwd, capture_output=True, text=True, timeout=timeout)


def test_lint(clone):
    proc = _run(["--lint"], clone)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dry_run_default(default_dry_run):
    proc = default_dry_run
    assert proc.returncode == 0, proc.stderr
    planned = planned_animals("default")  # 4 F + 4 M sex, 3 + 3 strain animals
    assert _job_counts(proc.stdout)["simulate_recording"] == sum(planned.values())
    # One CNN job per held-out sex animal; it trains the network and its shuffled-label control.
    sex_loao = [block for block in proc.stdout.split("\nrule train_cnn:")[1:]
                if "task=sex, split=loao" in block.split("\n\n")[0]]
    assert len(sex_loao) == planned["sex"]
    for block in sex_loao:
        output = block.split("output:")[1].splitlines()[0]
        assert "/cnn.metrics.json" in output and "/cnn_shuffled.metrics.json" in output, output


def test_dry_run_paper(paper_dry_run):
    proc = paper_dry_run
    assert proc.returncode == 0, proc.stderr
    assert _job_counts(proc.stdout)["simulate_recording"] == sum(planned_animals("paper").values())  # 17 + 12


@pytest.mark.parametrize("sheet,expected", [
    ("recording\tpath\tanimal\n", "missing column(s) sex, strain, cohort"),
    ("recording\tpath\tanimal\tsex\tstrain\tcohort\nr1\tmissing.wav\tA\tF\tWT\tsex\n", "WAV file not found: missing.wav"),
    ("recording\tpath\tanimal\tsex\tstrain\tcohort\nr1\tdata/amvoc-dev/clip1/recording.wav\tA\tF\t\tsex\n"
     "r1\tdata/amvoc-dev/clip2/recording.wav\tB\tM\t\tsex\n", "duplicate recording id(s): r1"),
])
def test_bad_sample_sheet_stops_with_one_line(clone, sheet, expected):
    path = clone / "bad_samples.tsv"
    path.write_text(sheet)
    proc = _run(["-n", "--config", f"samples={path.name}"], clone)
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("usvflow:")]
    assert len(lines) == 1 and expected in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_user_sample_sheet_plans_real_recordings(clone):
    path = clone / "my_samples.tsv"
    path.write_text("recording\tpath\tanimal\tsex\tstrain\tcohort\n"
                    "c1\tdata/amvoc-dev/clip1/recording.wav\tA\t\t\tdev\n")
    proc = _run(["-n", "--config", f"samples={path.name}"], clone)
    assert proc.returncode == 0, proc.stderr
    assert "simulate_recording" not in _job_counts(proc.stdout)


@pytest.mark.slow
def test_test_preset_runs_every_rule(test_preset_clone):
    clone = test_preset_clone  # shared with test_slurm, whose sex-cohort jobs are then done already
    proc = _run(["--cores", "2", "--config", "preset=test"], clone, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sheet = pd.read_csv(clone / "results/simulated/samples.tsv", sep="\t")
    assert len(sheet) == 6 and (clone / "figures/simulator_vs_real.pdf").stat().st_size > 10_000
    table = pd.read_csv(clone / "results/stats/simulator_vs_real.csv")
    assert set(table.measure) == {"duration_ms", "mean_frequency_khz", "bandwidth_khz", "ici_ms", "snr_db"}
    assert table.ks_distance.between(0, 1).all()
    annotated = sum(len(pd.read_csv(f, header=None)) for f in sorted((clone / "data/amvoc-dev").glob("*/truth.csv")))
    assert table.set_index("measure").loc["duration_ms", "n_real"] == annotated  # every annotated real call
    # The sex claims of Fig 3 are computed; on 4 animals of 12 s the CNN cannot be significant, but the
    # controls must stay near chance and the check must run on the real output. "Near" is not a binomial bound
    # on the test calls here (conftest.chance_halfwidth, used for the random-split control in test_train): a
    # leave-one-animal-out control scores one model on one animal's calls, so a model's bias towards one label
    # moves all of them together (measured: single default-preset folds of svm_shuffled at 28-29 % on ~120
    # calls, where a binomial bound at alpha 0.001 allows 50 ± 15 %). The independent unit is the animal, and
    # a binomial bound over 4 animals allows anything; the 25-point tolerance is a regression threshold that
    # catches a label leak (controls near 100 %) or a broken control (near 0 %), nothing subtler.
    from usvflow.report.claims import check_sex_claims

    claims = {c.name: c for c in check_sex_claims(clone / "results/stats/fig3.json", chance_tolerance=0.25)}
    assert len(claims) == 5
    for name in ("CNN shuffled at chance", "ridge shuffled at chance", "SVM shuffled at chance"):
        assert claims[name].holds, claims[name].detail
    assert "over 4 animals" in claims["CNN above chance across held-out animals"].detail
    # Attributing recordings: the per-recording curves, the sex bundle (it loads without Snakemake), the pairs row.
    from usvflow.classify.bundle import load_bundle

    agg = pd.read_csv(clone / "figures/aggregation.csv", dtype={"n_calls": str})
    assert {"cnn", "ridge", "svm", "dnn9"} <= set(agg.loc[agg.task == "sex", "model"])
    assert load_bundle(clone / "results/bundles/sex.pt")["classes"] == ["F", "M"]
    assert "mixed F + M pairs" in (clone / "figures/summary.md").read_text()
    # A second run has nothing to do: outputs are complete and deterministic inputs unchanged.
    again = _run(["-n", "--cores", "2", "--config", "preset=test"], clone)
    assert "Nothing to be done" in again.stdout + again.stderr
    # Every rule gets only the settings it reads, so an edit reruns only what it touches.
    # A new 9-feature DNN: its 4 sex folds retrain (not the CNNs, not the semi-convolutional DNN), and what
    # reads them is redrawn.
    jobs = _rerun_after(clone, {"train": {"presets": {"test": {"dnn9": {"hidden": [12, 8, 8]}}}}})
    assert jobs.pop("train_feature_dnn") == 4, jobs
    assert jobs.pop("aggregation_model") == 1, jobs  # its per-recording curve (the bundles do not use it)
    assert set(jobs) == {"fig4", "network_tables", "plot_aggregation", "summary", "all"}, jobs
    # A new segmentation learning rate: the four models retrain (each seed) and are re-evaluated; crops and refinement stay.
    jobs = _rerun_after(clone, {"segment": {"test": {"lr": 0.002}}})
    assert jobs.pop("segment_train") == 8, jobs  # 4 models x 2 seeds
    assert "segment_dataset" not in jobs and "segment_refine" not in jobs, jobs
    assert set(jobs) <= {"segment_evaluate", "segment_features", "plot_squeakout_fig6", "summary", "all"}, jobs


def _rerun_after(clone, overlay: dict) -> dict[str, int]:
    """The jobs a dry run plans after ``overlay`` is merged into the test preset's config."""
    import yaml

    path = clone / "changed.yaml"
    path.write_text(yaml.safe_dump(overlay))
    proc = _run(["-n", "--cores", "2", "--config", "preset=test", "--configfile", str(path)], clone)
    assert proc.returncode == 0, proc.stderr
    jobs = _job_counts(proc.stdout)
    jobs.pop("total", None)
    return jobs


def test_dry_run_without_embed_block_uses_defaults(planning_clone, default_dry_run, tmp_path):
    """Removing `embed:` and `network:` from config.yaml plans the same jobs with the schema's defaults."""
    import shutil

    import yaml

    copy = tmp_path / "clone"
    shutil.copytree(planning_clone, copy, ignore=shutil.ignore_patterns(".snakemake", "results", "logs", "figures"))
    full = default_dry_run
    cfg = yaml.safe_load((copy / "config.yaml").read_text())
    del cfg["embed"], cfg["network"]
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = _run(["-n", "--cores", "2"], copy)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert _job_counts(proc.stdout) == _job_counts(full.stdout)
