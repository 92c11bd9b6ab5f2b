# Attune: `make run` to try it, `make test` to test it. See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Links in emails and the printed portal links point at the server `make run` starts.
SITE_URL ?= http://$(HOST):$(PORT)

.PHONY: run test test-fast install lint format check schema messages demo clean-var worker beat web screenshots

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "Attune needs Python 3.12 or newer; found " + sys.version.split()[0] + ". With pyenv, .python-version selects 3.12.")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(PY) pyproject.toml requirements/lock.txt
	$(BIN)/pip install --quiet -c requirements/lock.txt ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

## Set up and run web + Celery worker + beat on the embedded default (or on
## DATABASE_URL / CELERY_BROKER_URL when set), with a demo practice.
run: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input -v0
	$(PY) manage.py compilemessages --ignore=.venv -v0
	SITE_URL=$(SITE_URL) $(PY) manage.py demo
	SITE_URL=$(SITE_URL) $(PY) manage.py runstack --host $(HOST) --port $(PORT)

# Test processes (pytest-xdist); the machines this project runs on have two cores.
WORKERS ?= 2
FAST := not browser and not worker and not faults and not fuzz and not pdf and not slow
# Test processes keep their bytecode (and pytest's rewritten test modules) in var/pycache,
# even where the environment sets PYTHONDONTWRITEBYTECODE: otherwise every pytest process,
# and every server or worker a test starts, compiles the project again (2 to 4 s each).
TEST_ENV := PYTHONDONTWRITEBYTECODE= PYTHONPYCACHEPREFIX=$(CURDIR)/var/pycache CELERY_QUEUE_PREFIX=test-
# pytest plugins that dependencies install and no test uses (the fuzz tests run
# schemathesis's command line): half a second less for every pytest process.
TEST_PLUGINS := -p no:schemathesis -p no:faker -p no:anyio

## The whole test suite, on whatever DATABASE_URL / CELERY_BROKER_URL say: first the
## tests that start no browser, worker or Redis server, in $(WORKERS) pytest-xdist
## processes, then those, one at a time (tests/conftest.py). Queues get a prefix so a
## test run never shares them with a local `make run`. Either phase may select nothing
## (PYTEST_ARGS="-m faults"); both selecting nothing is a failure.
test: install
	$(PY) scripts/test_deps.py
	$(PY) manage.py compilemessages --ignore=.venv -v0
	@one=0; two=0; \
	$(TEST_ENV) ATTUNE_TEST_PHASE=parallel $(BIN)/pytest $(TEST_PLUGINS) -n $(WORKERS) $(PYTEST_ARGS) || one=$$?; \
	$(TEST_ENV) ATTUNE_TEST_PHASE=serial $(BIN)/pytest $(TEST_PLUGINS) $(PYTEST_ARGS) || two=$$?; \
	if [ $$one -eq 5 ] && [ $$two -eq 5 ]; then echo "pytest collected no tests; that is a failure here." >&2; exit 5; fi; \
	for status in $$one $$two; do if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then exit $$status; fi; done

## The quick loop: no browser, worker, Redis, poppler or demo build; any database. Property
## tests try a fifth of their examples (tests/properties.py); `make test` tries them all.
test-fast: install
	$(PY) manage.py compilemessages --ignore=.venv -v0
	@status=0; $(TEST_ENV) ATTUNE_TEST_QUICK=1 $(BIN)/pytest $(TEST_PLUGINS) -n $(WORKERS) -m "$(FAST)" $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests; that is a failure here." >&2; fi; \
	exit $$status

## Linters, the layer contract (import-linter) and the migrations check: what CI and
## the pre-commit hooks run.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(PY) scripts/layers.py --check
	$(PY) manage.py makemigrations --check --dry-run

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: install
	$(PY) manage.py check

schema: install
	$(PY) manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

## Draw docs/screenshots/ again from the demo practice (use a scratch DATABASE_URL).
screenshots: install
	$(PY) manage.py compilemessages --ignore=.venv -v0
	$(PY) scripts/screenshots.py

messages: install
	$(PY) manage.py makemessages --all --ignore=.venv --ignore=var --ignore=node_modules
	$(PY) manage.py makemessages --all -d djangojs --ignore=.venv --ignore=var --ignore=node_modules

demo: install
	$(PY) manage.py migrate --no-input
	$(PY) manage.py demo

clean-var:
	rm -rf var
