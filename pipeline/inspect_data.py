"""Print dataset statistics and draw example frames of the Double meta-datasets (like sn22 Fig 2).

Statistics of the raw recordings (events per recording, duration, resolution, polarity balance,
events per saccade; on a sample of each split) and of each meta-dataset (classes per split,
recordings per pool, T, frame shape, events per pair sample) are printed and written as CSV and
Markdown. The figure shows, for each meta-dataset, one sample of several meta-train classes:
time-summed ON (red) and OFF (blue) counts, x horizontal.

With ``--real-nmnist`` (the shipped real recordings, ``datasets/N-MNIST``) it also measures the
sensor emulator against them: per-recording statistics of the real Train recordings and of as many
emulated ones (same count per digit, emulator defaults, ``--seed``), median and 10-90 % range of
each, written as ``--emulator-table`` (CSV) and ``--emulator-table-md`` (Markdown).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from metasnn.data.layout import load_manifest
from metasnn.data.metadataset import load_metadataset
from metasnn.data.sources import describe
from metasnn.data.statistics import emulator_vs_real, emulator_vs_real_markdown, summarise_raw
from metasnn.errors import ConfigError
from metasnn.io import atomic_directory, atomic_write_bytes, atomic_write_text
from pipeline.cli import main

EXAMPLES = 5


def add_arguments(p):
    p.add_argument("--meta", type=Path, nargs="+", required=True, help="built meta-datasets (data/meta/<name>)")
    p.add_argument("--fetched", type=Path, nargs="*", default=[], help="fetched raw datasets (data/fetched/<raw>)")
    p.add_argument("--seed", type=int)
    p.add_argument("--per-split", type=int, default=20, help="raw recordings sampled per split for statistics")
    p.add_argument("--figure", type=Path, required=True)
    p.add_argument("--stats", type=Path, required=True, help="CSV of statistics")
    p.add_argument("--stats-md", type=Path, required=True, help="Markdown of statistics")
    p.add_argument("--real-nmnist", type=Path, default=None,
                   help="real N-MNIST root (Train|Test/<digit>/*.bin) to measure the emulator against, e.g. datasets/N-MNIST")
    p.add_argument("--real-limit", type=int, default=None, help="use this many real Train recordings (evenly spaced); default all")
    p.add_argument("--emulator-table", type=Path, default=None, help="CSV of emulator-vs-real statistics (with --real-nmnist)")
    p.add_argument("--emulator-table-md", type=Path, default=None, help="Markdown of the same (with --real-nmnist)")


def meta_rows(path: Path, seed: int) -> tuple[list[dict], object]:
    ds = load_metadataset(path)
    rng = np.random.default_rng(seed)
    rows = []
    for split in ("train", "val", "test"):
        classes = ds.classes(split)
        pool = ds.index["split_pool"][split]
        per_class = [len(v) for v in ds.index["pools"][pool].values()]
        label = classes[int(rng.integers(len(classes)))]
        sample = ds.draw(split, label, 8, rng)
        rows.append({
            "dataset": ds.name, "source": describe(ds.data_sources.values()), "split": split, "classes": len(classes),
            "sampling": ds.sampling, "pool": pool, "recordings_per_raw_class_min": min(per_class),
            "recordings_per_raw_class_max": max(per_class), "T": ds.num_steps, "time_bin_ms": ds.time_bin_ms,
            "frame_shape": "x".join(map(str, ds.frame_shape)),
            "events_per_sample_mean": round(float(sample.sum(dim=(0, 2, 3, 4)).mean()), 1),
        })
    return rows, ds


def draw_figure(datasets: list, seed: int) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(datasets), EXAMPLES, figsize=(2.0 * EXAMPLES, 2.6 * len(datasets)), squeeze=False)
    rng = np.random.default_rng(seed)
    for row, ds in enumerate(datasets):
        classes = ds.classes("train")
        for col, k in enumerate(rng.choice(len(classes), EXAMPLES, replace=False)):
            frame = ds.draw("train", classes[int(k)], 1, rng)[:, 0].sum(0).numpy()  # [2, X, Y]
            on, off = frame[1].T, frame[0].T  # image rows = y, columns = x
            scale = max(float(np.percentile(np.concatenate([on[on > 0], off[off > 0], [1.0]]), 98)), 1.0)
            rgb = np.stack([np.clip(on / scale, 0, 1), np.zeros_like(on), np.clip(off / scale, 0, 1)], -1)
            ax = axes[row, col]
            ax.imshow(rgb, interpolation="nearest")
            ax.set_title(f"{ds.name}\nclass {classes[int(k)]}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    source = describe(s for ds in datasets for s in ds.data_sources.values())
    fig.suptitle(f"Example frames (sum over T; ON red, OFF blue); data source: {source}", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def to_markdown(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def run(args, ctx):
    import pandas as pd

    ctx.seeds = [args.seed]
    if args.real_nmnist is not None and (args.emulator_table is None or args.emulator_table_md is None):
        raise ConfigError("--real-nmnist needs --emulator-table and --emulator-table-md")
    raw_rows = []
    for fetched in args.fetched:
        manifest = load_manifest(fetched)
        ctx.use_sources([manifest.data_source])
        raw_rows += summarise_raw(manifest, args.per_split, args.seed)
    meta_table, datasets = [], []
    for path in args.meta:
        rows, ds = meta_rows(path, args.seed)
        meta_table += rows
        datasets.append(ds)
        ctx.use_sources(ds.data_sources)
    raw_md = to_markdown(raw_rows) if raw_rows else "(no raw datasets given)\n"
    meta_md = to_markdown(meta_table)
    text = f"# Dataset statistics\n\n## Raw recordings (sample of {args.per_split} per split)\n\n{raw_md}\n## Meta-datasets\n\n{meta_md}"
    print(text)
    frame = pd.concat([pd.DataFrame(raw_rows).assign(kind="raw"), pd.DataFrame(meta_table).assign(kind="meta")],
                      ignore_index=True)
    atomic_write_text(args.stats, frame.to_csv(index=False))
    atomic_write_text(args.stats_md, text)
    atomic_write_bytes(args.figure, draw_figure(datasets, args.seed))
    if args.real_nmnist is not None:
        comparison = emulator_vs_real(args.real_nmnist, limit=args.real_limit, seed=args.seed)
        ctx.log.info("emulated %d N-MNIST recordings in %.1f s", comparison["emulated_recordings"], comparison["emulation_seconds"])
        emulator_md = emulator_vs_real_markdown(comparison)
        print(emulator_md)
        atomic_write_text(args.emulator_table, pd.DataFrame(comparison["table"]).to_csv(index=False))
        atomic_write_text(args.emulator_table_md, emulator_md)
    with atomic_directory(args.stats.parent / "provenance_inspect_data") as tmp:
        ctx.write_provenance(tmp)


if __name__ == "__main__":
    main("inspect_data", __doc__, add_arguments, run)
