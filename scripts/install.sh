#!/usr/bin/env bash
# Create .venv (if missing) and install metasnn with its pinned dependencies.
# Idempotent: a second run only checks. Usage: scripts/install.sh [python-executable]
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-${PYTHON:-python3}}
VENV=.venv
STAMP=$VENV/.metasnn-installed
want=$(cat pyproject.toml envs/requirements-lock.txt scripts/install.sh | sha256sum | cut -d' ' -f1)

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV/bin/python" -c "import metasnn, torch, spikingjelly, snntorch, tonic, neurobench" 2>/dev/null; then
  echo "install: .venv is up to date"
  exit 0
fi

if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "install: error: Python >= 3.11 is required (found: $("$PY" --version 2>&1)); pass another interpreter: make PYTHON=python3.11 ..." >&2
  exit 2
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch is pinned to 2.13.0; an unpinned torch would pull the newest build with several GB of CUDA
# packages. GPU users: install the CUDA build of torch 2.13.0 into .venv first; pip keeps it.
"$VENV/bin/python" -m pip install --quiet -c envs/requirements-lock.txt -e ".[dev]"
# spikingjelly requires torchvision/torchaudio in its metadata, which would replace torch; the parts we
# use (activation_based.{neuron,surrogate,functional,layer}) need neither.
"$VENV/bin/python" -m pip install --quiet --no-deps spikingjelly==2.0.0
# snntorch: benchmarks/bench_metatrain.py's snnTorch peer and neurobench (below) use it. It declares no requirements and
# imports only torch; --no-deps so it can never replace the pinned torch.
"$VENV/bin/python" -m pip install --quiet --no-deps snntorch==1.0.0
# neurobench: metasnn/evaluation/cost.py counts synaptic operations, footprint and connection sparsity with
# it. Its metadata requires torchaudio (which would replace torch), numba, llvmlite and tonic<2; the metric
# and model modules we use import only torch, snntorch and numpy (tqdm for neurobench.benchmarks).
"$VENV/bin/python" -m pip install --quiet --no-deps neurobench==2.3.0
"$VENV/bin/python" -c "import metasnn, torch, spikingjelly.activation_based.neuron, snntorch, tonic, neurobench.metrics.workload; print('install: ok — torch', torch.__version__)"
"$VENV/bin/dvc" config --global core.analytics false >/dev/null 2>&1 || true
echo "$want" > "$STAMP"
