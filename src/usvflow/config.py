"""Validation of ``config.yaml`` and of sample sheets, with messages a biologist can act on.

jsonschema does the checking against the schemas in ``schemas/``; this module turns its first
complaint into one line that says which file, which entry and what is wrong. The defaults of optional
entries live in the schema too (``default:``): validation fills them in, so a config.yaml without, say,
an ``embed:`` block runs with the documented defaults. Checks a schema cannot express (unique ids, files
that exist, a preset that exists) live here.
"""

from __future__ import annotations

import copy
import csv
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from .errors import InputError

SAMPLE_COLUMNS = ["recording", "path", "animal", "sex", "strain", "cohort"]
#: Delimiters a sample sheet may use: tab (the documented format), and the comma and semicolon of
#: spreadsheet exports ("Save as CSV"), told apart by the header line.
SHEET_DELIMITERS = {"\t": "tab-separated", ",": "comma-separated", ";": "semicolon-separated"}


def _load_schema(schema_path: str | Path) -> dict:
    with open(schema_path) as fh:
        return yaml.safe_load(fh)


def _filling_defaults(cls: type) -> type:
    """A validator class that, before checking an object's properties, sets every missing property that
    has a ``default`` in the schema (a copy of it), so nested defaults are filled in too."""
    check_properties = cls.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(cls, {"properties": properties})


_ConfigValidator = _filling_defaults(jsonschema.Draft202012Validator)


def _where(error: jsonschema.ValidationError) -> str:
    return " → ".join(str(p) for p in error.absolute_path) or "(top level)"


def _plain(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, rephrased for the common cases."""
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return f"missing required entry '{missing}'"
    if v == "enum":
        allowed = ", ".join(repr(x) if x != "" else "empty" for x in error.validator_value)
        return f"{error.instance!r} is not allowed; use one of {allowed}"
    if v == "type":
        return f"{error.instance!r} should be of type {error.validator_value}"
    if v == "oneOf" and "channel" in error.absolute_path:
        return f"{error.instance!r} is not a channel; use a 0-based index (0, 1, ...) or \"mean\""
    return error.message


def validate_config(config: dict, schema_path: str | Path, config_name: str = "config.yaml") -> None:
    """Fill in the schema's defaults (in place) and raise :class:`InputError` on the first problem in ``config``."""
    schema = _load_schema(schema_path)
    errors = sorted(_ConfigValidator(schema).iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise InputError(config_name, f"{_where(e)}: {_plain(e)}")
    presets = config["simulation"]["presets"]
    if not config["samples"] and config["preset"] not in presets:
        raise InputError(config_name, f"preset {config['preset']!r} is not defined; choose one of {', '.join(presets)}")


def sheet_delimiter(header: str) -> str:
    """The delimiter of a sample sheet, from its header line: the one that splits it into all the required
    columns; failing that, the one that splits it into the most fields (tab on a tie)."""
    best, best_n = "\t", 0
    for sep in SHEET_DELIMITERS:
        fields = {f.strip() for f in next(csv.reader([header], delimiter=sep), [])}
        if set(SAMPLE_COLUMNS) <= fields:
            return sep
        if len(fields) > best_n:
            best, best_n = sep, len(fields)
    return best


def _long_line(path: Path, sep: str) -> str:
    """Where a table has more cells than its header names."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = csv.reader(fh, delimiter=sep, skipinitialspace=True)
        header = next(rows)
        for row in rows:
            if len(row) > len(header):
                return f"line {rows.line_num} has {len(row)} cells, the header {len(header)}"
    return "a line has more cells than the header"


def read_table(path: Path, what: str = "table") -> tuple[pd.DataFrame, str]:
    """A small text table, tab-, comma- or semicolon-separated (:func:`sheet_delimiter`), every cell a
    stripped string: ``(table, delimiter)``. A table that cannot be read raises :class:`InputError`."""
    try:
        with path.open(encoding="utf-8-sig") as fh:  # -sig: the byte-order mark spreadsheets write
            sep = sheet_delimiter(fh.readline())
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a text table ({exc.reason} at byte {exc.start})") from None
    kind = SHEET_DELIMITERS[sep]
    try:
        with warnings.catch_warnings():  # more cells than header names: pandas would drop or shift them
            warnings.simplefilter("error", pd.errors.ParserWarning)
            table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                                index_col=False, skipinitialspace=True)
    except pd.errors.ParserWarning:
        raise InputError(path, f"not a readable {kind} table ({_long_line(path, sep)})") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable {kind} table ({str(exc).splitlines()[0]})") from None
    except pd.errors.EmptyDataError:
        raise InputError(path, f"{what} is empty") from None
    table.columns = [c.strip() for c in table.columns]
    return table.apply(lambda col: col.str.strip()), sep


def read_sample_sheet(path: str | Path, schema_path: str | Path, check_files: bool = True) -> pd.DataFrame:
    """Read and check a sample sheet: tab-separated, or comma-/semicolon-separated as a spreadsheet exports
    it (the header line tells which). Returns it indexed by ``recording``.

    Relative WAV paths are kept as written (relative to the folder the workflow runs from).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "sample sheet not found")
    sheet, sep = read_table(path, "sample sheet")
    missing = [c for c in SAMPLE_COLUMNS if c not in sheet.columns]
    if missing:
        found = ", ".join(sheet.columns) if len(sheet.columns) else "none"
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)} (found: {found}; read as {SHEET_DELIMITERS[sep]}); the sheet "
            f"must be tab- or comma-separated with columns {', '.join(SAMPLE_COLUMNS)} [, annotations]",
        )
    return check_sample_sheet(sheet, path, schema_path, check_files)


