"""A stage: a CLI module, its arguments, its matrix of wildcards (its jobs), its code and resources."""

from __future__ import annotations

import ast
import glob
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metasnn.errors import ConfigError
from pipeline.config import ROOT, get_key
from pipeline.registry.instance import Instance
from pipeline.registry.resources import Resources, scale_resources
from pipeline.registry.values import ArgValue, Each, Gather, In, JobDeps, Jobs, Out, P, render_value


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a CLI module, its arguments, its matrix of wildcards, its code and resources."""

    name: str
    module: str
    args: Sequence[tuple[str, ArgValue]]
    matrix: Mapping[str, str | tuple[str, ...]] | Jobs = field(default_factory=dict)
    derived: Mapping[str, Callable[[Mapping[str, str]], str]] = field(default_factory=dict)
    deps: Sequence[In | Each | Gather | JobDeps] = ()
    outs: Sequence[Out] = ()
    code: Sequence[str] = ()
    resources: Resources = Resources()
    description: str = ""
    #: few-shot methods whose trained model (``model.pt``, :mod:`metasnn.model_file`) this stage's jobs write:
    #: a job with a ``method`` wildcard writes that method's model when it is listed, any other job the one listed
    trains: tuple[str, ...] = ()

    # -- the matrix -------------------------------------------------------------------------
    @property
    def wildcards(self) -> tuple[str, ...]:
        return tuple(self.matrix.wildcards if isinstance(self.matrix, Jobs) else self.matrix)

    def matrix_values(self, config: Mapping[str, Any]) -> dict[str, list[str]]:
        """Each wildcard's values (for a ``Jobs`` matrix: the values its jobs take, in order)."""
        if isinstance(self.matrix, Jobs):
            jobs = [inst.wildcards for inst in self.instances(config)]
            return {wc: list(dict.fromkeys(job[wc] for job in jobs)) for wc in self.matrix.wildcards}
        values: dict[str, list[str]] = {}
        for wildcard, source in self.matrix.items():
            items = list(source) if isinstance(source, tuple) else get_key(config, source)
            if not isinstance(items, list):
                raise ConfigError(f"params.yaml: key '{source}' must be a list (it defines the '{wildcard}' wildcard)")
            values[wildcard] = [render_value(v) for v in items]
        return values

    def instances(self, config: Mapping[str, Any]) -> Iterator[Instance]:
        if isinstance(self.matrix, Jobs):
            for job in self.matrix.fn(config):
                yield Instance(self, {wc: render_value(job[wc]) for wc in self.matrix.wildcards})
            return
        values = self.matrix_values(config)
        names = list(values)
        for combo in itertools.product(*(values[n] for n in names)):
            yield Instance(self, dict(zip(names, combo, strict=True)))

    def trained_models(self, config: Mapping[str, Any]) -> Iterator[tuple[str, Instance]]:
        """``(method, job)`` for every job of this stage that writes a few-shot model (see ``trains``)."""
        if not self.trains:
            return
        for inst in self.instances(config):
            method = inst.wildcards.get("method", self.trains[0] if len(self.trains) == 1 else None)
            if method in self.trains:
                yield method, inst

    def params_used(self) -> list[str]:
        keys = [v.key for _, v in self.args if isinstance(v, P)]
        return list(dict.fromkeys(keys))

    # -- outputs with wildcards (Snakemake patterns) ----------------------------------------
    def output_patterns(self) -> list[Out]:
        return [v for _, v in self.args if isinstance(v, Out)] + list(self.outs)

    def code_files(self) -> list[str]:
        """Source files the stage depends on: its own module, the pipeline modules it computes with, and its
        declared library code."""
        paths = self.code_paths()
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
        """Code dependencies as directories/files (DVC hashes directory contents): the CLI module, the pipeline
        modules it imports (:func:`pipeline_imports`), then the declared library code."""
        return list(dict.fromkeys([*pipeline_imports(self.module), *self.code]))


#: pipeline modules that parse arguments, read the config or run the job, but compute no output value:
#: a change to them reruns nothing (a stage's outputs depend on its own module and the library).
INFRASTRUCTURE = frozenset({"pipeline.cli", "pipeline.cli_flags", "pipeline.cli_defaults", "pipeline.cli_context",
                            "pipeline.config", "pipeline.config_yaml", "pipeline.config_schema", "pipeline.config_infer",
                            "pipeline.registry", "pipeline.stages"})


def pipeline_imports(module: str) -> list[str]:
    """``module``'s file and, transitively, the files of the ``pipeline`` modules it imports (a CLI reusing
    another CLI's helpers, ``pipeline.cli_runs``), infrastructure excepted; read from the source, nothing imported."""
    found: list[str] = []
    todo = [module]
    while todo:
        name = todo.pop(0)
        path = f"{name.replace('.', '/')}.py"
        if path in found or not (ROOT / path).is_file():
            continue
        found.append(path)
        tree = ast.parse((ROOT / path).read_text(), filename=path)
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
                     if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else [])
            todo += [n for n in names if n.startswith("pipeline.")
                     and not any(n == i or n.startswith(f"{i}.") for i in INFRASTRUCTURE)]
    return found
