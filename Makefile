PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Airflow in a virtual environment of its own: its pins would fight our dev tools'.
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
AIRFLOW_VERSION ?= 3.3.*

# The projects users compare us with, in a virtual environment of their own (make bench-peers).
PEERS_VENV := .venv-peers
PEERS_STAMP := $(PEERS_VENV)/.installed

.PHONY: demo test test-fast test-airflow lint bench bench-cluster bench-scale bench-peers fuzz clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/orchestrator-feedback demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# The loop while working: no slow, PostgreSQL, browser, Airflow or cluster tests.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/python -m pytest -q -m "not slow and not postgres and not browser and not airflow and not cluster"

$(AIRFLOW_STAMP):
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet 'apache-airflow==$(AIRFLOW_VERSION)'
	touch $(AIRFLOW_STAMP)

# Our package installed as users install it (a wheel, not editable), anew each run; then
# the tests that drive the real Airflow through it.
test-airflow: $(STAMP) $(AIRFLOW_STAMP)
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet .
	$(AIRFLOW_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .
	ORCHESTRATOR_FEEDBACK_AIRFLOW_PYTHON=$(CURDIR)/$(AIRFLOW_VENV)/bin/python \
		$(BIN)/python -m pytest -q tests/adapters/test_airflow_dag.py

$(PEERS_STAMP):
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install --quiet 'mlflow-skinny==3.17.*' sqlalchemy alembic 'dagster==1.13.*'
	touch $(PEERS_STAMP)

# Not part of make test or CI: about 250 MB of other projects, and ten minutes.
bench-peers: $(STAMP) $(PEERS_STAMP)
	$(BIN)/python -m benchmarks.peers --peers-python $(PEERS_VENV)/bin/python

fuzz: $(STAMP)
	ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES=20000 $(BIN)/python -m pytest -q tests/storage/test_import_fuzz.py
	ORCHESTRATOR_FEEDBACK_FUZZ_EXAMPLES=3000 $(BIN)/python -m pytest -q tests/storage/test_query_guard.py -k generated

bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Not part of make test or CI: real Celery workers on the local RabbitMQ (127.0.0.1:5672)
# and a Dask LocalCluster, about 20 minutes.
bench-cluster: $(STAMP)
	$(BIN)/python -m benchmarks.cluster

# Stores of 100,000, 1,000,000 and 10,000,000 entries, built once into .bench-scale/ (about
# 5 GB, 15 minutes) and reused (docs/performance.md, "At scale").
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(PEERS_VENV) build *.egg-info src/*.egg-info
