"""Training and cross-validation (usvflow.classify): labels, folds, augmentation, device, determinism, and that a
CNN learns a learnable task while its shuffled-label control stays at chance."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import chance_halfwidth, planned_animals

from usvflow.classify import folds as tf
from usvflow.classify import inputs as ti
from usvflow.classify import tasks as tk
from usvflow.classify import training as tt
from usvflow.classify.models import build_model as tk_build
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
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert tt.pick_device().type == "cuda"
    assert tt.pick_device("cuda:3") == torch.device("cuda", 3)  # an explicit index is kept
    monkeypatch.setenv("USVFLOW_DEVICE", "cpu")
    assert tt.pick_device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="CUDA"):
        tt.pick_device("cuda")


_CLAIM = """
import os, sys, time
sys.path.insert(0, {src!r})
import torch
torch.cuda.is_available = lambda: True
torch.cuda.device_count = lambda: 2
from usvflow.classify.training import pick_device
print(pick_device(), pick_device(), flush=True)  # the second call keeps the first call's slot
while not os.path.exists({stop!r}):  # hold the slot until the test has seen every job's device
    time.sleep(0.05)
"""


def test_parallel_jobs_spread_over_the_gpus(tmp_path, monkeypatch, repo_root):
    """Jobs running at once take free slots in turn (device = slot mod device count); a finished job's slot is
    taken again by the next; CUDA_VISIBLE_DEVICES narrows what torch counts, so a SLURM job given one GPU
    uses it (device_count 1 → no slot needed)."""
    env = {**os.environ, "USVFLOW_GPU_SLOT_DIR": str(tmp_path / "slots")}
    env.pop("USVFLOW_DEVICE", None)
    stop = tmp_path / "stop"
    code = _CLAIM.format(src=str(repo_root / "src"), stop=str(stop))
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(3)]
    devices = [p.stdout.readline().split() for p in procs]
    stop.touch()
    for p in procs:
        p.wait(timeout=60)
    assert all(d[0] == d[1] for d in devices), devices
    assert sorted(d[0] for d in devices) == ["cuda:0", "cuda:0", "cuda:1"], devices
    # All three have exited: their slots are free again, so the next job starts at slot 0.
    late = subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=60)
    assert late.stdout.split()[0] == "cuda:0", late.stderr


def test_gpu_slots_let_jobs_share_a_device(tmp_path, repo_root):
    """`--resources gpu=1` with gpu_slots_per_device 2: two gpu=1 jobs run at once (integer resources, so the
    capacity is counted in slots: planning.share_gpus); with 1 slot they run one after another."""
    (tmp_path / "Snakefile").write_text(f"""
import sys
sys.path.insert(0, {str(repo_root / "src")!r})
from usvflow.workflow import planning
planning.share_gpus(workflow, int(config["slots"]))
rule all:
    input: expand("o{{i}}.txt", i=range(4))
rule a:
    output: "o{{i}}.txt"
    resources: gpu=1
    shell: "python -c 'import time; print(time.time())' > {{output}}; sleep 1.5; python -c 'import time; print(time.time())' >> {{output}}"
