"""Readers and writers of the raw on-disk formats, with validation.

N-MNIST ``.bin`` (ATIS, Orchard et al. 2015): 5 bytes per event — byte 0 x, byte 1 y, bit 7 of
byte 2 the polarity, the remaining 23 bits (byte 2 bits 0-6, bytes 3, 4) the timestamp in µs,
big-endian. A record with ``y == 240`` is a *timestamp overflow marker*: it carries no event and
adds 2**13 µs to the timestamps of every following record. This is what the format's reference
parser (gorchard/event-Python ``eventvision.py``) and tonic's ``read_mnist_file`` (which we use to
parse) do. Real N-MNIST recordings (~300 ms) never reach 2**23 µs and contain no markers; our
writer emits markers only for timestamps at or beyond 2**23 µs, so any non-negative, sorted
timestamp round-trips exactly.

ASL-DVS ``.mat`` (Bi et al. 2019): MATLAB v5 file with column vectors ``ts`` (µs), ``x``, ``y``,
``pol``. Read with ``scipy.io.loadmat``. ``y`` is returned as stored (tonic's ``ASLDVS`` flips it
to ``179 - y``; the sn22 builder does not, and neither do we).

Every reader validates what it read and raises :class:`metasnn.errors.DataError` naming the file
and the problem: unreadable or truncated file, missing keys, out-of-range coordinates or
polarities, negative, non-integral or non-monotonic timestamps.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from metasnn.data.events import ASLDVS_SENSOR, NMNIST_SENSOR, SensorSpec, make_events
from metasnn.errors import DataError

__all__ = [
    "NMNIST_TIMESTAMP_BITS",
    "NMNIST_OVERFLOW_Y",
    "NMNIST_OVERFLOW_INCREMENT_US",
    "read_nmnist_bin",
    "encode_nmnist_bin",
    "write_nmnist_bin",
    "read_asldvs_mat",
    "write_asldvs_mat",
    "validate_events",
]

NMNIST_TIMESTAMP_BITS = 23
NMNIST_OVERFLOW_Y = 240
NMNIST_OVERFLOW_INCREMENT_US = 2**13
_TS_LIMIT = 2**NMNIST_TIMESTAMP_BITS
_TONIC_DTYPE = np.dtype([("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])


def validate_events(events: np.ndarray, sensor: SensorSpec, path: str | os.PathLike) -> np.ndarray:
    """Check coordinates, polarities and timestamps of ``events``; return them as :data:`EVENT_DTYPE`.

    Raises
    ------
    DataError
        Naming ``path`` and the first problem found.
    """
    n = len(events)
    if n == 0:
        raise DataError(f"{path}: contains no events (empty or truncated recording)")
    x, y, t, p = (np.asarray(events[k]) for k in ("x", "y", "t", "p"))
    for name, values, limit in (("x", x, sensor.width), ("y", y, sensor.height)):
        bad = np.flatnonzero((values < 0) | (values >= limit))
        if bad.size:
            i = int(bad[0])
            raise DataError(
                f"{path}: {bad.size} events with {name} outside [0, {limit}) of the {sensor.width}x{sensor.height} "
                f"{sensor.name} sensor (first at event {i}: {name}={int(values[i])}); the file is corrupt or not {sensor.name}"
            )
    bad = np.flatnonzero((p != 0) & (p != 1))
    if bad.size:
        raise DataError(f"{path}: polarity must be 0 or 1, event {int(bad[0])} has {p[bad[0]]!r}")
    if t[0] < 0:
        raise DataError(f"{path}: negative timestamp {int(t[0])} µs at event 0")
    dec = np.flatnonzero(np.diff(t) < 0)
    if dec.size:
        i = int(dec[0])
        raise DataError(
            f"{path}: timestamps are not monotonic ({dec.size} decreases; first at event {i + 1}: "
            f"{int(t[i])} -> {int(t[i + 1])} µs) — a wrapped/overflowed timestamp counter or a corrupt file"
        )
    return make_events(x, y, t, p)


# ----------------------------------------------------------------------------------------------
# N-MNIST .bin
# ----------------------------------------------------------------------------------------------


def read_nmnist_bin(path: str | os.PathLike, sensor: SensorSpec = NMNIST_SENSOR) -> np.ndarray:
    """Read and validate one N-MNIST ``.bin`` recording.

    Parsing is tonic's ``tonic.io.read_mnist_file``; before it we check the byte count and the
    overflow markers, after it the coordinates and timestamps.

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`EVENT_DTYPE`, in file order.
    """
    from tonic.io import read_mnist_file

    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if raw.size % 5:
        raise DataError(
            f"{path}: {raw.size} bytes is not a multiple of 5 (N-MNIST stores 5-byte events): the file is truncated "
            "or corrupt; re-download it or run with on_corrupt=skip"
        )
    y_raw = raw[1::5]
    bad = np.flatnonzero((y_raw >= sensor.height) & (y_raw != NMNIST_OVERFLOW_Y))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: {bad.size} records with y outside [0, {sensor.height}) (first at record {i}: y={int(y_raw[i])}); "
            "the file is corrupt or not N-MNIST"
        )
    try:
        events = read_mnist_file(str(path), dtype=_TONIC_DTYPE)
    except Exception as exc:  # noqa: BLE001 - any parser failure means a corrupt file
        raise DataError(f"{path}: cannot be parsed as N-MNIST ({type(exc).__name__}: {exc})") from exc
    return validate_events(events, sensor, path)


def encode_nmnist_bin(events: np.ndarray) -> bytes:
    """Encode events as N-MNIST ``.bin`` bytes (inverse of :func:`read_nmnist_bin`).

    Timestamps at or beyond 2**23 µs are encoded with overflow markers (``y = 240`` records, each
    adding 2**13 µs to what follows), the only way the format can express them.
    """
    n = len(events)
    x = np.asarray(events["x"], dtype=np.int64)
    y = np.asarray(events["y"], dtype=np.int64)
    t = np.asarray(events["t"], dtype=np.int64)
    p = np.asarray(events["p"], dtype=np.int64)
    if n and (x.min() < 0 or x.max() > 255 or y.min() < 0 or y.max() > 255 or np.any(y == NMNIST_OVERFLOW_Y)):
        raise ValueError("N-MNIST coordinates must be in [0, 255] and y != 240 (the overflow marker)")
    if n and (t[0] < 0 or np.any(np.diff(t) < 0)):
        raise ValueError("N-MNIST timestamps must be non-negative and sorted")
    if n and np.any((p != 0) & (p != 1)):
        raise ValueError("polarity must be 0 or 1")
    # markers needed before each event: cumulative count k_i (non-decreasing) with 0 <= t_i - k_i*2^13 < 2^23
    need = np.maximum(0, -((_TS_LIMIT - 1 - t) // NMNIST_OVERFLOW_INCREMENT_US))  # ceil((t - (2^23-1)) / 2^13)
    k = np.maximum.accumulate(need) if n else need
    stored = t - k * NMNIST_OVERFLOW_INCREMENT_US
    new_markers = np.diff(np.concatenate([[0], k])) if n else k
    total = n + int(k[-1]) if n else 0
    records = np.zeros((total, 5), dtype=np.uint8)
    # position of event i = i + k_i (all markers needed by it come before it)
    pos = np.arange(n) + k
    records[pos, 0] = x
    records[pos, 1] = y
    records[pos, 2] = (p << 7) | ((stored >> 16) & 0x7F)
    records[pos, 3] = (stored >> 8) & 0xFF
    records[pos, 4] = stored & 0xFF
    is_event = np.zeros(total, dtype=bool)
    is_event[pos] = True
    records[~is_event, 1] = NMNIST_OVERFLOW_Y
    assert int(new_markers.sum()) == total - n
    return records.tobytes()


def write_nmnist_bin(path: str | os.PathLike, events: np.ndarray) -> Path:
    """Write events as an N-MNIST ``.bin`` file (plain write; callers build inside an atomic directory)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_nmnist_bin(events))
    return path


