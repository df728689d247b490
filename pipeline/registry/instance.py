"""A job: a stage with its wildcards bound, rendered as a command, dependencies, outputs and params."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from metasnn.errors import ConfigError
from pipeline.config import get_key
from pipeline.registry.values import ArgValue, Each, Gather, In, JobDeps, Out, P, W, fmt, render_value

if TYPE_CHECKING:
    from pipeline.registry.stage import Stage


@dataclass(frozen=True)
class Instance:
    """A stage with its wildcards bound: one job / one DVC stage."""

    stage: Stage
    wildcards: Mapping[str, str]

    @property
    def dvc_name(self) -> str:
        return "-".join([self.stage.name, *self.wildcards.values()])

    def values(self) -> dict[str, str]:
        vals = dict(self.wildcards)
        for key, fn in self.stage.derived.items():
            vals[key] = fn(vals)
        return vals

    def _arg(self, value: ArgValue, config: Mapping[str, Any], dvc: bool) -> list[str]:
        vals = self.values()
        if isinstance(value, W):
            return [vals[value.name]]
        if isinstance(value, P):
            key = fmt(value.key, vals)
            got = get_key(config, key)
            if isinstance(got, list):
                if not got:
                    raise ConfigError(f"params.yaml: key '{key}' must not be an empty list")
                return [render_value(v) for v in got]
            if isinstance(got, Mapping):
                raise ConfigError(f"params.yaml: key '{key}' is a section; a single value is expected")
            return ["${" + key + "}"] if dvc else [render_value(got)]
        if isinstance(value, (In, Out)):
            return [fmt(value.path, vals)]
        if isinstance(value, Each):
            return self._expand_each(value, config)
        if isinstance(value, Gather):
            return list(value.fn(config))
        if isinstance(value, JobDeps):
            return list(value.fn(vals))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, str):
            return [fmt(value, vals)]
        raise TypeError(f"unsupported argument value {value!r} in stage {self.stage.name}")

    def _expand_each(self, each: Each, config: Mapping[str, Any]) -> list[str]:
        vals = self.values()
        lists = {}
        for wc, key in each.over.items():
            items = get_key(config, fmt(key, vals))
            if not isinstance(items, list):
                raise ConfigError(f"params.yaml: key '{key}' must be a list")
            lists[wc] = [render_value(v) for v in items]
        names = list(lists)
        out = []
        for combo in itertools.product(*(lists[n] for n in names)):
            out.append(fmt(each.template, {**vals, **dict(zip(names, combo, strict=True))}))
        return out

    def command(self, config: Mapping[str, Any], dvc: bool = False, scale: str | None = None) -> str:
        """The shell command. ``dvc=True`` renders scalar config values as ``${key}`` templates."""
        parts = ["python", "-m", self.stage.module]
        for flag, value in self.stage.args:
            parts.append(flag)
            parts.extend(self._arg(value, config, dvc))
        parts += ["--scale", "${scale}" if dvc else render_value(get_key(config, "scale"))]
        parts += ["--log", self.log_path()]
        return " ".join(parts)

    def log_path(self) -> str:
        tag = "-".join(self.wildcards.values()) or "run"
        return f"logs/{self.stage.name}/{tag}.log"

    def deps(self, config: Mapping[str, Any], engine: str = "snakemake") -> list[str]:
        """Dependency paths for ``engine`` (``snakemake`` or ``dvc``)."""
        vals = self.values()
        out: list[str] = []
        for _, value in self.stage.args:
            if isinstance(value, In):
                if engine in value.engines:
                    out.append(fmt(value.path, vals))
            elif isinstance(value, Each):
                out.extend(self._expand_each(value, config))
            elif isinstance(value, Gather):
                out.extend(value.fn(config))
            elif isinstance(value, JobDeps):
                out.extend(value.fn(vals))
        for dep in self.stage.deps:
            if isinstance(dep, In):
                if engine in dep.engines:
                    out.append(fmt(dep.path, vals))
            elif isinstance(dep, Gather):
                out.extend(dep.fn(config))
            elif isinstance(dep, JobDeps):
                out.extend(dep.fn(vals))
            else:
                out.extend(self._expand_each(dep, config))
        return list(dict.fromkeys(out))

    def outputs(self) -> list[Out]:
        vals = self.values()
        return [Out(fmt(o.path, vals), o.directory, o.kind, o.cache) for o in self.stage.output_patterns()]

    def params(self, config: Mapping[str, Any]) -> list[str]:
        vals = self.values()
        return ["scale", *[fmt(k, vals) for k in self.stage.params_used()]]
