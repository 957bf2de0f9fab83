# Quickstart targets. Both work on a fresh machine with only Python 3.11:
# they create .venv, install the pinned torch first, then neurova with all extras.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.neurova-installed

.PHONY: setup demo test lint bench clean

setup: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/pip install -c constraints.txt torch torchvision
	$(BIN)/pip uninstall --yes --quiet neurova 2>/dev/null || true  # the distribution was renamed neurova-va
	$(BIN)/pip install -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

demo: setup
	$(BIN)/neurova demo

# The suite runs on one pytest-xdist worker per CPU, at most 4 (each worker imports torch; more only add start-up
# and memory), with work stealing so the long tests do not leave a worker idle at the end. `make test
# TEST_WORKERS=0` runs it in one process; `pytest tests/x.py` alone never starts workers.
TEST_WORKERS ?= auto

test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses 4 --dist worksteal

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/bench_tbr.py
	$(BIN)/python benchmarks/bench_simulator.py
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_streaming.py
	$(BIN)/python benchmarks/bench_shared_frames.py
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_memory.py

clean:
	rm -rf $(VENV) runs .pytest_cache
