"""Atomic file outputs and safe loading.

Outputs are written to a temporary sibling, flushed and fsynced, then renamed into place, so a
killed job never leaves a file that looks complete. Tensors are loaded with
``torch.load(weights_only=True)``: no code from a file a user may have been handed is executed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metasnn.errors import CheckpointError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_directory",
    "save_tensors",
    "load_tensors",
    "canonical_json",
    "remove_stale_temporaries",
    "read_document",
]


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _temporary_pattern(path: Path, suffixes: tuple[str, ...]) -> re.Pattern[str]:
    """Names ``tempfile.mkstemp/mkdtemp(prefix=f".{name}.", suffix=...)`` gives for ``path`` in this module."""
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]+(?:{'|'.join(map(re.escape, suffixes))})")


def remove_stale_temporaries(path: str | os.PathLike, directories: bool = False) -> list[Path]:
    """Remove what interrupted atomic writes of ``path`` left beside it; return the removed paths.

    A killed :func:`atomic_write_bytes` leaves ``.<name>.<random>.tmp``; a killed
    :func:`atomic_directory` (``directories=True``) leaves ``.<name>.<random>.tmp`` /
    ``.<name>.<random>.old`` directories. Only entries of exactly those names are removed (regular
    files, or real directories when ``directories``), never ``path`` itself or anything else.
    Callers must be the only writer of ``path`` (true of a stage's outputs and its checkpoints).
    """
    path = Path(path)
    pattern = _temporary_pattern(path, (".tmp", ".old") if directories else (".tmp",))
    removed = []
    try:
        entries = list(path.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name) or entry.is_symlink():
            continue
        if entry.is_file() and not directories:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()
            removed.append(entry)
        elif entry.is_dir() and directories:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (tmp file in the same directory, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; outputs get the usual permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and a trailing newline: the same object always gives the same bytes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n"


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as canonical JSON atomically."""
    return atomic_write_text(path, canonical_json(obj))


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a directory output in a temporary sibling and move it into place on success.

    On any exception the temporary directory is removed and an existing ``path`` is left as it
    was. On success an existing ``path`` is replaced. Temporary directories that a killed earlier
    build of ``path`` left beside it are removed first (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path, directories=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        _fsync_dir(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / "x")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_tensors(obj: Any, path: str | os.PathLike) -> Path:
    """Save a state dict / nested dict of tensors and plain values atomically with ``torch.save``."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    return atomic_write_bytes(path, buf.getvalue())


def load_tensors(path: str | os.PathLike, map_location: str = "cpu") -> Any:
    """Load a file written by :func:`save_tensors` without executing code (``weights_only=True``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file not found; rerun the stage that produces it")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"{path}: cannot be loaded safely ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
            "delete it and rerun the stage that produces it"
        ) from exc


def read_document(path: str | os.PathLike, what: str, missing: str) -> Any:
    """A JSON (``.json``) or YAML file's content; :class:`ConfigError` names the file and ``what`` it is, and
    ``missing`` is the fix shown when it does not exist (e.g. "run the stage that writes it")."""
    from metasnn.errors import ConfigError

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} file not found; {missing}")
    text = path.read_text()
    if path.suffix == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({getattr(exc, 'problem', exc)})") from exc
