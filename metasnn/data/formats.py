"""Readers and writers of the raw on-disk formats, with validation.

N-MNIST ``.bin`` (ATIS, Orchard et al. 2015): 5 bytes per event — byte 0 x, byte 1 y, bit 7 of
byte 2 the polarity, the remaining 23 bits (byte 2 bits 0-6, bytes 3, 4) the timestamp in µs,
big-endian. A record with ``y == 240`` is a *timestamp overflow marker*: it carries no event and
adds 2**13 µs to the timestamps of every following record. This is what the format's reference
parser (gorchard/event-Python ``eventvision.py``) and tonic's ``read_mnist_file`` (whose rule we
follow, parsing in int64) do. Real N-MNIST recordings (~300 ms) never reach 2**23 µs and contain no markers; our
writer emits markers only for timestamps at or beyond 2**23 µs, so any non-negative, sorted
timestamp round-trips exactly.

ASL-DVS ``.mat`` (Bi et al. 2019): MATLAB v5 file with column vectors ``ts`` (µs), ``x``, ``y``,
``pol``. Read with a small MAT v5 parser of our own (numeric arrays, zlib-compressed or not):
``scipy.io.loadmat`` crashes the interpreter (segmentation fault) on some corrupt files, e.g. one
whose data element has an invalid type code, which no ``try`` can catch; the parser bounds-checks
every tag against the file instead. ``y`` is returned as stored (tonic's ``ASLDVS`` flips it
to ``179 - y``; the sn22 builder does not, and neither do we).

Every reader validates what it read and raises :class:`metasnn.errors.DataError` naming the file
and the problem: unreadable or truncated file, missing keys, wrong dtypes or shapes, columns of
different lengths, non-finite, non-integral or overflowing values, out-of-range coordinates or
polarities, negative or non-monotonic timestamps. Every value is checked in the dtype it was
stored in (then in int64) before it is narrowed to :data:`EVENT_DTYPE`, so nothing can wrap into
range. What a reader returns always satisfies: dtype :data:`EVENT_DTYPE` (fields ``x y t p``), at
least one event, ``0 <= x < width``, ``0 <= y < height``, ``p`` in {0, 1}, ``t >= 0`` and
non-decreasing.
"""

from __future__ import annotations

import os
import struct
import zlib
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
_INT_LIMIT = 2**62  # stored values at or beyond this are corrupt (no real recording comes close)


def _int64_column(values: np.ndarray, name: str, path: str | os.PathLike, allow_bool: bool = False) -> np.ndarray:
    """``values`` as int64, after checking in their *stored* dtype that they are finite integers that fit.

    Nothing is cast before this check, so no value can wrap (e.g. a polarity of 256 into 0).
    """
    values = np.asarray(values)
    kind = values.dtype.kind
    if kind == "b" and allow_bool:
        return values.astype(np.int64)
    if kind not in "iuf":
        raise DataError(f"{path}: {name} must hold integers, got dtype {values.dtype}; the file is corrupt or not this format")
    if kind == "f":
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(f"{path}: {name} holds {bad.size} non-finite values (first at event {int(bad[0])}: "
                            f"{values[bad[0]]!r}); the file is corrupt")
        bad = np.flatnonzero(np.abs(values) >= _INT_LIMIT)
        if bad.size:
            raise DataError(f"{path}: {name} overflows 64-bit integers (event {int(bad[0])}: {values[bad[0]]!r}); "
                            "the file is corrupt")
        bad = np.flatnonzero(values != np.trunc(values))
        if bad.size:
            raise DataError(f"{path}: {name} holds {bad.size} non-integral values (first at event {int(bad[0])}: "
                            f"{values[bad[0]]!r}); the file is corrupt")
    elif kind == "u" and values.dtype.itemsize >= 8:
        bad = np.flatnonzero(values >= np.uint64(_INT_LIMIT))
        if bad.size:
            raise DataError(f"{path}: {name} overflows 64-bit integers (event {int(bad[0])}: {int(values[bad[0]])}); "
                            "the file is corrupt")
    return values.astype(np.int64)


