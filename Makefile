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

test: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache --no-logo
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python benchmarks/bench_tbr.py
	$(BIN)/python benchmarks/bench_simulator.py
	$(BIN)/python benchmarks/bench_data.py
	$(BIN)/python benchmarks/bench_models.py
	$(BIN)/python benchmarks/bench_streaming.py
	$(BIN)/python benchmarks/bench_training.py

clean:
	rm -rf $(VENV) runs .pytest_cache
