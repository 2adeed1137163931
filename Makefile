# Every target installs what it needs itself: a virtualenv with the Python dependencies,
# and Debian's redis-server when it is missing.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install redis test lint typecheck run bench image clean crds

install: $(STAMP) redis

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

redis:
	@sh scripts/ensure-redis.sh

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

run: install
	$(BIN)/python -m worker_runtime.demo

image:
	docker build -t blackroad-queues/worker:dev -f Dockerfile .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: install
	$(BIN)/python -m bench.ours

crds: install
	$(BIN)/python -m queue_operator.crdgen --docs
