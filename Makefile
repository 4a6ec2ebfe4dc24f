# Everything runs from here: the Makefile creates its own environments from pinned files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_VENV := .venv-runtime
# sam build needs the function runtime's interpreter (python3.13) on PATH.
PY313 := $(or $(lastword $(wildcard /root/.pyenv/versions/3.13*/bin/python3.13)),$(shell command -v python3.13 2>/dev/null))
PY313_DIR := $(dir $(PY313))
export SAM_CLI_TELEMETRY := 0
export AWS_DEFAULT_REGION ?= eu-west-1
# The API Gateway's IAM auth and the S3/SQS endpoints are not part of tests: no real AWS is ever reached.
export AWS_EC2_METADATA_DISABLED := true

N ?= 50

AUDIT_VENV := .venv-audit

.PHONY: help venv runtime chromium lint validate build test test-unit test-e2e contract demo up invoke openapi lock clean audit chaos bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	# The project itself, editable: the `esign` command (its dependencies are pinned above).
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

venv: $(BIN)/.installed ## create .venv with the pinned development dependencies

$(RUNTIME_VENV)/.installed: local/runtime-requirements.txt
	@test -n "$(PY313)" || { echo "python3.13 not found (pyenv or PATH): the functions' runtime needs it" >&2; exit 1; }
	$(PY313) -m venv $(RUNTIME_VENV)
	$(RUNTIME_VENV)/bin/pip install --quiet -r local/runtime-requirements.txt
	touch $@

runtime: $(RUNTIME_VENV)/.installed ## create .venv-runtime: python3.13 with what Lambda provides

# The browser tests drive Debian's Chromium: Playwright cannot download its own browser builds here.
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

chromium: $(CHROMIUM) ## Debian's Chromium for the signing-page browser tests (installed only when missing)

lint: venv ## ruff
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

validate: venv ## sam validate --lint
	$(BIN)/sam validate --lint

.aws-sam/build.stamp: $(BIN)/.installed template.yaml $(shell find functions layers -type f -not -path '*/__pycache__/*' 2>/dev/null)
	test -n "$(PY313)" || { echo "python3.13 not found: sam build needs it on PATH" >&2; exit 1; }
	PATH="$(PY313_DIR):$$PATH" $(BIN)/sam build --cached
	touch $@

build: .aws-sam/build.stamp ## sam build (python3.13 from pyenv on PATH)

openapi: venv ## regenerate docs/openapi.json from the API's code
	$(BIN)/python -m tools.openapi > docs/openapi.json

# The Sign API v2 contract suite: the emulator, and Signicat's sandbox too with SIGNICAT_SANDBOX=1
# (docs/contract-suite.md). It runs in one process: its report needs every result.
CONTRACT := $(BIN)/python -m pytest tests/contract
# Inside the test targets it never leaves this machine, whatever the shell exports.
OFFLINE_CONTRACT := SIGNICAT_SANDBOX=0 $(CONTRACT)

# Unit, integration, emulator and local-stack tests share both cores; the e2e suite runs whole stacks, one at a time.
test-unit: venv runtime chromium
	$(BIN)/python -m pytest -n 2 --ignore=tests/e2e --ignore=tests/contract
	$(OFFLINE_CONTRACT)

test-e2e: venv runtime build
	$(BIN)/python -m pytest tests/e2e

contract: venv ## the Sign API v2 contract suite on the emulator; SIGNICAT_SANDBOX=1: on Signicat's sandbox too, out/contract-report.json
	$(CONTRACT)

test: lint validate build runtime chromium ## lint, validate the template, build, and every test suite
	$(BIN)/python -m pytest -n 2 --ignore=tests/e2e --ignore=tests/contract
	$(OFFLINE_CONTRACT)
	$(BIN)/python -m pytest tests/e2e

$(AUDIT_VENV)/.installed: requirements-audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet -r requirements-audit.txt
	touch $@

audit: venv $(AUDIT_VENV)/.installed ## security scanners: checkov, bandit, pip-audit, cfn-lint
	$(BIN)/python -m tools.audit

chaos: venv runtime build ## N signings through the offline stack with faults on (make chaos N=1000)
	$(BIN)/python -m local.chaos --signings $(N)

bench: venv runtime build ## benchmarks: ratios and counts, written to out/bench.json
	$(BIN)/python -m bench $(if $(SMALL),--small)

demo: venv runtime build ## the whole signing story offline: API → emulator → webhook → SQS → worker → PAdES in S3 → out/
	$(BIN)/python -m local.demo $(if $(INTERACTIVE),--interactive)

up: venv runtime build ## the offline stack, until Ctrl-C; writes out/stack.json and out/env.json (or OUT=dir)
	$(BIN)/python -m local.up $(if $(OUT),--out-dir "$(OUT)")

invoke: venv ## one function of the running `make up`: make invoke FUNCTION=ApiFunction EVENT=events/api_get_signing.json
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=<events/....json>" >&2; exit 2; }
	@$(BIN)/python -m local.invoke "$(FUNCTION)" "$(EVENT)" $(if $(STACK),--stack "$(STACK)")

lock: ## refreeze requirements-dev.txt from requirements-dev.in
	rm -rf /tmp/esign-lock && $(PYTHON) -m venv /tmp/esign-lock
	/tmp/esign-lock/bin/pip install --quiet -r requirements-dev.in
	/tmp/esign-lock/bin/pip freeze > requirements-dev.txt

clean: ## remove environments, builds and outputs
	rm -rf $(VENV) $(RUNTIME_VENV) $(AUDIT_VENV) .aws-sam out .pytest_cache .ruff_cache
