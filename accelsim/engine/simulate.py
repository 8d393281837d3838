"""Engine: execute one mapped layer on its real tensors and count everything.

Place in the pipeline: ``mapping -> engine`` (this module) ``-> energy``.

What is modeled, per processing pass (see ``kernels._simulate_nest``):

- filters DRAM -> filter GLB -> filter bus -> spads; loaded before compute unless
  the filter spad can double-buffer (2*p*q*S entries fit);
- ifmap ramp-up: before the last PE can start, every distinct ifmap row stream
  (every PE's, without multicast) must have received its first S words over
  the ifmap bus;
- per image: the busiest PE computes p*q*S*Q MACs (taps on padding included,
  since the PE steps through the padded row) and ``psum_accumulate_cycles``
  per filter and output pixel adding the psum that arrives from the PE below
  (the PE's ipsum path), while the ifmap bus streams the rows, the psum bus
  carries psums in and out, the GLB's ifmap and psum banks serve them (one
  ``glb.word_bits`` word per bank per cycle) and the PE-to-PE psum link
  forwards each PE's psums up its column; the slowest sets the pace, and what
  exceeds compute is NoC/GLB stall;
- drain: pipeline depth plus the psum accumulation chain up the R*r PEs (the
  r_rows*r of a fold when a filter taller than the array is folded: each fold
  is a pass of its filter rows, reading the ifmap rows they touch from the
  tile, its psums going through the GLB as a channel block's);
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

import math

import numpy as np

from accelsim.enums import Cycle, Level, Rw, Tensor
from accelsim.errors import AccelsimError
from accelsim.engine import kernels as K
from accelsim.engine.counts import LayerCounts
from accelsim.engine.formats import FORMAT_CODES, format_params, rlc_problem
from accelsim.engine.sparse import classify, ifmap_zero_slots, weight_zero_slots
from accelsim.mapping.kernels import glb_double_buffers
from accelsim.mapping.rowstationary import Mapping, glb_ifmap_rows, strip_table
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import mac_rate
from accelsim.workload.layer import Layer, LayerKind


def _as_nchw(layer: Layer, x: np.ndarray) -> np.ndarray:
    if layer.kind is LayerKind.LINEAR:
        return x.reshape(x.shape[0], x.shape[1], 1, 1)
    return x


def nonzero_mask(layer: Layer, x: np.ndarray) -> np.ndarray:
    """uint8 [N, C_total, H, W] with 1 where ``x`` is nonzero (contiguous)."""
    return np.ascontiguousarray(_as_nchw(layer, x) != 0).view(np.uint8)


def hw_params(layer: Layer, arch: ArchSpec, mp: Mapping) -> np.ndarray:
    """The ``hw`` array of ``_simulate_nest`` for this layer and mapping."""
    hw = np.zeros(K.HW_LEN, dtype=np.int64)
    # values are packed on the buses as in the spads and the GLB: a bus moves
    # floor(bus_bits / bits) values a cycle (psums keep the psum spad's width)
    hw[K.HW_IFMAP_BUS_WORDS] = max(1, arch.noc.ifmap_bus_bits // layer.act_bits)
    hw[K.HW_FILTER_BUS_WORDS] = max(1, arch.noc.filter_bus_bits // layer.weight_bits)
    hw[K.HW_PSUM_BUS_WORDS] = max(1, arch.noc.psum_bus_bits // arch.psum_spad.word_bits)
    hw[K.HW_PIPELINE_DEPTH] = arch.pe_array.pipeline_depth
    lanes, cpm = mac_rate(arch.mac, layer.operator, layer.weight_bits, layer.act_bits)
    hw[K.HW_MACS_PER_PE] = lanes
    hw[K.HW_CYCLES_PER_MAC] = cpm
    g = arch.glb
    pass_filter_bytes = (mp.gp * mp.p * mp.t * mp.q * mp.r * mp.r_rows * layer.s
                         * layer.weight_bits / 8)
    # a pass's filters are staged through the filter buffer into the spads at the
    # start of the pass; once there, the whole buffer is free to prefetch the
    # next pass's filters (JSSC 2017 Sec. IV-B: the filter banks prefetch the
    # next pass). Filters larger than the buffer stream with no prefetch.
    hw[K.HW_FILTER_PREFETCH] = int(pass_filter_bytes <= g.filter_banks * g.filter_bank_size_bytes)
    ifb, psb = glb_banks(layer, arch, mp)
    if_db, ps_db = glb_double_buffers(ifb, psb, g.banks, bool(g.ifmap_double_buffering),
                                      bool(g.psum_double_buffering))
    hw[K.HW_IFMAP_DBUF], hw[K.HW_PSUM_DBUF] = int(if_db), int(ps_db)
    hw[K.HW_SPAD_FILTER_DBUF] = int(2 * mp.p * mp.q * layer.s
                                    <= arch.filter_spad.values(layer.weight_bits))
    hw[K.HW_WEIGHT_BITS] = layer.weight_bits
    hw[K.HW_ACCUMULATE] = arch.pe_array.psum_accumulate_cycles
    noc = arch.noc
    hw[K.HW_IFMAP_BUS_BITS] = noc.ifmap_bus_bits
    hw[K.HW_FILTER_BUS_BITS] = noc.filter_bus_bits
    # each bank reads or writes one word a cycle (single-ported SRAM; JSSC 2017
    # Sec. IV-B), so a tensor's region moves banks x word_bits bits a cycle
    hw[K.HW_IFMAP_GLB_BITS] = max(1, ifb) * g.word_bits
    hw[K.HW_PSUM_GLB_BITS] = max(1, psb) * g.word_bits
    hw[K.HW_FILTER_GLB_BITS] = g.filter_banks * g.word_bits
    hw[K.HW_MULTICAST_FILTER] = int(noc.multicast.filter)
    hw[K.HW_MULTICAST_IFMAP] = int(noc.multicast.ifmap)
    # the PE-to-PE psum link: floor(link / psum bits) psums a cycle, or one
    # psum in ceil(psum bits / link) cycles when the link is narrower
    psum_bits = arch.psum_spad.word_bits
    hw[K.HW_LINK_WORDS] = max(1, noc.psum_link_bits // psum_bits)
    hw[K.HW_LINK_CYCLES] = -(-psum_bits // noc.psum_link_bits)
    hw[K.HW_ACT_BITS] = layer.act_bits
    hw[K.HW_PSUM_BITS] = psum_bits
    return hw


def fold_ifmap_rows(layer: Layer, arch: ArchSpec, mp: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """Per strip and fold of filter rows (int64 [strips, folds]): the ifmap rows a
    pass of that fold reads from the GLB tile, and the PE rows it feeds.

    Unfolded (``mp.r_rows == R``) these are :func:`glb_ifmap_rows`'s; a fold
    of filter rows reads the input rows those filter rows touch
    (:func:`strip_table` of the fold's rows).
    """
    rows, pe_rows = [], []
    for i0 in range(0, layer.r, mp.r_rows):
        st = strip_table(layer, mp.e, i0, min(mp.r_rows, layer.r - i0))
        g_rows, g_pe, _ = glb_ifmap_rows(layer, arch, st)
        rows.append(g_rows)
        pe_rows.append(g_pe)
    return (np.ascontiguousarray(np.stack(rows, axis=1), dtype=np.int64),
            np.ascontiguousarray(np.stack(pe_rows, axis=1), dtype=np.int64))


def _fold_filter_bits(layer: Layer, mp: Mapping, weight_nz: np.ndarray, fmt: int, fp,
                      burst_bits: int) -> np.ndarray:
    """Bits of each pass's filters, int64 [gblk, mblk, kblk, cblk, folds]: each
    fold of filter rows is its own transfer."""
    R, rr = layer.r, mp.r_rows
    parts = []
    for i0 in range(0, R, rr):
        nzw = np.ascontiguousarray(weight_nz[:, :, i0:i0 + rr, :])
        parts.append(K._filter_tile_bits(nzw, layer.groups, layer.k, layer.c, mp.m,
                                         mp.p * mp.t, mp.gp, mp.q * mp.r, fmt, fp,
                                         layer.weight_bits, burst_bits))
    return np.ascontiguousarray(np.stack(parts, axis=-1))


def glb_banks(layer: Layer, arch: ArchSpec, mp: Mapping) -> tuple[int, int]:
    """GLB banks the mapping gives to ifmaps and to psums (JSSC 2017 Sec. IV-B)."""
    bank = arch.glb.bank_size_bytes
    st = strip_table(layer, mp.e)
    rows, _, width = glb_ifmap_rows(layer, arch, st)
    ifmap = mp.gp * mp.n * mp.q * mp.r * int(rows.max()) * width * layer.act_bits / 8
    psum = mp.gp * mp.m * mp.n * mp.e * layer.q * arch.psum_spad.word_bits / 8
    # whole banks, as the mapping search counts them (a sub-byte tile still
    # takes a bank)
    return math.ceil(ifmap / bank), math.ceil(psum / bank)


def weight_mask(layer: Layer, w: np.ndarray) -> np.ndarray:
    """uint8 [G*K, C, R, S] with 1 where the weight is nonzero (contiguous)."""
    return np.ascontiguousarray(w.reshape(layer.groups * layer.k, layer.c, layer.r, layer.s)
                                != 0).view(np.uint8)


def simulate_layer(layer: Layer, arch: ArchSpec, mp: Mapping, *, input_nz: np.ndarray,
                   output_nz: np.ndarray, weight_nz: np.ndarray, first_layer: bool,
                   tile_cache: dict | None = None) -> LayerCounts:
    """Run one mapped MAC layer on its nonzero masks.

    ``input_nz``/``output_nz`` come from :func:`nonzero_mask`, ``weight_nz``
    from :func:`weight_mask`. ``tile_cache``: a dict kept across calls for the
    same layer and data (one per layer of a trace), so what depends only on the
    data, and tilings shared by candidates and arch points, are computed once;
    every key names all it depends on.

    Raises :class:`~accelsim.errors.AccelsimError` when the arch's RLC cannot
    code the layer's data (``formats.rlc_problem``).
    """
    problem = rlc_problem(layer, arch, first_layer)
    if problem is not None:
        raise AccelsimError(f"{arch.name}: {problem}")
    st = strip_table(layer, mp.e)
    fp = format_params(arch)
    burst_bits = arch.dram_burst_bytes * 8
    dram = arch.dram
    fmt_in = FORMAT_CODES["none" if first_layer and not dram.compress_first_layer_input
                          else dram.ifmap_compression]
    fmt_out = FORMAT_CODES[dram.ofmap_compression]
    fmt_w = FORMAT_CODES[dram.weight_compression]
    skip = np.array([arch.sparsity.ifmap == "skip", arch.sparsity.weight == "skip"],
                    dtype=np.int64)
    cache = {} if tile_cache is None else tile_cache
    if len(cache) > 4096:  # a long sweep: keep the data-only entries, drop the tilings
        for key in [k for k in cache if isinstance(k, tuple) and k[0] in ("ifmap", "ofmap",
                                                                           "weight")]:
            del cache[key]
    fpk = (tuple(int(v) for v in fp), burst_bits)
    if ("summaries", fpk) not in cache:
        cache[("summaries", fpk)] = (K._row_summaries(input_nz, fp),
                                     K._row_summaries(output_nz, fp))
    # what the data alone says about zero operands; the weight side (and the tap
    # table) only when this arch gates or skips something that needs it
    if "ifmap_zero_slots" not in cache:
        cache["ifmap_zero_slots"] = ifmap_zero_slots(layer, input_nz)
    if (skip[0] or arch.sparsity.weight != "none") and "taps" not in cache:
        cache["taps"] = K._tap_counts(input_nz, layer.q, layer.stride_w, layer.pad_w,
                                      layer.dilation_w, layer.s)
    if arch.sparsity.weight != "none":
        if "weight_zero_slots" not in cache:
            cache["weight_zero_slots"] = weight_zero_slots(layer, weight_nz, cache["taps"])
        zw, zxw = cache["weight_zero_slots"]
    else:  # weights never gate or skip: |W| and |X n W| do not enter the classes
        zw = zxw = 0
    classes = classify(layer.macs, cache["ifmap_zero_slots"], zw, zxw, arch.sparsity)
    in_summ, out_summ = cache[("summaries", fpk)]
    qr, pt = mp.q * mp.r, mp.p * mp.t
    key_in = ("ifmap", mp.n, mp.gp, qr, mp.e, fmt_in, fpk, layer.act_bits)
    if key_in not in cache:
        cache[key_in] = K._ifmap_tile_bits(
            in_summ, input_nz, layer.groups, layer.c, mp.n, mp.gp, qr, st.row_ptr, st.row_idx,
            input_nz.shape[3], fmt_in, fp, layer.act_bits, burst_bits)
    key_out = ("ofmap", mp.m, pt, mp.n, mp.gp, mp.e, fmt_out, fpk, layer.act_bits)
    if key_out not in cache:
        cache[key_out] = K._ofmap_tile_bits(
            out_summ, output_nz, layer.groups, layer.k, mp.m, pt, mp.n, mp.gp, mp.e,
            output_nz.shape[3], fmt_out, fp, layer.act_bits, burst_bits)
    key_w = ("weight", mp.m, pt, mp.gp, qr, mp.r_rows, fmt_w, fpk, layer.weight_bits)
    if key_w not in cache:
        cache[key_w] = _fold_filter_bits(layer, mp, weight_nz, fmt_w, fp, burst_bits)
    if_bits, of_bits, wt_bits = cache[key_in], cache[key_out], cache[key_w]
    # the GLB's own formats (real data, no bursts): per image for ifmaps
    glb_fmt_if = FORMAT_CODES[arch.glb.ifmap_compression]
    glb_fmt_w = FORMAT_CODES[arch.glb.weight_compression]
    glb_if = np.zeros(1, np.int64).reshape(1, 1, 1, 1)
    glb_w = np.zeros(1, np.int64).reshape(1, 1, 1, 1, 1)
    if glb_fmt_if != K.FMT_NONE:
        key = ("glb_ifmap", mp.gp, qr, mp.e, glb_fmt_if, fpk, layer.act_bits)
        if key not in cache:
            cache[key] = K._ifmap_tile_bits(
                in_summ, input_nz, layer.groups, layer.c, 1, mp.gp, qr, st.row_ptr, st.row_idx,
                input_nz.shape[3], glb_fmt_if, fp, layer.act_bits, 1)
        glb_if = cache[key]
    if glb_fmt_w != K.FMT_NONE:
        key = ("glb_weight", mp.m, pt, mp.gp, qr, mp.r_rows, glb_fmt_w, fpk, layer.weight_bits)
        if key not in cache:
            cache[key] = _fold_filter_bits(layer, mp, weight_nz, glb_fmt_w, fp, 1)
        glb_w = cache[key]
    taps = cache["taps"] if skip[0] else np.zeros((1, 1, 1, 1), np.int64)
    nzw = weight_nz if skip[1] else np.zeros((1, 1, 1, 1), np.uint8)
    g_rows, _, g_width = glb_ifmap_rows(layer, arch, st)
    f_rows, f_pe_rows = fold_ifmap_rows(layer, arch, mp)
    dims = np.array([layer.n, layer.groups, layer.c, layer.k, layer.w, layer.r, layer.s,
                     layer.q, layer.p, g_width, layer.stride_h, layer.pad_h, layer.dilation_h],
                    dtype=np.int64)
    mpa = np.array([mp.e, mp.p, mp.q, mp.r, mp.t, mp.gp, mp.m, mp.n, mp.segments, mp.r_rows],
                   dtype=np.int64)
    hw = hw_params(layer, arch, mp)
    cyc, words, dbits, busy, passes, cbits, aux = K._simulate_nest(
        dims, mpa, hw, st.e_act, st.rows_in, g_rows, f_rows, f_pe_rows, if_bits, of_bits, wt_bits,
        skip, taps, nzw, glb_if, glb_w,
        np.array([glb_fmt_w != K.FMT_NONE, glb_fmt_if != K.FMT_NONE], dtype=np.int64))
    total, _ = K._timeline(passes, float(arch.dram_bytes_per_cycle * 8),
                           hw[K.HW_FILTER_PREFETCH], hw[K.HW_IFMAP_DBUF], hw[K.HW_PSUM_DBUF],
                           hw[K.HW_SPAD_FILTER_DBUF], -(-mp.m // (mp.p * mp.t)))
    cyc[Cycle.TOTAL] = total
    cyc[Cycle.DRAM_STALL] = total - cyc[Cycle.PROCESSING]
    cls = classes
    # spad accesses of the MAC slots: a performed MAC reads both operands and
    # updates its psum; a gated one reads only the zero operand that gates it;
    # a skipped one is never visited.
    words[Level.SPAD, Tensor.IFMAP, 0] += cls.performed + cls.gated_ifmap
    words[Level.SPAD, Tensor.WEIGHT, 0] += cls.performed + cls.gated_weight
    words[Level.SPAD, Tensor.PSUM, 0] += cls.performed
    words[Level.SPAD, Tensor.PSUM, 1] += cls.performed
    widths = np.array([layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits],
                      dtype=np.int64)
    bits = words * widths[None, :, None]
    bits[Level.DRAM] = dbits
    # tensors the GLB keeps compressed move their coded bits through it and the NoC
    rows_held = {Tensor.WEIGHT: int(aux[1]), Tensor.IFMAP: int(aux[2])}
    for tensor, fmt in ((Tensor.WEIGHT, glb_fmt_w), (Tensor.IFMAP, glb_fmt_if)):
        if fmt != K.FMT_NONE:
            bits[Level.GLB, tensor] = cbits[0, tensor]
            bits[Level.NOC, tensor] = cbits[1, tensor]
        if fmt == K.FMT_CSC:
            # CSC stays CSC in the PE (Eyeriss v2's sparse PE, JETCAS 2019): the
            # spads are written the coded bits each PE receives, each read
            # takes a value with its zero count, and the PE reads a column
            # address per row it holds, once per image. Other formats are
            # taken as decoded at the PE's input (spads hold plain values).
            csc = arch.formats.csc
            bits[Level.SPAD, tensor, Rw.WRITE] = cbits[2, tensor, Rw.WRITE]
            bits[Level.SPAD, tensor, Rw.READ] = (
                words[Level.SPAD, tensor, Rw.READ] * (widths[tensor] + csc.count_bits)
                + rows_held[tensor] * csc.address_bits)
    return LayerCounts(cycles=cyc, words=words, bits=bits, macs=layer.macs,
                       macs_padded=layer.macs_padded, macs_performed=cls.performed,
                       macs_gated=cls.gated, macs_skipped=cls.skipped,
                       active_pes=mp.active_pes, pe_busy_max_cycles=float(busy[0]),
                       pe_busy_mean_cycles=float(busy[1]),
                       compute_gated_cycles=gated_cycles(int(cyc[Cycle.COMPUTE]), cls.gated,
                                                         int(aux[0])))


def gated_cycles(compute_cycles: int, gated_slots: int, stepped_slots: int) -> int:
    """Compute cycles spent on gated MAC slots.

    The PEs step through ``stepped_slots`` MAC slots (padding taps included,
    skipped slots excluded: they cost no cycle), ``gated_slots`` of them gated
    zeros; the busiest PE is taken to spend the same share of its compute
    cycles on gated slots as the whole array (which of its slots are gated is
    not tracked per PE). Rounded to the nearest cycle, half up.
    """
    if stepped_slots == 0:
        return 0
    return (compute_cycles * gated_slots * 2 + stepped_slots) // (2 * stepped_slots)
