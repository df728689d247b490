"""Build a Double N-MNIST or Double ASL-DVS meta-dataset (sn22) from fetched raw recordings.

Reads every recording the meta-dataset can draw from (``--raw``: ``data/fetched/<raw>``, see
``pipeline.fetch_data``), bins it (Double N-MNIST: crop [0,32), /2, clock from the first event;
Double ASL-DVS: /6, absolute clock; first ``--window-ms``, ``--time-bin-ms`` bins) and stores
sparse per-recording counts plus an index (class splits from the reference split files, recording
pools per sampling mode). Pairs are composed on the fly by ``metasnn.data.EpisodeSampler``.
Output: ``<out>/recordings.npz``, ``index.json``, ``provenance.json``.
"""

from __future__ import annotations

from pathlib import Path

from metasnn.data.layout import ON_CORRUPT, load_manifest
from metasnn.data.metadataset import RAW_OF, SAMPLING_MODES, BuildOptions, build_metadataset
from metasnn.data.splits import META_DATASETS
from metasnn.errors import DataError
from metasnn.io import atomic_directory
from pipeline.cli import main


def add_arguments(p):  # noqa: ANN001
    p.add_argument("--dataset", choices=META_DATASETS, required=True)
    p.add_argument("--raw", type=Path, required=True, help="fetched raw dataset directory (data/fetched/<raw>)")
    p.add_argument("--sampling", choices=SAMPLING_MODES, default="paper")
    p.add_argument("--time-bin-ms", type=float, default=1.0)
    p.add_argument("--window-ms", type=float, default=100.0)
    p.add_argument("--on-corrupt", choices=ON_CORRUPT, default="error")
    p.add_argument("--recordings-per-class", type=int, default=0,
                   help="cap on recordings per raw class and pool, in file order (0: all)")
    p.add_argument("--asl-train-fraction", type=float, default=0.75,
                   help="paper sampling, ASL-DVS: fraction of each letter's recordings in the meta-train pool")
    p.add_argument("--out", type=Path, required=True, help="output directory (data/meta/<dataset>)")


def run(args, ctx):  # noqa: ANN001
    manifest = load_manifest(args.raw)
    if manifest.dataset != RAW_OF[args.dataset]:
        raise DataError(f"--raw {args.raw} holds {manifest.dataset!r}; {args.dataset} needs {RAW_OF[args.dataset]!r}")
    ctx.data_source = manifest.source
    if not 0.0 < args.asl_train_fraction < 1.0:
        raise DataError(f"--asl-train-fraction {args.asl_train_fraction} must be in (0, 1)")
    opts = BuildOptions(
        sampling=args.sampling,
        time_bin_ms=args.time_bin_ms,
        window_ms=args.window_ms,
        on_corrupt=args.on_corrupt,
        recordings_per_class=args.recordings_per_class or None,
        asl_train_fraction=args.asl_train_fraction,
    )
    with atomic_directory(args.out) as tmp:
        summary = build_metadataset(args.dataset, manifest, tmp, opts, progress=ctx.progress)
        ctx.log.info("%s: %s", args.dataset, summary)
        ctx.write_provenance(tmp, **summary)


if __name__ == "__main__":
    main("build_metadataset", __doc__, add_arguments, run)
