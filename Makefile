# Two entry points for a fresh clone; each sets itself up.
#   make demo   evaluate the shipped demo detections and print the per-class table
#   make test   lint (ruff, format, import layers, mypy) and the whole test suite
#   make test-fast  the suite without the slow tests, fewer hypothesis examples
#   make test-thorough  the suite with every property's full example count (4x make test's)
#   make bench  the evaluator's speed and memory benchmark (figures in BENCHMARKS.md)
#   make bench-coco  COCO's twelve numbers against hotcoco and ultrafast-pycocotools (in .venv-bench)
#   make bench-ssd  ssd_ref's data pipeline per worker, JPEG re-encoding cost and train-step times (CPU)
#   make bench-ssd-small  the small preset over 3 data x 5 training seeds (CPU, 3 runs at a time: about 25 min on 2 cores)
#   make gpu-check  ssd_ref's GPU figures in one run (benchmarks/gpu_check.sh; needs CUDA)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# The CPU build of torch that lies on this kind of machine; GPU users bring their own.
TORCH_CPU ?= torch==2.13.0

.PHONY: demo test test-fast test-thorough lint bench bench-coco bench-ssd bench-ssd-small gpu-check setup setup-dev clean browser

# Installs go through uv (a pinned release, put into the venv by pip): a whole set-up
# takes seconds instead of a minute. Where uv cannot be installed, pip does the same
# installs. uv does not read pip's configuration, so the find-links folder pip is
# configured with (where this kind of machine keeps its CPU torch) is handed to it.
UV_VERSION ?= 0.13.10
FIND_LINKS := $(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null)
INSTALL = sh -c 'if [ -x "$(BIN)/uv" ]; then \
	  exec "$(BIN)/uv" pip install -q --python "$(BIN)/python" $(foreach f,$(FIND_LINKS),--find-links $(f)) "$$@"; \
	  else exec "$(BIN)/python" -m pip install -q "$$@"; fi' install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q "uv==$(UV_VERSION)" 2>/dev/null \
	  || echo "make: uv could not be installed; pip installs instead (slower)"
	$(INSTALL) --upgrade pip

# Core install: numpy, numba, lxml. Enough for the demo.
$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(INSTALL) -e .
	touch $@

# Everything the tests need, torch pinned to the CPU build.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(INSTALL) "$(TORCH_CPU)" -e ".[dev,plot,train,notebook,tensorboard,diagnose-test,test-integrations]"
	$(INSTALL) --no-deps "tidecv==1.0.1"
	touch $@ $(VENV)/.core

setup: $(VENV)/.core
setup-dev: $(VENV)/.dev

demo: $(VENV)/.core
	$(BIN)/vocmap evaluate data_fixtures/demo/results --voc-root data_fixtures/demo/VOC2007

# What test sessions keep between clones (tests/helpers/shared_cache.py): the trained
# run, numba's compiled kernels, and here mypy's cache (mypy checks each file's hash
# before it trusts an entry). VOCMAP_TEST_CACHE=off keeps nothing outside the clone.
TEST_CACHE := $(if $(VOCMAP_TEST_CACHE),$(VOCMAP_TEST_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vocmap-tests)
MYPY_CACHE := $(if $(filter off,$(VOCMAP_TEST_CACHE)),.mypy_cache,$(shell \
	mkdir -p "$(TEST_CACHE)/mypy" 2>/dev/null && echo "$(TEST_CACHE)/mypy" || echo .mypy_cache))

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo
	$(BIN)/mypy --cache-dir "$(MYPY_CACHE)"

# The HTML report's browser test needs Chromium (Debian's package): installed here
# when missing and possible (root with apt-get); otherwise that test skips, saying why.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "make: could not install chromium; the HTML report's browser test will skip"; \
	  else echo "make: no chromium and not root; the HTML report's browser test will skip"; fi; }

# On every core (pytest-xdist): each test file on one worker, the shared trained run's
# tests together (tests/conftest.py), the longest first.
XDIST = -n auto --dist loadgroup

# The suite's processes write bytecode, as Python does by default (some machines set
# PYTHONDONTWRITEBYTECODE): otherwise each of its child processes compiles torch's
# sources again.
PYTEST = env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q

test: lint browser
	$(PYTEST) $(XDIST)

# While working: no slow tests, 50 hypothesis examples a property, no lint.
test-fast: $(VENV)/.dev
	VOCMAP_FAST_TESTS=1 $(PYTEST) $(XDIST) -m "not slow"

# Before a release, or after changing a kernel: every hypothesis example (tests/helpers/budget.py).
test-thorough: $(VENV)/.dev
	VOCMAP_THOROUGH_TESTS=1 $(PYTEST) $(XDIST)

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks.run

# The Rust evaluators live in a benchmark-only environment, never the test one.
BENCH_VENV ?= .venv-bench
COCO_PEERS ?= hotcoco==1.3.0 ultrafast-pycocotools==0.1.14

$(BENCH_VENV)/.peers: Makefile
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q $(COCO_PEERS)
	touch $@

bench-coco: $(VENV)/.dev $(BENCH_VENV)/.peers
	$(BIN)/python -m benchmarks.coco_bench --peer-python $(BENCH_VENV)/bin/python

bench-ssd: $(VENV)/.dev
	$(BIN)/python benchmarks/ssd_pipeline_bench.py

bench-ssd-small: $(VENV)/.dev
	$(BIN)/python benchmarks/ssd_small_preset_seeds.py --jobs 3 --work benchmarks/data/small_preset

gpu-check: $(VENV)/.dev
	PYTHON=$(BIN)/python bash benchmarks/gpu_check.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
