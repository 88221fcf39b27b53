"""Training throughput of the spectrogram CNN against the arithmetic it does, per device and precision, and the
wall time that means for the paper-scale leave-one-animal-out runs.

    python benchmarks/train_speed.py                          # default + paper presets, every device present
    python benchmarks/train_speed.py --preset paper --calls 512 --epochs 1
    python benchmarks/train_speed.py --preset default --variants channels_last,compile   # speed switches
    python benchmarks/train_speed.py --preset paper --device cuda --peak-tflops 989   # H200 dense bf16 peak

For each preset, device (CPU; CUDA when torch sees a GPU) and precision (fp32; mixed = bf16 autocast where the
device supports it) it prints:

* ``GFLOP/call``: floating-point operations of one training step per call (forward + backward, batch of the
  preset's size), **counted** by ``torch.utils.flop_counter.FlopCounterMode`` on the real network (convolutions
  and matrix products; batch norm, ReLU, the optimiser and augmentation are not counted, which makes the
  achieved rate a slight underestimate);
* ``calls/s``: calls per second through the real training loop (``usvflow.classify.training.train_network``:
  augmentation, loss, Adam, the weight-change bookkeeping), after one warm-up epoch (allocation, cuDNN
  autotuning, compilation) that is not counted; and the same for evaluation (forward only, batches of 512);
* ``TFLOP/s``: GFLOP/call x calls/s: what the device achieves on this network;
* the projected wall time of the paper-scale leave-one-animal-out runs, one job after another on this one
  device: sex (17 folds, ~10,000 calls) and strain (12 folds, ~4,400 calls), each fold training the CNN and
  its shuffled control on ``shuffle_repeats`` permutations (``1 + shuffle_repeats`` trainings), with the
  preset's protocol (epochs), its learning-curve evaluations every ``curve_every`` iterations, the batch-norm
  recalibration pass and the final test pass.

The calls are random 100 x 100 uint8 images cut to random lengths (throughput does not depend on their content).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from usvflow.classify.inputs import Stage, augmentation_from, prepare_images  # noqa: E402
from usvflow.classify.models import build_model, count_parameters  # noqa: E402
from usvflow.classify.runtime import Runtime, autocast, runtime_from  # noqa: E402
from usvflow.classify.tasks import train_settings  # noqa: E402
from usvflow.classify.training import _predict_proba, train_network  # noqa: E402

# Paper scale (SPEC §2; Ivanenko et al. 2020): sex cohort 17 animals, ~10,000 calls; strain 12 animals, ~4,400.
PAPER_COHORTS = {"sex": (17, 10_000), "strain": (12, 4_400)}


class _WithLengths(torch.nn.Module):
    """The lengths ride along for augmentation; the network sees the images (as in usvflow.classify.folds)."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner, self.n_classes = inner, inner.n_classes

    def forward(self, xb: torch.Tensor, *_helpers: torch.Tensor) -> torch.Tensor:
        return self.inner(xb)

    def set_dropout(self, p: float) -> None:
        self.inner.set_dropout(p)


def fake_calls(n: int, input_size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 100, 100), dtype=np.uint8)
    for i, length in enumerate(rng.integers(5, 101, n)):
        images[i, :, length:] = 0  # left-aligned calls of 5-100 ms
    x, lengths = prepare_images(images, input_size)
    return x, lengths, rng.integers(0, 2, n)


def flops_per_call(settings: dict, device: torch.device, rt: Runtime) -> tuple[float, float]:
    """Counted FLOPs per call of one training step (forward + backward) and of one forward pass."""
    s = int(settings["cnn"].get("input_size", 100))
    b = int(settings.get("batch_size", 64))
    model = build_model("cnn", 2, settings["cnn"]).to(device)
    x = torch.rand(b, 1, s, s, device=device)
    counter = FlopCounterMode(display=False)
    with counter, autocast(rt, device):
        model(x).float().sum().backward()
    train = counter.get_total_flops() / b
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad(), autocast(rt, device):
        model(x)
    return train, counter.get_total_flops() / b


