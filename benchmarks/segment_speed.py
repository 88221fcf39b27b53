"""Speed of SqueakOut (and the U-Net it is compared with): inference of a batch of 64 and one training epoch at
the paper preset's settings, on the device the workflow would use (CUDA when present) and on the CPU.

    python benchmarks/segment_speed.py                        # the workflow's device (and the CPU, if that is a GPU)
    python benchmarks/segment_speed.py --threads 2 --epoch-batches 5
    python benchmarks/segment_speed.py --unet --json out.json

The paper: a batch of 64 512×512 spectrograms in < 0.035 s on a gaming GPU and ~8 s on a CPU, for the 4.6 M
parameter network. Weights are random (speed does not depend on them). Inference: the median of ``--repeats``
forward passes after one warm-up, in evaluation mode without gradients (on a GPU also in half precision,
autocast, as deployed inference would use). Epoch: the paper preset's training (batch 8 of 512 × 512 crops, Adam,
the hybrid loss and the paper's augmentations) over ``--epoch-images`` images (default 10,895: the paper's
12,954 images less its 849 test images, 90 % of the rest); ``--epoch-batches N`` times the first N batches only
and extrapolates to the epoch (the default on a CPU, where an epoch takes about half an hour).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from usvflow.classify.training import pick_device  # noqa: E402
from usvflow.segment.models import SqueakOut, UNet, count_parameters  # noqa: E402
from usvflow.segment.training import epoch_seconds, inference_seconds  # noqa: E402

PAPER_TRAIN_IMAGES = round((12_954 - 849) * 0.9)


def networks(unet: bool) -> dict[str, torch.nn.Module]:
    """The paper-scale SqueakOut (width 1), and with ``unet`` the standard U-Net (base 64, depth 4)."""
    nets = {"SqueakOut": SqueakOut(width=1.0)}
    if unet:
        nets["U-Net"] = UNet(base=64, depth=4)
    return nets


def measure(device: torch.device, nets: dict[str, torch.nn.Module], args: argparse.Namespace) -> list[dict]:
    rows = []
    for name, net in nets.items():
        n_par = count_parameters(net)
        s = inference_seconds(net, (512, 512), batch=64, repeats=args.repeats, device=device)
        rows.append(dict(device=str(device), network=name, parameters=n_par, what="inference 64 x 512x512",
                         seconds=s, images_per_s=64 / s))
        if device.type == "cuda":
            with torch.autocast(device_type="cuda", dtype=torch.float16):
                s16 = inference_seconds(net, (512, 512), batch=64, repeats=args.repeats, device=device)
            rows.append(dict(device=f"{device} fp16", network=name, parameters=n_par,
                             what="inference 64 x 512x512", seconds=s16, images_per_s=64 / s16))
        n_batches = args.epoch_batches or (None if device.type == "cuda" else 10)
        images = args.epoch_images if n_batches is None else min(args.epoch_images, 8 * n_batches)
        t = epoch_seconds(net, (512, 512), images, batch=8, augment=True, device=device)
        epoch = t * args.epoch_images / images
        rows.append(dict(device=str(device), network=name, parameters=n_par,
                         what=f"training epoch of {args.epoch_images} images, batch 8, 512x512"
                              + ("" if images == args.epoch_images else f" (extrapolated from {images // 8} batches)"),
                         seconds=epoch, images_per_s=images / t))
        for r in rows[-3 if device.type == "cuda" else -2:]:
            print(f"{r['device']:>10}  {r['network']:<9} ({r['parameters'] / 1e6:5.2f} M)  {r['what']}: "
                  f"{r['seconds']:9.3f} s  ({r['images_per_s']:8.1f} images/s)", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--epoch-images", type=int, default=PAPER_TRAIN_IMAGES)
    ap.add_argument("--epoch-batches", type=int, default=None,
                    help="time this many batches and extrapolate (default: the whole epoch on a GPU, 10 on a CPU)")
    ap.add_argument("--unet", action="store_true", help="also the standard U-Net (31 M parameters)")
    ap.add_argument("--no-cpu", action="store_true", help="skip the CPU when the workflow's device is a GPU")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device()
    print(f"workflow device: {device}" + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else
                                          f" ({torch.get_num_threads()} thread(s)); no GPU measured"))
    rows = []
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        rows += measure(device, networks(args.unet), args)
    if device.type == "cpu" or not args.no_cpu:
        rows += measure(torch.device("cpu"), networks(args.unet), args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
