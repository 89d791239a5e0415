# One-command set-up: `make tables` (the default profile end to end) and `make test`.
# The virtual environment is created once and reused; it is reinstalled only when
# pyproject.toml changes.
PYTHON ?= python3.11
VENV ?= .venv
CORES ?= $(shell nproc 2>/dev/null || echo 2)
PROFILE ?= default
OVERRIDES ?=
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.cyclebench-installed

.PHONY: setup tables report test test-fast smoke reference lint clean-results gpu-check \
	cluster-setup test-cluster

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $(STAMP)

CONFIGFILES := config/$(PROFILE).yaml $(OVERRIDES)

## make tables: data -> training -> evaluation -> tables, figures and report
##   (PROFILE=default; OVERRIDES="my.yaml ..." adds override files, checked first by name;
##   the report goes to <results_dir>/<profile>/report.html of the merged files)
tables: setup
	$(BIN)/python -m cyclebench check $(CONFIGFILES)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) \
		--configfile $(CONFIGFILES) $(SNAKEMAKE_ARGS) tables
	report=$$($(BIN)/python -c "import sys; from cyclebench.profile import load_profile; \
		c = load_profile(*sys.argv[1:]); print(f\"{c['results_dir']}/{c['profile']}/report.html\")" \
		$(CONFIGFILES)) && PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) \
		--configfile $(CONFIGFILES) --report $$report tables

## make test: unit tests plus the smoke DAG end to end with the metric regression check
test: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

## make test-fast: unit tests only (skips the end-to-end smoke DAG)
test-fast: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

## make test-cluster (as root): the smoke DAG through the SLURM executor plugin on a real
##   one-node SLURM that it starts on this machine (tests/cluster/start.sh) and stops after
SLURM_STATE ?= /tmp/cyclebench-slurm
test-cluster: setup cluster-setup
	CYCLEBENCH_SLURM_STATE=$(SLURM_STATE) bash tests/cluster/start.sh
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest --cluster -v -s \
		tests/test_cluster.py $(PYTEST_ARGS); rc=$$?; \
		CYCLEBENCH_SLURM_STATE=$(SLURM_STATE) bash tests/cluster/stop.sh; exit $$rc

## make cluster-setup (as root): the Debian packages of that cluster, once
cluster-setup:
	@command -v slurmctld >/dev/null && command -v munged >/dev/null || { \
		apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge; }

## make reference: re-run the smoke profile and rewrite results/reference/ (after an intended change)
reference: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores $(CORES) \
		--configfile config/smoke.yaml tables
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --cores 1 \
		--configfile config/smoke.yaml --forcerun update_reference -- update_reference

lint: setup
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/snakemake --lint

clean-results:
	rm -rf results/smoke results/default .snakemake

## make gpu-check: on one CUDA GPU, a few minutes: the paper's CycleGAN 128 and pix2pix 256 in
##   fp32, bf16 autocast, channels_last and torch.compile (finite losses, tracking fp32, speed-ups)
gpu-check: setup
	$(BIN)/python -m cyclebench bench gpu-check --device cuda
