"""``usvflow classify``: apply a trained model bundle to a new recording.

    usvflow classify REC.wav --model results/bundles/sex.pt -o calls.csv [--summary rec.json]
                     [--calls TABLE] [--member cnn|classical] [--pair] [--channel N|mean]

Detects the calls (or takes them from ``--calls``), scores each with the bundle's model and writes the call
table with one probability column per class (``p_F``, ``p_M`` for the sex bundle) and the ``predicted`` class.
Prints, and with ``--summary`` writes as JSON, the decision for the recording's emitter from its N calls with
its posterior (calibrated per recording on held-out animals), and with ``--pair`` the estimated share of calls
from each class with its interval. Bad input: one line ``usvflow classify: <file>: <problem>``, exit status 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .detect_cli import _check_writable
from .errors import InputError

#: Files longer than this get a progress bar (when stderr is a terminal or --progress is given).
_PROGRESS_MIN_S = 60.0


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register the ``classify`` subcommand on the ``usvflow`` parser."""
    p = subparsers.add_parser(
        "classify",
        help="apply a trained model bundle to a recording (per-call probabilities, the emitter's class)",
        description="Classify the calls of one recording with a model bundle written by the workflow "
                    "(results/bundles/<task>.pt) and decide the recording's emitter from all its calls.",
    )
    _fill(p)
    p.set_defaults(run=run)
    return p


def _fill(p: argparse.ArgumentParser) -> None:
    p.add_argument("recording", help="WAV file")
    p.add_argument("--model", required=True, metavar="BUNDLE", help="model bundle (results/bundles/<task>.pt)")
    p.add_argument("-o", "--output", required=True, help="per-call table to write (CSV)")
    p.add_argument("--summary", metavar="JSON", help="also write the recording's summary as JSON")
    p.add_argument("--calls", metavar="TABLE",
                   help="use the calls of this table (onset_s, offset_s; e.g. from usvflow detect) instead of "
                        "detecting them")
    p.add_argument("--member", choices=("cnn", "classical"), default=None,
                   help="which of the bundle's models (default: the one with the better leave-one-animal-out "
                        "accuracy)")
    p.add_argument("--pair", action="store_true",
                   help="the recording holds two animals, one of each class: estimate each class's share of "
                        "the calls, corrected for the model's held-out confusion rates")
    p.add_argument("--level", type=float, default=0.95, help="interval level of --pair (default: %(default)s)")
    p.add_argument("--channel", default=None, help="0-based channel index, or 'mean' (default: the bundle's)")
    p.add_argument("--jobs", type=int, default=0, help="detection threads (default: up to 2)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show a progress bar")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show one")


def describe(summary: dict) -> list[str]:
    """The summary as the lines ``usvflow classify`` prints."""
    name = Path(summary["recording"]).name
    n = summary["n_calls"]
    what = f"{summary['task']} bundle, {summary['member']} ({summary['model']})"
    if not summary["decision"]:
        lines = [f"{name}: {n} calls, no decision ({what})"]
    else:
        exp = summary["loao_accuracy_for_this_many_calls"]
        lines = [f"{name}: {n} calls -> {summary['decision']}, posterior {summary['posterior']:.3f} ({what}; "
                 f"held-out animals with {n} calls were decided right {100 * exp:.0f} % of the time)"]
    if "pair" in summary:
        pair = summary["pair"]
        parts = []
        for cls, s in pair["share"].items():
            if s["estimate"] == s["estimate"]:  # not NaN
                parts.append(f"{cls} {100 * s['estimate']:.0f} % ({100 * pair['level']:.0f} % interval "
                             f"{100 * s['low']:.0f}-{100 * s['high']:.0f} %)")
            else:
                parts.append(f"{cls} unknown (interval {100 * s['low']:.0f}-{100 * s['high']:.0f} %)")
        naive = ", ".join(f"{c} {100 * v:.0f} %" for c, v in pair["naive_share"].items())
        lines.append(f"{name}: share of calls {'; '.join(parts)} [called before correction: {naive}]")
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``usvflow classify`` for parsed ``args``; returns the exit status."""
    from .audio.io import inspect_wav
    from .classify.apply import classify_recording, read_call_table
    from .classify.bundle import load_bundle
    from .classify.folds import write_json

    try:
        for target in (args.output, args.summary):
            if target:
                _check_writable(target)
        if not 0 < args.level < 1:
            raise InputError(None, f"--level must lie between 0 and 1, got {args.level}")
        bundle = load_bundle(args.model)
        calls = read_call_table(args.calls) if args.calls else None
        progress = args.progress
        if progress is None:
            progress = sys.stderr.isatty() and inspect_wav(args.recording, min_sample_rate_hz=1).duration_s >= _PROGRESS_MIN_S
        start = time.perf_counter()
        result = classify_recording(bundle, args.recording, member=args.member, calls=calls, channel=args.channel,
                                    pair=args.pair, progress=progress, jobs=args.jobs, level=args.level)
        elapsed = time.perf_counter() - start
        try:
            result.calls.to_csv(args.output, index=False, float_format="%.6g")
            if args.summary:
                write_json(args.summary, result.summary)
        except OSError as exc:
            raise InputError(exc.filename or args.output, f"cannot write ({exc.strerror})") from None
    except InputError as err:
        print(f"usvflow classify: {err}", file=sys.stderr)
        return 2
    for line in describe(result.summary):
        print(line)
    print(f"{result.summary['n_calls']} calls classified in {elapsed:.1f} s -> {args.output}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry (``python -m usvflow.classify_cli``), the same as ``usvflow classify``."""
    parser = argparse.ArgumentParser(prog="usvflow classify", description=__doc__.splitlines()[0])
    _fill(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
