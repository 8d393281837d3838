"""Numba kernels of the engine: the only place in accelsim that imports numba.

Place in the pipeline: ``mapping -> engine`` (``accelsim.engine.simulate`` prepares
the arrays, calls these, and wraps the results in LayerCounts).

Kernels take contiguous NumPy arrays and scalars, use int64 counts, and are
compiled with ``cache=True`` so a second process does not recompile.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# indices into the hardware-parameter array ``hw`` of _simulate_nest
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
HW_LEN = 10


@njit(cache=True)
def _rlc_pairs(nz, n0, n1, c0, c1, rows, w, run_max):
    """Run-length pairs to encode one tile of a feature map.

    nz : uint8 [N, C, H, W], 1 where the value is nonzero.
    rows : int64 [k], the rows of the tile.
    The tile is images n0:n1, channels c0:c1, the given rows, all W columns,
    read in that order (image, channel, row, column). A pair is (run of up to
    ``run_max`` zeros, value); a zero that would make the run longer than
    ``run_max`` is stored as the value of a pair; trailing zeros take one pair.
    Returns the number of pairs (int64).
    """
    pairs = 0
    run = 0
    for n in range(n0, n1):
        for c in range(c0, c1):
            for h in rows:
                for x in range(w):
                    if nz[n, c, h, x] == 0 and run < run_max:
                        run += 1
                    else:
                        pairs += 1
                        run = 0
    if run > 0:
        pairs += 1
    return pairs


@njit(cache=True)
def _ifmap_tile_bits(nz, G, C, n_blk, gp, q_r, row_ptr, row_idx, run_max, pairs_per_word,
                     word_bits, dense_bits, compress):
    """DRAM bits of every ifmap tile [group block, image block, strip, channel block].

    nz : uint8 [N, G*C, H, W]. row_ptr : int64 [strips+1], row_idx : int64 [rows]:
    the input rows of each strip (accelsim.mapping.StripTable).
    With ``compress`` 0 a tile costs ``dense_bits`` per element; else whole RLC
    words of ``pairs_per_word`` pairs, each tile (and each group in it) coded
    separately.
    """
    N = nz.shape[0]
    W = nz.shape[3]
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
                        if compress:
                            pairs = _rlc_pairs(nz, n0, n1, c0, c1, rows, W, run_max)
                            bits += (pairs + pairs_per_word - 1) // pairs_per_word * word_bits
                        else:
                            bits += (n1 - n0) * (c1 - c0) * rows.shape[0] * W * dense_bits
                    out[gb, nb, sb, cb] = bits
    return out


@njit(cache=True)
def _ofmap_tile_bits(nz, G, K, m_blk, n_blk, gp, e, run_max, pairs_per_word, word_bits,
                     dense_bits, compress):
    """DRAM bits of every ofmap tile [group block, filter block, image block, strip].

    nz : uint8 [N, G*K, P, Q], 1 where the output (after its activation) is nonzero.
    """
    N = nz.shape[0]
    P = nz.shape[2]
    Q = nz.shape[3]
    nG = (G + gp - 1) // gp
    nM = (K + m_blk - 1) // m_blk
    nN = (N + n_blk - 1) // n_blk
    nS = (P + e - 1) // e
    out = np.zeros((nG, nM, nN, nS), dtype=np.int64)
    for gb in range(nG):
        for mb in range(nM):
            for nb in range(nN):
                n0 = nb * n_blk
                n1 = min(N, n0 + n_blk)
                for sb in range(nS):
                    h0 = sb * e
                    h1 = min(P, h0 + e)
                    rows = np.arange(h0, h1)
                    bits = 0
                    for g in range(gb * gp, min(G, gb * gp + gp)):
                        k0 = g * K + mb * m_blk
                        k1 = g * K + min(K, mb * m_blk + m_blk)
                        if compress:
                            pairs = _rlc_pairs(nz, n0, n1, k0, k1, rows, Q, run_max)
                            bits += (pairs + pairs_per_word - 1) // pairs_per_word * word_bits
                        else:
                            bits += (n1 - n0) * (k1 - k0) * (h1 - h0) * Q * dense_bits
                    out[gb, mb, nb, sb] = bits
    return out


@njit(cache=True)
def _xfer(bits, bits_per_cycle):
    """Cycles to move ``bits`` over the DRAM link (whole cycles)."""
    return np.int64(np.ceil(bits / bits_per_cycle))


@njit(cache=True)
def _simulate_nest(dims, mp, hw, dram_bits_per_cycle, e_act, rows_in, pe_rows,
                   if_bits, of_bits):
    """Execute the row-stationary loop nest pass by pass.

    dims : int64 [10] N, G, C, K, W, R, S, Q, P, unused (C, K per group).
    mp   : int64 [9]  e, p, q, r, t, gp, m, n, segments (see accelsim.mapping).
    hw   : int64 [HW_LEN] bus widths in words, pipeline depth, MACs per PE per
           cycle, and 0/1 flags for filter prefetch (filter GLB double buffer),
           ifmap and psum GLB double buffering, filter spad double buffering;
           weight bits.
    dram_bits_per_cycle : float64, DRAM link bits per core cycle.
    e_act, rows_in, pe_rows : int64 [strips] (accelsim.mapping.StripTable).
    if_bits : int64 [gblk, nblk, strips, cblk] DRAM bits of each ifmap tile.
    of_bits : int64 [gblk, mblk, nblk, strips] DRAM bits of each ofmap tile.

    Returns (cycles int64 [8] indexed by accelsim.enums.Cycle,
             words int64 [4 levels, 3 tensors, 2 rw],
             dram_bits int64 [3 tensors, 2 rw],
             busy int64 [2]: sum over passes of active-PE-cycles of compute, and
             PE-slots x compute cycles).
    """
    N, G, C, K, W, R, S, Q = dims[0], dims[1], dims[2], dims[3], dims[4], dims[5], dims[6], dims[7]
    e, p, q, r, t, gp, m, n = mp[0], mp[1], mp[2], mp[3], mp[4], mp[5], mp[6], mp[7]
    ib, fb, pb = hw[HW_IFMAP_BUS_WORDS], hw[HW_FILTER_BUS_WORDS], hw[HW_PSUM_BUS_WORDS]
    depth, mpc = hw[HW_PIPELINE_DEPTH], hw[HW_MACS_PER_PE]
    f_pref, if_db, ps_db, sp_db = (hw[HW_FILTER_PREFETCH], hw[HW_IFMAP_DBUF],
                                   hw[HW_PSUM_DBUF], hw[HW_SPAD_FILTER_DBUF])
    wbits = hw[HW_WEIGHT_BITS]
    cyc = np.zeros(8, dtype=np.int64)
    words = np.zeros((4, 3, 2), dtype=np.int64)
    dbits = np.zeros((3, 2), dtype=np.int64)
    busy = np.zeros(2, dtype=np.int64)
    pt = p * t
    qr = q * r
    nG = (G + gp - 1) // gp
    nM = (K + m - 1) // m
    nN = (N + n - 1) // n
    nS = e_act.shape[0]
    nC = (C + qr - 1) // qr
    t_link = np.int64(0)
    arr_end = np.int64(0)
    if_rel = np.zeros(2, dtype=np.int64)   # when each ifmap GLB buffer is free
    f_rel = np.zeros(2, dtype=np.int64)    # when each filter GLB buffer is free
    ps_rel = np.zeros(2, dtype=np.int64)   # when each psum GLB region is free
    tile_i = 0
    pass_i = 0
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
                    pr = pe_rows[sb]
                    region = group_i % 2 if ps_db else 0
                    region_ready = ps_rel[region]
                    last_end = arr_end
                    for cb in range(nC):
                        c_act = min(qr, C - cb * qr)
                        q_pe = (c_act + r - 1) // r
                        r_used = (c_act + q_pe - 1) // q_pe
                        # ifmap tile: DRAM -> GLB
                        tile_words = g_act * n_act * c_act * ri * W
                        words[0, 1, 0] += tile_words
                        words[1, 1, 1] += tile_words
                        dbits[1, 0] += if_bits[gb, nb, sb, cb]
                        buf = tile_i % 2 if if_db else 0
                        start = max(t_link, if_rel[buf])
                        t_link = start + _xfer(if_bits[gb, nb, sb, cb], dram_bits_per_cycle)
                        tile_ready = t_link
                        tile_i += 1
                        for kb in range((m_act + pt - 1) // pt):
                            k_act = min(pt, m_act - kb * pt)
                            p_pe = (k_act + t - 1) // t
                            t_used = (k_act + p_pe - 1) // p_pe
                            # filters: DRAM -> filter GLB -> bus -> spads
                            fw = g_act * k_act * c_act * R * S
                            words[0, 0, 0] += fw
                            words[1, 0, 1] += fw
                            words[1, 0, 0] += fw
                            words[2, 0, 0] += fw
                            words[3, 0, 1] += fw * ea
                            dbits[0, 0] += fw * wbits
                            fbuf = pass_i % 2 if f_pref else 0
                            start = max(t_link, f_rel[fbuf])
                            t_link = start + _xfer(fw * wbits, dram_bits_per_cycle)
                            filt_ready = t_link
                            # per image traffic
                            img_if = g_act * c_act * ri * W
                            img_ps = g_act * k_act * ea * Q
                            hops = img_ps * (R * r_used - 1)
                            words[1, 1, 0] += img_if * n_act
                            words[2, 1, 0] += img_if * n_act
                            words[3, 1, 1] += g_act * c_act * pr * W * t_used * n_act
                            words[1, 2, 1] += img_ps * n_act
                            words[2, 2, 1] += img_ps * n_act
                            words[2, 2, 0] += hops * n_act
                            words[3, 2, 0] += hops * n_act
                            words[3, 2, 1] += hops * n_act
                            if cb > 0:
                                words[1, 2, 0] += img_ps * n_act
                                words[2, 2, 0] += img_ps * n_act
                                words[3, 2, 0] += img_ps * n_act
                                words[3, 2, 1] += img_ps * n_act
                            # timing of the pass
                            compute = (p_pe * q_pe * S * Q + mpc - 1) // mpc
                            stream = compute
                            stream = max(stream, (img_if + ib - 1) // ib)
                            stream = max(stream, (img_ps + pb - 1) // pb)
                            fill = (g_act * c_act * ri * min(S, W) + ib - 1) // ib
                            if sp_db == 0 or pass_i == 0:
                                fill += (fw + fb - 1) // fb
                            drain = depth + R * r_used
                            pass_cycles = fill + n_act * stream + drain
                            cyc[2] += n_act * compute
                            cyc[3] += fill
                            cyc[4] += drain
                            cyc[5] += n_act * (stream - compute)
                            cyc[1] += pass_cycles
                            busy[0] += n_act * g_act * t_used * r_used * R * ea * compute
                            start = max(arr_end, tile_ready)
                            start = max(start, filt_ready)
                            start = max(start, region_ready)
                            arr_end = start + pass_cycles
                            f_rel[fbuf] = arr_end
                            pass_i += 1
                        if_rel[buf] = arr_end
                        last_end = arr_end
                    # results: GLB -> DRAM, RLC coded on the way out
                    out_words = g_act * m_act * n_act * ea * Q
                    words[1, 2, 0] += out_words
                    words[0, 2, 1] += out_words
                    dbits[2, 1] += of_bits[gb, mb, nb, sb]
                    start = max(t_link, last_end)
                    t_link = start + _xfer(of_bits[gb, mb, nb, sb], dram_bits_per_cycle)
                    ps_rel[region] = t_link
                    group_i += 1
    cyc[0] = max(arr_end, t_link)
    cyc[6] = cyc[0] - cyc[1]
    cyc[7] = pass_i
    return cyc, words, dbits, busy
