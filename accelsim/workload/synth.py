"""Synthetic traces: built-in network shapes filled with seeded random tensors.

Place in the pipeline: a producer of ``trace.npz`` (beside the PyTorch bridge).

Random tensors stand in for real data where shapes matter more than values.
Zero fractions are met exactly: a tensor of ``size`` elements with fraction
``f`` has exactly ``round(f * size)`` zeros at seeded random positions.
Assumptions, named here because they shape the numbers:

- Activations are non-negative (they follow a ReLU, or are an image); nonzero
  values are uniform in [1, 2**(act_bits-1) - 1]. Weights are signed, nonzero
  values uniform in +-[1, 2**(weight_bits-1) - 1].
- A MAC layer's output is written with the zero fraction requested for the input
  of the next MAC layer in trace order (flatten, average pooling and the like
  are taken to keep the zero fraction); when none was requested for it, with
  the layer's own input fraction (ReLU networks keep their sparsity from layer
  to layer). An input with no fraction requested is dense (but see the max
  pool rule below). Real traces (the PyTorch bridge) carry real outputs.
- Except where that would contradict the network: a ReLU layer whose output
  reaches the next MAC layer through one max pool with a window (and
  possibly a flatten after it), and nothing else, gets the output that max
  pool maps to the next layer's input exactly, with the fewest zeros
  (:func:`max_pool_preimage`). A max pool's output is zero only where its
  whole window is, so the next layer's zeros force zeros over their windows:
  with AlexNet's 3x3 stride-2 pools and the next input's zeros at random
  positions, conv1's output holds 61% zeros when conv2's input holds 38.7%
  (and conv2's 88% for conv3's 72.5%); 2x2 stride-2 pools (VGG, LeNet) keep
  the fraction, in 2x2 blocks. It is the least sparse output consistent with
  the next input; real outputs, whose zeros cluster, need fewer zeros for the
  same pooled fraction, and a real trace carries them. (Before, outputs
  took the next input's fraction at independent positions, and max pooling
  them would have left nearly no zeros: 0.387**9 of the windows.) When no
  fraction was requested for the next layer's input, that input is this
  output max-pooled instead of dense (AlexNet's fc6 input is conv5's output
  through pool5 and the flatten).
"""

from __future__ import annotations

import math
import os

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layer import Layer, PoolWindow, layer_from_header
from accelsim.workload.networks import NETWORKS, network_layers
from accelsim.workload.quant import int_dtype
from accelsim.workload.sparsity import nm_mask
from accelsim.workload.trace import write_trace


def parse_fractions(text: str | None, layer_names: list[str], option: str
                    ) -> tuple[float | None, dict]:
    """Parse ``0.5`` or ``conv1=0.1,conv2=0.3`` into (default, per-layer dict).

    The default is None when no plain fraction was given.

    Raises :class:`AccelsimError` naming the option and the bad part; a layer
    (or the plain default) given twice is an error, not the last one winning.
    """
    if text is None or text == "":
        return None, {}
    default, per = None, {}
    for part in text.split(","):
        part = part.strip()
        name, sep, value = part.rpartition("=")
        try:
            frac = float(value)
        except ValueError:
            raise AccelsimError(f"{option}: {part!r} is not a fraction or name=fraction") from None
        if not 0.0 <= frac <= 1.0:
            raise AccelsimError(f"{option}: fraction must be in [0, 1] (got {part!r})")
        if (not sep and default is not None) or (sep and name in per):
            what = f"layer {name!r}" if sep else "the fraction of every layer"
            raise AccelsimError(f"{option}: {what} is given twice (got {text!r})")
        if not sep:
            default = frac
        elif name not in layer_names:
            raise AccelsimError(f"{option}: no MAC layer named {name!r} (layers: "
                                f"{', '.join(layer_names)})")
        else:
            per[name] = frac
    return default, per


def random_tensor(rng: np.random.Generator, shape, bits: int, zero_fraction: float,
                  signed: bool) -> np.ndarray:
    """A tensor with exactly ``round(zero_fraction * size)`` zeros."""
    size = int(np.prod(shape))
    hi = max(2 ** (bits - 1) - 1, 1)
    vals = rng.integers(1, hi + 1, size=size, dtype=np.int64)
    if signed:
        vals *= rng.choice(np.array([-1, 1], dtype=np.int64), size=size)
    zeros = int(round(zero_fraction * size))
    if zeros:
        vals[rng.choice(size, zeros, replace=False)] = 0
    return vals.astype(int_dtype(bits)).reshape(shape)


