"""The ``download`` source: tonic's URLs and md5 sums, verified archives, safe extraction.

``download_raw("nmnist", root)`` fetches N-MNIST's ``train.zip`` / ``test.zip`` (ASL-DVS:
``ASLDVS.zip``, whose per-letter inner zips are extracted too) into ``<root>/downloads/``, checks
each archive's md5 against tonic's, checks *every* member path before extracting anything
(absolute paths, ``..`` components and links that would land outside the target are refused),
and extracts into ``<root>/<N-MNIST|ASL-DVS>/``. Without network it raises one
:class:`~metasnn.errors.NetworkUnavailableError` saying where to get the files and where to put
them. Archives already present with the right md5 are not downloaded again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from metasnn.data.layout import EXPECTED_LAYOUT, WHERE_TO_GET
from metasnn.errors import DataError, NetworkUnavailableError

__all__ = ["RAW_SUBDIR", "Archive", "archives", "md5sum", "check_members", "safe_extract", "download_raw", "raw_root"]

RAW_SUBDIR = {"nmnist": "N-MNIST", "asldvs": "ASL-DVS"}
_open_url = urllib.request.urlopen  # the one network entry point (tests monkeypatch it)


@dataclass(frozen=True)
class Archive:
    url: str
    filename: str
    md5: str


def archives(dataset: str) -> list[Archive]:
    """tonic 1.7.0's download URLs and md5 sums (read from tonic's dataset classes)."""
    from tonic.datasets import ASLDVS, NMNIST

    if dataset == "nmnist":
        return [Archive(NMNIST.train_url, NMNIST.train_filename, NMNIST.train_md5),
                Archive(NMNIST.test_url, NMNIST.test_filename, NMNIST.test_md5)]
    if dataset == "asldvs":
        return [Archive(ASLDVS.url, ASLDVS.filename, ASLDVS.file_md5)]
    raise DataError(f"unknown raw dataset {dataset!r}: choose one of {', '.join(RAW_SUBDIR)}")


def raw_root(dataset: str, root: str | os.PathLike) -> Path:
    """Where a raw dataset lives under ``data.root``: ``<root>/N-MNIST`` or ``<root>/ASL-DVS``."""
    return Path(root) / RAW_SUBDIR[dataset]


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _member_problem(name: str, target: Path) -> str | None:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in posix.parts:
        return "'..' component"
    resolved = (target / posix).resolve()
    if resolved != target and target not in resolved.parents:
        return "resolves outside the target directory"
    return None


def check_members(archive: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Member names of a zip/tar archive, after checking that none escapes ``target``.

    Raises
    ------
    DataError
        Naming the archive and the first offending member; nothing has been extracted.
    """
    archive, target = Path(archive), Path(target).resolve()
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                names = [i.filename for i in infos]
                links = [i.filename for i in infos if (i.external_attr >> 16) & 0o170000 == 0o120000]
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                names = [m.name for m in members]
                links = [m.name for m in members if m.issym() or m.islnk() or m.isdev()]
        else:
            raise DataError(f"{archive}: not a zip or tar archive; delete it and download again")
    except (zipfile.BadZipFile, tarfile.TarError, OSError) as exc:
        raise DataError(f"{archive}: corrupt archive ({exc}); delete it and download again") from exc
    if links:
        raise DataError(f"{archive}: member {links[0]!r} is a link or device; refusing to extract")
    for name in names:
        problem = _member_problem(name, target)
        if problem:
            raise DataError(f"{archive}: member {name!r} escapes {target} ({problem}); refusing to extract")
    return names


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Check every member (:func:`check_members`), then extract into ``target``."""
    names = check_members(archive, target)
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(target)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(target, filter="data")
    return names


def _download(url: str, dest: Path, progress: Callable | None = None) -> None:
    if os.environ.get("METASNN_OFFLINE") == "1":  # offline compute nodes, and tests: never touch the network
        raise urllib.error.URLError("offline: METASNN_OFFLINE=1 is set")
    tmp = dest.with_name(dest.name + ".part")
    request = urllib.request.Request(url, headers={"User-Agent": "metasnn"})
    try:
        with _open_url(request, timeout=60) as response, open(tmp, "wb") as fh:
            shutil.copyfileobj(response, fh, 1 << 20)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)  # an interrupted download leaves no partial file


def _no_network(dataset: str, archive: Archive, root: Path, reason: str) -> NetworkUnavailableError:
    downloads = root / "downloads"
    return NetworkUnavailableError(
        f"cannot download {archive.filename} for {dataset} from {archive.url} ({reason}). Get it yourself — "
        f"{WHERE_TO_GET[dataset]} — and either put the archive(s) ({', '.join(a.filename for a in archives(dataset))}) "
        f"in {downloads}/ and rerun (they are md5-checked and extracted), or extract them so that "
        f"{raw_root(dataset, root)} has the layout {EXPECTED_LAYOUT[dataset]} and set data.source: local"
    )


def download_raw(dataset: str, root: str | os.PathLike, progress: Callable | None = None) -> Path:
    """Download (if needed), verify and extract a raw dataset; return its directory."""
    root = Path(root)
    target = raw_root(dataset, root)
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
    try:
        for archive in archives(dataset):
            path = downloads / archive.filename
            if not (path.is_file() and md5sum(path) == archive.md5):
                try:
                    _download(archive.url, path, progress)
                except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                    reason = getattr(exc, "reason", None) or exc
                    raise _no_network(dataset, archive, root, str(reason)) from exc
                digest = md5sum(path)
                if digest != archive.md5:
                    path.unlink()
                    raise DataError(
                        f"{path}: md5 {digest} != {archive.md5} (tonic's checksum); the download is corrupt or the "
                        "file changed upstream — deleted, rerun to download again"
                    )
            safe_extract(path, staging)
        if dataset == "asldvs":  # ASLDVS.zip holds one zip per letter (tonic extracts them the same way)
            for inner in sorted(staging.rglob("*.zip")):
                safe_extract(inner, inner.parent)
                inner.unlink()
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
