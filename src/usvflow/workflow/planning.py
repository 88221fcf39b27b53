"""What the Snakemake rules need when the workflow is parsed: the settings each rule gets, resources per
preset, the data notice, wildcard patterns and the files a rule reads.

Imports nothing beyond the standard library, numpy and pandas (through the planning modules of the
stages), so ``snakemake -n`` works in an environment holding only snakemake, pandas, pyyaml and jsonschema
(``tests/test_architecture.py`` checks it).

Each rule gets only the settings it uses: Snakemake reruns a job when its params change, so an edit of one
network's settings retrains that network's folds only, and an edit of the segmentation models' learning
rate does not rebuild the crops.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from ..classify.tasks import TASKS
from ..interpret.settings import CallSpaceSettings, NetworkSettings

# --------------------------------------------------------------------------------------------- wildcards


def alternation(values: Iterable[Any]) -> str:
    """A wildcard pattern matching exactly ``values`` (escaped), or nothing when there are none."""
    values = [re.escape(str(v)) for v in values]
    return "|".join(values) if values else "__none__"


# --------------------------------------------------------------------------------------------- settings per rule

#: Keys of the merged ``train`` settings that every network fold reads (besides its architecture and protocol).
TRAIN_SHARED = ("seed", "batch_size", "augmentation", "min_test_calls", "shuffle_repeats", "curve_every", "preset",
                "runtime", "class_weight_power")


def train_protocol(task: str, family: str) -> str:
    """The training protocol (paper Tables 4-7) of a family on a task."""
    return TASKS[task].protocol if family == "cnn" else family


def train_job_settings(train: dict[str, Any], task: str, family: str) -> dict[str, Any]:
    """The part of the merged ``train`` settings that one (task, family) job reads: the shared keys, the
    family's architecture and its protocol's stages. The number of random folds is not among them: it says
    which folds exist, not how one is trained."""
    protocol = train_protocol(task, family)
    out = {k: train[k] for k in TRAIN_SHARED if k in train}
    out[family] = train.get(family, {})
    out["protocols"] = {protocol: train.get("protocols", {}).get(protocol, [])}
    return out


def detection_settings(config: dict[str, Any], method: str) -> dict[str, Any]:
    """A detector's parameters for ``extract_calls``: its ``detection.<method>`` overrides and the call images'
    format of this preset (``detection.image_format``; the method's own ``image_format`` wins). The default
    format is not written out, so presets that use it keep their jobs' parameters (and outputs) as before."""
    image_format = config["detection"]["image_format"].get(config["preset"], "default")
    preset_format = {} if image_format == "default" else {"image_format": image_format}
    return {**preset_format, **config["detection"][method]}


def table_settings(train: dict[str, Any]) -> dict[str, Any]:
    """What Tables 1-7 show: architectures, protocols, augmentation, batch size, preset."""
    keys = ("cnn", "dnn9", "semiconv", "protocols", "augmentation", "batch_size", "preset", "runtime")
    return {k: train[k] for k in keys if k in train}


def embed_settings(embed: dict[str, Any], kind: str, method: str) -> dict[str, Any]:
    """The ``embed`` settings one embedding reads: PCA to 3-D needs the seed only; t-SNE the PCA size of its
    kind of input and the perplexity too."""
    if method == "pca":
        return {"seed": embed["seed"]}
    return {"seed": embed["seed"], "perplexity": embed["perplexity"],
            "pca_dims": embed["pca_dims_features" if kind == "features" else "pca_dims_spectrograms"]}


def network_fold_settings(network: dict[str, Any]) -> dict[str, Any]:
    """The ``network`` keys of the Fig 6 analysis."""
    return {k: v for k, v in network.items() if k in NetworkSettings.__dataclass_fields__}


def callspace_settings(network: dict[str, Any]) -> dict[str, Any]:
    """The ``network`` keys of the Fig 7 analysis."""
    return {k: v for k, v in network.items() if k in CallSpaceSettings.__dataclass_fields__}


#: The keys of the merged ``segment`` settings each SqueakOut rule reads.
SEGMENT_KEYS = {
    "segment_dataset": ("window_s", "hop_s", "f_lo_hz", "n_freq", "n_frames", "size", "pad_s", "dynamic_range_db",
                        "floor", "noise_per_call", "test_fraction", "val_fraction", "seed", "max_calls_per_recording"),
    "segment_refine": ("refine", "batch_size", "seed"),
    "segment_train": ("squeakout_width", "squeakout_last_channels", "unet_base", "unet_depth", "lr", "batch_size",
                      "max_epochs", "batches_per_epoch", "plateau_patience", "early_stop_patience", "tile",
                      "val_crops"),
}


def segment_rule_settings(segment: dict[str, Any], rule: str) -> dict[str, Any]:
    """The part of the merged ``segment`` settings that ``rule`` reads."""
    return {k: segment[k] for k in SEGMENT_KEYS[rule]}


def simulation_settings(simulation: dict[str, Any]) -> dict[str, Any]:
    """The ``simulation`` block without the cohort sizes of the presets (a recording's own size and length
    come with its plan), so resizing another preset regenerates nothing."""
    return {k: v for k, v in simulation.items() if k != "presets"}


# --------------------------------------------------------------------------------------------- resources

#: (memory MB, runtime minutes) per rule on the default and test presets: the default run on a 2-core laptop
#: peaks well below these.
RESOURCES: dict[str, tuple[int, int]] = {
    "simulate_recording": (2000, 15), "simulated_sample_sheet": (500, 5),
    "simulated_recordings": (500, 5), "simulator_vs_real": (3000, 30),
    "extract_calls": (1500, 30), "evaluate_detection": (2000, 20), "plot_detection_benchmark": (1000, 5),
    "dataset": (2000, 10), "features_recording": (2000, 20), "features_cohort": (2000, 10),
    "feature_recovery": (2000, 10), "embed": (3000, 30),
    "classical_spectrogram": (3000, 30), "classical_features": (2000, 15), "classical_stats": (1000, 5),
    "confound": (2000, 20), "confound_stats": (500, 5),
    "ceiling": (1000, 5), "nulls": (3000, 20), "nulls_stats": (500, 5),
    "features_fig1_stats": (2000, 10), "plot_fig1": (2000, 10), "features_fig2_stats": (1000, 5),
    "plot_fig2": (2000, 10),
    "train_cnn": (4000, 30), "train_feature_dnn": (2000, 20),
    "fig3": (2000, 10), "fig4": (2000, 10), "fig5": (2000, 10), "figS1": (2000, 10), "figS2": (2000, 10),
    "network_tables": (1000, 5),
    "network_fold": (2000, 10), "network_summary": (2000, 5), "network_callspace": (2000, 10),
    "plot_fig6": (1000, 5), "plot_fig7": (1000, 5), "movie_s1": (1000, 5),
    "segment_dataset": (4000, 20), "segment_refine": (4000, 20), "segment_train": (4000, 20),
    "segment_evaluate": (4000, 20), "segment_features": (3000, 20),
    "plot_squeakout_fig3": (2000, 10), "plot_squeakout_fig5": (2000, 10), "plot_squeakout_fig6": (2000, 10),
    "summary": (500, 5),
    "aggregation_model": (2000, 10), "plot_aggregation": (1000, 5), "final_cnn": (4000, 30),
    "final_classical": (3000, 20), "bundle": (2000, 5), "simulate_pairs": (2000, 10), "evaluate_pairs": (2000, 15),
    # the seed sweep (rules/robustness.smk): one seed runs the simulation and the headline analyses
    "robustness_headline": (2000, 5), "robustness_seed": (8000, 180), "robustness_table": (1000, 5),
    "plot_robustness": (1000, 5),
}

#: The paper preset: 29 recordings of 3-4 min (3x the default's audio per recording, 2x the animals), networks
#: of the published size (256 first-layer units, 100 x 100 images, ~6k iterations), 512 x 512 SqueakOut crops.
#: Rules not listed get twice the memory and four times the time of the default.
PAPER_RESOURCES: dict[str, tuple[int, int]] = {
    "train_cnn": (16000, 480), "train_feature_dnn": (4000, 60),
    "classical_spectrogram": (12000, 240), "classical_features": (4000, 60), "embed": (12000, 180),
    "segment_dataset": (16000, 120), "segment_refine": (16000, 720), "segment_train": (16000, 1440),
    "segment_evaluate": (16000, 60), "network_callspace": (8000, 30),
    # Fig 6 holds every hidden layer's activations of a fold's ~590 held-out and 300 reference calls (~4 MB a
    # call at 100 x 100 with 256 first-layer units) and their centred copies. benchmarks/network_memory.py
    # --preset paper: peak RSS 4.9 GB with 30 held-out calls, 5.5 GB with 90 (~9 MB per further held-out
    # call), so ~10.5-11 GB for 590; 14 GB leaves a margin.
    "network_fold": (14000, 60),
    "final_cnn": (16000, 480), "final_classical": (12000, 240),
    "confound": (4000, 120),  # 1,000 random relabellings x 17 folds x 4 models: ~45 min on one core
    "nulls": (16000, 720),  # 1,000 random relabellings x 17 folds x 4 models, each a solve on the training calls
}


def resources(rule: str, preset: str) -> dict[str, int]:
    """``mem_mb`` and ``runtime`` (minutes) of ``rule`` on ``preset``."""
    mem, runtime = RESOURCES[rule]
    if preset == "paper":
        mem, runtime = PAPER_RESOURCES.get(rule, (2 * mem, 4 * runtime))
    return {"mem_mb": mem, "runtime": runtime}


def share_gpus(workflow: Any, slots_per_device: int) -> int | None:
    """Let ``slots_per_device`` GPU jobs share each GPU given with ``--resources gpu=N``.

    A job that uses a GPU asks for ``gpu=1``; Snakemake's resources are integers, so a job cannot ask for a
    quarter of a device. Instead the capacity the user gave is counted in slots: ``N × slots_per_device``.
    Returns the new capacity, or None where no ``gpu`` limit was given (a CPU-only run; a cluster profile,
    where every job gets a GPU of its own from SLURM and nothing is shared). Which device a job then uses is
    the job's business (:func:`usvflow.classify.training.pick_device` spreads them).
    """
    if slots_per_device <= 1:
        return None
    provided = workflow.global_resources.get("gpu") if hasattr(workflow, "global_resources") else None
    value = getattr(provided, "value", provided)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    workflow.register_resource("gpu", value * slots_per_device)
    return value * slots_per_device


# --------------------------------------------------------------------------------------------- data notice


def data_notice(config: dict[str, Any], simulated: bool, n_recordings: int) -> dict[str, str]:
    """Where this run's data come from, written once and worded for each place that shows it.

    ``caption`` (report captions), ``summary`` (the summary's header), ``cohort`` / ``figure`` / ``note`` /
    ``segment`` / ``movie`` (the ``dataset`` line of the stats files and the notes drawn in figures)."""
    preset, sim = config["preset"], config["simulation"]
    if simulated:
        seed = sim["seed"]
        return {
            "caption": f"SIMULATED data (usvflow simulator, preset {preset}, seed {seed}); not the papers' mice",
            "summary": (f"the SIMULATED cohort (preset `{preset}`, seed {seed}, {n_recordings} recordings at "
                        f"{sim['sample_rate_hz']} Hz); not the papers' real mice"),
            "cohort": f"SIMULATED cohort (preset {preset}, seed {seed})",
            "short": f"SIMULATED (preset {preset}, seed {seed})",
            "note": f"SIMULATED data (preset {preset}, seed {seed})",
            "segment": f"SIMULATED data: usvflow simulator, preset '{preset}', seed {seed}",
            "movie": "SIMULATED data",
            "reading": ("What a run on simulated data shows: whether the pipeline recovers the effects the "
                        "simulator put into the calls, and at what strength. What it cannot show: anything about "
                        "the biology of real mice, which only the papers' recordings (or yours) can."),
        }
    sheet = config["samples"]
    return {
        "caption": f"the recordings of sample sheet {sheet}",
        "summary": f"the recordings of sample sheet `{sheet}` ({n_recordings} recordings)",
        "cohort": f"sample sheet {sheet}",
        "short": f"sample sheet {sheet}",
        "note": f"Data: sample sheet {sheet}",
        "segment": f"recordings of sample sheet {sheet}",
        "movie": f"sample sheet {sheet}",
        "reading": "",
    }


# --------------------------------------------------------------------------------------------- declared inputs


def realdata_files(realdata_dir: str | Path) -> list[str]:
    """Every file of the real annotated clips that a rule reads: ``<clip>/recording.wav``, ``truth.csv`` and
    the peer tools' ``peers/<tool>.csv``, sorted."""
    root = Path(realdata_dir)
    files = [p for clip in sorted(root.glob("*/truth.csv"))
             for p in [clip.parent / "recording.wav", clip, *sorted((clip.parent / "peers").glob("*.csv"))]]
    return [str(p) for p in files]


def realdata_root(files: Iterable[str]) -> str:
    """The folder of the real clips, from the declared files of :func:`realdata_files`."""
    truth = next((Path(f) for f in files if Path(f).name == "truth.csv"), None)
    return str(truth.parent.parent) if truth is not None else ""


def folder_of(files: Iterable[str], up: int = 1) -> str:
    """The folder ``up`` levels above the first of ``files`` ("" when there are none): a script's paths come
    from its declared inputs, never typed in twice."""
    files = list(files)
    return str(Path(files[0]).parents[up - 1]) if files else ""
