"""Tables 1-7 of Ivanenko et al. 2020 for the networks and protocols this run's settings build."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..classify.inputs import augmentation_from, protocol_stages
from ..classify.models import build_model
from ..classify.tasks import PROTOCOL_TABLES


def network_tables(settings: dict[str, Any]) -> dict[int, pd.DataFrame]:
    """The paper's Tables 1–7 for the networks and protocols these settings build: 1 spectrogram CNN,
    2 9-feature DNN, 3 semi-convolutional DNN (layer by layer, from the instantiated model), 4–7 the training
    protocols (spectrogram tasks, property tasks, 9-feature DNN, semi-convolutional DNN)."""
    from ..classify.models import count_parameters, describe_layers

    tables: dict[int, pd.DataFrame] = {}
    arch = {"cnn": dict(settings.get("cnn", {}) or {}), "dnn9": {**(settings.get("dnn9", {}) or {}), "n_features": 9},
            "semiconv": {**(settings.get("semiconv", {}) or {}), "n_features": 24, "vector_lengths": [100, 100, 233]}}
    for number, family in [(1, "cnn"), (2, "dnn9"), (3, "semiconv")]:
        model = build_model(family, 2, arch[family])
        rows = pd.DataFrame(describe_layers(model))
        rows.insert(0, "network", {"cnn": "Spectrogram-to-Sex / -Strain / -Individual / -Features",
                                   "dnn9": "Features-to-Sex (9 features)",
                                   "semiconv": "Extended features-to-Sex (semi-convolutional)"}[family])
        rows["total_parameters"] = count_parameters(model)
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
    for protocol, number in PROTOCOL_TABLES.items():
        stages = protocol_stages(settings, protocol)
        tables[number] = pd.DataFrame([{
            "network": names[protocol], "stage": i + 1, "epochs": s.epochs, "learning_rate": s.lr,
            "dropout": s.dropout, "batch_size": int(settings.get("batch_size", 64)), "optimizer": "Adam",
            "loss": "class-weighted cross-entropy", "augmentation": aug_text[protocol],
            "preset": settings.get("preset", "")} for i, s in enumerate(stages)])
    return tables
