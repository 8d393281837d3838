"""Invariants of the whole pipeline, on random tiny layers and architectures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accelsim.energy.model import ENERGY_KEYS, layer_energy
from accelsim.enums import Cycle, Level
from accelsim.report.report import report_frame
from accelsim.run import run, run_layer
from accelsim.spec.load import arch_from_dict
from conftest import conv_header, make_trace, tiny_arch_dict

SETTINGS = dict(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@st.composite
def layer_headers(draw):
    n = draw(st.integers(1, 2))
    r = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    return conv_header("c", n, groups * draw(st.integers(1, 3)), draw(st.integers(r, 7)),
                       draw(st.integers(r, 7)), groups * draw(st.integers(1, 4)), r, r,
                       stride=draw(st.integers(1, 2)), pad=draw(st.integers(0, r - 1)),
                       groups=groups)


def _arch(base, **kw):
    return arch_from_dict(tiny_arch_dict(base, **kw), "<tiny>")


@settings(**SETTINGS)
@given(head=layer_headers(), zeros=st.sampled_from([0.0, 0.3, 1.0]), seed=st.integers(0, 99))
def test_counts_are_physical(tmp_path, eyeriss_dict, head, zeros, seed):
    arch = _arch(eyeriss_dict)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=zeros, seed=seed)
    res = run(arch, tr).layers[0]
    c = res.counts
    layer = tr.layers[0]
    assert c.macs_padded == (layer.n * layer.groups * layer.k * layer.c * layer.p * layer.q
                             * layer.r * layer.s)
    assert c.macs_performed + c.macs_gated + c.macs_skipped == c.macs <= c.macs_padded
    if zeros == 1.0:
        assert c.macs_performed == 0
    # cycles never beat the array's peak on the MACs it performs (and, with no
    # skipping, on every MAC slot it steps through)
    assert c.cycle(Cycle.TOTAL) * c.active_pes * arch.mac.macs_per_pe_per_cycle >= c.macs_performed
    assert c.cycle(Cycle.COMPUTE) * c.active_pes >= c.macs
    assert (c.cycles >= 0).all() and (c.words >= 0).all() and (c.bits >= 0).all()
    assert c.cycle(Cycle.PROCESSING) == sum(c.cycle(x) for x in (
        Cycle.COMPUTE, Cycle.ACCUMULATE, Cycle.FILL, Cycle.DRAIN, Cycle.NOC_STALL))
    assert c.cycle(Cycle.TOTAL) == c.cycle(Cycle.PROCESSING) + c.cycle(Cycle.DRAM_STALL)
    df = report_frame(run(arch, tr))
    assert 0.0 <= df["utilization"].iloc[0] <= 1.0
    assert sum(res.energy_pj[k] for k in ENERGY_KEYS[:-1]) == pytest.approx(res.energy_pj["total"])


@settings(**SETTINGS)
@given(head=layer_headers(), seed=st.integers(0, 99))
def test_deterministic(tmp_path, eyeriss_dict, head, seed):
    arch = _arch(eyeriss_dict)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.4, seed=seed)
    a, b = report_frame(run(arch, tr)), report_frame(run(arch, tr))
    assert a.equals(b)


@settings(**SETTINGS)
@given(head=layer_headers(), seed=st.integers(0, 99))
def test_gating_saves_energy_not_cycles(tmp_path, eyeriss_dict, head, seed):
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.5, seed=seed)
    gate = _arch(eyeriss_dict)
    d = tiny_arch_dict(eyeriss_dict)
    d["sparsity"]["ifmap"] = "none"
    none = arch_from_dict(d)
    layer = tr.layers[0]
    g = run_layer(layer, tr, gate, first_layer=False)
    n = run_layer(layer, tr, none, first_layer=False, mapping=g.mapping.mapping)
    assert np.array_equal(g.counts.cycles, n.counts.cycles)
    assert g.energy_pj["total"] <= n.energy_pj["total"]
    assert n.counts.macs_gated == 0 and n.counts.macs_performed == n.counts.macs


@settings(**SETTINGS)
@given(head=layer_headers(), seed=st.integers(0, 99), extra=st.integers(1, 8))
def test_traffic_never_grows_with_buffers(tmp_path, eyeriss_dict, head, seed, extra):
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.3, seed=seed)
    layer = tr.layers[0]
    small = _arch(eyeriss_dict, banks=4, bank=128)
    big = _arch(eyeriss_dict, banks=4 + extra, bank=128)
    res_small = run_layer(layer, tr, small, first_layer=False)
    if not res_small.simulated:
        return
    # the same mapping moves the same data whatever the buffer size ...
    same = run_layer(layer, tr, big, first_layer=False, mapping=res_small.mapping.mapping)
    assert np.array_equal(same.counts.words, res_small.counts.words)
    assert np.array_equal(same.counts.bits, res_small.counts.bits)
    # ... and the double buffering a bigger GLB allows never costs cycles
    assert same.counts.cycle(Cycle.TOTAL) <= res_small.counts.cycle(Cycle.TOTAL)


@settings(**SETTINGS)
@given(head=layer_headers(), seed=st.integers(0, 99),
       limit=st.sampled_from(["unicast", "glb_word", "psum_link"]))
def test_tighter_limits_never_save_cycles(tmp_path, eyeriss_dict, head, seed, limit):
    """Unicast buses, narrower GLB banks or a narrower psum link cost cycles or
    nothing, never compute, and move the same data through the GLB and DRAM."""
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.3, seed=seed)
    layer = tr.layers[0]
    loose = _arch(eyeriss_dict)
    res = run_layer(layer, tr, loose, first_layer=False)
    if not res.simulated:
        return
    d = tiny_arch_dict(eyeriss_dict)
    if limit == "unicast":
        d["noc"]["multicast"] = False
    elif limit == "glb_word":
        d["glb"]["word_bits"] = 4
    else:
        d["noc"]["psum_link_bits"] = 4
    tight = run_layer(layer, tr, arch_from_dict(d), first_layer=False,
                      mapping=res.mapping.mapping).counts
    c = res.counts
    assert tight.cycle(Cycle.TOTAL) >= c.cycle(Cycle.TOTAL)
    assert tight.cycle(Cycle.PROCESSING) >= c.cycle(Cycle.PROCESSING)
    assert tight.cycle(Cycle.COMPUTE) == c.cycle(Cycle.COMPUTE)
    assert np.array_equal(tight.bits[[Level.DRAM, Level.GLB]], c.bits[[Level.DRAM, Level.GLB]])
    assert (tight.words[Level.NOC] >= c.words[Level.NOC]).all()


@settings(**SETTINGS)
@given(head=layer_headers(), seed=st.integers(0, 99),
       key=st.sampled_from(["dram_pj", "glb_pj", "noc_pj", "spad_pj", "mac_pj"]),
       factor=st.floats(0.0, 10.0))
def test_energy_linear_in_each_table_entry(tmp_path, eyeriss_dict, head, seed, key, factor):
    arch = _arch(eyeriss_dict)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.3, seed=seed)
    c = run_layer(tr.layers[0], tr, arch, first_layer=False).counts
    base, _ = layer_energy(c, arch)
    zero = dataclasses.replace(arch, energy=dataclasses.replace(arch.energy, **{key: 0.0}))
    scaled = dataclasses.replace(arch, energy=dataclasses.replace(
        arch.energy, **{key: getattr(arch.energy, key) * factor}))
    e0, _ = layer_energy(c, zero)
    e1, _ = layer_energy(c, scaled)
    part = base["total"] - e0["total"]
    assert e1["total"] == pytest.approx(e0["total"] + factor * part, rel=1e-9, abs=1e-6)


def test_padding_is_not_work(tmp_path, eyeriss_dict):
    arch = _arch(eyeriss_dict)
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 1, 3, 3, 1, 3, 3, pad=1)])
    c = run(arch, tr).layers[0].counts
    # 3x3 input, 3x3 filter, pad 1: 9 outputs x 9 taps stepped, 49 of them on real data
    assert (c.macs_padded, c.macs) == (81, 49)


def test_a_filter_taller_than_the_array_is_folded(tmp_path, eyeriss_dict):
    """A 5-row filter on 3 PE rows runs in two folds of 3 and 2 filter rows: every
    psum makes one more round trip through the GLB than unfolded, and the MACs
    and the results are the same."""
    tr = make_trace(tmp_path / "t.npz", [conv_header("tall", 1, 1, 9, 9, 2, 5, 5)])
    folded = run(_arch(eyeriss_dict, rows=3, cols=8), tr).layers[0]
    whole = run(_arch(eyeriss_dict, rows=5, cols=8), tr).layers[0]
    assert folded.simulated and whole.simulated
    assert (folded.mapping.mapping.r_rows, whole.mapping.mapping.r_rows) == (3, 5)
    outs = tr.layers[0].k * tr.layers[0].p * tr.layers[0].q
    for res, trips in ((whole, 1), (folded, 2)):
        c = res.counts
        assert res.mapping.mapping.q * res.mapping.mapping.r == 1  # one channel: no blocks
        # each fold writes every psum to the GLB; all but the first read them back,
        # and the results are read once more on their way to DRAM
        assert c.words[Level.GLB, 2, 1] == trips * outs
        assert c.words[Level.GLB, 2, 0] == trips * outs
        assert c.macs_performed == whole.counts.macs_performed
        assert c.bits[Level.DRAM, 2, 1] == whole.counts.bits[Level.DRAM, 2, 1]
    assert folded.counts.words[Level.DRAM, 0, 0] == whole.counts.words[Level.DRAM, 0, 0]


def test_unmappable_layer_is_a_result(tmp_path, eyeriss_dict):
    arch = _arch(eyeriss_dict, ifmap=4)
    tr = make_trace(tmp_path / "t.npz", [conv_header("big", 1, 1, 8, 8, 1, 5, 5)])
    res = run(arch, tr).layers[0]
    assert not res.simulated
    assert "filter width 5 exceeds the ifmap scratchpad's 4 16-bit values" in res.mapping.reason
    df = report_frame(run(arch, tr))
    assert df.loc[0, "reason"].startswith("filter width 5")
