# Two entry points for a fresh machine: `make run` (set up, then the whole workflow on the default,
# simulated data) and `make test` (set up, then the test suite). Both create .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
CORES ?= 2
# Exact pin: on CPU-only machines this resolves to the small CPU build; on a machine with an
# NVIDIA driver the same pin from PyPI brings the CUDA build. An unpinned torch pulls GBs of CUDA.
TORCH ?= torch==2.13.0

.PHONY: setup run test clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/snakemake --cores $(CORES) --resources gpu=1

test: setup
	$(VENV)/bin/python -m pytest -ra

clean:
	rm -rf results logs .snakemake
