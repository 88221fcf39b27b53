"""What the classifiers' inputs may learn from: scaling from the training rows only, batch-norm recalibration
touching only running statistics, and inputs refused when their rows are not the dataset's calls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from usvflow.classify.classical import check_alignment
from usvflow.classify.inputs import scale_vectors, standardize
from usvflow.classify.training import recalibrate_batch_norm
from usvflow.errors import InputError


def test_standardize_uses_the_training_rows_only():
    rng = np.random.default_rng(0)
    train = rng.normal(5, 2, (40, 3))
    train[3, 1] = np.nan
    test = rng.normal(5, 2, (10, 3))
    z_train, z_test = standardize(train, test)
    # changing the test rows (here: shifted and stretched far away) moves nothing derived from training
    z_train2, z_test2 = standardize(train, test * 100 + 1e3)
    assert np.array_equal(z_train, z_train2)
    mu, sd = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    assert np.allclose(z_test, (test - mu) / sd, atol=1e-5)
    assert np.allclose(z_test2, (test * 100 + 1e3 - mu) / sd, rtol=1e-5)
    assert z_train[3, 1] == 0  # NaN -> the training mean
    assert np.allclose(np.delete(z_train, 3, axis=0).mean(axis=0), [0, 0, 0], atol=0.1)
    # a constant training column is centred, not divided by zero
    flat = np.ones((5, 1))
    assert np.array_equal(standardize(flat, np.full((2, 1), 3.0))[1], [[2.0], [2.0]])


def test_scale_vectors_uses_the_training_rows_only():
    rng = np.random.default_rng(1)
    v = rng.gamma(2.0, 1.0, 200)
    v[[5, 150]] = np.nan
    train = np.arange(120)
    out = scale_vectors(v, train)
    changed = v.copy()
    changed[120:] = changed[120:] * 50 + 7  # only test rows change
    out2 = scale_vectors(changed, train)
    assert np.array_equal(out[train], out2[train])
    finite = v[train][np.isfinite(v[train])]
    lo, hi = finite.min(), np.percentile(finite, 99)
    assert np.nanmin(out[train][np.isfinite(v[train])]) == pytest.approx(0.1)
    test = np.arange(120, 200)
    ok = np.isfinite(changed[test])
    assert np.allclose(out2[test][ok], np.clip(0.1 + 0.9 * (changed[test][ok] - lo) / (hi - lo), 0.1, None),
                       rtol=1e-5)
    assert out[5] == 0 and out[150] == 0  # no signal -> 0, below the quietest signal's 0.1


def _bn_net():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Dropout(0.5), torch.nn.BatchNorm1d(3), torch.nn.Linear(3, 2))


@pytest.mark.parametrize("training", [True, False])
def test_recalibrate_batch_norm_changes_only_running_statistics(training):
    net = _bn_net()
    x = torch.randn(300, 3) * torch.tensor([1.0, 3.0, 0.5]) + torch.tensor([2.0, -1.0, 0.0])
    idx = np.arange(0, 300, 2)  # the "training calls"
    net.train(training)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    recalibrate_batch_norm(net, [x], idx, batch_size=len(idx))
    after = net.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"1.running_mean", "1.running_var", "1.num_batches_tracked"}
    # one pass with dropout off, over exactly the given rows: the running statistics are theirs
    bn = net[1]
    assert torch.allclose(bn.running_mean, x[idx].mean(0), atol=1e-5)
    assert torch.allclose(bn.running_var, x[idx].var(0, unbiased=True), rtol=1e-4)
    assert bn.momentum == 0.1 and net.training is training


def test_recalibrate_batch_norm_without_batch_norm_is_a_no_op():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    before = {k: v.clone() for k, v in net.state_dict().items()}
    recalibrate_batch_norm(net, [torch.randn(10, 3)], np.arange(10))
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_check_alignment_refuses_reordered_or_missing_rows():
    table = pd.DataFrame({"call_uid": ["r1#0", "r1#1", "r2#0"]})
    check_alignment(table, ["r1#0", "r1#1", "r2#0"], "features.parquet")  # aligned: no error
    for other in (["r1#1", "r1#0", "r2#0"], ["r1#0", "r1#1"], ["r1#0", "r1#1", "r2#0", "r2#1"]):
        with pytest.raises(InputError) as err:
            check_alignment(table, other, "features.parquet")
        assert "features.parquet" in str(err.value) and "not aligned" in str(err.value)
