"""Validation of ``config.yaml`` and of sample sheets, with messages a biologist can act on.

jsonschema does the checking against the schemas in ``schemas/``; this module turns its first
complaint into one line that says which file, which entry and what is wrong. The defaults of optional
entries live in the schema too (``default:``): validation fills them in, so a config.yaml without, say,
an ``embed:`` block runs with the documented defaults. Checks a schema cannot express (unique ids, files
that exist, a preset that exists) live here.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import yaml

from .errors import InputError

SAMPLE_COLUMNS = ["recording", "path", "animal", "sex", "strain", "cohort"]


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


def read_sample_sheet(path: str | Path, schema_path: str | Path, check_files: bool = True) -> pd.DataFrame:
    """Read and check a sample sheet (TSV). Returns it indexed by ``recording``.

    Relative WAV paths are kept as written (relative to the folder the workflow runs from).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, "sample sheet not found")
    try:
        sheet = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not a readable tab-separated table ({str(exc).splitlines()[0]})") from None
    sheet.columns = [c.strip() for c in sheet.columns]
    missing = [c for c in SAMPLE_COLUMNS if c not in sheet.columns]
    if missing:
        found = ", ".join(sheet.columns) if len(sheet.columns) else "none"
        raise InputError(
            path,
            f"missing column(s) {', '.join(missing)} (found: {found}); the sheet must be tab-separated "
            f"with columns {', '.join(SAMPLE_COLUMNS)} [, annotations]",
        )
    if sheet.empty:
        raise InputError(path, "sample sheet has no recordings")
    schema = _load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    for i, row in enumerate(sheet.to_dict("records"), start=2):  # line 1 is the header
        for e in validator.iter_errors(row):
            raise InputError(path, f"line {i} (recording {row.get('recording')!r}): column {_where(e)}: {_plain(e)}")
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
