# notebook-executor: run `make help` for the targets.
SHELL := /bin/bash
# A failing command of a pipe fails its recipe (the develop target filters maturin's output).
.SHELLFLAGS := -o pipefail -c
#: VENV=.venv  the Python environment the targets create and use
VENV ?= .venv
PY := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export VIRTUAL_ENV := $(abspath $(VENV))

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'
	@echo "Variables (make VAR=value TARGET):"
	@sed -n 's/^#: //p' $(MAKEFILE_LIST) | awk '{printf "  \033[36m%-14s\033[0m", $$1; $$1 = ""; print}'

$(VENV)/.installed: requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

.PHONY: venv
venv: $(VENV)/.installed ## Create the Python environment with the pinned tools

# The JupyterLab extension: npm packages from the lockfiles, built into wheel-data/ (which
# the wheel and `maturin develop` install under share/jupyter/labextensions/).
NPM_CI := npm ci --no-audit --no-fund --loglevel=error
LABEXT_OUT := wheel-data/data/share/jupyter/labextensions/notebook-executor
LABEXT_SOURCES := $(shell find labextension/src labextension/style labextension/schema -type f) \
	labextension/package.json labextension/tsconfig.json labextension/install.json

labextension/node_modules/.package-lock.json: labextension/package-lock.json
	cd labextension && $(NPM_CI)

ui-tests/node_modules/.package-lock.json: ui-tests/package-lock.json
	cd ui-tests && $(NPM_CI)

$(LABEXT_OUT)/package.json: labextension/node_modules/.package-lock.json $(LABEXT_SOURCES)
	cd labextension && npm run build:prod

.PHONY: frontend
frontend: $(LABEXT_OUT)/package.json ## Build the JupyterLab extension (TypeScript, @jupyter/builder)

# JupyterLab's defaults in this environment (users' own settings still win): no prompt about
# Jupyter news and no update check, which need the internet (make run, and the browser tests).
LAB_OVERRIDES := $(VENV)/share/jupyter/lab/settings/overrides.json
$(LAB_OVERRIDES): | $(VENV)/.installed
	mkdir -p $(dir $@)
	printf '%s\n' '{"@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": false}}' > $@

# maturin installs the dependencies with pip (PIP_QUIET: without a line per package already
# there), and warns that pip would not build with it: pip builds with build_backend/, which
# builds the frontend and then hands over to maturin, so that one line is dropped.
.PHONY: develop
develop: venv frontend $(LAB_OVERRIDES) ## Build the Rust core (release) and install it with the extension into the environment
	PIP_QUIET=1 $(VENV)/bin/maturin develop --release --quiet 2>&1 \
		| { grep -v "build-backend\` in pyproject.toml is not set to \`maturin\`" || true; }

# Jupyter refuses to run as root unless told.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

#: LAB_ARGS=  more options of `jupyter lab` for make run, e.g. LAB_ARGS="--port=9999 --IdentityProvider.token=secret --no-browser"
LAB_ARGS ?=
.PHONY: run
run: develop ## The main job: JupyterLab with the extension (local backend, SQLite store) on examples/
	$(VENV)/bin/jupyter lab $(ALLOW_ROOT) --ServerApp.root_dir=examples \
		--LabApp.news_url=None --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate $(LAB_ARGS)

.PHONY: example
example: develop ## Run the example notebook with parameters from the command line
	$(VENV)/bin/notebook-executor run examples/analysis.ipynb examples/analysis.out.ipynb -p learning_rate 0.01 -p optimizer SGD

.PHONY: test-rust
test-rust: venv ## Rust unit tests (a real ipykernel from the environment for the kernel tests)
	cargo test --quiet

# The Ray tests start a real Ray head. `ray start` binds the machine's external address
# when it has one, and tests may only send traffic to loopback: they run in a network
# namespace whose only interface is `lo` (unshare, as root), as one pytest session (one head).
# The REST test first: the last test of tests/test_ray.py kills the head.
RAY_TESTS := tests/server/test_ray_rest.py tests/test_ray.py
IN_LOOPBACK_NAMESPACE := unshare --net sh -c 'ip link set lo up && exec "$$0" "$$@"'

.PHONY: test-python
test-python: develop ## Python tests against a real ipykernel (the server's with a real Jupyter server)
	$(PY) -m pytest -q tests --ignore=tests/server $(addprefix --ignore=,$(RAY_TESTS))
	$(PY) -m pytest -q -p pytest_jupyter.jupyter_server tests/server $(addprefix --ignore=,$(RAY_TESTS))

.PHONY: test-ray
test-ray: develop ## The Ray backend against a real Ray head, in a loopback-only network namespace (root)
	$(IN_LOOPBACK_NAMESPACE) $(PY) -m pytest -q -p pytest_jupyter.jupyter_server $(RAY_TESTS)

.PHONY: test-frontend
test-frontend: labextension/node_modules/.package-lock.json ## Unit tests of the frontend's logic (jest)
	cd labextension && npm test -- --silent

.PHONY: test-ui
test-ui: develop ui-tests/node_modules/.package-lock.json ## Browser tests: JupyterLab in Debian's Chromium (galata)
	cd ui-tests && CI=1 npx playwright test

.PHONY: test
test: test-rust test-frontend test-python test-ray test-ui ## Every test

.PHONY: bench
bench: develop ## Benchmarks against papermill and nbclient (figures for the README)
	$(PY) bench/run.py
	$(PY) bench/service.py
	$(PY) bench/schedules.py
	$(PY) bench/rest.py
	$(PY) bench/warm.py
	$(PY) bench/storage.py
	$(PY) bench/vertex.py
	$(IN_LOOPBACK_NAMESPACE) $(PY) bench/ray.py

.PHONY: fmt
fmt: ## Format the Rust code
	cargo fmt
