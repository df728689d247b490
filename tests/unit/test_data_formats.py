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


def test_asldvs_writer_bytes_depend_on_the_events_only(tmp_path, monkeypatch):
    """savemat stamps the creation time into the header; the written bytes must not (DVC hashes them)."""
    import time

    events = random_events(np.random.default_rng(2), 100, 240, 180, 10_000)
    first = write_asldvs_mat(tmp_path / "a.mat", events).read_bytes()
    monkeypatch.setattr(time, "asctime", lambda *a: "Thu Jan  1 00:00:00 2099")
    second = write_asldvs_mat(tmp_path / "b.mat", events).read_bytes()
    assert first == second and first.startswith(b"MATLAB 5.0 MAT-file")
    np.testing.assert_array_equal(read_asldvs_mat(tmp_path / "b.mat"), events)


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


# --- values are validated in their stored dtype, before any narrowing cast (fuzzing found wraps) ---


def _savemat(tmp_path, name="w.mat", **cols):
    path = tmp_path / name
    scipy.io.savemat(path, cols)
    return path


@pytest.mark.parametrize(
    "pol",
    [np.array([[256], [257]], np.int32), np.array([[512.0], [1.0]]), np.array([[65536], [0]], np.int64),
     np.array([[-256], [1]], np.int32), np.array([[-255], [0]], np.int16), np.array([[1], [2**63 + 1]], np.uint64)],
)
def test_asldvs_polarity_that_would_wrap_into_0_or_1_is_refused(tmp_path, pol):
    path = _savemat(tmp_path, ts=[[1], [2]], x=[[1], [2]], y=[[1], [2]], pol=pol)
    with pytest.raises(DataError) as err:
        read_asldvs_mat(path)
    assert str(path) in str(err.value)
    assert "polarity" in str(err.value) or "overflows" in str(err.value)


