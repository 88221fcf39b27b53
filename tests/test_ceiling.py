"""The truth ceiling: the generator's own per-call parameters (never the recording's conditions), classified
leave-one-animal-out by the classical stage's models; high where the groups' calls differ, chance where not."""
import numpy as np
import pandas as pd
import pytest

from usvflow.classify.ceiling import call_parameters, input_columns, task_ceiling
from usvflow.classify.classical_tasks import DEFAULT_PARAMS, TASKS
from usvflow.errors import InputError
from usvflow.simulate.plan import plan_cohorts
from usvflow.simulate.recording import simulate_recording


def _truth(sim, preset="test", cohort="sex", nuisance=None):
    specs = [s for s in plan_cohorts(sim, preset) if s.cohort == cohort]
    if nuisance is not None:
        specs = [type(s)(**{**s.__dict__, "nuisance": {k: nuisance for k in s.nuisance}}) for s in specs]
    recs = [simulate_recording(sim, s) for s in specs]
    return (pd.concat([r.calls for r in recs], ignore_index=True),
            pd.concat([r.nuisance for r in recs], ignore_index=True))


def test_source_level_is_the_generators_whatever_the_distance_and_gain(sim):
    """Two simulations of the same animals under low and high quantiles of every nuisance (distance, gain...):
    the level at the microphone differs, the call's own level and every other parameter do not."""
    sim["presets"]["test"]["sex"]["minutes"] = 0.1
    near = call_parameters(*_truth(sim, nuisance=0.05), sim["distance"]["reference_m"])
    far_calls, far_rec = _truth(sim, nuisance=0.95)
    far = call_parameters(far_calls, far_rec, sim["distance"]["reference_m"])
    near_calls, _ = _truth(sim, nuisance=0.05)
    assert len(near) == len(far) > 20
    assert (far_calls["level_dbfs"] - near_calls["level_dbfs"]).abs().median() > 1
    np.testing.assert_allclose(near["source_level_db"], far["source_level_db"], atol=1e-9)
    cols = input_columns("parameters")
    assert not {"level_dbfs", "snr_db", "distance_m", "amplitude", "faint", "fades", "onset_s"} & set(cols)
    np.testing.assert_allclose(near[cols].to_numpy(float), far[cols].to_numpy(float), atol=1e-9)


def _effects(sim, scale):
    for k, v in list(sim["effects"]["sex"].items()):
        sim["effects"]["sex"][k] = {t: scale * x for t, x in v.items()} if isinstance(v, dict) else scale * v
    sim["effects"]["individual_sd"] = 0.2
    return sim


@pytest.mark.parametrize("scale,low,high", [(3.0, 0.75, 1.0), (0.0, 0.3, 0.65)])
def test_ceiling_follows_the_effect_put_into_the_calls(sim, scale, low, high):
    """Sex effects three times the default: the true parameters separate held-out animals' calls; none at all:
    chance, whatever the (balanced) recording conditions."""
    sim["presets"]["test"]["sex"].update(females=3, males=3, minutes=0.15)
    calls, recs = _truth(_effects(sim, scale))
    res = task_ceiling(call_parameters(calls, recs, sim["distance"]["reference_m"]), "sex", TASKS["sex"],
                       dict(DEFAULT_PARAMS))
    assert res["n_animals"] == 6 and res["n_calls"] == len(calls)
    for kind in ("parameters", "feat9"):
        assert low <= res[kind]["ceiling"] <= high, (kind, res[kind]["models"])
        assert set(res[kind]["models"]["ridge"]["fold_accuracy"]) == set(calls["animal"])
        assert set(res[kind]["models"]["ridge"]["chosen"].values()) <= set(DEFAULT_PARAMS["ridge_alpha"])


def test_truth_without_what_the_ceiling_needs_is_one_clear_line(sim):
    calls, recs = _truth(sim)
    with pytest.raises(InputError, match="lacks column"):
        call_parameters(calls.drop(columns=["distance_m"]), recs, 0.2)
    with pytest.raises(InputError, match="no gain_db"):
        call_parameters(calls, recs.iloc[1:], 0.2)


def test_ceiling_is_read_and_drawn_for_the_figures(tmp_path):
    import json

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from usvflow.classify.ceiling import ceiling_text, draw_ceiling, panel, read_ceiling

    path = tmp_path / "ceiling.json"
    path.write_text(json.dumps({"values": {"sex": {"parameters": {"ceiling": 0.72}, "feat9": {"ceiling": 0.66}}}}))
    c = read_ceiling([str(path)], "sex")
    assert c == {"parameters": 0.72, "feat9": 0.66} and read_ceiling([], "sex") == {} == read_ceiling([str(path)], "x")
    assert "72 % from all per-call parameters" in ceiling_text(c, "sex") and "66 % from the true values" in ceiling_text(c, "sex") and ceiling_text({}, "sex") == ""
    fig, (other, ax) = plt.subplots(1, 2)
    ax.set_title("E  sex", loc="left")  # the house style puts titles on the left
    assert panel(fig, "E ") is ax and panel(fig, "K-L ") is None
    draw_ceiling(panel(fig, "E "), c["parameters"])
    draw_ceiling(panel(fig, "K-L "), c["parameters"])  # no such panel: nothing drawn, nothing raised
    draw_ceiling(ax, None)  # real data: nothing drawn
    assert [tuple(line.get_ydata()) for line in ax.lines] == [(72.0, 72.0)]
    assert [t.get_text() for t in ax.texts] == ["truth ceiling 72 %"]
    plt.close(fig)
