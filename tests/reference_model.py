"""A plain-Python reference model of the row-stationary array, for tiny layers.

Written for clarity, not speed: it enumerates every processing pass, every PE
set, every PE, every ifmap row and every psum explicitly, where the numba engine
(`accelsim.engine.kernels._simulate_nest`) uses per-pass closed forms. The two
must agree exactly on counts and cycles; the tests check that on many random
tiny layers and mappings.

Rules it encodes (the same physical model as the engine's docstring):
- each pass splits its filters over t sets and its channels over r sets as
  evenly as possible (ceil), and its groups over gp sets;
- a PE (set, i, j) holds filter row i and computes ofmap row strip_start + j;
  it receives the input row j*U + i*dil - pad of each of its channels when that
  row is real (padding rows are generated, not delivered);
- it steps through p_pe * q_pe * S * Q MAC slots per image, ``lanes`` of them
  every ``cycles_per_mac`` cycles (the MAC core's rate for the layer's
  operator and widths);
- the ifmap bus carries each distinct (group, channel, input row) once per
  image, the filter bus each distinct filter word once per pass, when they
  multicast; without multicast a bus carries a value once per PE that
  receives it (bus words = spad writes), the GLB still reading it once;
- a GLB region (the ifmap banks, the psum banks, the filter banks) reads or
  writes banks x word_bits bits a cycle; the PE-to-PE psum link carries
  link_words psums every link_cycles cycles, and every PE of a column of
  more than one PE forwards its filters x Q psums per image;
- tensors the GLB keeps compressed cross the GLB and the buses in coded bits
  (each image's share of an ifmap tile; each pass's filters); a CSC tensor
  is also CSC in the spads (coded writes, value + count per read, one column
  address per row a PE holds per image);
- psums: each output of the pass leaves the array once per image, and is read
  back from the GLB when an earlier channel block already wrote it; inside the
  array it hops between the R * r_used PEs that contribute to it;
- DRAM: one link (see reference_timeline); ifmap tiles and psum regions
  double-buffered when the engine's flags say so.
"""

from __future__ import annotations

import math

import numpy as np

from accelsim.engine import kernels as K_
from accelsim.engine.simulate import glb_banks


def rlc_pairs(values, run_max):
    """Pairs to run-length code a sequence (independent of the engine's encoder)."""
    pairs, run = 0, 0
    for v in values:
        if v == 0 and run < run_max:
            run += 1
        else:
            pairs += 1
            run = 0
    return pairs + (1 if run else 0)


