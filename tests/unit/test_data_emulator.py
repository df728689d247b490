"""Sensor emulator: determinism, written layouts, and statistics near real N-MNIST / ASL-DVS."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from metasnn.data.emulator import (
    ASLDVSEmulation,
    NMNISTEmulation,
    _digit_images,
    _record_rng,
    digit_image_pool,
    emulate_asldvs,
    emulate_asldvs_recording,
    emulate_nmnist,
    emulate_nmnist_recording,
    saccade_offsets,
)
from metasnn.data.formats import read_asldvs_mat, read_nmnist_bin
from metasnn.data.layout import scan_layout
from metasnn.data.statistics import recording_stats

REAL_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "real_nmnist_sample.bin"


def test_bundled_digits_equal_sklearn_load_digits():
    from sklearn.datasets import load_digits

    images, target = _digit_images()
    digits = load_digits()
    np.testing.assert_array_equal(images, digits.images / 16.0)
    np.testing.assert_array_equal(target, digits.target)


def test_train_and_test_images_are_disjoint():
    cfg = NMNISTEmulation()
    for d in range(10):
        train, test = digit_image_pool(d, "train", cfg), digit_image_pool(d, "test", cfg)
        assert train.size > 100 and test.size > 40 and not set(train) & set(test)


def test_saccade_path_is_a_closed_triangle():
    cfg = NMNISTEmulation()
    v0, v1, v2 = cfg.triangle_px
    (s1, e1), (s2, e2), (s3, e3) = cfg.saccade_windows_us
    t = np.array([0, s1, e1, 100_000, s2, e2, 200_000, s3, e3, 299_999])
    off = saccade_offsets(t, cfg)
    np.testing.assert_allclose(off, [v0, v0, v1, v1, v1, v2, v2, v2, v0, v0], atol=1e-9)
    # jittered windows (as per recording) move the timing, not the vertices
    windows = np.asarray(cfg.saccade_windows_us, dtype=float) + 3000.0
    np.testing.assert_allclose(saccade_offsets(np.array([0, 100_000, 210_000, 300_000]), cfg, windows), [v0, v1, v2, v0], atol=1e-9)


@pytest.fixture(scope="module")
def nmnist_stats():
    images, _ = _digit_images()
    cfg = NMNISTEmulation()
    stats = []
    for d in range(10):
        for i in range(2):
            events = emulate_nmnist_recording(images[digit_image_pool(d, "train", cfg)[i]], _record_rng(7, d, i), cfg)
            stats.append(recording_stats(events))
    return stats


def test_nmnist_like_statistics_near_the_real_sample(nmnist_stats):
    real = recording_stats(read_nmnist_bin(REAL_SAMPLE))  # 4325 events, 311 ms, 34x34, 49.6% ON, 1369/1288/1645
    assert real.events == 4325
    for s in nmnist_stats:
        assert 0.5 * real.events <= s.events <= 2.0 * real.events
        assert 280 <= s.duration_ms <= 330
        assert s.width <= 34 and s.height <= 34 and max(s.width, s.height) >= 30
        assert 0.4 <= s.on_fraction <= 0.6
        # every saccade carries a substantial share of the events (real sample: 32% / 30% / 38%)
        shares = np.array(s.events_per_saccade) / s.events
        assert shares.min() >= 0.2 and shares.max() <= 0.45
        assert 250 <= s.active_pixels <= 800  # real: 452
    mean_events = np.mean([s.events for s in nmnist_stats])
    assert 0.75 * real.events <= mean_events <= 1.35 * real.events


def test_asldvs_like_statistics():
    cfg = ASLDVSEmulation()
    for k in (0, 11, 23):
        s = recording_stats(emulate_asldvs_recording(k, _record_rng(3, k), cfg))
        assert 2_000 <= s.events <= 40_000
        assert 95 <= s.duration_ms <= 100
        assert s.width <= 240 and s.height <= 180
        assert 0.35 <= s.on_fraction <= 0.65


def test_emulators_are_deterministic_and_seeded(tmp_path):
    a = emulate_nmnist(tmp_path / "a", 2, 1, seed=3)
    b = emulate_nmnist(tmp_path / "b", 2, 1, seed=3)
    c = emulate_nmnist(tmp_path / "c", 2, 1, seed=4)
    assert a == b == c
    rel = a["train"]["5"][1]
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert (tmp_path / "a" / rel).read_bytes() != (tmp_path / "c" / rel).read_bytes()
    # a file does not depend on how many others were generated
    emulate_nmnist(tmp_path / "d", 3, 1, seed=3)
    assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "d" / rel).read_bytes()
    assert scan_layout("nmnist", tmp_path / "a") == a
    assert len(read_nmnist_bin(tmp_path / "a" / rel)) > 1000


def test_asldvs_files_in_layout(tmp_path):
    files = emulate_asldvs(tmp_path / "asl", 2, seed=0)
    assert scan_layout("asldvs", tmp_path / "asl") == files
    assert len(files["all"]) == 24 and files["all"]["y"] == ["y/y_0001.mat", "y/y_0002.mat"]
    events = read_asldvs_mat(tmp_path / "asl" / files["all"]["a"][0])
    assert events["x"].max() < 240 and events["y"].max() < 180
    again = emulate_asldvs(tmp_path / "asl2", 1, seed=0)
    np.testing.assert_array_equal(read_asldvs_mat(tmp_path / "asl2" / again["all"]["a"][0]), events)
