"""Model bundles: one file that carries a trained classifier to new recordings.

A bundle (``results/bundles/{task}.pt``, written by the workflow's ``bundle`` rule) holds, for one task (sex,
strain, ...):

``members``
    the final models trained on every animal of the cohort (:mod:`usvflow.classify.final`): ``cnn`` (the
    spectrogram CNN) and ``classical`` (the best ridge/SVM by leave-one-animal-out whose input a new recording
    can give). Each member carries its weights, how its per-call scores are calibrated and combined per
    recording (:mod:`usvflow.classify.aggregate`), its LOAO accuracy (per call, per animal, and per recording
    against the number of calls), and its LOAO confusion rates per held-out animal
    (:mod:`usvflow.classify.mixture`). ``default_member`` is the one that decides held-out recordings best
    (:func:`choose_default_member`).
``input``
    everything that turns a WAV into the members' inputs the way the training cohort's were made: the detector
    (method and every resolved parameter, image settings included), the call image's geometry, the feature
    settings, the channel policy, the training recordings' sample rates and the lowest sample rate that gives the
    same inputs (:func:`required_sample_rate`).
``task``, ``classes``, ``training``, ``usvflow_version``, ``format_version``.

The file is a ``torch.save`` dictionary of plain values and tensors, read back with ``weights_only=True`` (no
code is unpickled): :func:`load_bundle`. Nothing in it refers to Snakemake or to the workflow's folders.
A recording the bundle cannot process as its training recordings were processed is refused in one line
(:func:`check_recording`, :func:`check_reproducible`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..audio.io import Channel, WavInfo, _resolve_channel, inspect_wav
from ..detect.params import DEFAULT_PARAMS as DETECTOR_DEFAULTS
from ..detect.params import IMAGE_F_LO_HZ, IMAGE_F_STEP_HZ, IMAGE_SIZE, IMAGE_T_STEP_S
from ..errors import InputError
from ..features.columns import DEFAULT_PARAMS as FEATURE_DEFAULTS

BUNDLE_FORMAT = "usvflow-bundle"
FORMAT_VERSION = 1
#: The detector caps its band at this share of the Nyquist frequency (usvflow.detect.default).
DETECTOR_NYQUIST_SHARE = 0.98


def image_geometry() -> dict[str, float]:
    """The call image's grid (usvflow.detect.params): a bundle is only valid with the same one."""
    return {"size": IMAGE_SIZE, "t_step_s": IMAGE_T_STEP_S, "f_lo_hz": IMAGE_F_LO_HZ, "f_step_hz": IMAGE_F_STEP_HZ}


def required_sample_rate(detector: dict[str, Any], features: dict[str, Any] | None,
                         training_rates: list[int]) -> tuple[int, str]:
    """The lowest sample rate whose recordings give the same inputs as the training recordings did, and why.

    Inputs are set in seconds and Hz, so any rate gives the same image, detector band and features as long as
    its Nyquist frequency reaches as high as they reached in training: the top image row, the detector band's
    top (capped at 98 % of Nyquist) and, for feature models, the features' top frequency, each as far as the
    lowest training rate allowed."""
    nyq = min(training_rates) / 2.0
    needs = {"call images": min(IMAGE_F_LO_HZ + (IMAGE_SIZE - 1) * IMAGE_F_STEP_HZ, nyq)}
    if "f_hi_hz" in detector["params"]:
        needs["detector band"] = min(float(detector["params"]["f_hi_hz"]), DETECTOR_NYQUIST_SHARE * nyq) \
            / DETECTOR_NYQUIST_SHARE
    if features is not None:
        needs["features"] = min(float(features["f_hi_hz"]), nyq)
    what, top = max(needs.items(), key=lambda kv: kv[1])
    rate = int(np.ceil(2 * top))
    return rate, f"its {what} reach {top / 1000:.1f} kHz"


def choose_default_member(members: dict[str, dict[str, Any]]) -> str:
    """The member ``usvflow classify`` uses unless told otherwise: the one that decides held-out animals' recordings
    right most often from all their calls (the ``"all"`` point of its leave-one-animal-out curve), since a bundle
    exists to decide recordings; ties go to the better call-level LOAO accuracy, then to the CNN."""

    def per_recording(member: dict[str, Any]) -> float:
        points = [p for p in member.get("curve", []) if str(p.get("n_calls")) == "all"]
        return float(points[0]["accuracy"]) if points else float("-inf")

    return max(sorted(members), key=lambda m: (per_recording(members[m]), members[m]["loao"]["accuracy_mean"],
                                               m == "cnn"))


