"""Compression formats by name: the registry the spec's format names resolve to.

Place in the pipeline: inside ``engine``. Each format is a code the numba tile
encoder (``kernels._tile_bits``) dispatches on, plus its parameters from the
arch's ``formats`` section; adding a format is adding a code here and a branch
in the encoder, with its definition in ``kernels._tile_bits``'s docstring.
"""

from __future__ import annotations

import numpy as np

from accelsim.engine import kernels as K
from accelsim.spec.arch import ArchSpec
from accelsim.workload.layer import Layer

FORMAT_CODES = {"none": K.FMT_NONE, "rlc": K.FMT_RLC, "csc": K.FMT_CSC,
                "bitmap": K.FMT_BITMAP, "block": K.FMT_BLOCK}


def format_params(arch: ArchSpec) -> np.ndarray:
    """The ``fp`` array of the tile encoder for this arch's format parameters.

    RLC's value field and pairs per word may follow the coded tensor's width
    (``RlcSpec``): 0 in ``FP_RLC_VALUE_BITS`` / ``FP_PAIRS_PER_WORD`` tells the
    encoder to derive them from the ``value_bits`` it is called with.
    """
    f = arch.formats
    fp = np.zeros(K.FP_LEN, dtype=np.int64)
    fp[K.FP_RUN_MAX] = 2 ** f.rlc.run_bits - 1
    fp[K.FP_PAIRS_PER_WORD] = f.rlc.pairs_per_word or 0
    fp[K.FP_RLC_WORD_BITS] = f.rlc.word_bits
    fp[K.FP_COUNT_MAX] = 2 ** f.csc.count_bits - 1
    fp[K.FP_COUNT_BITS] = f.csc.count_bits
    fp[K.FP_ADDRESS_BITS] = f.csc.address_bits
    fp[K.FP_BLOCK] = f.block.block_elems
    fp[K.FP_RUN_BITS] = f.rlc.run_bits
    fp[K.FP_RLC_VALUE_BITS] = f.rlc.value_bits or 0
    return fp


def rlc_problem(layer: Layer, arch: ArchSpec, first_layer: bool) -> str | None:
    """Why the arch's RLC cannot code this layer's data, or None.

    Only tensors some level stores run-length coded are checked: activations
    (the DRAM ifmap, unless this is the first layer and its input stays plain,
    the DRAM ofmap, the GLB ifmap) and weights (DRAM or GLB).
    """
    rlc = arch.formats.rlc
    dram, glb = arch.dram, arch.glb
    act_uses = [dram.ofmap_compression, glb.ifmap_compression]
    if not first_layer or dram.compress_first_layer_input:
        act_uses.append(dram.ifmap_compression)
    for bits, what, uses in ((layer.act_bits, "activations", act_uses),
                             (layer.weight_bits, "weights",
                              [dram.weight_compression, glb.weight_compression])):
        if "rlc" not in uses:
            continue
        data = f"layer {layer.name}'s {bits}-bit {what}"
        if rlc.value_bits is not None and bits > rlc.value_bits:
            return f"formats.rlc.value_bits {rlc.value_bits} cannot hold {data}"
        field = rlc.value_field_bits(bits)
        if rlc.pairs_per_word is not None:
            if rlc.pairs_per_word * (rlc.run_bits + field) > rlc.word_bits:
                return (f"formats.rlc.pairs_per_word {rlc.pairs_per_word} pairs of run_bits "
                        f"{rlc.run_bits} + {data} exceed word_bits {rlc.word_bits}")
        elif rlc.pairs(bits) < 1:
            return (f"formats.rlc: run_bits {rlc.run_bits} + {data} exceed word_bits "
                    f"{rlc.word_bits}")
    return None


def encoded_bits(nz: np.ndarray, fmt: str, arch: ArchSpec, value_bits: int) -> int:
    """Bits of a whole 4-D tensor coded as one stream in ``fmt`` (no bursts)."""
    fp = format_params(arch)
    mask = np.ascontiguousarray(nz, dtype=np.uint8)
    summ = K._row_summaries(mask, fp)
    return int(K._tile_bits(summ, mask, 0, nz.shape[0], 0, nz.shape[1], np.arange(nz.shape[2]),
                            nz.shape[3], FORMAT_CODES[fmt], fp, value_bits))
