# Two commands on a fresh machine: `make demo` and `make test`. Each builds the local
# virtual environment from pyproject.toml on first use (and again when pyproject.toml changes).
# `make test-latex` compiles the LaTeX output with a real pdflatex.
# `make notebooks` re-executes notebooks/*.ipynb in place, then starts JupyterLab on them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-latex bench clean notebooks notebooks-run

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,notebooks,symbolic]"
	# A "python3" kernel inside .venv whose argv is .venv's own python, so nbclient and
	# JupyterLab run the notebooks with this package, not with a system interpreter.
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (jacobian_nn)"
	touch $@

demo: $(STAMP)
	$(PY) -m jacobian_nn tanh

test: $(STAMP)
	$(PY) -m ruff check jacobian_nn tests benchmarks notebooks
	$(PY) -m pytest

# The LaTeX of worked examples, Beamer frames and exercise sheets, compiled with a real pdflatex.
# Installs Debian's TeX Live (LaTeX base and recommended, which has beamer, and pictures, which
# has the pgf beamer needs) with apt-get when pdflatex or beamer is missing; needs root.
TEX_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-pictures
test-latex: $(STAMP)
	@if ! command -v pdflatex >/dev/null || ! kpsewhich beamer.cls pgfcore.sty >/dev/null; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $(TEX_PACKAGES); \
	fi
	$(PY) -m pytest -m latex tests/test_latex_compiles.py

notebooks-run: $(STAMP)
	$(PY) tests/notebook_runner.py --inplace notebooks/*.ipynb

# --allow-root: these machines log in as root, where JupyterLab otherwise refuses to start.
notebooks: notebooks-run
	$(VENV)/bin/jupyter lab --allow-root --ServerApp.root_dir=notebooks

# Timing is never part of `make test`: this writes benchmarks/results/latest.json.
bench: $(STAMP)
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
