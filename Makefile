# Two entry points for a fresh machine: `make run` (set up, then the whole workflow on the default,
# simulated data) and `make test` (set up, then the test suite). Both create .venv on first use and install
# exactly the versions in requirements/lock-linux-pyXY.txt; `make lock` regenerates the lock files.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
CORES ?= 2

# torch is pinned here and installed on its own, because where its build comes from depends on the machine:
# - this machine's pip configuration (find-links /opt/wheels) holds torch-2.13.0+cpu, so the pin gives the CPU
#   build here;
# - from the public PyPI on Linux the same pin brings the CUDA build and several GB of nvidia-* wheels, whether
#   or not the machine has a GPU (the GPU route: leave TORCH_INDEX empty);
# - CPU-only route anywhere: `make setup TORCH_CPU=1` (PyTorch's CPU wheel index) or TORCH_INDEX=<index URL>.
TORCH ?= torch==2.13.0
TORCH_CPU ?=
TORCH_INDEX ?= $(if $(TORCH_CPU),https://download.pytorch.org/whl/cpu)

# Python versions with a lock file (snakemake 9, hence `make run`/`make test`, needs Python >= 3.11).
LOCK_PYTHONS ?= 3.11 3.12 3.13
UV_VERSION ?= 0.13.9
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])' 2>/dev/null)
LOCK := requirements/lock-linux-py$(PYVER).txt
TORCH_LOCK := requirements/torch-linux-py$(PYVER).txt

.PHONY: setup run test test-all lint lock reference rulegraph clean robustness

# 1. the locked packages, exactly (--no-deps: nothing outside the lock is resolved);
# 2. torch, whose own dependencies are then already there at their locked versions (its CUDA packages, on
#    the GPU route, at the versions in $(TORCH_LOCK));
# 3. usvflow itself, editable, without dependencies; pip check fails if the lock misses one (run `make lock`).
$(VENV)/.installed: pyproject.toml $(LOCK) $(TORCH_LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-deps -r $(LOCK)
	$(PY) -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) -c $(LOCK) -c $(TORCH_LOCK) "$(TORCH)"
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check || { echo "$(LOCK) does not cover pyproject.toml: run 'make lock'" >&2; exit 1; }
	touch $@

requirements/lock-linux-py%.txt requirements/torch-linux-py%.txt:
	@echo "No lock file $@ for $(PYTHON) ($$($(PYTHON) --version 2>&1)): make setup supports Python $(LOCK_PYTHONS)." >&2
	@echo "Point PYTHON at one (make setup PYTHON=python3.12) or add the version to LOCK_PYTHONS and run 'make lock'." >&2
	@exit 1

setup: $(VENV)/.installed

# Resolve pyproject.toml (every extra) and the torch pin with uv for each of LOCK_PYTHONS, write
# requirements/*-linux-py*.txt and envs/usvflow.yaml. Needs the package index (PyPI); uv lives in .venv-lock.
lock:
	test "$$(.venv-lock/bin/uv --version 2>/dev/null | cut -d' ' -f2)" = "$(UV_VERSION)" || \
	  { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/pip install --quiet "uv==$(UV_VERSION)"; }
	$(PYTHON) requirements/make_lock.py --uv .venv-lock/bin/uv --torch "$(TORCH)" --pythons $(LOCK_PYTHONS)

# Training rules ask for gpu=1; the limit is only given where there are GPUs, since on a CPU-only machine it
# would run one training job at a time and leave the other cores idle.
GPUS ?= $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU')

run: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(if $(filter-out 0,$(GPUS)),--resources gpu=$(GPUS))

# The seed sweep (not part of `make run`): the simulation and the headline analyses once per seed of
# robustness.seeds in config.yaml, then figures/robustness.csv, robustness_seeds.csv and robustness.pdf.
robustness: setup
	$(VENV)/bin/snakemake robustness --cores $(CORES)

# The fast suite (no end-to-end workflow runs); `make test-all` adds the slow ones and measures coverage of
# src/usvflow (the floor is fail_under in pyproject.toml): what CI runs.
test: setup
	$(VENV)/bin/python -m pytest -ra -m "not slow"

# The slow tests (workflow, SLURM and provenance runs, a fresh venv) leave a core idle much of the time
# (SLURM polling, pip, the DAG's serial tails), so the fast suite runs beside them rather than after them.
# Each suite writes its own coverage data (COVERAGE_FILE, followed into the workflow's subprocesses); they
# are combined and reported once, with the floor. The slow suite's output is printed when it ends
# (logs/test-slow.log). Either suite failing, or collecting no test (exit 5), fails the target. TEST_ALL_ARGS: extra pytest arguments for both (e.g. -x, -k ...).
TEST_ALL_ARGS ?=
test-all: setup
	rm -f .coverage .coverage.*
	mkdir -p logs
	COVERAGE_FILE=$(CURDIR)/.coverage.slow $(VENV)/bin/python -m pytest -ra -m slow -p no:cacheprovider --durations=10 \
	  --cov --cov-report= --cov-fail-under=0 $(TEST_ALL_ARGS) > logs/test-slow.log 2>&1 & slow=$$!; \
	COVERAGE_FILE=$(CURDIR)/.coverage.fast $(VENV)/bin/python -m pytest -ra -m "not slow" --durations=10 \
	  --cov --cov-report= --cov-fail-under=0 $(TEST_ALL_ARGS); fast=$$?; \
	wait $$slow; slow=$$?; echo "=== slow tests (logs/test-slow.log) ==="; cat logs/test-slow.log; \
	test $$fast = 0 && test $$slow = 0
	$(VENV)/bin/python -m coverage combine
	$(VENV)/bin/python -m coverage report

# Python (ruff) and Snakemake (snakefmt, snakemake --lint) style; CI runs it before the tests.
lint: setup
	$(VENV)/bin/ruff check src scripts tests benchmarks
	$(VENV)/bin/snakefmt --check Snakefile rules
	$(VENV)/bin/snakemake --lint

# The reference run the README shows: copy this run's figures/ (tables, figures, summary) to the tracked
# docs/reference-run/. Run after a complete default run whose numbers the README should quote.
reference:
	@test -f figures/summary.md || { echo "figures/summary.md missing: run the workflow first (make run)"; exit 1; }
	mkdir -p docs/reference-run
	cp figures/* docs/reference-run/

# The rule graph of docs/architecture.md (graphviz `dot` renders it to SVG where installed).
rulegraph: setup
	$(VENV)/bin/snakemake --rulegraph > docs/rulegraph.dot
	-command -v dot >/dev/null && dot -Tsvg docs/rulegraph.dot -o docs/rulegraph.svg

clean:
	rm -rf results logs .snakemake
