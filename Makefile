# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Everything Python goes into .venv/ at the repository root.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install system-deps demo test lint format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

# Debian's ffmpeg, when the machine has none.
system-deps:
	@scripts/install-system-deps.sh

# A synthetic event through every stage built so far (scripts/demo.sh says which).
demo: install system-deps
	@scripts/demo.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest exits 5 when it collected no tests: that is a failure too.
test: install system-deps lint
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
