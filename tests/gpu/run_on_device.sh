#!/usr/bin/env bash
# The CUDA building blocks' tests on a real GPU: the programs of tests/cuda_programs.py built by
# nvcc as shared libraries (GRAPHC_CUDA_ARCH, default sm_90) and run on the GPU, with the very
# comparisons tests/test_cuda_emulation.py makes against numpy and graphc.random under emulation.
# Run by hand on a machine with a GPU, nvcc, numpy, jinja2 and pytest (PYTHON picks the
# interpreter, default python3):
#     bash tests/gpu/run_on_device.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! nvidia-smi --query-gpu=name,compute_cap --format=csv,noheader; then
    echo "run_on_device.sh: no GPU visible (nvidia-smi failed)" >&2
    exit 2
fi
command -v nvcc >/dev/null || { echo "run_on_device.sh: no nvcc on PATH" >&2; exit 2; }
"${PYTHON:=python3}" -c "import numpy, jinja2, pytest" || { echo "run_on_device.sh: needs numpy, jinja2, pytest" >&2; exit 2; }

export GRAPHC_CUDA_TEST_DEVICE=gpu
export GRAPHC_CUDA_ARCH="${GRAPHC_CUDA_ARCH:-sm_90}"
export GRAPHC_CACHE_DIR="${GRAPHC_CACHE_DIR:-$(mktemp -d)}"
exec env PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" \
    "$PYTHON" -m pytest -p no:cacheprovider tests/test_cuda_emulation.py "$@"
