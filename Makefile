# Every target creates .venv when it is missing and installs what it needs, pinned by
# requirements/constraints.txt, so `make demo` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONSTRAINTS := requirements/constraints.txt
BOOTSTRAP := requirements/bootstrap.txt
PIP := $(BIN)/python -m pip -qq --disable-pip-version-check
STACK ?= dev
ARCH ?= arm64
FUNCTION_PYTHON ?= 3.13

.PHONY: demo test lint typecheck unit bench lock clean deploy-setup bundle preview

# The whole pipeline on an embedded AWS (moto on 127.0.0.1), with the sample images in inspector/samples/.
demo: $(VENV)/.demo
	$(BIN)/inspector demo

test: lint typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest

# Ratio benchmarks (benchmarks/README.md): prints every figure, then fails if any goal was missed (~2 min).
bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run

# What the README's deploy steps need in .venv, where Pulumi runs the program (Pulumi.yaml): the library,
# pulumi, pulumi-aws, and the command line (`inspector stack check`).
deploy-setup: $(VENV)/.infra

# Build the Lambda bundle (build/lambda/) and print its size, platform, Python, SDK and bytecode.
bundle: $(BIN)/python
	$(BIN)/python -m infra.bundle --architecture $(ARCH) --python $(FUNCTION_PYTHON)

# The Pulumi program under mocks for Pulumi.$(STACK).yaml: every resource it would declare, with its key
# properties. No Pulumi CLI or AWS account needed.
preview: $(VENV)/.infra
	$(BIN)/python -W ignore::DeprecationWarning -m infra.preview $(STACK)

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required: run make PYTHON=python3.11" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r $(BOOTSTRAP)

$(VENV)/.demo: $(BIN)/python pyproject.toml $(CONSTRAINTS) $(BOOTSTRAP)
	$(PIP) install -c $(CONSTRAINTS) --no-build-isolation -e '.[local]'
	@touch $@

$(VENV)/.infra: $(BIN)/python pyproject.toml $(CONSTRAINTS) $(BOOTSTRAP)
	$(PIP) install -c $(CONSTRAINTS) --no-build-isolation -e '.[infra,cli]'
	@touch $@

$(VENV)/.dev: $(BIN)/python pyproject.toml $(CONSTRAINTS) $(BOOTSTRAP)
	$(PIP) install -c $(CONSTRAINTS) --no-build-isolation -e '.[dev]'
	@touch $@

# Re-pin every dependency (all extras) after editing pyproject.toml.
lock: $(BIN)/python
	$(PIP) install -c $(CONSTRAINTS) pip-tools
	$(BIN)/pip-compile --quiet --all-extras --strip-extras --allow-unsafe --no-emit-index-url \
		--no-emit-find-links --output-file $(CONSTRAINTS) pyproject.toml

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