# ----------------------------------------------------------------------------------------------
# ASL-DVS .mat
# ----------------------------------------------------------------------------------------------

_MAT_KEYS = ("ts", "x", "y", "pol")


def read_asldvs_mat(path: str | os.PathLike, sensor: SensorSpec = ASLDVS_SENSOR) -> np.ndarray:
    """Read and validate one ASL-DVS ``.mat`` recording (keys ``ts, x, y, pol``; ``y`` not flipped).

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`EVENT_DTYPE`.
    """
    import scipy.io

    path = Path(path)
    try:
        mat = scipy.io.loadmat(str(path))
    except Exception as exc:  # noqa: BLE001 - scipy raises many types for a bad file
        raise DataError(
            f"{path}: unreadable .mat file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "the file is truncated or corrupt — re-download it or run with on_corrupt=skip"
        ) from exc
    missing = [k for k in _MAT_KEYS if k not in mat]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}; an ASL-DVS .mat holds ts, x, y, pol")
    cols = {}
    for key in _MAT_KEYS:
        value = np.asarray(mat[key])
        if value.dtype.kind not in "iuf" or (value.ndim == 2 and 1 not in value.shape) or value.ndim > 2:
            raise DataError(f"{path}: key {key!r} must be a numeric vector, got dtype {value.dtype} shape {value.shape}")
        value = value.reshape(-1)
        if value.dtype.kind == "f":
            if not np.all(np.isfinite(value)) or np.any(value != np.round(value)):
                raise DataError(f"{path}: key {key!r} holds non-integral or non-finite values")
            if value.size and np.abs(value).max() >= 2**62:
                raise DataError(f"{path}: key {key!r} overflows 64-bit integers")
        cols[key] = value.astype(np.int64)
    lengths = {k: v.size for k, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise DataError(f"{path}: ts, x, y, pol have different lengths {lengths}; the file is corrupt")
    # coordinates are checked before the int16 cast inside make_events could wrap them
    for key, limit in (("x", sensor.width), ("y", sensor.height)):
        if cols[key].size and (cols[key].min() < 0 or cols[key].max() >= limit):
            i = int(np.flatnonzero((cols[key] < 0) | (cols[key] >= limit))[0])
            raise DataError(
                f"{path}: {key} outside [0, {limit}) of the {sensor.width}x{sensor.height} sensor "
                f"(first at event {i}: {key}={int(cols[key][i])}); the file is corrupt or not ASL-DVS"
            )
    events = make_events(cols["x"], cols["y"], cols["ts"], cols["pol"])
    return validate_events(events, sensor, path)


def write_asldvs_mat(path: str | os.PathLike, events: np.ndarray) -> Path:
    """Write events as an ASL-DVS-style ``.mat`` (column vectors ``ts`` int64, ``x, y, pol`` uint8)."""
    import scipy.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(
        str(path),
        {
            "ts": np.asarray(events["t"], dtype=np.int64).reshape(-1, 1),
            "x": np.asarray(events["x"], dtype=np.uint8).reshape(-1, 1),
            "y": np.asarray(events["y"], dtype=np.uint8).reshape(-1, 1),
            "pol": np.asarray(events["p"], dtype=np.uint8).reshape(-1, 1),
        },
        do_compression=True,
    )
    return path

