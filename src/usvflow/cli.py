"""The ``usvflow`` command: the library's main entry points without Snakemake.

Every subcommand answers bad input with one line ``usvflow <cmd>: <file>: <problem>`` and exit
status 2; a traceback means a bug.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import __version__
from .classify_cli import add_parser as _classify_parser
from .detect_cli import add_parser as _detect_parser
from .errors import InputError


def _simulate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "simulate",
        help="write a simulated cohort (WAVs, truth tables, sample sheet)",
        description="Generate the simulated Avisoft-like cohort described in docs/simulator.md.",
    )
    p.add_argument("-o", "--out", default="results/simulated", help="output folder (default: %(default)s)")
    p.add_argument("--preset", default=None, help="default, paper or test (default: the config's preset)")
    p.add_argument("--config", default="config.yaml", help="workflow configuration (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="override simulation.seed")
    p.add_argument("-j", "--jobs", type=int, default=2, help="parallel processes (default: %(default)s)")
    p.add_argument("--pairs", type=int, default=0, metavar="N",
                   help="instead of the cohort, write N pair recordings (one female and one male whose calls "
                        "interleave; each call's emitter in the truth) and pairs.tsv")
    p.add_argument("--pair-minutes", type=float, default=None,
                   help="length of each pair recording (default: the preset's sex-cohort minutes)")
    p.set_defaults(run=_run_simulate)


def _schema_dir(config_path: Path) -> Path:
    """schemas/ beside the config, else the one shipped with this checkout."""
    beside = config_path.resolve().parent / "schemas"
    return beside if beside.exists() else Path(__file__).resolve().parents[2] / "schemas"


def _run_simulate(args: argparse.Namespace) -> int:
    from .config import load_config
    from .simulate.recording import simulate_cohort

    config_path = Path(args.config)
    overrides = {"preset": args.preset} if args.preset else {}
    config = load_config(config_path, _schema_dir(config_path) / "config.schema.yaml", overrides)
    sim = dict(config["simulation"])
    if args.seed is not None:
        sim["seed"] = args.seed
    if args.pairs:
        return _run_pairs(args, config, sim)
    start = time.perf_counter()
    sheet = simulate_cohort(sim, config["preset"], args.out, jobs=max(1, args.jobs), progress=sys.stderr.isatty())
    elapsed = time.perf_counter() - start
    print(
        f"simulated {len(sheet)} recordings, {int(sheet['n_calls_true'].sum())} calls "
        f"(preset {config['preset']}, seed {sim['seed']}) in {elapsed:.1f} s → {Path(args.out) / 'samples.tsv'}"
    )
    return 0


def _samples_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "samples",
        help="build a sample sheet from a folder of recordings",
        description="Build the workflow's sample sheet from a folder of WAVs: the columns animal, sex, strain "
                    "(and cohort, recording) come from named groups of a regular expression on the file names "
                    "and/or from a metadata table. Each WAV is checked as the workflow will check it.",
        epilog=r"Example: usvflow samples recordings/ --pattern '(?P<animal>(?P<sex>[FM])\d+)_day\d+' "
               "--strain C57BL/6 -o samples.tsv   (for files named like F03_day1.wav)",
    )
    p.add_argument("folder", help="folder holding the .wav files")
    p.add_argument("--pattern", help="regular expression matched against each whole file name (with or without "
                                     ".wav); named groups animal, sex, strain, cohort, recording give the columns")
    p.add_argument("--metadata", help="table (tab- or comma-separated) keyed by 'file' (file name) or 'animal', "
                                      "with any of the columns animal, sex, strain, cohort, recording")
    p.add_argument("-o", "--out", default="samples.tsv",
                   help="sheet to write; .csv is comma-separated, anything else tab-separated (default: %(default)s)")
    p.add_argument("--cohort", default="sex",
                   help="cohort of every recording, where no group or column gives one: 'sex' for the sex "
                        "analyses (Figs 3, 4), 'strain' for the strain ones (Fig 5) (default: %(default)s)")
    p.add_argument("--strain", default="", help="strain of every animal, where no group or column gives one")
    p.add_argument("-r", "--recursive", action="store_true", help="also look in subfolders")
    p.add_argument("--skip-unmatched", action="store_true",
                   help="leave out (and list) files whose name does not match or that the table does not list, "
                        "instead of stopping at the first")
    p.add_argument("--absolute", action="store_true",
                   help="write absolute WAV paths (default: as found, relative to where you run snakemake)")
    p.add_argument("--config", default=None,
                   help="workflow configuration whose min_sample_rate_hz and channel the WAVs are checked against "
                        "(default: ./config.yaml if there is one, else the schema's defaults)")
    p.set_defaults(run=_run_samples)


def _wav_checks(config_arg: str | None) -> tuple[Path, int, object]:
    """The schema folder, minimum sample rate and channel the workflow would use."""
    import yaml

    from .config import load_config

    path = Path(config_arg or "config.yaml")
    schemas = _schema_dir(path)
    if config_arg is not None or path.exists():
        config = load_config(path, schemas / "config.schema.yaml")
        return schemas, config["min_sample_rate_hz"], config["channel"]
    props = yaml.safe_load((schemas / "config.schema.yaml").read_text())["properties"]
    return schemas, props["min_sample_rate_hz"]["default"], props["channel"]["default"]


def _run_samples(args: argparse.Namespace) -> int:
    from .audio.samples import build_sample_sheet, write_sheet

    schemas, min_rate, channel = _wav_checks(args.config)
    built = build_sample_sheet(
        args.folder, args.pattern, args.metadata, schema_path=schemas / "samples.schema.yaml",
        cohort=args.cohort, strain=args.strain, recursive=args.recursive, skip_unmatched=args.skip_unmatched,
        absolute=args.absolute, min_sample_rate_hz=min_rate, channel=channel,
    )
    for wav, problem in built.skipped:
        print(f"usvflow samples: skipped {wav}: {problem}", file=sys.stderr)
    write_sheet(built.sheet, args.out)
    sheet = built.sheet
    sexes = ", ".join(f"{n} {s or 'unknown sex'}" for s, n in
                      sheet.drop_duplicates("animal")["sex"].value_counts().sort_index().items())
    print(f"wrote {len(sheet)} recordings of {sheet['animal'].nunique()} animals ({sexes}; cohort(s) "
          f"{', '.join(sorted(sheet['cohort'].unique()))}) to {args.out}"
          + (f", skipped {len(built.skipped)} file(s)" if built.skipped else ""))
    print(f"run the workflow on them: snakemake --cores 2 --config samples={args.out}")
    return 0


class _VersionAction(argparse.Action):
    """``--version``: the version, the checkout's commit and the key packages' versions (provenance)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .report.provenance import version_text

        print(version_text())
        parser.exit()


def _run_pairs(args: argparse.Namespace, config: dict, sim: dict) -> int:
    from .simulate.pairs import simulate_pairs

    if args.pairs < 0:
        raise InputError(None, f"--pairs must be a positive number of recordings, got {args.pairs}")
    minutes = args.pair_minutes or float(sim["presets"][config["preset"]]["sex"]["minutes"])
    if minutes <= 0:
        raise InputError(None, f"--pair-minutes must be positive, got {minutes}")
    start = time.perf_counter()
    table = simulate_pairs(sim, args.pairs, minutes, args.out, jobs=max(1, args.jobs))
    print(f"simulated {len(table)} pair recordings of {minutes:g} min, {int(table['n_calls'].sum())} calls, male "
          f"share {table['male_share'].min():.2f}-{table['male_share'].max():.2f} (seed {sim['seed']}) in "
          f"{time.perf_counter() - start:.1f} s -> {Path(args.out) / 'pairs.tsv'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="usvflow", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action=_VersionAction,
                        help=f"show usvflow's version ({__version__}), git commit and package versions, and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    _simulate_parser(sub)
    _detect_parser(sub)
    _samples_parser(sub)
    _classify_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except InputError as err:
        print(f"usvflow {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"usvflow {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
