# Two commands do everything on a fresh machine:
#   make matrix   build the images and run the whole matrix (ARGS="-s aiortc -t datachannel")
#   make test     lint, type-check, unit tests, then integration tests with real Docker
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: matrix test lint typecheck unit integration engine build clean bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

matrix: $(VENV)/.installed
	$(BIN)/webrtc-interop run $(ARGS)

build: $(VENV)/.installed
	$(BIN)/webrtc-interop build $(ARGS)

engine: $(VENV)/.installed
	$(BIN)/webrtc-interop engine

clean: $(VENV)/.installed
	$(BIN)/webrtc-interop clean

test: lint typecheck unit integration

lint: $(VENV)/.installed
	$(BIN)/ruff check orchestrator tests
	$(BIN)/ruff format --check orchestrator tests

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit

# The engine target installs/starts Docker where allowed, so these never skip for want of one.
integration: engine
	$(BIN)/pytest -q tests/integration
