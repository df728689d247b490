# metasnn — the two commands (each creates .venv and installs the pinned dependencies first):
#   make reproduce   run the default-scale pipeline (snakemake --cores 8 all) -> results/, then `dvc commit`
#   make test        run the test suite (includes a smoke-scale pipeline run)
# Other targets: install, smoke, paper-rehearsal, dvc-repro, lint, bench, clean.
#   make paper-rehearsal   the paper-scale DAG at paper shapes with capped loops (<= 30 min on 2 cores, in
#                          rehearsal/), then its measured cost projected to the paper (paper_projection.md)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export PATH := $(abspath $(BIN)):$(PATH)
export DVC_NO_ANALYTICS := 1
CORES  ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install reproduce smoke paper-rehearsal test test-fast dvc-repro lint bench clean

install:
	@bash scripts/install.sh $(PYTHON)

reproduce: install
	$(BIN)/python -m pipeline.check_config --params params.yaml --out results/config/validated.json --log logs/check_config/run.log
	$(BIN)/snakemake --cores $(CORES) all
	@# record what Snakemake built in dvc.lock, so `dvc status` / `dvc repro` see it as up to date
	$(BIN)/dvc commit --force --quiet

smoke: install
	$(BIN)/snakemake --workflow-profile profiles/ci

paper-rehearsal: install
	CORES=$(CORES) bash scripts/paper_rehearsal.sh

test: install
	$(BIN)/python -m pytest

test-fast: install
	$(BIN)/python -m pytest -m "not slow"

dvc-repro: install
	$(BIN)/dvc repro

lint: install
	$(BIN)/ruff check metasnn pipeline tests benchmarks

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf results logs .snakemake rehearsal
