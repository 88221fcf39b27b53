"""Tables 1-7 of Ivanenko et al. 2020 for the networks and protocols this run's settings build."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..classify.inputs import augmentation_from, protocol_stages
from ..classify.models import build_model
from ..classify.tasks import PROTOCOL_TABLES

#: What the published text fixes of each network (Methods, figure legends); Tables 1-3's own values (kernel
#: sizes, widths, strides of every layer) are not in the published text, so those are usvflow's settings.
PUBLISHED = {
    "cnn": "Methods: 6 convolutional + 3 fully connected layers, batch norm on every layer, ReLU, dropout, Xavier "
           "init, sigmoid/softmax output; 256 units in the first convolutional layer (Fig 3C). Other sizes: usvflow",
    "dnn9": "Methods: 4 fully connected layers on the 9 features, batch norm, ReLU, dropout, Xavier init, sigmoid "
            "output. Widths: usvflow",
    "semiconv": "Methods: 3 parallel 5-layer 1-D convolutional stacks (spectral marginal 233, time marginal 100, "
                "FF line 100) joined with the 24 features in 3 fully connected layers. Sizes: usvflow",
}
#: Stages per protocol in the Methods (Tables 4-7 themselves are not in the published text).
PUBLISHED_STAGES = {"spectrogram": 3, "properties": 2, "dnn9": 2, "semiconv": 4}


def network_tables(settings: dict[str, Any], trained: dict[str, Any] | None = None) -> dict[int, pd.DataFrame]:
    """The paper's Tables 1–7 for the networks and protocols these settings build: 1 spectrogram CNN,
    2 9-feature DNN, 3 semi-convolutional DNN (layer by layer, from the instantiated model: the training jobs
    build theirs from the same settings), 4–7 the training protocols (spectrogram tasks, property tasks,
    9-feature DNN, semi-convolutional DNN). ``trained``: a trained network per family (``cnn``, ``dnn9``,
    ``semiconv``; a module or a saved ``.pt``), described instead of a fresh one."""
    from ..classify.models import count_parameters, describe_layers, load_model

    tables: dict[int, pd.DataFrame] = {}
    arch = {"cnn": dict(settings.get("cnn", {}) or {}), "dnn9": {**(settings.get("dnn9", {}) or {}), "n_features": 9},
            "semiconv": {**(settings.get("semiconv", {}) or {}), "n_features": 24, "vector_lengths": [100, 100, 233]}}
    for number, family in [(1, "cnn"), (2, "dnn9"), (3, "semiconv")]:
        given = (trained or {}).get(family)
        if isinstance(given, (str, bytes)) or hasattr(given, "__fspath__"):
            given = load_model(given)[0]
        model = given if given is not None else build_model(family, 2, arch[family])
        rows = pd.DataFrame(describe_layers(model))
        rows.insert(0, "network", {"cnn": "Spectrogram-to-Sex / -Strain / -Individual / -Features",
                                   "dnn9": "Features-to-Sex (9 features)",
                                   "semiconv": "Extended features-to-Sex (semi-convolutional)"}[family])
        rows["total_parameters"] = count_parameters(model)
        rows["source"] = "trained model" if given is not None else "settings (as the training jobs build it)"
        rows["published"] = PUBLISHED[family]
        rows["output_note"] = ("1 sigmoid unit for two classes (sex, strain, has-break, broadband); softmax over "
                               "3 (direction), 4 (breaks, peaks: 0, 1, 2, 3+) or one per animal (individual)"
                               if family == "cnn" else "1 sigmoid unit (P(male))")
        tables[number] = rows
    aug = augmentation_from(settings)
    gain_text = (f"gain {aug.gain[0]}–{aug.gain[1]} (a dB shift on the {aug.image_dynamic_range_db:g} dB images)"
                 if aug.image_dynamic_range_db else f"gain {aug.gain[0]}–{aug.gain[1]}")
    aug_text = {"spectrogram": f"start/end clip ≤ {aug.clip_fraction:.0%}, {gain_text}, "
                               f"noise variance {aug.noise_var[0]}–{aug.noise_var[1]}",
                "dnn9": "none"}
    aug_text["properties"] = aug_text["spectrogram"]
    aug_text["semiconv"] = (f"FF line / time marginal: clip ≤ {aug.clip_fraction:.0%} + noise; spectral marginal: "
                            f"gain {aug.marginal_gain[0]}–{aug.marginal_gain[1]} + noise")
    names = {"spectrogram": "Spectrogram-to-Sex / -Strain / -Individual", "properties": "Spectrogram-to-Features "
             "(direction, breaks, peaks, broadband, has-break)", "dnn9": "Features-to-Sex",
             "semiconv": "Extended features-to-Sex"}
    runtime = dict(settings.get("runtime", {}) or {})
    precision = {"auto": "bf16 autocast on a GPU with bf16, fp32 on CPU"}.get(runtime.get("precision", "auto"),
                                                                              runtime.get("precision", "fp32"))
    for protocol, number in PROTOCOL_TABLES.items():
        stages = protocol_stages(settings, protocol)
        tables[number] = pd.DataFrame([{
            "network": names[protocol], "stage": i + 1, "epochs": s.epochs, "learning_rate": s.lr,
            "dropout": s.dropout, "batch_size": int(settings.get("batch_size", 64)),
            "optimizer": "Adam (beta1 0.9, beta2 0.999, eps 1e-8)", "initialisation": "Xavier uniform, zero biases",
            "loss": "class-weighted cross-entropy", "augmentation": aug_text[protocol],
            "precision": precision, "preset": settings.get("preset", ""),
            "published": f"Methods: {PUBLISHED_STAGES[protocol]} stages, batch size 64, Adam"
                         + ("; ~6k iterations for sex (Fig 3B)" if protocol == "spectrogram" else "")}
            for i, s in enumerate(stages)])
    return tables
