# The two commands of the README: `make run` and `make test`. Each installs what it needs into .venv first:
# `make run` only what the service needs, `make test` the test tools as well (each once, until pyproject.toml or
# constraints.txt change), saying so before it starts.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SERVE_STAMP := $(VENV)/.installed-serve
DEV_STAMP   := $(VENV)/.installed-dev
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -c constraints.txt

.PHONY: run test lint bench bench-sweep bench-api bench-reads clean

$(SERVE_STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "make: installing what the service needs into $(VENV) (once; about a minute)..."
	@$(PIP) -e . | grep -E '^(Collecting|Successfully installed)' || true
	@$(BIN)/python -c "import api.app" && touch $(SERVE_STAMP)

$(DEV_STAMP): $(SERVE_STAMP)
	@echo "make: installing the test and bench tools into $(VENV) (once)..."
	@$(PIP) -e '.[dev]' | grep -E '^(Collecting|Successfully installed)' || true
	@$(BIN)/python -c "import pytest, playwright, mypy" && touch $(DEV_STAMP)

run: $(SERVE_STAMP)
	$(BIN)/portalflow serve

test: $(DEV_STAMP)
	sh scripts/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

bench-sweep: $(DEV_STAMP)
	$(BIN)/python -m bench.sweep

bench-api: $(DEV_STAMP)
	$(BIN)/python -m bench.api_load

bench-reads: $(DEV_STAMP)
	$(BIN)/python -m bench.reads

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
