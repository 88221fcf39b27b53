"""Regenerate the lock files and the conda environment from pyproject.toml (run by ``make lock``).

For each Python version it asks uv to resolve pyproject.toml's dependencies with every extra, plus the
Makefile's torch pin, for Linux x86_64 (glibc >= 2.28) against the default index (PyPI, or the index
``UV_DEFAULT_INDEX`` names), and writes two files:

``lock-linux-pyXY.txt``
    every package except torch and its CUDA runtime, as ``name==version``; ``make setup`` installs it with
    ``pip install --no-deps -r``, so the environment holds exactly these versions.
``torch-linux-pyXY.txt``
    torch's pin and the CUDA packages the PyPI build of torch pulls in on Linux (``nvidia-*``, ``cuda-*``,
    ``triton`` and whatever only they need); ``make setup`` passes it as a constraint when it installs
    torch. A CPU build of torch needs none of them, so they are kept out of the main lock.

It then writes ``envs/usvflow.yaml`` (the conda environment of every rule) with pyproject.toml's runtime
dependencies at the versions locked for ``CONDA_PYTHON``.

The module is also imported by tests/test_lock.py, which checks the files against pyproject.toml with
the same parser and digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
LOCK_DIR = ROOT / "requirements"
PYPROJECT = ROOT / "pyproject.toml"
CONDA_ENV = ROOT / "envs" / "usvflow.yaml"

PLATFORM = "x86_64-manylinux_2_28"
PLATFORM_TEXT = "Linux x86_64 (glibc >= 2.28)"
CONDA_PYTHON = "3.11"
# Packages that only the CUDA build of torch needs: matched by name, plus anything required only by them.
CUDA_PREFIXES = ("nvidia-", "cuda-")
CUDA_NAMES = {"triton"}
# conda-forge names that differ from the PyPI ones (keys are canonical PyPI names).
CONDA_NAMES = {"soundfile": "pysoundfile", "opentsne": "opentsne"}

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)\s*(?:#\s*via\s+(.*))?$")


def canonical(name: str) -> str:
    """PEP 503 normalised project name (``openTSNE`` -> ``opentsne``, ``PyYAML`` -> ``pyyaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def tag(python: str) -> str:
    """``"3.11"`` -> ``"311"``, the suffix of that version's lock files."""
    major, minor = python.split(".")[:2]
    return f"{major}{minor}"


def lock_path(python: str) -> Path:
    return LOCK_DIR / f"lock-linux-py{tag(python)}.txt"


def torch_lock_path(python: str) -> Path:
    return LOCK_DIR / f"torch-linux-py{tag(python)}.txt"


def load_pyproject(path: Path = PYPROJECT) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def inputs_digest(pyproject: dict, torch_pin: str) -> str:
    """SHA-256 of what the lock is resolved from: requires-python, dependencies, every extra, torch's pin.

    Anything else in pyproject.toml (description, tool settings) can change without a new lock.
    """
    project = pyproject["project"]
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "torch": torch_pin,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def parse_lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of a lock file; any line that is not ``name==version`` is an error."""
    pins: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _PIN.match(stripped)
        if match is None:
            raise ValueError(f"{path}:{number}: not an exact pin 'name==version': {stripped}")
        name = canonical(match.group(1))
        if name in pins:
            raise ValueError(f"{path}:{number}: {name} is pinned twice")
        pins[name] = match.group(2)
    return pins


def header_value(path: Path, key: str) -> str | None:
    """The value of a ``# key: value`` line in a lock file's header."""
    prefix = f"# {key}:"
    for line in Path(path).read_text().splitlines():
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    return None


def _compile(uv: str, python: str, torch_pin: str) -> list[tuple[str, str, str, list[str]]]:
    """Run uv for one Python version; ``(canonical name, written name, version, parents)`` per package."""
    with tempfile.TemporaryDirectory() as tmp:
        torch_in = Path(tmp) / "torch.in"
        torch_in.write_text(torch_pin + "\n")
        cmd = [
            uv,
            "--no-config",
            "--no-python-downloads",
            "pip",
            "compile",
            str(PYPROJECT),
            str(torch_in),
            "--all-extras",
            "--python-version",
            python,
            "--python-platform",
            PLATFORM,
            "--annotation-style",
            "line",
            "--no-header",
            "--quiet",
        ]
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
        if result.returncode != 0:
            sys.exit(f"uv could not resolve pyproject.toml for Python {python}:\n{result.stderr.strip()}")
        packages = []
        for line in result.stdout.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _PIN.match(line.strip())
            if match is None:
                sys.exit(f"unexpected line in uv's output for Python {python}: {line}")
            parents = [p.strip() for p in (match.group(3) or "").split(",") if p.strip()]
            parents = ["Makefile TORCH" if p.startswith("-r ") else p for p in parents]
            packages.append((canonical(match.group(1)), match.group(1), match.group(2), parents))
        return packages


def split_cuda(packages: list[tuple[str, str, str, list[str]]]) -> set[str]:
    """Canonical names of torch and its CUDA runtime (see the module docstring)."""
    cuda = {name for name, *_ in packages if name.startswith(CUDA_PREFIXES) or name in CUDA_NAMES}
    parents_of = {name: {canonical(p.split(" ")[0]) for p in parents} for name, _, _, parents in packages}
    grew = True
    while grew:
        grew = False
        for name, parents in parents_of.items():
            if name not in cuda and parents and parents <= cuda:
                cuda.add(name)
                grew = True
    return cuda | {"torch"}


def _write_if_changed(path: Path, text: str) -> None:
    """Leave an unchanged file alone, so that `make setup` does not reinstall after a no-op `make lock`."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _write(path: Path, title: str, notes: list[str], digest: str, rows: list[tuple[str, str, list[str]]]) -> None:
    width = max(len(f"{n}=={v}") for n, v, _ in rows) + 2
    lines = [f"# {title}", *[f"# {note}" for note in notes], f"# inputs-sha256: {digest}"]
    for name, version, parents in rows:
        pin = f"{name}=={version}"
        lines.append(f"{pin:<{width}}# via {', '.join(parents)}" if parents else pin)
    _write_if_changed(path, "\n".join(lines) + "\n")


def write_locks(uv: str, python: str, torch_pin: str, digest: str, uv_version: str) -> dict[str, str]:
    packages = _compile(uv, python, torch_pin)
    cuda = split_cuda(packages)
    main = [(written, version, parents) for name, written, version, parents in packages if name not in cuda]
    gpu = [(written, version, parents) for name, written, version, parents in packages if name in cuda]
    torch_name = lock_path(python).name
    generated = f"Generated by `make lock` ({uv_version}, requirements/make_lock.py) from pyproject.toml; do not edit."
    _write(
        lock_path(python),
        f"usvflow lock for {PLATFORM_TEXT}, Python {python}: every dependency and extra, exact versions.",
        [
            generated,
            "`make setup` installs these with `pip install --no-deps -r`, then torch, then usvflow (--no-deps).",
            f"torch: {torch_pin}, installed separately (Makefile TORCH); its CUDA packages: {torch_lock_path(python).name}",
        ],
        digest,
        main,
    )
    _write(
        torch_lock_path(python),
        f"torch for {PLATFORM_TEXT}, Python {python}: the pin and the CUDA runtime of its PyPI build.",
        [
            generated,
            "`make setup` installs torch with this file as a constraint (`pip install -c`): the CUDA build",
            "from PyPI gets these versions; a CPU build needs none of them. Everything else: " + torch_name,
        ],
        digest,
        gpu,
    )
    return {name: version for name, _, version, _ in packages}


def write_conda_env(pyproject: dict, versions: dict[str, str], torch_pin: str) -> None:
    """envs/usvflow.yaml: the runtime dependencies at the versions locked for CONDA_PYTHON."""
    pins = []
    for requirement in pyproject["project"]["dependencies"]:
        name = canonical(re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0])
        pins.append((CONDA_NAMES.get(name, name), versions[name]))
    header = [
        "# Conda environment for every rule (used with --sdm conda). GENERATED by `make lock` from",
        f"# {lock_path(CONDA_PYTHON).relative_to(ROOT)}; do not edit by hand. It pins pyproject.toml's runtime",
        f"# dependencies at the versions locked for Python {CONDA_PYTHON} (one line each below); conda-forge resolves",
        "# their own dependencies. Two conda-forge names differ from PyPI's: pysoundfile is soundfile, opentsne",
        "# is openTSNE. torch comes from pip at the Makefile's pin; on Linux that is PyPI's CUDA build (several",
        "# GB) whether or not the machine has a GPU.",
    ]
    body = ["channels:", "  - conda-forge", "  - nodefaults", "dependencies:", f"  - python={CONDA_PYTHON}"]
    body += [f"  - {name}=={version}" for name, version in pins]
    body += ["  - pip", "  - pip:", f"      - {torch_pin}"]
    _write_if_changed(CONDA_ENV, "\n".join(header + body) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uv", default="uv", help="the uv executable")
    parser.add_argument("--torch", required=True, help="torch's pin, e.g. torch==2.13.0 (Makefile TORCH)")
    parser.add_argument("--pythons", nargs="+", required=True, help="Python versions to lock, e.g. 3.11 3.12")
    args = parser.parse_args(argv)
    if CONDA_PYTHON not in args.pythons:
        sys.exit(f"--pythons must include {CONDA_PYTHON}: envs/usvflow.yaml is written from its lock")
    uv_version = (
        subprocess.run([args.uv, "--version"], capture_output=True, text=True, check=True).stdout.split("(")[0].strip()
    )
    pyproject = load_pyproject()
    digest = inputs_digest(pyproject, args.torch)
    wanted = {lock_path(p).name for p in args.pythons} | {torch_lock_path(p).name for p in args.pythons}
    for stale in sorted(LOCK_DIR.glob("*-linux-py*.txt")):
        if stale.name not in wanted:
            stale.unlink()
            print(f"removed {stale.relative_to(ROOT)}")
    for python in args.pythons:
        versions = write_locks(args.uv, python, args.torch, digest, uv_version)
        print(f"wrote {lock_path(python).relative_to(ROOT)} and {torch_lock_path(python).relative_to(ROOT)}")
        if python == CONDA_PYTHON:
            write_conda_env(pyproject, versions, args.torch)
            print(f"wrote {CONDA_ENV.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
