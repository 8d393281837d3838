"""Trace values against their layer: widths, operator value sets, input masks.

Place in the pipeline: ``workload`` (checks a trace's tensors against the layers
that declare them; no hardware but the shift exponent range, which the caller
takes from the MAC core). :func:`accelsim.run.check_support` calls
:func:`value_problems` and :func:`mask_problems` before anything is simulated.

What a MAC layer's ``input`` and ``weight`` values must be, by the operator the
trace declares (not an ``--assign`` what-if: an assignment re-uses the trace's
data as it is and does not requantize it):

- ``int``, ``mult_free`` (both operands), and the activations of ``shift`` and
  ``binary_weight``: integer codes that fit ``bits``, signed
  (-2**(bits-1) .. 2**(bits-1) - 1) when the tensor holds a negative value,
  unsigned (0 .. 2**bits - 1) otherwise. Float arrays are fine when every value
  is a whole number.
- ``binary`` (weights and activations) and ``binary_weight`` (weights): two
  levels, either +-a with one magnitude a > 0 for the whole tensor (+-1, or a
  scaled sign as in BinaryConnect/XNOR-Net), or the bit encoding {0, 1}, where
  0 stands for -1 (the XNOR operand's bit). There is no zero operand either way.
- ``shift`` weights: 0 or +-2**e with e an integer in the core's
  ``exponent_min .. exponent_max`` (default -7 .. 0), stored either as their
  real values (0.5, -0.125, ...) or, in an integer array, as codes +-2**k
  (k >= 0, the PyTorch bridge's form, the layer's ``weight_scale`` carrying the
  rest) whose exponents span no more than that range: DeepShift's weights (Elhoushi et al., "DeepShift:
  Towards Multiplication-Less Neural Networks", CVPR Workshops 2021) are
  sign x 2**p and include 0.
- ``fp`` and ``bfloat``: finite and within the format's largest magnitude.

Zero operands (:func:`zero_free_operands`): ``binary`` activations and weights
and ``binary_weight`` weights are +-1 and cannot be zero, so the engine sees no
zero in them: no gating or skipping comes from such an operand, and a layer
assigned ``binary`` keeps no zero from a 16-bit trace's data. Every other
operator's zeros are real zeros (a ``shift`` code includes zero), and gate or
skip as the arch says. An ``input_mask`` still removes the values it masks.

Zeros that do not idle the operation (:func:`zero_busy_operands`): a
``mult_free`` layer (AdderNet: Chen et al., "AdderNet: Do We Really Need
Multiplications in Deep Learning?", CVPR 2020) computes -sum |x - w|, so a
zero activation still adds |w| and a zero weight still adds |x|. Its zeros are
real zeros in storage (they compress as any zero), but no PE may gate or skip
the operation on one of them: the layer runs as if the arch gated and skipped
nothing (:func:`accelsim.run.run_layer`). Only a pair of zeros adds nothing; no
modeled PE tests for that.
"""

from __future__ import annotations

import numpy as np

from accelsim.workload.layer import Layer
from accelsim.workload.trace import Trace

# operands (trace tensor roles) an operator cannot hold as zero
ZERO_FREE = {"binary": ("input", "weight"), "binary_weight": ("weight",)}
# operands whose zero still costs the whole operation (module docstring)
ZERO_BUSY = {"mult_free": ("input", "weight")}
FLOAT_MAX = {("fp", 16): 65504.0, ("fp", 32): float(np.finfo(np.float32).max),
             ("bfloat", 16): 3.3895313892515355e38}
_DECLARED = "declared_layers"  # trace.derived key: the layers as the trace file declares them


def zero_free_operands(operator: str) -> tuple[str, ...]:
    """The roles (``input``, ``weight``) whose values ``operator`` cannot make zero."""
    return ZERO_FREE.get(operator, ())


def zero_busy_operands(operator: str) -> tuple[str, ...]:
    """The roles (``input``, ``weight``) whose zeros ``operator`` still has to
    operate on: no gating or skipping may come from them, though they are
    stored as zeros."""
    return ZERO_BUSY.get(operator, ())


def remember_declared(trace: Trace) -> None:
    """Record ``trace``'s layers as the declared ones, before an assignment
    replaces them (the derived cache is shared by the assigned trace)."""
    trace.derived.setdefault(_DECLARED, trace.layers)


def declared_layers(trace: Trace) -> tuple[Layer, ...]:
    """The layers as the trace declares them, whatever assignment was applied since."""
    return trace.derived.get(_DECLARED, trace.layers)


def _first(arr: np.ndarray, bad: np.ndarray):
    v = arr.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
    return v.item()


def _int_problem(arr: np.ndarray, bits: int, key: str) -> str | None:
    if arr.size == 0:
        return None
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.rint(arr))
        if bad.any():
            return f"value {_first(arr, bad)!r} is not an integer code"
    lo, hi = arr.min().item(), arr.max().item()
    if lo < 0:
        lim_lo, lim_hi, kind = -2 ** (bits - 1), 2 ** (bits - 1) - 1, "signed"
    else:
        lim_lo, lim_hi, kind = 0, 2 ** bits - 1, "unsigned"
    if lo < lim_lo or hi > lim_hi:
        value = lo if lo < lim_lo else hi
        return (f"value {value!r} does not fit {key} {bits} ({kind} range "
                f"{lim_lo}..{lim_hi})")
    return None


