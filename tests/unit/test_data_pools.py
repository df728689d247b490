"""Double N-MNIST pools: split wiring, pair reuse in episodes (spread, counted, never silent), pool statistics."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
import torch

from metasnn.data import BuildOptions, EpisodeSampler, EpisodeSpec, build_metadataset, load_metadataset
from metasnn.data.layout import load_manifest
from metasnn.data.metadataset import reused_count
from metasnn.data.pools import pool_stats, write_pool_stats
from metasnn.data.splits import class_parts
from tests.conftest import run_stage

# recordings per digit after trimming the fetched manifest: Train 3 each; Test 3 each except 5 (2) and 8 (1)
TRAIN = dict.fromkeys("0123456789", 3)
TEST = {**dict.fromkeys("0123456789", 3), "5": 2, "8": 1}


def expected_pairs(label: str, counts: dict[str, int]) -> int:
    left, right = class_parts("double_nmnist", label)
    return counts[left] * counts[right]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from pipeline import fetch_data

    tmp = tmp_path_factory.mktemp("pools")
    assert run_stage(fetch_data, "fetch_data", ["--raw", "nmnist", "--source", "synthetic", "--nmnist-train-per-class", "3",
                                                "--nmnist-test-per-class", "3", "--out", str(tmp / "fetched")], tmp) == 0
    path = tmp / "fetched" / "manifest.json"
    manifest = json.loads(path.read_text())
    for digit, n in TEST.items():
        manifest["files"]["test"][digit] = manifest["files"]["test"][digit][:n]
    kept = sum(len(f) for classes in manifest["files"].values() for f in classes.values())
    if "counts" in manifest:
        manifest["counts"]["test"] = {d: len(f) for d, f in manifest["files"]["test"].items()}
        manifest["total"] = kept
    for record in manifest.get("data_sources", {}).values():
        record["recordings"] = kept
    path.write_text(json.dumps(manifest))
    for mode in ("paper", "code"):
        build_metadataset("double_nmnist", load_manifest(tmp / "fetched"), tmp / mode, BuildOptions(sampling=mode, time_bin_ms=10))
    return tmp


@pytest.mark.parametrize("mode", ["paper", "code"])
def test_double_nmnist_meta_train_draws_from_train_and_meta_val_test_from_test(built, mode):
    ds = load_metadataset(built / mode)
    assert ds.index["split_pool"] == {"train": "train", "val": "test", "test": "test"}
    for split, folder, counts in (("train", "Train/", TRAIN), ("val", "Test/", TEST), ("test", "Test/", TEST)):
        for digit, n in counts.items():
            ids = ds.pool(split, digit)
            assert ids.size == n
            assert all(ds.recording_source(r).startswith(f"{folder}{digit}/") for r in ids)
    # what the sampler draws for a class comes from those pools
    rng = np.random.default_rng(0)
    for split, folder in (("train", "Train/"), ("val", "Test/"), ("test", "Test/")):
        label = ds.classes(split)[0]
        pairs = ds.sample_pairs(split, label, 4, rng)
        assert all(ds.recording_source(r).startswith(folder) for r in pairs.ravel())


def _old_paper_pairs(ds, split, label, n, rng):
    """The sampler before reuse was spread (one choice, with replacement when n > pairs)."""
    left, right = ds.class_pools(split, label)
    total = left.size * right.size
    keys = rng.choice(total, size=n, replace=n > total)
    return np.stack([left[keys // right.size], right[keys % right.size]], axis=1)


def test_unforced_sampling_is_unchanged_and_distinct(built):
    ds = load_metadataset(built / "paper")
    for split, label, n in (("train", ds.classes("train")[0], 9), ("val", "52", 6), ("test", "02", 5)):
        for seed in range(5):
            new = ds.sample_pairs(split, label, n, np.random.default_rng(seed), shots=1)
            np.testing.assert_array_equal(new, _old_paper_pairs(ds, split, label, n, np.random.default_rng(seed)))
            assert reused_count(new) == 0


def test_forced_reuse_keeps_support_out_of_queries_and_spreads_queries_evenly(built):
    ds = load_metadataset(built / "paper")
    assert ds.pair_count("val", "52") == 6 and ds.pair_count("val", "58") == 2
    for seed in range(10):
        for label, shots, n in (("52", 1, 11), ("52", 2, 9), ("58", 1, 5), ("52", 0, 13)):
            pairs = [tuple(p) for p in ds.sample_pairs("val", label, n, np.random.default_rng(seed), shots=shots).tolist()]
            support, query = pairs[:shots], pairs[shots:]
            total = ds.pair_count("val", label)
            assert len(set(support)) == shots and not set(support) & set(query)
            assert len(set(pairs)) == total  # every combination is used
            uses = Counter(query).values()
            assert len(uses) == total - shots and max(uses) - min(uses) <= 1  # cycled, not random with replacement
            assert reused_count(np.array(pairs)) == n - total
    # a support set larger than the pool must repeat; then all rows cycle evenly
    pairs = [tuple(p) for p in ds.sample_pairs("val", "58", 5, np.random.default_rng(0), shots=2).tolist()]
    assert len(set(pairs[:2])) == 2 and sorted(Counter(pairs).values()) == [2, 3]


def test_forced_sampling_is_deterministic_and_leaves_the_other_classes_of_a_task_alone(built):
    ds = load_metadataset(built / "paper")
    a = ds.sample_pairs("val", "58", 11, np.random.default_rng(3), shots=1)
    np.testing.assert_array_equal(a, ds.sample_pairs("val", "58", 11, np.random.default_rng(3), shots=1))
    # the parent generator advances exactly as before, so a class drawn after a forced one keeps its pairs
    rng_new, rng_old = np.random.default_rng(7), np.random.default_rng(7)
    ds.sample_pairs("val", "58", 11, rng_new, shots=1)
    _old_paper_pairs(ds, "val", "58", 11, rng_old)
    np.testing.assert_array_equal(ds.sample_pairs("val", "52", 6, rng_new, shots=1),
                                  _old_paper_pairs(ds, "val", "52", 6, rng_old))


def test_episodes_count_reuse_and_never_overlap_support_and_query(built):
    ds = load_metadataset(built / "paper")
    spec = EpisodeSpec(ways=5, shots=1, queries=4)
    need = spec.shots + spec.queries
    sampler = EpisodeSampler(ds, "val", spec, seed=11)
    seen_forced = 0
    for i in range(40):
        ids = sampler.episode_pairs(i)
        expect = {c: max(0, need - expected_pairs(c, TEST)) for c in ids.classes}
        assert ids.reused_by_class == tuple(expect[c] for c in ids.classes)
        assert ids.reused_pairs == sum(expect.values())
        assert ids.reused_classes == tuple(c for c in ids.classes if expect[c])
        assert ids.support_query_overlap == 0
        for k in range(spec.ways):
            support = {tuple(p) for p in ids.support[k * spec.shots:(k + 1) * spec.shots].tolist()}
            query = {tuple(p) for p in ids.query[k * spec.queries:(k + 1) * spec.queries].tolist()}
            assert not support & query
        seen_forced += ids.reused_pairs > 0
    assert seen_forced  # the val split holds 58 (2 pairs) and 48 (3 pairs)
    ep = sampler.episode(5)
    ids = sampler.episode_pairs(5)
    assert (ep.reused_pairs, ep.reused_classes, ep.support_query_overlap) == (ids.reused_pairs, ids.reused_classes, 0)
    assert torch.equal(ep.query_x, ds.compose(ids.query)) and torch.equal(ep.support_x, ds.compose(ids.support))
    again = EpisodeSampler(ds, "val", spec, seed=11).episode(5)
    assert torch.equal(again.query_x, ep.query_x) and again.reused_pairs == ep.reused_pairs
    moved = ep.to("cpu")
    assert (moved.reused_pairs, moved.reused_classes) == (ep.reused_pairs, ep.reused_classes)
    # meta-train pools are large enough: nothing reused
    assert all(EpisodeSampler(ds, "train", spec, seed=11).episode_pairs(i).reused_pairs == 0 for i in range(20))


def test_code_mode_sampling_is_unchanged_and_its_reuse_counted(built):
    ds = load_metadataset(built / "code")
    left, right = ds.class_pools("val", "58")
    keys = np.random.default_rng(4).choice(1000, size=11, replace=False)
    expect = np.stack([left[(keys // right.size) % left.size], right[keys % right.size]], axis=1)
    got = ds.sample_pairs("val", "58", 11, np.random.default_rng(4), shots=1)
    np.testing.assert_array_equal(got, expect)
    assert ds.pair_count("val", "58") == 2 and reused_count(got) == 9
    ep = EpisodeSampler(ds, "val", EpisodeSpec(5, 1, 4), seed=0).episode_pairs(0)
    assert ep.reused_pairs == sum(reused_count(np.concatenate([ep.support[k:k + 1], ep.query[4 * k:4 * k + 4]]))
                                  for k in range(5))


def test_pool_stats_on_a_tiny_dataset(built, tmp_path):
    ds = load_metadataset(built / "paper")
    specs = (EpisodeSpec(5, 1, 4), EpisodeSpec(5, 2, 3))
    stats = pool_stats(ds, specs=specs, seed=5, episodes=30)
    assert stats["dataset"] == "double_nmnist" and stats["sampling"] == "paper"
    for split, counts in (("train", TRAIN), ("val", TEST), ("test", TEST)):
        s = stats["splits"][split]
        assert s["pool"] == ("train" if split == "train" else "test")
        assert s["recordings_per_raw_class"] == counts and s["recordings"] == sum(counts.values())
        pairs = {c: expected_pairs(c, counts) for c in ds.classes(split)}
        assert s["pairs_per_class"] == pairs
        values = list(pairs.values())
        assert (s["pairs_min"], s["pairs_median"], s["pairs_max"]) == (min(values), float(np.median(values)), max(values))
        for spec, t in zip(specs, s["specs"], strict=True):
            need = spec.shots + spec.queries
            assert t["classes_below"] == sorted(c for c, n in pairs.items() if n < need)
            assert t["classes_support_forced"] == sorted(c for c, n in pairs.items() if n <= spec.shots)
            sampler = EpisodeSampler(ds, split, spec, seed=5)
            classes = [c for i in range(30) for c in sampler.episode_pairs(i).classes]
            assert t["reused_samples"] == sum(max(0, need - pairs[c]) for c in classes)
            assert t["episodes_with_reuse"] == sum(sampler.episode_pairs(i).reused_pairs > 0 for i in range(30))
            # only a class with no more pairs than shots repeats support pairs among its queries (then all of them)
            forced = sum(spec.queries for c in classes if pairs[c] <= spec.shots)
            assert t["support_query_overlap_samples"] == forced and t["samples"] == 30 * 5 * need
            assert sum(t["reused_samples_by_class"].values()) == t["reused_samples"]
    val = stats["splits"]["val"]
    assert val["recordings_per_raw_class"]["8"] == 1 and val["pairs_per_class"]["58"] == 2
    assert "58" in val["specs"][0]["classes_below"] and val["specs"][0]["reused_per_task_of_class"]["58"] == 3
    assert stats["splits"]["train"]["specs"][0]["reused_samples"] == 0
    written = write_pool_stats(ds, tmp_path, specs=specs, seed=5, episodes=30)
    assert json.loads((tmp_path / "pool_stats.json").read_text()) == json.loads(json.dumps(written))
    md = (tmp_path / "pool_stats.md").read_text()
    assert "## meta-val" in md and "| recordings | 3 | 3 | 3 | 3 | 3 | 2 | 3 | 3 | 1 | 3 |" in md
