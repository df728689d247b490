"""Config dataclasses as plain dicts: one ``to_dict`` / ``from_dict`` for every method's config.

A config is a frozen dataclass whose tuple-valued fields (channels, grids, masks) are written as
lists (JSON, ``model.pt``) and read back as tuples; a field missing from the dict takes its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from typing import Any, TypeVar

__all__ = ["DictConfig"]

C = TypeVar("C", bound="DictConfig")


class DictConfig:
    """Mixin for config dataclasses: :meth:`to_dict` (tuples as lists) and :meth:`from_dict` (back)."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)  # type: ignore[call-overload]
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls: type[C], d: Mapping[str, Any]) -> C:
        d = dict(d)
        for f in fields(cls):  # type: ignore[arg-type]
            if isinstance(f.default, tuple) and f.name in d:
                d[f.name] = tuple(d[f.name])
        return cls(**d)
