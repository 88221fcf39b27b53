"""How much did the truth masks of the SqueakOut crops shrink when each frame saw only its own window? (issues 18, 23)

    python benchmarks/truth_mask_width.py RUN

RUN is a workflow directory after its simulation, detection and ``segment_dataset`` jobs (e.g. a finished default
run). Its segmentation crops are built twice with the library's builder (:func:`usvflow.segment.dataset.build_dataset`,
called as the ``segment_dataset`` rule calls it, from RUN's config, simulated wav files, truth and detections):
once as it is, each crop frame taking the contour only from its own window (``render_mask(..., frame_s=window)``),
and once with ``render_mask``'s default frame, two hops, as before the fix; on the crops' grid without overlap
(window = hop) that let every column take its neighbours' contour too. Prints, old vs new: mean truth pixels per
crop (all crops, call crops, test call crops), mean mask height per occupied column and occupied columns per
call crop, truth blobs only one column wide, and the threshold baseline's Dice and accuracy on the test call
crops (Table 1's row: mean of per-image scores, in percent). Needs no training. When RUN holds
``results/segment/dataset.npz`` it also says which of the two truths that file holds and whether its images and
threshold masks are those rebuilt here. Native crops only (``size: 0``, the default preset). About 90 s for the
default cohort's 3,000 crops on one core.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import scipy.ndimage as ndi
import yaml

from usvflow.audio.io import inspect_wav
from usvflow.audio.stft import window_samples
from usvflow.segment import dataset
from usvflow.segment.crops import grid_from_config
from usvflow.segment.dataset import build_dataset, load_dataset, mean_sem_pct, score_masks
from usvflow.segment.settings import segment_settings
from usvflow.simulate.recording import render_mask


def build(run: Path, config: dict, old: bool) -> dict:
    """The ``segment_dataset`` rule's crops of ``run``, built by the library; ``old``: with the truth rendered as
    before issue 18's fix, ``render_mask``'s default frame (two hops) instead of the grid's window."""
    s = segment_settings(config)
    samples = pd.read_csv(run / "results/simulated/samples.tsv", sep="\t", keep_default_na=False)
    samples = samples.set_index("recording")
    samples["path"] = [str(run / p) for p in samples["path"]]
    detector = config["dataset"]["detector"]
    detections = {r: run / f"results/extract/{detector}/{r}.calls.csv" for r in samples.index}
    kwargs = dict(noise_per_call=s["noise_per_call"], test_fraction=s["test_fraction"],
                  val_fraction=s["val_fraction"], seed=s["seed"], channel=config["channel"],
                  max_calls_per_recording=s["max_calls_per_recording"], log=lambda _: None)
    grid, truth_dir = grid_from_config(s), run / "results/simulated/truth"
    if not old:
        return build_dataset(samples, detections, grid, truth_dir, **kwargs)

    def two_hop_frames(*args, frame_s=None, **kw):
        return render_mask(*args, **kw)

    with mock.patch.object(dataset, "render_mask", two_hop_frames):
        return build_dataset(samples, detections, grid, truth_dir, **kwargs)


def one_column_blobs(masks: np.ndarray) -> tuple[int, int, int]:
    """(blobs exactly one column wide, those of them on the crop's first or last column, all blobs) over a
    stack of masks (8-connected)."""
    narrow = edge = total = 0
    for m in masks:
        lab, _ = ndi.label(m, structure=np.ones((3, 3)))
        for sl in ndi.find_objects(lab):
            total += 1
            if sl[1].stop - sl[1].start == 1:
                narrow += 1
                edge += sl[1].start in (0, m.shape[1] - 1)
    return narrow, edge, total


def shape_figures(masks: np.ndarray) -> tuple[float, float]:
    """Mean mask height (pixels) of an occupied column, and mean occupied columns per mask with any pixel."""
    cols = masks.any(axis=1)  # (n, time)
    height = masks.sum(axis=1)[cols].mean() if cols.any() else float("nan")
    occupied = cols.sum(axis=1)
    return float(height), float(occupied[occupied > 0].mean()) if (occupied > 0).any() else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a workflow directory after its segment_dataset job")
    run = ap.parse_args(argv).run.resolve()
    config = yaml.safe_load((run / "config.yaml").read_text())
    grid = grid_from_config(segment_settings(config))
    if grid.size:
        sys.exit(f"{run}: crops resized to {grid.size} px; this check rebuilds native crops (size: 0) only")
    data, before = build(run, config, old=False), build(run, config, old=True)
    same_crops = all(np.array_equal(data[k], before[k]) for k in ("images", "threshold"))
    fs = inspect_wav(run / "results/simulated/wav" / f"{data['meta']['recording'].iloc[0]}.wav").sample_rate
    frame_s = window_samples(grid.window_s, fs) / fs
    new, old = data["truth"], before["truth"]
    meta = data["meta"]
    call = (meta["kind"] == "call").to_numpy()
    test = call & (meta["split"] == "test").to_numpy()

    print(f"run: {run}")
    print(f"grid: window {grid.window_s * 1e3:g} ms, hop {grid.hop_s * 1e3:g} ms, {grid.n_freq} x {grid.n_frames} px; "
          f"old frame {2 * grid.hop_s * 1e3:g} ms (two hops), new frame {frame_s * 1e3:g} ms (the window)")
    print(f"crops: {len(meta)} ({int(call.sum())} call, {int(test.sum())} test call); images and threshold masks "
          f"of the two builds equal: {same_crops}")
    print(f"{'':44s}{'old':>10s}{'new':>10s}{'new/old':>9s}")

    def row(label: str, a: float, b: float, digits: int = 1) -> None:
        print(f"{label:44s}{a:10.{digits}f}{b:10.{digits}f}{b / a if a else float('nan'):9.3f}")

    for name, sel in (("all crops", slice(None)), ("call crops", call), ("test call crops", test)):
        row(f"mean truth pixels per crop, {name}", old[sel].sum((1, 2)).mean(), new[sel].sum((1, 2)).mean())
    (h_old, c_old), (h_new, c_new) = shape_figures(old[call]), shape_figures(new[call])
    row("mean height of an occupied column (px)", h_old, h_new, 2)
    row("mean occupied columns per call crop", c_old, c_new, 2)
    for label, masks in (("old", old), ("new", new)):
        narrow, edge, total = one_column_blobs(masks[call])
        print(f"truth blobs one column wide ({label}): {narrow} of {total} in the call crops, {edge} of them on "
              f"the crop's first or last column")
    for metric in ("dice", "accuracy"):
        a = [mean_sem_pct(score_masks(data["threshold"][test], t[test])[metric]) for t in (old, new)]
        print(f"threshold baseline {metric} on test call crops (%): old {a[0][0]:.2f} ± {a[0][1]:.2f}, "
              f"new {a[1][0]:.2f} ± {a[1][1]:.2f} (mean ± SEM over images)")
    stored = run / "results/segment/dataset.npz"
    if stored.exists():
        z = load_dataset(stored)
        which = ("old" if np.array_equal(z["truth"], old) else "new" if np.array_equal(z["truth"], new)
                 else "neither") if z["truth"] is not None and z["truth"].shape == new.shape else "neither"
        print(f"{stored.relative_to(run)}: truth is the {which} one; images equal: "
              f"{np.array_equal(z['images'], data['images'])}; threshold masks equal: "
              f"{np.array_equal(z['threshold'], data['threshold'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
