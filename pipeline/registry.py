"""The stage model: what a stage is, and how one stage becomes commands, inputs and outputs.

``pipeline/stages.py`` declares every stage of the pipeline with these types; the Snakemake rules
(``pipeline/rules/stages.smk``) and ``dvc.yaml`` (``pipeline/export_dvc.py``) are both derived from
it, so the two engines run the same commands on the same files.

An argument value is one of

* ``str``  — a literal, may contain ``{wildcard}`` placeholders;
* ``W(name)`` — the value of a matrix wildcard;
* ``P(key)`` — a config value (dotted key, may contain ``{wildcard}``). Scalars are rendered as
  DVC templates (``${key}``) in ``dvc.yaml`` so ``dvc exp run -S key=value`` works; lists are
  rendered as space-separated values (a list change reshapes the command: re-export dvc.yaml);
* ``In(path)`` / ``Out(path)`` — a dependency / an output path;
* ``Each(template, over={wildcard: key})`` — a dependency expanded over config lists
  (aggregators: one table from all seeds).
"""

from __future__ import annotations

import glob
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from metasnn.errors import ConfigError
from pipeline.config import ROOT, get_key

__all__ = ["W", "P", "In", "Out", "Each", "Gather", "Resources", "Stage", "Instance", "render_value"]


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


ArgValue = str | int | float | W | P | In | Out | Each | Gather


@dataclass(frozen=True)
class Resources:
    """Scheduler hints: local runs use ``threads``; the SLURM profile maps the rest to sbatch.

    ``gpu`` marks the stages that can use one (``--device``); at a scale with measured requests
    (``config/resources/<scale>.yaml``, written by ``python -m pipeline.paper_projection``) those
    replace the registry's guesses: see :func:`scale_resources`.
    """

    threads: int = 1
    mem_mb: int = 2000
    runtime_min: int = 30
    gpu: int = 0


RESOURCES_DIR = ROOT / "config" / "resources"


def scale_resources(scale: str, directory: Path = RESOURCES_DIR) -> dict[str, Resources]:
    """The measured scheduler requests of ``scale`` by stage name (empty when the scale has none)."""
    path = directory / f"{scale}.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    out: dict[str, Resources] = {}
    for name, values in data.items():
        try:
            out[str(name)] = Resources(**values)
        except TypeError as exc:
            raise ConfigError(f"{path}: stage {name!r}: {exc} (keys: threads, mem_mb, runtime_min, gpu)") from exc
    return out


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


def _fmt(template: str, values: Mapping[str, str]) -> str:
    try:
        return template.format(**values)
    except KeyError as exc:  # a registry bug, not a user error
        raise KeyError(f"template {template!r} uses unknown placeholder {exc}") from exc


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a CLI module, its arguments, its matrix of wildcards, its code and resources."""

    name: str
    module: str
    args: Sequence[tuple[str, ArgValue]]
    matrix: Mapping[str, str | tuple[str, ...]] = field(default_factory=dict)
    derived: Mapping[str, Callable[[Mapping[str, str]], str]] = field(default_factory=dict)
    deps: Sequence[In | Each | Gather] = ()
    outs: Sequence[Out] = ()
    code: Sequence[str] = ()
    resources: Resources = Resources()
    description: str = ""

    # -- the matrix -------------------------------------------------------------------------
    def matrix_values(self, config: Mapping[str, Any]) -> dict[str, list[str]]:
        values: dict[str, list[str]] = {}
        for wildcard, source in self.matrix.items():
            items = list(source) if isinstance(source, tuple) else get_key(config, source)
            if not isinstance(items, list):
                raise ConfigError(f"params.yaml: key '{source}' must be a list (it defines the '{wildcard}' wildcard)")
            values[wildcard] = [render_value(v) for v in items]
        return values

    def instances(self, config: Mapping[str, Any]) -> Iterator[Instance]:
        values = self.matrix_values(config)
        names = list(values)
        for combo in itertools.product(*(values[n] for n in names)):
            yield Instance(self, dict(zip(names, combo, strict=True)))

    def params_used(self) -> list[str]:
        keys = [v.key for _, v in self.args if isinstance(v, P)]
        return list(dict.fromkeys(keys))

    # -- outputs with wildcards (Snakemake patterns) ----------------------------------------
    def output_patterns(self) -> list[Out]:
        return [v for _, v in self.args if isinstance(v, Out)] + list(self.outs)

    def code_files(self) -> list[str]:
        """Source files the stage depends on: its own module plus its declared library code."""
        paths = [self.module.replace(".", "/") + ".py", *self.code]
        files: list[str] = []
        for p in paths:
            full = ROOT / p
            if full.is_dir():
                files.extend(sorted(str(Path(f).relative_to(ROOT)) for f in glob.glob(str(full / "**" / "*.py"), recursive=True)))
            else:
                files.append(p)
        return list(dict.fromkeys(files))

    def resources_at(self, config: Mapping[str, Any]) -> Resources:
        """This stage's scheduler requests at the config's scale: measured where the scale has them."""
        return scale_resources(str(config.get("scale", "default"))).get(self.name, self.resources)

    def code_paths(self) -> list[str]:
        """Declared code dependencies as directories/files (DVC hashes directory contents)."""
        return list(dict.fromkeys([self.module.replace(".", "/") + ".py", *self.code]))


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
            key = _fmt(value.key, vals)
            got = get_key(config, key)
            if isinstance(got, list):
                if not got:
                    raise ConfigError(f"params.yaml: key '{key}' must not be an empty list")
                return [render_value(v) for v in got]
            if isinstance(got, Mapping):
                raise ConfigError(f"params.yaml: key '{key}' is a section; a single value is expected")
            return ["${" + key + "}"] if dvc else [render_value(got)]
        if isinstance(value, (In, Out)):
            return [_fmt(value.path, vals)]
        if isinstance(value, Each):
            return self._expand_each(value, config)
        if isinstance(value, Gather):
            return list(value.fn(config))
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return [str(value)]
        if isinstance(value, str):
            return [_fmt(value, vals)]
        raise TypeError(f"unsupported argument value {value!r} in stage {self.stage.name}")

    def _expand_each(self, each: Each, config: Mapping[str, Any]) -> list[str]:
        vals = self.values()
        lists = {}
        for wc, key in each.over.items():
            items = get_key(config, _fmt(key, vals))
            if not isinstance(items, list):
                raise ConfigError(f"params.yaml: key '{key}' must be a list")
            lists[wc] = [render_value(v) for v in items]
        names = list(lists)
        out = []
        for combo in itertools.product(*(lists[n] for n in names)):
            out.append(_fmt(each.template, {**vals, **dict(zip(names, combo, strict=True))}))
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
                    out.append(_fmt(value.path, vals))
            elif isinstance(value, Each):
                out.extend(self._expand_each(value, config))
            elif isinstance(value, Gather):
                out.extend(value.fn(config))
        for dep in self.stage.deps:
            if isinstance(dep, In):
                if engine in dep.engines:
                    out.append(_fmt(dep.path, vals))
            elif isinstance(dep, Gather):
                out.extend(dep.fn(config))
            else:
                out.extend(self._expand_each(dep, config))
        return list(dict.fromkeys(out))

    def outputs(self) -> list[Out]:
        vals = self.values()
        return [Out(_fmt(o.path, vals), o.directory, o.kind, o.cache) for o in self.stage.output_patterns()]

    def params(self, config: Mapping[str, Any]) -> list[str]:
        vals = self.values()
        return ["scale", *[_fmt(k, vals) for k in self.stage.params_used()]]
