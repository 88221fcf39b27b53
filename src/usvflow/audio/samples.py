"""A sample sheet built from a folder of recordings (``usvflow samples``).

Labs name their files by animal, sex, day...: ``F03_day1.wav``. A regular expression with named groups
(``(?P<animal>(?P<sex>[FM])\\d+)_day\\d+``) takes the sheet's columns from each file name; a small
metadata table (keyed by file name or by animal) can supply what the names do not carry. Every WAV is
checked as the workflow will check it (:func:`usvflow.audio.io.inspect_wav` with the configured minimum
sample rate, and the configured channel), and the rows are validated against ``schemas/samples.schema.yaml``,
so the written sheet is one the workflow accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..config import SAMPLE_COLUMNS, check_sample_sheet, read_table, sample_row_problem, sample_validator
from ..errors import InputError
from .io import DEFAULT_MIN_SAMPLE_RATE_HZ, Channel, _resolve_channel, inspect_wav

#: Sheet columns that a pattern group or a metadata column may give.
FIELDS = ("recording", "animal", "sex", "strain", "cohort")
#: How people write the sex of an animal, and the sheet's code for it.
SEX_CODES = {"f": "F", "female": "F", "m": "M", "male": "M", "": ""}
#: Metadata tables are keyed by one of these columns (the first one present).
METADATA_KEYS = ("file", "animal")


@dataclass
class SheetBuild:
    """The sheet (columns :data:`usvflow.config.SAMPLE_COLUMNS`) and the files left out, with why."""

    sheet: pd.DataFrame
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def find_recordings(folder: str | Path, recursive: bool = False) -> list[Path]:
    """The ``.wav`` files (any case) in ``folder`` (and below, if ``recursive``), sorted by path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(folder, "not a folder" if folder.exists() else "folder not found")
    files = folder.rglob("*") if recursive else folder.iterdir()
    wavs = sorted(p for p in files if p.suffix.lower() == ".wav" and p.is_file())
    if not wavs:
        raise InputError(folder, f"no .wav files in this folder{' or below' if recursive else ''}")
    return wavs


def compile_pattern(pattern: str) -> re.Pattern:
    """The file-name pattern; its named groups must be sheet columns (unnamed groups are free)."""
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        raise InputError(None, f"--pattern '{pattern}' is not a regular expression ({exc})") from None
    unknown = sorted(set(rx.groupindex) - set(FIELDS))
    if unknown:
        raise InputError(None, f"--pattern '{pattern}': group(s) {', '.join(unknown)} are not sheet columns; "
                               f"name groups {', '.join(FIELDS)} (use (?:...) for the others)")
    return rx


