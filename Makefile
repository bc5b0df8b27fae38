# netplan: two commands. `make demo` plans the demo county; `make test` runs the suite.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean browser

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/netplan demo

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -n 2

# Browser tests of the maps `make demo` wrote (Debian chromium, network blocked; skip without it).
browser: demo $(VENV)/.installed-test
	$(BIN)/python -m pytest -q tests/browser

lint: $(VENV)/.installed-test
	$(BIN)/ruff check netplan tests scripts

clean:
	rm -rf $(VENV) maps/*/ .netplan_cache
