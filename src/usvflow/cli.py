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
    parser.add_argument("--version", action="version", version=f"usvflow {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    _simulate_parser(sub)
    _detect_parser(sub)
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
