"""The planning helpers the rules call at parse time: wildcard patterns, the settings each rule gets (so an edit
reruns only what reads it), resources per preset and the declared inputs of the real clips."""
from __future__ import annotations

import re

import pytest

from usvflow.workflow import planning as pl


def test_alternation_matches_exactly_the_values():
    pattern = pl.alternation(["F01", "a.b", 3])
    assert all(re.fullmatch(pattern, v) for v in ("F01", "a.b", "3"))
    assert not any(re.fullmatch(pattern, v) for v in ("F0", "axb", "F01x"))  # the dot is escaped
    assert not re.fullmatch(pl.alternation([]), "")  # no values: a pattern nothing sensible matches


def test_rule_settings_are_the_keys_each_rule_reads(config):
    train = {**{k: i for i, k in enumerate(pl.TRAIN_SHARED)}, "cnn": {"channels": [1]}, "dnn9": {"hidden": [2]},
             "protocols": {"spectrogram": [{"epochs": 1}], "dnn9": [{"epochs": 2}]}, "n_random_folds": 10}
    job = pl.train_job_settings(train, "sex", "cnn")
    assert set(job) == set(pl.TRAIN_SHARED) | {"cnn", "protocols"}
    assert job["protocols"] == {pl.train_protocol("sex", "cnn"): train["protocols"].get(
        pl.train_protocol("sex", "cnn"), [])}
    assert pl.train_job_settings(train, "sex", "dnn9")["protocols"] == {"dnn9": [{"epochs": 2}]}
    assert "n_random_folds" not in job and "dnn9" not in job  # another family's edit does not rerun the CNNs
    tables = pl.table_settings(train)  # Tables 1-7 show architectures and protocols, not seeds or fold counts
    assert {"cnn", "dnn9", "protocols", "batch_size"} <= set(tables) and not {"seed", "n_random_folds"} & set(tables)
    segment = {k: i for i, keys in enumerate(pl.SEGMENT_KEYS.values()) for k in keys}
    assert set(pl.segment_rule_settings(segment, "segment_train")) == set(pl.SEGMENT_KEYS["segment_train"])
    assert "lr" not in pl.segment_rule_settings(segment, "segment_dataset")  # crops stay when the rate changes
    sim = pl.simulation_settings(config["simulation"])
    assert "presets" not in sim and sim["seed"] == config["simulation"]["seed"]
    embed = {"seed": 1, "perplexity": 30, "pca_dims_features": 5, "pca_dims_spectrograms": 50}
    assert pl.embed_settings(embed, "features", "pca") == {"seed": 1}
    assert pl.embed_settings(embed, "spectrograms", "tsne")["pca_dims"] == 50
    assert pl.embed_settings(embed, "features", "tsne")["pca_dims"] == 5
    net = pl.network_fold_settings({**config["network"], "not_a_key": 1})
    assert "not_a_key" not in net and net
    assert "not_a_key" not in pl.callspace_settings({**config["network"], "not_a_key": 1})


def test_resources_scale_with_the_preset():
    assert pl.resources("train_cnn", "default") == pl.resources("train_cnn", "test")
    mem, runtime = pl.RESOURCES["summary"]
    assert pl.resources("summary", "paper") == {"mem_mb": 2 * mem, "runtime": 4 * runtime}  # not listed: 2x, 4x
    assert pl.resources("train_cnn", "paper") == dict(zip(("mem_mb", "runtime"), pl.PAPER_RESOURCES["train_cnn"]))
    with pytest.raises(KeyError):
        pl.resources("no_such_rule", "default")


def test_declared_real_clip_files_and_their_folders(realdata):
    files = pl.realdata_files(realdata)
    clips = sorted(p.parent for p in realdata.glob("*/truth.csv"))
    peers = sum(len(list((c / "peers").glob("*.csv"))) for c in clips)
    assert len(files) == 2 * len(clips) + peers
    assert files[:2] == [str(clips[0] / "recording.wav"), str(clips[0] / "truth.csv")]
    assert pl.realdata_root(files) == str(realdata) and pl.realdata_root([]) == ""
    assert pl.folder_of(files) == str(clips[0]) and pl.folder_of(files, up=2) == str(realdata)
    assert pl.folder_of([]) == ""
