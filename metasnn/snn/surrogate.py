"""The project's one surrogate spike function: the fast sigmoid of DECOLLE / sn22.

Forward is the Heaviside step ``H(x) = 1[x > 0]`` (DECOLLE's ``input_ > 0``); backward uses

    dH/dx ≈ 1 / (slope·|x| + 1)²          (slope = 10 in sn22)

The backward pass is written with differentiable torch operations on the saved input, so the
surrogate is *twice* differentiable: second-order MAML differentiates through it
(``torch.autograd.grad(..., create_graph=True)``), and its second derivative is
``-2·slope·sign(x) / (slope·|x| + 1)³``.

With ``spiking=False`` the same autograd function returns the primitive of the surrogate,
``x / (slope·|x| + 1)``, whose true derivative *is* the surrogate. The backward code is identical
in both modes, so finite-difference tests of first- and second-order gradients run in the smooth
mode exercise exactly the backward used in spiking mode.
"""

from __future__ import annotations

import torch
from spikingjelly.activation_based import surrogate as sj_surrogate

__all__ = ["SurrogateSpike", "fast_sigmoid_spike", "FastSigmoid", "fast_sigmoid_grad", "softsign", "box_spike", "Box", "box_grad"]


def fast_sigmoid_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    """The surrogate derivative ``1 / (slope·|x| + 1)²`` (differentiable in ``x``)."""
    return (slope * x.abs() + 1.0).pow(-2)


def _fast_sigmoid_primitive(x: torch.Tensor, slope: float) -> torch.Tensor:
    return x / (slope * x.abs() + 1.0)


class _SurrogateSpike(torch.autograd.Function):
    """``H(x)`` (or a smooth primitive) forward, a surrogate derivative backward — every surrogate's one
    autograd function. The backward multiplies by ``derivative(x, param)`` built from differentiable
    torch ops on the saved input, so under ``create_graph=True`` autograd records it: twice
    differentiable. (Written with ``forward(ctx, ...)``: a ``setup_context`` Function pays an
    ``inspect.signature`` call on every ``apply``, ~10 µs, on the hot path of every time step.)"""

    @staticmethod
    def forward(ctx, x, param, spiking, derivative, primitive):
        ctx.save_for_backward(x)
        ctx.param, ctx.derivative = param, derivative
        if spiking:
            # sign(x) clamped at 0 is exactly 1[x > 0] (and keeps NaN, so divergence is visible);
            # one fused pass, cheaper than (x > 0).to(dtype).
            return torch.sign(x).clamp_(min=0.0)
        return primitive(x, param)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * ctx.derivative(x, ctx.param), None, None, None, None


class SurrogateSpike:
    """A surrogate spike function: ``apply(x, param, spiking)`` with its derivative and primitive."""

    def __init__(self, name: str, derivative, primitive):
        self.__name__, self.derivative, self.primitive = name, derivative, primitive

    def apply(self, x: torch.Tensor, param: float, spiking: bool) -> torch.Tensor:
        return _SurrogateSpike.apply(x, param, spiking, self.derivative, self.primitive)

    def __repr__(self) -> str:
        return f"SurrogateSpike({self.__name__})"


#: fast sigmoid (DECOLLE / sn22): ``H(x)`` or ``x/(slope·|x|+1)`` forward, ``1/(slope·|x|+1)²`` backward.
fast_sigmoid_spike = SurrogateSpike("fast_sigmoid_spike", fast_sigmoid_grad, _fast_sigmoid_primitive)


class _SurrogateModule(sj_surrogate.SurrogateFunctionBase):
    """spikingjelly surrogate module of a :class:`SurrogateSpike` (the class attribute ``spike_function``) with one
    parameter. ``spiking=True``: Heaviside forward; ``False``: the smooth primitive, with the same backward."""

    spike_function: SurrogateSpike

    def __init__(self, spiking: bool = True, **param: float):
        (name, value), = param.items()
        super().__init__(spiking=spiking, **{name: float(value)})
        self._param_name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spike_function.apply(x, getattr(self, self._param_name), self.spiking)

    @classmethod
    def spiking_function(cls, x: torch.Tensor, param: float) -> torch.Tensor:
        return cls.spike_function.apply(x, param, True)

    @classmethod
    def primitive_function(cls, x: torch.Tensor, param: float) -> torch.Tensor:
        return cls.spike_function.apply(x, param, False)

    @classmethod
    def backward(cls, grad_output: torch.Tensor, x: torch.Tensor, param: float) -> torch.Tensor:
        return grad_output * cls.spike_function.derivative(x, param)


class FastSigmoid(_SurrogateModule):
    """spikingjelly surrogate module for :class:`fast_sigmoid_spike` (``slope`` = 10 in sn22).

    Parameters
    ----------
    slope:
        Steepness of the surrogate derivative ``1/(slope·|x|+1)²``.
    spiking:
        ``True``: Heaviside forward (normal use). ``False``: smooth primitive forward
        ``x/(slope·|x|+1)`` with the same backward (finite-difference tests).
    """

    spike_function = fast_sigmoid_spike

    def __init__(self, slope: float = 10.0, spiking: bool = True):
        super().__init__(spiking=spiking, slope=slope)


def box_grad(x: torch.Tensor, half_width: float) -> torch.Tensor:
    """wu22's rectangular surrogate derivative ``1[|x| < half_width]`` (not normalised, as in its code)."""
    return (x.abs() < half_width).to(x.dtype)


#: wu22's box (``lens`` = 0.5): ``H(x)`` or ``clamp(x, −w, w)`` forward, ``1[|x| < w]`` backward. The backward
#: multiplies by a constant mask, so second-order autograd runs through it (its own second derivative is 0 a.e.).
box_spike = SurrogateSpike("box_spike", box_grad, lambda x, half_width: x.clamp(-half_width, half_width))


class Box(_SurrogateModule):
    """spikingjelly surrogate module for :class:`box_spike` (wu22: half-width 0.5).

    Parameters
    ----------
    half_width:
        The derivative is 1 on ``|x| < half_width`` and 0 elsewhere.
    spiking:
        ``True``: Heaviside forward. ``False``: primitive ``clamp(x, −w, w)`` with the same backward.
    """

    spike_function = box_spike

    def __init__(self, half_width: float = 0.5, spiking: bool = True):
        super().__init__(spiking=spiking, half_width=half_width)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """``x / (1 + |x|)``: the non-spiking activation of the sn22 code's CNN baseline."""
    return x / (1.0 + x.abs())