def _two_level_problem(arr: np.ndarray) -> str | None:
    """+-a with one magnitude a > 0, or the bit encoding {0, 1}."""
    if arr.size == 0:
        return None
    if arr.dtype.kind == "b" or (arr.min() >= 0 and arr.max() <= 1
                                 and ((arr == 0) | (arr == 1)).all()):
        return None
    mag = np.abs(arr.astype(np.float64))
    a = mag.max()
    bad = (mag != a) | (a == 0)
    if bad.any():
        largest = abs(arr.reshape(-1)[int(np.argmax(mag))].item())
        return (f"value {_first(arr, bad)!r} is not +-{largest!r} (two levels: +-a with one "
                f"magnitude, or 0/1 bits)")
    return None


def _shift_problem(arr: np.ndarray, exponents: tuple[int, int]) -> str | None:
    """Shift weights: 0 or +-2**e. Real values must have e in the core's range;
    integer codes +-2**k (k >= 0, the PyTorch bridge's form, scaled by the
    layer's ``weight_scale``) must use no more exponents than the range holds
    (their largest k maps to ``exponent_max``)."""
    if arr.size == 0:
        return None
    x = arr.astype(np.float64)
    mant, exp = np.frexp(np.abs(x))  # |x| = mant * 2**exp, mant in [0.5, 1)
    e = exp - 1
    nz = x != 0
    bad = ~np.isfinite(x) | (nz & (mant != 0.5))
    if bad.any():
        return (f"value {_first(arr, bad)!r} is not 0 or +-2**e with e in "
                f"{exponents[0]}..{exponents[1]}")
    if not nz.any():
        return None
    span = exponents[1] - exponents[0]
    if arr.dtype.kind in "iu":  # codes: only the spread of exponents is fixed
        low = int(e[nz].max()) - span
        bad = nz & (e < low)
        if bad.any():
            return (f"value {_first(arr, bad)!r} is below the {span + 1} exponents the core "
                    f"shifts by ({exponents[0]}..{exponents[1]}) counted down from the "
                    f"largest code {2 ** int(e[nz].max())}")
        return None
    bad = nz & ((e < exponents[0]) | (e > exponents[1]))
    if bad.any():
        return (f"value {_first(arr, bad)!r} is not 0 or +-2**e with e in "
                f"{exponents[0]}..{exponents[1]}")
    return None


def _float_problem(arr: np.ndarray, operator: str, bits: int) -> str | None:
    if arr.size == 0:
        return None
    x = arr.astype(np.float64)
    bad = ~np.isfinite(x) | (np.abs(x) > FLOAT_MAX[(operator, bits)])
    if bad.any():
        name = "bf16" if operator == "bfloat" else f"fp{bits}"
        return f"value {_first(arr, bad)!r} is not a finite {name} value"
    return None


def tensor_problem(layer: Layer, role: str, arr: np.ndarray,
                   shift_exponents: tuple[int, int] = (-7, 0)) -> str | None:
    """What is wrong with ``arr`` as ``layer``'s ``role`` (input or weight), or None."""
    op = layer.operator
    bits, key = ((layer.weight_bits, "weight_bits") if role == "weight"
                 else (layer.act_bits, "act_bits"))
    if op in ("fp", "bfloat"):
        return _float_problem(arr, op, bits)
    if role in zero_free_operands(op):
        return _two_level_problem(arr)
    if op == "shift" and role == "weight":
        return _shift_problem(arr, shift_exponents)
    return _int_problem(arr, bits, key)


def value_problems(trace: Trace, shift_exponents: tuple[int, int] = (-7, 0)) -> list[str]:
    """Every MAC layer's input and weight checked against the layer as the trace
    declares it (:func:`declared_layers`); each problem names the layer, the
    tensor and an offending value. Results are cached on ``trace.derived``."""
    problems = []
    for layer in declared_layers(trace):
        if not layer.is_mac:
            continue
        for role in ("input", "weight"):
            arr = trace.tensor(layer, role)
            if arr is None:
                continue
            key = ("values", layer.name, role, layer.operator, layer.weight_bits,
                   layer.act_bits, shift_exponents)
            if key not in trace.derived:
                trace.derived[key] = tensor_problem(layer, role, arr, shift_exponents)
            why = trace.derived[key]
            if why is not None:
                problems.append(f"layers({layer.name}).tensors.{role}: {why} (the layer "
                                f"declares {layer.operator} with weight_bits "
                                f"{layer.weight_bits}, act_bits {layer.act_bits})")
    return problems


def mask_problems(trace: Trace) -> list[str]:
    """Input masks must be binary (0 drops a value, 1 keeps it) and belong to a
    conv2d or linear layer."""
    problems = []
    for layer in trace.layers:
        mask = trace.tensor(layer, "input_mask")
        if mask is None:
            continue
        where = f"layers({layer.name}).tensors.input_mask"
        if not layer.is_mac:
            problems.append(f"{where}: masks apply to conv2d/linear inputs (got a mask on a "
                            f"{layer.op} layer)")
            continue
        bad = (mask != 0) & (mask != 1)
        if bad.any():
            problems.append(f"{where}: must hold only 0 (drop) and 1 (keep) (got "
                            f"{_first(mask, bad)!r})")
    return problems


__all__ = ["ZERO_BUSY", "ZERO_FREE", "declared_layers", "mask_problems", "remember_declared",
           "tensor_problem", "value_problems", "zero_busy_operands", "zero_free_operands"]