def read_metadata(path: str | Path) -> tuple[str, dict[str, dict[str, str]]]:
    """A metadata table (tab- or comma-separated): ``(key column, {key: {column: value}})``.

    Keyed by ``file`` (a recording's file name, with or without ``.wav``) or else by ``animal``; columns
    other than :data:`FIELDS` (weight, age...) are ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "metadata table not found")
    table, _ = read_table(path, "metadata table")
    key = next((k for k in METADATA_KEYS if k in table.columns), None)
    if key is None:
        raise InputError(path, f"metadata table needs a 'file' or an 'animal' column (found: {', '.join(table.columns)})")
    given = [c for c in FIELDS if c in table.columns and c != key]
    if not given:
        raise InputError(path, f"metadata table gives none of the columns {', '.join(FIELDS)}")
    if key == "file":
        table[key] = table[key].map(_stem)
    dup = table[key][table[key].duplicated()].unique()
    if len(dup):
        raise InputError(path, f"{key} {', '.join(map(repr, dup))} appears more than once")
    if table.empty:
        raise InputError(path, "metadata table has no rows")
    return key, {row[key]: {c: row[c] for c in given} for row in table.to_dict("records")}


def _stem(name: str) -> str:
    return name[:-4] if name.lower().endswith(".wav") else name


def sex_code(value: str) -> str | None:
    """``F``/``M``/empty from F, f, female, Female, M, male, ...; None for anything else."""
    return SEX_CODES.get(value.strip().lower())


def _fields_from_name(wav: Path, rx: re.Pattern | None) -> dict[str, str] | None:
    """The named groups of the pattern on the file name (with or without .wav); None if it does not match."""
    if rx is None:
        return {}
    m = rx.fullmatch(wav.stem) or rx.fullmatch(wav.name)
    return None if m is None else {k: v for k, v in m.groupdict().items() if v is not None}


def build_sample_sheet(folder: str | Path, pattern: str | None = None, metadata: str | Path | None = None, *,
                       schema_path: str | Path, cohort: str = "sex", strain: str = "", recursive: bool = False,
                       skip_unmatched: bool = False, absolute: bool = False,
                       min_sample_rate_hz: int = DEFAULT_MIN_SAMPLE_RATE_HZ, channel: Channel = 0) -> SheetBuild:
    """Build a sample sheet from the WAVs in ``folder``.

    Each column comes from the pattern's named group, else from the metadata table, else (``cohort``,
    ``strain``, and the file name's stem for ``recording``) from the defaults given here; ``animal`` and
    ``sex`` must come from the pattern or the table. A file name the pattern does not match, or a file the
    table does not list, raises :class:`InputError` naming the file and the pattern (or the table); with
    ``skip_unmatched`` it is left out and listed in :attr:`SheetBuild.skipped`. A WAV the workflow could not
    read raises, whatever ``skip_unmatched`` says.
    """
    if pattern is None and metadata is None:
        raise InputError(None, "give --pattern (a regular expression on the file names), --metadata (a table), "
                               "or both")
    rx = compile_pattern(pattern) if pattern is not None else None
    key, meta = read_metadata(metadata) if metadata is not None else (None, {})
    meta_columns = set().union(*meta.values()) if meta else set()
    if key == "animal" and not (rx is not None and "animal" in rx.groupindex):
        raise InputError(metadata, "the table is keyed by animal, so --pattern needs a (?P<animal>...) group")
    quoted = f" '{pattern}'" if pattern else ""
    for needed in ("animal", "sex"):
        if not (rx is not None and needed in rx.groupindex) and needed not in meta_columns:
            raise InputError(None, f"no source for '{needed}': add a (?P<{needed}>...) group to --pattern{quoted} "
                                   f"or a column '{needed}' to --metadata")

    validator = sample_validator(schema_path)
    rows, skipped, seen = [], [], {}
    for wav in find_recordings(folder, recursive):
        values = _fields_from_name(wav, rx)
        if values is None:
            problem = f"file name does not match --pattern '{pattern}'"
        else:
            problem, values = _merge_metadata(wav, values, key, meta, metadata)
        if problem:
            if not skip_unmatched:
                raise InputError(wav, problem)
            skipped.append((wav, problem))
            continue
        row = _row(wav, values, cohort, strain, absolute)
        bad = sample_row_problem(row, validator)
        if bad:
            raise InputError(wav, f"{bad} (from the file name{' and the metadata' if metadata else ''})")
        if row["recording"] in seen:
            raise InputError(wav, f"recording id {row['recording']!r} is also that of {seen[row['recording']]}; "
                                  "add a (?P<recording>...) group that tells them apart")
        seen[row["recording"]] = wav
        info = inspect_wav(wav, min_sample_rate_hz)  # the workflow's own checks
        _resolve_channel(info, channel)
        rows.append(row)
    if not rows:
        raise InputError(folder, f"no recording matched --pattern '{pattern}'" if pattern else
                                 f"no recording is listed in {metadata}")
    sheet = pd.DataFrame(rows, columns=SAMPLE_COLUMNS)
    check_sample_sheet(sheet, folder, schema_path)  # the workflow's sheet checks, on the rows as written
    return SheetBuild(sheet, skipped)


def _merge_metadata(wav: Path, values: dict[str, str], key: str | None, meta: dict[str, dict[str, str]],
                    metadata: str | Path | None) -> tuple[str | None, dict[str, str]]:
    """The file's values with the table's added: ``(problem, values)``, problem None when the table lists the
    file. A value the table contradicts raises :class:`InputError` (that is not a file to skip)."""
    if key is None:
        return None, values
    lookup = _stem(wav.name) if key == "file" else values.get("animal", "")
    if lookup not in meta:
        return f"{key} {lookup!r} is not in the metadata table {metadata}", values
    merged = dict(values)
    for column, value in meta[lookup].items():
        if value and merged.get(column) and _norm(column, merged[column]) != _norm(column, value):
            raise InputError(wav, f"{column} is {merged[column]!r} in the file name but {value!r} in the "
                                  f"metadata table {metadata}")
        if value or column not in merged:
            merged[column] = value
    return None, merged


def _norm(column: str, value: str) -> str:
    return (sex_code(value) or value) if column == "sex" else value


def _row(wav: Path, values: dict[str, str], cohort: str, strain: str, absolute: bool) -> dict[str, str]:
    sex = values.get("sex", "")
    code = sex_code(sex)
    if code is None:
        raise InputError(wav, f"sex {sex!r} is not F or M (female/male are read too)")
    return {
        "recording": values.get("recording") or wav.stem,
        "path": str(wav.resolve() if absolute else wav),
        "animal": values.get("animal", ""),
        "sex": code,
        "strain": values.get("strain", strain),
        "cohort": values.get("cohort", cohort),
    }


def write_sheet(sheet: pd.DataFrame, path: str | Path) -> None:
    """Write a sheet: comma-separated if the name ends in .csv, tab-separated otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.to_csv(path, sep="," if path.suffix.lower() == ".csv" else "\t", index=False)
