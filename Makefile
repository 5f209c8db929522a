# The two set-up commands: `make run` and `make test` each create .venv, install the pinned requirements
# and migrate the embedded database when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8050
export FLASK_APP := wsgi
# Python caches compiled modules again (these machines set PYTHONDONTWRITEBYTECODE=1): without the cache every process
# compiles our modules anew, and every pytest worker rewrites the assertions of every test module and plugin (~6 s a
# collection). The sandbox's children still write none (core.sandbox.runner sets it for them).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test test-fast lint migrate bench bench-drift allowlist clean

# uv installs the pinned requirements in 20-30 s where pip took ~60 s (parallel downloads and unpacking; compiled too,
# in parallel: the sandbox's children write no bytecode, so they would compile every library at each warm start). It
# trusts the system's certificates, as pip does here (these machines reach PyPI through a proxy with its own CA).
$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==0.13.9
	$(BIN)/uv pip install -q --system-certs --python $(BIN)/python --compile-bytecode -r requirements-dev.txt
	touch $@

migrate: $(BIN)/.installed
	$(BIN)/python -m modelwatch.sandbox_user
	$(BIN)/flask --app wsgi db upgrade

run: migrate
	PORT=$(PORT) $(BIN)/gunicorn wsgi:server

# The whole suite in two passes, each on two pytest-xdist workers: what runs in-process (sandboxed runs included),
# test by test; then what starts servers or a browser (PostgreSQL, Redis, gunicorn, Chromium), module by module
# (a module's servers start once) in the order tests/conftest.py sorts them (whole servers first), each worker on its
# own PostgreSQL and Redis database (tests/support.per_worker).
SERVERS := browser or postgres or redis or e2e

test: migrate
	$(BIN)/python -m pytest -n 2 -m "not ($(SERVERS))"
	$(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder -m "$(SERVERS)"

# The subset for every edit (< 90 s on 2 cores): no sandboxed runs, no browser, no PostgreSQL/Redis/gunicorn,
# nothing marked slow; the markers are derived from each test's fixtures in tests/conftest.py. Two pytest-xdist
# workers: these tests share no port, file or server (each has its own tmp_path and SQLite file).
test-fast: $(BIN)/.installed
	$(BIN)/python -m pytest -n 2 -m "not sandbox and not browser and not postgres and not redis and not e2e and not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check .

bench: $(BIN)/.installed
	for script in bench/*.py; do $(BIN)/python $$script || exit 1; done

# Evidently needs pandas<3, so it lives in its own environment, never in the app's requirements.
bench-drift:
	test -x .venv-bench/bin/python || $(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install -q -r bench/requirements-drift.txt
	.venv-bench/bin/python bench/drift.py

# After any change to the pinned libraries: regenerate-check the intake allowlist and load every estimator kind.
allowlist: $(BIN)/.installed
	$(BIN)/python -m modelwatch.core.intake.build_allowlist --check
	$(BIN)/python -m modelwatch.core.intake.build_allowlist --verify

clean:
	rm -rf $(VENV) instance .pytest_cache
