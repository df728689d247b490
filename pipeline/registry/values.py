"""The values a stage's arguments are made of (see ``pipeline.registry``), and how config values are rendered."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from metasnn.errors import ConfigError


@dataclass(frozen=True)
class W:
    """The value of a matrix wildcard."""

    name: str


@dataclass(frozen=True)
class P:
    """A config value by dotted key (``{wildcard}`` placeholders allowed in the key)."""

    key: str


@dataclass(frozen=True)
class In:
    """A dependency path (file or directory). ``engines`` limits it to Snakemake and/or DVC.

    Snakemake reruns on modification times, DVC on content hashes; a dependency such as
    ``params.yaml`` must be a DVC dependency of ``check_config`` only, or every edit would cascade
    through Snakemake's mtime trigger.
    """

    path: str
    directory: bool = False
    engines: tuple[str, ...] = ("snakemake", "dvc")


@dataclass(frozen=True)
class Out:
    """An output path. ``kind``: ``out`` | ``metrics`` (flat JSON) | ``plots`` (CSV curves)."""

    path: str
    directory: bool = False
    kind: str = "out"
    cache: bool = True


@dataclass(frozen=True)
class Each:
    """Dependencies expanded over config lists: ``Each("runs/{method}/seed{seed}/m.json", over={"seed": "seeds"})``."""

    template: str
    over: Mapping[str, str]


@dataclass(frozen=True)
class Gather:
    """Dependencies computed from the whole registry and config (the report stage's inputs)."""

    fn: Callable[[Mapping[str, Any]], list[str]]
    label: str = "gathered"


@dataclass(frozen=True)
class JobDeps:
    """Dependencies computed from one job's wildcard values (and derived values)."""

    fn: Callable[[Mapping[str, str]], list[str]]


@dataclass(frozen=True)
class Jobs:
    """A matrix given by its jobs: ``fn(config)`` lists one ``{wildcard: value}`` per job."""

    wildcards: tuple[str, ...]
    fn: Callable[[Mapping[str, Any]], list[dict[str, str]]]


ArgValue = str | int | float | W | P | In | Out | Each | Gather | JobDeps


def render_value(value: Any) -> str:
    """Render a config value exactly as DVC's templating does (bools lower-case, floats via ``str``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        text = str(value)
        if not text or any(c.isspace() for c in text) or any(c in text for c in "'\"$`;&|<>"):
            raise ConfigError(f"config value {value!r} cannot be used on a command line (spaces or shell characters)")
        return text
    raise ConfigError(f"config value {value!r} of type {type(value).__name__} cannot be rendered on a command line")


def fmt(template: str, values: Mapping[str, str]) -> str:
    try:
        return template.format(**values)
    except KeyError as exc:  # a registry bug, not a user error
        raise KeyError(f"template {template!r} uses unknown placeholder {exc}") from exc
