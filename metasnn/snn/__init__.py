"""Spiking building blocks shared by every method: one neuron step, one trace, one surrogate, models by name."""

from metasnn.snn.init import INIT_SCHEMES, default_init, initialise, lsuv_init
from metasnn.snn.models import (
    SN22_NEURON,
    SN22ConvCNN,
    SN22ConvSNN,
    conv_output_hw,
    layer_parameter_groups,
    pool_input,
    resolve_burn_in,
)
from metasnn.snn.neuron import DecolleLIFNode, DecolleParams, DecolleState, decolle_step
from metasnn.snn.registry import build_model, model_names, register_model
from metasnn.snn.surrogate import FastSigmoid, fast_sigmoid_grad, fast_sigmoid_spike, softsign
from metasnn.snn.traces import exponential_trace, trace_step

__all__ = [
    "DecolleLIFNode",
    "DecolleParams",
    "DecolleState",
    "decolle_step",
    "exponential_trace",
    "trace_step",
    "FastSigmoid",
    "fast_sigmoid_spike",
    "fast_sigmoid_grad",
    "softsign",
    "SN22ConvSNN",
    "SN22ConvCNN",
    "SN22_NEURON",
    "conv_output_hw",
    "resolve_burn_in",
    "layer_parameter_groups",
    "pool_input",
    "build_model",
    "register_model",
    "model_names",
    "initialise",
    "lsuv_init",
    "default_init",
    "INIT_SCHEMES",
]
