"""The report (foundation): gathers every table, claims file and provenance record that the stages
registered before it declare as outputs; it must stay the last registration.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.registry import Gather, Out, Resources
from pipeline.stages.common import instances, stage
from pipeline.stages.outputs import tables_matching

EMULATED_CLAIMS = "paper/emulated_claims.json"  # claims of an emulated-N-MNIST run (python -m pipeline.snapshot_claims)


def _provenance_sources(config: Mapping[str, Any]) -> list[str]:
    """Directory outputs (each holds a provenance.json) and explicit provenance files."""
    return [out.path for inst in instances(config) if inst.stage.name != "report" for out in inst.outputs()
            if out.directory or out.path.endswith("provenance.json")]


def _reference_claims(config: Mapping[str, Any]) -> list[str]:
    """The emulated-N-MNIST claims snapshot, a dependency once it exists (the front page says when it does not)."""
    from pipeline.config import ROOT

    return [EMULATED_CLAIMS] if (ROOT / EMULATED_CLAIMS).is_file() else []


stage(
    "report",
    description="claims.md/csv and the results/README.md front page from every table the run produced",
    args=[
        ("--tables", tables_matching(".csv", "tables")),
        ("--claims", tables_matching(".claims.json", "claims")),
        ("--provenance", Gather(_provenance_sources, "provenance")),
        ("--reference-claims", EMULATED_CLAIMS),
        ("--readme", Out("results/README.md")),
        ("--claims-md", Out("results/claims.md")),
        ("--claims-csv", Out("results/claims.csv")),
    ],
    deps=(Gather(_reference_claims, "reference_claims"),),
    code=("metasnn/reporting", "metasnn/evaluation/statistics.py", "paper/targets.yaml", "paper/deviations.yaml"),
    resources=Resources(threads=1, mem_mb=1000, runtime_min=5),
)
