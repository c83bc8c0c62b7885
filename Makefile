# ERPLake — the two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WEB := apps/web
PYTEST_WORKERS ?= 2

.PHONY: run test lint format bench web web-test install clean help

help:
	@echo "make run    - install, build the web app (if npm is present) and serve the demo school"
	@echo "make test   - install test dependencies and run the whole suite"
	@echo "make lint   - ruff check, ruff format --check, mypy"
	@echo "make bench  - run the benchmark scenarios and print the table"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ERPLake needs Python 3.11 or newer")'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

web:
	@if command -v npm >/dev/null 2>&1 && [ -f $(WEB)/package.json ]; then \
		cd $(WEB) && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm run build; \
	else \
		echo "npm not found or no $(WEB)/package.json: skipping the web build (the API still serves)"; \
	fi

run: $(STAMP) web
	$(BIN)/erplake run

test: $(STAMP)
	$(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider
	@$(MAKE) --no-print-directory web-test

web-test:
	@if command -v npm >/dev/null 2>&1 && [ -f $(WEB)/package.json ]; then \
		cd $(WEB) && { [ -d node_modules ] || npm ci --no-audit --no-fund; } && npm test; \
	else \
		echo "npm not found or no $(WEB)/package.json: skipping the web unit tests"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy erplake

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
