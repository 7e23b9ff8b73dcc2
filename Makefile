# TradePulse: every routine task has a target here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
export TEST_POSTGRES_URL TEST_REDIS_URL

.PHONY: run run-scaled test lint format install install-dev migrate bench lambda-package clean test-sqlite test-postgres

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt constraints.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt constraints.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

# uvicorn with uvloop, httptools and websockets. The server never rewrites the client address:
# X-Forwarded-For/-Proto are believed by the application, from TRUSTED_PROXIES only.
# A WebSocket frame over WS_MAX_SIZE bytes is refused by the server (close 1009) before it is
# read; the application's own limit, LIVE_WS_MAX_MESSAGE_BYTES (4096), must stay below it.
# The Procfile's web line says the same.
WS_MAX_SIZE = 65536
# No access log line per request by default, as gunicorn: /metrics counts and times every
# request by view and status, and the line cost 8 % of a list request's CPU (BENCHMARKS.md).
# `make run ACCESS_LOG=--access-log` logs each request.
ACCESS_LOG ?= --no-access-log
# config/http_protocol.py: uvicorn's httptools protocol, writing each response in one send.
UVICORN_FLAGS = --loop uvloop --http config.http_protocol:HttpToolsProtocol --ws websockets-sansio --no-proxy-headers \
	--ws-max-size $(WS_MAX_SIZE) $(ACCESS_LOG)
# Metrics of every process land here (prometheus-client multiprocess mode); emptied at start.
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/var/metrics/$(PORT)

## Start TradePulse on http://127.0.0.1:$(PORT) (HTTP and WebSockets, ASGI, one process)
run: migrate
	$(BIN)/python manage.py seed_demo
	rm -rf "$(PROMETHEUS_MULTIPROC_DIR)" && mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)"
	@echo "Open http://127.0.0.1:$(PORT)/ and sign in with the demo user and password above  (API /api/, docs /api/docs/)"
	PROMETHEUS_MULTIPROC_DIR="$(PROMETHEUS_MULTIPROC_DIR)" \
		$(BIN)/uvicorn config.asgi:application --host 127.0.0.1 --port $(PORT) $(UVICORN_FLAGS)

## Scale-out on this machine (needs DATABASE_URL and REDIS_URL): WEB_CONCURRENCY web workers
## on 127.0.0.1:$(PORT), two feeds (one active, one standby), a Celery worker and Celery beat
run-scaled: install
	PORT=$(PORT) PROMETHEUS_MULTIPROC_DIR="$(PROMETHEUS_MULTIPROC_DIR)" $(BIN)/python scripts/run_scaled.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Lint, then the whole suite on SQLite, then the database suites on PostgreSQL
test: lint
	@echo "== make test, phase 1 of 2: the whole suite on SQLite =="
	@$(MAKE) --no-print-directory test-sqlite POSTGRES_PHASE_NEXT=1
	@echo "== make test, phase 2 of 2: the database suites on PostgreSQL =="
	@$(MAKE) --no-print-directory test-postgres

# The browser tests run in a pytest process of their own: Playwright's synchronous API keeps an
# event loop running in the main thread, which the asyncio tests after it cannot share.
test-sqlite: install-dev
	env -u DATABASE_URL -u DB_NAME TRADEPULSE_POSTGRES_PHASE_NEXT=$(POSTGRES_PHASE_NEXT) $(BIN)/pytest -m "not browser"
	env -u DATABASE_URL -u DB_NAME $(BIN)/pytest -m browser tests/e2e

test-postgres: install-dev
	@status=0; $(BIN)/python scripts/check_services.py postgres || status=$$?; \
	if [ $$status -eq 0 ]; then \
		env -u DB_NAME DATABASE_URL=$(TEST_POSTGRES_URL) $(BIN)/pytest -m "not browser" \
			$(wildcard tests/ledger tests/config tests/cloud tests/live tests/algo tests/web); \
	elif [ $$status -ne 3 ]; then exit 1; fi

$(VENV)/.installed-bench: requirements-bench.txt $(VENV)/.installed-dev
	$(BIN)/pip install --quiet -r requirements-bench.txt -c constraints.txt
	touch $@

## Every benchmark beside its peer (needs PostgreSQL, and wrk and redis-server for the served ones;
## about half an hour). BENCH_ARGS=--quick for a smoke run
bench: $(VENV)/.installed-bench
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/ledger.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/cloud.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/analysis.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/live_detector.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/readers.py $(BENCH_ARGS)
	$(foreach b,$(wildcard bench/live.py bench/backtest.py),env -u PYTHONPYCACHEPREFIX $(BIN)/python $(b) $(BENCH_ARGS);)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/servers.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/http.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/fanout.py $(BENCH_ARGS)
	env -u PYTHONPYCACHEPREFIX $(BIN)/python bench/load.py $(BENCH_ARGS)

lambda-package: install
	$(BIN)/python lambdas/build.py

clean:
	rm -rf build .pytest_cache .ruff_cache .mypy_cache
