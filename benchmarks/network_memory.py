"""Peak memory of one Fig 6 fold (rule network_fold) at a preset's scale, to size its ``mem_mb``.

    python benchmarks/network_memory.py --preset paper          # ~11 GB, several minutes on one core
    python benchmarks/network_memory.py --preset paper --calls-per-animal 30 --deconv 1   # ~5 GB, ~2 min

The analysis runs on the CPU in the workflow (rule network_fold asks for no GPU), so this measures host memory
(peak RSS) and takes no ``--device``. The peak grows by ~9 MB per held-out call on top of a fixed part for the
300 reference calls; two small runs (``--calls-per-animal 30`` and ``90``) give the line to extrapolate.

A network of the preset's architecture (untrained: memory does not depend on the weights), a cohort of the
paper's size (17 animals x 590 calls, random left-aligned 100 x 100 images), one held-out animal analysed as
``usvflow.interpret.layers.analyse_fold`` does it in the workflow, with the config's ``network`` settings
(``--deconv`` overrides the number of deconvolved calls; deconvolution adds time, little memory).
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from usvflow.classify.inputs import prepare_images  # noqa: E402
from usvflow.classify.models import build_model, layer_names  # noqa: E402
from usvflow.classify.tasks import train_settings  # noqa: E402
from usvflow.interpret.layers import analyse_fold  # noqa: E402
from usvflow.interpret.settings import NetworkSettings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="paper")
    ap.add_argument("--animals", type=int, default=17)
    ap.add_argument("--calls-per-animal", type=int, default=590)
    ap.add_argument("--deconv", type=int, default=None, help="deconvolved calls per fold (default: the config's)")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config.yaml"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    with open(args.config) as fh:
        config = yaml.safe_load(fh)
    settings = train_settings({**config, "preset": args.preset})
    rng = np.random.default_rng(0)
    animals = [f"{'F' if i % 2 else 'M'}{i:02d}" for i in range(args.animals)]
    n = args.calls_per_animal
    table = pd.DataFrame({"call_uid": [f"{a}#{i}" for a in animals for i in range(n)],
                          "animal": np.repeat(animals, n), "sex": np.repeat([a[0] for a in animals], n)})
    images = rng.integers(0, 256, (len(table), 100, 100), dtype=np.uint8)
    for i, length in enumerate(rng.integers(5, 101, len(table))):
        images[i, :, length:] = 0
    model = build_model("cnn", 2, settings["cnn"]).eval()
    x, _ = prepare_images(images, int(settings["cnn"].get("input_size", 100)))
    net = dict(config["network"])
    if args.deconv is not None:
        net["deconv_calls_per_animal"] = args.deconv
    network = NetworkSettings.from_config({k: v for k, v in net.items() if k in NetworkSettings.__dataclass_fields__})
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t = time.perf_counter()
    analyse_fold(model, x, table, animals[0], network, layer_names(model))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"preset {args.preset}: {len(table)} calls, {n} held out; peak RSS {peak:,.0f} MB (inputs and model "
          f"{before:,.0f} MB); {time.perf_counter() - t:.0f} s; {network.deconv_calls_per_animal} deconvolved calls")


if __name__ == "__main__":
    main()
