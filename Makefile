# Two commands on a fresh machine: `make demo` and `make test`. Each builds the local
# virtual environment from pyproject.toml on first use (and again when pyproject.toml changes).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

demo: $(STAMP)
	$(PY) -m jacobian_nn tanh

test: $(STAMP)
	$(PY) -m ruff check jacobian_nn tests
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check jacobian_nn tests
	$(PY) -m ruff format --check jacobian_nn tests

# Timing is never part of `make test`: this writes benchmarks/results/latest.json.
bench: $(STAMP)
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
