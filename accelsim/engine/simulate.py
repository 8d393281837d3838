"""Engine: execute one mapped layer on its real tensors and count everything.

Place in the pipeline: ``mapping -> engine`` (this module) ``-> energy``.

What is modeled, per processing pass (see ``kernels._simulate_nest``):

- filters DRAM -> filter GLB -> filter bus -> spads; loaded before compute unless
  the filter spad can double-buffer (2*p*q*S entries fit);
- ifmap ramp-up: before the last PE can start, every distinct ifmap row stream
  must have received its first S words over the ifmap bus;
- per image: the busiest PE computes p*q*S*Q MACs (taps on padding included,
  since the PE steps through the padded row), while the ifmap bus streams the
  rows and the psum bus carries psums in and out; the slowest sets the pace;
- drain: pipeline depth plus the psum accumulation chain up the R*r PEs;
- DRAM, on its own link: ifmap tiles (run-length coded from the real data),
  each pass's filters, and the RLC-coded results, in program order, with double
  buffering where the GLB has room (ifmap and psum banks; filter banks); the
  array waits when data is not there. ``processing`` cycles assume DRAM fully
  overlapped.

Padding costs cycles but no energy: the zero is generated at the PE, not read.
"""

from __future__ import annotations

import numpy as np

from accelsim.enums import Level, Tensor
from accelsim.engine import kernels as K
from accelsim.engine.counts import LayerCounts
from accelsim.mapping.rowstationary import Mapping, strip_table
from accelsim.spec.arch import ArchSpec
from accelsim.workload.layer import Layer, LayerKind, valid_taps


def _as_nchw(layer: Layer, x: np.ndarray) -> np.ndarray:
    if layer.kind is LayerKind.LINEAR:
        return x.reshape(x.shape[0], x.shape[1], 1, 1)
    return x


def nonzero_mask(layer: Layer, x: np.ndarray) -> np.ndarray:
    """uint8 [N, C_total, H, W] with 1 where ``x`` is nonzero (contiguous)."""
    return np.ascontiguousarray(_as_nchw(layer, x) != 0).view(np.uint8)


def gated_macs(layer: Layer, input_nz: np.ndarray) -> int:
    """MACs (padding excluded) whose ifmap operand is zero.

    Each input element at (h, w) is read by ``K * cnt_h[h] * cnt_w[w]`` MACs,
    where ``cnt`` counts the (output, tap) pairs on that row or column.
    """
    cnt_h = valid_taps(layer.h, layer.r, layer.p, layer.stride_h, layer.pad_h, layer.dilation_h)
    cnt_w = valid_taps(layer.w, layer.s, layer.q, layer.stride_w, layer.pad_w, layer.dilation_w)
    zeros_hw = (input_nz.shape[0] * input_nz.shape[1]
                - input_nz.sum(axis=(0, 1), dtype=np.int64))
    return int(layer.k * np.einsum("hw,h,w->", zeros_hw, cnt_h, cnt_w))


