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

__all__ = ["fast_sigmoid_spike", "FastSigmoid", "fast_sigmoid_grad", "softsign", "box_spike", "Box", "box_grad"]


def fast_sigmoid_grad(x: torch.Tensor, slope: float) -> torch.Tensor:
    """The surrogate derivative ``1 / (slope·|x| + 1)²`` (differentiable in ``x``)."""
    return (slope * x.abs() + 1.0).pow(-2)


class fast_sigmoid_spike(torch.autograd.Function):  # noqa: N801 - autograd.Function naming as in spikingjelly
    """``H(x)`` (or its smooth primitive) forward, fast-sigmoid derivative backward; double-differentiable."""

    @staticmethod
    def forward(x: torch.Tensor, slope: float, spiking: bool) -> torch.Tensor:  # type: ignore[override]
        if spiking:
            # sign(x) clamped at 0 is exactly 1[x > 0] (and keeps NaN, so divergence is visible);
            # one fused pass, cheaper than (x > 0).to(dtype).
            return torch.sign(x).clamp_(min=0.0)
        return x / (slope * x.abs() + 1.0)

    @staticmethod
    def setup_context(ctx, inputs, output):  # noqa: ANN001
        x, slope, _ = inputs
        ctx.save_for_backward(x)
        ctx.slope = slope

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # Plain torch ops: under create_graph=True autograd records them, giving the 2nd derivative.
        return grad_output * fast_sigmoid_grad(x, ctx.slope), None, None


class FastSigmoid(sj_surrogate.SurrogateFunctionBase):
    """spikingjelly surrogate module for :class:`fast_sigmoid_spike` (``slope`` = 10 in sn22).

    Parameters
    ----------
    slope:
        Steepness of the surrogate derivative ``1/(slope·|x|+1)²``.
    spiking:
        ``True``: Heaviside forward (normal use). ``False``: smooth primitive forward
        ``x/(slope·|x|+1)`` with the same backward (finite-difference tests).
    """

    def __init__(self, slope: float = 10.0, spiking: bool = True):
        super().__init__(spiking=spiking, slope=float(slope))

    @staticmethod
    def spiking_function(x: torch.Tensor, slope: float) -> torch.Tensor:
        return fast_sigmoid_spike.apply(x, slope, True)

    @staticmethod
    def primitive_function(x: torch.Tensor, slope: float) -> torch.Tensor:
        return fast_sigmoid_spike.apply(x, slope, False)

    @staticmethod
    def backward(grad_output: torch.Tensor, x: torch.Tensor, slope: float) -> torch.Tensor:
        return grad_output * fast_sigmoid_grad(x, slope)


def box_grad(x: torch.Tensor, half_width: float) -> torch.Tensor:
    """wu22's rectangular surrogate derivative ``1[|x| < half_width]`` (not normalised, as in its code)."""
    return (x.abs() < half_width).to(x.dtype)


class box_spike(torch.autograd.Function):  # noqa: N801 - autograd.Function naming as in spikingjelly
    """``H(x)`` (or its primitive ``clamp(x, −w, w)``) forward, box derivative backward (wu22, ``lens`` = 0.5).

    The backward multiplies the incoming gradient by a constant mask, so second-order autograd
    runs through it (the surrogate's own second derivative is zero almost everywhere).
    """

    @staticmethod
    def forward(x: torch.Tensor, half_width: float, spiking: bool) -> torch.Tensor:  # type: ignore[override]
        if spiking:
            # sign(x) clamped at 0 is exactly 1[x > 0] (and keeps NaN, so divergence is visible);
            # one fused pass, cheaper than (x > 0).to(dtype).
            return torch.sign(x).clamp_(min=0.0)
        return x.clamp(-half_width, half_width)

    @staticmethod
    def setup_context(ctx, inputs, output):  # noqa: ANN001
        x, half_width, _ = inputs
        ctx.save_for_backward(x)
        ctx.half_width = half_width

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad_output * box_grad(x, ctx.half_width), None, None


class Box(sj_surrogate.SurrogateFunctionBase):
    """spikingjelly surrogate module for :class:`box_spike` (wu22: half-width 0.5).

    Parameters
    ----------
    half_width:
        The derivative is 1 on ``|x| < half_width`` and 0 elsewhere.
    spiking:
        ``True``: Heaviside forward. ``False``: primitive ``clamp(x, −w, w)`` with the same backward.
    """

    def __init__(self, half_width: float = 0.5, spiking: bool = True):
        super().__init__(spiking=spiking, half_width=float(half_width))

    @staticmethod
    def spiking_function(x: torch.Tensor, half_width: float) -> torch.Tensor:
        return box_spike.apply(x, half_width, True)

    @staticmethod
    def primitive_function(x: torch.Tensor, half_width: float) -> torch.Tensor:
        return box_spike.apply(x, half_width, False)

    @staticmethod
    def backward(grad_output: torch.Tensor, x: torch.Tensor, half_width: float) -> torch.Tensor:
        return grad_output * box_grad(x, half_width)


def softsign(x: torch.Tensor) -> torch.Tensor:
    """``x / (1 + |x|)``: the non-spiking activation of the sn22 code's CNN baseline."""
    return x / (1.0 + x.abs())
