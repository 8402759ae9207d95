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

# For now: the embedded services come up, the catalog is migrated, the buckets are
# created, the face model pack is installed, the status is shown, and everything is shut
# down again.
demo: install system-deps
	@trap '$(BIN)/scas down' EXIT; $(BIN)/scas up && $(BIN)/scas models install && \
		$(BIN)/scas models list && $(BIN)/scas status

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
