"""Plasticity rules on top of the shared neuron: hybrid plasticity (wu22) and its training loop."""

from metasnn.plasticity.hp import (
    META_PARAMETERS,
    POST_FORMS,
    RESET_POLICIES,
    HPConfig,
    HPLinear,
    HPNetwork,
    HPRun,
    hebbian_update,
    plastic_current,
    prepare_inputs,
    wu22_node,
)

__all__ = [
    "META_PARAMETERS",
    "POST_FORMS",
    "RESET_POLICIES",
    "HPConfig",
    "HPLinear",
    "HPNetwork",
    "HPRun",
    "hebbian_update",
    "plastic_current",
    "prepare_inputs",
    "wu22_node",
]
