"""Closed-form estimates of a mapping's energy and cycles, for ranking candidates.

Place in the pipeline: inside ``mapping``. Computed row by row, compiled with
numba, over an array of candidates (rows of
:func:`accelsim.mapping.rowstationary.candidates`: a batch-1 FC layer has tens
of thousands, so this is the search's hot loop with the enumeration). Word
counts are the dense closed forms of the loop nest (exact for full blocks);
DRAM feature-map traffic is scaled by the tensor's measured compression ratio.
The engine then counts the best few exactly, and the search keeps the best of
those, so these estimates only prune.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from accelsim.mapping.rowstationary import glb_ifmap_rows, strip_table
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import mac_rate
from accelsim.workload.layer import Layer


# columns of the per-strip-height table and the integer/float parameter
# vectors of _estimate_rows (built by estimate)
E_ROWS_SUM, E_GLB_SUM, E_PE_SUM, E_ROWS_MAX, E_STRIPS, E_LEN = range(6)
(I_N, I_G, I_C, I_K, I_R, I_S, I_P, I_Q, I_W, I_WG, I_WB, I_AB, I_PB, I_REF, I_MC_FILTER,
 I_MC_IFMAP, I_IFMAP_BUS, I_FILTER_BUS, I_PSUM_BUS, I_FILT_VALUES, I_LANES, I_CPM,
 I_WORD_BITS, I_BANK_BYTES, I_FILTER_BANKS, I_FILTER_BANK_BYTES, I_ACC_CYCLES, I_DEPTH,
 I_LINK_W, I_LINK_C, I_IF_DB, I_PS_DB, I_LEN) = range(33)
(F_DRAM_PJ, F_GLB_PJ, F_NOC_PJ, F_SPAD_PJ, F_IFMAP_RATIO, F_OFMAP_RATIO, F_BPC,
 F_LEN) = range(8)


@njit(cache=True)
def _cdiv(a, b):
    return -(-a // b)


@njit(cache=True)
def _estimate_rows(cands, e_row, e_tab, iv, fv, energy, cycles):
    """Fill ``energy`` and ``cycles`` (float64 [len(cands)]) of each candidate row.

    e_row maps a strip height to its row of e_tab (E_* columns); iv and fv are
    the layer's and the arch's parameters (I_* and F_* indices, see estimate).
    """
    N, G, C, K = iv[I_N], iv[I_G], iv[I_C], iv[I_K]
    R, S, P, Q, W, Wg = iv[I_R], iv[I_S], iv[I_P], iv[I_Q], iv[I_W], iv[I_WG]
    wb, ab, pb, ref = iv[I_WB], iv[I_AB], iv[I_PB], iv[I_REF]
    outs = G * K * P * Q * N
    out_link = outs * ab * fv[F_OFMAP_RATIO] / fv[F_BPC]
    for i in range(cands.shape[0]):
        e, p, q, r = cands[i, 0], cands[i, 1], cands[i, 2], cands[i, 3]
        t, gp, m, n = cands[i, 4], cands[i, 5], cands[i, 6], cands[i, 7]
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
        hops = outs * nC * (R * r - 1)
        psum_w = nC * outs
        psum_r = (nC - 1) * outs + outs
        dram = ((if_dram * ab * fv[F_IFMAP_RATIO] + filt * wb + outs * ab * fv[F_OFMAP_RATIO])
                / ref * fv[F_DRAM_PJ])
        glb = ((if_glb_w + if_glb_r) * ab + 2 * filt * wb + (psum_w + psum_r) * pb) / ref \
            * fv[F_GLB_PJ]
        # without multicast the buses carry a value once per PE taking it
        f_copies = 1 if iv[I_MC_FILTER] else e
        i_copies = 1 if iv[I_MC_IFMAP] else min(R, e) * t
        noc = ((if_glb_r * ab * i_copies + filt * wb * f_copies
                + (psum_w + (nC - 1) * outs + hops) * pb) / ref * fv[F_NOC_PJ])
        spad_w = (N * G * C * Wg * pe_sum * _cdiv(K, p) * ab
                  + nN * G * K * C * R * S * P * wb)
        spad = (spad_w + 2 * (hops + (nC - 1) * outs) * pb) / ref * fv[F_SPAD_PJ]
        energy[i] = dram + glb + noc + spad

        passes = nG * kk * nN * n_strips * nC
        spad_db = 2 * p * q * S <= iv[I_FILT_VALUES]
        # GLB regions move banks x word_bits bits a cycle (engine.simulate.hw_params)
        word_bits = iv[I_WORD_BITS]
        glb_if = np.ceil(gp * n * qr * rows_max * Wg * ab / 8 / iv[I_BANK_BYTES]) * word_bits
        glb_ps = np.ceil(gp * m * n * e * Q * pb / 8 / iv[I_BANK_BYTES]) * word_bits
        pass_w = gp * pt * qr * R * S
        load_f = max(_cdiv(pass_w * f_copies, iv[I_FILTER_BUS]),
                     _cdiv(pass_w * wb, iv[I_FILTER_BANKS] * word_bits))
        ramp = _cdiv(gp * qr * rows_max * min(S, Wg) * i_copies, iv[I_IFMAP_BUS])
        img_if = gp * qr * rows_max * Wg
        stream = max(_cdiv(p * q * S * Q * iv[I_CPM], iv[I_LANES]) + p * Q * iv[I_ACC_CYCLES],
                     _cdiv(img_if * i_copies, iv[I_IFMAP_BUS]),
                     _cdiv(img_if * ab, np.int64(glb_if)),
                     _cdiv(gp * pt * e * Q, iv[I_PSUM_BUS]),
                     _cdiv(gp * pt * e * Q * pb * 2, np.int64(glb_ps)),
                     _cdiv(p * Q * iv[I_LINK_C], iv[I_LINK_W]) if R * r > 1 else 0)
        fill = ramp + (0 if spad_db else load_f)
        busy = fill + n * stream + iv[I_DEPTH] + R * r
        # with two passes' filters in the spads, the next pass's load overlaps this
        # pass, which lasts at least that long (engine.kernels._simulate_nest)
        processing = passes * (max(busy, load_f) if spad_db else busy)
        # DRAM: the link's own time bounds the layer; fetches the GLB cannot
        # double-buffer (ifmap tiles, result write-back) add to it serially
        if_link = if_dram * ab * fv[F_IFMAP_RATIO] / fv[F_BPC]
        link = if_link + out_link + filt * wb / fv[F_BPC]
        serial = (0.0 if iv[I_IF_DB] else if_link) + (0.0 if iv[I_PS_DB] else out_link)
        # filters that neither fit the filter buffer (prefetch) nor stream into a
        # spare half of the spads are fetched after the pass that frees the spads
        f_pref = pass_w * wb / 8 <= iv[I_FILTER_BANKS] * iv[I_FILTER_BANK_BYTES]
        if not (spad_db or f_pref):
            serial = serial + filt * wb / fv[F_BPC]
        cycles[i] = max(np.float64(processing), link) + serial


def estimate(cands: np.ndarray, layer: Layer, arch: ArchSpec, *, ifmap_ratio: float,
             ofmap_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """(energy_pj, cycles) estimates, float64 arrays aligned with ``cands``."""
    # the strip heights present (at most the layer's ofmap rows) and each one's row
    e_row = np.zeros(layer.p + 1, np.int64)
    e_row[cands[:, 0]] = 1
    uniq = np.flatnonzero(e_row)
    e_row[uniq] = np.arange(len(uniq))
    e_tab = np.zeros((len(uniq), E_LEN), np.int64)
    Wg = layer.w
    for k, ev in enumerate(uniq):
        st = strip_table(layer, int(ev))
        g_rows, g_pe, Wg = glb_ifmap_rows(layer, arch, st)
        e_tab[k, E_ROWS_SUM] = st.rows_in.sum()
        e_tab[k, E_GLB_SUM] = g_rows.sum()
        e_tab[k, E_PE_SUM] = g_pe.sum()
        e_tab[k, E_ROWS_MAX] = g_rows.max()
        e_tab[k, E_STRIPS] = len(st.e_act)
    net, g, en = arch.noc, arch.glb, arch.energy
    wb, ab, pb = layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits
    lanes, cpm = mac_rate(arch.mac, layer.operator, wb, ab)
    iv = np.zeros(I_LEN, np.int64)
    iv[[I_N, I_G, I_C, I_K, I_R, I_S, I_P, I_Q, I_W, I_WG]] = (
        layer.n, layer.groups, layer.c, layer.k, layer.r, layer.s, layer.p, layer.q, layer.w, Wg)
    iv[[I_WB, I_AB, I_PB, I_REF]] = wb, ab, pb, en.reference_bits
    iv[I_MC_FILTER] = bool(net.multicast.filter)
    iv[I_MC_IFMAP] = bool(net.multicast.ifmap)
    iv[I_IFMAP_BUS] = max(1, net.ifmap_bus_bits // ab)
    iv[I_FILTER_BUS] = max(1, net.filter_bus_bits // wb)
    iv[I_PSUM_BUS] = max(1, net.psum_bus_bits // pb)
    iv[I_FILT_VALUES] = arch.filter_spad.values(wb)
    iv[[I_LANES, I_CPM]] = lanes, cpm
    iv[[I_WORD_BITS, I_BANK_BYTES, I_FILTER_BANKS, I_FILTER_BANK_BYTES]] = (
        g.word_bits, g.bank_size_bytes, g.filter_banks, g.filter_bank_size_bytes)
    iv[[I_ACC_CYCLES, I_DEPTH]] = (arch.pe_array.psum_accumulate_cycles,
                                   arch.pe_array.pipeline_depth)
    iv[I_LINK_W] = max(1, net.psum_link_bits // pb)
    iv[I_LINK_C] = -(-pb // net.psum_link_bits)
    iv[I_IF_DB] = bool(g.ifmap_double_buffering)
    iv[I_PS_DB] = bool(g.psum_double_buffering)
    fv = np.array([en.dram_pj, en.glb_pj, en.noc_pj, en.spad_pj, ifmap_ratio, ofmap_ratio,
                   arch.dram_bytes_per_cycle * 8], np.float64)
    energy = np.empty(len(cands), np.float64)
    cycles = np.empty(len(cands), np.float64)
    _estimate_rows(np.ascontiguousarray(cands, dtype=np.int64), e_row, e_tab, iv, fv, energy,
                   cycles)
    return energy, cycles
