# The README's two commands: `make demo` (set up, then the main job) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUITE ?= quick

.PHONY: setup demo test ray-check lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0  # the CPU build first, so nothing pulls a CUDA one
	$(BIN)/pip install --quiet -e '.[audio,dev]'
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/diffrnn compare --suite $(SUITE)

test: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest

# Issue 19: the quick suite on a local Ray cluster (--address auto) matches --jobs 2 (minutes;
# run by .ci/run after the tests, not part of them).
ray-check: setup
	PYTHONPATH=src $(BIN)/python benchmarks/ray_quick_check.py

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info src/*.egg-info
