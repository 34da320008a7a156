# sparselib: `make test` runs the tests, `make book` builds the book. Both set themselves up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist
CHROMIUM := /usr/bin/chromium

.PHONY: setup data browser test book clean-book mutation

setup: $(STAMP) data browser

# torch goes first and alone, pinned, so pip takes the local CPU wheel; constraints.txt keeps every other package
# from pulling a different (CUDA) torch.
$(STAMP): requirements.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $(STAMP)

# Real Fashion-MNIST for the offline default study comes from Debian's package.
data:
	@if [ ! -d $(FMNIST) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q dataset-fashion-mnist || (apt-get update -q && apt-get install -y -q dataset-fashion-mnist)) >/dev/null; \
	  else \
	    echo "note: $(FMNIST) is missing; as root run 'apt-get install dataset-fashion-mnist' (tests that need it are skipped)"; \
	  fi; \
	fi

# The book's browser tests (tests/test_book.py) drive Debian's chromium through Playwright; not
# `playwright install`, which downloads browsers from a CDN.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium)) >/dev/null; \
	  else \
	    echo "note: $(CHROMIUM) is missing; as root run 'apt-get install chromium' (the browser tests fail without it; SPARSELIB_SKIP_BROWSER=1 skips them)"; \
	  fi; \
	fi

test: setup
	$(PY) -m pytest -q

book: setup
	$(PY) -m sparselib sweep --no-progress
	$(PY) tools/book_assets.py
	$(VENV)/bin/jupyter-book build -W -n --keep-going .

# Mutation testing of the core modules (pyproject.toml [tool.mutmut]); too slow for CI: 15-30 min on 2 cores.
mutation: setup
	$(PY) -m pip install -q "mutmut==3.8.1" -c constraints.txt
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children 2 > mutation.log 2>&1 || true
	$(PY) tools/mutation_report.py

clean-book:
	rm -rf _build
