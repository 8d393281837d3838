"""Closed-form estimates of a mapping's energy and cycles, for ranking candidates.

Place in the pipeline: inside ``mapping``. Vectorised over an array of
candidates (rows of :func:`accelsim.mapping.rowstationary.candidates`). Word
counts are the dense closed forms of the loop nest (exact for full blocks);
DRAM feature-map traffic is scaled by the tensor's measured compression ratio.
The engine then counts the best few exactly, and the search keeps the best of
those, so these estimates only prune.
"""

from __future__ import annotations

import numpy as np

from accelsim.mapping.rowstationary import glb_ifmap_rows, strip_table
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import mac_rate
from accelsim.workload.layer import Layer


def _cdiv(a, b):
    return -(-a // b)


def estimate(cands: np.ndarray, layer: Layer, arch: ArchSpec, *, ifmap_ratio: float,
             ofmap_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """(energy_pj, cycles) estimates, float64 arrays aligned with ``cands``."""
    e, p, q, r, t, gp, m, n = (cands[:, i] for i in range(8))
    N, G, C, K = layer.n, layer.groups, layer.c, layer.k
    R, S, P, Q, W = layer.r, layer.s, layer.p, layer.q, layer.w
    pt, qr = p * t, q * r
    uniq = np.unique(e)
    rows_sum = np.zeros_like(e)
    rows_max = np.zeros_like(e)
    n_strips = np.zeros_like(e)
    glb_sum = np.zeros_like(e)
    pe_sum = np.zeros_like(e)
    for ev in uniq:
        st = strip_table(layer, int(ev))
        g_rows, g_pe, Wg = glb_ifmap_rows(layer, arch, st)
        sel = e == ev
        rows_sum[sel] = st.rows_in.sum()
        glb_sum[sel] = g_rows.sum()
        pe_sum[sel] = g_pe.sum()
        rows_max[sel] = g_rows.max()
        n_strips[sel] = len(st.e_act)
    nG, nM, nN, nC = _cdiv(G, gp), _cdiv(K, m), _cdiv(N, n), _cdiv(C, qr)
    kk = (nM - 1) * _cdiv(m, pt) + _cdiv(K - (nM - 1) * m, pt)
    outs = G * K * P * Q * N
    if_dram = G * C * W * N * rows_sum * nM
    if_glb_w = G * C * Wg * N * glb_sum * nM
    if_glb_r = G * C * Wg * N * glb_sum * kk
    filt = nN * n_strips * G * K * C * R * S
    hops = outs * nC * (R * r - 1)
    psum_w = nC * outs
    psum_r = (nC - 1) * outs + outs
    wb, ab, pb = layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits
    en = arch.energy
    ref = en.reference_bits
    dram = (if_dram * ab * ifmap_ratio + filt * wb + outs * ab * ofmap_ratio) / ref * en.dram_pj
    glb = ((if_glb_w + if_glb_r) * ab + 2 * filt * wb + (psum_w + psum_r) * pb) / ref * en.glb_pj
    # without multicast the buses carry a value once per PE taking it
    f_copies = 1 if arch.noc.multicast.filter else e
    i_copies = 1 if arch.noc.multicast.ifmap else np.minimum(R, e) * t
    noc = (if_glb_r * ab * i_copies + filt * wb * f_copies
           + (psum_w + (nC - 1) * outs + hops) * pb) / ref * en.noc_pj
    spad_w = (N * G * C * Wg * pe_sum * _cdiv(K, p) * ab
              + nN * G * K * C * R * S * P * wb)
    spad = (spad_w + 2 * (hops + (nC - 1) * outs) * pb) / ref * en.spad_pj
    energy = dram + glb + noc + spad
    net, g = arch.noc, arch.glb
    ib = max(1, net.ifmap_bus_bits // ab)
    fb = max(1, net.filter_bus_bits // wb)
    pbw = max(1, net.psum_bus_bits // pb)
    passes = nG * kk * nN * n_strips * nC
    spad_db = 2 * p * q * S <= arch.filter_spad.values(wb)
    lanes, cpm = mac_rate(arch.mac, layer.operator, wb, ab)
    # GLB regions move banks x word_bits bits a cycle (engine.simulate.hw_params)
    glb_if = np.ceil(gp * n * qr * rows_max * Wg * ab / 8 / g.bank_size_bytes) * g.word_bits
    glb_ps = np.ceil(gp * m * n * e * Q * pb / 8 / g.bank_size_bytes) * g.word_bits
    pass_w = gp * pt * qr * R * S
    load_f = np.maximum(_cdiv(pass_w * f_copies, fb),
                        _cdiv(pass_w * wb, g.filter_banks * g.word_bits))
    ramp = _cdiv(gp * qr * rows_max * min(S, Wg) * i_copies, ib)
    link_w = max(1, net.psum_link_bits // pb)
    link_c = -(-pb // net.psum_link_bits)
    img_if = gp * qr * rows_max * Wg
    stream = np.maximum.reduce([
        _cdiv(p * q * S * Q * cpm, lanes) + p * Q * arch.pe_array.psum_accumulate_cycles,
        _cdiv(img_if * i_copies, ib), _cdiv(img_if * ab, glb_if.astype(np.int64)),
        _cdiv(gp * pt * e * Q, pbw), _cdiv(gp * pt * e * Q * pb * 2, glb_ps.astype(np.int64)),
        np.where(R * r > 1, _cdiv(p * Q * link_c, link_w), 0)])
    fill = ramp + np.where(spad_db, 0, load_f)
    busy = fill + n * stream + arch.pe_array.pipeline_depth + R * r
    # with two passes' filters in the spads, the next pass's load overlaps this
    # pass, which lasts at least that long (engine.kernels._simulate_nest)
    processing = passes * np.where(spad_db, np.maximum(busy, load_f), busy)
    # DRAM: the link's own time bounds the layer; fetches the GLB cannot
    # double-buffer (ifmap tiles, result write-back) add to it serially
    bpc = arch.dram_bytes_per_cycle * 8
    if_link = if_dram * ab * ifmap_ratio / bpc
    out_link = outs * ab * ofmap_ratio / bpc
    link = if_link + out_link + filt * wb / bpc
    serial = (0.0 if g.ifmap_double_buffering else if_link) + (
        0.0 if g.psum_double_buffering else out_link)
    # filters that neither fit the filter buffer (prefetch) nor stream into a
    # spare half of the spads are fetched after the pass that frees the spads
    f_pref = pass_w * wb / 8 <= g.filter_banks * g.filter_bank_size_bytes
    serial = serial + np.where(spad_db | f_pref, 0.0, filt * wb / bpc)
    cycles = np.maximum(processing, link) + serial
    return energy.astype(np.float64), cycles.astype(np.float64)
