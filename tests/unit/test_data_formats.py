"""Raw format readers/writers: bit-exact round trips, the real N-MNIST sample, corrupt files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from metasnn.data.events import make_events
from metasnn.data.formats import (
    NMNIST_OVERFLOW_INCREMENT_US,
    encode_nmnist_bin,
    read_asldvs_mat,
    read_nmnist_bin,
    write_asldvs_mat,
    write_nmnist_bin,
)
from metasnn.errors import DataError

REAL_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "real_nmnist_sample.bin"


def random_events(rng, n, width, height, t_max):
    t = np.sort(rng.integers(0, t_max, n))
    return make_events(rng.integers(0, width, n), rng.integers(0, height, n), t, rng.integers(0, 2, n))


def test_nmnist_round_trip_is_exact(tmp_path):
    events = random_events(np.random.default_rng(0), 5000, 34, 34, 400_000)
    write_nmnist_bin(tmp_path / "a.bin", events)
    back = read_nmnist_bin(tmp_path / "a.bin")
    assert back.dtype == events.dtype
    np.testing.assert_array_equal(back, events)
    assert (tmp_path / "a.bin").stat().st_size == 5 * 5000  # no overflow markers below 2**23 µs


def test_nmnist_bit_layout_of_one_event():
    # x=7, y=15, p=1, t=0x5A_BC_DE -> bytes 07 0F (0x80 | 0x5A) BC DE
    raw = encode_nmnist_bin(make_events([7], [15], [0x5ABCDE], [1]))
    assert raw == bytes([7, 15, 0x80 | 0x5A, 0xBC, 0xDE])
    raw0 = encode_nmnist_bin(make_events([33], [0], [1], [0]))
    assert raw0 == bytes([33, 0, 0, 0, 1])


@pytest.mark.parametrize("t_last", [2**23 - 1, 2**23, 2**23 + 1, 2**23 + 3 * 2**13 + 17, 3 * 2**23])
def test_nmnist_timestamps_at_and_beyond_23_bits(tmp_path, t_last):
    # the format stores 23-bit timestamps; later times need y=240 overflow markers (+2**13 each)
    t = np.array([0, 5, 2**23 - 2, t_last])
    t.sort()
    events = make_events([1, 2, 3, 4], [5, 6, 7, 8], t, [1, 0, 1, 0])
    write_nmnist_bin(tmp_path / "o.bin", events)
    raw = np.fromfile(tmp_path / "o.bin", dtype=np.uint8).reshape(-1, 5)
    markers = int((raw[:, 1] == 240).sum())
    expected = max(0, -(-(t_last - (2**23 - 1)) // NMNIST_OVERFLOW_INCREMENT_US))
    assert markers == expected
    stored = ((raw[:, 2].astype(np.int64) & 0x7F) << 16) | (raw[:, 3].astype(np.int64) << 8) | raw[:, 4]
    assert stored.max() < 2**23
    np.testing.assert_array_equal(read_nmnist_bin(tmp_path / "o.bin"), events)


def test_nmnist_polarity_bit_is_bit_7_of_byte_2(tmp_path):
    events = make_events([0, 0], [0, 0], [2**22, 2**22 + 1], [0, 1])
    raw = encode_nmnist_bin(events)
    assert raw[2] == 0x40 and raw[7] == 0xC0
    write_nmnist_bin(tmp_path / "p.bin", events)
    assert read_nmnist_bin(tmp_path / "p.bin")["p"].tolist() == [0, 1]


def test_real_nmnist_sample():
    from tonic.io import read_mnist_file

    events = read_nmnist_bin(REAL_SAMPLE)
    assert len(events) == 4325
    assert events["x"].max() == 33 and events["y"].max() == 33 and events["x"].min() >= 0
    assert 300_000 < events["t"].max() - events["t"].min() < 320_000
    assert 0.45 < events["p"].mean() < 0.55
    reference = read_mnist_file(str(REAL_SAMPLE), dtype=np.dtype([("x", int), ("y", int), ("t", int), ("p", int)]))
    for key in "xytp":
        np.testing.assert_array_equal(events[key], reference[key])
    # our writer reproduces the real file byte for byte
    assert encode_nmnist_bin(events) == REAL_SAMPLE.read_bytes()


def _write(tmp_path, name, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x01\x02\x03", "not a multiple of 5"),
        (bytes([1, 2, 0, 0, 1, 3]), "not a multiple of 5"),
        (b"", "no events"),
        (bytes([1, 40, 0, 0, 1]), "y outside [0, 34)"),
        (bytes([34, 1, 0, 0, 1]), "x outside [0, 34)"),
        (bytes([1, 1, 0, 0, 9, 2, 2, 0, 0, 3]), "not monotonic"),
        (bytes([1, 240, 0, 0, 0]), "no events"),  # only an overflow marker
    ],
)
def test_nmnist_corrupt_files_raise_dataerror_naming_the_file(tmp_path, data, message):
    path = _write(tmp_path, "bad.bin", data)
    with pytest.raises(DataError) as err:
        read_nmnist_bin(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_nmnist_missing_file(tmp_path):
    with pytest.raises(DataError, match="cannot be read"):
        read_nmnist_bin(tmp_path / "missing.bin")


def test_asldvs_round_trip_is_exact(tmp_path):
    events = random_events(np.random.default_rng(1), 3000, 240, 180, 100_000)
    write_asldvs_mat(tmp_path / "a.mat", events)
    mat = scipy.io.loadmat(tmp_path / "a.mat")
    assert {"ts", "x", "y", "pol"} <= set(mat) and mat["ts"].shape == (3000, 1)
    np.testing.assert_array_equal(read_asldvs_mat(tmp_path / "a.mat"), events)


def test_asldvs_reader_accepts_double_columns_like_matlab(tmp_path):
    scipy.io.savemat(tmp_path / "d.mat", {"ts": np.array([[1.0], [2.0]]), "x": np.array([[239.0], [0.0]]),
                                          "y": np.array([[179.0], [3.0]]), "pol": np.array([[1.0], [0.0]])})
    ev = read_asldvs_mat(tmp_path / "d.mat")
    assert ev["x"].tolist() == [239, 0] and ev["y"].tolist() == [179, 3] and ev["t"].tolist() == [1, 2]


def _mat(tmp_path, **cols):
    path = tmp_path / "bad.mat"
    scipy.io.savemat(path, {k: np.asarray(v).reshape(-1, 1) for k, v in cols.items()})
    return path


@pytest.mark.parametrize(
    ("cols", "message"),
    [
        (dict(ts=[1, 2], x=[1, 2], y=[1, 2]), "missing key(s) pol"),
        (dict(ts=[1, 2], x=[1, 240], y=[1, 2], pol=[0, 1]), "x outside [0, 240)"),
        (dict(ts=[1, 2], x=[1, 2], y=[1, 180], pol=[0, 1]), "y outside [0, 180)"),
        (dict(ts=[5, 2], x=[1, 2], y=[1, 2], pol=[0, 1]), "not monotonic"),
        (dict(ts=[1, 2], x=[1, 2], y=[1, 2], pol=[0, 2]), "polarity"),
        (dict(ts=[1, 2, 3], x=[1, 2], y=[1, 2], pol=[0, 1]), "different lengths"),
        (dict(ts=[1.5, 2], x=[1, 2], y=[1, 2], pol=[0, 1]), "non-integral"),
        (dict(ts=[-1, 2], x=[1, 2], y=[1, 2], pol=[0, 1]), "negative timestamp"),
    ],
)
def test_asldvs_invalid_content(tmp_path, cols, message):
    path = _mat(tmp_path, **cols)
    with pytest.raises(DataError) as err:
        read_asldvs_mat(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_asldvs_truncated_file(tmp_path):
    events = random_events(np.random.default_rng(2), 500, 240, 180, 100_000)
    write_asldvs_mat(tmp_path / "t.mat", events)
    data = (tmp_path / "t.mat").read_bytes()
    (tmp_path / "t.mat").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="unreadable .mat"):
        read_asldvs_mat(tmp_path / "t.mat")
    (tmp_path / "g.mat").write_bytes(b"garbage, not a mat file at all" * 10)
    with pytest.raises(DataError, match="g.mat"):
        read_asldvs_mat(tmp_path / "g.mat")
