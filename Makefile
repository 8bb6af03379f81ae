# The two commands of the README: `make run` and `make test`. Each installs what it needs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-sweep bench-api bench-reads clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/portalflow serve

test: $(STAMP)
	sh scripts/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

bench-sweep: $(STAMP)
	$(BIN)/python -m bench.sweep

bench-api: $(STAMP)
	$(BIN)/python -m bench.api_load

bench-reads: $(STAMP)
	$(BIN)/python -m bench.reads

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
