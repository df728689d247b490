"""What every section of the registry shares: ``STAGES``, ``register``/``stage``, wildcard keys and argument helpers
(output helpers: ``pipeline/stages/outputs.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.registry import Each, In, Instance, P, Stage, W

STAGES: dict[str, Stage] = {}


def instances(config: Mapping[str, Any]) -> list[Instance]:
    """Every job of the pipeline for ``config``, in registry order."""
    return [inst for stage in STAGES.values() for inst in stage.instances(config)]


# Wildcard names shared by stages, and the config key listing each one's values.
SEEDS = "seeds"
METADATASETS = "data.metadatasets"
CONFIG_OK = "results/config/validated.json"  # every other stage depends on it (see check_config)


def register(stage: Stage) -> Stage:
    """Add a stage; every stage except ``check_config`` depends on the validated-config stamp."""
    if stage.name in STAGES:
        raise ValueError(f"stage {stage.name!r} registered twice")
    if stage.name != "check_config":
        stage = replace(stage, deps=(In(CONFIG_OK), *stage.deps))
    STAGES[stage.name] = stage
    return stage


def stage(name: str, module: str | None = None, **fields: Any) -> Stage:
    """Register ``Stage(name, module, **fields)``; its CLI is ``pipeline.<name>`` unless ``module`` says otherwise."""
    return register(Stage(name=name, module=module or f"pipeline.{name}", **fields))


def params(section: str, *keys: str, **renamed: str) -> list[tuple[str, P]]:
    """``(--flag, P(section.key))`` per key, the flag being the key (``.``/``_`` -> ``-``, ``{wildcard}`` parts
    dropped): ``params("dsp.stdp", "a_plus")`` gives ``--a-plus dsp.stdp.a_plus``; then one per
    ``flag_name="key"`` whose flag is not its key."""
    def flag(key: str) -> str:
        return "--" + "-".join(p for p in key.split(".") if not p.startswith("{")).replace("_", "-")

    pairs = [(flag(k), k) for k in keys] + [(flag(f), k) for f, k in renamed.items()]
    return [(f, P(f"{section}.{k}")) for f, k in pairs]


def seeded(**over: str) -> dict[str, str]:
    """A matrix (or ``Each`` fan-out) over config lists, then over the seeds."""
    return {**over, "seed": SEEDS}


def each_seed(template: str, **over: str) -> Each:
    """``template`` for every value of ``over``'s lists and every seed (an aggregator's inputs)."""
    return Each(template, over=seeded(**over))


META = ("--data", In("data/meta/{dataset}", directory=True))  # a job's meta-dataset
SEED = ("--seed", W("seed"))
EVAL_SEED = ("--eval-seed", P("eval_seed"))
DEVICE = ("--device", P("device"))
