"""Symmetric integer codes shared by everything that writes or reads trace tensors.

Place in the pipeline: ``workload``. The PyTorch/ONNX bridges
(:mod:`accelsim.bridge.quantize`, which documents the scheme and its sources:
symmetric, zero point 0, max calibration, Wu et al. arXiv:2004.09602), the
synthetic traces (:mod:`accelsim.workload.synth`) and decomposed layers
(:mod:`accelsim.workload.decompose`) all code values with these, so a
``bits``-bit code means the same everywhere.

Back to real values (:func:`dequantize`, :func:`dequantize_bias`,
:func:`add_bias`): codes times their scale, a weight's per output channel when
its ``weight_scale`` is a list, and a MAC layer's bias at its accumulator's
scale ``act_scale * weight_scale``, added along the output's channel axis. The
bridge's read-back (:func:`accelsim.bridge.graph.dequantize_layer`), the
recompute of a masked output (:mod:`accelsim.workload.masking`) and the
decomposition of a bridge layer (:mod:`accelsim.workload.decompose`) all use
these, so the three read a trace's scales alike.
"""

from __future__ import annotations

import math

import numpy as np


def qmax(bits: int) -> int:
    """Largest integer magnitude of a ``bits``-bit symmetric code."""
    return 2 ** (bits - 1) - 1


def int_dtype(bits: int) -> type:
    """The narrowest NumPy integer dtype holding ``bits``-bit signed codes."""
    return (np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32 if bits <= 32
            else np.int64)


def per_channel(scale, ndim: int):
    """``scale`` shaped to broadcast over axis 0 of an ``ndim``-d array (a float
    stays a float)."""
    s = np.asarray(scale, dtype=np.float64)
    return s.reshape((-1,) + (1,) * (ndim - 1)) if s.ndim else s


def dequantize(codes, scale) -> np.ndarray:
    """Real values ``codes * scale``, float64; a 1-d ``scale`` is one per entry
    of axis 0 (a weight's output channels, :func:`per_channel`)."""
    q = np.asarray(codes, dtype=np.float64)
    return q * per_channel(scale, q.ndim)


def dequantize_bias(codes, act_scale: float, weight_scale, channels: int) -> np.ndarray:
    """A MAC layer's real bias, float64 [channels]: its codes at the
    accumulator's scale ``act_scale * weight_scale`` (``weight_scale`` one
    number, or one per output channel), the scale the bridge quantized it at
    (:func:`accelsim.bridge.quantize.quantize_with`)."""
    b = dequantize(codes, act_scale * np.asarray(weight_scale, dtype=np.float64))
    return np.broadcast_to(b, (channels,)).astype(np.float64)


def add_bias(y: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``y`` [N, K, ...] (a conv2d's [N, K, P, Q], a linear's [N, K]) plus
    ``bias`` [K] along axis 1, the output channels; a new array."""
    return y + np.asarray(bias).reshape((1, -1) + (1,) * (y.ndim - 2))


def scale_of(x: np.ndarray, bits: int, *, per_channel_axis0: bool = False
             ) -> float | np.ndarray:
    """Max-calibrated scale ``max|x| / qmax``: a float, or float64 [K] over axis 0.
    An all-zero tensor (or channel) gets 1.0."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    if per_channel_axis0:
        m = a.reshape(a.shape[0], -1).max(axis=1) if a.size else np.zeros(a.shape[0])
        return np.where(m > 0, m / qmax(bits), 1.0)
    m = float(a.max()) if a.size else 0.0
    return m / qmax(bits) if m > 0 else 1.0


def quantize(x: np.ndarray, bits: int, *, per_channel_axis0: bool = False
             ) -> tuple[np.ndarray, float | np.ndarray]:
    """``(codes, scale)``: codes ``clip(rint(x / scale), -qmax, qmax)`` in
    :func:`int_dtype`, so that ``x ~ codes * scale``."""
    x = np.asarray(x, dtype=np.float64)
    scale = scale_of(x, bits, per_channel_axis0=per_channel_axis0)
    q = np.clip(np.rint(x / per_channel(scale, x.ndim)), -qmax(bits), qmax(bits))
    return q.astype(int_dtype(bits)), scale


SHIFT_EXPONENT_LIMIT = 64
"""A shift operator's exponents lie in ``-64..64``: a shift by more than 64
positions moves every bit of a 64-bit operand (the widest accelsim takes) out
of the word, so a wider range describes no shifter. The arch loader bounds a
core's ``exponent_min``/``exponent_max`` by it, and ``accelsim decompose`` its
``--exponents`` (whose scales ``2**-MAX`` would also overflow float64 near
+-1024)."""


def shift_code_bits(exponent_range: tuple[int, int]) -> int:
    """Bits of a shift weight for ``exponent_range`` (min < max): a sign and
    ``ceil(log2(span + 1))`` bits (at least 1), the width a MAC core's shift
    mode must offer (:mod:`accelsim.spec.load`)."""
    span = exponent_range[1] - exponent_range[0]
    return 1 + max(1, math.ceil(math.log2(span + 1)))


def shift_exponents(bits: int) -> int:
    """How many exponents a ``bits``-bit shift weight codes (zero has its own
    code, so a sign and ``bits - 1`` magnitude bits code ``2**(bits-1) - 1``)."""
    return 2 ** (bits - 1) - 1
