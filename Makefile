# The two commands: `make run` (set up, then every notebook run to the published site)
# and `make test` (set up, then lint and the test suite). Every target creates .venv if missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
KERNEL := research-workbook

.PHONY: run test lab bench lock clean publish validate help

help:
	@echo "make run    set up .venv, validate the data, execute every run, publish outputs/site/"
	@echo "make test   set up .venv, ruff lint + format check, pytest"
	@echo "make lab    JupyterLab on the project with the project kernel"
	@echo "make bench  benchmarks (ratios against baselines measured in the same process)"
	@echo "make lock   regenerate requirements.lock from pyproject.toml"
	@echo "make clean  remove outputs/ (and .venv with 'make clean ALL=1')"

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python 3 (research workbook)" >/dev/null
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/research validate
	$(BIN)/research run

publish: $(STAMP)
	$(BIN)/research publish

validate: $(STAMP)
	$(BIN)/research validate

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/research lab

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_load.py
	$(BIN)/python benchmarks/bench_run.py

lock:
	rm -rf .lockenv
	$(PYTHON) -m venv .lockenv
	.lockenv/bin/python -m pip install --quiet --upgrade pip
	.lockenv/bin/python -m pip install --quiet ".[test]" setuptools wheel
	{ echo "# Exact versions for Linux / CPython 3.11, generated from pyproject.toml by 'make lock'. Do not edit by hand."; \
	  .lockenv/bin/python -m pip freeze --all --exclude-editable | grep -vE '^(research|pip)=='; } > requirements.lock
	rm -rf .lockenv

clean:
	rm -rf outputs
ifdef ALL
	rm -rf $(VENV)
endif
