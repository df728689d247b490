"""Seeded fuzzing of everything that reads user-supplied bytes: the raw readers, the archive checks and
extraction, and the config check.

Every outcome must be either the project's error (a :class:`DataError` / :class:`ConfigError` whose
message names the file) or a result that keeps every promise the function makes — for the readers
(``metasnn/data/formats.py``): dtype ``EVENT_DTYPE`` with fields ``x y t p``, at least one event,
``0 <= x < width``, ``0 <= y < height``, ``p`` in {0, 1}, ``t >= 0`` and non-decreasing, and (where
the test knows the stored values) exactly the stored values, nothing wrapped. Any other exception
fails the test, and so does anything a failed extraction leaves behind.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import scipy.sparse

from metasnn.data.events import ASLDVS_SENSOR, EVENT_DTYPE, NMNIST_SENSOR, make_events
from metasnn.data.formats import encode_nmnist_bin, read_asldvs_mat, read_nmnist_bin, write_asldvs_mat
from metasnn.errors import ConfigError, DataError

SEED = 20240611
REAL_SAMPLE = Path(__file__).resolve().parent.parent / "data" / "real_nmnist_sample.bin"


# ------------------------------------------------------------------------------------------- helpers
def _events(rng: np.random.Generator, n: int, sensor) -> np.ndarray:
    t = np.sort(rng.integers(0, 300_000, n))
    return make_events(rng.integers(0, sensor.width, n), rng.integers(0, sensor.height, n), t, rng.integers(0, 2, n))


def _assert_promises(events: np.ndarray, sensor, stored: dict | None = None) -> None:
    assert events.dtype == EVENT_DTYPE and events.dtype.names == ("x", "y", "t", "p")
    assert events.ndim == 1 and len(events) > 0
    x, y, t, p = (events[k].astype(np.int64) for k in ("x", "y", "t", "p"))
    assert x.min() >= 0 and x.max() < sensor.width
    assert y.min() >= 0 and y.max() < sensor.height
    assert set(np.unique(p).tolist()) <= {0, 1}
    assert t.min() >= 0 and np.all(np.diff(t) >= 0)
    for field, values in (stored or {}).items():  # exactly what was stored: nothing wrapped or rounded
        assert [v.item() if hasattr(v, "item") else v for v in np.asarray(values).reshape(-1)] == events[field].tolist()


def _outcome(read, path: Path, sensor, stored: dict | None = None) -> str:
    """``"error"`` (a DataError naming ``path``) or ``"ok"`` (promises kept); anything else raises."""
    try:
        events = read(path)
    except DataError as exc:
        assert str(path) in str(exc), f"error does not name the file: {exc}"
        assert "\n" not in str(exc)
        return "error"
    _assert_promises(events, sensor, stored)
    return "ok"


def _mutate_bytes(rng: np.random.Generator, data: bytes) -> tuple[str, bytes]:
    kind = rng.choice(["truncate", "flip", "flips", "overwrite", "text", "empty", "append", "splice", "zero"])
    buf = bytearray(data)
    if kind == "truncate":
        return kind, bytes(buf[: int(rng.integers(0, max(1, len(buf))))])
    if kind == "flip" and buf:
        i = int(rng.integers(0, len(buf)))
        buf[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "flips" and buf:
        for i in rng.integers(0, len(buf), int(rng.integers(2, 20))):
            buf[int(i)] ^= 1 << int(rng.integers(0, 8))
    elif kind == "overwrite" and buf:
        i = int(rng.integers(0, len(buf)))
        chunk = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        buf[i: i + len(chunk)] = chunk
    elif kind == "text":
        words = ["event", "camera", "x", "y", "pol", "ts", "MATLAB", "5.0", "\n", " ", "1e-3", "NaN"]
        return kind, " ".join(rng.choice(words, int(rng.integers(1, 400)))).encode()
    elif kind == "empty":
        return kind, b""
    elif kind == "append":
        buf += rng.integers(0, 256, int(rng.integers(1, 50)), dtype=np.uint8).tobytes()
    elif kind == "splice" and len(buf) > 10:
        i, j = sorted(int(v) for v in rng.integers(0, len(buf), 2))
        buf = buf[:i] + buf[j:] + buf[i:j]
    elif kind == "zero" and buf:
        i = int(rng.integers(0, len(buf)))
        buf[i: i + int(rng.integers(1, 32))] = bytes(min(len(buf) - i, 32))[: len(buf[i: i + 32])]
    return kind, bytes(buf)


# ------------------------------------------------------------------------------------- N-MNIST .bin
def test_fuzz_nmnist_bin(tmp_path):
    rng = np.random.default_rng(SEED)
    bases = [REAL_SAMPLE.read_bytes(), encode_nmnist_bin(_events(rng, 400, NMNIST_SENSOR)),
             encode_nmnist_bin(make_events([1, 2], [3, 4], [0, 2**23 + 5 * 2**13], [0, 1]))]  # with overflow markers
    outcomes = {"ok": 0, "error": 0}
    for case in range(400):
        base = bases[case % len(bases)]
        kind, data = _mutate_bytes(rng, base)
        if case % 7 == 0:  # wrong dtypes: the event array's own bytes, or numbers of another width
            arr = _events(rng, int(rng.integers(0, 50)), NMNIST_SENSOR)
            data = [arr.tobytes(), arr["t"].astype(np.float64).tobytes(), arr["x"].astype(np.int32).tobytes()][case % 3]
            kind = "dtype"
        if case % 11 == 0:  # an overflow marker (y = 240) or a y just out of range inserted at a record boundary
            records = bytearray(base)
            i = 5 * int(rng.integers(0, len(records) // 5))
            records[i + 1] = int(rng.choice([240, 34, 239, 241, 255]))
            data, kind = bytes(records), "y-byte"
        path = tmp_path / f"c{case}_{kind}.bin"
        path.write_bytes(data)
        outcomes[_outcome(read_nmnist_bin, path, NMNIST_SENSOR)] += 1
    assert outcomes["ok"] > 20 and outcomes["error"] > 100, outcomes  # the fuzz exercises both outcomes


# -------------------------------------------------------------------------------------- ASL-DVS .mat
def _column_variants(rng: np.random.Generator, key: str, n: int, good: np.ndarray) -> list:
    """Stored values for one key: wrong dtypes, out-of-range / non-integral / non-finite values, shapes."""
    col = good.reshape(-1, 1)
    big = np.array([[2**62], [2**63 - 1]], np.int64)[: min(2, n)]
    return [
        col.astype(np.float64), col.astype(np.float32), col.astype(np.int8), col.astype(np.uint16),
        col.astype(np.int32) + 256, col.astype(np.int32) - 256, col.astype(np.int64) + 65536,
        col.astype(np.float64) + 0.5, np.full((n, 1), np.nan), np.full((n, 1), np.inf), np.full((n, 1), -np.inf),
        np.full((n, 1), 1e300), np.full((n, 1), 2.0**63), np.full((n, 1), 2**64 - 1, np.uint64), big,
        (col % 2).astype(bool), col.astype(np.complex128), np.array([str(v) for v in good]),
        col.T, np.hstack([col, col]), col[:-1], np.vstack([col, col[:1]]), np.zeros((0, 1)),
        col.reshape(1, 1, -1), -col - 1, col[::-1], np.array(list(good), dtype=object).reshape(-1, 1),
        scipy.sparse.csc_matrix(col.astype(np.float64)), {"a": col}, "text",
        col.astype(np.float64) * rng.choice([1.0, -1.0, 0.999999, 1e-9], size=col.shape),
    ]


def test_fuzz_asldvs_mat_values(tmp_path):
    rng = np.random.default_rng(SEED + 1)
    n = 12
    good = _events(rng, n, ASLDVS_SENSOR)
    base = {"ts": good["t"], "x": good["x"], "y": good["y"], "pol": good["p"]}
    outcomes = {"ok": 0, "error": 0}
    case = 0
    for key in base:
        for value in _column_variants(rng, key, n, base[key]):
            cols = {k: np.asarray(v).reshape(-1, 1) for k, v in base.items()}
            cols[key] = value
            path = tmp_path / f"v{case}_{key}.mat"
            scipy.io.savemat(path, cols, do_compression=bool(case % 2))
            stored = {f: c for f, c in zip(("t", "x", "y", "p"), (cols[k] for k in base), strict=True)
                      if isinstance(c, np.ndarray) and c.dtype.kind in "iufb"}
            outcomes[_outcome(read_asldvs_mat, path, ASLDVS_SENSOR, stored)] += 1
            case += 1
    for variant in ({"t": base["ts"]}, {"p": base["pol"]}, {}, {"TS": base["ts"], "X": base["x"]}):  # renamed/missing
        cols = {k: v.reshape(-1, 1) for k, v in base.items() if k not in {"ts", "pol", "x"} or not variant}
        cols.update({k: np.asarray(v).reshape(-1, 1) for k, v in variant.items()})
        if not variant:
            cols = {"other": np.zeros((3, 1))}
        path = tmp_path / f"keys{case}.mat"
        scipy.io.savemat(path, cols)
        assert _outcome(read_asldvs_mat, path, ASLDVS_SENSOR) == "error"
        case += 1
    # the example: a stored 256 / 257 must not read back as polarities 0 / 1
    path = tmp_path / "wrap.mat"
    scipy.io.savemat(path, {"ts": [[1], [2]], "x": [[1], [2]], "y": [[1], [2]], "pol": np.array([[256], [257]], np.int32)})
    assert _outcome(read_asldvs_mat, path, ASLDVS_SENSOR) == "error"
    assert outcomes["ok"] >= 10 and outcomes["error"] >= 60, outcomes


def test_fuzz_asldvs_mat_bytes(tmp_path):
    rng = np.random.default_rng(SEED + 2)
    bases = []
    for compress in (True, False):
        write_asldvs_mat(tmp_path / "base.mat", _events(rng, 200, ASLDVS_SENSOR))
        if not compress:
            ev = read_asldvs_mat(tmp_path / "base.mat")
            scipy.io.savemat(tmp_path / "base.mat", {"ts": ev["t"].reshape(-1, 1).astype(np.float64),
                                                     "x": ev["x"].reshape(-1, 1), "y": ev["y"].reshape(-1, 1),
                                                     "pol": ev["p"].reshape(-1, 1)}, do_compression=False)
        bases.append((tmp_path / "base.mat").read_bytes())
    outcomes = {"ok": 0, "error": 0}
    for case in range(300):
        kind, data = _mutate_bytes(rng, bases[case % 2])
        path = tmp_path / f"b{case}_{kind}.mat"
        path.write_bytes(data)
        outcomes[_outcome(read_asldvs_mat, path, ASLDVS_SENSOR)] += 1
    (tmp_path / "dir.mat").mkdir()
    assert _outcome(read_asldvs_mat, tmp_path / "dir.mat", ASLDVS_SENSOR) == "error"
    assert _outcome(read_asldvs_mat, tmp_path / "missing.mat", ASLDVS_SENSOR) == "error"
    assert outcomes["ok"] >= 2 and outcomes["error"] > 100, outcomes  # (MAT files have no checksum to catch flips)


# ------------------------------------------------------------------------------------------ archives
def _members(rng: np.random.Generator) -> dict[str, bytes]:
    files = {f"Train/{d}/{i:05d}.bin": rng.integers(0, 256, int(rng.integers(5, 3000)), dtype=np.uint8).tobytes()
             for d in range(2) for i in range(3)}
    files["Test/0/00001.bin"] = b"\x01\x02\x03\x04\x05" * 40
    return files


def _zip_bytes(files: dict[str, bytes], compression: int, extra: list | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for info, data in extra or ():
            zf.writestr(info, data)
    return buf.getvalue()


def _tar_bytes(files: dict[str, bytes], mode: str, extra: list | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for info in extra or ():
            tf.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return buf.getvalue()


def _hostile_zip_entries() -> list[list]:
    def special(name, mode):
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        return info

    return [
        [(zipfile.ZipInfo("../evil.bin"), b"x")], [(zipfile.ZipInfo("/abs/evil.bin"), b"x")],
        [(zipfile.ZipInfo("Train/../../evil.bin"), b"x")], [(zipfile.ZipInfo("C:/evil.bin"), b"x")],
        [(special("Train/link", 0o120777), "/etc/passwd")], [(special("Train/fifo", 0o010644), "")],
        [(zipfile.ZipInfo("Train/0"), b"a file where a directory is")],  # file/directory clash
        [(zipfile.ZipInfo("Train/"), b""), (zipfile.ZipInfo("Extra/dir/"), b"")],  # plain directories: fine
        [(zipfile.ZipInfo("Train/0/00000.bin"), b"duplicate name")],
        [(zipfile.ZipInfo("Train\\..\\..\\evil.bin"), b"x")],
    ]


def _hostile_tar_entries() -> list[list]:
    def entry(name, kind=tarfile.REGTYPE, link="", size=0):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, size
        return info

    return [
        [entry("../evil.bin", size=1)], [entry("/abs/evil.bin", size=1)], [entry("Train/link", tarfile.SYMTYPE, "/etc")],
        [entry("Train/hard", tarfile.LNKTYPE, "Train/0/00000.bin")], [entry("Train/dev", tarfile.CHRTYPE)],
        [entry("Train/fifo", tarfile.FIFOTYPE)], [entry("Train/0", size=3)], [entry("Extra", tarfile.DIRTYPE)],
        [entry("Train/0/00000.bin", size=4)], [entry("a/../../evil", size=1)],
    ]


def _files_under(root: Path) -> dict[str, bytes]:
    out = {}
    for p in root.rglob("*"):
        assert not p.is_symlink(), f"extraction created a link {p}"
        if p.is_file():
            out[p.relative_to(root).as_posix()] = p.read_bytes()
    return out


def _check_archive(path: Path, work: Path, original: dict[str, bytes] | None) -> str:
    from metasnn.data.download import check_members, safe_extract

    target = work / "out" / "target"
    outcome = "ok"
    try:
        names = check_members(path, target)
        assert isinstance(names, list)
    except DataError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), exc
        outcome = "error"
    try:
        safe_extract(path, target)
    except DataError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc), exc
        assert not (work / "out").exists(), f"a failed extraction left {sorted(map(str, (work / 'out').rglob('*')))}"
        assert sorted(p.name for p in work.iterdir()) == [path.name]
        return "error"
    assert outcome == "ok", "check_members refused what safe_extract accepted"
    extracted = _files_under(target)
    assert sorted(p.name for p in work.iterdir()) == [path.name, "out"]
    assert sorted(p.name for p in (work / "out").iterdir()) == ["target"]  # no temporaries beside the target
    assert not [p for p in work.parent.rglob("evil*")]
    if original is not None:  # an accepted archive extracts exactly its (uncorrupted) content
        for name, data in extracted.items():
            if name in original:
                assert data == original[name], f"{path}: {name} extracted with different content"
    shutil.rmtree(work / "out")
    return "ok"


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("fmt", ["zip", "tar.gz", "tar"])
def test_fuzz_archives(tmp_path, fmt):
    rng = np.random.default_rng(SEED + {"zip": 3, "tar.gz": 4, "tar": 6}[fmt])
    files = _members(rng)
    if fmt == "zip":  # CRC-32 per member: a changed byte of content is always caught
        bases = [_zip_bytes(files, zipfile.ZIP_STORED), _zip_bytes(files, zipfile.ZIP_DEFLATED)]
        hostile = [_zip_bytes(files, zipfile.ZIP_DEFLATED, extra) for extra in _hostile_zip_entries()]
    elif fmt == "tar.gz":  # the gzip CRC-32 covers the whole tar stream
        bases = [_tar_bytes(files, "w:gz"), _tar_bytes(files, "w:gz", [tarfile.TarInfo("Extra")])]
        hostile = [_tar_bytes(files, "w:gz", extra) for extra in _hostile_tar_entries()]
    else:  # a plain tar checksums headers only: changed content cannot be detected, so is not checked
        bases = [_tar_bytes(files, "w"), _tar_bytes(files, "w")]
        hostile = [_tar_bytes(files, "w", extra) for extra in _hostile_tar_entries()]
    outcomes = {"ok": 0, "error": 0}
    cases = [(f"intact{i}", b) for i, b in enumerate(bases)] + [(f"hostile{i}", b) for i, b in enumerate(hostile)]
    cases += [(f"m{i}_{kind}", data) for i in range(120) for kind, data in [_mutate_bytes(rng, bases[i % 2])]]
    for label, data in cases:
        work = tmp_path / label
        work.mkdir()
        path = work / f"{label}.{fmt}"
        path.write_bytes(data)
        known = files if fmt != "tar" and not label.startswith("hostile") else None
        outcomes[_check_archive(path, work, known)] += 1
        shutil.rmtree(work)
    assert outcomes["ok"] >= 3 and outcomes["error"] >= 30, outcomes


# -------------------------------------------------------------------------------------------- config
def test_fuzz_config_text(tmp_path):
    from pipeline.config import PARAMS, read_yaml, validate_config

    rng = np.random.default_rng(SEED + 5)
    lines = PARAMS.read_text().splitlines()
    key_lines = [i for i, line in enumerate(lines) if ":" in line and not line.lstrip().startswith(("#", "-"))]
    outcomes = {"ok": 0, "error": 0}
    for case in range(60):
        mutated = list(lines)
        kind = ["duplicate", "float", "quote", "delete", "bytes"][case % 5]
        i = int(rng.choice(key_lines))
        if kind == "duplicate":  # the same key twice in one mapping: always an error
            if lines[i].rstrip().endswith(":"):
                continue  # a mapping header: duplicating it alone would be a YAML structure change
            mutated.insert(i + 1, lines[i])
        elif kind == "float":
            mutated[i] = lines[i].replace(": ", ": 1.", 1) if "[" not in lines[i] else lines[i].replace("[", "[0.0, ", 1)
        elif kind == "quote":
            key, _, rest = lines[i].partition(":")
            mutated[i] = f"{key}: '{rest.split('#')[0].strip()}'"
        elif kind == "delete":
            del mutated[i]
        path = tmp_path / f"p{case}.yaml"
        if kind == "bytes":
            path.write_bytes(_mutate_bytes(rng, PARAMS.read_bytes())[1])
        else:
            path.write_text("\n".join(mutated) + "\n")
        try:
            validate_config(read_yaml(path), source=str(path))
            outcomes["ok"] += 1
            assert kind != "duplicate", f"duplicate key accepted: {lines[i]!r}"
        except ConfigError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc), exc
            outcomes["error"] += 1
    assert outcomes["error"] >= 20, outcomes
