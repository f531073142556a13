#!/usr/bin/env bash
# ssd_ref's GPU figures in one run (5 minutes on one H100 or H200):
#   bash benchmarks/gpu_check.sh           per preset (reference fp32, fast bf16/compile): peak GPU
#                                          memory, train-step images/s at batch 32 on a fixed batch
#                                          and fed by each pipeline (cpu, batched); detection
#                                          images/s over 4,952 images; 2 minutes of full-model
#                                          training on synthetic data, its loss every 50 steps
#   bash benchmarks/gpu_check.sh --smoke   the same code paths on a CPU in seconds (make test)
# PYTHON defaults to the repository's .venv (make setup-dev), else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}"
if [ "${1:-}" != "--smoke" ] && command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | sed 's/^/gpu_check: /'
fi
# A GPU run has 5 minutes (the script keeps to 290 s itself); the smoke run 4.
limit=300
[ "${1:-}" = "--smoke" ] && limit=240
exec timeout "$limit" "$PYTHON" -m benchmarks.ssd_gpu_check "$@"
