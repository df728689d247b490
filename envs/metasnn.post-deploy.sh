#!/usr/bin/env bash
# Run by Snakemake after creating the envs/metasnn.yaml environment (same name + .post-deploy.sh).
set -euo pipefail
python -m pip install --no-deps spikingjelly==2.0.0
python -m pip install --no-deps snntorch==1.0.0   # bench_metatrain.py's snnTorch peer and neurobench (imports only torch)
python -m pip install --no-deps neurobench==2.3.0  # metasnn/evaluation/cost.py (metrics import torch, snntorch, numpy)
