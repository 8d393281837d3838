"""Engine: execute one mapped layer on its real tensors and count everything.

Place in the pipeline: ``mapping -> engine`` (this module) ``-> energy``.

What is modeled, per processing pass (see ``kernels._simulate_nest``):

- filters DRAM -> filter GLB -> filter bus -> spads; loaded before compute unless
  the filter spad can double-buffer (2*p*q*S entries fit);
- ifmap ramp-up: before the last PE can start, every distinct ifmap row stream
  must have received its first S words over the ifmap bus;
- per image: the busiest PE computes p*q*S*Q MACs (taps on padding included,
  since the PE steps through the padded row) and ``psum_accumulate_cycles``
  per filter and output pixel adding the psum that arrives from the PE below
  (the PE's ipsum path), while the ifmap bus streams the rows
  and the psum bus carries psums in and out; the slowest sets the pace;
- drain: pipeline depth plus the psum accumulation chain up the R*r PEs;
- DRAM, on its own link (``kernels._timeline``): ifmap tiles (run-length coded
  from the real data), each pass's filters, and the RLC-coded results of each
  pass of the last channel block; the DMA prefetches the next pass's data as
  soon as a buffer is free for it (two ifmap tiles or two psum regions where
  the GLB banks allow, the filter buffer once a pass's filters sit in the
  spads) and writes results back after the pass that completes them; the
  array waits when data is not there. ``processing`` cycles assume DRAM fully
  overlapped.

Padding costs cycles but no energy: the zero is generated at the PE, not read.
"""

from __future__ import annotations

import numpy as np

from accelsim.enums import Cycle, Level, Tensor
from accelsim.engine import kernels as K
from accelsim.engine.counts import LayerCounts
from accelsim.mapping.rowstationary import Mapping, glb_ifmap_rows, strip_table
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
    # a pass's filters are staged through the filter buffer into the spads at the
    # start of the pass; once there, the whole buffer is free to prefetch the
    # next pass's filters (JSSC 2017 Sec. IV-B: the filter banks prefetch the
    # next pass). Filters larger than the buffer stream with no prefetch.
    hw[K.HW_FILTER_PREFETCH] = int(pass_filter_bytes <= g.filter_banks * g.filter_bank_size_bytes)
    ifb, psb = glb_banks(layer, arch, mp)
    hw[K.HW_IFMAP_DBUF] = int(g.ifmap_double_buffering and psb + 2 * ifb <= g.banks)
    hw[K.HW_PSUM_DBUF] = int(g.psum_double_buffering
                             and 2 * psb + (2 if hw[K.HW_IFMAP_DBUF] else 1) * ifb <= g.banks)
    hw[K.HW_SPAD_FILTER_DBUF] = int(2 * mp.p * mp.q * layer.s <= arch.filter_spad.entries)
    hw[K.HW_WEIGHT_BITS] = layer.weight_bits
    hw[K.HW_ACCUMULATE] = arch.pe_array.psum_accumulate_cycles
    return hw


def glb_banks(layer: Layer, arch: ArchSpec, mp: Mapping) -> tuple[int, int]:
    """GLB banks the mapping gives to ifmaps and to psums (JSSC 2017 Sec. IV-B)."""
    bank = arch.glb.bank_size_bytes
    st = strip_table(layer, mp.e)
    rows, _, width = glb_ifmap_rows(layer, arch, st)
    ifmap = mp.gp * mp.n * mp.q * mp.r * int(rows.max()) * width * arch.ifmap_spad.word_bits / 8
    psum = mp.gp * mp.m * mp.n * mp.e * layer.q * arch.psum_spad.word_bits / 8
    return -(-int(ifmap) // bank), -(-int(psum) // bank)


def simulate_layer(layer: Layer, arch: ArchSpec, mp: Mapping, *, input_nz: np.ndarray,
                   output_nz: np.ndarray, first_layer: bool,
                   tile_cache: dict | None = None) -> LayerCounts:
    """Run one mapped MAC layer; ``*_nz`` are :func:`nonzero_mask` arrays.

    ``tile_cache``: a dict kept across calls for the same layer and data (the
    mapping search passes one), so tilings shared by several candidates are
    encoded once.
    """
    st = strip_table(layer, mp.e)
    rlc = arch.dram.rlc
    run_max = 2 ** rlc.run_bits - 1
    compress_in = arch.dram.ifmap_compression == "rlc" and (
        not first_layer or arch.dram.compress_first_layer_input)
    compress_out = arch.dram.ofmap_compression == "rlc"
    cache = {} if tile_cache is None else tile_cache
    if ("summaries", run_max) not in cache:
        cache[("summaries", run_max)] = (K._row_summaries(input_nz, run_max),
                                         K._row_summaries(output_nz, run_max))
    in_summ, out_summ = cache[("summaries", run_max)]
    key_in = ("ifmap", mp.n, mp.gp, mp.q * mp.r, mp.e, compress_in)
    if key_in not in cache:
        cache[key_in] = K._ifmap_tile_bits(
            in_summ, layer.groups, layer.c, mp.n, mp.gp, mp.q * mp.r, st.row_ptr, st.row_idx,
            input_nz.shape[3], run_max, rlc.pairs_per_word, rlc.word_bits, layer.act_bits,
            int(compress_in))
    key_out = ("ofmap", mp.m, mp.p * mp.t, mp.n, mp.gp, mp.e, compress_out)
    if key_out not in cache:
        cache[key_out] = K._ofmap_tile_bits(
            out_summ, layer.groups, layer.k, mp.m, mp.p * mp.t, mp.n, mp.gp, mp.e,
            output_nz.shape[3], run_max, rlc.pairs_per_word, rlc.word_bits, layer.act_bits,
            int(compress_out))
    if_bits, of_bits = cache[key_in], cache[key_out]
    g_rows, g_pe_rows, g_width = glb_ifmap_rows(layer, arch, st)
    dims = np.array([layer.n, layer.groups, layer.c, layer.k, layer.w, layer.r, layer.s,
                     layer.q, layer.p, g_width], dtype=np.int64)
    mpa = np.array([mp.e, mp.p, mp.q, mp.r, mp.t, mp.gp, mp.m, mp.n, mp.segments],
                   dtype=np.int64)
    hw = hw_params(layer, arch, mp)
    cyc, words, dbits, busy, passes = K._simulate_nest(dims, mpa, hw, st.e_act, st.rows_in,
                                                       g_rows, g_pe_rows, if_bits, of_bits)
    total, _ = K._timeline(passes, float(arch.dram_bytes_per_cycle * 8),
                           hw[K.HW_FILTER_PREFETCH], hw[K.HW_IFMAP_DBUF], hw[K.HW_PSUM_DBUF],
                           -(-mp.m // (mp.p * mp.t)))
    cyc[Cycle.TOTAL] = total
    cyc[Cycle.DRAM_STALL] = total - cyc[Cycle.PROCESSING]
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
