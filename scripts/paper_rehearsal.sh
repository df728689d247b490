#!/usr/bin/env bash
# make paper-rehearsal: the whole paper-scale DAG at the papers' tensor shapes with every loop count
# capped (config/scales/paper.yaml + config/scales/rehearsal.yaml), run in its own work directory so
# it never touches results/ of the default run; then the measured cost is projected to the paper's
# counts (results/tables/paper_projection.{md,csv} inside the work directory).
#   REHEARSAL_DIR  work directory (default: rehearsal/ in the repository, git-ignored)
#   CORES          Snakemake cores (default: all)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=${REHEARSAL_DIR:-$root/rehearsal}
cores=${CORES:-$(nproc 2>/dev/null || echo 2)}
mkdir -p "$work"
# the work directory sees the code, configs and shipped data of this checkout; its outputs are its own
for f in Snakefile params.yaml pipeline metasnn config datasets paper; do
  ln -sfn "$root/$f" "$work/$f"
done
cd "$work"
start=$(date +%s)
snakemake --cores "$cores" all --rerun-incomplete \
  --configfile config/scales/paper.yaml config/scales/rehearsal.yaml
wall=$(( $(date +%s) - start ))
echo "paper-rehearsal: DAG finished in $wall s on $cores cores"
mkdir -p "$root/config/resources"
python -m pipeline.paper_projection --workdir . --cores "$cores" --wall-s "$wall" \
  --out results/tables/paper_projection --resources "$root/config/resources/paper.yaml"
