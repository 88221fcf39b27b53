"""Training throughput of the spectrogram CNN (calls per second per epoch, augmentation included), on CPU and
on a GPU when one is present, for the presets of config.yaml; and what that means for a full
leave-one-animal-out run of the sex and strain cohorts.

    python benchmarks/train_speed.py                       # default + paper presets, every device present
    python benchmarks/train_speed.py --preset paper --device cuda --calls 4096 --epochs 3

The calls are random 100×100 uint8 images (throughput does not depend on their content). The first epoch
warms up (allocations, cuDNN autotuning) and is not counted.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from usvflow.classify.inputs import Stage, augmentation_from, prepare_images  # noqa: E402
from usvflow.classify.models import build_model, count_parameters  # noqa: E402
from usvflow.classify.tasks import train_settings
from usvflow.classify.training import train_network

# Paper scale (SPEC §2): sex cohort 17 animals, ~10,000 calls; strain cohort 12 animals, ~4,400 calls.
PAPER_COHORTS = {"sex": (17, 10_000), "strain": (12, 4_400)}


def throughput(settings: dict, device: torch.device, n_calls: int, epochs: int, seed: int = 0) -> dict:
    """Calls per second over ``epochs`` timed epochs (after one warm-up epoch) of the sex CNN."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n_calls, 100, 100), dtype=np.uint8)
    images[:, :, 60:] = 0  # calls shorter than 100 ms, as most are
    x, lengths = prepare_images(images, int(settings["cnn"].get("input_size", 100)))
    y = rng.integers(0, 2, n_calls)
    model = build_model("cnn", 2, settings["cnn"])
    aug = augmentation_from(settings)
    idx = np.arange(n_calls)
    test = idx[: min(256, n_calls)]
    augment = lambda b, g: [aug.images(b[0], b[1], g), b[1]]  # noqa: E731

    class Wrap(torch.nn.Module):  # the lengths ride along for augmentation; the network sees the images
        def __init__(self, inner):
            super().__init__()
            self.inner, self.n_classes = inner, inner.n_classes

        def forward(self, xb, _lengths):
            return self.inner(xb)

        def set_dropout(self, p):
            self.inner.set_dropout(p)

    net = Wrap(model)
    common = dict(augment=augment, batch_size=int(settings.get("batch_size", 64)), curve_every=10**9,
                  device=device, log=None)
    train_network(net, [x, lengths], y, idx, test, [Stage(1, 1e-3, 0.5)], 2, seed, **common)  # warm-up
    if device.type == "cuda":
        torch.cuda.synchronize()
    res = train_network(net, [x, lengths], y, idx, test, [Stage(epochs, 1e-3, 0.5)], 2, seed, **common)
    return {"calls_per_s": res.train_calls_seen / res.seconds, "seconds_per_epoch": res.seconds / epochs,
            "parameters": count_parameters(model)}


def loao_estimate(settings: dict, calls_per_s: float) -> float:
    """Seconds for every leave-one-animal-out CNN fold (and its shuffled control) of both paper cohorts."""
    epochs = {p: sum(int(s["epochs"]) for s in settings["protocols"][p]) for p in settings["protocols"]}
    total_calls = 0.0
    for n_animals, n_calls in PAPER_COHORTS.values():
        train_calls = n_calls * (n_animals - 1) / n_animals
        total_calls += 2 * n_animals * epochs["spectrogram"] * train_calls
    return total_calls / calls_per_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", action="append", help="preset(s) of config.yaml (default: default and paper)")
    ap.add_argument("--device", action="append", help="cpu / cuda (default: cpu, and cuda when present)")
    ap.add_argument("--calls", type=int, default=0, help="calls per epoch (default: 1536 on CPU, 8192 on GPU)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config.yaml"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with open(args.config) as fh:
        config = yaml.safe_load(fh)
    presets = args.preset or ["default", "paper"]
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, CUDA "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}")
    print(f"{'preset':8} {'device':6} {'params':>10} {'calls/s':>9} {'s/epoch':>8} {'calls':>6}  full paper-scale LOAO (sex+strain, +shuffled)")
    for preset in presets:
        settings = train_settings({**config, "preset": preset})
        for dev in devices:
            device = torch.device(dev)
            n = args.calls or (8192 if device.type == "cuda" else (1536 if preset != "paper" else 256))
            r = throughput(settings, device, n, args.epochs)
            est = loao_estimate(settings, r["calls_per_s"])
            print(f"{preset:8} {dev:6} {r['parameters']:>10,} {r['calls_per_s']:>9.0f} {r['seconds_per_epoch']:>8.2f} "
                  f"{n:>6}  {est / 3600:.2f} h", flush=True)


if __name__ == "__main__":
    main()
