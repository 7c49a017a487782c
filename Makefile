# Two commands on a fresh machine: `make demo` and `make test`. Each builds the local
# virtual environment from pyproject.toml on first use (and again when pyproject.toml changes).
# `make test-latex` compiles the LaTeX output with a real pdflatex.
# `make notebooks` re-executes notebooks/*.ipynb in place, then starts JupyterLab on them.
# `make notebooks-html` exports them to build/notebooks-html/, typesetting offline.
# `make test-browser` checks notebook 07 and that export in a real (headless) chromium.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test test-latex test-browser bench clean notebooks notebooks-run notebooks-html

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

# Headless chromium opens notebook 07 in a JupyterLab it starts (and stops) on localhost, and
# the offline HTML export. Installs Debian's chromium and chromium-driver with apt-get when
# missing (needs root), and Selenium (the [browser] extra) into .venv.
BROWSER_PACKAGES := chromium chromium-driver
test-browser: $(VENV)/.browser
	@if ! test -x /usr/bin/chromium || ! test -x /usr/bin/chromedriver; then \
	    apt-get update && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y --no-install-recommends $(BROWSER_PACKAGES); \
	fi
	$(PY) -m pytest -m browser tests/test_browser.py

$(VENV)/.browser: $(STAMP)
	$(PY) -m pip install --quiet -e ".[browser]"
	touch $@

notebooks-run: $(STAMP)
	$(PY) tests/notebook_runner.py --inplace notebooks/*.ipynb

# HTML with MathJax copied beside it (from the jupyter-server-mathjax package), so the math
# typesets from file:// without internet.
notebooks-html: $(STAMP)
	$(PY) tests/notebook_html.py --out build/notebooks-html notebooks/*.ipynb

# --allow-root: these machines log in as root, where JupyterLab otherwise refuses to start.
notebooks: notebooks-run
	$(VENV)/bin/jupyter lab --allow-root --ServerApp.root_dir=notebooks

# Timing is never part of `make test`: this writes benchmarks/results/latest.json.
bench: $(STAMP)
	$(PY) benchmarks/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache
