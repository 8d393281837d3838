"""Zero operands: which MAC slots are performed, gated or skipped.

Place in the pipeline: inside ``engine``. A MAC slot is one (output, input
channel, tap) of the dense computation on real (non-padding) input. With X the
slots whose ifmap is zero and W those whose weight is zero, a slot is
*skipped* when it is in X and ifmaps skip, or in W and weights skip; else
*gated* when it is in X and ifmaps gate, or in W and weights gate; else
*performed*. Counts come from |X|, |W| and |X n W| of the real tensors,
exactly, without enumerating MACs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.spec.arch import SparsitySpec
from accelsim.workload.layer import Layer, valid_taps


@dataclass(frozen=True, slots=True)
class MacClasses:
    performed: int
    gated: int
    skipped: int
    gated_ifmap: int   # gated slots whose zero was the ifmap (its spad read is still made)
    gated_weight: int  # gated slots whose zero was the weight only


def _valid_outputs_per_tap(size: int, taps: int, out: int, stride: int, pad: int, dil: int):
    """For each tap, how many outputs along the axis read a real input with it."""
    o = np.arange(out)[:, None]
    t = np.arange(taps)[None, :]
    idx = o * stride + t * dil - pad
    return ((idx >= 0) & (idx < size)).sum(axis=0).astype(np.int64)


def ifmap_zero_slots(layer: Layer, input_nz: np.ndarray) -> int:
    """|X|: MAC slots whose ifmap is zero. input_nz : uint8 [N, G*C, H, W]."""
    cnt_h = valid_taps(layer.h, layer.r, layer.p, layer.stride_h, layer.pad_h, layer.dilation_h)
    cnt_w = valid_taps(layer.w, layer.s, layer.q, layer.stride_w, layer.pad_w, layer.dilation_w)
    zeros_hw = input_nz.shape[0] * input_nz.shape[1] - input_nz.sum(axis=(0, 1), dtype=np.int64)
    return int(layer.k * np.einsum("hw,h,w->", zeros_hw, cnt_h, cnt_w))


def weight_zero_slots(layer: Layer, weight_nz: np.ndarray,
                      taps: np.ndarray) -> tuple[int, int]:
    """(|W|, |X n W|): MAC slots whose weight is zero, and whose both operands are.

    weight_nz : uint8 [G*K, C, R, S]; taps : int64 [N, G*C, H, S] from
    ``kernels._tap_counts``.
    """
    vr = _valid_outputs_per_tap(layer.h, layer.r, layer.p, layer.stride_h, layer.pad_h,
                                layer.dilation_h)
    vs = _valid_outputs_per_tap(layer.w, layer.s, layer.q, layer.stride_w, layer.pad_w,
                                layer.dilation_w)
    G, K, C = layer.groups, layer.k, layer.c
    wz = K - weight_nz.reshape(G, K, C, layer.r, layer.s).sum(axis=1, dtype=np.int64)
    zw = int(layer.n * np.einsum("gcrs,r,s->", wz, vr, vs))
    # zero inputs met by tap (r, s): for each valid output row p, the row
    # h = p*U + r*d - pad has vs[s] valid columns, taps[..., s] of them nonzero
    xz = np.zeros((G, C, layer.r, layer.s), dtype=np.int64)
    per_row = (layer.n * vs[None, None, :] - taps.sum(axis=0)).reshape(G, C, layer.h, layer.s)
    for r in range(layer.r):
        rows = np.arange(layer.p) * layer.stride_h + r * layer.dilation_h - layer.pad_h
        rows = rows[(rows >= 0) & (rows < layer.h)]
        xz[:, :, r, :] = per_row[:, :, rows, :].sum(axis=2)
    return zw, int((wz * xz).sum())


def classify(macs: int, zx: int, zw: int, zxw: int, sparsity: SparsitySpec) -> MacClasses:
    """Split the dense MAC slots into performed, gated and skipped."""
    # the Venn regions of X (zero ifmap) and W (zero weight)
    regions = {"xw": zxw, "x": zx - zxw, "w": zw - zxw}
    mx, mw = sparsity.ifmap, sparsity.weight
    skipped = gated = gated_x = 0
    for name, size in regions.items():
        in_x, in_w = "x" in name, "w" in name
        if (in_x and mx == "skip") or (in_w and mw == "skip"):
            skipped += size
        elif (in_x and mx == "gate") or (in_w and mw == "gate"):
            gated += size
            if in_x and mx == "gate":
                gated_x += size
    return MacClasses(performed=macs - skipped - gated, gated=gated, skipped=skipped,
                      gated_ifmap=gated_x, gated_weight=gated - gated_x)
