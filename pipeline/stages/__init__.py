"""The one stage registry: every stage of the pipeline, declared once, one module per section.

The Snakemake rules (``pipeline/rules/stages.smk``) and ``dvc.yaml`` (``python -m
pipeline.export_dvc``) are both derived from ``STAGES``. To add a stage: write its CLI module
``pipeline/<name>.py`` (see ``pipeline/cli.py``), add a ``register(Stage(...))`` entry to its section
module (helpers: ``pipeline/stages/common.py``), put its parameters in ``params.yaml`` +
``pipeline/schemas/config.schema.yaml`` (and the scale deltas), then run ``python -m pipeline.export_dvc``.
Types: ``pipeline/registry/``.
"""

from __future__ import annotations

import importlib

from pipeline.stages.common import CONFIG_OK, METADATASETS, SEEDS, STAGES, instances, register

#: The sections, imported in registry order: the order of ``STAGES``, of the rules and of ``dvc.yaml``
#: (a section imports only sections before it). The report gathers every other output: it stays last.
SECTIONS = ("data", "sn22", "sn22_figures", "wu22", "dsp", "plasticity", "cross_dataset", "hardware", "report")
for _section in SECTIONS:
    importlib.import_module(f"{__name__}.{_section}")

__all__ = ["STAGES", "SECTIONS", "instances", "register", "SEEDS", "METADATASETS", "CONFIG_OK"]
