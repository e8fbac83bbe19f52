# Everything runs from a project-local virtualenv with pinned dependencies (pyproject.toml).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

CHROMIUM := /usr/bin/chromium

# JavaScript tools the checks run (no lock file: exact versions here), in an ignored folder: the
# AsyncAPI parser, the dashboard's type checker and linter, and the browser tests' accessibility
# engine. The dashboard's tools need Node.js 20.19 or newer.
NODE_TOOLS    := .tools/node
NODE_BIN      := $(NODE_TOOLS)/node_modules/.bin
NODE_STAMP    := $(NODE_TOOLS)/.installed-stamp
NODE_PACKAGES := @asyncapi/parser@3.6.3 typescript@7.0.2 eslint@10.15.0 @eslint/js@10.0.1 globals@17.14.0 \
                 axe-core@4.14.1

.PHONY: install run test test-faults test-faults-cluster lint deploy-check format bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	touch $(STAMP)

$(NODE_STAMP): Makefile
	@command -v npm >/dev/null || { if [ "$$(id -u)" -eq 0 ]; then apt-get update && apt-get install -y nodejs npm; \
	else echo "npm is missing: sudo apt-get update && sudo apt-get install -y nodejs npm" >&2; exit 1; fi; }
	mkdir -p $(NODE_TOOLS)
	npm install --prefix $(NODE_TOOLS) --no-package-lock --no-save --no-audit --no-fund --loglevel=error $(NODE_PACKAGES)
	touch $@

install: $(STAMP)

## The whole system on embedded real servers (NATS, PostgreSQL, Redis) until Ctrl+C.
run: install
	$(BIN)/python -m deploy

# The dashboard's end-to-end tests drive Debian's Chromium (no browser download: the machine is offline).
$(CHROMIUM):
	@if [ "$$(id -u)" -eq 0 ]; then apt-get update && apt-get install -y chromium; \
	else echo "chromium is missing: sudo apt-get update && sudo apt-get install -y chromium" >&2; exit 1; fi

## Lint, types, deployment files, then the whole suite on real servers (deploy-check ran the
## compose-as-processes tests already).
test: lint deploy-check $(CHROMIUM)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not faults and not compose"

## Fault suite: ~10,000 connector events while every process and server is SIGKILLed in turn (~5 min).
test-faults: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -s -m faults tests/faults

## Cluster fault suite: 3 NATS nodes (streams at R3), 2 replicas of every process; ~10,000 events
## while a NATS node, a replica of each service and PostgreSQL are SIGKILLed in turn.
test-faults-cluster: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -s -m faults_cluster tests/faults

lint: install $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared services gateway deploy connectors tests bench
	$(NODE_BIN)/tsc -p tsconfig.json
	$(NODE_BIN)/eslint --max-warnings 0 gateway/static

## Deployment files: compose file against the compose specification, Dockerfile, Kubernetes
## manifests (kustomize builds, built-in kinds and custom resources), NATS config, all offline;
## then docker-compose.yml's services started as local processes on embedded servers (~1 min).
deploy-check: install
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	$(BIN)/hadolint --failure-threshold warning deploy/Dockerfile
	$(BIN)/python -m deploy.check
	$(BIN)/python -m pytest -q -p no:cacheprovider -m compose tests/deploy/test_compose.py

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## Benchmarks (not in CI): each prints its figures beside a floor measured in the same run.
bench: install
	$(BIN)/python -m bench

## AsyncAPI documents and NATS permissions of every service, from their definitions; screenshots.
docs: install $(NODE_STAMP) $(CHROMIUM)
	$(BIN)/python -m shared.asyncapi docs/asyncapi
	$(BIN)/python -m deploy.nats_auth deploy/nats/accounts.conf
	SCREENSHOTS_DIR=docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider -m e2e tests/e2e

clean:
	rm -rf $(VENV) .tools .run .pytest_cache .mypy_cache .ruff_cache
