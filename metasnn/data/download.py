"""The ``download`` source: tonic's URLs and md5 sums, verified archives, safe extraction.

``download_raw("nmnist", root)`` fetches N-MNIST's ``train.zip`` / ``test.zip`` (ASL-DVS:
``ASLDVS.zip``, whose per-letter inner zips are extracted too) into ``<root>/downloads/``, checks
each archive's md5 against tonic's, checks *every* member path before extracting anything
(absolute paths, ``..`` components and links that would land outside the target are refused),
and extracts into ``<root>/<N-MNIST|ASL-DVS>/``. Without network it raises one
:class:`~metasnn.errors.NetworkUnavailableError` saying where to get the files and where to put
them. Archives already present with the right md5 are not downloaded again.

Every archive failure (truncated, bad CRC, not an archive, hostile member) is a
:class:`~metasnn.errors.DataError` naming the archive: extraction goes to a temporary directory
beside the target and is moved into place only when complete, so a failure leaves nothing there.
tonic's ASL-DVS archive no longer exists (its Dropbox file was deleted, tonic issue 284): every
ASL-DVS download failure says so and how to place a copy for ``data.source.asldvs: local``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
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

from metasnn.data.events import ASL_LETTERS
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
    if dataset not in RAW_SUBDIR:
        raise DataError(f"unknown raw dataset {dataset!r}: choose one of {', '.join(RAW_SUBDIR)}")
    return Path(root) / RAW_SUBDIR[dataset]


def md5sum(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def _member_problem(name: str, target: Path, is_dir: bool = False) -> str | None:
    if not name or "\x00" in name:
        return "empty name or NUL byte in the name"
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if ".." in posix.parts:
        return "'..' component"
    try:
        resolved = (target / posix).resolve()
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: symlink loop on older Pythons
        return f"unresolvable path ({exc})"
    if resolved == target and not is_dir:
        return "a file in place of the target directory"
    if resolved != target and target not in resolved.parents:
        return "resolves outside the target directory"
    return None


def _corrupt(archive: Path, what: str, exc: BaseException) -> DataError:
    detail = str(exc).splitlines()[0] if str(exc).strip() else ""
    return DataError(f"{archive}: {what} ({type(exc).__name__}{': ' + detail if detail else ''}); "
                     "the archive is truncated or corrupt — delete it and download again")


def _archive_kind(archive: Path) -> str:
    """``"zip"`` or ``"tar"``; a :class:`DataError` naming the archive for anything else."""
    if not archive.is_file():
        raise DataError(f"{archive}: archive not found (or not a file); download it again")
    try:
        if zipfile.is_zipfile(archive):
            return "zip"
        if tarfile.is_tarfile(archive):
            return "tar"
    except Exception as exc:  # noqa: BLE001 - the stdlib raises EOFError, zlib.error, lzma errors, ...
        raise _corrupt(archive, "corrupt archive", exc) from exc
    raise DataError(f"{archive}: not a zip or tar archive; delete it and download again")


def check_members(archive: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Member names of a zip/tar archive, after checking that none escapes ``target``.

    Tar archives are read to the end (a truncated ``.tar.gz`` fails here, before anything is
    extracted); zip archives are checked through their central directory.

    Raises
    ------
    DataError
        Naming the archive and the first offending member (or the corruption); nothing has been
        extracted.
    """
    archive = Path(archive)
    kind = _archive_kind(archive)
    try:
        target = Path(target).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise DataError(f"{archive}: cannot extract into {target!r} ({exc})") from exc
    try:
        if kind == "zip":
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                members = [(i.filename, i.is_dir()) for i in infos]
                links = [i.filename for i in infos if (i.external_attr >> 16) & 0o170000 in _ZIP_SPECIAL]
        else:
            with tarfile.open(archive) as tf:
                infos = tf.getmembers()
                while tf.fileobj.read(1 << 20):  # to the end, so gzip/bz2/xz check their CRC and length
                    pass
                members = [(m.name, m.isdir()) for m in infos]
                links = [m.name for m in infos if not (m.isfile() or m.isdir())]
    except Exception as exc:  # noqa: BLE001 - BadZipFile, TarError, EOFError, zlib.error, OSError, ...
        raise _corrupt(archive, "corrupt archive", exc) from exc
    if links:
        raise DataError(f"{archive}: member {links[0]!r} is a link, device or other special file; refusing to extract")
    for name, is_dir in members:
        problem = _member_problem(name, target, is_dir)
        if problem:
            raise DataError(f"{archive}: member {name!r} escapes {target} ({problem}); refusing to extract")
    return [name for name, _ in members]


# zip members whose Unix mode (external_attr >> 16) says symlink, socket, fifo or device
_ZIP_SPECIAL = {0o120000, 0o140000, 0o010000, 0o020000, 0o060000}


def _merge_conflicts(src: Path, dst: Path) -> str | None:
    """The first path where moving ``src``'s tree into ``dst`` would put a file on a directory or vice versa."""
    for entry in src.iterdir():
        there = dst / entry.name
        if not there.exists() and not there.is_symlink():
            continue
        if entry.is_dir() and there.is_dir() and not there.is_symlink():
            problem = _merge_conflicts(entry, there)
            if problem:
                return problem
        elif entry.is_dir() or there.is_dir() or there.is_symlink():
            return str(there)
    return None


