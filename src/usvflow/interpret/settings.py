"""Settings of the Fig 6 and Fig 7 analyses (keys of the ``network:`` block of config.yaml).

Plain dataclasses: the workflow reads which keys each analysis takes without importing torch or scipy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class NetworkSettings:
    """Sizes of the Fig 6 analyses (the ``network:`` block of config.yaml may override them)."""

    reference_calls_per_sex: int = 150  # other-animal calls per sex that every held-out call is compared with
    deconv_calls_per_animal: int = 20   # held-out calls per fold that are deconvolved
    units_per_layer: int = 16           # active units per layer and call whose reconstructions are compared
    deconv_rule: str = "guided"         # "guided" (tf_cnnvis, the paper's tool) or "deconvnet" (Zeiler & Fergus)
    batch_size: int = 128
    seed: int = 2020

    @classmethod
    def from_config(cls, values: dict[str, Any] | None) -> "NetworkSettings":
        """Settings from a config dict; unknown keys are ignored (they belong to the call-space analysis)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (values or {}).items() if k in names})


DEFAULT_SETTINGS = NetworkSettings()


@dataclass(frozen=True)
class CallSpaceSettings:
    """Settings of the Fig 7 analyses (keys of the ``network:`` block of config.yaml)."""

    n_clusters: int = 20
    min_cluster_size: int = 20
    n_examples: int = 3
    knn_k: int = 1
    grid_points: int = 40
    confident_low: float = 0.1
    confident_high: float = 0.9
    n_shuffles: int = 20
    min_confident: int = 10  # fewer confident calls: no kNN decoding among them (a handful says nothing)
    seed: int = 2020

    @classmethod
    def from_config(cls, values: dict[str, Any] | None) -> "CallSpaceSettings":
        """Settings from a config dict; unknown keys are ignored (they belong to the network analysis)."""
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in (values or {}).items() if k in names})


# --------------------------------------------------------------------------------------------- densities


def confident_rule(values: dict[str, Any]) -> str:
    """How a run's Fig 7 picked its confident calls ("p < 0.1 or > 0.9"), from its stats values (the settings'
    defaults for a stats file written before the thresholds were recorded)."""
    low = values.get("confident_low", CallSpaceSettings.confident_low)
    high = values.get("confident_high", CallSpaceSettings.confident_high)
    return f"p < {low:g} or > {high:g}"