def make_bundle(task: str, classes: list[str], training: dict[str, Any], detector: dict[str, Any],
                features: dict[str, Any] | None, channel: Channel, members: dict[str, dict[str, Any]],
                default_member: str) -> dict[str, Any]:
    """Assemble a bundle (see the module docstring); ``detector`` = ``{"method", "params"}`` (resolved)."""
    if default_member not in members:
        raise ValueError(f"default member {default_member!r} is not among {sorted(members)}")
    rates = [int(r) for r in training["sample_rates_hz"]]
    uses_features = any(m["kind"] == "classical" and m["model"]["input"] != "spectrogram" for m in members.values())
    min_rate, why = required_sample_rate(detector, features if uses_features else None, rates)
    return {
        "format": BUNDLE_FORMAT, "format_version": FORMAT_VERSION, "usvflow_version": __version__,
        "task": task, "classes": list(classes), "training": training,
        "input": {"detector": detector, "image": image_geometry(), "features": features, "channel": channel,
                  "sample_rates_hz": [min(rates), max(rates)], "min_sample_rate_hz": min_rate,
                  "min_sample_rate_reason": why},
        "members": members, "default_member": default_member,
    }


# --------------------------------------------------------------------------------------------- file


def _to_saved(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _to_saved(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_to_saved(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(obj))
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _from_saved(obj: Any, key: str = "") -> Any:
    if isinstance(obj, dict):
        return {k: (v if k == "state_dict" else _from_saved(v, k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_saved(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.numpy()
    return obj


def save_pt(path: str | Path, obj: dict[str, Any]) -> None:
    """Write a dictionary of plain values and numpy arrays so that it loads with ``weights_only=True``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    torch.save(_to_saved(obj), str(path))


def load_pt(path: str | Path) -> dict[str, Any]:
    """Read what :func:`save_pt` wrote (tensors back to numpy, except networks' ``state_dict``)."""
    return _from_saved(torch.load(str(path), map_location="cpu", weights_only=True))


def save_bundle(path: str | Path, bundle: dict[str, Any]) -> None:
    """Write a bundle (numpy arrays become tensors, so it loads with ``weights_only=True``)."""
    save_pt(path, bundle)


def load_bundle(path: str | Path) -> dict[str, Any]:
    """Read a bundle written by :func:`save_bundle`; anything else is refused in one line."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "model bundle not found")
    if p.is_dir():
        raise InputError(p, "is a folder, expected a model bundle file (results/bundles/<task>.pt)")
    try:
        blob = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds for a file that is not its own
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(p, f"not a usvflow model bundle ({first[:120]})") from None
    if not isinstance(blob, dict) or blob.get("format") != BUNDLE_FORMAT:
        raise InputError(p, "not a usvflow model bundle (a trained fold's .pt is not one: use results/bundles/<task>.pt)")
    if int(blob.get("format_version", 0)) > FORMAT_VERSION:
        raise InputError(p, f"bundle format {blob['format_version']} was written by a newer usvflow "
                            f"({blob.get('usvflow_version')}); this is usvflow {__version__}")
    return _from_saved(blob)


# --------------------------------------------------------------------------------------------- checks


def check_reproducible(bundle: dict[str, Any], source: str | Path) -> None:
    """Refuse (one line) a bundle whose inputs this usvflow cannot rebuild the same way: an unknown detector
    method or parameter, another call-image grid, an unknown feature setting."""
    det = bundle["input"]["detector"]
    method = det["method"]
    if method not in DETECTOR_DEFAULTS:
        raise InputError(source, f"bundle was made with detector method {method!r}, which this usvflow "
                                 f"({__version__}) does not have")
    unknown = sorted(set(det["params"]) - set(DETECTOR_DEFAULTS[method]))
    if unknown:
        raise InputError(source, f"bundle's {method} detector has parameter(s) {', '.join(unknown)} that this usvflow "
                                 f"({__version__}) does not know: its calls cannot be detected the same way "
                                 f"(made with usvflow {bundle.get('usvflow_version')})")
    if bundle["input"]["image"] != image_geometry():
        raise InputError(source, f"bundle's call images are {bundle['input']['image']}, this usvflow makes "
                                 f"{image_geometry()}: the networks' inputs would differ")
    feats = bundle["input"].get("features")
    if feats is not None:
        unknown = sorted(set(feats) - set(FEATURE_DEFAULTS))
        if unknown:
            raise InputError(source, f"bundle's feature settings {', '.join(unknown)} are unknown to this usvflow")


def check_recording(bundle: dict[str, Any], wav: str | Path, channel: Channel | None = None
                    ) -> tuple[WavInfo, Channel]:
    """The recording's header checked against what the bundle needs; returns it and the channel to read.

    Refused in one line: anything :func:`usvflow.audio.io.inspect_wav` refuses; a sample rate below
    ``input.min_sample_rate_hz`` (the images, detector band or features would hold less than in training); a
    channel the file does not have. ``channel`` None: the bundle's own channel policy (the workflow's
    ``channel`` setting when it was trained)."""
    need = int(bundle["input"]["min_sample_rate_hz"])
    info = inspect_wav(wav, min_sample_rate_hz=1)
    if info.sample_rate < need:
        lo, hi = bundle["input"]["sample_rates_hz"]
        trained = f"{lo} Hz" if lo == hi else f"{lo}-{hi} Hz"
        raise InputError(wav, f"sample rate {info.sample_rate} Hz is below the {need} Hz this {bundle['task']} bundle "
                              f"needs ({bundle['input']['min_sample_rate_reason']}; trained on {trained} recordings)")
    use = bundle["input"].get("channel", 0) if channel is None else channel
    return info, _resolve_channel(info, str(use) if isinstance(use, int) else use)
