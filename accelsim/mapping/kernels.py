"""The mapping search's compiled loops: the enumeration of row-stationary
mappings and their closed-form estimates.

Place in the pipeline: inside ``mapping``; called by
:func:`accelsim.mapping.rowstationary.candidates` (``_enumerate``) and
:func:`accelsim.mapping.estimate.estimate` (``_estimate_rows``), which prepare
the arrays and wrap the results. A batch-1 FC layer has tens of thousands of
candidate mappings, and the search runs for every layer of every design point
of a sweep, so these loops are compiled like the engine's kernels
(:mod:`accelsim.engine.kernels`): contiguous int64/float64 arrays and scalars,
``cache=True``. tests/reference_model.reference_candidates states the
enumeration as plain loops and a property test holds ``_enumerate`` to it; the
estimate was checked bitwise against its former numpy form.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# what _enumerate found for one strip height e, when it gave no mapping
(ST_OK, ST_SET_TOO_BIG, ST_SETS_SHORT, ST_NO_FREE_BANK, ST_PSUMS_NO_FIT, ST_M_NOT_MULTIPLE,
 ST_M_EXCEEDS, ST_M_PSUMS_NO_FIT) = range(8)
# indices into _enumerate's integer parameters
(L_ROWS, L_COLS, L_R, L_S, L_C, L_K, L_N, L_Q, L_G, L_QMAX, L_FILT_VALUES, L_PSUM_ENTRIES,
 L_BANKS, L_BANK_BYTES, L_WIDTH, L_ACT_BITS, L_PSUM_BITS, L_LEN) = range(18)


@njit(cache=True)
def filter_rows_per_set(R, rows, segments):
    """Filter rows one PE set holds, or 0 when no set fits.

    A filter that fits the array's rows is mapped whole (R rows; a set of R x
    e folded into ``segments`` needs R * segments rows, else 0). A filter
    taller than the array (R > rows) is folded: its rows are cut into the
    fewest blocks that fit a segment's share of the rows (rows // segments),
    balanced (ceil(R / folds) rows each, the last block shorter), and the
    blocks run in successive passes whose psums accumulate through the GLB, as
    channel blocks do. Assumption (the chip never needs it: JSSC 2017 maps
    AlexNet whole): the fewest balanced folds are taken, because every extra
    fold adds a round trip of every psum through the GLB; a filter that fits
    is never folded, so layers that fit map as before.
    """
    if R <= rows:
        return R if R * segments <= rows else 0
    avail = rows // segments
    if avail < 1:
        return 0
    folds = -(-R // avail)
    return -(-R // folds)


@njit(cache=True, error_model="numpy")
def _enumerate(e_arr, rows_in_max, lv, fx, out, skip, b_lo, b_hi, blocks):
    """The loops of :func:`accelsim.mapping.rowstationary.candidates` (its
    docstring states the rules).

    e_arr : int64, the strip heights to try; rows_in_max : int64, per strip
    height, the most ifmap rows a strip holds in the GLB; lv : int64 [L_LEN];
    fx : int64 [8], the fixed value of e, p, q, r, t, gp, m, n or -1 where
    free; out : int64 [cap, 10], rows (e, p, q, r, t, gp, m, n, segments,
    filter rows per set: :func:`filter_rows_per_set`).

    The rows come in blocks, one per (e, q, p), numbered in loop order: block
    (k, q - q_lo, p - p_lo) of ``blocks`` (int64 [len(e_arr), q values, p
    values], q and p from 1 or their fixed value), where the walk writes each
    block's row count. Only blocks b_lo to b_hi - 1 are walked, and of their
    rows, in order, those numbered skip to skip + cap - 1 are written to
    ``out`` (cap 0 only counts), so the search can enumerate a large set in
    chunks without walking it again. GLB sizes are compared in bits, exactly.
    Returns (rows found in the blocks walked, rows per e, an ST_* status per
    e, PE sets per e); the statuses describe a whole walk (b_lo = 0, b_hi =
    blocks.size) only.
    """
    # ceilings are written -(-a // b) inline: through _cdiv (below), compiled
    # with Python's error model, the FC enumeration ran about 10% slower
    rows, cols, R, S = lv[L_ROWS], lv[L_COLS], lv[L_R], lv[L_S]
    C, K, N, Q, G = lv[L_C], lv[L_K], lv[L_N], lv[L_Q], lv[L_G]
    banks, bank, width = lv[L_BANKS], lv[L_BANK_BYTES], lv[L_WIDTH]
    act_bits, psum_word_bits = lv[L_ACT_BITS], lv[L_PSUM_BITS]
    bank_bits = 8 * bank
    fp, fq, fr, ft, fgp, fm, fn = fx[1], fx[2], fx[3], fx[4], fx[5], fx[6], fx[7]
    n_out = 0
    end = skip + out.shape[0]
    found = np.zeros(len(e_arr), np.int64)
    status = np.zeros(len(e_arr), np.int64)
    sets = np.zeros(len(e_arr), np.int64)
    gps = np.empty(2, np.int64)
    for k in range(len(e_arr)):
        e = e_arr[k]
        segments = -(-e // cols)
        rr = filter_rows_per_set(R, rows, segments)
        if rr == 0:
            status[k] = ST_SET_TOO_BIG
            continue
        n_sets = (rows // (rr * segments)) * (cols // min(e, cols))
        sets[k] = n_sets
        n_gp = 1
        gps[0] = 1
        if fgp >= 0:
            gps[0] = fgp
        elif min(G, n_sets) > 1:
            gps[1] = min(G, n_sets)
            n_gp = 2
        q_lo, q_hi = (fq, fq) if fq >= 0 else (1, lv[L_QMAX])
        p_lo, p_hi = (fp, fp) if fp >= 0 else (1, min(lv[L_PSUM_ENTRIES], K))
        r_lo, r_hi = (fr, fr) if fr >= 0 else (1, n_sets)
        n_lo, n_hi = (fn, fn) if fn >= 0 else (1, N)
        any_legal = any_t = any_free = any_fit = False
        any_multiple = any_multiple_in_k = False
        n_before = n_out
        for q in range(q_lo, q_hi + 1):
            r_most = min(r_hi, -(-C // q))
            for p in range(p_lo, p_hi + 1):
                b = (k * blocks.shape[1] + q - q_lo) * blocks.shape[2] + p - p_lo
                if b < b_lo or b >= b_hi or p * q * S > lv[L_FILT_VALUES]:
                    continue
                n_block = n_out
                t_filters = -(-K // p)
                for gi in range(n_gp):
                    gp = gps[gi]
                    for r in range(r_lo, min(r_most, n_sets // gp) + 1):
                        any_legal = True
                        t_max = min(n_sets // (r * gp), t_filters)
                        # the t values to try: the largest that fits; a fixed t if it
                        # fits; with m fixed and t free, every t whose p*t divides m
                        t_lo, t_hi = t_max, t_max
                        if ft >= 0:
                            if ft > t_max:
                                continue
                            t_lo, t_hi = ft, ft
                        elif fm >= 0:
                            t_lo = 1
                        for n in range(n_lo, n_hi + 1):
                            # the GLB in whole banks: the ifmap tile's, then the psums
                            # of m filters in those left (sizes in bits, exact)
                            free = banks - -(-(gp * n * q * r * rows_in_max[k] * width
                                               * act_bits) // bank_bits)
                            psum_bits = gp * n * e * Q * psum_word_bits
                            for t in range(t_lo, t_hi + 1):
                                pt = p * t
                                if ft < 0 and fm >= 0 and fm % pt != 0:
                                    continue
                                any_t = True
                                any_free = any_free or free >= 1
                                if not (free >= 1 and -(-(psum_bits * pt) // bank_bits) <= free):
                                    continue
                                any_fit = True
                                blocks_k = -(-K // pt)
                                mk_max = min(blocks_k, free * bank_bits // (psum_bits * pt))
                                if fm >= 0:
                                    if fm % pt == 0:
                                        any_multiple = True
                                        if fm <= blocks_k * pt:
                                            any_multiple_in_k = True
                                    if fm % pt != 0 or fm // pt > mk_max:
                                        continue
                                    m_big = m_bal = fm
                                else:
                                    m_big = mk_max * pt
                                    m_bal = -(-blocks_k // -(-K // m_big)) * pt
                                # the largest m, and the balanced one when it differs
                                for j in range(1 if m_bal == m_big else 2):
                                    if skip <= n_out < end:
                                        i = n_out - skip
                                        out[i, 0], out[i, 1], out[i, 2] = e, p, q
                                        out[i, 3], out[i, 4], out[i, 5] = r, t, gp
                                        out[i, 6] = m_big if j == 0 else m_bal
                                        out[i, 7], out[i, 8], out[i, 9] = n, segments, rr
                                    n_out += 1
                blocks[k, q - q_lo, p - p_lo] = n_out - n_block
        found[k] = n_out - n_before
        if n_out > n_before:
            status[k] = ST_OK
        elif not any_legal or (ft >= 0 and not any_t):
            status[k] = ST_SETS_SHORT
        elif not any_t:  # m fixed, t free: no legal p*t divides m
            status[k] = ST_M_NOT_MULTIPLE
        elif not any_fit:
            status[k] = ST_PSUMS_NO_FIT if any_free else ST_NO_FREE_BANK
        elif not any_multiple:
            status[k] = ST_M_NOT_MULTIPLE
        elif not any_multiple_in_k:
            status[k] = ST_M_EXCEEDS
        else:
            status[k] = ST_M_PSUMS_NO_FIT
    return n_out, found, status, sets


# columns of the per-strip-height table and the integer/float parameter
# vectors of _estimate_rows (built by estimate)
E_ROWS_SUM, E_GLB_SUM, E_PE_SUM, E_ROWS_MAX, E_STRIPS, E_LEN = range(6)
(I_N, I_G, I_C, I_K, I_R, I_S, I_P, I_Q, I_W, I_WG, I_WB, I_AB, I_PB, I_REF, I_MC_FILTER,
 I_MC_IFMAP, I_IFMAP_BUS, I_FILTER_BUS, I_PSUM_BUS, I_FILT_VALUES, I_LANES, I_CPM,
 I_WORD_BITS, I_BANK_BYTES, I_FILTER_BANKS, I_FILTER_BANK_BYTES, I_ACC_CYCLES, I_DEPTH,
 I_LINK_W, I_LINK_C, I_IF_DB, I_PS_DB, I_BANKS, I_LEN) = range(34)
(F_DRAM_PJ, F_GLB_PJ, F_NOC_PJ, F_SPAD_PJ, F_IFMAP_RATIO, F_OFMAP_RATIO, F_BPC,
 F_GLB_IFMAP_RATIO, F_GLB_WEIGHT_RATIO,
 # the arch's size factors of the GLB's and spads' per-access costs, per tensor
 # (ArchSpec.storage_factors; 1.0 where nothing is scaled)
 F_GLB_W_X, F_GLB_I_X, F_GLB_P_X, F_SPAD_W_X, F_SPAD_I_X, F_SPAD_P_X, F_LEN) = range(16)


@njit(cache=True)
def _cdiv(a, b):
    return -(-a // b)


@njit(cache=True)
def glb_double_buffers(ifmap_banks, psum_banks, banks, ifmap_flag, psum_flag):
    """(ifmap, psum): whether the GLB double-buffers a mapping's ifmap tile and
    psum region: the arch asks for it and the second copy fits its ``banks``
    beside the rest (the ifmap's second tile first). The one rule the engine
    (``engine.simulate.hw_params``) and the search's estimate both apply."""
    if_db = ifmap_flag and psum_banks + 2 * ifmap_banks <= banks
    ps_db = psum_flag and 2 * psum_banks + (2 if if_db else 1) * ifmap_banks <= banks
    return if_db, ps_db


@njit(cache=True)
def _estimate_rows(cands, e_row, e_tab, iv, fv, energy, cycles):
    """Fill ``energy`` and ``cycles`` (float64 [len(cands)]) of each candidate row.

    e_row maps a strip height to its row of e_tab (E_* columns); iv and fv are
    the layer's and the arch's parameters (I_* and F_* indices, see estimate).
    A folded filter (rows per set below R) adds its folds' psum round trips and
    passes; its ifmap GLB reads are estimated as unfolded (the engine rereads
    the rows folds share, so this underestimates their energy) and its stream
    and ramp at the whole strip's rows per pass (an overestimate). Only for
    ranking: on AlexNet conv1 folded on an 8 x 8 array the estimate ranked the
    437 candidates with Spearman 0.95 against the engine.
    """
    N, G, C, K = iv[I_N], iv[I_G], iv[I_C], iv[I_K]
    R, S, P, Q, W, Wg = iv[I_R], iv[I_S], iv[I_P], iv[I_Q], iv[I_W], iv[I_WG]
    wb, ab, pb, ref = iv[I_WB], iv[I_AB], iv[I_PB], iv[I_REF]
    outs = G * K * P * Q * N
    out_link = outs * ab * fv[F_OFMAP_RATIO] / fv[F_BPC]
    for i in range(cands.shape[0]):
        e, p, q, r = cands[i, 0], cands[i, 1], cands[i, 2], cands[i, 3]
        t, gp, m, n = cands[i, 4], cands[i, 5], cands[i, 6], cands[i, 7]
        rr = cands[i, 9]
        n_f = _cdiv(R, rr)  # filter-row folds: each a psum round trip, as a channel block
        k = e_row[e]
        rows_sum, glb_sum, pe_sum = e_tab[k, E_ROWS_SUM], e_tab[k, E_GLB_SUM], e_tab[k, E_PE_SUM]
        rows_max, n_strips = e_tab[k, E_ROWS_MAX], e_tab[k, E_STRIPS]
        pt, qr = p * t, q * r
        nG, nM, nN, nC = _cdiv(G, gp), _cdiv(K, m), _cdiv(N, n), _cdiv(C, qr)
        kk = (nM - 1) * _cdiv(m, pt) + _cdiv(K - (nM - 1) * m, pt)
        if_dram = G * C * W * N * rows_sum * nM
        if_glb_w = G * C * Wg * N * glb_sum * nM
        if_glb_r = G * C * Wg * N * glb_sum * kk
        filt = nN * n_strips * G * K * C * R * S
        hops = outs * nC * (R * r - n_f)
        psum_w = nC * n_f * outs
        psum_r = (nC * n_f - 1) * outs + outs
        dram = ((if_dram * ab * fv[F_IFMAP_RATIO] + filt * wb + outs * ab * fv[F_OFMAP_RATIO])
                / ref * fv[F_DRAM_PJ])
        glb = ((if_glb_w + if_glb_r) * ab * fv[F_GLB_I_X] + 2 * filt * wb * fv[F_GLB_W_X]
               + (psum_w + psum_r) * pb * fv[F_GLB_P_X]) / ref * fv[F_GLB_PJ]
        # without multicast the buses carry a value once per PE taking it
        f_copies = 1 if iv[I_MC_FILTER] else e
        i_copies = 1 if iv[I_MC_IFMAP] else min(rr, e) * t
        noc = ((if_glb_r * ab * i_copies + filt * wb * f_copies
                + (psum_w + (nC * n_f - 1) * outs + hops) * pb) / ref * fv[F_NOC_PJ])
        spad_w = (N * G * C * Wg * pe_sum * _cdiv(K, p) * ab * fv[F_SPAD_I_X]
                  + nN * G * K * C * R * S * P * wb * fv[F_SPAD_W_X])
        spad = ((spad_w + 2 * (hops + (nC * n_f - 1) * outs) * pb * fv[F_SPAD_P_X]) / ref
                * fv[F_SPAD_PJ])
        energy[i] = dram + glb + noc + spad

        passes = nG * kk * nN * n_strips * nC * n_f
        spad_db = 2 * p * q * S <= iv[I_FILT_VALUES]
        # GLB regions move banks x word_bits bits a cycle, at least one bank each
        # (engine.simulate.hw_params: a tile of padding rows only, not stored,
        # still has its region)
        word_bits = iv[I_WORD_BITS]
        bank_bits = 8 * iv[I_BANK_BYTES]
        ifb = _cdiv(gp * n * qr * rows_max * Wg * ab, bank_bits)
        psb = _cdiv(gp * m * n * e * Q * pb, bank_bits)
        glb_if = max(1.0, ifb) * word_bits
        glb_ps = max(1.0, psb) * word_bits
        # the GLB double-buffers a tensor only when this mapping's second copy
        # fits beside the rest, as the engine decides it (engine.simulate.hw_params):
        # the arch's flag alone would hide, behind later passes, write-backs
        # and tile loads the engine makes the array wait for
        if_db, ps_db = glb_double_buffers(ifb, psb, iv[I_BANKS], iv[I_IF_DB] != 0,
                                          iv[I_PS_DB] != 0)
        pass_w = gp * pt * qr * rr * S
        # a GLB that keeps a tensor coded moves its coded bits over the bus and
        # through its banks (engine.kernels._simulate_nest: glb_w, glb_if), so the
        # filter load and the ifmap stream take the whole tensor's coded size in
        # the GLB's format (1 when it stores the tensor dense). Assumption: every
        # tile codes at the whole tensor's ratio. On Eyeriss v2 (CSC, a 4-bit zero
        # count on each nonzero) the audited ifmaps code at 0.55 to 1.25 x dense
        # (1.25: a dense 16-bit ifmap) and dense weights at 1.25 (16-bit) to 1.5
        # (8-bit). The ramp stays dense, as the engine counts it (its assumption)
        r_wg, r_ig = fv[F_GLB_WEIGHT_RATIO], fv[F_GLB_IFMAP_RATIO]
        load_f = max(np.ceil(pass_w * f_copies * r_wg / iv[I_FILTER_BUS]),
                     np.ceil(pass_w * wb * r_wg / (iv[I_FILTER_BANKS] * word_bits)))
        ramp = _cdiv(gp * qr * rows_max * min(S, Wg) * i_copies, iv[I_IFMAP_BUS])
        img_if = gp * qr * rows_max * Wg
        stream = max(_cdiv(p * q * S * Q * iv[I_CPM], iv[I_LANES]) + p * Q * iv[I_ACC_CYCLES],
                     np.ceil(img_if * i_copies * r_ig / iv[I_IFMAP_BUS]),
                     np.ceil(img_if * ab * r_ig / glb_if),
                     _cdiv(gp * pt * e * Q, iv[I_PSUM_BUS]),
                     _cdiv(gp * pt * e * Q * pb * 2, np.int64(glb_ps)),
                     _cdiv(p * Q * iv[I_LINK_C], iv[I_LINK_W]) if rr * r > 1 else 0)
        fill = ramp + (0 if spad_db else load_f)
        busy = fill + n * stream + iv[I_DEPTH] + rr * r
        # with two passes' filters in the spads, the next pass's load overlaps this
        # pass, which lasts at least that long (engine.kernels._simulate_nest)
        processing = passes * (max(busy, load_f) if spad_db else busy)
        # DRAM: the link's own time, then the last pass, bounds the layer; and
        # beside its passes the array waits for what the GLB cannot fetch ahead
        # (engine.kernels._timeline). Assumption: filters cross the link dense
        # even when DRAM codes them; their coded size (CSC: 1.25 to 1.3 x dense
        # on the audited weights) is closer to the engine's bits but ranked worse
        # (benchmarks/audit_search.py on eyeriss_v2: edp worst 7.96 -> 13.03%),
        # the link's idle time, which this estimate does not model, weighing
        # more than the filters' share
        if_link = if_dram * ab * fv[F_IFMAP_RATIO] / fv[F_BPC]
        link = if_link + out_link + filt * wb / fv[F_BPC]
        # filters that neither fit the filter buffer (prefetch) nor stream into a
        # spare half of the spads are fetched after the pass that frees the spads
        f_pref = pass_w * wb / 8 <= iv[I_FILTER_BANKS] * iv[I_FILTER_BANK_BYTES]
        if not (spad_db or f_pref):
            serial = filt * wb / fv[F_BPC]
            first_f = 0.0
        else:
            # prefetching hides a pass's filters behind the pass before it, but not
            # the first pass's: the array waits for them; and the last pass runs
            # after the link has brought everything. With few passes these two
            # ends are most of a DRAM-bound layer (a 1-pass FC layer loads all
            # its weights before computing), so the estimate adds them; without
            # them every DRAM-bound candidate tied at the link's time and the
            # tie went to the fewest passes, the slowest (benchmarks/audit_search.py).
            # A ranking heuristic, not a bound: above the engine's cycles on many
            # candidates. Counting the serial filters on the array's side, as the
            # waits below, ranked worse (Eyeriss v1 edp worst 3.42 -> 15.12%)
            serial = 0.0
            first_f = pass_w * wb / fv[F_BPC]
        # The array's waits on DRAM (the link term counts the same bits, so they
        # join the array's side of the max). Ifmap tiles: with two buffers only
        # the first (pass 0 waits for it as for its filters); with one, every
        # tile, fetched once the last pass of the one before frees the buffer.
        # Results: the last pass's leave after it. With one psum region (no
        # double buffering) the next group's pass of a filter block also waits
        # until that block's results have left; each block's write-back starts
        # when its last pass ends and overlaps the group's other filter blocks'
        # passes. Assumptions: average tiles, result blocks (one per filter
        # block, image block, strip and group block) and passes, and a link free
        # for the write-back when it starts
        tile_wait = if_link / (nG * nM * nN * n_strips * nC) if if_db else if_link
        wb_blk = out_link / (nG * kk * nN * n_strips)
        wb_wait = wb_blk
        if not ps_db:
            wb_wait += (nG * nM * nN * n_strips - 1) * max(
                0.0, wb_blk - (kk / nM - 1) * processing / passes)
        cycles[i] = (max(processing + first_f + tile_wait + wb_wait, link + processing / passes)
                     + serial)