def _window_index(size: int, out: int, k: int, stride: int, pad: int, offset: int):
    """For one axis and one kernel offset: the windows (0..out-1) whose tap at
    ``offset`` lands inside the input, and the input positions it lands on."""
    pos = np.arange(out) * stride - pad + offset
    inside = (pos >= 0) & (pos < size)
    return np.flatnonzero(inside), pos[inside]


def _taps(shape: tuple[int, ...], out_hw: tuple[int, int], window: PoolWindow):
    """Per kernel offset: index grids (windows, input elements) of the taps that
    land inside the input; one offset maps distinct windows to distinct
    elements."""
    n, c, h, w = shape
    (kh, kw), (sh, sw), (pah, paw) = window.kernel, window.stride, window.padding
    bn, bc = np.arange(n), np.arange(c)
    for dy in range(kh):
        wy, iy = _window_index(h, out_hw[0], kh, sh, pah, dy)
        for dx in range(kw):
            wx, ix = _window_index(w, out_hw[1], kw, sw, paw, dx)
            yield np.ix_(bn, bc, wy, wx), np.ix_(bn, bc, iy, ix)


def max_pool(x: np.ndarray, window: PoolWindow) -> np.ndarray:
    """Max pool of a non-negative [N, C, H, W] tensor (padding never wins), int64."""
    oh, ow = window.out_size(x.shape[2], x.shape[3])
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=np.int64)
    for win, elem in _taps(x.shape, (oh, ow), window):
        out[win] = np.maximum(out[win], x[elem])
    return out


def max_pool_preimage(pooled: np.ndarray, in_shape: tuple[int, ...],
                      window: PoolWindow) -> tuple[np.ndarray, np.ndarray] | None:
    """The non-negative tensor of shape ``in_shape`` with the fewest zeros
    whose max pool over ``window`` is ``pooled`` (non-negative): every
    element takes the smallest pooled value of the windows that cover it, so
    it is zero exactly where a zero window covers it. Returns it with a mask
    of the elements no window covers (free: any value keeps the pool), or
    None when no such tensor exists: a nonzero window every element of which
    a zero window also covers. That cannot happen when every window has an
    element no other window covers, as when the stride is more than half the
    kernel (2 * stride > kernel on both axes: AlexNet's 3x3 stride 2, VGG's
    2x2 stride 2); a 2x1 stride-1 or 4x4 stride-2 pool may have none, and
    synth then keeps the output it drew."""
    top = np.iinfo(np.int64).max
    out = np.full(in_shape, top, dtype=np.int64)
    src = pooled.astype(np.int64)
    for win, elem in _taps(in_shape, src.shape[2:], window):
        out[elem] = np.minimum(out[elem], src[win])
    free = out == top
    out[free] = 0
    if not np.array_equal(max_pool(out, window), src):
        return None
    return out, free


def _pool_chain(layers: list[Layer], heads: list[dict], first: int, last: int
                ) -> PoolWindow | None:
    """The window of the one max pool between MAC layers ``first`` and ``last``
    (positions in ``layers``) when the entries between them are exactly that
    pool, optionally followed by a flatten, each consuming the entry before."""
    between = list(range(first + 1, last))
    if not between or any("inputs" in heads[i] for i in between):
        return None
    ops = [layers[i].op for i in between]
    if ops not in (["maxpool"], ["maxpool", "flatten"]):
        return None
    pool = layers[between[0]]
    if pool.window is None or tuple(pool.input_shape) != tuple(layers[first].output_shape):
        return None
    return pool.window


def parse_pattern(pattern: str) -> tuple[int, int] | None:
    """``random`` -> None; ``N:M`` -> (N, M). Raises AccelsimError otherwise."""
    if pattern == "random":
        return None
    n, sep, m = pattern.partition(":")
    if sep and n.isdigit() and m.isdigit() and 0 < int(n) <= int(m):
        return int(n), int(m)
    raise AccelsimError(f"--weight-pattern: must be 'random' or N:M with 0 < N <= M "
                        f"(got {pattern!r})")