def _check_columns(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray, sensor: SensorSpec,
                   path: str | os.PathLike) -> np.ndarray:
    """Range and order checks on int64 columns (nothing narrowed yet); pack them as :data:`EVENT_DTYPE`."""
    n = len(t)
    if not (len(x) == len(y) == len(p) == n):
        raise DataError(f"{path}: x, y, t, p have different lengths ({len(x)}, {len(y)}, {n}, {len(p)}); the file is corrupt")
    if n == 0:
        raise DataError(f"{path}: contains no events (empty or truncated recording)")
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
        raise DataError(f"{path}: polarity must be 0 or 1, {bad.size} events are not "
                        f"(first at event {int(bad[0])}: {int(p[bad[0]])})")
    bad = np.flatnonzero(t < 0)
    if bad.size:
        raise DataError(f"{path}: negative timestamp {int(t[bad[0]])} µs at event {int(bad[0])}")
    dec = np.flatnonzero(np.diff(t) < 0)
    if dec.size:
        i = int(dec[0])
        raise DataError(
            f"{path}: timestamps are not monotonic ({dec.size} decreases; first at event {i + 1}: "
            f"{int(t[i])} -> {int(t[i + 1])} µs) — a wrapped/overflowed timestamp counter or a corrupt file"
        )
    return make_events(x, y, t, p)  # every value is in range now: the narrowing casts are exact


def validate_events(events: np.ndarray, sensor: SensorSpec, path: str | os.PathLike) -> np.ndarray:
    """Check coordinates, polarities and timestamps of ``events``; return them as :data:`EVENT_DTYPE`.

    Every field is checked in its stored dtype (finite integers that fit in int64) and then in
    int64 — x in ``[0, width)``, y in ``[0, height)``, p in {0, 1}, t non-negative and
    non-decreasing, at least one event — before it is narrowed to :data:`EVENT_DTYPE`.

    Raises
    ------
    DataError
        Naming ``path`` and the first problem found.
    """
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    missing = [k for k in ("x", "y", "t", "p") if k not in names]
    if missing:
        raise DataError(f"{path}: events lack field(s) {', '.join(missing)}")
    cols = {k: _int64_column(np.asarray(events[k]).reshape(-1), k, path, allow_bool=(k == "p")) for k in ("x", "y", "t", "p")}
    return _check_columns(cols["x"], cols["y"], cols["t"], cols["p"], sensor, path)


# ----------------------------------------------------------------------------------------------
# N-MNIST .bin
# ----------------------------------------------------------------------------------------------


