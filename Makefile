# Two commands: `make demo` and `make test`. Both create .venv when missing and
# install what is needed; the stamp file makes a second run fast.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.radpilot-installed
ARCH := $(shell uname -m)
# torchxrayvision needs torchvision; these pairs are the ones known to import together.
ifeq ($(ARCH),aarch64)
TORCH_PINS := torch==2.9.1 torchvision==0.24.1
else
TORCH_PINS := torch==2.14.1 torchvision==0.29.1
endif
# Tests and demos run on small shared CPUs: keep BLAS/OpenMP from spinning.
export OMP_WAIT_POLICY ?= PASSIVE
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install native demo test lint typecheck imports pytest bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PINS)
	$(PY) -m pip install -q -e '.[all,dev]'
	@# The local GGUF backend compiles llama.cpp (5-8 min, needs cmake and a C++ compiler):
	@# when it cannot be built, say so and go on; its tests then skip, naming why.
	$(PY) -m pip install -q -e '.[llm]' || echo "warning: llama-cpp-python did not build; the llama-cpp.v1 backend and its tests are unavailable" >&2
	@touch $(STAMP)

# The reader's hot modules compiled by mypyc (src/radpilot/reports/native.py): rebuilt
# only when their sources changed; without a C compiler the reader runs from its sources.
# The other modules' bytecode is written too (only what changed): where
# PYTHONDONTWRITEBYTECODE is set, every command would otherwise compile them again, a
# tenth of `radpilot label`'s start-up.
native: $(STAMP)
	@RADPILOT_PURE=1 $(PY) -m radpilot.reports.nativebuild --if-stale
	@$(PY) -m compileall -q -j 0 src/radpilot

demo: native
	$(VENV)/bin/radpilot demo --out demo-output

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks training
	$(VENV)/bin/ruff format --check src tests benchmarks training

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Imports flow one way and no cycles (contracts in .importlinter).
imports: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: native
	$(VENV)/bin/pytest -q -n 2

test: lint typecheck imports pytest

bench: native
	@for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	-@test -x $(PY) && RADPILOT_PURE=1 $(PY) -m radpilot.reports.nativebuild clean
	rm -rf $(VENV) demo-output build/native .mypy_cache .pytest_cache .ruff_cache