def synth_trace(network: str, path: str, *, batch: int = 1, seed: int = 0,
                ifmap_zeros: str | None = None, weight_zeros: str | None = None,
                weight_pattern: str = "random", weight_bits: int = 16, act_bits: int = 16,
                compress: bool = False) -> None:
    """Write a synthetic trace of a built-in network (``accelsim synth``).

    ``weight_pattern`` ``N:M`` prunes every weight to exactly N nonzeros in each
    group of M consecutive input channels (accelsim.workload.sparsity.nm_mask);
    the pattern fixes the zeros, so ``weight_zeros`` may be given only as the
    fraction the pattern implies, 1 - N/M.
    """
    nm = parse_pattern(weight_pattern)
    if network not in NETWORKS:
        raise AccelsimError(f"synth: unknown network {network!r} (known: "
                            f"{', '.join(sorted(NETWORKS))})")
    if batch < 1:
        raise AccelsimError(f"--batch: must be >= 1 (got {batch})")
    if seed < 0:
        raise AccelsimError(f"--seed: must be >= 0 (got {seed})")
    for option, bits in (("--weight-bits", weight_bits), ("--act-bits", act_bits)):
        if not 2 <= bits <= 32:
            raise AccelsimError(f"{option}: must be between 2 and 32 (got {bits})")
    # a batch whose feature maps alone exceed this machine's memory fails here,
    # naming the option, not in numpy's allocator (float32 while synthesized)
    per_image = sum(math.prod(h["input_shape"][1:]) for h in network_layers(network, 1))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") \
        if hasattr(os, "sysconf") else None
    if memory and per_image * batch * 4 > memory:
        raise AccelsimError(f"--batch: {batch} images of {network} take "
                            f"{per_image * batch * 4 / 2**30:,.0f} GiB of feature maps, more "
                            f"than this machine's {memory / 2**30:,.0f} GiB (got {batch})")
    headers = network_layers(network, batch)
    for head in headers:
        if head["kind"] in ("conv2d", "linear"):
            head.update(weight_bits=weight_bits, act_bits=act_bits)
    layers = [layer_from_header(h, i)[0] for i, h in enumerate(headers)]
    mac_names = [layer.name for layer in layers if layer.is_mac]
    in_default, in_per = parse_fractions(ifmap_zeros, mac_names, "--ifmap-zeros")
    w_default, w_per = parse_fractions(weight_zeros, mac_names, "--weight-zeros")
    if nm is not None:
        implied = 1 - nm[0] / nm[1]
        for frac in ([] if w_default is None else [w_default]) + list(w_per.values()):
            if abs(frac - implied) > 1e-9:
                raise AccelsimError(f"--weight-zeros: the pattern {nm[0]}:{nm[1]} implies a "
                                    f"weight zero fraction of {implied:g} (got {frac:g})")
        w_default, w_per = None, {}  # the mask below makes the zeros
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    macs = [(h, layer) for h, layer in zip(headers, layers) if layer.is_mac]
    def requested(name):
        return in_per.get(name, in_default)

    for idx, (head, layer) in enumerate(macs):
        in_frac = requested(layer.name) or 0.0
        nxt = macs[idx + 1][1].name if idx + 1 < len(macs) else None
        out_frac = requested(nxt) if nxt is not None and requested(nxt) is not None else in_frac
        key = f"t{idx}"
        arrays[f"{key}.input"] = random_tensor(rng, layer.input_shape, layer.act_bits,
                                               in_frac, signed=False)
        weight = random_tensor(rng, layer.weight_shape, layer.weight_bits,
                               w_per.get(layer.name, w_default) or 0.0, signed=True)
        if nm is not None:
            weight[~nm_mask(weight.shape, nm[0], nm[1], rng)] = 0
        arrays[f"{key}.weight"] = weight
        arrays[f"{key}.output"] = random_tensor(rng, layer.output_shape, layer.act_bits,
                                                out_frac, signed=layer.activation != "relu")
        head["tensors"] = {"input": f"{key}.input", "weight": f"{key}.weight",
                           "output": f"{key}.output"}
    # outputs the next layer's input fixes through a max pool (module docstring);
    # after the loop, so that every tensor draws the same random numbers as before
    positions = [i for i, layer in enumerate(layers) if layer.is_mac]
    for idx in range(len(macs) - 1):
        layer, nxt = macs[idx][1], macs[idx + 1][1]
        window = _pool_chain(layers, headers, positions[idx], positions[idx + 1])
        if window is None or layer.activation != "relu":
            continue
        pool = layers[positions[idx] + 1]
        if requested(nxt.name) is None:  # the next input is this output, pooled
            x = arrays[f"t{idx + 1}.input"]
            arrays[f"t{idx + 1}.input"] = max_pool(arrays[f"t{idx}.output"], window).reshape(
                x.shape).astype(x.dtype)
            continue
        pooled = arrays[f"t{idx + 1}.input"].reshape(pool.output_shape)
        found = max_pool_preimage(pooled, layer.output_shape, window)
        if found is None:
            continue
        out, free = found
        old = arrays[f"t{idx}.output"]
        arrays[f"t{idx}.output"] = np.where(free, old, out).astype(old.dtype)
    write_trace(path, network=network, batch=batch, layers=headers, arrays=arrays,
                compress=compress)