def sample_validator(schema_path: str | Path) -> jsonschema.protocols.Validator:
    """A validator of sample-sheet rows (``schemas/samples.schema.yaml``), for :func:`sample_row_problem`."""
    return jsonschema.Draft202012Validator(_load_schema(schema_path))


def sample_row_problem(row: dict[str, Any], validator: jsonschema.protocols.Validator) -> str | None:
    """The first problem of one sample-sheet row against the schema (``column animal: ...``), or None."""
    for e in validator.iter_errors(row):
        return f"column {_where(e)}: {_plain(e)}"
    return None


def check_sample_sheet(sheet: pd.DataFrame, path: str | Path, schema_path: str | Path,
                       check_files: bool = True) -> pd.DataFrame:
    """Check a sample sheet's rows (schema, unique ids, files that exist) as the workflow will; ``path``
    names the sheet in messages. Returns it indexed by ``recording``, with an ``annotations`` column."""
    if sheet.empty:
        raise InputError(path, "sample sheet has no recordings")
    validator = sample_validator(schema_path)
    for i, row in enumerate(sheet.to_dict("records"), start=2):  # line 1 is the header
        problem = sample_row_problem(row, validator)
        if problem:
            raise InputError(path, f"line {i} (recording {row.get('recording')!r}): {problem}")
    dup = sheet["recording"][sheet["recording"].duplicated()].unique()
    if len(dup):
        raise InputError(path, f"duplicate recording id(s): {', '.join(map(str, dup))}; each recording needs a unique id")
    if check_files:
        for i, row in enumerate(sheet.to_dict("records"), start=2):
            wav = Path(row["path"])
            if not wav.exists():
                raise InputError(path, f"line {i} (recording {row['recording']!r}): WAV file not found: {wav}")
            ann = row.get("annotations", "")
            if ann and not Path(ann).exists():
                raise InputError(path, f"line {i} (recording {row['recording']!r}): annotations file not found: {ann}")
    sheet = sheet.copy()
    if "annotations" not in sheet.columns:
        sheet["annotations"] = ""
    return sheet.set_index("recording", drop=False)


def load_config(path: str | Path, schema_path: str | Path, overrides: dict[str, Any] | None = None) -> dict:
    """Read ``config.yaml``, apply top-level ``overrides`` (e.g. ``{'preset': 'test'}``) and validate."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "configuration file not found")
    with path.open() as fh:
        try:
            config = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise InputError(path, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    config.update(overrides or {})
    validate_config(config, schema_path, path.name)
    return config