""")
    for slots, expected in [(2, 2), (1, 1)]:
        for f in tmp_path.glob("o*.txt"):
            f.unlink()
        proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "4", "--resources", "gpu=1",
                               "--config", f"slots={slots}", "-q"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        assert proc.returncode == 0, proc.stderr[-2000:]
        spans = [tuple(map(float, f.read_text().split())) for f in sorted(tmp_path.glob("o*.txt"))]
        most = max(sum(a <= t < b for a, b in spans) for t, _ in spans)
        assert most == expected, (slots, spans)


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


@pytest.fixture()
def toy_fold(toy, fold_cache):
    """A CNN fold of the toy cohort at SETTINGS, trained once for every test that needs it."""
    def get(split: str, fold: str, model: str):
        return fold_cache(("toy", split, fold, model), lambda: tf.run_fold(
            "sex", split, fold, model, toy, SETTINGS, device=torch.device("cpu"), log=None))
    return get


def test_cnn_learns_and_shuffled_control_stays_at_chance(toy, toy_fold):
    """The shuffled control's bound is binomial in its test-set size (:func:`conftest.chance_halfwidth`): two
    random-10 % folds of the toy cohort hold 72 calls, which allows ±19 points at alpha 0.001, about as loose
    as the ±20 typed in before. It catches labels leaking into the control (accuracy near 100 %), not a small
    bias; a tighter bound needs several times more test calls, i.e. more training than a unit test affords."""
    accs, shuffled, n_shuffled = [], [], 0
    n_classes = toy.table["sex"].nunique()
    for fold in ["A0", "A1"]:
        m, pred, curve, _ = toy_fold("loao", fold, "cnn")
        accs.append(m["accuracy"])
        assert m["n_test"] == (toy.table["animal"] == fold).sum() and m["test_animals"] == [fold]
        assert m["chance"] == 1 / n_classes
        assert set(pred.columns) >= {"call_uid", "y_true", "y_pred", "score"}
        assert {"iteration", "test_accuracy", "weight_change"} <= set(curve.columns) and len(curve) > 3
        assert curve["weight_change"].gt(0).all()
    for fold in ["k0", "k1"]:
        m, *_ = toy_fold("random10", fold, "cnn_shuffled")
        shuffled.append(m["balanced_accuracy"])
        n_shuffled += m["n_test"]
    assert n_shuffled == round(0.1 * len(toy.table)) * 2  # each random-10 % fold tests a tenth of the calls
    assert np.mean(accs) > 0.8 and min(accs) > 0.7, accs  # chance 0.5
    assert abs(np.mean(shuffled) - 0.5) <= chance_halfwidth(n_shuffled), (shuffled, n_shuffled)


def test_loao_shuffled_control_pools_its_permutations(toy):
    settings = {**SETTINGS, "shuffle_repeats": 2}
    m, pred, curve, _ = tf.run_fold("sex", "loao", "A1", "cnn_shuffled", toy, settings, device=torch.device("cpu"), log=None)
    n_test = (toy.table["animal"] == "A1").sum()
    assert m["replicates"] == 2 and len(m["replicate_accuracies"]) == 2 and m["n_test"] == n_test
    assert len(pred) == 2 * n_test and pred.groupby("replicate").size().tolist() == [n_test, n_test]
    assert m["accuracy"] == pytest.approx(np.mean(m["replicate_accuracies"]))
    # Each replicate trains on its own permutation, so their test scores differ.
    scores = [g["score"].to_numpy() for _, g in pred.groupby("replicate")]
    assert not np.allclose(scores[0], scores[1])
    assert curve["iteration"].is_monotonic_increasing  # the first replicate's curve, not a concatenation
    # Random splits test both classes in every fold: one permutation there, as before.
    m2, pred2, *_ = tf.run_fold("sex", "random10", "k0", "cnn_shuffled", toy, settings, device=torch.device("cpu"), log=None)
    assert "replicates" not in m2 and "replicate" not in pred2.columns


def test_shuffled_control_pools_permutations_only_where_the_held_out_calls_share_one_label(toy):
    """Sex on a held-out animal: one label, so a lone permutation scores near 0 or 100 % by luck and the
    control pools several. A call property (has_break) varies inside the animal: one permutation suffices."""
    from usvflow.classify.folds import _held_out_share_one_label
    mixed = tf.FoldData(table=toy.table.assign(breaks=np.arange(len(toy.table)) % 2), images=toy.images)
    assert _held_out_share_one_label(toy.table, "sex", "loao", "A1", 11)
    assert not _held_out_share_one_label(mixed.table, "has_break", "loao", "A1", 11)
    assert not _held_out_share_one_label(toy.table, "sex", "random10", "k0", 11)
    settings = {**SETTINGS, "shuffle_repeats": 2,
                "protocols": {**SETTINGS["protocols"], "properties": [{"epochs": 1, "lr": 3e-3, "dropout": 0.2}]}}
    m, pred, *_ = tf.run_fold("has_break", "loao", "A1", "cnn_shuffled", mixed, settings, device=torch.device("cpu"),
                              log=None)
    assert "replicates" not in m and "replicate" not in pred.columns
    assert len(pred) == (mixed.table["animal"] == "A1").sum()


def test_training_is_deterministic(toy, toy_fold):
    """A fold trained again (here: the one an earlier test trained) gives the same scores and curve."""
    runs = [toy_fold("loao", "A1", "cnn"),
            tf.run_fold("sex", "loao", "A1", "cnn", toy, SETTINGS, device=torch.device("cpu"), log=None)]
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


def test_paper_preset_tables_list_the_papers_networks(config, toy, tmp_path):
    """Table 1 of the paper preset: 6 convolutions (256 units first, Fig 3C) + 3 fully connected layers on
    100 x 100 images; Tables 4-7 the Methods' stage counts (3, 2, 2, 4) at batch size 64 with Adam. A table
    built from a trained, saved network equals the one built from the settings the job trained it with."""
    from usvflow.classify.models import save_model

    settings = tk.train_settings({**config, "preset": "paper"})
    tables = rt.network_tables(settings)
    convs = tables[1][tables[1]["layer"] == "Conv2d"]
    assert len(convs) == 6 and convs["units"].iloc[0] == 256 and convs["output_shape"].iloc[0].startswith("256×")
    assert (tables[1]["layer"] == "Linear").sum() == 3 and tables[1]["total_parameters"].iloc[0] > 1e7
    assert [len(tables[i]) for i in (4, 5, 6, 7)] == [3, 2, 2, 4]
    assert all((tables[i]["batch_size"] == 64).all() and tables[i]["optimizer"].str.startswith("Adam").all()
               for i in (4, 5, 6, 7))
    assert sum(tables[4]["epochs"]) * np.ceil(9_400 / 64) > 5_000  # ~6k iterations on the paper's sex folds
    # From a trained network (the test preset's sizes, trained briefly) instead of the settings:
    small = tk.train_settings({**config, "preset": "test"})
    m, _, _, net = tf.run_fold("sex", "loao", "A0", "cnn", toy, {**small, "seed": 3}, device=torch.device("cpu"), log=None)
    save_model(str(tmp_path / "cnn.pt"), net, "cnn")
    from_model = rt.network_tables(small, trained={"cnn": tmp_path / "cnn.pt"})[1]
    from_settings = rt.network_tables(small)[1]
    assert (from_model["source"] == "trained model").all()
    pd.testing.assert_frame_equal(from_model.drop(columns="source"), from_settings.drop(columns="source"))


def test_paper_preset_extracts_the_papers_images(config):
    from usvflow.workflow.planning import detection_settings

    assert detection_settings({**config, "preset": "paper"}, "default")["image_format"] == "paper"
    assert "image_format" not in detection_settings(config, "default")  # the default preset's jobs are unchanged
    custom = {**config, "detection": {**config["detection"], "default": {"image_format": "default"}}, "preset": "paper"}
    assert detection_settings(custom, "default")["image_format"] == "default"  # a method's own setting wins


# --------------------------------------------------------------------------------------------- workflow plan


def test_paper_preset_plans_one_fold_per_animal(paper_dry_run, planning_clone, tmp_path):
    proc = paper_dry_run  # the whole paper plan (conftest), read for the CNN folds of Fig 3 and Fig 5
    folds: dict[str, set] = {"sex": set(), "strain": set()}
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("wildcards:") and "split=loao" in line and "model=cnn," not in line + ",":
            continue
        if line.startswith("wildcards:") and "split=loao" in line and line.endswith("model=cnn"):
            kv = dict(p.strip().split("=") for p in line.removeprefix("wildcards:").split(","))
            if kv["task"] in folds:
                folds[kv["task"]].add(kv["fold"])
    planned = planned_animals("paper")
    assert (len(folds["sex"]), len(folds["strain"])) == (planned["sex"], planned["strain"]), folds
    # On SLURM, with GPU slots configured: every GPU job still asks for one whole GPU; the 9-feature DNN none.
    (tmp_path / "slots.yaml").write_text("train:\n  gpu_slots_per_device: 4\n")
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--profile", "profiles/slurm", "--configfile",
                           "config.yaml", str(tmp_path / "slots.yaml"), "--config", "preset=paper", "--",
                           "figures/fig4.pdf"], cwd=planning_clone, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    gpus: dict[str, set] = {}
    for block in proc.stdout.split("\nrule ")[1:]:
        if block.startswith(("train_cnn:", "train_feature_dnn:")):
            model = block.split("model=")[1].split()[0].strip(",")
            gpus.setdefault(model, set()).add(re.search(r"\bgpu=(\d+)", block).group(1))
    assert gpus == {"cnn": {"1"}, "dnn9": {"0"}, "semiconv": {"1"}}, gpus


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


# --------------------------------------------------------------------------------------------- no host stalls


_READS = ("item", "tolist", "__float__", "__int__", "__bool__", "__index__", "cpu", "numpy", "__array__")


def test_loop_reads_nothing_back_between_curve_records(toy, monkeypatch):
    """The training loop may wait for the device only at a learning-curve record (every ``curve_every``
    iterations) and after the last iteration: every read-back of a tensor to the host (``.item()``,
    ``.tolist()``, ``float()``, ``.cpu()``, ``.numpy()``, ...) is logged with the iteration it happens in,
    and host→device copies of batch indices are counted (one per epoch is allowed, none per batch)."""
    table = toy.table[toy.table["animal"].isin(["A0", "A1", "A2", "A3"])].reset_index(drop=True)
    x, lengths = ti.prepare_images(toy.images[:len(table)], 25)
    y = (table["sex"] == "M").to_numpy(np.int64)
    train_idx, test_idx = np.arange(0, 180), np.arange(180, 240)
    state = {"it": 0, "reads": [], "copies": []}

    def augment(batch, gen):
        state["it"] += 1  # called once per iteration, before its forward pass
        return [ti.Augmentation().images(batch[0], batch[1], gen), batch[1]]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.n_classes = tk_build("cnn", 2, SETTINGS["cnn"]), 2

        def forward(self, xb, *_):
            return self.inner(xb)

    def logged(name, original):
        def wrapper(*args, **kwargs):
            # Adam keeps its step counter in a host tensor by design (torch.optim reads it with .item());
            # that reads no device memory, on a GPU either, so the optimiser's own calls are not counted.
            if "torch/optim/" not in sys._getframe(1).f_code.co_filename:
                state["reads"].append((state["it"], name))
            return original(*args, **kwargs)
        return wrapper

    for name in _READS:
        monkeypatch.setattr(torch.Tensor, name, logged(name, getattr(torch.Tensor, name)))
    def copied(original):
        def wrapper(*args, **kwargs):
            if "torch/optim/" not in sys._getframe(1).f_code.co_filename:  # Adam's host-side step counters
                state["copies"].append(state["it"])
            return original(*args, **kwargs)
        return wrapper

    for name in ("as_tensor", "from_numpy", "tensor"):
        monkeypatch.setattr(torch, name, copied(getattr(torch, name)))
    every, epochs = 4, 5
    res = tt.train_network(Net(), [x, lengths], y, train_idx, test_idx, [ti.Stage(epochs, 1e-3, 0.2)], 2, 7,
                           augment=augment, batch_size=32, curve_every=every, device=torch.device("cpu"))
    iterations = res.iterations
    assert iterations == state["it"] == epochs * 6 and len(res.curve) == iterations // every
    during = [(i, n) for i, n in state["reads"] if 0 < i < iterations]
    assert during, "the records read the curve's numbers back"
    assert all(i % every == 0 for i, _ in during), [r for r in during if r[0] % every]
    # One read per record (the loss, weight change and accuracy come back together).
    assert len(during) == len([i for i in range(1, iterations) if i % every == 0]), during
    per_batch = [i for i in state["copies"] if 0 < i < iterations]
    assert len(per_batch) <= epochs, state["copies"]  # the epoch's order, once per epoch


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_loop_does_not_synchronise_on_cuda_between_records(toy):
    """On a GPU: CUDA's own sync detector raises inside every training iteration (it is switched off only while
    a learning-curve record is taken, i.e. while the model evaluates)."""
    x, lengths = ti.prepare_images(toy.images, 25)
    y = (toy.table["sex"] == "M").to_numpy(np.int64)

    def augment(batch, gen):
        torch.cuda.set_sync_debug_mode("error")
        return [ti.Augmentation().images(batch[0], batch[1], gen), batch[1]]

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.n_classes = tk_build("cnn", 2, SETTINGS["cnn"]), 2
            self.register_forward_pre_hook(lambda m, a: None if m.training else torch.cuda.set_sync_debug_mode(0))

        def forward(self, xb, *_):
            return self.inner(xb)

    try:
        res = tt.train_network(Net(), [x, lengths], y, np.arange(300), np.arange(300, 360),
                               [ti.Stage(3, 1e-3, 0.2)], 2, 7, augment=augment, batch_size=32, curve_every=4,
                               device=torch.device("cuda"), recalibrate_bn=False)
    finally:
        torch.cuda.set_sync_debug_mode(0)
    assert res.iterations > 8 and len(res.curve) == res.iterations // 4


# --------------------------------------------------------------------------------------------- precision, switches


def test_mixed_precision_matches_fp32_within_seed_noise(toy):
    """bf16 autocast (CPU here; the same code path as CUDA) against fp32, three seeds each, on the same fold.

    Tolerance: mixed precision changes every step's rounding (bf16 keeps 8 bits of mantissa), so the two runs
    drift apart the way two seeds do, only less. Accepted when (1) the mean absolute difference between the
    bf16 and fp32 loss curves of the same seed is under half the mean difference between fp32 curves of
    different seeds (measured: ~0.02 vs ~0.12), (2) the first record's loss agrees within 3 % (before drift),
    and (3) the mean final accuracy of bf16 is within max(5 points, 2 seed-SDs) of fp32's.
    """
    settings = {**SETTINGS, "curve_every": 4,
                "protocols": {"spectrogram": [{"epochs": 3, "lr": 3e-3, "dropout": 0.2},
                                              {"epochs": 1, "lr": 1e-3, "dropout": 0.2}]}}
    curves, accs = {}, {}
    for precision in ("fp32", "bf16"):
        for seed in (11, 12, 13):
            m, _, curve, _ = tf.run_fold("sex", "random10", "k0", "cnn", toy,
                                         {**settings, "seed": seed, "runtime": {"precision": precision}},
                                         device=torch.device("cpu"), log=None)
            assert m["runtime"]["precision"] == precision
            curves[precision, seed], accs[precision, seed] = curve["train_loss"].to_numpy(), m["accuracy"]
    same_seed = np.mean([np.abs(curves["bf16", s] - curves["fp32", s]).mean() for s in (11, 12, 13)])
    across = np.mean([np.abs(curves["fp32", a] - curves["fp32", b]).mean() for a, b in [(11, 12), (12, 13), (11, 13)]])
    assert same_seed < 0.5 * across, (same_seed, across)
    first = [abs(curves["bf16", s][0] / curves["fp32", s][0] - 1) for s in (11, 12, 13)]
    assert max(first) < 0.03, first
    fp32 = [accs["fp32", s] for s in (11, 12, 13)]
    bf16 = [accs["bf16", s] for s in (11, 12, 13)]
    assert abs(np.mean(bf16) - np.mean(fp32)) <= max(0.05, 2 * np.std(fp32)), (fp32, bf16)


def test_runtime_switches_resolve_per_device(monkeypatch):
    from usvflow.classify import runtime as rtm

    cpu = rtm.runtime_from({}, torch.device("cpu"))
    assert cpu == rtm.Runtime(precision="fp32", deterministic=True, cudnn_benchmark=False, tf32=False,
                              channels_last=False, compile=False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    gpu = rtm.runtime_from({"runtime": {"precision": "auto"}}, torch.device("cuda"))
    assert gpu.precision == "bf16" and not gpu.deterministic and gpu.cudnn_benchmark and gpu.tf32 and gpu.channels_last
    exact = rtm.runtime_from({"runtime": {"deterministic": True}}, torch.device("cuda"))
    assert exact.deterministic and not exact.cudnn_benchmark and not exact.tf32 and exact.precision == "bf16"
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert rtm.runtime_from({}, torch.device("cuda")).precision == "fp32"  # older GPUs: fp32
    assert rtm.runtime_from({"runtime": {"precision": "bf16"}}, torch.device("cpu")).precision == "bf16"
    with pytest.raises(ValueError, match="precision"):
        rtm.runtime_from({"runtime": {"precision": "fp8"}}, torch.device("cpu"))
    with pytest.raises(ValueError, match="unknown"):
        rtm.runtime_from({"runtime": {"benchmark": True}}, torch.device("cpu"))
    rtm.configure_backends(exact)
    assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
    assert torch.are_deterministic_algorithms_enabled()


def test_channels_last_trains_the_same_network(toy, toy_fold):
    """channels_last changes the memory layout, not the network: same accuracy level, weights saved in the
    ordinary layout (a model trained so loads anywhere)."""
    m1, _, _, net1 = toy_fold("loao", "A1", "cnn")
    m2, _, _, net2 = tf.run_fold("sex", "loao", "A1", "cnn", toy, {**SETTINGS, "runtime": {"channels_last": True}},
                                 device=torch.device("cpu"), log=None)
    assert m2["runtime"]["channels_last"] and not m1["runtime"]["channels_last"]
    assert abs(m1["accuracy"] - m2["accuracy"]) < 0.1
    assert all(p.is_contiguous() for p in net2.parameters())


def test_feature_dnn_stays_on_the_cpu(toy, monkeypatch):
    """The 9-feature DNN reserves no GPU in the workflow, so it must not use one even when one is present."""
    monkeypatch.setattr(tf, "pick_device", lambda *a, **k: (_ for _ in ()).throw(AssertionError("asked for a GPU")))
    rng = np.random.default_rng(0)
    feats = pd.DataFrame(rng.normal(size=(len(toy.table), len(FEATURES_24))), columns=FEATURES_24)
    feats.insert(0, "call_uid", toy.table["call_uid"])
    data = tf.FoldData(table=toy.table, features=feats)
    settings = {**SETTINGS, "protocols": {"dnn9": [{"epochs": 1, "lr": 1e-3, "dropout": 0.1}]}}
    m, *_ = tf.run_fold("sex", "loao", "A1", "dnn9", data, settings, log=None)
    assert m["device"] == "cpu"
