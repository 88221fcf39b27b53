"""The seed sweep (`snakemake robustness`): one seed's configuration, one seed's headline numbers, the
aggregation over seeds (mean, SD, range, claim pass rates), its figure, and its place in the DAG (its own
target with >= 5 seeds, never part of `all`)."""
from __future__ import annotations

import subprocess

import numpy as np
import pandas as pd
import pytest
from conftest import SNAKEMAKE, job_counts

from usvflow.figures import checks
from usvflow.figures.robustness import plot_robustness, seed_headline
from usvflow.report.robustness import HEADLINES, seed_table, summarise
from usvflow.report.summary import write_stats
from usvflow.workflow.robustness import HEADLINE, seed_command, seed_config, seed_dir

# ------------------------------------------------------------------------------------------- one seed's run


def test_seed_config_changes_the_seed_and_nothing_else(tmp_path):
    config = {"preset": "test", "samples": "my_lab.tsv", "realdata_dir": "data/amvoc-dev",
              "simulation": {"seed": 20200, "sample_rate_hz": 300000}, "train": {"seed": 20205},
              "robustness": {"seeds": [1, 2]}, "_provenance": {"commit": "abc"}}
    out = seed_config(config, 20203, root=tmp_path)
    assert out["simulation"] == {"seed": 20203, "sample_rate_hz": 300000}
    assert out["train"] == {"seed": 20205} and out["preset"] == "test"
    assert out["samples"] == ""  # the sweep redraws the simulated cohort, never a sample sheet
    assert out["realdata_dir"] == str(tmp_path.resolve() / "data" / "amvoc-dev")
    assert "_provenance" not in out and "robustness" not in out
    assert config["simulation"]["seed"] == 20200  # the run's own config is untouched
    assert seed_config({**config, "realdata_dir": "/abs/clips"}, 1)["realdata_dir"] == "/abs/clips"
    cmd = seed_command("python", "/repo/Snakefile", seed_dir(20203), 2)
    assert cmd[cmd.index("--directory") + 1] == "results/robustness/seed_20203"
    assert cmd[cmd.index("--cores") + 1] == "2" and cmd[-1] == HEADLINE


def _metrics(task, model, accs):
    return [{"task": task, "split": "loao", "fold": f"A{i}", "model": model, "accuracy": a, "chance": 0.5,
             "n_test": 100} for i, a in enumerate(accs)]


def test_seed_headline_uses_fig3_keys_and_tests(tmp_path):
    """Eight held-out animals, the CNN above ridge and SVM on every one: the Fig 3 claims read the seed's
    headline file as they read fig3.json, and each model's mean is its own folds' mean."""
    rows = (_metrics("sex", "cnn", [0.70, 0.72, 0.68, 0.75, 0.66, 0.71, 0.73, 0.69])
            + _metrics("sex", "ridge", [0.52] * 8) + _metrics("sex", "svm", [0.55] * 8)
            + _metrics("sex", "cnn_shuffled", [0.50] * 8) + _metrics("sex", "ridge_shuffled", [0.49] * 8)
            + _metrics("sex", "svm_shuffled", [0.51] * 8) + _metrics("sex", "dnn9", [0.6] * 8)
            + _metrics("sex", "ridge_feat9", [0.61] * 8) + _metrics("sex", "svm_feat9", [0.62] * 8)
            + _metrics("strain", "cnn", [0.6, 0.7, 0.8]) + _metrics("strain", "ridge", [0.5] * 3)
            + _metrics("strain", "svm", [0.55] * 3))
    values = seed_headline(pd.DataFrame(rows), {"knn_accuracy_all": 0.58})
    assert values["sex_loao_cnn"]["mean"] == pytest.approx(0.705)
    assert values["strain_loao_cnn"]["mean"] == pytest.approx(0.7) and values["strain_loao_cnn"]["n"] == 3
    assert values["knn_accuracy_all"]["mean"] == 0.58
    assert values["p_cnn_above_chance"] == pytest.approx(1 / 256)  # exact one-sided signed-rank, 8 of 8 above
    assert values["cnn_vs_ridge"]["median_difference"] > 0 and values["cnn_vs_ridge"]["p"] < 0.05
    path = tmp_path / "headline.json"
    write_stats(path, "headline", "test", values, [])
    long = seed_table({7: path})
    claims = long[long["kind"] == "claim"]
    assert len(claims) == 5 and claims["value"].eq(1.0).all(), claims[["quantity", "detail"]]


# ------------------------------------------------------------------------------------------- over seeds


