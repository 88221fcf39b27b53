"""Provenance: which code, configuration, sample sheet, packages and device made a run's outputs.

The record is collected when Snakemake plans the workflow, so this module imports nothing heavy: the
git state comes from the ``git`` command, package versions from :mod:`importlib.metadata` (the package
itself is never imported, so planning stays free of torch and scikit-learn). The device used for
training is only known once the networks are trained; :func:`training_devices` reads it from their
``metrics.json`` files.

The record holds no time stamps and no host names: two runs of one commit, with the same configuration,
sample sheet and packages, write the same ``results/provenance.json`` and ``figures/summary.md``.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from .. import __version__

#: Packages whose versions can change a table (``usvflow`` itself is added from the running code).
KEY_PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "openTSNE", "snakemake")
#: How many hex digits of a hash the short form and the Markdown show (the JSON record keeps all 64).
SHORT = 12
#: The config key under which the workflow hands the record to the report's captions (never to a rule).
CONFIG_KEY = "_provenance"


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def config_sha256(config: dict[str, Any]) -> str:
    """sha256 of the resolved configuration: canonical JSON (keys sorted at every level, no spaces).

    Call it after :func:`usvflow.config.validate_config` has filled in the schema's defaults, so a
    config.yaml that spells out a default and one that leaves it out hash the same.
    """
    resolved = {k: v for k, v in config.items() if k != CONFIG_KEY}
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return sha256_text(text)


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    # --no-optional-locks: never write the index (a second snakemake may be reading it).
    return subprocess.run(["git", "--no-optional-locks", "-C", str(root), *args], capture_output=True,
                          text=True, timeout=30)


def git_state(tracked_file: str | Path) -> dict[str, Any]:
    """The commit of the git checkout that tracks ``tracked_file`` (the Snakefile, or the package's
    ``__init__.py``), and whether tracked files differ from it.

    Returns ``{"commit", "dirty", "diff_sha256", "note"}``. ``diff_sha256`` hashes ``git diff HEAD`` when
    the tree is dirty, so two different uncommitted states are told apart; untracked files do not count
    (as in ``git describe --dirty``). Outside a checkout (a copied or installed workflow), or where the
    file is not tracked, ``commit`` is None and ``note`` says why.
    """
    path = Path(tracked_file).resolve()
    none = {"commit": None, "dirty": None, "diff_sha256": None}
    try:
        tracked = _git(path.parent, "ls-files", "--error-unmatch", "--", path.name)
        if tracked.returncode != 0:
            inside = _git(path.parent, "rev-parse", "--is-inside-work-tree").returncode == 0
            return {**none, "note": f"{path.name} is not tracked by git" if inside else "not a git checkout"}
        head = _git(path.parent, "rev-parse", "HEAD")
        if head.returncode != 0:
            return {**none, "note": "git repository without commits"}
        status = _git(path.parent, "status", "--porcelain", "--untracked-files=no")
        if status.returncode != 0:
            return {**none, "commit": head.stdout.strip(), "note": "git status failed"}
        dirty = bool(status.stdout.strip())
        diff = None
        if dirty:
            out = _git(path.parent, "diff", "HEAD", "--binary")
            diff = sha256_text(out.stdout) if out.returncode == 0 else None
        return {"commit": head.stdout.strip(), "dirty": dirty, "diff_sha256": diff, "note": ""}
    except (OSError, subprocess.SubprocessError):
        return {**none, "note": "git is not available"}


def package_versions(names: Iterable[str] = KEY_PACKAGES) -> dict[str, str]:
    """Installed versions (``importlib.metadata``; nothing is imported), and usvflow's from its code."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["usvflow"] = __version__
    return versions


def collect(config: dict[str, Any], tracked_file: str | Path, sheet: str | Path | None = None,
            sheet_text: str | None = None, sheet_label: str = "") -> dict[str, Any]:
    """The run's provenance record, known when the workflow is planned.

    ``sheet`` is the user's sample sheet (its bytes are hashed); for the simulated cohort pass the sheet
    the workflow writes as ``sheet_text`` (its hash then equals that file's) and a ``sheet_label``.
    """
    if sheet is not None:
        sheet_record = {"source": str(sheet), "sha256": sha256_file(sheet)}
    else:
        sheet_record = {"source": sheet_label, "sha256": sha256_text(sheet_text or "")}
    record = {
        "usvflow": __version__,
        "git": git_state(tracked_file),
        "config_sha256": config_sha256(config),
        "sample_sheet": sheet_record,
        "python": platform.python_version(),
        "packages": package_versions(),
    }
    code = f"usvflow {__version__}, {git_text(record['git'], digits=64)}"
    return {**record, "code": code, "short": short_form(record)}


def git_text(git: dict[str, Any], digits: int = SHORT) -> str:
    """``commit 0123456789ab (clean)``, ``... (dirty, diff 3f2a...)`` or the reason there is none."""
    if not git.get("commit"):
        return git.get("note") or "no git commit"
    if git.get("dirty") is None:
        state = "state unknown"
    elif git["dirty"]:
        state = "dirty" + (f", diff {git['diff_sha256'][:digits]}" if git.get("diff_sha256") else "")
    else:
        state = "clean"
    return f"commit {git['commit'][:digits]} ({state})"


def short_form(record: dict[str, Any]) -> str:
    """One line for figure captions: code version, commit and config hash."""
    return f"usvflow {record['usvflow']}, {git_text(record['git'])}, config {record['config_sha256'][:SHORT]}"


def training_devices(metric_files: Iterable[str | Path]) -> dict[str, int]:
    """How many network trainings ran on each device, from the ``device`` their metrics.json record."""
    counts: Counter[str] = Counter()
    for path in metric_files:
        with open(path) as fh:
            device = json.load(fh).get("device")
        if device:
            counts[str(device)] += 1
    return dict(sorted(counts.items()))


def devices_text(devices: dict[str, int] | None) -> str:
    if not devices:
        return "no network was trained"
    return ", ".join(f"{d} ({n} network training run{'s' if n != 1 else ''})" for d, n in devices.items())


def packages_text(packages: dict[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in packages.items())


def render_markdown(record: dict[str, Any]) -> str:
    """The provenance block of ``figures/summary.md``: a two-column Markdown table."""
    sheet = record["sample_sheet"]
    rows = [
        ("code", f"usvflow {record['usvflow']}, {git_text(record['git'])}"),
        ("configuration", f"sha256 {record['config_sha256'][:SHORT]} (resolved: schema defaults filled in, "
                          "keys sorted)"),
        ("sample sheet", f"{sheet['source']}, sha256 {sheet['sha256'][:SHORT]}"),
        ("Python", record["python"]),
        ("packages", packages_text(record["packages"])),
    ]
    if "training_devices" in record:
        rows.append(("training device", devices_text(record["training_devices"])))
    lines = ["## Provenance", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines + ["", "Full record: `results/provenance.json`."])


def write_record(path: str | Path, record: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def version_text() -> str:
    """What ``usvflow --version`` prints: the version, the checkout's commit, Python and key packages."""
    git = git_state(Path(__file__).resolve().parents[1] / "__init__.py")
    lines = [f"usvflow {__version__}", f"git: {git_text(git)}", f"Python {platform.python_version()}"]
    lines += [f"{name} {version}" for name, version in package_versions().items() if name != "usvflow"]
    return "\n".join(lines)
