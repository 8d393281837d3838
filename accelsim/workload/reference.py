"""Reference computation of a layer's output from its trace tensors (NumPy).

Used when a trace carries no ``output`` for a MAC layer: the engine needs the
output's zeros to size the run-length-coded write-back. Computed in float64 one
image at a time; ``activation: relu`` is applied. Also used by tests to check
that exported traces are faithful.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from accelsim.workload.layer import Layer, LayerKind


def layer_output(layer: Layer, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The layer's output [N, K_total, P, Q] (or [N, K]) in float64."""
    if layer.kind is LayerKind.LINEAR:
        out = x.astype(np.float64) @ w.astype(np.float64).T
    else:
        G, C, K = layer.groups, layer.c, layer.k
        xp = np.pad(x.astype(np.float64),
                    ((0, 0), (0, 0), (layer.pad_h, layer.pad_h), (layer.pad_w, layer.pad_w)))
        eff_r = layer.dilation_h * (layer.r - 1) + 1
        eff_s = layer.dilation_w * (layer.s - 1) + 1
        wf = w.astype(np.float64).reshape(G, K, C * layer.r * layer.s)
        out = np.empty((layer.n, G * K, layer.p, layer.q))
        for i in range(layer.n):
            win = sliding_window_view(xp[i], (eff_r, eff_s), axis=(1, 2))
            win = win[:, ::layer.stride_h, ::layer.stride_w, ::layer.dilation_h,
                      ::layer.dilation_w][:, :layer.p, :layer.q]
            # win: [G*C, P, Q, R, S] -> per group [C*R*S, P*Q]
            win = win.reshape(G, C, layer.p, layer.q, layer.r, layer.s)
            cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(G, C * layer.r * layer.s, -1)
            out[i] = np.matmul(wf, cols).reshape(G * K, layer.p, layer.q)
    if layer.activation == "relu":
        np.maximum(out, 0, out=out)
    return out
