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

Layers given an operator other than ``int`` (``--operators``) are quantized
for that operator, so that the trace holds the weights (and, for ``binary``,
the inputs) that operator's hardware would read; the widths are the operator's
(:data:`accelsim.workload.layer.OPERATOR_RULES`), whatever ``weight_bits`` says:

- ``shift`` (:func:`quantize_shift`): a weight is ``0`` or ``+-s * 2**k``, a
  sign and an exponent, so that the product is a shift (DeepShift-Q, which
  rounds ``log2|w|``: M. Elhoushi, Z. Chen, F. Shafiq, Y. H. Tian, J. Y. Li,
  "DeepShift: Towards Multiplication-Less Neural Networks," CVPR Workshops
  2021). The exponent is ``log2(|w| / s)`` rounded to the nearest integer and
  clipped to ``0..E-1``; a weight below half the smallest power (``|w| < s /
  2``, nearer to 0 than to it) is zero, weights being "powers of two or zero"
  as in INQ (A. Zhou, A. Yao, Y. Guo, L. Xu, Y. Chen, "Incremental Network
  Quantization: Towards Lossless CNNs with Low-Precision Weights," ICLR
  2017). ``s = max|w| / 2**(E-1)`` (per tensor or per output channel),
  so the largest weight is ``+-s * 2**(E-1)`` and the exponents relative to it
  run from ``-(E-1)`` to 0, the convention of a MAC core's ``exponent_min`` /
  ``exponent_max`` (:class:`accelsim.spec.arch.OperatorSupport`). Code: a
  sign and a magnitude code of ``bits - 1`` bits, magnitude 0 being the zero
  weight and 1..``2**(bits-1) - 1`` the exponents, so ``E = 2**(bits-1) - 1``
  (the symmetric, restricted range of the int codes above: -0 is unused).
  Shift layers are written with :data:`SHIFT_WEIGHT_BITS` = 4 bits: 7
  exponents (-6..0), which a core declaring ``exponent_min: -7`` covers (see
  ``arch_configs/reconfigurable.yaml``). The trace stores the integer
  ``+-2**k`` (int8 at 4 bits), so that ``integer * scale`` is the weight.
- ``binary_weight`` (:func:`quantize_binary`): ``sign(w)`` (+1 for ``w >= 0``)
  times one scale ``alpha = mean|w|`` (per tensor, or per output channel with
  ``per_channel``), the scale that minimises ``||w - alpha * sign(w)||``
  (XNOR-Net's Binary-Weight-Networks: M. Rastegari, V. Ordonez, J. Redmon,
  A. Farhadi, "XNOR-Net: ImageNet Classification Using Binary Convolutional
  Neural Networks," ECCV 2016, section 3.1, which uses one alpha per filter).
  1-bit weights; the inputs keep the trace's activation width.
- ``binary``: weights as for ``binary_weight`` and inputs ``sign(x)`` with one
  scale ``beta = mean|x|`` per tensor (XNOR-Networks, section 3.2 of the same
  paper; its ``beta`` is per spatial position, simplified here to one per
  tensor: an assumption), 1-bit weights and activations. The binarized input
  is stored as the layer's own ``<layer>.input`` array; a layer reading a
  ReLU output sees only ``+1`` (XNOR-Net binarizes after a batch norm for
  this reason).
- Other operators (``fp``, ``bfloat``, ``mult_free``) keep the integer codes
  of the trace's widths; ``fp`` / ``bfloat`` need those widths to be theirs
  (16 or 32 bits), and their float rounding is not modeled.

A layer quantized for ``shift`` or ``binary*`` holds the operator's weights,
but its ``output`` (what the layers after it read) is still what the float
model computed: a model not trained for the operator does not compute what its
trace's weights give. Train with the operator for a trace that is faithful to
the end.
"""

from __future__ import annotations

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload import quant as _quant
from accelsim.workload.quant import dequantize, int_dtype, qmax, shift_exponents
from accelsim.workload.quant import per_channel as per_channel_shape

MIN_BITS = 2
MAX_BITS = 32
SHIFT_WEIGHT_BITS = 4
"""Width of a ``shift`` layer's weights: a sign and a 3-bit magnitude (zero or 7 exponents)."""


def check_bits(key: str, bits) -> int:
    """Validate a bit width (``weight_bits`` / ``act_bits``); returns it."""
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) \
            or not MIN_BITS <= bits <= MAX_BITS:
        hint = "; 1-bit layers are those given the operator binary or binary_weight" \
            if bits == 1 and not isinstance(bits, bool) else ""
        raise AccelsimError(f"{key}: must be an integer between {MIN_BITS} and {MAX_BITS} "
                            f"(got {bits!r}){hint}")
    return int(bits)


