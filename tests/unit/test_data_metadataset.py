"""Double meta-datasets and episodes: splits, pools, pair composition, seeded episodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from metasnn.data import BuildOptions, EpisodeSampler, EpisodeSpec, build_metadataset, load_metadataset
from metasnn.data.emulator import emulate_asldvs, emulate_nmnist
from metasnn.data.frames import ASLDVS_LETTER_FRAMES, NMNIST_DIGIT_FRAMES, dense_frames, frame_spec
from metasnn.data.layout import load_manifest, manifest_dict, read_recording
from metasnn.data.sources import DataSource
from metasnn.data.splits import class_splits
from metasnn.errors import ConfigError
from metasnn.io import atomic_write_json

# md5 of the split files as released: Double ASL-DVS = the split file shipped with the sn22 code
# (nmi-lab/snn_maml, md5 b95867e4...); Double N-MNIST = the MultiDigitMNIST 64/16/20 split sn22 used.
REFERENCE_MD5 = {"double_asldvs": "b95867e428297c73131efabbdf43faec", "double_nmnist": "26fc226c9064759bdce190f36b3554ff"}
PACKAGE_SPLITS = Path(__file__).resolve().parents[2] / "metasnn" / "data" / "splits"


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    root = tmp_path_factory.mktemp("fetched")
    for raw, files in (("nmnist", emulate_nmnist(root / "nmnist" / "files", 4, 3, seed=0)),
                       ("asldvs", emulate_asldvs(root / "asldvs" / "files", 4, seed=0))):
        atomic_write_json(root / raw / "manifest.json", manifest_dict(
            raw, "synthetic", "files", files, [], {"data_sources": {raw: DataSource(raw, "synthetic", 1).to_dict()}}))
    return root


@pytest.fixture(scope="module")
def built(fetched, tmp_path_factory):
    out = tmp_path_factory.mktemp("meta")
    for name, raw in (("double_nmnist", "nmnist"), ("double_asldvs", "asldvs")):
        for mode in ("paper", "code"):
            build_metadataset(name, load_manifest(fetched / raw), out / f"{name}_{mode}", BuildOptions(sampling=mode, time_bin_ms=5))
    return out


@pytest.mark.parametrize("name", ["double_nmnist", "double_asldvs"])
def test_splits_equal_reference_and_are_disjoint(name):
    import hashlib

    assert hashlib.md5((PACKAGE_SPLITS / f"{name}_splits.json").read_bytes()).hexdigest() == REFERENCE_MD5[name]
    splits = class_splits(name)
    sizes = {"double_nmnist": (64, 16, 20), "double_asldvs": (369, 92, 115)}[name]
    assert tuple(len(splits[s]) for s in ("train", "val", "test")) == sizes
    everything = [c for s in splits.values() for c in s]
    assert len(everything) == len(set(everything)) == {"double_nmnist": 100, "double_asldvs": 576}[name]


def test_shapes_and_metadata(built):
    ds = load_metadataset(built / "double_nmnist_paper")
    assert (ds.name, ds.num_steps, ds.frame_shape) == ("double_nmnist", 20, (2, 32, 16))
    assert ds.classes("val") == list(class_splits("double_nmnist")["val"])
    x = ds.draw("train", ds.classes("train")[0], 3, np.random.default_rng(0))
    assert x.shape == (20, 3, 2, 32, 16) and x.dtype == torch.float32
    asl = load_metadataset(built / "double_asldvs_paper")
    assert asl.frame_shape == (2, 80, 30)
    assert asl.draw("test", asl.classes("test")[0], 2, 0).shape == (20, 2, 2, 80, 30)


def test_paper_mode_pools_are_disjoint_between_meta_train_and_meta_test(built):
    for name in ("double_nmnist", "double_asldvs"):
        ds = load_metadataset(built / f"{name}_paper")
        train = {int(r) for c in ds.index["pools"][ds.index["split_pool"]["train"]].values() for r in c}
        for split in ("val", "test"):
            other = {int(r) for c in ds.index["pools"][ds.index["split_pool"][split]].values() for r in c}
            assert train and other and not train & other
            sources = {ds.recording_source(r) for r in other}
            assert not sources & {ds.recording_source(r) for r in train}
    nm = load_metadataset(built / "double_nmnist_paper")
    assert all(nm.recording_source(r).startswith("Train/") for r in nm.pool("train", "3"))
    assert all(nm.recording_source(r).startswith("Test/") for r in nm.pool("test", "3"))


def test_code_mode_asl_shares_recordings_and_left_is_nearly_constant(built):
    ds = load_metadataset(built / "double_asldvs_code")
    assert ds.index["split_pool"] == {"train": "code", "val": "code", "test": "code"}
    np.testing.assert_array_equal(ds.pool("train", "a"), ds.pool("test", "a"))
    pairs = ds.sample_pairs("train", ds.classes("train")[0], 200, np.random.default_rng(0))
    # 1000 keys over pools of 4: left = (k // 4) % 4 varies slowly; right = k % 4
    assert len(np.unique(pairs[:, 1])) == 4
    paper = load_metadataset(built / "double_nmnist_paper")
    p = paper.sample_pairs("train", "37", 16, np.random.default_rng(0))
    assert len({tuple(r) for r in p}) == 16  # distinct combinations while the pools allow it


def test_composed_pair_equals_the_two_recordings_side_by_side(built, fetched):
    for name, raw, geometry in (("double_nmnist", "nmnist", NMNIST_DIGIT_FRAMES),
                                ("double_asldvs", "asldvs", ASLDVS_LETTER_FRAMES)):
        ds = load_metadataset(built / f"{name}_paper")
        manifest = load_manifest(fetched / raw)
        spec = frame_spec(5, 100, **geometry)
        label = ds.classes("train")[3]
        pairs = ds.sample_pairs("train", label, 2, np.random.default_rng(1))
        frames = ds.compose(pairs).numpy()
        for b, (left, right) in enumerate(pairs):
            expect_l = dense_frames(read_recording(raw, manifest.path(ds.recording_source(left))), spec)
            expect_r = dense_frames(read_recording(raw, manifest.path(ds.recording_source(right))), spec)
            half = spec.width
            np.testing.assert_array_equal(frames[:, b, :, :half, :], expect_l)
            np.testing.assert_array_equal(frames[:, b, :, half:, :], expect_r)
            assert frames[:, b].sum() > 0


def test_nmnist_digit_binning_follows_the_spec():
    # crop [0,32) (not centred), /2, clock from the first event, first window only
    from metasnn.data.events import make_events

    events = make_events([0, 31, 32, 5, 5], [0, 31, 1, 33, 4], [1000, 1000, 1000, 1000, 1000 + 100_000], [1, 0, 1, 1, 1])
    frames = dense_frames(events, frame_spec(1, 100, **NMNIST_DIGIT_FRAMES))
    assert frames.shape == (100, 2, 16, 16)
    assert frames.sum() == 2 and frames[0, 1, 0, 0] == 1 and frames[0, 0, 15, 15] == 1


def test_episodes_are_seeded_and_well_formed(built):
    ds = load_metadataset(built / "double_nmnist_paper")
    spec = EpisodeSpec(ways=5, shots=2, queries=3)
    a = EpisodeSampler(ds, "train", spec, seed=0)
    b = EpisodeSampler(ds, "train", spec, seed=0)
    c = EpisodeSampler(ds, "train", spec, seed=1)
    ep = a.episode(4)
    assert ep.support_x.shape == (20, 10, 2, 32, 16) and ep.query_x.shape == (20, 15, 2, 32, 16)
    assert ep.support_y.dtype == torch.int64 and ep.support_y.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert ep.query_y.tolist() == sorted([0, 1, 2, 3, 4] * 3)
    assert len(set(ep.classes)) == 5 and set(ep.classes) <= set(ds.classes("train"))
    same = b.episode(4)
    assert same.classes == ep.classes and torch.equal(same.support_x, ep.support_x) and torch.equal(same.query_x, ep.query_x)
    assert c.episode(4).classes != ep.classes or not torch.equal(c.episode(4).query_x, ep.query_x)
    assert a.episode(5).classes != ep.classes or not torch.equal(a.episode(5).query_x, ep.query_x)
    # iteration and indexing agree; a different split gives different classes
    first = next(iter(EpisodeSampler(ds, "train", spec, seed=0, num_episodes=3)))
    assert torch.equal(first.query_x, a.episode(0).query_x)
    assert len(EpisodeSampler(ds, "train", spec, seed=0, num_episodes=3)) == 3
    assert set(EpisodeSampler(ds, "test", spec, seed=0).episode(0).classes) <= set(ds.classes("test"))
    # labels are a per-task permutation: class -> label mapping changes between tasks
    mappings = {tuple(a.episode(i).classes) for i in range(20)}
    assert len(mappings) == 20
    # support samples of one class match the class's composition
    counts = ep.support_x.sum(dim=(0, 2, 3, 4))
    assert (counts > 0).all()


def test_sampler_errors(built):
    ds = load_metadataset(built / "double_nmnist_paper")
    with pytest.raises(ConfigError, match="21-way"):
        EpisodeSampler(ds, "test", EpisodeSpec(ways=21))
    with pytest.raises(ConfigError, match="split"):
        ds.classes("meta-train")
    with pytest.raises(ConfigError, match="not in the 'val' split"):
        ds.draw("val", "00", 1, 0)


def test_build_is_deterministic(fetched, tmp_path):
    for i in range(2):
        build_metadataset("double_nmnist", load_manifest(fetched / "nmnist"), tmp_path / str(i), BuildOptions(time_bin_ms=10))
    for f in ("recordings.npz", "index.json"):
        assert (tmp_path / "0" / f).read_bytes() == (tmp_path / "1" / f).read_bytes()


def test_corrupt_recording_skip_policy(fetched, tmp_path):
    import shutil

    from metasnn.errors import DataError

    copy = tmp_path / "nmnist"
    shutil.copytree(fetched / "nmnist", copy)
    manifest = load_manifest(copy)
    bad = manifest.files["train"]["2"][0]
    (manifest.root / bad).write_bytes(b"\x00\x01\x02")
    with pytest.raises(DataError, match="not a multiple of 5"):
        build_metadataset("double_nmnist", manifest, tmp_path / "err")
    build_metadataset("double_nmnist", manifest, tmp_path / "skip", BuildOptions(on_corrupt="skip"))
    ds = load_metadataset(tmp_path / "skip")
    assert ds.index["skipped_count"] == 1 and ds.index["skipped"][0]["file"] == bad
    assert bad not in {ds.recording_source(r) for r in ds.pool("train", "2")}