def _headline(tmp_path, seed, cnn, ridge, p, shuffled=0.5):
    """A seed's headline file with a chosen CNN / ridge mean and p-value (others fixed)."""
    values = {h.key: {"mean": 0.55, "n": 8} for h in HEADLINES}
    values.update({"sex_loao_cnn": {"mean": cnn, "n": 8}, "sex_loao_ridge": {"mean": ridge, "n": 8},
                   "sex_loao_svm": {"mean": 0.54, "n": 8}, "sex_loao_cnn_shuffled": {"mean": shuffled, "n": 8},
                   "sex_loao_ridge_shuffled": {"mean": 0.5, "n": 8}, "sex_loao_svm_shuffled": {"mean": 0.5, "n": 8},
                   "p_cnn_above_chance": p,
                   "cnn_vs_ridge": {"p": 0.008, "n": 8, "median_difference": cnn - ridge},
                   "cnn_vs_svm": {"p": 0.008, "n": 8, "median_difference": cnn - 0.54}})
    if seed == 3:
        values["knn_accuracy_all"] = {"mean": None}  # a seed without the number: left out, not counted as 0
    path = tmp_path / f"seed_{seed}.json"
    write_stats(path, "headline", "test", values, [])
    return path


def test_mean_sd_range_and_pass_rates_over_seeds(tmp_path):
    paths = {2: _headline(tmp_path, 2, 0.70, 0.50, 0.004),
             1: _headline(tmp_path, 1, 0.60, 0.52, 0.03, shuffled=0.58),
             3: _headline(tmp_path, 3, 0.65, 0.60, 0.20)}
    long = seed_table(paths)
    assert list(long["seed"].unique()) == [1, 2, 3]  # sorted by seed
    assert len(long) == 3 * (len(HEADLINES) + 5)
    summary = summarise(long).set_index("quantity")
    cnn = summary.loc["sex: CNN on spectrograms"]
    assert cnn["seeds"] == 3 and cnn["mean"] == pytest.approx(65.0)
    assert cnn["sd"] == pytest.approx(5.0)  # n - 1: the population SD would be 4.08
    assert (cnn["min"], cnn["max"]) == (pytest.approx(60.0), pytest.approx(70.0))
    ridge = summary.loc["sex: ridge on spectrograms"]
    assert ridge["mean"] == pytest.approx(54.0) and ridge["sd"] == pytest.approx(np.std([50, 52, 60], ddof=1))
    knn = summary.loc["sex: 1-NN decoding on the t-SNE map (all calls)"]
    assert knn["seeds"] == 2 and knn["mean"] == pytest.approx(55.0)
    # Claims, per seed: above chance holds on seeds 1 and 2 (p < 0.05), not 3; CNN beats ridge and SVM on all
    # three (positive median difference, p = 0.008); the CNN's shuffled control fails on seed 1 (58 %).
    above = summary.loc["CNN above chance across held-out animals"]
    assert above["holds"] == "2/3" and above["pass_rate"] == pytest.approx(2 / 3)
    assert summary.loc["CNN above ridge and SVM on spectrograms", "holds"] == "3/3"
    assert summary.loc["CNN shuffled at chance", "pass_rate"] == pytest.approx(2 / 3)
    assert summary.loc["ridge shuffled at chance", "pass_rate"] == 1.0
    assert np.isnan(summary.loc["CNN above chance across held-out animals", "mean"])


def test_the_figure_passes_the_checks(tmp_path):
    paths = {s: _headline(tmp_path, s, 0.6 + 0.02 * s, 0.5, 0.01) for s in (20201, 20202, 20203, 20204, 20205)}
    long = seed_table(paths)
    fig = plot_robustness(long, summarise(long), "Headline numbers and claims over simulation seeds")
    from usvflow.figures.style import add_data_tag, fit_width

    add_data_tag(fig, "SIMULATED data (usvflow simulator, preset test, seeds 20201-20205); not the papers' mice")
    fit_width(fig)  # as the plotting script's save does: the page written is at most the print width
    assert checks.audit(fig, simulated=True) == []


# ------------------------------------------------------------------------------------------- the DAG


def _dry(args, cwd):
    proc = subprocess.run(SNAKEMAKE + ["-n", "--cores", "2", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return job_counts(proc.stdout), proc.stdout


def test_robustness_is_its_own_target_with_five_seeds(clone):
    counts, out = _dry(["robustness"], clone)
    assert counts["robustness_seed"] >= 5
    assert {"robustness_table", "plot_robustness", "robustness"} <= set(counts)
    seeds = sorted({line.split("seed_")[1].split("/")[0] for line in out.splitlines()
                    if "output: results/robustness/seed_" in line})
    assert len(seeds) == counts["robustness_seed"] and "20200" not in seeds
    # Planning the sweep runs nothing else of the workflow in the sweep's own folder.
    assert "simulate_recording" not in counts and "train_cnn" not in counts
    counts, _ = _dry([], clone)  # `all`
    assert not {"robustness_seed", "robustness_table", "plot_robustness", "robustness",
                "robustness_headline"} & set(counts)
    assert counts["simulate_recording"] > 0
