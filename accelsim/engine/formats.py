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

FORMAT_CODES = {"none": K.FMT_NONE, "rlc": K.FMT_RLC, "csc": K.FMT_CSC,
                "bitmap": K.FMT_BITMAP, "block": K.FMT_BLOCK}


def format_params(arch: ArchSpec) -> np.ndarray:
    """The ``fp`` array of the tile encoder for this arch's format parameters."""
    f = arch.formats
    fp = np.zeros(K.FP_LEN, dtype=np.int64)
    fp[K.FP_RUN_MAX] = 2 ** f.rlc.run_bits - 1
    fp[K.FP_PAIRS_PER_WORD] = f.rlc.pairs_per_word
    fp[K.FP_RLC_WORD_BITS] = f.rlc.word_bits
    fp[K.FP_COUNT_MAX] = 2 ** f.csc.count_bits - 1
    fp[K.FP_COUNT_BITS] = f.csc.count_bits
    fp[K.FP_ADDRESS_BITS] = f.csc.address_bits
    fp[K.FP_BLOCK] = f.block.block_elems
    return fp


def encoded_bits(nz: np.ndarray, fmt: str, arch: ArchSpec, value_bits: int) -> int:
    """Bits of a whole 4-D tensor coded as one stream in ``fmt`` (no bursts)."""
    fp = format_params(arch)
    summ = K._row_summaries(np.ascontiguousarray(nz, dtype=np.uint8), fp)
    return int(K._tile_bits(summ, 0, nz.shape[0], 0, nz.shape[1], np.arange(nz.shape[2]),
                            nz.shape[3], FORMAT_CODES[fmt], fp, value_bits))