def hw_params(layer: Layer, arch: ArchSpec, mp: Mapping) -> np.ndarray:
    """The ``hw`` array of ``_simulate_nest`` for this layer and mapping."""
    hw = np.zeros(K.HW_LEN, dtype=np.int64)
    hw[K.HW_IFMAP_BUS_WORDS] = max(1, arch.noc.ifmap_bus_bits // arch.ifmap_spad.word_bits)
    hw[K.HW_FILTER_BUS_WORDS] = max(1, arch.noc.filter_bus_bits // arch.filter_spad.word_bits)
    hw[K.HW_PSUM_BUS_WORDS] = max(1, arch.noc.psum_bus_bits // arch.psum_spad.word_bits)
    hw[K.HW_PIPELINE_DEPTH] = arch.pe_array.pipeline_depth
    hw[K.HW_MACS_PER_PE] = arch.mac.macs_per_pe_per_cycle
    g = arch.glb
    pass_filter_bytes = (mp.gp * mp.p * mp.t * mp.q * mp.r * layer.r * layer.s
                         * arch.filter_spad.word_bits / 8)
    hw[K.HW_FILTER_PREFETCH] = int(2 * pass_filter_bytes <= g.filter_banks * g.filter_bank_size_bytes)
    ifb, psb = glb_banks(layer, arch, mp)
    hw[K.HW_IFMAP_DBUF] = int(psb + 2 * ifb <= g.banks)
    hw[K.HW_PSUM_DBUF] = int(2 * psb + (2 if hw[K.HW_IFMAP_DBUF] else 1) * ifb <= g.banks)
    hw[K.HW_SPAD_FILTER_DBUF] = int(2 * mp.p * mp.q * layer.s <= arch.filter_spad.entries)
    hw[K.HW_WEIGHT_BITS] = layer.weight_bits
    return hw


def glb_banks(layer: Layer, arch: ArchSpec, mp: Mapping) -> tuple[int, int]:
    """GLB banks the mapping gives to ifmaps and to psums (JSSC 2017 Sec. IV-B)."""
    bank = arch.glb.bank_size_bytes
    st = strip_table(layer, mp.e)
    ifmap = mp.gp * mp.n * mp.q * mp.r * int(st.rows_in.max()) * layer.w * arch.ifmap_spad.word_bits / 8
    psum = mp.gp * mp.m * mp.n * mp.e * layer.q * arch.psum_spad.word_bits / 8
    return -(-int(ifmap) // bank), -(-int(psum) // bank)


def simulate_layer(layer: Layer, arch: ArchSpec, mp: Mapping, *, input_nz: np.ndarray,
                   output_nz: np.ndarray, first_layer: bool) -> LayerCounts:
    """Run one mapped MAC layer; ``*_nz`` are :func:`nonzero_mask` arrays."""
    st = strip_table(layer, mp.e)
    rlc = arch.dram.rlc
    run_max = 2 ** rlc.run_bits - 1
    compress_in = arch.dram.ifmap_compression == "rlc" and (
        not first_layer or arch.dram.compress_first_layer_input)
    if_bits = K._ifmap_tile_bits(input_nz, layer.groups, layer.c, mp.n, mp.gp, mp.q * mp.r,
                                 st.row_ptr, st.row_idx, run_max, rlc.pairs_per_word,
                                 rlc.word_bits, layer.act_bits, int(compress_in))
    of_bits = K._ofmap_tile_bits(output_nz, layer.groups, layer.k, mp.m, mp.n, mp.gp, mp.e,
                                 run_max, rlc.pairs_per_word, rlc.word_bits, layer.act_bits,
                                 int(arch.dram.ofmap_compression == "rlc"))
    dims = np.array([layer.n, layer.groups, layer.c, layer.k, layer.w, layer.r, layer.s,
                     layer.q, layer.p, 0], dtype=np.int64)
    mpa = np.array([mp.e, mp.p, mp.q, mp.r, mp.t, mp.gp, mp.m, mp.n, mp.segments],
                   dtype=np.int64)
    cyc, words, dbits, busy = K._simulate_nest(
        dims, mpa, hw_params(layer, arch, mp), float(arch.dram_bytes_per_cycle * 8),
        st.e_act, st.rows_in, st.pe_rows, if_bits, of_bits)
    macs = layer.macs
    gated = gated_macs(layer, input_nz) if arch.sparsity.ifmap == "gate" else 0
    performed = macs - gated
    # spad accesses of the MACs themselves: every tap on real input reads the
    # ifmap spad; a gated MAC stops there (no filter read, no psum update).
    words[Level.SPAD, Tensor.IFMAP, 0] += macs
    words[Level.SPAD, Tensor.WEIGHT, 0] += performed
    words[Level.SPAD, Tensor.PSUM, 0] += performed
    words[Level.SPAD, Tensor.PSUM, 1] += performed
    widths = np.array([layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits],
                      dtype=np.int64)
    bits = words * widths[None, :, None]
    bits[Level.DRAM] = dbits
    return LayerCounts(cycles=cyc, words=words, bits=bits, macs=macs,
                       macs_padded=layer.macs_padded, macs_performed=performed,
                       macs_gated=gated, macs_skipped=0, active_pes=mp.active_pes,
                       pe_busy_cycles=int(busy[0]))
