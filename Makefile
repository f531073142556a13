# Two entry points for a fresh clone; each sets itself up.
#   make demo   evaluate the shipped demo detections and print the per-class table
#   make test   lint, format check and the whole test suite
#   make bench  the evaluator's speed and memory benchmark (figures in BENCHMARKS.md)
#   make bench-ssd  ssd_ref's data pipeline per worker, JPEG re-encoding cost and train-step times (CPU)
#   make gpu-check  ssd_ref's GPU figures in one run (benchmarks/gpu_check.sh; needs CUDA)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# The CPU build of torch that lies on this kind of machine; GPU users bring their own.
TORCH_CPU ?= torch==2.13.0

.PHONY: demo test lint bench bench-ssd gpu-check setup setup-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Core install: numpy, numba, lxml. Enough for the demo.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

# Everything the tests need, torch pinned to the CPU build.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "$(TORCH_CPU)"
	$(BIN)/python -m pip install -q -e ".[dev,plot,train,notebook,tensorboard]"
	touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

demo: $(VENV)/.core
	$(BIN)/vocmap evaluate data_fixtures/demo/results --voc-root data_fixtures/demo/VOC2007

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	PYTHON=$(BIN)/python bash benchmarks/gpu_check.sh --smoke
	$(BIN)/python -m pytest -q
	NUMBA_DISABLE_JIT=1 $(BIN)/python -m pytest -q tests/vocmap/test_kernels_parity.py -p no:cacheprovider

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run

bench-ssd: $(VENV)/.dev
	$(BIN)/python benchmarks/ssd_pipeline_bench.py

gpu-check: $(VENV)/.dev
	PYTHON=$(BIN)/python bash benchmarks/gpu_check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
