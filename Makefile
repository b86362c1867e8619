# Resync Workbench — the commands a user and CI run. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The CPU build of PyTorch: on these machines pip finds this exact release as a local CPU wheel.
# Elsewhere: make TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu" test
TORCH_SPEC ?= torch==2.13.0
RESYNC_PORT ?= 8888
TWSIM_PORT ?= 31116
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
STAMP := $(VENV)/.installed

.PHONY: run team test bench eval lint format install clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip wheel

# llama-cpp-python ships as source only: build a portable CPU wheel once (about 5 min on two
# cores); pip's cache keeps it for every later install.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DLLAVA_BUILD=OFF

# Reinstall only when the project's metadata changes.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet "$(TORCH_SPEC)"
	$(PIP) install --quiet -e ".[test,local,team]"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@RESYNC_PORT=$(RESYNC_PORT) TWSIM_PORT=$(TWSIM_PORT) ROOT_FLAG="$(ROOT_FLAG)" \
		VENV=$(VENV) bash scripts/run.sh

test: $(STAMP)
	VENV=$(VENV) bash scripts/install-browser.sh
	VENV=$(VENV) bash scripts/install-team.sh
	$(VENV)/bin/pytest

# A team on JupyterHub: the simulator and a Hub with Resync as a managed service (README).
team: $(STAMP)
	VENV=$(VENV) bash scripts/install-team.sh
	VENV=$(VENV) TWSIM_PORT=$(TWSIM_PORT) bash scripts/run-team.sh

bench: $(STAMP)
	$(PY) -m benchmarks.run

# The cases of each night asked one after another on one server with memory on, as users would.
eval: $(STAMP)
	$(VENV)/bin/resync-eval tests/evals --sequence --json eval-results.json

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) build dist *.egg-info
