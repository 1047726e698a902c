# Two commands on a fresh clone: `make demo` and `make test`. Everything they need is installed here.
VENV    := .venv
PY      := $(VENV)/bin/python
PYTHON  ?= python3
# two workers, whole files, in collection order (tests/conftest.py puts the heaviest suites first)
PARALLEL := -n 2 --dist loadfile --no-loadscope-reorder
export JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1

.PHONY: demo sandbox test test-unit test-infra test-e2e bench synth lint docs clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	# pip compiles the bytecode one file at a time; compileall uses every core (about 25 s less on 2 cores)
	$(PY) -m compileall -qq -j 0 $(VENV)/lib
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: $(VENV)/.installed
	$(PY) -m sandbox demo

# a live offline AWS for the CDK CLI, the AWS CLI and python cli.py (README, "The live sandbox")
sandbox: $(VENV)/.installed node_modules/.installed
	$(PY) -m sandbox serve $(SANDBOX_ARGS)

test: lint node_modules/.installed
	$(PY) -m pytest $(PARALLEL) tests

test-unit: $(VENV)/.installed
	$(PY) -m pytest tests/unit

test-infra: $(VENV)/.installed node_modules/.installed
	$(PY) -m pytest $(PARALLEL) tests/infra

test-e2e: $(VENV)/.installed
	$(PY) -m pytest $(PARALLEL) tests/e2e

bench: $(VENV)/.installed
	$(PY) -m bench

# the README's and docs/'s generated tables, from the catalog and bench/results.json (tests/unit/test_docs.py checks them)
docs: $(VENV)/.installed
	$(PY) -m tools.docs

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

synth: $(VENV)/.installed node_modules/.installed
	npx cdk synth --quiet

clean:
	rm -rf $(VENV) node_modules cdk.out .sandbox .pytest_cache
