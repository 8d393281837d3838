"""Closed-form estimates of a mapping's energy and cycles, for ranking candidates.

Place in the pipeline: inside ``mapping``. Computed row by row, compiled with
numba, over an array of candidates (rows of
:func:`accelsim.mapping.rowstationary.candidates`: a batch-1 FC layer has tens
of thousands, so this is the search's hot loop with the enumeration). Word
counts are the dense closed forms of the loop nest (exact for full blocks);
DRAM feature-map traffic, and the ifmap stream and filter load of a GLB that
keeps them coded, are scaled by the tensor's measured compression ratio.
The engine then counts the best few exactly, and the search keeps the best of
those, so these estimates only prune.
"""

from __future__ import annotations

import numpy as np

from accelsim.enums import Level, Tensor
from accelsim.mapping.kernels import (
    E_GLB_SUM, E_LEN, E_PE_SUM, E_ROWS_MAX, E_ROWS_SUM, E_STRIPS, I_AB, I_ACC_CYCLES, I_BANK_BYTES,
    I_BANKS, I_C, I_CPM, I_DEPTH, I_FILT_VALUES, I_FILTER_BANK_BYTES, I_FILTER_BANKS, I_FILTER_BUS,
    I_G, I_IF_DB, I_IFMAP_BUS, I_K, I_LANES, I_LEN, I_LINK_C, I_LINK_W, I_MC_FILTER, I_MC_IFMAP,
    I_N, I_P, I_PB, I_PS_DB, I_PSUM_BUS, I_Q, I_R, I_REF, I_S, I_W, I_WB, I_WG, I_WORD_BITS,
    _estimate_rows)
from accelsim.mapping.rowstationary import glb_ifmap_rows, strip_table
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import mac_rate
from accelsim.workload.layer import Layer


def estimate(cands: np.ndarray, layer: Layer, arch: ArchSpec, *, ifmap_ratio: float,
             ofmap_ratio: float, glb_ifmap_ratio: float, glb_weight_ratio: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """(energy_pj, cycles) estimates, float64 arrays aligned with ``cands``.

    The ratios are coded over dense sizes of the whole tensor: the ifmap and the
    ofmap in DRAM's formats, the ifmap and the weights in the GLB's (1 where the
    level stores the tensor dense).
    """
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
    iv[I_BANKS] = g.banks
    x = arch.storage_factors()
    fv = np.array([en.dram_pj, en.glb_pj, en.noc_pj, en.spad_pj, ifmap_ratio, ofmap_ratio,
                   arch.dram_bytes_per_cycle * 8, glb_ifmap_ratio, glb_weight_ratio,
                   *(x[level][tensor] for level in (Level.GLB, Level.SPAD)
                     for tensor in (Tensor.WEIGHT, Tensor.IFMAP, Tensor.PSUM))], np.float64)
    energy = np.empty(len(cands), np.float64)
    cycles = np.empty(len(cands), np.float64)
    _estimate_rows(np.ascontiguousarray(cands, dtype=np.int64), e_row, e_tab, iv, fv, energy,
                   cycles)
    return energy, cycles
