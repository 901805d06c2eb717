# The two commands: `make demo` and `make test`. Both set up .venv on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pipeline.demo

bench: install
	$(BIN)/python benchmarks/segmentation.py

clean:
	rm -rf $(VENV) build *.egg-info
