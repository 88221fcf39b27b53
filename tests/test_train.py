"""Training and cross-validation (usvflow.classify): labels, folds, augmentation, device, determinism, and that a
CNN learns a learnable task while its shuffled-label control stays at chance."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from usvflow.classify import folds as tf
from usvflow.classify import inputs as ti
from usvflow.classify import tasks as tk
from usvflow.classify import training as tt
from usvflow.features.columns import FEATURES_24
from usvflow.report import tables as rt

torch.set_num_threads(1)


# --------------------------------------------------------------------------------------------- labels, folds


def test_task_labels_follow_the_paper():
    t = pd.DataFrame({"sex": ["M", "F", "m", ""], "strain": ["WT", "cortexless", "WT", "cortexless"],
                      "animal": ["a", "b", "a", "c"], "breaks": [0, 1, 5, np.nan], "peaks": [3, 2, 0, 1],
                      "direction": [-1, 0, 1, np.nan], "broadband": [0.0, 1.0, 0.7, 0.2]})
    y, c = tk.task_labels(t, "sex")
    assert c == ["F", "M"] and y.tolist() == [1, 0, 1, -1]
    y, c = tk.task_labels(t, "strain")
    assert c == ["WT", "cortexless"] and y.tolist() == [0, 1, 0, 1]
    y, c = tk.task_labels(t, "breaks")
    assert c == ["0", "1", "2", "3+"] and y.tolist() == [0, 1, 3, -1]
    assert tk.task_labels(t, "has_break")[0].tolist() == [0, 1, 1, -1]
    assert tk.task_labels(t, "direction")[0].tolist() == [0, 1, 2, -1]
    assert tk.task_labels(t, "broadband")[0].tolist() == [0, 1, 1, 0]
    y, c = tk.task_labels(t, "individual")
    assert c == ["a", "b", "c"] and y.tolist() == [0, 1, 0, 2]


def test_folds_partition_the_calls():
    uids = [f"r#{i}" for i in range(103)]
    fold = tk.random_fold_of(uids, seed=3)
    assert np.array_equal(fold, tk.random_fold_of(uids, seed=3))
    counts = np.bincount(fold, minlength=10)
    assert counts.sum() == 103 and counts.max() - counts.min() <= 1
    table = pd.DataFrame({"call_uid": uids, "animal": np.repeat(["A", "B", "C"], [40, 40, 23])})
    tests = [tk.split_indices(table, "random10", f"k{k}", 3)[1] for k in range(10)]
    assert np.array_equal(np.sort(np.concatenate(tests)), np.arange(103))
    train, test = tk.split_indices(table, "loao", "C", 3)
    assert set(table["animal"].iloc[test]) == {"C"} and "C" not in set(table["animal"].iloc[train])
    assert len(train) + len(test) == 103


def test_class_weights_and_balanced_subsample():
    y = np.array([0] * 30 + [1] * 10)
    w = tk.class_weights(y, 3)
    assert w[2] == 0 and w[1] == pytest.approx(3 * w[0])
    assert (w[y]).mean() == pytest.approx(1.0)
    tempered = tk.class_weights(y, 3, power=0.5)  # square root of inverse frequency: ratio sqrt(3)
    assert tempered[1] == pytest.approx(np.sqrt(3) * tempered[0]) and (tempered[y]).mean() == pytest.approx(1.0)
    assert np.allclose(tk.class_weights(y, 3, power=0.0)[:2], 1.0)
    keep = tk.balanced_subsample(y, np.random.default_rng(0))
    assert np.bincount(y[keep]).tolist() == [10, 10]


def test_plan_follows_the_sample_sheet():
    samples = pd.DataFrame({"cohort": ["sex"] * 4 + ["strain"] * 2, "animal": ["F1", "F2", "M1", "M2", "W", "C"],
                            "sex": ["F", "F", "M", "M", "M", "M"], "strain": ["B6"] * 4 + ["WT", "cortexless"]})
    jobs = tk.plan_folds(samples, {"random_folds": 2}, simulated=True)
    sex_loao = {f for t, s, f, m in jobs if (t, s, m) == ("sex", "loao", "cnn")}
    assert sex_loao == {"F1", "F2", "M1", "M2"}
    assert {f for t, s, f, m in jobs if (t, s, m) == ("strain", "loao", "cnn")} == {"W", "C"}
    assert {f for t, s, f, m in jobs if (t, s) == ("individual", "random10")} == {"k0", "k1"}
    # Real data without annotations: no property tasks (nothing to learn them from).
    assert not [j for j in tk.plan_folds(samples, {}, simulated=False) if j[0] in tk.PROPERTY_TASKS]


# --------------------------------------------------------------------------------------------- augmentation


def test_clip_start_end_bounds():
    gen = torch.Generator().manual_seed(0)
    n, width = 200, 100
    lengths = torch.randint(20, 101, (n,))
    x = torch.zeros(n, 1, 5, width)
    cols = torch.arange(width).float() + 1  # column j holds j + 1, so shifts are visible
    for i, L in enumerate(lengths):
        x[i, :, :, :L] = cols[:L]
    out = ti.clip_start_end(x, lengths, 0.1, gen)
    for i, L in enumerate(lengths.tolist()):
        row = out[i, 0, 0]
        new_len = int((row > 0).sum())
        start_cut = int(row[0]) - 1
        end_cut = L - start_cut - new_len
        assert 0 <= start_cut <= 0.1 * L and 0 <= end_cut <= 0.1 * L
        assert torch.equal(row[:new_len], cols[start_cut:start_cut + new_len])  # content kept, left-aligned
        assert torch.all(row[new_len:] == 0)


def test_gain_and_noise_bounds():
    gen = torch.Generator().manual_seed(1)
    x = torch.full((500, 1, 10, 10), 0.5)
    g = ti.gain_and_noise(x, (0.5, 1.5), (0.0, 0.0), gen)
    gains = g.flatten(1).mean(1) / 0.5
    assert float(gains.min()) >= 0.5 - 1e-6 and float(gains.max()) <= 1.5 + 1e-6
    assert float(gains.max() - gains.min()) > 0.8  # the whole range is used
    noisy = ti.gain_and_noise(x, None, (0.0, 0.01), gen)
    var = (noisy - 0.5).flatten(1).var(1)
    assert float(var.max()) < 0.01 * 1.6 and float(var.min()) < 0.002
    assert abs(float(noisy.mean()) - 0.5) < 0.01  # zero-mean noise: no brightness shift
    assert float(ti.gain_and_noise(x, (0.5, 1.5), (0.0, 0.01), gen, clip_noise=True).max()) <= 1.0


# --------------------------------------------------------------------------------------------- device, determinism


def test_device_choice(monkeypatch):
    monkeypatch.delenv("USVFLOW_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert tt.pick_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert tt.pick_device().type == "cuda"
    monkeypatch.setenv("USVFLOW_DEVICE", "cpu")
    assert tt.pick_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        tt.pick_device("cuda")


def _toy_cohort(n_animals: int = 6, per_animal: int = 60, seed: int = 0) -> tf.FoldData:
    """Calls whose class sets the direction of a frequency sweep (M up, F down: learnable by local filters
    wherever the call sits), with per-animal frequency offsets, random lengths and background noise."""
    rng = np.random.default_rng(seed)
    rows, images = [], []
    for a in range(n_animals):
        sex = "M" if a % 2 else "F"
        base = 50 + rng.integers(-10, 11)
        for i in range(per_animal):
            img = (rng.random((100, 100)) * 40).astype(np.uint8)
            length = int(rng.integers(30, 90))
            img[:, length:] = 0
            start = base + int(rng.integers(-8, 9))
            slope = (1 if sex == "M" else -1) * rng.uniform(0.3, 0.5)
            for t in range(length):
                f = int(np.clip(start + slope * (t - length / 2), 2, 97))
                img[f - 2:f + 2, t] = 230
            images.append(img)
            rows.append({"call_uid": f"A{a}#{i}", "animal": f"A{a}", "sex": sex, "strain": "B6", "breaks": 0})
    return tf.FoldData(table=pd.DataFrame(rows), images=np.stack(images))


SETTINGS = {
    "seed": 11, "curve_every": 5, "batch_size": 32,
    "cnn": {"input_size": 25, "channels": [4, 4, 8, 8, 8, 8], "strides": [1, 1, 2, 1, 2, 1], "fc": [16, 8],
            "dropout": 0.2, "global_pool": True},
    "dnn9": {"hidden": [16, 8, 8], "dropout": 0.1},
    "semiconv": {"channels": [4, 4, 4, 4, 4], "fc": [8, 8], "dropout": 0.1},
    "protocols": {"spectrogram": [{"epochs": 5, "lr": 3e-3, "dropout": 0.2}, {"epochs": 2, "lr": 1e-3, "dropout": 0.2}],
                  "dnn9": [{"epochs": 15, "lr": 3e-3, "dropout": 0.1}],
                  "semiconv": [{"epochs": 6, "lr": 3e-3, "dropout": 0.1}]},
}


@pytest.fixture(scope="module")
def toy():
    return _toy_cohort()


def test_cnn_learns_and_shuffled_control_stays_at_chance(toy):
    accs, shuffled = [], []
    for fold in ["A0", "A1"]:
        m, pred, curve, _ = tf.run_fold("sex", "loao", fold, "cnn", toy, SETTINGS, device=torch.device("cpu"), log=None)
        accs.append(m["accuracy"])
        assert m["n_test"] == 60 and m["test_animals"] == [fold] and m["chance"] == 0.5
        assert set(pred.columns) >= {"call_uid", "y_true", "y_pred", "score"}
        assert {"iteration", "test_accuracy", "weight_change"} <= set(curve.columns) and len(curve) > 3
        assert curve["weight_change"].gt(0).all()
    for fold in ["k0", "k1"]:
        m, *_ = tf.run_fold("sex", "random10", fold, "cnn_shuffled", toy, SETTINGS, device=torch.device("cpu"), log=None)
        shuffled.append(m["balanced_accuracy"])
    assert np.mean(accs) > 0.8 and min(accs) > 0.7, accs  # chance 0.5
    assert abs(np.mean(shuffled) - 0.5) < 0.2, shuffled


def test_loao_shuffled_control_pools_its_permutations(toy):
    settings = {**SETTINGS, "shuffle_repeats": 2}
    m, pred, curve, _ = tf.run_fold("sex", "loao", "A1", "cnn_shuffled", toy, settings, device=torch.device("cpu"), log=None)
    assert m["replicates"] == 2 and len(m["replicate_accuracies"]) == 2 and m["n_test"] == 60
    assert len(pred) == 120 and pred.groupby("replicate").size().tolist() == [60, 60]
    assert m["accuracy"] == pytest.approx(np.mean(m["replicate_accuracies"]))
    # Each replicate trains on its own permutation, so their test scores differ.
    scores = [g["score"].to_numpy() for _, g in pred.groupby("replicate")]
    assert not np.allclose(scores[0], scores[1])
    assert curve["iteration"].is_monotonic_increasing  # the first replicate's curve, not a concatenation
    # Random splits test both classes in every fold: one permutation there, as before.
    m2, pred2, *_ = tf.run_fold("sex", "random10", "k0", "cnn_shuffled", toy, settings, device=torch.device("cpu"), log=None)
    assert "replicates" not in m2 and "replicate" not in pred2.columns


def test_training_is_deterministic(toy):
    runs = [tf.run_fold("sex", "random10", "k3", "cnn", toy, SETTINGS, device=torch.device("cpu"), log=None)
            for _ in range(2)]
    assert np.array_equal(runs[0][1]["score"].to_numpy(), runs[1][1]["score"].to_numpy())
    assert runs[0][2]["test_accuracy"].equals(runs[1][2]["test_accuracy"])


def test_feature_networks_run_on_feature_shaped_inputs(toy):
    rng = np.random.default_rng(2)
    n = len(toy.table)
    y = (toy.table["sex"] == "M").to_numpy(float)
    feats = pd.DataFrame(rng.normal(size=(n, len(FEATURES_24))), columns=FEATURES_24)
    feats["duration_s"] += 3.0 * y  # one informative feature
    feats.insert(0, "call_uid", toy.table["call_uid"])
    ff = np.where(np.arange(100) < 50, 60000.0 + 10000 * y[:, None], 0.0)
    data = tf.FoldData(table=toy.table, features=feats,
                       vectors={"ff_line": ff, "time_marginal": rng.random((n, 100)),
                                "spectral_marginal": rng.random((n, 233))})
    for model in ["dnn9", "semiconv"]:
        m, pred, _, net = tf.run_fold("sex", "loao", "A1", model, data, SETTINGS, device=torch.device("cpu"), log=None)
        assert m["accuracy"] > 0.7 and len(pred) == 60, (model, m["accuracy"])


def test_network_tables_describe_the_configured_networks(config):
    tables = rt.network_tables(tk.train_settings(config))
    assert sorted(tables) == list(range(1, 8))
    assert (tables[1]["layer"] == "Conv2d").sum() == 6 and (tables[1]["layer"] == "Linear").sum() == 3
    assert (tables[2]["layer"] == "Linear").sum() == 4
    assert (tables[3]["layer"] == "Conv1d").sum() == 15
    assert len(tables[4]) == 3 and len(tables[5]) == 2 and len(tables[6]) == 2 and len(tables[7]) == 4


# --------------------------------------------------------------------------------------------- workflow plan


def test_paper_preset_plans_one_fold_per_animal(repo_root, tmp_path):
    for name in ["Snakefile", "config.yaml", "rules", "scripts", "schemas", "envs", "profiles", "report", "src", "data"]:
        src = repo_root / name
        if src.is_dir():
            shutil.copytree(src, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        elif src.exists():
            shutil.copy2(src, tmp_path / name)
    targets = ["figures/fig3.pdf", "figures/fig5.pdf"]
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--config", "preset=paper",
                           "--", *targets], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    folds: dict[str, set] = {"sex": set(), "strain": set()}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("wildcards:") and "split=loao" in line and "model=cnn," not in line + ",":
            continue
        if line.startswith("wildcards:") and "split=loao" in line and line.endswith("model=cnn"):
            kv = dict(p.strip().split("=") for p in line.removeprefix("wildcards:").split(","))
            if kv["task"] in folds:
                folds[kv["task"]].add(kv["fold"])
    assert len(folds["sex"]) == 17 and len(folds["strain"]) == 12, folds


def test_fold_with_one_training_class_is_skipped_not_fatal(toy):
    one_class = tf.FoldData(table=toy.table[toy.table["animal"].isin(["A0", "A1", "A2"])].reset_index(drop=True),
                            images=toy.images[:180])
    one_class.table.loc[one_class.table["animal"] == "A1", "sex"] = "F"  # training animals A0, A2 are F too
    with pytest.raises(tf.FoldSkipped, match="one class only"):
        tf.run_fold("sex", "loao", "A1", "cnn", one_class, SETTINGS, device=torch.device("cpu"), log=None)
    m = tf.skipped_metrics("sex", "loao", "A1", "cnn", "why", ["F", "M"])
    assert m["accuracy"] is None and m["skipped"] == "why" and m["chance"] == 0.5


def test_image_gain_is_a_db_shift_of_the_call():
    aug = ti.Augmentation(clip_fraction=0.0, gain=(0.5, 1.5), noise_var=(0.0, 0.0), image_dynamic_range_db=60.0)
    x = torch.full((300, 1, 4, 10), 0.5)
    x[..., 7:] = 0  # silent padding after the call
    out = aug.images(x, torch.full((300,), 7), torch.Generator().manual_seed(2))
    shift = out[..., :7].flatten(1).mean(1) - 0.5
    lo, hi = 10 * np.log10(0.5) / 60, 10 * np.log10(1.5) / 60
    assert float(shift.min()) >= lo - 1e-6 and float(shift.max()) <= hi + 1e-6
    assert float(shift.max() - shift.min()) > 0.8 * (hi - lo)
    assert torch.all(out[..., 7:] == 0)