def encode_rows(rows, fmt, formats, value_bits, columns=None):
    """Bits to store a tile given as a list of rows (lists of values), plainly.

    ``columns``: for CSC, how many consecutive rows make one column (all rows
    of one image or filter); default all rows.
    """
    flat = [v for row in rows for v in row]
    if fmt == "csc":
        per = columns or len(rows)
        count_max = 2 ** formats.csc.count_bits - 1
        bits = 0
        for start in range(0, len(rows), per):
            entries, gap = 0, 0
            for v in (v for row in rows[start:start + per] for v in row):
                if v == 0:
                    gap += 1
                else:
                    entries += gap // (count_max + 1) + 1
                    gap = 0
            bits += formats.csc.address_bits + entries * (value_bits + formats.csc.count_bits)
        return bits
    if fmt == "none":
        return len(flat) * value_bits
    if fmt == "block":
        # the tile as one sequence in storage order, cut every block_elems
        # values (row ends do not cut it); the last piece is what is left
        b = formats.block.block_elems
        pieces = [flat[i:i + b] for i in range(0, len(flat), b)]
        return len(pieces) + sum(len(p) for p in pieces if any(p)) * value_bits
    if fmt == "rlc":
        rlc = formats.rlc
        pairs = rlc_pairs(flat, 2 ** rlc.run_bits - 1)
        # the value field is the data's own width unless the arch fixes it
        field = value_bits if rlc.value_bits is None else rlc.value_bits
        per_word = rlc.pairs_per_word or rlc.word_bits // (rlc.run_bits + field)
        return -(-pairs // per_word) * rlc.word_bits
    bits = 0
    for row in rows:
        nnz = sum(1 for v in row if v != 0)
        bits += len(row) + nnz * value_bits  # bitmap
    return bits


def bursts(bits, burst_bits):
    return -(-bits // burst_bits) * burst_bits


def reference_nest(layer, mp, hw, arch, input_nz, output_nz, weight_nz, fmt_in, fmt_out,
                   fmt_w):
    """Return (cycles[9], words[4,3,2], dram_bits[3,2], busy[2], coded bits[3,2,2],
    aux[3]) like the kernel.

    ``*_nz`` are 0/1 arrays (input [N, G*C, H, W], output [N, G*K, P, Q],
    weight [G*K, C, R, S]); the formats name how each tensor is stored in DRAM.
    ``hw`` gives the flags the engine derives from the GLB's room (prefetch,
    double buffering) and the MAC rate; the buses, the link, multicast and
    the GLB's bandwidth are read from ``arch`` here.
    """
    bits_per_cycle = arch.dram_bytes_per_cycle * 8
    burst_bits = arch.dram_burst_bytes * 8
    stores_padding = arch.glb.stores_padding
    skip_x = arch.sparsity.ifmap == "skip"
    skip_w = arch.sparsity.weight == "skip"
    busy = [0.0, 0.0]
    glb_fmt_if, glb_fmt_w = arch.glb.ifmap_compression, arch.glb.weight_compression
    # bits of tensors the GLB keeps compressed: [level GLB/NoC/spad][tensor][rw]
    cbits = np.zeros((3, 2, 2), dtype=np.int64)
    # MAC slots stepped through; rows held by the PEs, per image (weight, ifmap)
    aux = np.zeros(3, dtype=np.int64)
    N, G, C, K = layer.n, layer.groups, layer.c, layer.k
    W, R, S, Q, P = layer.w, layer.r, layer.s, layer.q, layer.p
    U, pad, dil = layer.stride_h, layer.pad_h, layer.dilation_h
    (depth, mpc, f_pref, if_db, ps_db, sp_db, acc, cpm) = (
        int(hw[i]) for i in (K_.HW_PIPELINE_DEPTH, K_.HW_MACS_PER_PE, K_.HW_FILTER_PREFETCH,
                             K_.HW_IFMAP_DBUF, K_.HW_PSUM_DBUF, K_.HW_SPAD_FILTER_DBUF,
                             K_.HW_ACCUMULATE, K_.HW_CYCLES_PER_MAC))
    wbits, abits, pbits = layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits
    noc = arch.noc
    # values per bus cycle (packed; at least one)
    ib = max(1, noc.ifmap_bus_bits // abits)
    fb = max(1, noc.filter_bus_bits // wbits)
    pb = max(1, noc.psum_bus_bits // pbits)
    # GLB regions: each bank one word a cycle
    ifmap_banks, psum_banks = glb_banks(layer, arch, mp)
    word = arch.glb.word_bits
    glb_if_rate = max(1, ifmap_banks) * word
    glb_ps_rate = max(1, psum_banks) * word
    glb_f_rate = arch.glb.filter_banks * word

    def link_time(psums):
        """Cycles for the PE-to-PE link to forward ``psums`` psums."""
        if noc.psum_link_bits >= pbits:
            return -(-psums // (noc.psum_link_bits // pbits))
        return psums * -(-pbits // noc.psum_link_bits)

    cyc = [0] * 9
    words = np.zeros((4, 3, 2), dtype=np.int64)
    dbits = np.zeros((3, 2), dtype=np.int64)

    def xfer(b):
        return int(math.ceil(b / bits_per_cycle))

    def real_row(o, i):
        h = o * U + i * dil - pad
        return h if 0 <= h < layer.h else None

    # what the GLB holds and the bus streams: real rows, or padded rows (in
    # padded coordinates) of the padded width when the GLB stores padding
    Wg = W + 2 * layer.pad_w if stores_padding else W

    def glb_row(o, i):
        return o * U + i * dil if stores_padding else real_row(o, i)

    def tile_bits(nz, imgs, chans, rows, width, fmt, value_bits):
        tile = [[int(nz[n, c, h, x]) for x in range(width)] for n in imgs for c in chans
                for h in rows]
        # a CSC column: everything of one image (or filter) in the tile
        return encode_rows(tile, fmt, arch.formats, value_bits,
                           columns=len(chans) * len(list(rows)))

    records = []
    tile_i = pass_i = group_i = 0
    blocks = lambda total, size: [list(range(b, min(total, b + size))) for b in range(0, total, size)]
    for gblk in blocks(G, mp.gp):
        for mblk in blocks(K, mp.m):
            for nblk in blocks(N, mp.n):
                for strip in blocks(P, mp.e):
                    rows_needed = sorted({real_row(o, i) for o in strip for i in range(R)}
                                         - {None})
                    c_blocks = blocks(C, mp.q * mp.r)
                    for cb, cblk in enumerate(blocks(C, mp.q * mp.r)):
                        # the ifmap tile, coded per group like the chip's DRAM layout
                        tb = 0
                        for g in gblk:
                            chans = [g * C + c for c in cblk]
                            tb += tile_bits(input_nz, nblk, chans, rows_needed, W, fmt_in,
                                            layer.act_bits)
                        tb = bursts(tb, burst_bits)
                        # each image's part of the tile in the GLB's format
                        glb_img = {}
                        if glb_fmt_if != "none":
                            for n_img in nblk:
                                glb_img[n_img] = sum(
                                    tile_bits(input_nz, [n_img], [g * C + c for c in cblk],
                                              rows_needed, W, glb_fmt_if, layer.act_bits)
                                    for g in gblk)
                            cbits[0, 1, 1] += sum(glb_img.values())
                        glb_rows = {glb_row(o, i) for o in strip for i in range(R)} - {None}
                        words[0, 1, 0] += len(gblk) * len(nblk) * len(cblk) * len(rows_needed) * W
                        words[1, 1, 1] += len(gblk) * len(nblk) * len(cblk) * len(glb_rows) * Wg
                        dbits[1, 0] += tb
                        first_of_tile = True
                        q_pe = -(-len(cblk) // mp.r)
                        chan_sets = [cblk[i:i + q_pe] for i in range(0, len(cblk), q_pe)]
                        folds = blocks(R, mp.r_rows)  # filter rows per pass (one block: all)
                        for fo, frows in enumerate(folds):
                            first_acc = cb == 0 and fo == 0
                            last_acc = cb == len(c_blocks) - 1 and fo == len(folds) - 1
                            fold_rows = ({glb_row(o, i) for o in strip for i in frows}
                                         - {None})
                            for kblk in blocks(len(mblk), mp.p * mp.t):
                                filters = [mblk[k] for k in kblk]
                                p_pe = -(-len(filters) // mp.t)
                                filt_sets = [filters[i:i + p_pe] for i in range(0, len(filters), p_pe)]
                                sets = [(g, cs, fs) for g in gblk for cs in chan_sets for fs in filt_sets]
                                pes = [(st, i, j) for st in sets for i in frows
                                       for j in range(len(strip))]
                                fwords = sum(len(fs) * len(cs) * S for (_, cs, fs), i, j in pes if j == 0)
                                spad_f = sum(len(fs) * len(cs) * S for (_, cs, fs), i, j in pes)
                                words[0, 0, 0] += fwords
                                words[1, 0, 1] += fwords
                                words[1, 0, 0] += fwords
                                words[2, 0, 0] += fwords if noc.multicast.filter else spad_f
                                words[3, 0, 1] += spad_f
                                aux[1] += sum(len(fs) * len(cs) for (_, cs, fs), i, j in pes) * len(nblk)
                                fbits = 0
                                for g in gblk:
                                    fbits += tile_bits(weight_nz, [g * K + f for f in filters], cblk,
                                                       frows, S, fmt_w, wbits)
                                fbits = bursts(fbits, burst_bits)
                                dbits[0, 0] += fbits
                                if glb_fmt_w != "none":
                                    gw = sum(tile_bits(weight_nz, [g * K + f for f in filters], cblk,
                                                       frows, S, glb_fmt_w, wbits) for g in gblk)
                                    # every ofmap row of the sets takes the pass's filters once
                                    copies = len(strip)
                                    cbits[0, 0, 1] += gw
                                    cbits[0, 0, 0] += gw
                                    cbits[1, 0, 0] += gw if noc.multicast.filter else gw * copies
                                    cbits[2, 0, 1] += gw * copies
                                    load_f = max(-(-(gw if noc.multicast.filter else gw * copies)
                                                   // noc.filter_bus_bits), -(-gw // glb_f_rate))
                                else:
                                    load_f = max(-(-(fwords if noc.multicast.filter else spad_f) // fb),
                                                 -(-fwords * wbits // glb_f_rate))
                                # one image (all images of the block are alike in shape)
                                distinct_rows = {(g, c, h) for (g, cs, fs), i, j in pes for c in cs
                                                 for h in [glb_row(strip[j], i)] if h is not None}
                                img_if = len(distinct_rows) * Wg
                                spad_if = sum(len(cs) * Wg for (g, cs, fs), i, j in pes
                                              if glb_row(strip[j], i) is not None)
                                outputs = {(g, f, o, x) for (g, cs, fs), i, j in pes for f in fs
                                           for o in [strip[j]] for x in range(Q)}
                                img_ps = len(outputs)
                                contributors = {}
                                for (g, cs, fs), i, j in pes:
                                    for f in fs:
                                        key = (g, f, strip[j])
                                        contributors[key] = contributors.get(key, 0) + 1
                                hops = sum((cnt - 1) * Q for cnt in contributors.values())
                                nimg = len(nblk)
                                words[1, 1, 0] += img_if * nimg
                                words[2, 1, 0] += (img_if if noc.multicast.ifmap else spad_if) * nimg
                                words[3, 1, 1] += spad_if * nimg
                                aux[2] += sum(len(cs) for (g, cs, fs), i, j in pes
                                              if glb_row(strip[j], i) is not None) * nimg
                                words[1, 2, 1] += img_ps * nimg
                                words[2, 2, 1] += img_ps * nimg
                                words[2, 2, 0] += hops * nimg
                                words[3, 2, 0] += hops * nimg
                                words[3, 2, 1] += hops * nimg
                                if not first_acc:
                                    for lv, rw in ((1, 0), (2, 0), (3, 0), (3, 1)):
                                        words[lv, 2, rw] += img_ps * nimg
                                # one adder cycle per filter and output pixel for the ipsum
                                accumulate = max(len(fs) * Q for (g, cs, fs), i, j in pes) * acc
                                # what every image waits for, whatever its data: the
                                # psum bus, the psum banks (results written, earlier
                                # blocks' psums read), the PE-to-PE link
                                reads_back = 1 if first_acc else 2
                                bound = max(-(-img_ps // pb), -(-img_ps * pbits * reads_back // glb_ps_rate))
                                if len(frows) * len(chan_sets) > 1:
                                    bound = max(bound, link_time(max(len(fs) for fs in filt_sets) * Q))
                                images = []
                                for n_img in nblk:
                                    # each PE's MAC slots, one by one: a slot is skipped when
                                    # a skipped operand is zero (or, for ifmaps, padding)
                                    work = []
                                    for (g, cs, fs), i, j in pes:
                                        h = strip[j] * U + i * dil - pad
                                        cnt = 0
                                        for f in fs:
                                            for c in cs:
                                                for s_ in range(S):
                                                    if skip_w and not weight_nz[g * K + f, c, i, s_]:
                                                        continue
                                                    for x in range(Q):
                                                        col = (x * layer.stride_w + s_ * layer.dilation_w
                                                               - layer.pad_w)
                                                        if skip_x and not (
                                                                0 <= h < layer.h and 0 <= col < W
                                                                and input_nz[n_img, g * C + c, h, col]):
                                                            continue
                                                        cnt += 1
                                        work.append(cnt)
                                    # the ifmap stream of this image: bus and ifmap banks
                                    if glb_fmt_if == "none":
                                        sent = img_if if noc.multicast.ifmap else spad_if
                                        img_bound = max(bound, -(-sent // ib),
                                                        -(-img_if * abits // glb_if_rate))
                                    else:
                                        coded = glb_img[n_img]
                                        if len(folds) > 1 and glb_rows:  # the fold's share
                                            coded = coded * len(fold_rows) // len(glb_rows)
                                        deliv = -(-coded * spad_if // img_if) if img_if else 0
                                        sent = coded if noc.multicast.ifmap else deliv
                                        cbits[0, 1, 0] += coded
                                        cbits[1, 1, 0] += sent
                                        cbits[2, 1, 1] += deliv
                                        img_bound = max(bound, -(-sent // noc.ifmap_bus_bits),
                                                        -(-coded // glb_if_rate))
                                    images.append((work, img_bound))
                                    aux[0] += sum(work)
                                    busy[0] += max(work) * cpm / mpc
                                    busy[1] += sum(work) * cpm / mpc / len(work)
                                # dense words even when the GLB keeps ifmaps coded, as
                                # the kernel assumes (kernels._simulate_nest, ramp-up)
                                ramp_words = len(distinct_rows) * min(S, Wg)
                                ramp_sent = ramp_words if noc.multicast.ifmap else sum(
                                    len(cs) * min(S, Wg) for (g, cs, fs), i, j in pes
                                    if glb_row(strip[j], i) is not None)
                                fill = max(-(-ramp_sent // ib), -(-ramp_words * abits // glb_if_rate))
                                r_used = len(chan_sets)
                                drain = depth + len(frows) * r_used
                                img_compute = [-(-max(w) * cpm // mpc) for w, _ in images]
                                pass_stream = sum(max(ic + accumulate, b)
                                                  for ic, (_, b) in zip(img_compute, images))
                                if not sp_db or pass_i == 0:
                                    fill += load_f
                                pc = fill + pass_stream + drain
                                cyc[2] += sum(img_compute)
                                cyc[3] += fill
                                cyc[4] += drain
                                cyc[5] += pass_stream - sum(img_compute) - nimg * accumulate
                                cyc[8] += nimg * accumulate
                                cyc[1] += pc
                                last_cb = last_acc
                                wb = 0
                                if last_cb:  # these results are final: they leave for DRAM
                                    for g in gblk:
                                        wb += tile_bits(output_nz, nblk, [g * K + f for f in filters],
                                                        strip, Q, fmt_out, layer.act_bits)
                                    wb = bursts(wb, burst_bits)
                                    ow = len(gblk) * len(filters) * len(nblk) * len(strip) * Q
                                    words[1, 2, 0] += ow
                                    words[0, 2, 1] += ow
                                    dbits[2, 1] += wb
                                records.append(dict(
                                    cycles=pc, fill_filter=load_f, tile=tile_i,
                                    tile_bits=tb if first_of_tile else 0, filter_bits=fbits,
                                    wb_bits=wb, group=group_i, kb=kblk[0] // (mp.p * mp.t),
                                    first_cb=first_acc, last_cb=last_cb))
                                first_of_tile = False
                                pass_i += 1
                        tile_i += 1
                    group_i += 1
    if sp_db:  # the next pass's filters load while this one runs: it lasts that long
        for ps, nxt in zip(records, records[1:]):
            wait = nxt["fill_filter"] - ps["cycles"]
            if wait > 0:
                ps["cycles"] += wait
                cyc[1] += wait
                cyc[3] += wait
    cyc[0] = reference_timeline(records, xfer, f_pref, if_db, ps_db, sp_db)
    cyc[6] = cyc[0] - cyc[1]
    cyc[7] = pass_i
    return np.array(cyc, dtype=np.int64), words, dbits, busy, cbits, aux


def reference_timeline(records, xfer, f_pref, if_db, ps_db, sp_db):
    """When the last pass ends and the last transfer lands, in plain Python.

    One DRAM link serves transfers one after another in the order the DMA
    issues them, each when its buffer frees: first pass 0's tile and filters;
    then, while pass i runs, the next pass's filters (from this pass's start
    when the spads hold two passes' filters, once this pass's filters sit in
    the spads, or after the pass without prefetch) and tile (once an ifmap
    buffer is free), whichever is free first going first; then the results
    pass i completes, after it ends. A new tile is requested only at the last
    pass of the tile before it, even when a second ifmap buffer freed earlier.
    """
    link_free = 0

    def transfer(ready, bits):
        nonlocal link_free
        link_free = max(link_free, ready) + xfer(bits)
        return link_free

    tile_ready, filt_ready, buffer_free, region_free = {}, {}, {0: 0, 1: 0}, {}
    if not records:
        return 0
    tile_ready[records[0]["tile"]] = transfer(0, records[0]["tile_bits"])
    filt_ready[0] = transfer(0, records[0]["filter_bits"])
    array_free = 0
    for i, ps in enumerate(records):
        buf = ps["tile"] % 2 if if_db else 0
        region = ps["group"] % 2 if ps_db else 0
        start = max(array_free, tile_ready[ps["tile"]], filt_ready[i])
        if ps["first_cb"]:
            start = max(start, region_free.get((region, ps["kb"]), 0))
        end = start + ps["cycles"]
        array_free = end
        nxt = records[i + 1] if i + 1 < len(records) else None
        if nxt is None or nxt["tile"] != ps["tile"]:
            buffer_free[buf] = end
        if nxt is not None:
            # each request is issued when its buffer frees; the link serves them
            # in that order (a tie: the tile first)
            free = start if sp_db else start + ps["fill_filter"] if f_pref else end
            requests = [(free, 1, "filters")]
            if nxt["tile"] != ps["tile"]:
                nbuf = nxt["tile"] % 2 if if_db else 0
                requests.append((buffer_free[nbuf], 0, "tile"))
            for ready, _, what in sorted(requests):
                if what == "tile":
                    tile_ready[nxt["tile"]] = transfer(ready, nxt["tile_bits"])
                else:
                    filt_ready[i + 1] = transfer(ready, nxt["filter_bits"])
        if ps["last_cb"]:
            region_free[(region, ps["kb"])] = transfer(end, ps["wb_bits"])
    return max(array_free, link_free)


def mac_slots(layer, x, w):
    """Every MAC slot on real input, as (ifmap is zero, weight is zero)."""
    xs = x.reshape(layer.n, layer.groups * layer.c, layer.h, layer.w)
    ws = w.reshape(layer.groups * layer.k, layer.c, layer.r, layer.s)
    for n in range(layer.n):
        for g in range(layer.groups):
            for c in range(layer.c):
                for p in range(layer.p):
                    for r in range(layer.r):
                        h = p * layer.stride_h + r * layer.dilation_h - layer.pad_h
                        if not 0 <= h < layer.h:
                            continue
                        for q in range(layer.q):
                            for s in range(layer.s):
                                col = q * layer.stride_w + s * layer.dilation_w - layer.pad_w
                                if not 0 <= col < layer.w:
                                    continue
                                xz = xs[n, g * layer.c + c, h, col] == 0
                                for k in range(layer.k):
                                    yield xz, ws[g * layer.k + k, c, r, s] == 0


def brute_force_macs(layer, x, w=None):
    """(valid MACs, MACs with a zero ifmap, with a zero weight, with both) by
    enumerating every MAC."""
    if w is None:
        w = np.ones(layer.weight_shape)
    valid = zero = zero_w = zero_both = 0
    for xz, wz in mac_slots(layer, x, w):
        valid += 1
        zero += xz
        zero_w += wz
        zero_both += xz and wz
    return valid, zero, zero_w, zero_both


def brute_force_classes(layer, x, w, sparsity):
    """(performed, gated, skipped, gated_ifmap), classifying every MAC slot."""
    out = [0, 0, 0, 0]
    for xz, wz in mac_slots(layer, x, w):
        if (xz and sparsity.ifmap == "skip") or (wz and sparsity.weight == "skip"):
            out[2] += 1
        elif xz and sparsity.ifmap == "gate":
            out[1] += 1
            out[3] += 1
        elif wz and sparsity.weight == "gate":
            out[1] += 1
        else:
            out[0] += 1
    return tuple(out)


def reference_candidates(layer, arch, fixed=None):
    """The mappings :func:`accelsim.mapping.candidates` keeps, as a set of rows,
    straight from the rules in its docstring: every (e, q, p, gp, r, n) tried
    one by one, every multiple m of p*t up to the filters checked against the
    GLB banks the ifmap tile leaves (sizes in bits), then the pruning kept:
    the largest t, the largest legal m and the balanced one, gp 1 or as large
    as fits, e the smallest giving each number of strips. A key of ``fixed``
    takes exactly its value instead, whether the pruning keeps it or not (t:
    any that fits; t free with m fixed: every t whose p*t divides m). A filter
    taller than the array is folded into the fewest blocks of rows a segment's
    rows hold, balanced; one that fits is never folded (last column: the rows
    per set)."""
    from accelsim.mapping.rowstationary import glb_ifmap_rows, strip_table

    fixed = fixed or {}
    rows, cols = arch.pe_array.rows, arch.pe_array.cols
    R, S, C, K, N, G, P, Q = (layer.r, layer.s, layer.c, layer.k, layer.n, layer.groups,
                              layer.p, layer.q)
    if S > arch.filter_spad.values(layer.weight_bits):
        return set()
    bank_bits = 8 * arch.glb.bank_size_bytes
    q_most = min(arch.ifmap_spad.values(layer.act_bits) // S, C)

    def values(key, legal, kept):
        """A fixed value if legal, else the values the pruning keeps."""
        if key in fixed:
            return [fixed[key]] if fixed[key] in legal else []
        return kept

    out = set()
    for e in values("e", range(1, P + 1), sorted({-(-P // k) for k in range(1, P + 1)})):
        seg = -(-e // cols)
        if R <= rows:
            rr = R
        else:
            folds = next((f for f in range(1, R + 1) if -(-R // f) * seg <= rows), None)
            if folds is None:
                continue
            rr = -(-R // folds)
        if rr * seg > rows:
            continue
        n_sets = (rows // (rr * seg)) * (cols // min(e, cols))
        g_rows, _, width = glb_ifmap_rows(layer, arch, strip_table(layer, e))
        for q in values("q", range(1, q_most + 1), range(1, q_most + 1)):
            ps = range(1, min(arch.psum_spad.entries, K) + 1)
            for p in values("p", ps, ps):
                if p * q * S > arch.filter_spad.values(layer.weight_bits):
                    continue
                for gp in values("gp", range(1, G + 1), sorted({1, min(G, n_sets)})):
                    rs = range(1, -(-C // q) + 1)
                    for r in values("r", rs, rs):
                        if r * gp > n_sets:
                            continue
                        t_most = min(n_sets // (r * gp), -(-K // p))
                        if "t" in fixed:
                            ts = [fixed["t"]] if fixed["t"] <= t_most else []
                        elif "m" in fixed:
                            ts = [t for t in range(1, t_most + 1) if fixed["m"] % (p * t) == 0]
                        else:
                            ts = [t_most]
                        ns = values("n", range(1, N + 1), range(1, N + 1))
                        for t, n in ((t, n) for t in ts for n in ns):
                            pt = p * t
                            ifmap_bits = gp * n * q * r * int(g_rows.max()) * width * layer.act_bits
                            free = arch.glb.banks - -(-ifmap_bits // bank_bits)
                            per_filter = gp * n * e * Q * arch.psum_spad.word_bits
                            legal = [m for m in range(pt, -(-K // pt) * pt + 1, pt)
                                     if free >= 1 and m * per_filter <= free * bank_bits]
                            if "m" in fixed:
                                kept = [fixed["m"]] if fixed["m"] in legal else []
                            elif legal:
                                blocks = -(-K // max(legal))
                                kept = [max(legal), -(-(-(-K // pt)) // blocks) * pt]
                            else:
                                kept = []
                            out |= {(e, p, q, r, t, gp, m, n, seg, rr) for m in kept}
    if arch.mapper.strip_mining == "when_needed" and any(c[0] == P for c in out):
        out = {c for c in out if c[0] == P}
    return out
