"""Defaults of the stage CLI flags, taken from ``params.yaml`` — each config value is written once.

The registry (``pipeline.stages``) binds a stage flag to a config key, ``("--ways", P("sn22.train.ways"))``,
and the pipeline always passes it. A flag so bound gets that key's default-scale value (``params.yaml``,
:func:`pipeline.config.load_config`) as its default, so a stage run by hand with few flags runs with what
the pipeline would pass; the CLI module declares the flag's type and help, not its value. The value is
rendered as on a command line (:func:`pipeline.registry.render_value`) and parsed by the flag's ``type``,
so a default is exactly what the pipeline would hand the flag. ``--help`` names the value and its key.

Left alone: a flag with a default of its own or ``required=True`` (the claim margins, ``--eval-seed`` of
some stages), a flag bound to a key with a ``{wildcard}`` (one value per dataset or method), and a flag
some stage of a shared CLI does not pass (``pipeline.metatrain --inner-threshold``: the stages that leave
it out run with the CLI's default).
"""

from __future__ import annotations

import argparse
import functools
from typing import Any

from metasnn.errors import ConfigError
from pipeline.config import PARAMS, get_key, load_config

__all__ = ["config_bindings", "set_config_defaults"]


def config_bindings(name: str) -> dict[str, str]:
    """``{flag: config key}`` of the flags of stage (or CLI module) ``name`` whose default is a config value.

    One CLI may serve several stages (``pipeline.metatrain``: ``sn22_metatrain``, ``sn22_frozen_metatrain``,
    ...): the key is the one the first of them binds the flag to, and only flags every one of them passes
    qualify, so no stage ever runs with a default it did not pass explicitly.
    """
    from pipeline.registry import P
    from pipeline.stages import STAGES

    module = STAGES[name].module if name in STAGES else f"pipeline.{name}"
    stages = [s for s in STAGES.values() if s.module == module]
    if not stages:
        return {}
    passed = set.intersection(*(set(dict(s.args)) for s in stages))
    return {flag: value.key for flag, value in stages[0].args
            if isinstance(value, P) and "{" not in value.key and flag in passed}


@functools.lru_cache(maxsize=2)
def _default_config(params_mtime_ns: int) -> dict[str, Any]:
    return load_config()


def default_config() -> dict[str, Any]:
    """The default-scale config (``params.yaml``), read again when the file changes."""
    return _default_config(PARAMS.stat().st_mtime_ns)


def _parse_default(action: argparse.Action, tokens: list[str]) -> Any:
    """``tokens`` as argparse would parse them for ``action`` on a command line (type, then nargs)."""
    convert = action.type if callable(action.type) else str
    values = [convert(t) for t in tokens]
    if action.nargs in (None, "?"):
        if len(values) != 1:
            raise ValueError(f"{action.option_strings[0]} takes one value, the config holds {tokens}")
        return values[0]
    return values


def set_config_defaults(parser: argparse.ArgumentParser, name: str) -> None:
    """Give every flag of ``parser`` bound to a config key (:func:`config_bindings`) that key's value as default."""
    from pipeline.registry import render_value

    bindings = config_bindings(name)
    actions = [(a, next(bindings[f] for f in a.option_strings if f in bindings)) for a in parser._actions
               if set(a.option_strings) & set(bindings) and a.default is None and not a.required]
    if not actions:
        return
    cfg = default_config()
    for action, key in actions:
        value = get_key(cfg, key)
        tokens = [render_value(v) for v in value] if isinstance(value, list) else [render_value(value)]
        try:
            action.default = _parse_default(action, tokens)
        except (TypeError, ValueError, argparse.ArgumentTypeError) as exc:
            raise ConfigError(f"{PARAMS.name}: key '{key}' holds {value!r}, which {action.option_strings[0]} cannot "
                              f"take ({exc}); write a value of the flag's type") from exc
        if action.help != argparse.SUPPRESS:
            shown = " ".join(tokens).replace("%", "%%")
            action.help = f"{action.help + ' ' if action.help else ''}(default: {shown}, params.yaml {key})"
