"""Build a Double N-MNIST or Double ASL-DVS meta-dataset (sn22) from fetched raw recordings.

Reads every recording the meta-dataset can draw from (``--raw``: ``data/fetched/<raw>``, see
``pipeline.fetch_data``), bins it (Double N-MNIST: crop [0,32), /2, clock from the first event;
Double ASL-DVS: /6, absolute clock; first ``--window-ms``, ``--time-bin-ms`` bins) and stores
sparse per-recording counts plus an index (class splits from the reference split files, recording
pools per sampling mode). Pairs are composed on the fly by ``metasnn.data.EpisodeSampler``.
Also writes the pool statistics (``metasnn.data.pools``): recordings per raw class and distinct
(left, right) pairs per class in each meta-split's pool, and how many samples of the tasks of
``--stats-spec`` (default: 5-way 1-shot 10-query, sn22's evaluation task) over episodes
``0..--stats-episodes-1`` of ``--stats-seed`` reuse a pair.
Output: ``<out>/recordings.npz``, ``index.json``, ``pool_stats.json``, ``pool_stats.md``, ``provenance.json``.
"""

from __future__ import annotations

from pathlib import Path

from metasnn.data.episodes import EpisodeSpec
from metasnn.data.layout import ON_CORRUPT, load_manifest
from metasnn.data.metadataset import RAW_OF, SAMPLING_MODES, BuildOptions, MetaDataset, build_metadataset
from metasnn.data.pools import DEFAULT_EPISODES, DEFAULT_SEED, write_pool_stats
from metasnn.data.splits import META_DATASETS
from metasnn.errors import ConfigError, DataError
from metasnn.io import atomic_directory
from pipeline.cli import main


def add_arguments(p):
    p.add_argument("--dataset", choices=META_DATASETS, required=True)
    p.add_argument("--raw", type=Path, required=True, help="fetched raw dataset directory (data/fetched/<raw>)")
    p.add_argument("--sampling", choices=SAMPLING_MODES)
    p.add_argument("--time-bin-ms", type=float)
    p.add_argument("--window-ms", type=float)
    p.add_argument("--on-corrupt", choices=ON_CORRUPT)
    p.add_argument("--recordings-per-class", type=int, default=0,
                   help="cap on recordings per raw class and pool, in file order (0: all)")
    p.add_argument("--asl-train-fraction", type=float,
                   help="paper sampling, ASL-DVS: fraction of each letter's recordings in the meta-train pool")
    p.add_argument("--stats-spec", action="append", default=None, metavar="WAYS,SHOTS,QUERIES",
                   help="episode spec whose pair reuse pool_stats counts (repeatable; default 5,1,10)")
    p.add_argument("--stats-seed", type=int, default=DEFAULT_SEED, help="sampler seed of the reuse count")
    p.add_argument("--stats-episodes", type=int, default=DEFAULT_EPISODES, help="episodes per split in the reuse count")
    p.add_argument("--out", type=Path, required=True, help="output directory (data/meta/<dataset>)")


def _spec(text: str) -> EpisodeSpec:
    try:
        ways, shots, queries = (int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--stats-spec {text!r}: expected WAYS,SHOTS,QUERIES, e.g. 5,1,10") from None
    return EpisodeSpec(ways, shots, queries)


def run(args, ctx):
    manifest = load_manifest(args.raw)
    if manifest.dataset != RAW_OF[args.dataset]:
        raise DataError(f"--raw {args.raw} holds {manifest.dataset!r}; {args.dataset} needs {RAW_OF[args.dataset]!r}")
    ctx.use_sources([manifest.data_source])
    if not 0.0 < args.asl_train_fraction < 1.0:
        raise DataError(f"--asl-train-fraction {args.asl_train_fraction} must be in (0, 1)")
    if args.stats_episodes < 0:
        raise ConfigError(f"--stats-episodes {args.stats_episodes} must be >= 0")
    specs = [_spec(t) for t in args.stats_spec or ["5,1,10"]]
    opts = BuildOptions(
        sampling=args.sampling,
        time_bin_ms=args.time_bin_ms,
        window_ms=args.window_ms,
        on_corrupt=args.on_corrupt,
        recordings_per_class=args.recordings_per_class or None,
        asl_train_fraction=args.asl_train_fraction,
    )
    with atomic_directory(args.out) as tmp:
        summary = build_metadataset(args.dataset, manifest, tmp, opts, progress=ctx.progress_per("recordings"))
        ctx.log.info("%s: %s", args.dataset, summary)
        stats = write_pool_stats(MetaDataset(tmp), tmp, specs=specs, seed=args.stats_seed, episodes=args.stats_episodes)
        for split, s in stats["splits"].items():
            ctx.log.info("%s meta-%s: %d recordings, pairs per class min %d / median %g / max %d; %s", args.dataset,
                         split, s["recordings"], s["pairs_min"], s["pairs_median"], s["pairs_max"],
                         "; ".join(f"{t['ways']}-way {t['shots']}-shot {t['queries']}-query: "
                                   f"{t.get('reused_samples', '?')} reused samples" for t in s["specs"]))
        ctx.write_provenance(tmp, **summary)


if __name__ == "__main__":
    main("build_metadataset", __doc__, add_arguments, run)
