# Two entry points for a fresh machine: `make run` (set up, then the whole workflow on the default,
# simulated data) and `make test` (set up, then the test suite). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
# Exact pin: on CPU-only machines this resolves to the small CPU build; on a machine with an
# NVIDIA driver the same pin from PyPI brings the CUDA build. An unpinned torch pulls GBs of CUDA.
TORCH ?= torch==2.13.0

.PHONY: setup run test lint reference rulegraph clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

# Training rules ask for gpu=1; the limit is only given where there are GPUs, since on a CPU-only machine it
# would run one training job at a time and leave the other cores idle.
GPUS ?= $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU')

run: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(if $(filter-out 0,$(GPUS)),--resources gpu=$(GPUS))

test: setup
	$(VENV)/bin/python -m pytest -ra

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
