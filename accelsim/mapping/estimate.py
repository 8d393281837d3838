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
    noc = (if_glb_r * ab + filt * wb + (psum_w + (nC - 1) * outs + hops) * pb) / ref * en.noc_pj
    spad_w = (N * G * C * Wg * pe_sum * _cdiv(K, p) * ab
              + nN * G * K * C * R * S * P * wb)
    spad = (spad_w + 2 * (hops + (nC - 1) * outs) * pb) / ref * en.spad_pj
    energy = dram + glb + noc + spad
    ib = max(1, arch.noc.ifmap_bus_bits // ab)
    fb = max(1, arch.noc.filter_bus_bits // wb)
    pbw = max(1, arch.noc.psum_bus_bits // arch.psum_spad.word_bits)
    passes = nG * kk * nN * n_strips * nC
    spad_db = 2 * p * q * S <= arch.filter_spad.values(wb)
    lanes, cpm = mac_rate(arch.mac, layer.operator, wb, ab)
    fill = _cdiv(gp * qr * rows_max * min(S, Wg), ib) + np.where(spad_db, 0,
                                                                 _cdiv(gp * pt * qr * R * S, fb))
    stream = np.maximum(_cdiv(p * q * S * Q * cpm, lanes) + p * Q,
                        np.maximum(_cdiv(gp * qr * rows_max * Wg, ib), _cdiv(gp * pt * e * Q, pbw)))
    processing = passes * (fill + n * stream + arch.pe_array.pipeline_depth + R * r)
    # DRAM: the link's own time bounds the layer; fetches the GLB cannot
    # double-buffer (ifmap tiles, result write-back) add to it serially
    bpc = arch.dram_bytes_per_cycle * 8
    if_link = if_dram * ab * ifmap_ratio / bpc
    out_link = outs * ab * ofmap_ratio / bpc
    link = if_link + out_link + filt * wb / bpc
    g = arch.glb
    serial = (0.0 if g.ifmap_double_buffering else if_link) + (
        0.0 if g.psum_double_buffering else out_link)
    cycles = np.maximum(processing, link) + serial
    return energy.astype(np.float64), cycles.astype(np.float64)
