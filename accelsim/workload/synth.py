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
  of the next MAC layer in trace order (pooling, flatten and the like are taken
  to keep the zero fraction); when none was requested for it, with the layer's
  own input fraction (ReLU networks keep their sparsity from layer to layer).
  An input with no fraction requested is dense. Real traces (the PyTorch
  bridge) carry real outputs.
"""

from __future__ import annotations

import math
import os

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layer import layer_from_header
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
    write_trace(path, network=network, batch=batch, layers=headers, arrays=arrays,
                compress=compress)