def scale_of(x: np.ndarray, bits: int, *, per_channel: bool = False) -> float | np.ndarray:
    """Max-calibrated scale: a float, or float64 [K] over axis 0 if ``per_channel``."""
    return _quant.scale_of(x, bits, per_channel_axis0=per_channel)


def quantize(x: np.ndarray, bits: int, *, per_channel: bool = False
             ) -> tuple[np.ndarray, float | np.ndarray]:
    """Quantize ``x``; returns ``(integers, scale)`` (see the module docstring)."""
    return _quant.quantize(x, bits, per_channel_axis0=per_channel)


def quantize_with(x: np.ndarray, scale, dtype=np.int64) -> np.ndarray:
    """Quantize with a given scale (per channel on axis 0 if ``scale`` is 1-d), no clip."""
    x = np.asarray(x, dtype=np.float64)
    return np.rint(x / per_channel_shape(scale, x.ndim)).astype(dtype)


def operator_widths(operator: str, weight_bits: int, act_bits: int) -> tuple[int, int]:
    """``(weight_bits, act_bits)`` a layer of ``operator`` is written with (module docstring)."""
    if operator == "binary":
        return 1, 1
    if operator == "binary_weight":
        return 1, act_bits
    if operator == "shift":
        return SHIFT_WEIGHT_BITS, act_bits
    return weight_bits, act_bits


def quantize_shift(w: np.ndarray, bits: int = SHIFT_WEIGHT_BITS, *, per_channel: bool = False
                   ) -> tuple[np.ndarray, float | np.ndarray]:
    """Signed powers of two (or zero): ``(integers +-2**k, scale)``, see the module docstring."""
    if bits < 2:
        raise ValueError(f"a shift weight needs a sign and an exponent: bits >= 2 (got {bits})")
    w = np.asarray(w, dtype=np.float64)
    top = shift_exponents(bits) - 1
    a = np.abs(w)
    if per_channel:
        m = a.reshape(a.shape[0], -1).max(axis=1) if a.size else np.zeros(a.shape[0])
        scale = np.where(m > 0, m / 2.0 ** top, 1.0)
    else:
        m = float(a.max()) if a.size else 0.0
        scale = m / 2.0 ** top if m > 0 else 1.0
    r = a / per_channel_shape(scale, w.ndim)
    with np.errstate(divide="ignore"):
        k = np.clip(np.rint(np.log2(np.where(r > 0, r, 1.0))), 0, top)
    q = np.where(r < 0.5, 0.0, np.sign(w) * 2.0 ** k)
    return q.astype(np.int64 if top >= 31 else int_dtype(top + 2)), scale


def quantize_binary(x: np.ndarray, *, per_channel: bool = False
                    ) -> tuple[np.ndarray, float | np.ndarray]:
    """``(sign(x) as int8 +-1, mean|x|)``, the mean per axis-0 slice if ``per_channel``."""
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    if per_channel:
        m = a.reshape(a.shape[0], -1).mean(axis=1) if a.size else np.zeros(a.shape[0])
        scale = np.where(m > 0, m, 1.0)
    else:
        m = float(a.mean()) if a.size else 0.0
        scale = m if m > 0 else 1.0
    return np.where(x >= 0, 1, -1).astype(np.int8), scale


def underflow_count(x: np.ndarray, scale: float) -> int:
    """How many nonzero values of ``x`` round to zero at per-tensor ``scale``."""
    x = np.asarray(x, dtype=np.float64)
    return int(np.count_nonzero((x != 0) & (np.rint(x / scale) == 0)))


__all__ = ["check_bits", "qmax", "int_dtype", "scale_of", "quantize", "quantize_with",
           "dequantize", "underflow_count", "operator_widths", "shift_exponents",
           "quantize_shift", "quantize_binary", "MIN_BITS", "MAX_BITS", "SHIFT_WEIGHT_BITS"]