def throughput(settings: dict, device: torch.device, rt: Runtime, n_calls: int, epochs: int, seed: int = 0) -> dict:
    """Training and evaluation calls per second of the preset's CNN through the real loop."""
    x, lengths, y = fake_calls(n_calls, int(settings["cnn"].get("input_size", 100)), seed)
    net = _WithLengths(build_model("cnn", 2, settings["cnn"]))
    aug = augmentation_from(settings)
    idx = np.arange(n_calls)

    def augment(b: list[torch.Tensor], g: torch.Generator) -> list[torch.Tensor]:
        return [aug.images(b[0], b[1], g), b[1]]

    common = dict(augment=augment, batch_size=int(settings.get("batch_size", 64)), curve_every=10**9,
                  device=device, log=None, recalibrate_bn=False, runtime=rt)
    train_network(net, [x, lengths], y, idx, idx[:64], [Stage(1, 1e-3, 0.5)], 2, seed, **common)  # warm-up
    res = train_network(net, [x, lengths], y, idx, idx[:64], [Stage(epochs, 1e-3, 0.5)], 2, seed, **common)
    # Evaluation: forward passes in batches of 512 without gradients (learning curve, final test, BN pass).
    model = net.to(device)
    if rt.channels_last:
        model.to(memory_format=torch.channels_last)
    x_d, idx_d = x.to(device), torch.as_tensor(idx, device=device)
    amp = (lambda: autocast(rt, device))  # noqa: E731
    _predict_proba(model, [x_d], idx_d[:512], 2, amp=amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    t = time.perf_counter()
    for _ in range(max(1, epochs)):
        _predict_proba(model, [x_d], idx_d, 2, amp=amp)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    eval_rate = max(1, epochs) * n_calls / (time.perf_counter() - t)
    return {"train_calls_per_s": res.train_calls_seen / res.seconds, "eval_calls_per_s": eval_rate,
            "parameters": count_parameters(net), "iterations": res.iterations}


def paper_scale_work(settings: dict) -> dict[str, tuple[float, float]]:
    """Calls through training steps and through forward-only passes of every leave-one-animal-out CNN fold,
    with its controls, of each paper-scale cohort."""
    epochs = sum(int(s["epochs"]) for s in settings["protocols"]["spectrogram"])
    repeats = 1 + int(settings.get("shuffle_repeats", 1))
    batch = int(settings.get("batch_size", 64))
    every = int(settings.get("curve_every", 10))
    out = {}
    for cohort, (n_animals, n_calls) in PAPER_COHORTS.items():
        n_test = n_calls / n_animals
        n_train = n_calls - n_test
        iterations = epochs * np.ceil(n_train / batch)
        train_calls = epochs * n_train
        eval_calls = (iterations // every) * n_test + n_train + n_test  # curve records, BN pass, final test
        out[cohort] = (n_animals * repeats * train_calls, n_animals * repeats * eval_calls)
    return out


def paper_scale_seconds(settings: dict, train_rate: float, eval_rate: float) -> dict[str, float]:
    """Seconds of the paper-scale leave-one-animal-out runs on one device, one job after another."""
    return {c: train / train_rate + evals / eval_rate for c, (train, evals) in paper_scale_work(settings).items()}


def _fmt_time(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.1f} min"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", action="append", help="preset(s) of config.yaml (default: default and paper)")
    ap.add_argument("--device", action="append", help="cpu / cuda / cuda:1 (default: cpu, and cuda when present)")
    ap.add_argument("--precision", action="append", choices=["fp32", "mixed"],
                    help="default: fp32 and mixed (bf16 autocast; skipped on a GPU without bf16)")
    ap.add_argument("--variants", default="",
                    help="comma-separated speed switches to time on top of each precision: channels_last, compile")
    ap.add_argument("--calls", type=int, default=0, help="calls per epoch (default: 8192 on GPU; on CPU 1024, 256 paper)")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (after one warm-up epoch)")
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (default: torch's choice)")
    ap.add_argument("--peak-tflops", type=float, default=0.0,
                    help="the device's peak TFLOP/s at the timed precision (from its datasheet): adds a "
                         "'%% peak' column and the arithmetic-bound time of the sex LOAO")
    ap.add_argument("--config", default=str(Path(__file__).resolve().parents[1] / "config.yaml"))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    with open(args.config) as fh:
        config = yaml.safe_load(fh)
    presets = args.preset or ["default", "paper"]
    devices = args.device or (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    precisions = args.precision or ["fp32", "mixed"]
    variants = [""] + [v for v in args.variants.split(",") if v]
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "not available"
    print(f"torch {torch.__version__}, CPU threads {torch.get_num_threads()}, CUDA {gpu}")
    print(f"{'preset':8} {'device':7} {'precision':9} {'switches':14} {'params':>10} {'GFLOP/call':>10} "
          f"{'calls/s':>8} {'eval/s':>8} {'TFLOP/s':>8} {'% peak' if args.peak_tflops else '':>6}  "
          "paper-scale LOAO: sex 17 folds | strain 12 | per sex fold")
    for preset in presets:
        settings = train_settings({**config, "preset": preset})
        work = paper_scale_work(settings)
        train_flops, eval_flops = flops_per_call(settings, torch.device("cpu"), Runtime())
        arithmetic = {c: (t * train_flops + e * eval_flops) / 1e15 for c, (t, e) in work.items()}
        line = (f"# {preset}: counted arithmetic of the paper-scale LOAO runs (training steps + evaluation passes): "
                f"sex {arithmetic['sex']:.3g} PFLOP, strain {arithmetic['strain']:.3g} PFLOP; at a sustained R "
                f"TFLOP/s, sex takes {arithmetic['sex'] * 1000 / 60:.3g} / R min")
        if args.peak_tflops:
            line += (f"; at the given peak {args.peak_tflops:g} TFLOP/s: "
                     f"{_fmt_time(arithmetic['sex'] * 1000 / args.peak_tflops)}")
        print(line)
        for dev in devices:
            device = torch.device(dev)
            n = args.calls or (8192 if device.type == "cuda" else (256 if preset == "paper" else 1024))
            for precision in precisions:
                for variant in variants:
                    switches = {"precision": "bf16" if precision == "mixed" else "fp32", "deterministic": False,
                                "channels_last": variant == "channels_last", "compile": variant == "compile"}
                    rt = runtime_from({"runtime": switches}, device)
                    if precision == "mixed" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
                        print(f"{preset:8} {dev:7} {precision:9} bf16 not supported on this GPU")
                        continue
                    train_flops, _ = flops_per_call(settings, device, rt)
                    r = throughput(settings, device, rt, n, args.epochs)
                    est = paper_scale_seconds(settings, r["train_calls_per_s"], r["eval_calls_per_s"])
                    tflops = train_flops * r["train_calls_per_s"] / 1e12
                    peak = f"{100 * tflops / args.peak_tflops:.1f}" if args.peak_tflops else ""
                    print(f"{preset:8} {dev:7} {precision:9} {variant or '-':14} {r['parameters']:>10,} "
                          f"{train_flops / 1e9:>10.3f} {r['train_calls_per_s']:>8.0f} {r['eval_calls_per_s']:>8.0f} "
                          f"{tflops:>8.3f} {peak:>6}  {_fmt_time(est['sex']):>10} | {_fmt_time(est['strain'])} | "
                          f"{_fmt_time(est['sex'] / PAPER_COHORTS['sex'][0])}", flush=True)


if __name__ == "__main__":
    main()
