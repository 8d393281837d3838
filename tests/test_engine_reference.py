"""The numba engine equals the plain-Python reference model exactly (counts and cycles)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.engine import kernels as K
from accelsim.engine.simulate import gated_macs, hw_params, nonzero_mask
from accelsim.mapping.rowstationary import (candidates, glb_ifmap_rows, mapping_from_row,
                                            strip_table)
from accelsim.spec.load import arch_from_dict
from accelsim.workload.layer import layer_from_header
from accelsim.workload.reference import layer_output
from accelsim.workload.synth import random_tensor
from conftest import conv_header, tiny_arch_dict
from reference_model import brute_force_macs, reference_nest, rlc_pairs


@st.composite
def tiny_layers(draw):
    linear = draw(st.booleans()) if draw(st.integers(0, 4)) == 0 else False
    n = draw(st.integers(1, 3))
    if linear:
        head = {"name": "fc", "kind": "linear", "input_shape": [n, draw(st.integers(1, 9))],
                "out_features": draw(st.integers(1, 9)), "activation": "relu"}
    else:
        groups = draw(st.sampled_from([1, 1, 2]))
        c = groups * draw(st.integers(1, 4))
        k = groups * draw(st.integers(1, 5))
        r = draw(st.integers(1, 3))
        s = draw(st.integers(1, 3))
        stride = draw(st.integers(1, 3))
        pad = draw(st.integers(0, min(r, s) - 1)) if min(r, s) > 1 else 0
        h = draw(st.integers(max(r, s), 8))
        w = draw(st.integers(max(r, s), 8))
        head = conv_header("conv", n, c, h, w, k, r, s, stride=stride, pad=pad, groups=groups)
    layer, probs = layer_from_header(head, 0)
    assert not probs, probs
    return layer


@st.composite
def arch_dicts(draw, base):
    return tiny_arch_dict(base, rows=draw(st.integers(3, 5)), cols=draw(st.integers(2, 5)),
                          ifmap=draw(st.sampled_from([6, 9, 12])),
                          filt=draw(st.sampled_from([24, 48, 96])),
                          psum=draw(st.sampled_from([4, 8])),
                          banks=draw(st.integers(4, 8)),
                          bank=draw(st.sampled_from([64, 128, 256])),
                          filter_bank=draw(st.sampled_from([256, 512])),
                          accumulate=draw(st.sampled_from([0, 1])),
                          double_buffering=draw(st.booleans()),
                          stores_padding=draw(st.booleans()))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_kernel_equals_reference(data, eyeriss_dict):
    layer = data.draw(tiny_layers())
    arch = arch_from_dict(data.draw(arch_dicts(eyeriss_dict)), "<tiny>")
    cands, reason = candidates(layer, arch)
    if len(cands) == 0:
        assert reason
        return
    mp = mapping_from_row(cands[data.draw(st.integers(0, len(cands) - 1))], layer)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = random_tensor(rng, layer.input_shape, 16, data.draw(st.sampled_from([0.0, 0.5, 0.9])),
                      signed=False)
    wt = random_tensor(rng, layer.weight_shape, 16, 0.0, signed=True)
    y = layer_output(layer, x, wt)
    in_nz, out_nz = nonzero_mask(layer, x), nonzero_mask(layer, y)
    compress_in = data.draw(st.booleans())
    hw = hw_params(layer, arch, mp)
    st_ = strip_table(layer, mp.e)
    rlc = arch.dram.rlc
    run_max = 2 ** rlc.run_bits - 1
    if_bits = K._ifmap_tile_bits(K._row_summaries(in_nz, run_max), layer.groups, layer.c, mp.n,
                                 mp.gp, mp.q * mp.r, st_.row_ptr, st_.row_idx, in_nz.shape[3],
                                 run_max, rlc.pairs_per_word, rlc.word_bits, layer.act_bits,
                                 int(compress_in))
    of_bits = K._ofmap_tile_bits(K._row_summaries(out_nz, run_max), layer.groups, layer.k, mp.m,
                                 mp.p * mp.t, mp.n, mp.gp, mp.e, out_nz.shape[3], run_max,
                                 rlc.pairs_per_word, rlc.word_bits, layer.act_bits, 1)
    g_rows, g_pe, g_width = glb_ifmap_rows(layer, arch, st_)
    dims = np.array([layer.n, layer.groups, layer.c, layer.k, layer.w, layer.r, layer.s,
                     layer.q, layer.p, g_width], dtype=np.int64)
    mpa = np.array([mp.e, mp.p, mp.q, mp.r, mp.t, mp.gp, mp.m, mp.n, mp.segments], np.int64)
    bpc = float(arch.dram_bytes_per_cycle * 8)
    cyc, words, dbits, _, passes = K._simulate_nest(dims, mpa, hw, st_.e_act, st_.rows_in,
                                                    g_rows, g_pe, if_bits, of_bits)
    cyc[0], _ = K._timeline(passes, bpc, hw[K.HW_FILTER_PREFETCH], hw[K.HW_IFMAP_DBUF],
                            hw[K.HW_PSUM_DBUF], -(-mp.m // (mp.p * mp.t)))
    cyc[6] = cyc[0] - cyc[1]
    r_cyc, r_words, r_dbits = reference_nest(layer, mp, hw, bpc, in_nz, out_nz, rlc,
                                             compress_in, True, arch.glb.stores_padding)
    np.testing.assert_array_equal(words, r_words)
    np.testing.assert_array_equal(dbits, r_dbits)
    np.testing.assert_array_equal(cyc, r_cyc)
    # the MAC counts: valid MACs and gated MACs by enumerating every MAC
    valid, zero = brute_force_macs(layer, x)
    assert layer.macs == valid
    assert gated_macs(layer, in_nz) == zero
    assert layer.macs_padded == (layer.n * layer.groups * layer.k * layer.c * layer.p * layer.q
                                 * layer.r * layer.s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=0, max_size=80), st.integers(1, 6))
def test_rlc_encoder_matches_reference(values, run_bits):
    run_max = 2 ** run_bits - 1
    nz = np.array([[[[v != 0 for v in values]]]], dtype=np.uint8).reshape(1, 1, 1, -1)
    got = K._rlc_pairs(nz, 0, 1, 0, 1, np.zeros(1, np.int64), nz.shape[3], run_max)
    assert got == rlc_pairs(values, run_max)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=12), min_size=1, max_size=8),
       st.integers(1, 4))
def test_row_summaries_compose_exactly(rows, run_bits):
    """Tile pairs from row summaries equal the plain coder over the concatenation."""
    width = max(len(r) for r in rows)
    grid = np.array([r + [0] * (width - len(r)) for r in rows], dtype=np.uint8)
    nz = (grid != 0).astype(np.uint8).reshape(1, 1, len(rows), width)
    run_max = 2 ** run_bits - 1
    summ = K._row_summaries(nz, run_max)
    got = K._tile_pairs(summ, 0, 1, 0, 1, np.arange(len(rows)), run_max)
    assert got == rlc_pairs(list(grid.ravel()), run_max)


def test_rlc_pairs_by_hand():
    # 3 zeros then a value: one pair; 40 zeros with a 31-zero run limit: (31, 0) + (8, 0)
    assert rlc_pairs([0, 0, 0, 5], 31) == 1
    assert rlc_pairs([0] * 40, 31) == 2
    assert rlc_pairs([1, 2, 3], 31) == 3
