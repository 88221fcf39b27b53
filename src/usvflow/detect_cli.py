"""``usvflow detect``: find the calls in one recording without Snakemake.

    usvflow detect REC.wav -o calls.csv [--method paper|default] [--raven sel.txt] [--features]
                   [--channel N|mean] [--spectrograms calls.npz] [--overview overview.png]

Bad input gives one line ``usvflow detect: <file>: <problem>`` on stderr and exit status 2. A
recording without calls gives a header-only CSV and exit status 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .errors import InputError

#: Files longer than this get a progress bar (when stderr is a terminal or --progress is given).
_PROGRESS_MIN_S = 60.0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``detect`` subcommand on the ``usvflow`` parser."""
    p = subparsers.add_parser(
        "detect",
        help="detect ultrasonic vocalizations in a WAV file",
        description="Detect mouse ultrasonic vocalizations in one recording and write a call table.",
    )
    _fill(p)
    p.set_defaults(run=run)
    return p


def _fill(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="WAV file (PCM or float, any sample rate >= 160 kHz)")
    p.add_argument("-o", "--output", required=True, help="call table to write (CSV)")
    p.add_argument("--method", choices=("default", "paper"), default="default",
                   help="default: the project's detector; paper: Ivanenko et al. 2020 Methods "
                        "(default: %(default)s)")
    p.add_argument("--raven", metavar="SEL.txt", help="also write a Raven Pro selection table")
    p.add_argument("--channel", default="0", help="0-based channel index, or 'mean' (default: %(default)s)")
    p.add_argument("--spectrograms", metavar="CALLS.npz",
                   help="also write the 100x100 uint8 image of every call (see usvflow.detect)")
    p.add_argument("--overview", metavar="PNG", help="also draw the recording with its detections")
    p.add_argument("--features", action="store_true",
                   help="add the paper's per-call features and auto-scored properties as columns "
                        "(the same values the workflow's features stage computes)")
    p.add_argument("--jobs", type=int, default=0, help="threads (default: up to 2)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show one")


def _check_writable(path: str) -> None:
    out = Path(path)
    if out.is_dir():
        raise InputError(out, "is a folder, expected a file name to write")
    parent = out.parent if str(out.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(out, f"cannot create its folder ({exc.strerror})") from None


def run(args: argparse.Namespace) -> int:
    """Run ``usvflow detect`` for parsed ``args``; returns the exit status."""
    from .audio.io import inspect_wav
    from .detect import detect_file, save_spectrograms, write_raven
    from .figures.detection import plot_overview

    try:
        for target in (args.output, args.raven, args.spectrograms, args.overview):
            if target:
                _check_writable(target)
        info = inspect_wav(args.recording)
        progress = args.progress
        if progress is None:
            progress = sys.stderr.isatty() and info.duration_s >= _PROGRESS_MIN_S
        start = time.perf_counter()
        det = detect_file(args.recording, args.method, channel=args.channel, progress=progress,
                          overview=bool(args.overview), jobs=args.jobs)
        calls = det.calls
        if args.features:
            from .features.extract import add_feature_columns

            calls = add_feature_columns(calls, args.recording, channel=args.channel)
        elapsed = time.perf_counter() - start
        try:
            calls.to_csv(args.output, index=False, float_format="%.6g")
            if args.raven:
                ch = int(args.channel) + 1 if str(args.channel).isdigit() else 1
                write_raven(args.raven, det.calls, channel=ch)
            if args.spectrograms:
                save_spectrograms(args.spectrograms, det)
            if args.overview:
                plot_overview(det, args.overview, title=f"{Path(args.recording).name}: {len(det.calls)} calls "
                                                        f"({args.method} detector)")
        except OSError as exc:
            raise InputError(exc.filename or args.output, f"cannot write ({exc.strerror})") from None
    except InputError as err:
        print(f"usvflow detect: {err}", file=sys.stderr)
        return 2
    speed = det.duration_s / elapsed if elapsed > 0 else float("inf")
    print(f"{len(det.calls)} calls in {det.duration_s:.1f} s of audio ({speed:.0f}x real time) -> {args.output}",
          file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m usvflow.detect_cli``), the same as ``usvflow detect``."""
    parser = argparse.ArgumentParser(prog="usvflow detect", description=__doc__.splitlines()[0])
    _fill(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
