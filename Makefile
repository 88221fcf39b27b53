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

# Training rules ask for gpu=1; the limit is only given where there are GPUs, since on a CPU-only machine it
# would run one training job at a time and leave the other cores idle.
GPUS ?= $(shell nvidia-smi -L 2>/dev/null | grep -c '^GPU')

run: setup
	$(VENV)/bin/snakemake --cores $(CORES) $(if $(filter-out 0,$(GPUS)),--resources gpu=$(GPUS))

test: setup
	$(VENV)/bin/python -m pytest -ra

clean:
	rm -rf results logs .snakemake
