"""Inference speed of SqueakOut: images per second at the paper's 512×512 and at native crop size.

    python benchmarks/segment_speed.py                       # CPU (all threads), and the GPU if there is one
    python benchmarks/segment_speed.py --threads 1 --repeats 2
    python benchmarks/segment_speed.py --json out.json

The paper: a batch of 64 512×512 spectrograms in < 0.035 s on a gaming GPU and ~8 s on a CPU, for the 4.6 M
parameter network. Weights are random (speed does not depend on them); every timing is the median of
``--repeats`` forward passes after one warm-up, in evaluation mode without gradients. On a GPU it also times
half precision (autocast), as deployed inference would use.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from usvflow.segment.models import SqueakOut, count_parameters  # noqa: E402
from usvflow.segment.training import inference_seconds


def run(device: str, shapes: list[tuple[int, int]], widths: list[float], batch: int, repeats: int,
        amp: bool = False) -> list[dict]:
    """Time SqueakOut at each (width, shape) on ``device``; returns one row per setting."""
    rows = []
    for width in widths:
        model = SqueakOut(width=width)
        n_par = count_parameters(model)
        for shape in shapes:
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                s = inference_seconds(model, shape, batch=batch, repeats=repeats, device=device)
            rows.append(dict(device=device + (" fp16" if amp else ""), width=width, parameters=n_par,
                             shape=f"{shape[0]}x{shape[1]}", batch=batch, s_per_batch=s, images_per_s=batch / s))
            print(f"{rows[-1]['device']:>10} width {width:<4} ({n_par / 1e6:.2f} M) {rows[-1]['shape']:>7} "
                  f"batch {batch}: {s:8.4f} s/batch, {batch / s:9.1f} images/s", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's choice)")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--native", type=int, nargs=2, default=[96, 96], help="native crop (freq bins, frames)")
    ap.add_argument("--widths", type=float, nargs="+", default=[1.0, 0.35])
    ap.add_argument("--no-cpu", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    shapes = [(512, 512), tuple(args.native)]
    rows = []
    if not args.no_cpu:
        print(f"CPU: {torch.get_num_threads()} thread(s)")
        rows += run("cpu", shapes, args.widths, args.batch, args.repeats)
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name(0)}")
        torch.backends.cudnn.benchmark = True
        rows += run("cuda", shapes, args.widths, args.batch, max(args.repeats, 10))
        rows += run("cuda", shapes, args.widths, args.batch, max(args.repeats, 10), amp=True)
    else:
        print("no GPU available: CPU only")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
