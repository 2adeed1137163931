# Every target installs what it needs itself: a virtualenv with the Python dependencies,
# and Debian's redis-server, prometheus (promtool: the alert rules' tests) and chromium with
# chromium-driver (the dashboard's browser tests) when missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install redis chromium prometheus nft screenshots test test-fast lint typecheck run bench image clean crds e2e e2e-kind

install: $(STAMP) redis chromium prometheus nft

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

redis:
	@sh scripts/ensure-debian.sh redis-server=redis-server openssl=openssl

# The dashboard's browser tests (tests/dashboard) drive Debian's chromium with selenium.
chromium:
	@sh scripts/ensure-debian.sh chromium=chromium chromedriver=chromium-driver

# Rewrites the dashboard screenshots shown in the README (docs/img/).
screenshots: install
	SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/dashboard/test_browser.py -k every_page

# tests/metrics runs promtool on dashboards/ and queries a real Prometheus.
prometheus:
	@sh scripts/ensure-debian.sh --no-recommends prometheus=prometheus promtool=prometheus

# nftables and iproute2 for the network partition tests (tests/faults), when root.
nft:
	@sh scripts/ensure-debian.sh --optional nft=nftables ip=iproute2

test: install
	$(BIN)/python -m pytest -q

# The pure tests alone (no Redis, no devcluster, no subprocess; tests/conftest.py marks
# them), in seconds: a quick check before the whole suite.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m pure tests

# Style, then the layer contracts ([tool.importlinter] in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The whole system on one machine (Redis, devcluster, operator, examples, a producer and a
# live view) until Ctrl-C; RUN_ARGS="--duration 60" stops it by itself.
run: install
	$(BIN)/python -m devstack $(RUN_ARGS)

# The local end-to-end tier alone (make test runs it too).
e2e: install
	$(BIN)/python -m pytest -q e2e --ignore=e2e/kind

# The same scenarios on a kind cluster (needs Docker and kind; builds and loads the images).
e2e-kind: install
	$(BIN)/python -m pytest -q -m kind e2e/kind

image:
	docker build -t blackroad-queues/worker:dev -f Dockerfile .
	docker build -t blackroad-queues/operator:dev -f Dockerfile.operator .
	docker build -t blackroad-queues/dashboard:dev -f Dockerfile.dashboard .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache .grimp_cache

bench: install
	$(BIN)/python -m bench.run $(BENCH_ARGS)

crds: install
	$(BIN)/python -m queue_operator.crdgen --docs
