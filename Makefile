# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Everything Python goes into .venv/ at the repository root.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install system-deps demo airflow deploy-up deploy-down deploy-status test test-fast lint typecheck imports docs docs-build format clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[airflow,test,docs]'
	touch $@

install: $(STAMP)

# Debian's ffmpeg, when the machine has none.
system-deps:
	@scripts/install-system-deps.sh

# A synthetic event through every stage built so far (scripts/demo.sh says which).
# `make demo SERVE=1` leaves `scas serve` running and prints the console's, the big
# screen's and a visitor page's addresses.
demo: install system-deps
	@SERVE=$(SERVE) scripts/demo.sh

# Airflow standalone on the embedded defaults: UI on http://127.0.0.1:8080 (this machine
# only; AIRFLOW_API_HOST=0.0.0.0 to open it), one DAG per config/events/*.yaml. Ctrl-C
# stops Airflow; `scas down` stops the embedded servers.
AIRFLOW_API_HOST ?= 127.0.0.1
AIRFLOW_ENV := AIRFLOW_HOME=$(CURDIR)/.airflow AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/dags \
	AIRFLOW__API__HOST=$(AIRFLOW_API_HOST) \
	AIRFLOW__CORE__PLUGINS_FOLDER=$(CURDIR)/plugins AIRFLOW__CORE__LOAD_EXAMPLES=false \
	AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=false PATH=$(CURDIR)/$(BIN):$$PATH
airflow: install system-deps
	$(BIN)/scas up
	$(BIN)/scas models install
	$(AIRFLOW_ENV) $(BIN)/airflow db migrate
	$(AIRFLOW_ENV) $(BIN)/airflow pools set gpu 1 "GPU recognition"
	$(AIRFLOW_ENV) $(BIN)/airflow standalone

# The production shape (docker-compose.yaml) on loopback without Docker: Airflow with the
# CeleryExecutor, Redis, scheduler, dag-processor, triggerer, API server and Celery workers
# for queues default and gpu (scas_lib/deploy/). `make deploy-down` stops every process.
deploy-up: install system-deps
	$(BIN)/scas deploy up

deploy-down: install
	$(BIN)/scas deploy down

deploy-status: install
	$(BIN)/scas deploy status

lint: install typecheck imports docs-build
	scripts/check-file-sizes.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy in strict mode on scas_lib/ (its settings are in pyproject.toml).
typecheck: install
	$(BIN)/mypy

# The import layers of scas_lib/ (the contracts are in pyproject.toml, [tool.importlinter]).
imports: install
	$(BIN)/lint-imports

# The docs site: `make docs` serves it on http://127.0.0.1:8000, `make docs-build` checks it.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir $(CURDIR)/.site

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest exits 5 when it collected no tests: that is a failure too.
test: install system-deps lint
	@$(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

# The fast tier: pure and doctest tests, no server, no model, no browser (under a minute).
test-fast: install
	@$(BIN)/pytest -m fast $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; \
	exit $$status

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache .airflow .site
