"""Strict YAML reading for config files: a key written twice in one mapping is an error naming both lines,
and every failure is one line naming the file (missing, unreadable, not UTF-8, invalid YAML, not a mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import ConfigError

__all__ = ["read_yaml"]


class _DuplicateKey(Exception):
    def __init__(self, key_node: yaml.Node, first_line: int, path: list[Any]):
        super().__init__(key_node.value)
        self.key_node, self.first_line, self.path = key_node, first_line, path


class _StrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when available
    """PyYAML's safe loader, except that a key repeated in one mapping is an error (not "last wins")."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._root = node
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # '<<' merge keys may be overridden
                    continue
                try:
                    key = self.construct_object(key_node, deep=True)
                    hash(key)
                except (yaml.YAMLError, TypeError):
                    continue  # unhashable keys: PyYAML reports them itself below
                if key in seen:
                    raise _DuplicateKey(key_node, seen[key], _node_path(getattr(self, "_root", None), node) or [])
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _node_path(root: yaml.Node | None, target: yaml.Node, path: list[Any] | None = None) -> list[Any] | None:
    """Keys/indices leading from ``root`` to ``target`` in a composed YAML tree (None if not found)."""
    path = [] if path is None else path
    if root is target:
        return path
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            found = _node_path(value_node, target, [*path, getattr(key_node, "value", "?")])
            if found is not None:
                return found
    elif isinstance(root, yaml.SequenceNode):
        for i, item in enumerate(root.value):
            found = _node_path(item, target, [*path, i])
            if found is not None:
                return found
    return None


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with a one-line error naming the file when it is missing or invalid.

    A key written twice in one mapping is an error (YAML parsers would silently keep the last).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a UTF-8 text file (byte {exc.start}); a config file is YAML text") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except _DuplicateKey as dup:
        dotted = ".".join(str(p) for p in [*dup.path, dup.key_node.value])
        raise ConfigError(
            f"{path} line {dup.key_node.start_mark.line + 1}: duplicate key '{dotted}' (first set on line "
            f"{dup.first_line}); YAML would silently keep only the last value — delete one of the two lines"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{path}{where}: not valid YAML ({problem})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{path}: nested too deeply to be a config file") from exc
    except (ValueError, OverflowError, TypeError) as exc:  # e.g. an integer of more than 4300 digits
        raise ConfigError(f"{path}: not a usable YAML value ({' '.join(str(exc).split())[:200]})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level")
    return data
