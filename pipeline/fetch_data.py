"""Fetch one raw event dataset (N-MNIST or ASL-DVS) and write its manifest.

Sources: ``shipped`` copies the real recordings shipped with the repository (``--shipped``, default
``datasets``: ``datasets/N-MNIST``, 900 real N-MNIST recordings; none exist for ASL-DVS) into the
output directory (``files/``); ``synthetic`` writes emulated recordings in the original format and
layout inside the output directory (``files/``); ``download`` fetches tonic's archives into ``--root``, checks their
md5 and member paths, extracts them to ``<root>/N-MNIST`` / ``<root>/ASL-DVS``; ``local`` uses a
copy already in the original layout at ``<root>/N-MNIST`` (or ``--root`` itself). The layout is
checked before anything is read; every recording is then read and validated (``--on-corrupt
skip`` drops bad files and counts them). Output: ``<out>/manifest.json`` (source, root, file
lists per split and class, skipped files, and the data-source record that every later table row
names) and ``provenance.json``. For download/local the manifest points at the files; nothing is copied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from metasnn.data.download import download_raw, raw_root
from metasnn.data.emulator import ASLDVSEmulation, NMNISTEmulation, emulate_asldvs, emulate_nmnist, emulation_parameters
from metasnn.data.layout import ON_CORRUPT, RAW_DATASETS, manifest_dict, scan_layout, validate_recordings
from metasnn.data.sources import RAW_NAMES, SHIPPED, SOURCES, DataSource
from metasnn.errors import DataError
from metasnn.io import atomic_directory, atomic_write_json
from pipeline.cli import main


def add_arguments(p):
    p.add_argument("--raw", choices=RAW_DATASETS, required=True, help="raw dataset")
    p.add_argument("--source", choices=SOURCES, required=True,
                   help="shipped (real recordings in the repository) | synthetic | download | local")
    p.add_argument("--shipped", type=Path, default=Path("datasets"),
                   help="shipped: the repository's datasets/ folder (holds N-MNIST/)")
    p.add_argument("--root", type=Path,
                   help="download: where archives go; local: where the dataset is (<root>/N-MNIST, <root>/ASL-DVS)")
    p.add_argument("--on-corrupt", choices=ON_CORRUPT)
    p.add_argument("--seed", type=int, help="synthetic source seed")
    p.add_argument("--nmnist-train-per-class", type=int, help="synthetic: N-MNIST Train recordings per digit")
    p.add_argument("--nmnist-test-per-class", type=int, help="synthetic: N-MNIST Test recordings per digit")
    p.add_argument("--asldvs-per-class", type=int, help="synthetic: ASL-DVS recordings per letter")
    p.add_argument("--out", type=Path, required=True, help="output directory (data/fetched/<raw>)")


def resolve_local_root(dataset: str, root: Path) -> Path:
    """``<root>/N-MNIST`` (``ASL-DVS``) when it exists, else ``root`` itself if it has the layout."""
    preferred = raw_root(dataset, root)
    if preferred.is_dir() or not root.is_dir():
        return preferred
    try:
        scan_layout(dataset, root)
    except DataError:
        return preferred  # report the preferred path in the error
    return root


def shipped_root(dataset: str, shipped: Path) -> Path:
    """The shipped real recordings of ``dataset`` (``<shipped>/N-MNIST``), checked to exist."""
    if dataset not in SHIPPED:
        raise DataError(f"data.source.{dataset}: shipped: no real {RAW_NAMES[dataset]} recordings ship with metasnn "
                        f"(only {', '.join(RAW_NAMES[r] for r in SHIPPED)}); choose synthetic, download or local")
    root = shipped / RAW_NAMES[dataset]
    if not root.is_dir():
        raise DataError(f"{root}: the shipped {RAW_NAMES[dataset]} recordings are missing; restore them with "
                        f"`git checkout -- {root}` (they are part of the repository)")
    return root


def run(args, ctx):
    ctx.seeds = [args.seed] if args.source == "synthetic" else []
    extra: dict = {}
    with atomic_directory(args.out) as tmp:
        if args.source == "shipped":
            shutil.copytree(shipped_root(args.raw, args.shipped), tmp / "files")
            data_root, manifest_root = tmp / "files", "files"
        elif args.source == "synthetic":
            if args.raw == "nmnist":
                cfg = NMNISTEmulation()
                emulate_nmnist(tmp / "files", args.nmnist_train_per_class, args.nmnist_test_per_class, args.seed, cfg,
                               progress=ctx.progress_per("recordings"))
            else:
                cfg = ASLDVSEmulation()
                emulate_asldvs(tmp / "files", args.asldvs_per_class, args.seed, cfg, progress=ctx.progress_per("recordings"))
            data_root, manifest_root = tmp / "files", "files"
            extra["emulation"] = emulation_parameters(cfg)
        elif args.source == "download":
            data_root = download_raw(args.raw, args.root, progress=ctx.progress_per("recordings")).resolve()
            manifest_root = str(data_root)
        else:
            data_root = resolve_local_root(args.raw, args.root).resolve()
            manifest_root = str(data_root)
        files = scan_layout(args.raw, data_root)  # layout check before reading anything
        ctx.log.info("%s: %d recordings under %s", args.raw, sum(len(v) for c in files.values() for v in c.values()), data_root)
        kept, skipped = validate_recordings(args.raw, data_root, files, args.on_corrupt, progress=ctx.progress_per("recordings"))
        for item in skipped:
            ctx.log.warning("skipped %s", item["problem"])
        total = sum(len(v) for c in kept.values() for v in c.values())
        source = DataSource(raw=args.raw, source=args.source, recordings=total)
        ctx.use_sources([source])
        extra["data_sources"] = {args.raw: source.to_dict()}
        manifest = manifest_dict(args.raw, args.source, manifest_root, kept, skipped, extra)
        atomic_write_json(tmp / "manifest.json", manifest)
        ctx.write_provenance(tmp, skipped_count=len(skipped), recordings=manifest["total"])


if __name__ == "__main__":
    main("fetch_data", __doc__, add_arguments, run)
