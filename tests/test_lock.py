"""The lock files agree with pyproject.toml, envs/usvflow.yaml and the Makefile, and `make setup` installs them."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

_spec = importlib.util.spec_from_file_location("make_lock", ROOT / "requirements" / "make_lock.py")
make_lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_lock)


def makefile_default(variable: str) -> str:
    match = re.search(rf"^{variable} \?= *(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert match, f"Makefile sets no default for {variable}"
    return match.group(1).strip()


TORCH_PIN = makefile_default("TORCH")
PYTHONS = makefile_default("LOCK_PYTHONS").split()
PYPROJECT = make_lock.load_pyproject()


def requirements_with_extra() -> list[tuple[Requirement, str]]:
    """Every requirement of pyproject.toml: the runtime ones (extra "") and those of each extra."""
    project = PYPROJECT["project"]
    found = [(Requirement(text), "") for text in project["dependencies"]]
    for extra, texts in project.get("optional-dependencies", {}).items():
        found += [(Requirement(text), extra) for text in texts]
    return found


def test_every_supported_python_has_both_lock_files_and_nothing_else():
    expected = {make_lock.lock_path(p).name for p in PYTHONS} | {make_lock.torch_lock_path(p).name for p in PYTHONS}
    present = {path.name for path in (ROOT / "requirements").glob("*-linux-py*.txt")}
    assert present == expected


@pytest.mark.parametrize("python", PYTHONS)
def test_lock_pins_every_requirement_of_pyproject_exactly(python):
    lock = make_lock.parse_lock(make_lock.lock_path(python))  # raises on any line that is not name==version
    target = {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "platform_machine": "x86_64",
        "os_name": "posix",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
    }
    checked = 0
    for requirement, extra in requirements_with_extra():
        if requirement.marker is not None and not requirement.marker.evaluate({**target, "extra": extra}):
            continue
        name = make_lock.canonical(requirement.name)
        assert name in lock, f"{requirement} (pyproject.toml) is not in the Python {python} lock: run make lock"
        assert requirement.specifier.contains(lock[name], prereleases=True), (
            f"Python {python} lock has {name}=={lock[name]}, pyproject.toml asks {requirement}: run make lock"
        )
        checked += 1
    assert checked >= len(PYPROJECT["project"]["dependencies"])
    assert all(Version(version) for version in lock.values())


@pytest.mark.parametrize("python", PYTHONS)
def test_torch_is_pinned_apart_with_only_its_cuda_runtime(python):
    lock = make_lock.parse_lock(make_lock.lock_path(python))
    gpu = make_lock.parse_lock(make_lock.torch_lock_path(python))
    torch = Requirement(TORCH_PIN)
    assert gpu["torch"] == str(next(iter(torch.specifier)).version)
    assert "torch" not in lock and not set(lock) & set(gpu)
    # torch's own non-CUDA dependencies are in the main lock, so a CPU build finds them there.
    assert {"filelock", "sympy", "networkx", "jinja2", "fsspec", "typing-extensions"} <= set(lock)
    assert TORCH_PIN in make_lock.header_value(make_lock.lock_path(python), "torch")


@pytest.mark.parametrize("python", PYTHONS)
def test_lock_was_made_from_the_current_pyproject_and_torch_pin(python):
    digest = make_lock.inputs_digest(PYPROJECT, TORCH_PIN)
    for path in (make_lock.lock_path(python), make_lock.torch_lock_path(python)):
        assert make_lock.header_value(path, "inputs-sha256") == digest, (
            f"{path.name} was resolved from other dependency lists or another torch pin: run make lock"
        )


def test_conda_env_pins_the_runtime_dependencies_at_the_locked_versions():
    env = yaml.safe_load(make_lock.CONDA_ENV.read_text())
    lock = make_lock.parse_lock(make_lock.lock_path(make_lock.CONDA_PYTHON))
    conda = [dep for dep in env["dependencies"] if isinstance(dep, str)]
    pip = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert f"python={make_lock.CONDA_PYTHON}" in conda
    pins = dict(dep.split("==") for dep in conda if "==" in dep)
    expected = {}
    for text in PYPROJECT["project"]["dependencies"]:
        name = make_lock.canonical(Requirement(text).name)
        expected[make_lock.CONDA_NAMES.get(name, name)] = lock[name]
    assert pins == expected
    assert {"pysoundfile", "opentsne"} <= set(pins)
    assert pip == [TORCH_PIN]


def _dry_run_setup(tmp_path: Path, *variables: str) -> str:
    """The commands `make setup` would run into a new venv (make -n prints, runs nothing)."""
    result = subprocess.run(
        ["make", "-n", "setup", f"VENV={tmp_path / 'venv'}", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_setup_installs_the_lock_without_dependencies_and_torch_from_the_chosen_index(tmp_path):
    lock = make_lock.lock_path(f"{sys.version_info[0]}.{sys.version_info[1]}").relative_to(ROOT)
    default = _dry_run_setup(tmp_path)
    assert f"pip install --quiet --no-deps -r {lock}" in default
    assert "download.pytorch.org" not in default  # unreachable here; the default is the machine's pip config
    torch_line = next(line for line in default.splitlines() if TORCH_PIN in line)
    assert "--index-url" not in torch_line and f"-c {lock}" in torch_line
    cpu = _dry_run_setup(tmp_path, "TORCH_CPU=1")
    assert "--index-url https://download.pytorch.org/whl/cpu" in cpu
    other = _dry_run_setup(tmp_path, "TORCH_INDEX=https://mirror.example/whl/cpu")
    assert "--index-url https://mirror.example/whl/cpu" in other


def _installed(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


@pytest.mark.skipif(
    not (Path(sys.prefix) / ".installed").exists(), reason="not running in an environment made by `make setup`"
)
def test_make_setup_environment_holds_exactly_the_locked_versions():
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    lock = make_lock.parse_lock(make_lock.lock_path(python))
    wrong = {name: (version, _installed(name)) for name, version in lock.items() if _installed(name) != version}
    assert not wrong, f"installed versions differ from {make_lock.lock_path(python).name}: {wrong}"
    gpu = make_lock.parse_lock(make_lock.torch_lock_path(python))
    # torch: the pin's version with any local build label (2.13.0+cpu, 2.13.0+cu130).
    assert Version(_installed("torch")).public == gpu.pop("torch")
    # The CUDA runtime is there only with a CUDA build; where it is, at the locked versions.
    wrong = {
        name: (version, _installed(name)) for name, version in gpu.items() if _installed(name) not in (None, version)
    }
    assert not wrong, f"CUDA packages differ from {make_lock.torch_lock_path(python).name}: {wrong}"
