"""Symmetric integer quantization of the tensors a bridge writes into a trace.

Place in the pipeline: ``model -> bridge`` (this module: float tensors ->
integers) ``-> trace.npz``. NumPy only; used by the PyTorch and ONNX bridges.

The scheme, and where it comes from:

- **Symmetric, zero point 0** ("scale quantization"): ``q = clip(rint(x / s),
  -qmax, qmax)`` with ``qmax = 2**(bits-1) - 1`` and ``x ~ q * s``. H. Wu,
  P. Judd, X. Zhang, M. Isaev, P. Micikevicius, "Integer Quantization for Deep
  Learning Inference: Principles and Empirical Evaluation," arXiv:2004.09602,
  2020, section 3.1 (symmetric, restricted range: -qmax..qmax, so the integer
  range is symmetric too). A zero stays exactly zero, so the zeros a model
  produces (ReLU, pooling of zeros) are all zeros in the trace; a nonzero value
  smaller than ``s / 2`` rounds to zero, as it would in integer hardware (the
  trace can therefore hold slightly more zeros than the float model;
  :func:`underflow_count` says how many).
- **Max calibration** on the captured batch: ``s = max|x| / qmax`` (Wu et al.,
  section 4.1; the batch exported is the calibration set). An all-zero tensor
  gets ``s = 1.0``.
- **Per tensor** for activations; per tensor or **per output channel** (axis 0
  of the weight, ``per_channel=True``) for weights (Wu et al., section 3.2).
  Post-ReLU activations keep the sign bit (the range is symmetric), as in the
  symmetric schemes above.
- **Bias** is quantized to the accumulator's scale ``act_scale *
  weight_scale`` with zero point 0 and stored as int64 (B. Jacob et al.,
  "Quantization and Training of Neural Networks for Efficient
  Integer-Arithmetic-Only Inference," CVPR 2018, section 2.4, which uses int32;
  int64 here because 16-bit x 16-bit products leave no headroom in int32).
- Integer dtype of activations and weights: int8 for <= 8 bits, int16 for <= 16,
  int32 for <= 32. ``np.rint`` rounds halves to even.
"""

from __future__ import annotations

import numpy as np

from accelsim.errors import AccelsimError

MIN_BITS = 2
MAX_BITS = 32


def check_bits(key: str, bits) -> int:
    """Validate a bit width (``weight_bits`` / ``act_bits``); returns it."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) \
            or not MIN_BITS <= bits <= MAX_BITS:
        raise AccelsimError(f"{key}: must be an integer between {MIN_BITS} and {MAX_BITS} "
                            f"(got {bits!r})")
    return int(bits)


def qmax(bits: int) -> int:
    """Largest integer magnitude of a ``bits``-bit symmetric code."""
    return 2 ** (bits - 1) - 1


def int_dtype(bits: int) -> type:
    """The NumPy dtype holding ``bits``-bit integers."""
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


def scale_of(x: np.ndarray, bits: int, *, per_channel: bool = False) -> float | np.ndarray:
    """Max-calibrated scale: a float, or float64 [K] over axis 0 if ``per_channel``."""
    a = np.abs(np.asarray(x, dtype=np.float64))
    if per_channel:
        m = a.reshape(a.shape[0], -1).max(axis=1) if a.size else np.zeros(a.shape[0])
        return np.where(m > 0, m / qmax(bits), 1.0)
    m = float(a.max()) if a.size else 0.0
    return m / qmax(bits) if m > 0 else 1.0


def _broadcast(scale, ndim: int):
    s = np.asarray(scale, dtype=np.float64)
    return s.reshape((-1,) + (1,) * (ndim - 1)) if s.ndim else s


def quantize(x: np.ndarray, bits: int, *, per_channel: bool = False
             ) -> tuple[np.ndarray, float | np.ndarray]:
    """Quantize ``x``; returns ``(integers, scale)`` (see the module docstring)."""
    x = np.asarray(x, dtype=np.float64)
    scale = scale_of(x, bits, per_channel=per_channel)
    q = np.clip(np.rint(x / _broadcast(scale, x.ndim)), -qmax(bits), qmax(bits))
    return q.astype(int_dtype(bits)), scale


def quantize_with(x: np.ndarray, scale, dtype=np.int64) -> np.ndarray:
    """Quantize with a given scale (per channel on axis 0 if ``scale`` is 1-d), no clip."""
    x = np.asarray(x, dtype=np.float64)
    return np.rint(x / _broadcast(scale, x.ndim)).astype(dtype)


def dequantize(q: np.ndarray, scale) -> np.ndarray:
    """``q * scale`` in float64 (``scale`` per channel on axis 0 if 1-d)."""
    q = np.asarray(q, dtype=np.float64)
    return q * _broadcast(scale, q.ndim)


def underflow_count(x: np.ndarray, scale: float) -> int:
    """How many nonzero values of ``x`` round to zero at per-tensor ``scale``."""
    x = np.asarray(x, dtype=np.float64)
    return int(np.count_nonzero((x != 0) & (np.rint(x / scale) == 0)))


__all__ = ["check_bits", "qmax", "int_dtype", "scale_of", "quantize", "quantize_with",
           "dequantize", "underflow_count", "MIN_BITS", "MAX_BITS"]