@pytest.mark.parametrize(
    ("cols", "message"),
    [
        (dict(ts=np.array([[1.0], [np.nan]])), "non-finite"),
        (dict(ts=np.array([[1.0], [np.inf]])), "non-finite"),
        (dict(ts=np.array([[1.0], [1e300]])), "overflows"),
        (dict(ts=np.array([[1], [2**63 + 5]], np.uint64)), "overflows"),
        (dict(x=np.array([[1.0], [2.5]])), "non-integral"),
        (dict(x=np.array([[65536 + 3], [1]], np.int32)), "x outside [0, 240)"),
        (dict(y=np.array([[1], [-65536 + 5]], np.int32)), "y outside [0, 180)"),
        (dict(x=np.array([[True], [False]])), None),  # stored as uint8 by savemat: accepted only if in range
        (dict(ts=np.array([[1, 2], [3, 4]])), "shape"),
        (dict(pol=np.array(["a", "b"])), "char array"),
        (dict(pol=np.array([[1 + 1j], [0]])), "dtype"),
        (dict(ts=np.zeros((0, 1)), x=np.zeros((0, 1)), y=np.zeros((0, 1)), pol=np.zeros((0, 1))), "no events"),
        (dict(x=np.array([[1], [2], [3]])), "different lengths"),
    ],
)
def test_asldvs_bad_values_and_dtypes(tmp_path, cols, message):
    base = dict(ts=np.array([[1], [2]]), x=np.array([[1], [2]]), y=np.array([[1], [2]]), pol=np.array([[0], [1]]))
    path = _savemat(tmp_path, **{**base, **cols})
    if message is None:
        assert read_asldvs_mat(path)["x"].tolist() == [1, 0]
        return
    with pytest.raises(DataError) as err:
        read_asldvs_mat(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_asldvs_sparse_and_cell_values_are_refused(tmp_path):
    import scipy.sparse

    base = dict(ts=np.array([[1], [2]]), x=np.array([[1], [2]]), y=np.array([[1], [2]]), pol=np.array([[0], [1]]))
    for name, value in (("sparse", scipy.sparse.csc_matrix(np.array([[1.0], [2.0]]))),
                        ("cell", np.array([np.array([1]), np.array([2, 3])], dtype=object))):
        path = _savemat(tmp_path, f"{name}.mat", **{**base, "ts": value})
        with pytest.raises(DataError, match=f"{name}.mat: key 'ts' must be a numeric vector"):
            read_asldvs_mat(path)


def test_validate_events_checks_fields_before_narrowing():
    from metasnn.data.events import NMNIST_SENSOR
    from metasnn.data.formats import validate_events

    wide = np.zeros(2, dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    wide["x"] = [1, 65536 + 1]  # would become 1 as int16
    with pytest.raises(DataError, match="f.bin: 1 events with x outside"):
        validate_events(wide, NMNIST_SENSOR, "f.bin")
    wide["x"] = 1
    wide["p"] = [0, 256]  # would become 0 as int8
    with pytest.raises(DataError, match="f.bin: polarity"):
        validate_events(wide, NMNIST_SENSOR, "f.bin")
    floats = np.zeros(1, dtype=[("x", float), ("y", float), ("t", float), ("p", float)])
    floats["t"] = np.nan
    with pytest.raises(DataError, match="f.bin: t holds 1 non-finite"):
        validate_events(floats, NMNIST_SENSOR, "f.bin")


def test_nmnist_overflow_markers_are_accumulated_in_int64(tmp_path):
    # tonic's parser adds the markers in a uint32 (wraps at 2**32 µs), one pass per marker;
    # ours is one vectorised int64 pass
    events = make_events([3, 5], [4, 6], [7, 2**32 + 12345], [1, 0])
    write_nmnist_bin(tmp_path / "m.bin", events)
    assert (tmp_path / "m.bin").stat().st_size > 5 * 500_000  # markers
    back = read_nmnist_bin(tmp_path / "m.bin")
    assert back["t"].tolist() == [7, 2**32 + 12345]


def test_nmnist_directory_or_text_is_a_dataerror(tmp_path):
    (tmp_path / "d.bin").mkdir()
    with pytest.raises(DataError, match="d.bin"):
        read_nmnist_bin(tmp_path / "d.bin")
    (tmp_path / "t.bin").write_text("this is not an N-MNIST recording")  # 32 bytes: not a multiple of 5
    with pytest.raises(DataError, match="t.bin"):
        read_nmnist_bin(tmp_path / "t.bin")
    (tmp_path / "u.bin").write_text("hello world, text!!!")  # 20 bytes: y bytes are letters
    with pytest.raises(DataError, match="u.bin: .*y outside"):
        read_nmnist_bin(tmp_path / "u.bin")


def test_asldvs_data_element_with_invalid_type_is_a_dataerror_not_a_crash(tmp_path):
    # scipy.io.loadmat segfaults on this file (the y data element's type code 3 flipped to 259)
    path = tmp_path / "flip.mat"
    n = 10
    scipy.io.savemat(path, {"ts": np.arange(n, dtype=float).reshape(-1, 1), "x": np.full((n, 1), 3, np.int16),
                            "y": np.full((n, 1), 5, np.int16), "pol": np.ones((n, 1), np.uint8)},
                     do_compression=False)
    data = bytearray(path.read_bytes())
    i = data.index(b"y\x00\x00\x00") + 4  # the y variable's name (small element), then its data tag
    assert data[i: i + 4] == (3).to_bytes(4, "little")  # miINT16
    data[i + 1] ^= 0x01  # 3 -> 259
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"flip.mat: unreadable .mat file \(real part of 'y' has unknown data type 259"):
        read_asldvs_mat(path)


def test_asldvs_big_endian_and_compressed_files_read_the_same(tmp_path):
    import struct
    import zlib

    def element(mdtype, payload):
        return struct.pack(">II", mdtype, len(payload)) + payload + bytes(-len(payload) % 8)

    def matrix(name, values, mi, code, mx):
        body = (element(6, struct.pack(">II", mx, 0)) + element(5, struct.pack(">ii", len(values), 1))
                + element(1, name.encode()) + element(mi, np.asarray(values, code).tobytes()))
        return struct.pack(">II", 14, len(body)) + body

    header = b"MATLAB 5.0 MAT-file, big-endian test".ljust(124, b" ") + struct.pack(">H", 0x0100) + b"MI"
    variables = [matrix("ts", [1.0, 5.0], 9, ">f8", 6), matrix("x", [239, 0], 2, ">u1", 6),  # double stored as uint8
                 matrix("y", [3, 179], 3, ">i2", 10), matrix("pol", [1, 0], 2, ">u1", 9)]
    (tmp_path / "be.mat").write_bytes(header + b"".join(variables))
    compressed = b"".join(struct.pack(">II", 15, len(z)) + z for z in map(zlib.compress, variables))
    (tmp_path / "bez.mat").write_bytes(header + compressed)
    for name in ("be.mat", "bez.mat"):
        ev = read_asldvs_mat(tmp_path / name)
        assert ev["t"].tolist() == [1, 5] and ev["x"].tolist() == [239, 0] and ev["y"].tolist() == [3, 179]
        assert ev["p"].tolist() == [1, 0]
    (tmp_path / "dup.mat").write_bytes(header + b"".join(variables) + variables[1])
    with pytest.raises(DataError, match="dup.mat: unreadable .mat file \\(variable 'x' is stored twice"):
        read_asldvs_mat(tmp_path / "dup.mat")