def _merge_tree(src: Path, dst: Path) -> None:
    """Move ``src``'s entries into ``dst`` (renames on one file system; files replace files)."""
    for entry in src.iterdir():
        there = dst / entry.name
        if entry.is_dir() and there.is_dir():
            _merge_tree(entry, there)
        else:
            os.replace(entry, there)


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Check every member (:func:`check_members`), then extract into ``target``.

    Extraction goes to a temporary directory beside ``target``; only when every member has been
    extracted is it renamed to ``target`` (or, when ``target`` exists, its entries are moved into
    it). Any failure is a :class:`DataError` naming the archive and leaves ``target`` as it was
    (absent, or with its previous content).
    """
    archive = Path(archive)
    names = check_members(archive, target)
    kind = _archive_kind(archive)
    target = Path(target)
    created = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extract", dir=target.parent))
        try:
            if kind == "zip":
                with zipfile.ZipFile(archive) as zf:
                    zf.extractall(staging)
            else:
                with tarfile.open(archive) as tf:
                    tf.extractall(staging, filter="data")
        except Exception as exc:  # noqa: BLE001 - BadZipFile (bad CRC), EOFError, zlib.error, FilterError, OSError, ...
            raise _corrupt(archive, f"cannot be extracted into {target}", exc) from exc
        if not target.exists():
            os.replace(staging, target)
        else:
            if not target.is_dir():
                raise DataError(f"{archive}: cannot be extracted: {target} exists and is not a directory")
            conflict = _merge_conflicts(staging, target)
            if conflict:
                raise DataError(f"{archive}: cannot be extracted into {target}: {conflict} is a file in one and a "
                                "directory in the other; delete it and rerun")
            _merge_tree(staging, target)
    except BaseException:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for d in created:  # parent directories this call created, innermost first, if still empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    if staging is not None:
        shutil.rmtree(staging, ignore_errors=True)
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


# tonic's ASL-DVS URL points to a Dropbox file that was deleted (tonic issue 284); the other copy in
# circulation has a different layout, so no download can work: every failure says how to go local.
ASLDVS_HOST_GONE = (
    "the original host is gone: the Dropbox file ASLDVS.zip that tonic's ASL-DVS URL points to was deleted "
    "(tonic issue 284), and the other copy in circulation has a different layout"
)


def _asldvs_local_hint(root: Path) -> str:
    return (
        f"place a copy for data.source.asldvs: local — the recordings as <data.root>/ASL-DVS/<letter a-y without j>/*.mat, "
        f"here {raw_root('asldvs', root)}/<letter>/*.mat for the 24 letters {''.join(ASL_LETTERS)} (layout "
        f"{EXPECTED_LAYOUT['asldvs']}; keys ts, x, y, pol) — then set data.source.asldvs: local and data.root: {root}"
    )


def _no_network(dataset: str, archive: Archive, root: Path, reason: str) -> NetworkUnavailableError:
    downloads = root / "downloads"
    if dataset == "asldvs":
        hint = _asldvs_local_hint(root)
        return NetworkUnavailableError(
            f"cannot download {archive.filename} for asldvs from {archive.url} ({reason}): {ASLDVS_HOST_GONE}. "
            f"{hint[0].upper()}{hint[1:]}; or, if you have the original "
            f"{archive.filename} (md5 {archive.md5}), put it in {downloads}/ and rerun"
        )
    return NetworkUnavailableError(
        f"cannot download {archive.filename} for {dataset} from {archive.url} ({reason}). Get it yourself — "
        f"{WHERE_TO_GET[dataset]} — and either put the archive(s) ({', '.join(a.filename for a in archives(dataset))}) "
        f"in {downloads}/ and rerun (they are md5-checked and extracted), or extract them so that "
        f"{raw_root(dataset, root)} has the layout {EXPECTED_LAYOUT[dataset]} and set data.source.{dataset}: local"
    )


def download_raw(dataset: str, root: str | os.PathLike, progress: Callable | None = None) -> Path:
    """Download (if needed), verify and extract a raw dataset; return its directory.

    Every failure is a :class:`DataError` (:class:`NetworkUnavailableError` when the download
    itself fails) and leaves no partial ``<root>/<N-MNIST|ASL-DVS>``. For ASL-DVS the message says
    that the original host is gone and how to place a copy for ``data.source.asldvs: local``.
    """
    root = Path(root)
    try:
        return _download_raw(dataset, root, progress)
    except NetworkUnavailableError:
        raise
    except DataError as exc:
        if dataset == "asldvs":
            raise DataError(f"{exc} ({ASLDVS_HOST_GONE}; {_asldvs_local_hint(root)})") from exc
        raise
    except OSError as exc:  # the download folder cannot be created / written, disk full, ...
        where = exc.filename or root
        msg = f"{where}: cannot prepare the {dataset} download ({exc.strerror or exc}); check data.root and free space"
        if dataset == "asldvs":
            msg += f" ({ASLDVS_HOST_GONE}; {_asldvs_local_hint(root)})"
        raise DataError(msg) from exc


def _download_raw(dataset: str, root: Path, progress: Callable | None) -> Path:
    target = raw_root(dataset, root)
    all_archives = archives(dataset)
    downloads = root / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=root))
    try:
        for archive in all_archives:
            path = downloads / archive.filename
            if not (path.is_file() and md5sum(path) == archive.md5):
                try:
                    _download(archive.url, path, progress)
                except (urllib.error.URLError, TimeoutError, ConnectionError, OSError, http.client.HTTPException,
                        ValueError) as exc:
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
