"""The house rules of the library: stages import only earlier stages, no import cycles, no module over ~500
lines, and planning the workflow (``snakemake -n``) needs no torch, scikit-learn, scipy or matplotlib."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import HEAVY, ROOT, job_counts

PACKAGE = ROOT / "src" / "usvflow"

#: The stages in the order data flows; a module may import its own stage and earlier ones only.
STAGES = ["errors", "config", "audio", "simulate", "detect", "features", "classify", "interpret", "segment",
          "report", "figures", "workflow", "detect_cli", "classify_cli", "cli"]
MAX_LINES = 500


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, top_level_only: bool = False) -> set[str]:
    """usvflow modules imported by ``name`` (lazy imports inside functions too, unless ``top_level_only``)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod == "usvflow" or mod.startswith("usvflow."):
                # `from usvflow.x import y` may name a submodule y
                subs = [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
                found.update(subs or [mod])
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("usvflow"))
    return {m for m in found if m != "usvflow"}


MODULES = _modules()


def _stage(module: str) -> int:
    return STAGES.index(module.split(".")[1])


def test_every_module_belongs_to_a_stage():
    assert all(m == "usvflow" or m.split(".")[1] in STAGES for m in MODULES), sorted(MODULES)


def test_no_module_over_500_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long


def test_imports_flow_from_earlier_stages_only():
    wrong = []
    for name, path in MODULES.items():
        if name == "usvflow":
            continue
        for dep in _imports(name, path):
            if _stage(dep) > _stage(name):
                wrong.append(f"{name} imports {dep} (a later stage)")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    graph = {name: {d for d in _imports(name, path, top_level_only=True) if d in MODULES}
             for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for dep in graph[node]:
            if state.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [dep]))
            if dep not in state:
                visit(dep, trail + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_the_checks_see_a_wrong_import(tmp_path):
    """The direction check is not vacuous: an earlier stage importing a later one is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from ..classify.models import build_model\n")
    deps = _imports("usvflow.audio.bad", bad)
    assert deps == {"usvflow.classify.models"} and _stage("usvflow.classify.models") > _stage("usvflow.audio.bad")


@pytest.mark.parametrize("preset", ["default", "paper"])
def test_dry_run_imports_no_scientific_stack(preset, request):
    """`snakemake -n` with torch, scikit-learn, scipy, matplotlib, ... made unimportable (the shared dry runs
    of conftest are planned that way)."""
    proc = request.getfixturevalue(f"{preset}_dry_run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert job_counts(proc.stdout)["train_cnn"] > 0


@pytest.mark.slow
def test_dry_run_in_a_venv_with_only_snakemake_pandas_pyyaml_jsonschema(clone, tmp_path):
    """The done-when of the layout: a real virtual environment holding only the four packages."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    import snakemake

    pins = [f"snakemake=={snakemake.__version__}", "pandas", "pyyaml", "jsonschema"]
    pip = subprocess.run([str(py), "-m", "pip", "install", "-q", *pins], capture_output=True, text=True,
                         timeout=900)
    if pip.returncode != 0:
        pytest.skip(f"pip could not install {pins} here: {pip.stderr.strip().splitlines()[-1:]}")
    absent = subprocess.run([str(py), "-c", f"import importlib.util as u; print([m for m in {HEAVY!r} "
                             "if u.find_spec(m)])"], capture_output=True, text=True, check=True)
    assert absent.stdout.strip() == "[]", absent.stdout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run([str(venv / "bin" / "snakemake"), "-n", "--cores", "2"], cwd=clone, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert job_counts(proc.stdout)["simulate_recording"] == 14
