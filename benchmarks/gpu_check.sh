#!/usr/bin/env bash
# ssd_ref's GPU figures in one run (under 8 minutes on one H200):
#   bash benchmarks/gpu_check.sh           train-step images/s (reference fp32 and fast, batch 32),
#                                          loader images/s per worker, detection images/s over
#                                          4,952 images, a short synthetic training run per preset
#   bash benchmarks/gpu_check.sh --smoke   the same code paths on a CPU in seconds (make test)
# PYTHON defaults to the repository's .venv (make setup-dev), else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
if [ "${1:-}" != "--smoke" ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu_check: /'
fi
# A GPU run has 8 minutes; the smoke run 2 (it takes seconds).
limit=480
[ "${1:-}" = "--smoke" ] && limit=120
exec timeout "$limit" "$PYTHON" -m benchmarks.ssd_gpu_check "$@"
