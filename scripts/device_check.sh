#!/usr/bin/env bash
# GPU check for issue 14, prepared to run once on a lent H200 (device `run` tool; $OUT comes back):
#   1. bench_metatrain on cuda: s/step of folded vs plain vs snnTorch-style, peak GPU memory;
#   2. the rehearsal's sn22 part (paper shapes, capped loops) with device: cuda, then its projection.
# Usage: bash scripts/device_check.sh   (OUT defaults to ./device-out). About 6-8 min on an H200.
set -euo pipefail
out=${OUT:-device-out}
mkdir -p "$out"
[ -x .venv/bin/python ] || bash scripts/install.sh python3 > "$out/install.log" 2>&1
export PATH="$PWD/.venv/bin:$PATH"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv > "$out/gpu.csv" || true
python -c "import torch; print(torch.__version__, torch.cuda.is_available())" | tee "$out/torch.txt"
timeout 240 python -m benchmarks.bench_metatrain --device cuda --time-block 0 --measure-steps 5 \
  --out "$out/bench-gpu.json" 2>&1 | tee "$out/bench-gpu.txt" || echo "bench_metatrain failed or timed out" >> "$out/bench-gpu.txt"
# the sn22 part of the rehearsal on the GPU (its own work directory; device: cuda)
work=rehearsal-gpu
mkdir -p "$work"
for f in Snakefile params.yaml pipeline metasnn config datasets paper; do ln -sfn "$PWD/$f" "$work/$f"; done
printf 'device: cuda\n' > "$work/cuda.yaml"
(cd "$work" && timeout 300 snakemake --cores 8 --configfile config/scales/paper.yaml config/scales/rehearsal.yaml cuda.yaml \
   --rerun-incomplete results/tables/sn22_table2_fewshot.md > "../$out/rehearsal-gpu.log" 2>&1) || echo "rehearsal part failed or timed out" >> "$out/rehearsal-gpu.log"
python -m pipeline.paper_projection --workdir "$work" --out results/tables/paper_projection_gpu >> "$out/rehearsal-gpu.log" 2>&1 || true
cp "$work"/results/tables/paper_projection_gpu.* "$out/" 2>/dev/null || true
tar czf "$out/rehearsal-gpu-logs.tgz" -C "$work" logs 2>/dev/null || true
