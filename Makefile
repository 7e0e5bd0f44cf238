# notebook-executor: run `make help` for the targets.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the Python environment with the pinned tools

.PHONY: develop
develop: venv ## Build the Rust core (release) into the environment
	$(VENV)/bin/maturin develop --release --quiet

# Jupyter refuses to run as root unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: run
run: develop ## The main job: JupyterLab with the extension (local backend, SQLite store) on examples/
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=examples $(LAB_ARGS)

.PHONY: example
example: develop ## Run the example notebook with parameters from the command line
	$(VENV)/bin/notebook-executor run examples/analysis.ipynb examples/analysis.out.ipynb -p learning_rate 0.01 -p optimizer SGD

.PHONY: test-rust
test-rust: venv ## Rust unit tests (a real ipykernel from the environment for the kernel tests)
	cargo test --quiet

.PHONY: test-python
test-python: develop ## Python tests against a real ipykernel (the server's with a real Jupyter server)
	$(PY) -m pytest -q tests --ignore=tests/server
	$(PY) -m pytest -q -p pytest_jupyter.jupyter_server tests/server

.PHONY: test
test: test-rust test-python ## Every test

.PHONY: bench
bench: develop ## Benchmarks against papermill and nbclient (figures for the README)
	$(PY) bench/run.py
	$(PY) bench/service.py
	$(PY) bench/schedules.py

.PHONY: fmt
fmt: ## Format the Rust code
	cargo fmt
