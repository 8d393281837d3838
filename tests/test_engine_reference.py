"""The numba engine equals the plain-Python reference model exactly (counts and cycles)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pytest

from accelsim.engine import kernels as K
from accelsim.engine.simulate import hw_params, nonzero_mask, simulate_layer, weight_mask
from accelsim.enums import Cycle, Level, Tensor
from accelsim.mapping.rowstationary import candidate_set, candidates, mapping_from_row
from accelsim.run import choose_mapping
from accelsim.spec.arch import COMPRESSION_FORMATS, SPARSITY_MODES
from accelsim.spec.load import arch_from_dict
from accelsim.workload.layer import layer_from_header
from accelsim.workload.reference import layer_output
from accelsim.workload.synth import random_tensor
from conftest import conv_header, tiny_arch_dict
from reference_model import (brute_force_classes, brute_force_macs, encode_rows,
                             reference_candidates, reference_nest, rlc_pairs)


@st.composite
def tiny_layers(draw, tall=False):
    """Small conv and linear layers; ``tall``: convs with filters of 3 to 6 rows
    (dilated by 1 or 2), for arrays with fewer rows (folded filters)."""
    linear = draw(st.booleans()) if draw(st.integers(0, 4)) == 0 and not tall else False
    n = draw(st.integers(1, 3))
    if tall:
        groups = draw(st.sampled_from([1, 1, 2]))
        r, s, dil = draw(st.integers(3, 6)), draw(st.integers(1, 3)), draw(st.sampled_from([1, 2]))
        pad = draw(st.integers(0, min(r, s) - 1)) if min(r, s) > 1 else 0
        reach = dil * (r - 1) + 1
        head = conv_header("conv", n, groups * draw(st.integers(1, 3)),
                           draw(st.integers(max(reach - 2 * pad, 1), reach + 4)),
                           draw(st.integers(s, 7)), groups * draw(st.integers(1, 3)), r, s,
                           stride=draw(st.integers(1, 3)), pad=pad, groups=groups)
        head["dilation"] = [dil, 1]
    elif linear:
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
    # mixed precision: packed storage changes capacities, bus widths and tiles
    head["weight_bits"] = draw(st.sampled_from([16, 16, 8, 4, 2]))
    head["act_bits"] = draw(st.sampled_from([16, 16, 8, 4]))
    layer, probs = layer_from_header(head, 0)
    assert not probs, probs
    return layer


@st.composite
def arch_dicts(draw, base):
    d = tiny_arch_dict(base, rows=draw(st.integers(2, 5)), cols=draw(st.integers(2, 5)),
                       ifmap=draw(st.sampled_from([6, 9, 12])),
                       filt=draw(st.sampled_from([24, 48, 96])),
                       psum=draw(st.sampled_from([4, 8])),
                       banks=draw(st.integers(4, 8)),
                       bank=draw(st.sampled_from([64, 128, 256])),
                       filter_bank=draw(st.sampled_from([256, 512])),
                       accumulate=draw(st.sampled_from([0, 1])),
                       double_buffering=draw(st.booleans()),
                       stores_padding=draw(st.booleans()))
    d["sparsity"] = {"ifmap": draw(st.sampled_from(SPARSITY_MODES)),
                     "weight": draw(st.sampled_from(SPARSITY_MODES))}
    for key in ("ifmap_compression", "ofmap_compression", "weight_compression"):
        d["dram"][key] = draw(st.sampled_from(COMPRESSION_FORMATS))
    d["dram"]["compress_first_layer_input"] = draw(st.booleans())
    d["glb"]["ifmap_compression"] = draw(st.sampled_from(COMPRESSION_FORMATS))
    d["glb"]["weight_compression"] = draw(st.sampled_from(COMPRESSION_FORMATS))
    # the MAC core's throughput rule: fixed, precision-scalable or bit-serial
    kind = draw(st.sampled_from(["int", "int", "precision_scalable", "bit_serial"]))
    d["mac"] = {"kind": kind, "bits": 16, "macs_per_pe_per_cycle": draw(st.integers(1, 3))}
    if kind != "int":
        d["mac"]["operators"] = {"int": {"weight_bits": [2, 4, 8, 16], "act_bits": [4, 8, 16]}}
        d["mac"]["serial_operand"] = draw(st.sampled_from(["act", "weight"]))
    d["dram"]["burst_bytes"] = draw(st.sampled_from([0, 2, 8, 32]))
    # physical limits that may bind: GLB bank width, the PE-to-PE psum link,
    # unicast buses
    d["glb"]["word_bits"] = draw(st.sampled_from([8, 16, 64]))
    d["noc"]["psum_link_bits"] = draw(st.sampled_from([4, 16, 64]))
    d["noc"]["multicast"] = draw(st.sampled_from([True, False, {"ifmap": False},
                                                  {"filter": False, "ifmap": True}]))
    # RLC's value field fixed at 16 bits, or following the data width
    rlc = {"run_bits": draw(st.integers(1, 5)), "word_bits": 64}
    rlc.update(draw(st.sampled_from([{"value_bits": 16, "pairs_per_word": 2},
                                     {"value_bits": "data"}, {}])))
    d["formats"] = {"rlc": rlc,
                    "csc": {"count_bits": draw(st.integers(1, 4)), "address_bits": 7},
                    "block": {"block_elems": draw(st.integers(1, 5))}}
    return d


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_candidates_equal_reference(data, eyeriss_dict):
    """The compiled enumeration (``rowstationary._enumerate``) keeps exactly the
    mappings its documented rules give, on random tiny layers and arrays."""
    layer = data.draw(tiny_layers())
    d = data.draw(arch_dicts(eyeriss_dict))
    d["mapper"]["strip_mining"] = data.draw(st.sampled_from(["search", "when_needed"]))
    arch = arch_from_dict(d, "<tiny>")
    cands, reason = candidates(layer, arch)
    assert set(map(tuple, cands.tolist())) == reference_candidates(layer, arch)
    assert len(cands) == len(set(map(tuple, cands.tolist())))  # no row twice
    assert bool(reason) == (len(cands) == 0)
    # a mapping constraint: some keys of a legal row (or of the first row
    # nudged), which may or may not be legal
    keys = ("e", "p", "q", "r", "t", "gp", "m", "n")
    row = cands[data.draw(st.integers(0, len(cands) - 1))] if len(cands) else [1] * 8
    fixed = {k: int(row[i]) + data.draw(st.sampled_from([0, 0, 0, 1, 2]))
             for i, k in enumerate(keys) if data.draw(st.booleans())}
    got, why = candidates(layer, arch, fixed)
    assert set(map(tuple, got.tolist())) == reference_candidates(layer, arch, fixed)
    assert bool(why) == (len(got) == 0)
    # enumerated again in chunks (a set too large to hold as one table): the
    # same rows in the same order, however the chunks cut the (e, q, p) blocks
    for want, fx in ((cands, None), (got, fixed)):
        if len(want) == 0:
            continue
        cset, _ = candidate_set(layer, arch, fx, table_rows=data.draw(st.integers(1, 8)))
        rows = data.draw(st.integers(1, 12))
        chunks = list(cset.chunks(rows))
        assert all(0 < len(c) <= rows for c in chunks)
        assert np.array_equal(np.concatenate(chunks), want)
        assert np.array_equal(cset.table(), want)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_engine_equals_reference(data, eyeriss_dict):
    layer = data.draw(tiny_layers())
    arch = arch_from_dict(data.draw(arch_dicts(eyeriss_dict)), "<tiny>")
    _engine_matches_reference(data, layer, arch)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_folded_engine_equals_reference(data, eyeriss_dict):
    """Filters taller than the array (folded into blocks of filter rows): the
    candidates and every count as the reference model states them."""
    layer = data.draw(tiny_layers(tall=True))
    d = data.draw(arch_dicts(eyeriss_dict))
    d["pe_array"]["rows"] = data.draw(st.integers(2, layer.r - 1))
    arch = arch_from_dict(d, "<tiny>")
    cands, _ = candidates(layer, arch)
    assert set(map(tuple, cands.tolist())) == reference_candidates(layer, arch)
    assert (cands[:, 9] < layer.r).all()
    _engine_matches_reference(data, layer, arch)


def _engine_matches_reference(data, layer, arch):
    cands, reason = candidates(layer, arch)
    if len(cands) == 0:
        assert reason
        return
    mp = mapping_from_row(cands[data.draw(st.integers(0, len(cands) - 1))], layer)
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = random_tensor(rng, layer.input_shape, 16, data.draw(st.sampled_from([0.0, 0.5, 0.9])),
                      signed=False)
    wt = random_tensor(rng, layer.weight_shape, 16, data.draw(st.sampled_from([0.0, 0.4])),
                       signed=True)
    y = layer_output(layer, x, wt)
    in_nz, out_nz, w_nz = nonzero_mask(layer, x), nonzero_mask(layer, y), weight_mask(layer, wt)
    first = data.draw(st.booleans())
    counts = simulate_layer(layer, arch, mp, input_nz=in_nz, output_nz=out_nz, weight_nz=w_nz,
                            first_layer=first)
    dram = arch.dram
    fmt_in = "none" if first and not dram.compress_first_layer_input else dram.ifmap_compression
    r_cyc, r_words, r_dbits, r_busy, r_cbits, r_aux = reference_nest(
        layer, mp, hw_params(layer, arch, mp), arch, in_nz, out_nz, w_nz, fmt_in,
        dram.ofmap_compression, dram.weight_compression)
    performed, gated, skipped, gated_x = brute_force_classes(layer, x, wt, arch.sparsity)
    assert (counts.macs_performed, counts.macs_gated, counts.macs_skipped) == (
        performed, gated, skipped)
    assert performed + gated + skipped == counts.macs == layer.macs
    r_words[Level.SPAD, Tensor.IFMAP, 0] += performed + gated_x
    r_words[Level.SPAD, Tensor.WEIGHT, 0] += performed + gated - gated_x
    r_words[Level.SPAD, Tensor.PSUM, 0] += performed
    r_words[Level.SPAD, Tensor.PSUM, 1] += performed
    np.testing.assert_array_equal(counts.words, r_words)
    np.testing.assert_array_equal(counts.bits[Level.DRAM], r_dbits)
    widths = np.array([layer.weight_bits, layer.act_bits, arch.psum_spad.word_bits])
    r_bits = r_words * widths[None, :, None]
    r_bits[Level.DRAM] = r_dbits
    csc = arch.formats.csc
    for tensor, fmt in ((Tensor.WEIGHT, arch.glb.weight_compression),
                        (Tensor.IFMAP, arch.glb.ifmap_compression)):
        if fmt != "none":
            r_bits[Level.GLB, tensor] = r_cbits[0, tensor]
            r_bits[Level.NOC, tensor] = r_cbits[1, tensor]
        if fmt == "csc":  # CSC in the spads: coded writes; reads carry counts and addresses
            r_bits[Level.SPAD, tensor, 1] = r_cbits[2, tensor, 1]
            r_bits[Level.SPAD, tensor, 0] = (r_words[Level.SPAD, tensor, 0]
                                             * (widths[tensor] + csc.count_bits)
                                             + r_aux[1 + tensor] * csc.address_bits)
    np.testing.assert_array_equal(counts.bits, r_bits)
    np.testing.assert_array_equal(counts.cycles, r_cyc)
    # compute cycles on gated slots: the array's gated share of the slots stepped
    stepped = int(r_aux[0])
    want = (math.floor(Fraction(int(r_cyc[Cycle.COMPUTE]) * gated, stepped) + Fraction(1, 2))
            if stepped else 0)
    assert counts.compute_gated_cycles == want
    assert 0 <= counts.compute_gated_cycles <= counts.cycle(Cycle.COMPUTE)
    if gated == 0:
        assert counts.compute_gated_cycles == 0
    if arch.sparsity.ifmap == "skip" or arch.sparsity.weight == "skip":
        assert counts.pe_busy_max_cycles == r_busy[0]
        assert counts.pe_busy_mean_cycles == pytest.approx(r_busy[1])
    # the counts the engine derives without enumerating MACs
    valid, zx, zw, zxw = brute_force_macs(layer, x, wt)
    assert layer.macs == valid
    assert layer.macs_padded == (layer.n * layer.groups * layer.k * layer.c * layer.p * layer.q
                                 * layer.r * layer.s)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.integers(0, 2), min_size=1, max_size=12), min_size=1, max_size=8),
       st.sampled_from(COMPRESSION_FORMATS), st.integers(1, 4), st.integers(1, 5))
def test_tile_encoder_matches_plain_encoders(rows, fmt, run_bits, block):
    """Every format's tile size from row summaries equals a plain encoder's."""
    from accelsim.engine.formats import FORMAT_CODES, format_params
    from accelsim.spec.arch import BlockSpec, CscSpec, FormatsSpec, RlcSpec

    width = max(len(r) for r in rows)
    grid = [r + [0] * (width - len(r)) for r in rows]
    nz = (np.array(grid) != 0).astype(np.uint8).reshape(1, 1, len(rows), width)
    formats = FormatsSpec(rlc=RlcSpec(run_bits=run_bits, pairs_per_word=2),
                          csc=CscSpec(count_bits=run_bits, address_bits=7),
                          block=BlockSpec(block_elems=block))

    class _Arch:  # the two attributes format_params reads
        pass
    arch = _Arch()
    arch.formats = formats
    fp = format_params(arch)
    summ = K._row_summaries(nz, fp)
    got = K._tile_bits(summ, nz, 0, 1, 0, 1, np.arange(len(rows)), width, FORMAT_CODES[fmt], fp, 8)
    assert got == encode_rows(grid, fmt, formats, 8)
    # two columns (a = 0, 1) of the same rows: CSC restarts its count per column
    nz2 = np.concatenate([nz, nz], axis=0)
    summ2 = K._row_summaries(nz2, fp)
    got2 = K._tile_bits(summ2, nz2, 0, 2, 0, 1, np.arange(len(rows)), width, FORMAT_CODES[fmt], fp, 8)
    assert got2 == encode_rows(grid + grid, fmt, formats, 8, columns=len(rows))


def test_rlc_pairs_by_hand():
    # 3 zeros then a value: one pair; 40 zeros with a 31-zero run limit: (31, 0) + (8, 0)
    assert rlc_pairs([0, 0, 0, 5], 31) == 1
    assert rlc_pairs([0] * 40, 31) == 2
    assert rlc_pairs([1, 2, 3], 31) == 3


@st.composite
def pass_tables(draw):
    """A random pass table as _simulate_nest lays it out: tiles in runs of
    consecutive passes (bits on a tile's first pass only), psum groups in runs,
    a group's first and last channel blocks flagged, results on its last."""
    n_kb = draw(st.integers(1, 3))
    rows = []
    tile = group = 0
    for _ in range(draw(st.integers(1, 6))):          # psum groups
        n_cb = draw(st.integers(1, 3))
        for cb in range(n_cb):                        # channel blocks: one tile each
            for kb in range(draw(st.integers(1, n_kb))):
                rows.append(dict(
                    cycles=draw(st.integers(0, 400)), fill_filter=draw(st.integers(0, 60)),
                    tile=tile, tile_bits=draw(st.integers(0, 900)) if kb == 0 else 0,
                    filter_bits=draw(st.integers(0, 500)), kb=kb, group=group,
                    first_cb=int(cb == 0), last_cb=int(cb == n_cb - 1),
                    wb_bits=draw(st.integers(0, 700)) if cb == n_cb - 1 else 0))
            tile += 1
        group += 1
    return rows, n_kb


@settings(max_examples=400, deadline=None)
@given(table=pass_tables(), flags=st.tuples(*[st.integers(0, 1)] * 4),
       bits_per_cycle=st.sampled_from([1.0, 2.5, 8.0]))
def test_timeline_equals_reference(table, flags, bits_per_cycle):
    """The DMA timeline (_timeline) equals the plain-Python statement of its
    rule (reference_timeline) on random pass tables, under every combination
    of filter prefetch, ifmap and psum double buffering and spad double
    buffering."""
    from reference_model import reference_timeline

    rows, n_kb = table
    f_pref, if_db, ps_db, sp_db = flags
    passes = np.zeros((len(rows), K.PS_LEN), dtype=np.int64)
    for i, row in enumerate(rows):
        for key, value in row.items():
            passes[i, getattr(K, f"PS_{key.upper()}")] = value
    total, _ = K._timeline(passes, bits_per_cycle, f_pref, if_db, ps_db, sp_db, n_kb)

    def xfer(b):
        return int(math.ceil(b / bits_per_cycle))

    assert total == reference_timeline(rows, xfer, f_pref, if_db, ps_db, sp_db)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_search_chooses_the_same_in_chunks(data, eyeriss_dict):
    """Ranking the candidates chunk by chunk (a set too large for one table)
    executes the same shortlist and keeps the same mapping as ranking them at once."""
    layer = data.draw(tiny_layers())
    d = data.draw(arch_dicts(eyeriss_dict))
    d["mapper"]["top_k"] = data.draw(st.sampled_from([1, 2, 8]))
    d["mapper"]["objective"] = data.draw(st.sampled_from(["energy", "delay", "edp"]))
    arch = arch_from_dict(d, "<tiny>")
    cands, _ = candidates(layer, arch)
    if len(cands) == 0:
        return
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = random_tensor(rng, layer.input_shape, 16, 0.5, signed=False)
    wt = random_tensor(rng, layer.weight_shape, 16, 0.3, signed=True)
    y = layer_output(layer, x, wt)
    kw = {"input_nz": nonzero_mask(layer, x), "output_nz": nonzero_mask(layer, y),
          "weight_nz": weight_mask(layer, wt), "first_layer": False}
    whole = choose_mapping([cands], layer, arch, **kw)
    cset, _ = candidate_set(layer, arch, table_rows=1)
    chunked = choose_mapping(cset.chunks(data.draw(st.integers(1, 6))), layer, arch, **kw)
    assert chunked[0] == whole[0]  # the mapping and the number of candidates
    np.testing.assert_array_equal(chunked[1].cycles, whole[1].cycles)
    assert chunked[2] == whole[2]
