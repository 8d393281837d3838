"""Sparsity of real tensors: density, sporadic degree, masks, N:M pruning.

Place in the pipeline: ``workload`` (measures and shapes tensors; no hardware).

*Sporadic degree* of a feature map: the fraction of its nonzero values that
have no nonzero neighbour in the ``window`` x ``window`` spatial neighbourhood
around them in the same image and channel (the value itself excluded). Why
this definition: what makes an isolated nonzero expensive is that the
hardware fetches data in units larger than one value (a DRAM burst, a block of
a block-sparse format, a run-length word), and those units are spatially
contiguous; a nonzero whose neighbourhood is empty is the one most likely to
pay for a whole unit alone. 3 x 3 is the default because it is the receptive
field of the most common filter; ``window`` is configurable (odd, >= 3). Inputs
without spatial extent (H = W = 1, e.g. linear layers) have no
neighbourhood: their sporadic degree is NaN.
"""

from __future__ import annotations

import numpy as np


def density(x: np.ndarray) -> float:
    return float(np.count_nonzero(x) / x.size) if x.size else 0.0


MAX_SPORADIC_WINDOW = 63
"""The widest neighbourhood of the sporadic-degree metric: wider than most
feature maps, and its cost grows with the window's area."""


def window_problem(window) -> str | None:
    """What is wrong with ``window`` as a sporadic-degree neighbourhood (odd, from
    3 to :data:`MAX_SPORADIC_WINDOW`), or None; the caller names the option."""
    if not 3 <= window <= MAX_SPORADIC_WINDOW or window % 2 == 0:
        return f"must be odd, from 3 to {MAX_SPORADIC_WINDOW} (got {window})"
    return None


def has_neighbourhood(shape: tuple[int, ...]) -> bool:
    """Whether a feature map of ``shape`` has spatial neighbourhoods: [N, C, H, W]
    with H x W more than one value (a linear layer's [N, C] and a 1x1 map have none)."""
    return len(shape) == 4 and not (shape[2] == 1 and shape[3] == 1)


def isolated(nz: np.ndarray, window: int = 3) -> np.ndarray:
    """bool [N, C, H, W]: the nonzeros of ``nz`` with no nonzero neighbour in
    their ``window`` x ``window`` neighbourhood (the value itself excluded)."""
    b = (nz != 0).astype(np.int32)
    half = window // 2
    padded = np.pad(b, ((0, 0), (0, 0), (half + 1, half), (half + 1, half)))
    integral = padded.cumsum(axis=2).cumsum(axis=3)
    H, W = b.shape[2], b.shape[3]
    box = (integral[:, :, window:window + H, window:window + W]
           - integral[:, :, 0:H, window:window + W]
           - integral[:, :, window:window + H, 0:W]
           + integral[:, :, 0:H, 0:W])
    return (b == 1) & (box - b == 0)


def sporadic_degree(nz: np.ndarray, window: int = 3) -> float:
    """Fraction of nonzeros of ``nz`` [N, C, H, W] with no nonzero neighbour."""
    if window < 3 or window % 2 == 0:
        raise ValueError(f"sporadic window must be odd and >= 3 (got {window})")
    if not has_neighbourhood(nz.shape):
        return float("nan")
    total = int(np.count_nonzero(nz))
    if total == 0:
        return 0.0
    return float(np.count_nonzero(isolated(nz, window)) / total)


def nm_mask(shape: tuple[int, ...], n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """A bool mask of a weight tensor keeping exactly ``n`` of every ``m``
    consecutive input channels.

    The group axis is C, the input channel: a group is ``m`` consecutive
    channels at one fixed output channel k and tap (r, s) of a conv weight
    [K, C, R, S], or ``m`` consecutive input features at one output feature of
    a linear weight [K, C]. This is NVIDIA's 2:4 structured sparsity as its
    ASP library prunes (``apex/contrib/sparsity/sparse_masklib.py``,
    ``create_mask``: a conv weight is permuted to (R, S, K, C) and grouped
    along C; Mishra et al., "Accelerating Sparse Deep Neural Networks",
    arXiv:2104.08378, 2021), the axis sparse tensor cores reduce over.

    When C is not a multiple of ``m``, the last group of each (k, r, s) holds
    the ``C mod m`` remaining channels and keeps ``min(n, C mod m)`` of them
    (ASP pads such a group with zeros, which are pruned first, so it keeps the
    same). Which ``n`` survive in a group is drawn at random (seeded).
    """
    if not 0 < n <= m:
        raise ValueError(f"N:M needs 0 < N <= M (got {n}:{m})")
    if len(shape) < 2:
        raise ValueError(f"N:M prunes a [K, C, ...] weight (got shape {list(shape)})")
    c = shape[1]
    # (K, C, *taps) -> (K, *taps, C): one row per (k, r, s), C along the row
    order = (0, *range(2, len(shape)), 1)
    rows = int(np.prod(shape)) // c if c else 0
    keep = np.zeros((rows, c), dtype=bool)
    for start in range(0, c, m):
        size = min(m, c - start)
        ranks = rng.random((rows, size)).argsort(axis=1)
        keep[:, start:start + size] = ranks < min(n, size)
    moved = tuple(shape[i] for i in order)
    return np.ascontiguousarray(keep.reshape(moved).transpose(np.argsort(order)))
