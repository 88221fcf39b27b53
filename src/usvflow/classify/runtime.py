"""How a network runs on its device: numeric precision, the speed switches, determinism, and which GPU a job
takes when several are present.

Every switch is a setting (``train.runtime`` in config.yaml); ``auto`` means what standard practice
recommends for the device the job runs on:

============== ========================== ==========================================================
setting        ``auto`` on CUDA           ``auto`` on CPU / why
============== ========================== ==========================================================
precision      bf16 autocast (where the   fp32: bf16 autocast measured 1.0-1.3x fp32 on 2 shared CPU
               GPU supports bf16, else    cores (within load noise), and the default preset's results
               fp32)                      stay what they were
deterministic  off (autotuned and atomic  on: costs nothing on CPU, and the same config gives the
               kernels allowed)           same tables
cudnn_benchmark on unless deterministic   (CUDA only) autotuning picks the fastest convolution per
                                          shape; the choice can differ between runs
tf32           on unless deterministic    (CUDA only) fp32 matmuls/convolutions on TF32 tensor
                                          cores (10-bit mantissa)
channels_last  on                         off: measured no faster on CPU (benchmarks/train_speed.py)
compile        off                        off: ``torch.compile`` costs compile time in every job (default CNN
                                          on 2 shared CPU cores: +54 s per job for 53 -> 85 calls/s)
============== ========================== ==========================================================

The trade-off: with ``deterministic: false`` two CUDA runs of the same config differ in the last bits (cuDNN
picks algorithms by timing, some backward kernels add in a non-fixed order), and so may their accuracies by
a call or two; ``deterministic: true`` gives bit-identical reruns on the same GPU model, slower.
A CPU run and a CUDA run never share random streams (torch draws differently on each), so their numbers
differ even in fp32.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch

__all__ = ["Runtime", "runtime_from", "configure_backends", "autocast", "claim_gpu_slot", "slot_dir"]

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class Runtime:
    """Concrete switches for one device (no ``auto`` left): see the module docstring."""

    precision: str = "fp32"
    deterministic: bool = True
    cudnn_benchmark: bool = False
    tf32: bool = False
    channels_last: bool = False
    compile: bool = False

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return torch.bfloat16 if self.precision == "bf16" else None


def _flag(value: Any, auto: bool, name: str) -> bool:
    if value in (None, "auto"):
        return auto
    if isinstance(value, bool):
        return value
    raise ValueError(f"train.runtime.{name} must be true, false or auto, got {value!r}")


def runtime_from(settings: dict[str, Any] | None, device: torch.device) -> Runtime:
    """The switches of ``settings['runtime']`` (a config block, ``auto`` allowed) resolved for ``device``."""
    r = dict((settings or {}).get("runtime", {}) or {})
    unknown = set(r) - {"precision", "deterministic", "cudnn_benchmark", "tf32", "channels_last", "compile"}
    if unknown:
        raise ValueError(f"unknown train.runtime setting(s): {sorted(unknown)}")
    cuda = device.type == "cuda"
    precision = r.get("precision", "auto") or "auto"
    if precision not in PRECISIONS:
        raise ValueError(f"train.runtime.precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        precision = "bf16" if cuda and torch.cuda.is_bf16_supported() else "fp32"
    deterministic = _flag(r.get("deterministic"), not cuda, "deterministic")
    return Runtime(
        precision=precision,
        deterministic=deterministic,
        cudnn_benchmark=cuda and _flag(r.get("cudnn_benchmark"), not deterministic, "cudnn_benchmark"),
        tf32=cuda and _flag(r.get("tf32"), not deterministic, "tf32"),
        channels_last=_flag(r.get("channels_last"), cuda, "channels_last"),
        compile=_flag(r.get("compile"), False, "compile"),
    )


def configure_backends(rt: Runtime) -> None:
    """Set torch's process-wide switches for ``rt`` (call after seeding, before building the optimiser)."""
    if rt.deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(rt.deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = rt.deterministic
    torch.backends.cudnn.benchmark = rt.cudnn_benchmark and not rt.deterministic
    torch.backends.cuda.matmul.allow_tf32 = rt.tf32
    torch.backends.cudnn.allow_tf32 = rt.tf32


def autocast(rt: Runtime, device: torch.device) -> contextlib.AbstractContextManager:
    """The forward pass's precision context: bf16 autocast, or nothing (fp32)."""
    if rt.amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=rt.amp_dtype)


# --------------------------------------------------------------------------------------------- GPU slots

#: Slot locks held by this process (one per slot directory), released when the process ends.
_HELD: dict[str, tuple[int, int]] = {}


def slot_dir() -> Path:
    """Where the jobs of this machine and user claim GPU slots (lock files; the OS frees a dead job's lock)."""
    return Path(os.environ.get("USVFLOW_GPU_SLOT_DIR") or Path(tempfile.gettempdir()) / f"usvflow-gpu-slots-{os.getuid()}")


def claim_gpu_slot(directory: str | os.PathLike | None = None, max_slots: int = 1024) -> int:
    """The lowest slot number no other running process holds, claimed until this process exits.

    Snakemake counts the ``gpu`` resource but does not say which device a job got. Each training job
    therefore takes the first free slot here and uses device ``slot % device_count``: with
    ``--resources gpu=N`` (times ``gpu_slots_per_device``) at most that many jobs run, they fill the devices
    in turn, and a job that ends (or crashes) frees its slot for the next. Repeated calls in one process
    return the same slot.
    """
    d = Path(directory) if directory is not None else slot_dir()
    key = str(d.resolve())
    if key in _HELD:
        return _HELD[key][0]
    d.mkdir(parents=True, exist_ok=True)
    for slot in range(max_slots):
        fd = os.open(d / f"slot{slot}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _HELD[key] = (slot, fd)
        return slot
    raise RuntimeError(f"no free GPU slot among {max_slots} in {d}")


def release_gpu_slot(directory: str | os.PathLike | None = None) -> None:
    """Give back this process's slot early (normally the OS does it at exit)."""
    d = Path(directory) if directory is not None else slot_dir()
    held = _HELD.pop(str(d.resolve()), None)
    if held is not None:
        os.close(held[1])


@contextlib.contextmanager
def held_slot(directory: str | os.PathLike | None = None) -> Iterator[int]:
    """:func:`claim_gpu_slot` for the duration of a ``with`` block (tests, notebooks)."""
    slot = claim_gpu_slot(directory)
    try:
        yield slot
    finally:
        release_gpu_slot(directory)
