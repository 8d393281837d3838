"""Numba kernels of the engine: the only place in accelsim that imports numba.

Place in the pipeline: ``mapping -> engine`` (``accelsim.engine.simulate`` prepares
the arrays, calls these, and wraps the results in LayerCounts).

Kernels take contiguous NumPy arrays and scalars, use int64 counts, and are
compiled with ``cache=True`` so a second process does not recompile.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# indices into the hardware-parameter array ``hw`` of _simulate_nest and _timeline
HW_IFMAP_BUS_WORDS = 0
HW_FILTER_BUS_WORDS = 1
HW_PSUM_BUS_WORDS = 2
HW_PIPELINE_DEPTH = 3
HW_MACS_PER_PE = 4
HW_FILTER_PREFETCH = 5
HW_IFMAP_DBUF = 6
HW_PSUM_DBUF = 7
HW_SPAD_FILTER_DBUF = 8
HW_WEIGHT_BITS = 9
HW_ACCUMULATE = 10
HW_CYCLES_PER_MAC = 11
HW_IFMAP_BUS_BITS = 12   # bus widths in bits, for tensors moved coded
HW_FILTER_BUS_BITS = 13
HW_IFMAP_GLB_BITS = 14   # bits per cycle of each tensor's GLB region (banks x word bits)
HW_PSUM_GLB_BITS = 15
HW_FILTER_GLB_BITS = 16
HW_MULTICAST_FILTER = 17  # 1 where the bus multicasts, 0 where it unicasts
HW_MULTICAST_IFMAP = 18
HW_LINK_WORDS = 19       # psums the PE-to-PE psum link moves ...
HW_LINK_CYCLES = 20      # ... in this many cycles
HW_ACT_BITS = 21
HW_PSUM_BITS = 22
HW_LEN = 23


# compression formats, by code (accelsim.engine.formats names them)
FMT_NONE = 0
FMT_RLC = 1
FMT_CSC = 2
FMT_BITMAP = 3
FMT_BLOCK = 4
# format parameters, indices into ``fp``
FP_RUN_MAX = 0         # RLC: longest zero run in a pair
FP_PAIRS_PER_WORD = 1  # RLC
FP_RLC_WORD_BITS = 2   # RLC
FP_COUNT_MAX = 3       # CSC: longest zero count in an entry
FP_COUNT_BITS = 4      # CSC
FP_ADDRESS_BITS = 5    # CSC: per column
FP_BLOCK = 6           # block: values per block
FP_RUN_BITS = 7        # RLC
FP_RLC_VALUE_BITS = 8  # RLC: width of the value field, 0 = the coded tensor's width
FP_LEN = 9
# row summary columns
RS_LEAD = 0      # zeros before the first nonzero (the row length if none)
RS_RLC_MID = 1   # RLC pairs from the first to the last nonzero inclusive (0 if none)
RS_TAIL = 2      # zeros after the last nonzero
RS_NNZ = 3       # nonzeros
RS_CSC = 4       # CSC entries from the first to the last nonzero inclusive (0 if none)
RS_LEN = 5


@njit(cache=True)
def _row_summaries(nz, fp):
    """Summarise every row of a 4-D tensor for every compression format.

    nz : uint8 [A, B, H, W], 1 where the value is nonzero (a feature map
    [N, C, H, W] or a filter bank [K, C, R, S]); fp : int64 [FP_LEN].
    Returns int64 [A, B, H, RS_LEN]. RLC's only state across a row boundary
    is the pending zero run, and CSC's the pending zero count, so a tile's
    pairs and entries follow exactly from these (``_tile_bits``); bitmap is a
    sum over rows. Blocks run across row ends, so ``block`` reads the mask
    itself (``_block_bits``), using the summaries only to skip zero rows.
    """
    A, B, H, W = nz.shape
    run_max = fp[FP_RUN_MAX]
    count_max = fp[FP_COUNT_MAX]
    out = np.zeros((A, B, H, RS_LEN), dtype=np.int64)
    for a in range(A):
        for b in range(B):
            for h in range(H):
                first = -1
                last = -1
                mid = 0
                csc = 0
                gap = 0
                nnz = 0
                for x in range(W):
                    if nz[a, b, h, x] != 0:
                        nnz += 1
                        if first < 0:
                            first = x
                            mid = 1
                            csc = 1
                        else:
                            mid += gap // (run_max + 1) + 1
                            csc += gap // (count_max + 1) + 1
                        gap = 0
                        last = x
                    else:
                        gap += 1
                if first < 0:
                    out[a, b, h, RS_LEAD] = W
                else:
                    out[a, b, h, RS_LEAD] = first
                    out[a, b, h, RS_RLC_MID] = mid
                    out[a, b, h, RS_TAIL] = W - 1 - last
                out[a, b, h, RS_NNZ] = nnz
                out[a, b, h, RS_CSC] = csc
    return out


@njit(cache=True)
def _rlc_pairs_per_word(fp, value_bits):
    """RLC pairs per word when coding ``value_bits``-bit values (``RlcSpec.pairs``).

    A value field wider than the word is rejected before the engine runs
    (``formats.rlc_problem``); the floor of 1 only keeps this total.
    """
    if fp[FP_PAIRS_PER_WORD] > 0:
        return fp[FP_PAIRS_PER_WORD]
    field = fp[FP_RLC_VALUE_BITS] if fp[FP_RLC_VALUE_BITS] > 0 else value_bits
    return max(np.int64(1), fp[FP_RLC_WORD_BITS] // (fp[FP_RUN_BITS] + field))


@njit(cache=True)
def _block_bits(n_values, stored_values, block, value_bits):
    """Bits of a stream of ``n_values`` values in the block format: one flag
    bit per block (the last one possibly short) plus ``stored_values``, the
    values of the blocks holding a nonzero."""
    return (n_values + block - 1) // block + stored_values * value_bits


@njit(cache=True)
def _tile_bits(summ, nz, a0, a1, b0, b1, rows, width, fmt, fp, value_bits):
    """Bits of one tile (index ranges a0:a1, b0:b1, the given rows, whole rows).

    summ : int64 [A, B, H, RS_LEN] row summaries (``_row_summaries``) of
    nz : uint8 [A, B, H, W], 1 where the value is nonzero.

    The tile is read in order (a, b, row, column) and coded as one stream:
    ``none`` stores every value; ``rlc`` packs (run, value) pairs into words
    (``_rlc_pairs_per_word`` of them, following ``value_bits`` unless the
    arch fixes the value field);
    ``csc`` takes each ``a`` (an image of a feature-map tile, a filter of a
    filter tile) as one column: an address, and per nonzero a value and a count
    of the zeros before it (a run longer than the count allows takes an extra
    entry; trailing zeros take none); ``bitmap`` one bit per value plus the
    nonzero values; ``block`` cuts the stream into consecutive blocks of
    ``block_elems`` values, the last one as long as the values left, and
    stores one flag bit per block plus the values of every block holding a
    nonzero (``_block_bits``).

    Assumption: blocks run across row ends. A tile is one contiguous transfer
    and every other format codes it as one stream (RLC's runs and CSC's zero
    counts carry across rows), so a block does too; cut at row ends, a row
    shorter than a block (a linear layer's rows are one value long) would pay
    a flag bit per row and there would be no blocks to skip.
    """
    n_rows = (a1 - a0) * (b1 - b0) * rows.shape[0]
    if fmt == FMT_NONE:
        return n_rows * width * value_bits
    bits = 0
    if fmt == FMT_BLOCK:
        block = fp[FP_BLOCK]
        n = n_rows * width
        stored = 0
        last = -1   # the last block found holding a nonzero
        pos = 0     # stream position of the row's first value
        for a in range(a0, a1):
            for b in range(b0, b1):
                for h in rows:
                    if summ[a, b, h, RS_NNZ] > 0:
                        x = summ[a, b, h, RS_LEAD]
                        end = width - summ[a, b, h, RS_TAIL]
                        while x < end:
                            if nz[a, b, h, x] != 0:
                                blk = (pos + x) // block
                                if blk != last:
                                    stored += min(block, n - blk * block)
                                    last = blk
                                x = (blk + 1) * block - pos  # the rest of the block is paid
                            else:
                                x += 1
                    pos += width
        return _block_bits(n, stored, block, value_bits)
    if fmt == FMT_RLC:
        span = fp[FP_RUN_MAX] + 1
        pairs = 0
        carry = 0
        for a in range(a0, a1):
            for b in range(b0, b1):
                for h in rows:
                    z = carry + summ[a, b, h, RS_LEAD]
                    pairs += z // span
                    if summ[a, b, h, RS_RLC_MID] == 0:
                        carry = z % span
                    else:
                        tail = summ[a, b, h, RS_TAIL]
                        pairs += summ[a, b, h, RS_RLC_MID] + tail // span
                        carry = tail % span
        if carry > 0:
            pairs += 1
        ppw = _rlc_pairs_per_word(fp, value_bits)
        return (pairs + ppw - 1) // ppw * fp[FP_RLC_WORD_BITS]
    if fmt == FMT_CSC:
        span = fp[FP_COUNT_MAX] + 1
        entries = 0
        for a in range(a0, a1):
            carry = 0
            for b in range(b0, b1):
                for h in rows:
                    if summ[a, b, h, RS_CSC] == 0:
                        carry += width
                    else:
                        entries += (carry + summ[a, b, h, RS_LEAD]) // span + summ[a, b, h, RS_CSC]
                        carry = summ[a, b, h, RS_TAIL]
        return (a1 - a0) * fp[FP_ADDRESS_BITS] + entries * (value_bits + fp[FP_COUNT_BITS])
    for a in range(a0, a1):
        for b in range(b0, b1):
            for h in rows:
                bits += width + summ[a, b, h, RS_NNZ] * value_bits  # bitmap
    return bits


@njit(cache=True)
def _bursts(bits, burst_bits):
    """A transfer moves whole bursts."""
    if bits == 0:
        return np.int64(0)
    return (bits + burst_bits - 1) // burst_bits * burst_bits


@njit(cache=True)
def _ifmap_tile_bits(nz, mask, G, C, n_blk, gp, q_r, row_ptr, row_idx, width, fmt, fp,
                     value_bits, burst_bits):
    """DRAM bits of every ifmap tile [group block, image block, strip, channel block].

    nz : int64 [N, G*C, H, RS_LEN] row summaries (``_row_summaries``) of the
    ifmap; mask : uint8 [N, G*C, H, W], 1 where it is nonzero.
    row_ptr : int64 [strips+1], row_idx : int64 [rows]: the input rows of each
    strip (accelsim.mapping.StripTable). Each tile is one transfer: whole
    bursts, each group in it coded separately in the format ``fmt``
    (``_tile_bits``: ``value_bits`` per element uncompressed).
    """
    N = nz.shape[0]
    nG = (G + gp - 1) // gp
    nN = (N + n_blk - 1) // n_blk
    nS = row_ptr.shape[0] - 1
    nC = (C + q_r - 1) // q_r
    out = np.zeros((nG, nN, nS, nC), dtype=np.int64)
    for gb in range(nG):
        for nb in range(nN):
            n0 = nb * n_blk
            n1 = min(N, n0 + n_blk)
            for sb in range(nS):
                rows = row_idx[row_ptr[sb]:row_ptr[sb + 1]]
                for cb in range(nC):
                    bits = 0
                    for g in range(gb * gp, min(G, gb * gp + gp)):
                        c0 = g * C + cb * q_r
                        c1 = g * C + min(C, cb * q_r + q_r)
                        bits += _tile_bits(nz, mask, n0, n1, c0, c1, rows, width, fmt, fp,
                                           value_bits)
                    out[gb, nb, sb, cb] = _bursts(bits, burst_bits)
    return out


@njit(cache=True)
def _filter_blocks(K, m_blk, pt):
    """The filter blocks of the loop nest: int64 [blocks, 4] rows (GLB block mb,
    pass block kb inside it, first filter, end filter), in loop order."""
    nM = (K + m_blk - 1) // m_blk
    n = 0
    for mb in range(nM):
        n += (min(m_blk, K - mb * m_blk) + pt - 1) // pt
    out = np.zeros((n, 4), dtype=np.int64)
    i = 0
    for mb in range(nM):
        m_end = min(K, mb * m_blk + m_blk)
        k_lo = mb * m_blk
        kb = 0
        while k_lo < m_end:
            out[i, 0] = mb
            out[i, 1] = kb
            out[i, 2] = k_lo
            out[i, 3] = min(m_end, k_lo + pt)
            k_lo += pt
            kb += 1
            i += 1
    return out


@njit(cache=True)
def _ofmap_tile_bits(nz, mask, G, K, m_blk, pt, n_blk, gp, e, width, fmt, fp, value_bits,
                     burst_bits):
    """DRAM bits of every result tile [group blk, filter blk, pass filter blk, image blk, strip].

    nz : int64 [N, G*K, P, RS_LEN] row summaries (``_row_summaries``) of the
    output after its activation, mask : uint8 [N, G*K, P, Q] its nonzeros;
    ``width`` is Q. Each tile is one transfer.
    Results leave the GLB one processing pass at a time: the filters of a pass
    (``pt`` of them, inside a GLB block of ``m_blk``) for its images and strip.
    """
    N = nz.shape[0]
    P = nz.shape[2]
    nG = (G + gp - 1) // gp
    nM = (K + m_blk - 1) // m_blk
    nKB = (m_blk + pt - 1) // pt
    nN = (N + n_blk - 1) // n_blk
    nS = (P + e - 1) // e
    out = np.zeros((nG, nM, nKB, nN, nS), dtype=np.int64)
    blocks = _filter_blocks(K, m_blk, pt)
    for gb in range(nG):
        for bi in range(blocks.shape[0]):
            mb, kb, k_lo, k_hi = blocks[bi, 0], blocks[bi, 1], blocks[bi, 2], blocks[bi, 3]
            for nb in range(nN):
                n0 = nb * n_blk
                n1 = min(N, n0 + n_blk)
                for sb in range(nS):
                    rows = np.arange(sb * e, min(P, sb * e + e))
                    bits = 0
                    for g in range(gb * gp, min(G, gb * gp + gp)):
                        bits += _tile_bits(nz, mask, n0, n1, g * K + k_lo, g * K + k_hi, rows,
                                           width, fmt, fp, value_bits)
                    out[gb, mb, kb, nb, sb] = _bursts(bits, burst_bits)
    return out


@njit(cache=True)
def _stream_bits(nzw, f0, f1, c0, c1, fmt, fp, value_bits):
    """Bits of one filter tile (filters f0:f1, channels c0:c1, all R x S taps),
    coded straight from the mask as one stream in order (f, c, r, s), with the
    same definitions as ``_tile_bits`` (a row is the S taps of one filter,
    channel and filter row; a CSC column is one filter; blocks run across
    rows, channels and filters, as RLC's runs do).

    nzw : uint8 [G*K, C, R, S].
    """
    R = nzw.shape[2]
    S = nzw.shape[3]
    if fmt == FMT_NONE:
        return (f1 - f0) * (c1 - c0) * R * S * value_bits
    bits = 0
    pairs = 0
    run = 0
    run_max = fp[FP_RUN_MAX]
    count_span = fp[FP_COUNT_MAX] + 1
    block = fp[FP_BLOCK]
    n = (f1 - f0) * (c1 - c0) * R * S
    pos = 0       # stream position of the value
    last = -1     # the last block found holding a nonzero
    stored = 0    # values of the blocks holding a nonzero
    for f in range(f0, f1):
        gap = 0
        entries = 0
        for c in range(c0, c1):
            for r in range(R):
                for s_ in range(S):
                    v = nzw[f, c, r, s_]
                    if fmt == FMT_RLC:
                        if v == 0 and run < run_max:
                            run += 1
                        else:
                            pairs += 1
                            run = 0
                    elif fmt == FMT_CSC:
                        if v == 0:
                            gap += 1
                        else:
                            entries += gap // count_span + 1
                            gap = 0
                    elif fmt == FMT_BITMAP:
                        bits += 1 + (value_bits if v != 0 else 0)
                    elif v != 0 and pos // block != last:
                        last = pos // block
                        stored += min(block, n - last * block)
                    pos += 1
        if fmt == FMT_CSC:
            bits += fp[FP_ADDRESS_BITS] + entries * (value_bits + fp[FP_COUNT_BITS])
    if fmt == FMT_BLOCK:
        return _block_bits(n, stored, block, value_bits)
    if fmt == FMT_RLC:
        if run > 0:
            pairs += 1
        ppw = _rlc_pairs_per_word(fp, value_bits)
        return (pairs + ppw - 1) // ppw * fp[FP_RLC_WORD_BITS]
    return bits


@njit(cache=True)
def _filter_tile_bits(nzw, G, K, C, m_blk, pt, gp, q_r, fmt, fp, value_bits, burst_bits):
    """DRAM bits of every pass's filters [group blk, filter blk, pass filter blk, channel blk].

    nzw : uint8 [G*K, C, R, S], 1 where the weight is nonzero. One transfer
    per pass, each group coded separately (``_stream_bits``).
    """
    nG = (G + gp - 1) // gp
    nM = (K + m_blk - 1) // m_blk
    nKB = (m_blk + pt - 1) // pt
    nC = (C + q_r - 1) // q_r
    out = np.zeros((nG, nM, nKB, nC), dtype=np.int64)
    blocks = _filter_blocks(K, m_blk, pt)
    for gb in range(nG):
        for bi in range(blocks.shape[0]):
            mb, kb, k_lo, k_hi = blocks[bi, 0], blocks[bi, 1], blocks[bi, 2], blocks[bi, 3]
            for cb in range(nC):
                c0 = cb * q_r
                c1 = min(C, c0 + q_r)
                bits = 0
                for g in range(gb * gp, min(G, gb * gp + gp)):
                    bits += _stream_bits(nzw, g * K + k_lo, g * K + k_hi, c0, c1, fmt, fp,
                                         value_bits)
                out[gb, mb, kb, cb] = _bursts(bits, burst_bits)
    return out


@njit(cache=True)
def _tap_counts(nz, Q, stride, pad, dil, S):
    """Per input row and filter tap, the nonzero inputs the tap meets.

    nz : uint8 [N, C, H, W]. Returns int64 [N, C, H, S]: entry (n, c, h, s)
    counts output columns x (0 <= x < Q) whose input x*stride + s*dil - pad is
    a real, nonzero value of row h. A PE holding filter row i and computing
    output row o meets row h = o*stride_h + i*dil_h - pad_h.
    """
    N, C, H, W = nz.shape
    out = np.zeros((N, C, H, S), dtype=np.int64)
    for n in range(N):
        for c in range(C):
            for h in range(H):
                for s in range(S):
                    cnt = 0
                    for x in range(Q):
                        w = x * stride + s * dil - pad
                        if 0 <= w < W and nz[n, c, h, w] != 0:
                            cnt += 1
                    out[n, c, h, s] = cnt
    return out


@njit(cache=True)
def _xfer(bits, bits_per_cycle):
    """Cycles to move ``bits`` over the DRAM link (whole cycles)."""
    return np.int64(np.ceil(bits / bits_per_cycle))


# columns of the per-pass table built by _simulate_nest and consumed by _timeline
PS_CYCLES = 0       # cycles of the pass (DRAM ignored)
PS_FILL_FILTER = 1  # cycles at its start to load filters from the filter buffer
PS_TILE = 2         # index of its ifmap tile
PS_TILE_BITS = 3    # DRAM bits of that tile (on the tile's first pass, else 0)
PS_FILTER_BITS = 4  # DRAM bits of its filters
PS_WB_BITS = 5      # DRAM bits of results it completes (last channel block), else 0
PS_GROUP = 6        # index of its psum group (GLB region use)
PS_KB = 7           # its filter block inside the GLB block
PS_FIRST_CB = 8     # 1 on the first channel block of its group
PS_LAST_CB = 9      # 1 on the last channel block (its results are final)
PS_LEN = 10


@njit(cache=True)
def _cdiv(a, b):
    return (a + b - 1) // b


@njit(cache=True)
def _image_work(nimg, g_lo, g_hi, t_used, r_used, k0, k_hi, c0, c_hi, p_pe, q_pe, i0, R, ea,
                row0, U, dil, pad, H, K, C, S, Q, skip_x, skip_w, taps, nzw):
    """(busiest PE's, all PEs') MAC slots of one image of a pass under skipping.

    The pass maps filter rows i0 .. i0 + R - 1 (all of them unless the filter
    is folded). A PE (group g, filter set fi, channel set ci, filter row i,
    ofmap row row0 + j) steps through, for each filter f, channel c and tap s it holds,
    (nzw[f, c, i, s] if weights skip else 1) x (taps[n, c, h, s] if ifmaps skip
    else Q) slots; a PE on a padding row has none when ifmaps skip.
    """
    worst = np.int64(0)
    total = np.int64(0)
    for g in range(g_lo, g_hi):
        for fi in range(t_used):
            f_lo = k0 + fi * p_pe
            f_hi = min(k_hi, f_lo + p_pe)
            for ci in range(r_used):
                ch_lo = c0 + ci * q_pe
                ch_hi = min(c_hi, ch_lo + q_pe)
                for i in range(i0, i0 + R):
                    for j in range(ea):
                        h = (row0 + j) * U + i * dil - pad
                        work = np.int64(0)
                        if skip_x == 0 or 0 <= h < H:
                            for f in range(f_lo, f_hi):
                                for c in range(ch_lo, ch_hi):
                                    for s_ in range(S):
                                        if skip_w and nzw[g * K + f, c, i, s_] == 0:
                                            continue
                                        if skip_x:
                                            work += taps[nimg, g * C + c, h, s_]
                                        else:
                                            work += Q
                        total += work
                        if work > worst:
                            worst = work
    return worst, total


@njit(cache=True)
def _simulate_nest(dims, mp, hw, e_act, rows_in, glb_rows, fold_rows, fold_pe_rows, if_bits,
                   of_bits, wt_bits, skip, taps, nzw, glb_if, glb_w, glb_c):
    """Enumerate the row-stationary loop nest pass by pass: counts and pass table.

    dims : int64 [13] N, G, C, K, W, R, S, Q, P, GLB row width, stride_h, pad_h,
           dilation_h (C, K per group; the GLB row width is W, or W plus
           padding when the GLB stores it).
    mp   : int64 [10] e, p, q, r, t, gp, m, n, segments, filter rows per set
           (see accelsim.mapping; fewer than R when the filter is folded: its
           rows then run in ceil(R / rows per set) passes per channel block,
           whose psums accumulate through the GLB as channel blocks' do).
    hw   : int64 [HW_LEN] (the HW_* indices): bus widths in values and in
           bits, pipeline depth, MAC lanes per PE and cycles per MAC (a PE
           with ``work`` MAC slots computes ceil(work * cycles_per_mac / lanes)
           cycles; accelsim.spec.mac.mac_rate), 0/1 flags (filter prefetch,
           ifmap and psum GLB double buffering, filter spad double buffering,
           filter and ifmap multicast), psum accumulate cycles per filter and
           output pixel, bits per cycle of the ifmap, psum and filter GLB
           regions, the psum link's psums per cycles, value widths.
    e_act, rows_in : int64 [strips] ofmap rows, real input rows (DRAM tile).
    glb_rows : int64 [strips] ifmap rows the GLB holds (the tile: every filter
           row's; accelsim.mapping.rowstationary.glb_ifmap_rows).
    fold_rows, fold_pe_rows : int64 [strips, folds] of those rows, the ones a
           pass of each fold of filter rows reads, and the PE rows fed a row
           of input (one fold: glb_rows and glb_ifmap_rows's PE rows).
    if_bits : int64 [gblk, nblk, strips, cblk] DRAM bits of each ifmap tile.
    of_bits : int64 [gblk, mblk, kblk, nblk, strips] DRAM bits of each result tile.
    wt_bits : int64 [gblk, mblk, kblk, cblk, folds] DRAM bits of each pass's
              filters.
    glb_if : int64 [gblk, N, strips, cblk] bits of each image's part of each
             ifmap tile in the GLB's format, or a 1-element dummy when the GLB
             stores ifmaps dense; glb_w : int64 [gblk, mblk, kblk, cblk, folds] bits of
             each pass's filters in the GLB's format, or a dummy; glb_c : int64
             [2] 1 where the GLB keeps weights / ifmaps compressed.
    skip : int64 [2] 1 where zero ifmaps / zero weights are skipped; then each
           PE's MAC slots are its nonzero work (``_image_work``) and a pass
           waits for its busiest PE. taps : int64 [N, G*C, H, S]
           (``_tap_counts``), nzw : uint8 [G*K, C, R, S]; 1-element dummies
           when nothing is skipped.

    Per image a pass streams at the pace of the slowest of: the busiest PE's
    compute plus psum accumulation; the ifmap bus (each row once under
    multicast, once per PE that takes it under unicast; coded bits when the
    GLB keeps ifmaps compressed); the psum bus; the ifmap GLB region (its
    reads) and the psum region (its writes, and reads of earlier channel
    blocks' psums); the PE-to-PE psum link (the busiest PE forwards p x Q
    psums up its column). What exceeds compute plus accumulation is counted
    as NoC/GLB stall. Loading a pass's filters takes the slower of the filter
    bus and the filter GLB region; it opens the pass unless the filter spads
    double-buffer.

    Returns (cycles int64 [9] indexed by accelsim.enums.Cycle, DRAM stall and
             total left 0 for _timeline; words int64 [4 levels, 3 tensors, 2 rw];
             dram_bits int64 [3 tensors, 2 rw]; busy float64 [2]: summed over
             passes and images, the busiest PE's and the mean PE's MAC-slot
             time in cycles (slots x cycles per MAC / lanes, unrounded);
             passes int64 [passes, PS_LEN]; cbits int64 [3 levels (GLB, NoC,
             spad), 2 tensors (weight, ifmap), 2 rw]: bits of the tensors the
             GLB keeps compressed (at the spads, the coded bits written);
             aux int64 [3]: MAC slots stepped through (all PEs; skipped slots
             excluded, padding taps included), and the rows the PEs hold, read
             once per image, of weights and of ifmaps).
    """
    N, G, C, K, W, R, S, Q = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], dims[7]
    Wg = dims[9]
    U, pad, dil = dims[10], dims[11], dims[12]
    H = taps.shape[2]
    skip_x, skip_w = skip[0], skip[1]
    sparse = skip_x != 0 or skip_w != 0
    e, p, q, r, t, gp, m, n = mp[0], mp[1], mp[2], mp[3], mp[4], mp[5], mp[6], mp[7]
    rr = mp[9]
    nF = (R + rr - 1) // rr
    ib, fb, pb = hw[HW_IFMAP_BUS_WORDS], hw[HW_FILTER_BUS_WORDS], hw[HW_PSUM_BUS_WORDS]
    ib_bits, fb_bits = hw[HW_IFMAP_BUS_BITS], hw[HW_FILTER_BUS_BITS]
    glb_ib, glb_pb, glb_fb = hw[HW_IFMAP_GLB_BITS], hw[HW_PSUM_GLB_BITS], hw[HW_FILTER_GLB_BITS]
    mc_f, mc_i = hw[HW_MULTICAST_FILTER] != 0, hw[HW_MULTICAST_IFMAP] != 0
    link_w, link_c = hw[HW_LINK_WORDS], hw[HW_LINK_CYCLES]
    a_bits, w_bits, p_bits = hw[HW_ACT_BITS], hw[HW_WEIGHT_BITS], hw[HW_PSUM_BITS]
    depth, mpc, cpm = hw[HW_PIPELINE_DEPTH], hw[HW_MACS_PER_PE], hw[HW_CYCLES_PER_MAC]
    sp_db = hw[HW_SPAD_FILTER_DBUF]
    cyc = np.zeros(9, dtype=np.int64)
    words = np.zeros((4, 3, 2), dtype=np.int64)
    dbits = np.zeros((3, 2), dtype=np.int64)
    busy = np.zeros(2, dtype=np.float64)
    cbits = np.zeros((3, 2, 2), dtype=np.int64)
    aux = np.zeros(3, dtype=np.int64)
    glb_w_c = glb_c[0] != 0
    glb_if_c = glb_c[1] != 0
    pt = p * t
    qr = q * r
    nG = (G + gp - 1) // gp
    nM = (K + m - 1) // m
    nN = (N + n - 1) // n
    nS = e_act.shape[0]
    nC = (C + qr - 1) // qr
    n_pass = 0
    for mb in range(nM):
        n_pass += (min(m, K - mb * m) + pt - 1) // pt
    n_pass *= nG * nN * nS * nC * nF
    passes = np.zeros((n_pass, PS_LEN), dtype=np.int64)
    pi = 0
    tile_i = 0
    group_i = 0
    for gb in range(nG):
        g_act = min(gp, G - gb * gp)
        for mb in range(nM):
            m_act = min(m, K - mb * m)
            for nb in range(nN):
                n_act = min(n, N - nb * n)
                for sb in range(nS):
                    ea = e_act[sb]
                    ri = rows_in[sb]
                    gr = glb_rows[sb]
                    for cb in range(nC):
                        c_act = min(qr, C - cb * qr)
                        q_pe = (c_act + r - 1) // r
                        r_used = (c_act + q_pe - 1) // q_pe
                        # ifmap tile: DRAM -> GLB (padding, if stored, is added on chip)
                        words[0, 1, 0] += g_act * n_act * c_act * ri * W
                        words[1, 1, 1] += g_act * n_act * c_act * gr * Wg
                        if glb_if_c:
                            for img in range(nb * n, nb * n + n_act):
                                cbits[0, 1, 1] += glb_if[gb, img, sb, cb]
                        dbits[1, 0] += if_bits[gb, nb, sb, cb]
                        first_of_tile = True
                        for fo in range(nF):  # the folds of filter rows (one: unfolded)
                            i0 = fo * rr
                            R_f = min(rr, R - i0)
                            gr_f = fold_rows[sb, fo]
                            pr = fold_pe_rows[sb, fo]
                            first_acc = cb == 0 and fo == 0  # no psums to read back yet
                            last_acc = cb == nC - 1 and fo == nF - 1  # results leave
                            for kb in range((m_act + pt - 1) // pt):
                                k_act = min(pt, m_act - kb * pt)
                                p_pe = (k_act + t - 1) // t
                                t_used = (k_act + p_pe - 1) // p_pe
                                # filters: DRAM -> filter GLB -> bus -> spads; the
                                # bus carries each word once, or once per PE (unicast)
                                fw = g_act * k_act * c_act * R_f * S
                                f_copies = 1 if mc_f else ea
                                words[0, 0, 0] += fw
                                words[1, 0, 1] += fw
                                words[1, 0, 0] += fw
                                words[2, 0, 0] += fw * f_copies
                                words[3, 0, 1] += fw * ea
                                if glb_w_c:
                                    wb_glb = glb_w[gb, mb, kb, cb, fo]
                                    cbits[0, 0, 1] += wb_glb
                                    cbits[0, 0, 0] += wb_glb
                                    cbits[1, 0, 0] += wb_glb * f_copies
                                    cbits[2, 0, 1] += wb_glb * ea
                                    fill_f = max(_cdiv(wb_glb * f_copies, fb_bits),
                                                 _cdiv(wb_glb, glb_fb))
                                else:
                                    fill_f = max(_cdiv(fw * f_copies, fb),
                                                 _cdiv(fw * w_bits, glb_fb))
                                dbits[0, 0] += wt_bits[gb, mb, kb, cb, fo]
                                aux[1] += g_act * k_act * c_act * R_f * ea * n_act
                                # per image traffic: unique ifmap words, and the
                                # PE deliveries (spad writes)
                                img_if = g_act * c_act * gr_f * Wg
                                spad_if = g_act * c_act * pr * Wg * t_used
                                img_ps = g_act * k_act * ea * Q
                                hops = img_ps * (R_f * r_used - 1)
                                words[1, 1, 0] += img_if * n_act
                                words[2, 1, 0] += (img_if if mc_i else spad_if) * n_act
                                words[3, 1, 1] += spad_if * n_act
                                aux[2] += g_act * c_act * pr * t_used * n_act
                                words[1, 2, 1] += img_ps * n_act
                                words[2, 2, 1] += img_ps * n_act
                                words[2, 2, 0] += hops * n_act
                                words[3, 2, 0] += hops * n_act
                                words[3, 2, 1] += hops * n_act
                                if not first_acc:
                                    words[1, 2, 0] += img_ps * n_act
                                    words[2, 2, 0] += img_ps * n_act
                                    words[3, 2, 0] += img_ps * n_act
                                    words[3, 2, 1] += img_ps * n_act
                                wb = np.int64(0)
                                if last_acc:
                                    # results leave: GLB -> DRAM, RLC coded on the way out
                                    words[1, 2, 0] += img_ps * n_act
                                    words[0, 2, 1] += img_ps * n_act
                                    wb = of_bits[gb, mb, kb, nb, sb]
                                    dbits[2, 1] += wb
                                # timing of the pass: per output pixel the busiest PE
                                # runs q*S MACs for each of its p filters, then adds the
                                # psum arriving from below to each
                                n_pes = g_act * t_used * r_used * R_f * ea
                                dense_work = p_pe * q_pe * S * Q
                                compute = (dense_work * cpm + mpc - 1) // mpc
                                k0 = mb * m + kb * pt
                                c0 = cb * qr
                                accumulate = p_pe * Q * hw[HW_ACCUMULATE]
                                # delivery bounds shared by every image of the pass
                                bound = max(_cdiv(img_ps, pb),
                                            _cdiv(img_ps * p_bits * (1 if first_acc else 2),
                                                  glb_pb))
                                if R_f * r_used > 1:
                                    bound = max(bound, _cdiv(p_pe * Q * link_c, link_w))
                                if not glb_if_c:
                                    bound = max(bound, _cdiv(img_if if mc_i else spad_if, ib),
                                                _cdiv(img_if * a_bits, glb_ib))
                                compute_all = np.int64(0)
                                stream_all = np.int64(0)
                                for img in range(n_act):
                                    nimg = nb * n + img
                                    img_compute = compute
                                    if sparse:
                                        worst, total = _image_work(
                                            nimg, gb * gp, gb * gp + g_act, t_used, r_used, k0,
                                            k0 + k_act, c0, c0 + c_act, p_pe, q_pe, i0, R_f, ea,
                                            sb * e, U, dil, pad, H, K, C, S, Q, skip_x, skip_w,
                                            taps, nzw)
                                        busy[0] += worst * cpm / mpc
                                        busy[1] += total * cpm / mpc / n_pes
                                        aux[0] += total
                                        img_compute = (worst * cpm + mpc - 1) // mpc
                                    img_bound = bound
                                    if glb_if_c:
                                        # coded bits: once (multicast), or each PE its
                                        # share of the deliveries (unicast; assumption:
                                        # the code is spread evenly over the rows)
                                        img_bits = glb_if[gb, nimg, sb, cb]
                                        if nF > 1 and gr > 0:  # a fold reads its rows' share
                                            img_bits = img_bits * gr_f // gr
                                        deliv = (_cdiv(img_bits * spad_if, img_if) if img_if > 0
                                                 else 0)
                                        bus_bits = img_bits if mc_i else deliv
                                        cbits[0, 1, 0] += img_bits
                                        cbits[1, 1, 0] += bus_bits
                                        cbits[2, 1, 1] += deliv
                                        img_bound = max(img_bound, _cdiv(bus_bits, ib_bits),
                                                        _cdiv(img_bits, glb_ib))
                                    compute_all += img_compute
                                    stream_all += max(img_compute + accumulate, img_bound)
                                if not sparse:
                                    busy[0] += n_act * dense_work * cpm / mpc
                                    busy[1] += (n_act * (g_act * R_f * ea * k_act * c_act * S * Q
                                                         / n_pes)
                                                * cpm / mpc)
                                    aux[0] += n_act * g_act * R_f * ea * k_act * c_act * S * Q
                                # ramp-up: every row stream (every PE, under unicast)
                                # gets its first S words before the last PE can start.
                                # Assumption: counted on dense words of a_bits even when
                                # the GLB keeps ifmaps CSC-coded (glb_if_c), whose first
                                # S values may take fewer bits. Small: on Eyeriss v2's
                                # AlexNet conv3 (40% dense, coded at ~60% of the dense
                                # bits) ~98 cycles a pass dense, ~40 fewer coded.
                                ramp = g_act * c_act * gr_f * min(S, Wg)
                                ramp_bus = (ramp if mc_i
                                            else g_act * c_act * pr * t_used * min(S, Wg))
                                fill = max(_cdiv(ramp_bus, ib), _cdiv(ramp * a_bits, glb_ib))
                                if sp_db == 0 or pi == 0:
                                    fill += fill_f
                                drain = depth + R_f * r_used
                                pass_cycles = fill + stream_all + drain
                                cyc[2] += compute_all
                                cyc[5] += stream_all - compute_all - n_act * accumulate
                                cyc[3] += fill
                                cyc[4] += drain
                                cyc[8] += n_act * accumulate
                                cyc[1] += pass_cycles
                                passes[pi, PS_CYCLES] = pass_cycles
                                passes[pi, PS_FILL_FILTER] = fill_f
                                passes[pi, PS_TILE] = tile_i
                                if first_of_tile:
                                    passes[pi, PS_TILE_BITS] = if_bits[gb, nb, sb, cb]
                                passes[pi, PS_FILTER_BITS] = wt_bits[gb, mb, kb, cb, fo]
                                passes[pi, PS_WB_BITS] = wb
                                passes[pi, PS_GROUP] = group_i
                                passes[pi, PS_KB] = kb
                                passes[pi, PS_FIRST_CB] = 1 if first_acc else 0
                                passes[pi, PS_LAST_CB] = 1 if last_acc else 0
                                first_of_tile = False
                                pi += 1
                        tile_i += 1
                    group_i += 1
    if sp_db:
        # the next pass's filters load over the filter bus (and the filter
        # banks) into the spads' free half while this pass runs: a pass lasts
        # at least that load, counted as fill
        for i in range(pi - 1):
            wait = passes[i + 1, PS_FILL_FILTER] - passes[i, PS_CYCLES]
            if wait > 0:
                passes[i, PS_CYCLES] += wait
                cyc[1] += wait
                cyc[3] += wait
    cyc[7] = pi
    return cyc, words, dbits, busy, passes, cbits, aux


@njit(cache=True)
def _timeline(passes, bits_per_cycle, f_pref, if_db, ps_db, sp_db, n_kb):
    """When each pass runs, given one DRAM link and the GLB's buffering.

    passes : int64 [passes, PS_LEN] from _simulate_nest.
    bits_per_cycle : float64, DRAM link bits per core cycle.
    f_pref : 1 if a pass's filters fit the filter buffer, so the next pass's
             filters are prefetched once this pass's are in the spads.
    sp_db : 1 if the filter spads hold two passes' filters: the next pass's
            filters stream from DRAM through the filter buffer into the spads'
            free half from the moment this pass starts (its own are loaded).
    if_db, ps_db : 1 if the GLB has room for two ifmap tiles / two psum regions.
    n_kb : filter blocks per GLB block (size of the per-region release table).

    The link serves requests in the order the DMA issues them. While pass i
    runs, the DMA issues pass i+1's data: its filters and, when pass i+1
    starts a new ifmap tile, that tile, in the order their buffers free (a
    request whose buffer is still in use does not hold back one whose buffer
    is free); then the results pass i completes, after pass i ends. A new
    tile is requested only at the last pass of the tile before it, even when
    a second ifmap buffer (if_db) freed earlier: with two buffers it can wait
    behind that tile's filter prefetches and result write-backs. A pass starts
    when the array is free and its tile, its filters and (on its group's first
    channel block) its psum space are there.
    Returns (total cycles, finish time of each pass) as (int64, int64 [passes]).
    """
    n = passes.shape[0]
    ends = np.zeros(n, dtype=np.int64)
    link = np.int64(0)
    arr_end = np.int64(0)
    tile_ready = np.zeros(2, dtype=np.int64)     # per ifmap buffer
    tile_release = np.zeros(2, dtype=np.int64)   # when each ifmap buffer is free
    region_free = np.zeros((2, n_kb), dtype=np.int64)
    filt_ready = np.int64(0)
    if n == 0:
        return np.int64(0), ends
    # pass 0's data
    link = link + _xfer(passes[0, PS_TILE_BITS], bits_per_cycle)
    tile_ready[0] = link
    link = link + _xfer(passes[0, PS_FILTER_BITS], bits_per_cycle)
    filt_ready = link
    for i in range(n):
        tile = passes[i, PS_TILE]
        buf = tile % 2 if if_db else 0
        region = passes[i, PS_GROUP] % 2 if ps_db else 0
        start = max(arr_end, tile_ready[buf])
        start = max(start, filt_ready)
        if passes[i, PS_FIRST_CB] == 1:
            start = max(start, region_free[region, passes[i, PS_KB]])
        end = start + passes[i, PS_CYCLES]
        ends[i] = end
        arr_end = end
        last_of_tile = i + 1 == n or passes[i + 1, PS_TILE] != tile
        if last_of_tile:
            tile_release[buf] = end
        if i + 1 < n:
            # prefetch the next pass's data: each request is issued when its
            # buffer frees, so the link serves them in that order (the filters
            # usually first: their buffer frees once this pass's filters sit in
            # the spads, the ifmap tile's only when this pass ends)
            if sp_db:
                free_at = start
            elif f_pref:
                free_at = start + passes[i, PS_FILL_FILTER]
            else:
                free_at = end
            f_xfer = _xfer(passes[i + 1, PS_FILTER_BITS], bits_per_cycle)
            if last_of_tile:
                nbuf = passes[i + 1, PS_TILE] % 2 if if_db else 0
                t_xfer = _xfer(passes[i + 1, PS_TILE_BITS], bits_per_cycle)
                if free_at < tile_release[nbuf]:
                    link = max(link, free_at) + f_xfer
                    filt_ready = link
                    link = max(link, tile_release[nbuf]) + t_xfer
                    tile_ready[nbuf] = link
                else:
                    link = max(link, tile_release[nbuf]) + t_xfer
                    tile_ready[nbuf] = link
                    link = max(link, free_at) + f_xfer
                    filt_ready = link
            else:
                link = max(link, free_at) + f_xfer
                filt_ready = link
        if passes[i, PS_LAST_CB] == 1:
            link = max(link, end) + _xfer(passes[i, PS_WB_BITS], bits_per_cycle)
            region_free[region, passes[i, PS_KB]] = link
    return max(arr_end, link), ends
