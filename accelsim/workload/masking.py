"""What a trace's input mask does to a MAC layer's output.

Place in the pipeline: ``trace.npz -> workload`` (this module) ``-> engine``.
:mod:`accelsim.run` takes from it the output whose zeros size the layer's
coded ofmap write-back when the trace masks the layer's input (``input_mask``:
0 drops a value, 1 keeps it; README, "Sparsity"), or records no output.

What the output is, by what the trace knows of the layer:

1. **The bridge's quantization and a recorded output** (the layer's
   :class:`~accelsim.workload.layer.Quantization` is complete: ``act_scale``,
   ``weight_scale``, ``output_scale``; ``bias`` optional, absent meaning no
   bias). An output value whose accumulator the mask does not change keeps
   its recorded code. Every other one is recomputed from the masked input as
   the bridge made the recorded ones (:mod:`accelsim.bridge.graph`,
   :mod:`accelsim.bridge.quantize`): input and weight codes times their
   scales (the weight's per output channel when ``weight_scale`` is a list),
   the conv2d / linear in float64
   (:func:`accelsim.workload.reference.layer_output`), plus the bias (codes
   times ``act_scale * weight_scale``), the layer's activation, then divided
   by ``output_scale`` and rounded (``np.rint``, halves to even). The zeros
   of the result are the mask's real effect.
2. **A recorded output without that quantization** (a synthetic trace:
   ``accelsim synth`` writes random tensors, so its output is not computed
   from its input, and nothing says how its codes scale): the recorded output
   is kept as it is, zeros unchanged. The mask changes the input's zeros only.
3. **No recorded output**: computed from the (masked) input, every value:
   with a complete quantization as in 1; without, as the codes give it
   (:func:`~accelsim.workload.reference.layer_output`: no bias, the
   activation applied).

Why 1 recomputes only what the mask reaches: a recorded output is the float
model's output quantized, not a function of the quantized codes, so a
recomputation from the codes differs from it in the last codes (the
committed digit traces: within 1e-3 of the largest output), and now and then
in which values are zero (a few per layer in the SqueezeNet and ShuffleNet
digit traces). Keeping every value the mask does not reach keeps a mask that
drops nothing (all ones, or zeros only where the input is zero already) from
changing anything, and leaves the change of zeros to the mask alone.

Assumptions:

- "The mask changes the accumulator": the dropped values' codes, convolved
  with the weight codes, give a nonzero sum. Integer codes in float64: exact
  while every partial sum stays below 2**53 (16-bit codes: up to 2**22 taps
  per output). Dropped values that cancel exactly change nothing.
- The bridge also clips the codes to the output's width; a clip never makes
  or removes a zero, and only the zeros are used, so none is applied (the
  header does not give the output's width of every layer: a ``binary``
  layer's ``act_bits`` is its 1-bit input's).
- The arithmetic multiplies, whatever the layer's operator: the bridge's float
  model did. A ``shift`` or ``binary*`` layer's weights are the operator's
  codes, not the model's, so its recomputed values are what those codes give
  (:mod:`accelsim.bridge.quantize`).
- The trace's data and scales are used as they are under an assignment
  (``--assign``): what the output is depends on the trace alone.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from accelsim.workload.layer import Layer, Quantization
from accelsim.workload.quant import add_bias, dequantize, dequantize_bias
from accelsim.workload.reference import layer_output


def quantized_output(layer: Layer, x: np.ndarray, w: np.ndarray, quantization: Quantization,
                     bias: np.ndarray | None) -> np.ndarray:
    """The layer's output codes (float64, unclipped) from input codes ``x`` and
    weight codes ``w``, as the bridge computes them (module docstring, 1);
    ``bias`` the bias codes [K_total] or None. ``quantization`` must be complete."""
    q = quantization
    y = layer_output(dataclasses.replace(layer, activation="none"),
                     dequantize(x, q.act_scale), dequantize(w, q.weight_scale))
    if bias is not None:
        y = add_bias(y, dequantize_bias(bias, q.act_scale, q.weight_scale, y.shape[1]))
    if layer.activation == "relu":
        np.maximum(y, 0, out=y)
    return np.rint(y / q.output_scale)


def output_nonzero(layer: Layer, x: np.ndarray, w: np.ndarray, y: np.ndarray | None,
                   mask: np.ndarray | None, quantization: Quantization | None,
                   bias: np.ndarray | None) -> tuple[np.ndarray, bool]:
    """Where the layer's output is nonzero under the input mask (module docstring).

    Parameters
    ----------
    x, w, y:
        The trace's input, weight and recorded output (None: not recorded), as
        stored (codes, in the layer's tensor shapes).
    mask:
        The layer's ``input_mask`` (input's shape, nonzero keeps), or None.
    quantization, bias:
        The layer's quantization (None: not recorded) and its bias codes
        [K_total] (None: no bias).

    Returns
    -------
    (nonzero, recomputed)
        ``nonzero``: bool, the output's shape. ``recomputed``: whether the
        output comes from the masked input (cases 1 and 3; in 1, the values
        the mask reaches), False when the recorded output is kept (case 2).
    """
    quantized = quantization is not None and quantization.complete
    if y is not None and not quantized:
        return y != 0, False
    kept = x if mask is None else np.where(mask != 0, x, 0).astype(x.dtype)
    if y is None:
        out = (quantized_output(layer, kept, w, quantization, bias) if quantized
               else layer_output(layer, kept, w))
        return out != 0, True
    nonzero = y != 0
    if mask is None:
        return nonzero, False
    dropped = np.where(mask != 0, 0.0, np.asarray(x, dtype=np.float64))
    reached = layer_output(dataclasses.replace(layer, activation="none"), dropped, w) != 0
    if reached.any():
        recomputed = quantized_output(layer, kept, w, quantization, bias) != 0
        nonzero = np.where(reached, recomputed, nonzero)
    return nonzero, True


__all__ = ["output_nonzero", "quantized_output"]