def read_nmnist_bin(path: str | os.PathLike, sensor: SensorSpec = NMNIST_SENSOR) -> np.ndarray:
    """Read and validate one N-MNIST ``.bin`` recording.

    Parsing follows tonic's ``tonic.io.read_mnist_file`` (same fields, same overflow-marker rule)
    but is done here, vectorised and in int64 from the stored bytes: tonic accumulates the markers
    in a uint32 (which wraps after 2**19 markers) with one pass per marker. Before parsing we check
    the byte count and the y bytes, after it the coordinates and timestamps (:func:`validate_events`).

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`EVENT_DTYPE`, in file order.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from exc
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
    records = raw.reshape(-1, 5).astype(np.int64)  # widened before any arithmetic: nothing can wrap
    marker = records[:, 1] == NMNIST_OVERFLOW_Y
    offset = np.cumsum(marker) * NMNIST_OVERFLOW_INCREMENT_US  # markers before each event (tonic's rule)
    ev = records[~marker]
    t = (((ev[:, 2] & 0x7F) << 16) | (ev[:, 3] << 8) | ev[:, 4]) + offset[~marker]
    return _check_columns(ev[:, 0], ev[:, 1], t, ev[:, 2] >> 7, sensor, path)


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
# MAT v5 data types (miINT8 ... miUINT64) -> numpy codes; array classes (mxDOUBLE_CLASS ...) we read.
_MI_DTYPES = {1: "i1", 2: "u1", 3: "i2", 4: "u2", 5: "i4", 6: "u4", 7: "f4", 9: "f8", 12: "i8", 13: "u8"}
_MI_INT8, _MI_INT32, _MI_UINT32, _MI_MATRIX, _MI_COMPRESSED = 1, 5, 6, 14, 15
_MX_NUMERIC = set(range(6, 16))  # double, single, int8, uint8, int16, uint16, int32, uint32, int64, uint64
_MX_NAMES = {1: "cell array", 2: "struct", 3: "object", 4: "char array", 5: "sparse matrix", 16: "function handle",
             17: "opaque object"}
_MAX_DECOMPRESSED = 1 << 30  # a variable that inflates beyond 1 GiB is not an ASL-DVS recording


class _MatError(ValueError):
    """A structural problem of a MAT file (message without the path)."""


class _Unsupported:
    """A MAT variable that is not a numeric array (cell, struct, char, sparse, ...): not parsed."""

    def __init__(self, what: str):
        self.what = what


def _mat_element(buf: bytes, pos: int, order: str, where: str) -> tuple[int, bytes, int]:
    """``(type, data, next position)`` of the data element at ``pos`` (small or regular format)."""
    if pos + 8 > len(buf):
        raise _MatError(f"truncated {where}: {len(buf) - pos} bytes where an 8-byte tag is needed")
    tag, size = struct.unpack_from(order + "II", buf, pos)
    if tag >> 16:  # small data element: type and size in the first 4 bytes, data in the next 4
        mdtype, size = tag & 0xFFFF, tag >> 16
        if size > 4:
            raise _MatError(f"{where}: small data element of {size} > 4 bytes")
        return mdtype, buf[pos + 4: pos + 4 + size], pos + 8
    end = pos + 8 + size
    if end > len(buf):
        raise _MatError(f"truncated {where}: element of {size} bytes, {len(buf) - pos - 8} left")
    return tag, buf[pos + 8: end], end


def _mat_matrix(body: bytes, order: str) -> tuple[str, np.ndarray | _Unsupported]:
    """Name and value of one miMATRIX element (numeric arrays only; other classes are not parsed)."""
    mdtype, flags, pos = _mat_element(body, 0, order, "array flags")
    if mdtype != _MI_UINT32 or len(flags) != 8:
        raise _MatError(f"array flags have type {mdtype} and {len(flags)} bytes (expected miUINT32, 8 bytes)")
    word = struct.unpack_from(order + "I", flags)[0]
    mx_class, is_complex = word & 0xFF, bool(word & 0x800)
    mdtype, dims_raw, pos = _mat_element(body, pos + (-pos % 8), order, "dimensions")
    if mdtype != _MI_INT32 or len(dims_raw) % 4 or len(dims_raw) < 8:
        raise _MatError(f"dimensions have type {mdtype} and {len(dims_raw)} bytes (expected >= 2 miINT32)")
    dims = [int(d) for d in np.frombuffer(dims_raw, order + "i4")]
    if min(dims) < 0:
        raise _MatError(f"negative dimension in {dims}")
    mdtype, name_raw, pos = _mat_element(body, pos + (-pos % 8), order, "array name")
    if mdtype not in (_MI_INT8, 2):
        raise _MatError(f"array name has type {mdtype} (expected miINT8)")
    name = name_raw.decode("latin-1")
    if mx_class not in _MX_NUMERIC:
        return name, _Unsupported(f"a MATLAB {_MX_NAMES.get(mx_class, f'class-{mx_class} value')}")
    count = 1
    for d in dims:
        count *= d
    parts = []
    for part in ("real", "imaginary")[: 1 + is_complex]:
        mdtype, raw, pos = _mat_element(body, pos + (-pos % 8), order, f"{part} part of {name!r}")
        if mdtype not in _MI_DTYPES:
            raise _MatError(f"{part} part of {name!r} has unknown data type {mdtype}")
        dtype = np.dtype(_MI_DTYPES[mdtype]).newbyteorder(order)
        if len(raw) != count * dtype.itemsize:
            raise _MatError(f"{name!r}: {len(raw)} data bytes for dimensions {dims} of {dtype.itemsize}-byte values")
        parts.append(np.frombuffer(raw, dtype).reshape(dims, order="F"))
    value = parts[0] if not is_complex else parts[0] + 1j * parts[1]
    return name, value


def _read_mat5(buf: bytes) -> dict[str, np.ndarray | _Unsupported]:
    """The variables of a MATLAB v5 (``-v6``/``-v7``) MAT file; :class:`_MatError` for anything malformed."""
    if len(buf) < 128:
        raise _MatError(f"{len(buf)} bytes: shorter than the 128-byte MAT-file header")
    order = {b"IM": "<", b"MI": ">"}.get(buf[126:128])
    if order is None:
        raise _MatError("no MATLAB 5 header (a v4 or v7.3/HDF5 file, or not a MAT file at all; save with -v7)")
    version = struct.unpack_from(order + "H", buf, 124)[0]
    if version != 0x0100:
        raise _MatError(f"MAT-file version {version:#06x} (only MATLAB 5/7 files, version 0x0100, are read; save with -v7)")
    variables: dict[str, np.ndarray | _Unsupported] = {}
    pos = 128
    while pos < len(buf):
        mdtype, body, pos = _mat_element(buf, pos, order, "variable")
        if mdtype == _MI_COMPRESSED:
            inflater = zlib.decompressobj()
            inner = inflater.decompress(body, _MAX_DECOMPRESSED)
            if inflater.unconsumed_tail:
                raise _MatError(f"a compressed variable inflates to more than {_MAX_DECOMPRESSED} bytes")
            if not inflater.eof:
                raise _MatError("truncated compressed variable")
            mdtype, body, end = _mat_element(inner, 0, order, "compressed variable")
            if end != len(inner):
                raise _MatError(f"compressed variable holds {len(inner) - end} bytes after its array")
        if mdtype != _MI_MATRIX:
            raise _MatError(f"unexpected element type {mdtype} where a variable (miMATRIX) should be")
        if not body:
            continue  # an empty placeholder element
        name, value = _mat_matrix(body, order)
        if name in variables:
            raise _MatError(f"variable {name!r} is stored twice")
        variables[name] = value
    return variables


def read_asldvs_mat(path: str | os.PathLike, sensor: SensorSpec = ASLDVS_SENSOR) -> np.ndarray:
    """Read and validate one ASL-DVS ``.mat`` recording (keys ``ts, x, y, pol``; ``y`` not flipped).

    Each key must be a numeric vector (n x 1, 1 x n); its values are checked in the type they are
    stored in, before any conversion (see the module docstring for what the result guarantees).

    Returns
    -------
    numpy.ndarray
        Structured array of dtype :data:`EVENT_DTYPE`.
    """
    path = Path(path)
    try:
        mat = _read_mat5(path.read_bytes())
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (ValueError, zlib.error, struct.error, OverflowError, MemoryError) as exc:
        detail = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"{path}: unreadable .mat file ({detail}); the file is truncated or corrupt — re-download it or run "
            "with on_corrupt=skip"
        ) from exc
    missing = [k for k in _MAT_KEYS if k not in mat]
    if missing:
        raise DataError(f"{path}: missing key(s) {', '.join(missing)}; an ASL-DVS .mat holds ts, x, y, pol")
    cols = {}
    for key in _MAT_KEYS:
        value = mat[key]
        if isinstance(value, _Unsupported):
            raise DataError(f"{path}: key {key!r} must be a numeric vector, got {value.what}")
        if (value.ndim == 2 and 1 not in value.shape) or value.ndim > 2:
            raise DataError(f"{path}: key {key!r} must be a numeric vector, got shape {value.shape}")
        if value.dtype.kind not in "iufb":
            raise DataError(f"{path}: key {key!r} must be a numeric vector, got dtype {value.dtype}")
        cols[key] = _int64_column(value.reshape(-1), key, path, allow_bool=(key == "pol"))
    lengths = {k: v.size for k, v in cols.items()}
    if len(set(lengths.values())) != 1:
        raise DataError(f"{path}: ts, x, y, pol have different lengths {lengths}; the file is corrupt")
    return _check_columns(cols["x"], cols["y"], cols["ts"], cols["pol"], sensor, path)


_MAT_HEADER_TEXT_BYTES = 116
_MAT_HEADER_TEXT = b"MATLAB 5.0 MAT-file, written by metasnn (emulated ASL-DVS recording)".ljust(_MAT_HEADER_TEXT_BYTES)


def write_asldvs_mat(path: str | os.PathLike, events: np.ndarray) -> Path:
    """Write events as an ASL-DVS-style ``.mat`` (column vectors ``ts`` int64, ``x, y, pol`` uint8).

    The bytes depend on the events only: ``scipy.io.savemat`` stamps the creation time into the
    116-byte MAT-5 header text, which is replaced by a fixed text (readers ignore it).
    """
    import io

    import scipy.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    scipy.io.savemat(
        buffer,
        {
            "ts": np.asarray(events["t"], dtype=np.int64).reshape(-1, 1),
            "x": np.asarray(events["x"], dtype=np.uint8).reshape(-1, 1),
            "y": np.asarray(events["y"], dtype=np.uint8).reshape(-1, 1),
            "pol": np.asarray(events["p"], dtype=np.uint8).reshape(-1, 1),
        },
        do_compression=True,
    )
    data = bytearray(buffer.getvalue())
    data[:_MAT_HEADER_TEXT_BYTES] = _MAT_HEADER_TEXT
    path.write_bytes(bytes(data))
    return path

