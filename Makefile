# The two commands a newcomer needs: `make demo` and `make test`.
# Both build .venv with the first Python >= 3.11 found, and reinstall only when pyproject.toml changed.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
PYTEST_ARGS ?=

.PHONY: demo demo-reset test lint test-sqlite test-postgres venv screenshots bench

venv: $(INSTALLED)

$(INSTALLED): pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python >= 3.11 found on PATH."; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(INSTALLED)
	DEBUG=True $(BIN)/python manage.py demo

# The demo from scratch: a new database and a new fleet (make demo keeps both between runs).
demo-reset: $(INSTALLED)
	DEBUG=True $(BIN)/python manage.py demo --reset

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-sqlite: $(INSTALLED)
	@echo "== tests on SQLite =="
	DATABASE_URL=sqlite:///:memory: $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(INSTALLED)
	@if $(BIN)/python tests/postgres_available.py "$(POSTGRES_TEST_URL)"; then \
		echo "== tests on PostgreSQL =="; \
		DATABASE_URL="$(POSTGRES_TEST_URL)" $(BIN)/pytest $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(POSTGRES_TEST_URL) is not reachable, and CI must test on it."; exit 1; \
	else \
		echo "Skipping the PostgreSQL pass: nothing answers at $(POSTGRES_TEST_URL)."; \
	fi

test: lint test-sqlite test-postgres

# Refresh the images in docs/screenshots/ from the browser tests.
screenshots: $(INSTALLED)
	SCREENSHOTS=1 DATABASE_URL=sqlite:///:memory: $(BIN)/pytest tests/browser $(PYTEST_ARGS)

# The whole benchmark suite on loopback; writes bench/RESULTS.md (see README, "Performance").
bench: $(INSTALLED)
	$(BIN)/python bench/run.py
