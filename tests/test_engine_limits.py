"""Physical limits and counts the engine derives from the spec: GLB bank bandwidth,
per-tensor multicast, the PE-to-PE psum link, coded bus cycles and CSC spads,
busy and gated cycles, and run-length coding that follows the data width.

The plain-Python reference model checks every one of these exactly on random
tiny layers (test_engine_reference.py); the tests here pin down their
direction and their errors on hand-sized cases.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

import accelsim
from accelsim.cli import main
from accelsim.engine.simulate import nonzero_mask, simulate_layer, weight_mask
from accelsim.enums import Cycle, Level, Rw, Tensor
from accelsim.errors import AccelsimError, ConfigError
from accelsim.mapping.rowstationary import Mapping
from accelsim.run import run_layer
from accelsim.spec.load import arch_from_dict
from accelsim.workload.layer import layer_from_header
from conftest import ROOT, conv_header, make_trace, tiny_arch_dict

V2_YAML = ROOT / "arch_configs" / "eyeriss_v2.yaml"
RECONF_YAML = ROOT / "arch_configs" / "reconfigurable.yaml"


def _layer(n=2, c=4, hw=8, k=4, r=3, pad=0, ab=16, wb=16, op="int", name="c"):
    head = conv_header(name, n, c, hw, hw, k, r, r, pad=pad)
    head.update(act_bits=ab, weight_bits=wb, operator=op)
    layer, probs = layer_from_header(head, 0)
    assert not probs
    return layer


# two sets on channels (psums hop up a 6-PE column), two filter blocks, two
# strips: 4 passes of 2 images
MAPPING = Mapping(e=3, p=2, q=2, r=2, t=1, gp=1, m=4, n=2, segments=1, r_rows=3)


def _masks(layer, zeros=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random(layer.input_shape) >= zeros).astype(np.int16)
    w = np.ones(layer.weight_shape, np.int16)
    y = np.ones(layer.output_shape, np.int16)
    return dict(input_nz=nonzero_mask(layer, x), output_nz=nonzero_mask(layer, y),
                weight_nz=weight_mask(layer, w))


def _counts(d, layer, masks, mp=MAPPING):
    arch = arch_from_dict(d, "<tiny>")
    return simulate_layer(layer, arch, mp, first_layer=False, **masks)


@pytest.fixture
def base(eyeriss_dict):
    d = tiny_arch_dict(eyeriss_dict, rows=6, cols=4, ifmap=12, filt=48, psum=8, banks=8,
                       bank=512)
    d["noc"]["ifmap_bus_bits"] = 64  # four values a cycle: compute binds
    return d


# ---- GLB bandwidth, multicast, psum link ---------------------------------------

def test_narrow_glb_banks_stall_the_stream(base):
    layer = _layer()
    masks = _masks(layer)
    wide = _counts(base, layer, masks)
    d = copy.deepcopy(base)
    d["glb"]["word_bits"] = 1  # one bit per bank per cycle
    narrow = _counts(d, layer, masks)
    assert narrow.cycle(Cycle.NOC_STALL) > wide.cycle(Cycle.NOC_STALL)
    assert narrow.cycle(Cycle.FILL) > wide.cycle(Cycle.FILL)  # filter load and ramp-up
    assert narrow.cycle(Cycle.COMPUTE) == wide.cycle(Cycle.COMPUTE)
    assert np.array_equal(narrow.words, wide.words)  # bandwidth is time, not traffic


def test_narrow_psum_link_stalls_the_stream(base):
    layer = _layer()
    masks = _masks(layer)
    wide = _counts(base, layer, masks)
    d = copy.deepcopy(base)
    d["noc"]["psum_link_bits"] = 2  # 16-bit psums take 8 cycles each
    narrow = _counts(d, layer, masks)
    # per image the busiest PE forwards p x Q = 2 x 6 psums: 96 link cycles
    # against 2 x 2 x 3 x 6 = 72 MAC cycles, on each of the 4 passes x 2 images
    assert wide.cycle(Cycle.NOC_STALL) == 0
    assert narrow.cycle(Cycle.PROCESSING) - wide.cycle(Cycle.PROCESSING) == 8 * (96 - 72)
    assert narrow.cycle(Cycle.NOC_STALL) == 8 * (96 - 72)


def test_unicast_counts_a_bus_word_per_destination(base):
    layer = _layer()
    masks = _masks(layer)
    multi = _counts(base, layer, masks)
    for key, tensor in (("ifmap", Tensor.IFMAP), ("filter", Tensor.WEIGHT)):
        d = copy.deepcopy(base)
        d["noc"]["multicast"] = {key: False}
        uni = _counts(d, layer, masks)
        # the bus delivers each spad write separately; the GLB still reads once
        assert uni.words[Level.NOC, tensor, Rw.READ] == uni.words[Level.SPAD, tensor, Rw.WRITE]
        assert uni.words[Level.NOC, tensor, Rw.READ] > multi.words[Level.NOC, tensor, Rw.READ]
        assert uni.words[Level.GLB, tensor, Rw.READ] == multi.words[Level.GLB, tensor, Rw.READ]
        other = Tensor.WEIGHT if tensor is Tensor.IFMAP else Tensor.IFMAP
        assert np.array_equal(uni.words[Level.NOC, other], multi.words[Level.NOC, other])
        assert uni.cycle(Cycle.PROCESSING) > multi.cycle(Cycle.PROCESSING)
    d = copy.deepcopy(base)
    d["noc"]["multicast"] = False
    both = _counts(d, layer, masks)
    for tensor in (Tensor.IFMAP, Tensor.WEIGHT):
        assert (both.words[Level.NOC, tensor, Rw.READ]
                == both.words[Level.SPAD, tensor, Rw.WRITE])


@pytest.mark.parametrize("value, expected", [
    ({"psum": False}, "noc.multicast.psum: psums go to one PE each (or from one PE to the GLB), "
                      "so multicast does not apply (known: filter, ifmap)"),
    ({"weights": False}, "noc.multicast.weights: unknown key (known: filter, ifmap)"),
    ({"ifmap": "no"}, "noc.multicast.ifmap: must be true or false (got 'no')"),
    ("yes", "noc.multicast: must be true or false (got 'yes')"),
])
def test_multicast_errors(eyeriss_dict, value, expected):
    _assert_spec_error(eyeriss_dict, ("noc", "multicast"), value, expected)


def _assert_spec_error(eyeriss_dict, key, value, expected):
    """Setting ``key`` (section, name) to ``value`` fails with ``expected``."""
    d = copy.deepcopy(eyeriss_dict)
    d[key[0]][key[1]] = value
    with pytest.raises(ConfigError) as exc:
        arch_from_dict(d, "a.yaml")
    assert f"a.yaml: {expected}" in str(exc.value)


def test_multicast_forms(eyeriss_dict):
    d = copy.deepcopy(eyeriss_dict)
    d["noc"]["multicast"] = {"ifmap": False}
    noc = arch_from_dict(d).noc
    assert (noc.multicast.filter, noc.multicast.ifmap) == (True, False)
    d["noc"]["multicast"] = False
    noc = arch_from_dict(d).noc
    assert (noc.multicast.filter, noc.multicast.ifmap) == (False, False)


# ---- tensors the GLB keeps compressed -------------------------------------------

def _csc_dict(base, glb_fmt):
    d = copy.deepcopy(base)
    d["glb"]["ifmap_compression"] = glb_fmt
    d["glb"]["weight_compression"] = glb_fmt
    d["formats"] = {"csc": {"count_bits": 4, "address_bits": 7}}
    d["noc"]["ifmap_bus_bits"] = 16
    return d


def test_coded_ifmaps_take_fewer_bus_cycles(base):
    layer = _layer()
    masks = _masks(layer, zeros=0.9, seed=1)
    dense = _counts(_csc_dict(base, "none"), layer, masks)
    csc = _counts(_csc_dict(base, "csc"), layer, masks)
    # the ifmap bus binds on dense words (16 bits a cycle, one value); coded
    # bits of a 90%-zero tensor move faster
    assert dense.cycle(Cycle.NOC_STALL) > 0
    assert csc.cycle(Cycle.NOC_STALL) < dense.cycle(Cycle.NOC_STALL)
    assert csc.bytes_at(Level.NOC, Tensor.IFMAP) < dense.bytes_at(Level.NOC, Tensor.IFMAP)


def test_csc_stays_csc_in_the_spads(base):
    layer = _layer()
    masks = _masks(layer, zeros=0.0)
    dense = _counts(_csc_dict(base, "none"), layer, masks)
    csc = _counts(_csc_dict(base, "csc"), layer, masks)
    bitmap = _counts(_csc_dict(base, "bitmap"), layer, masks)
    for tensor, bits in ((Tensor.IFMAP, layer.act_bits), (Tensor.WEIGHT, layer.weight_bits)):
        reads = csc.words[Level.SPAD, tensor, Rw.READ]
        # each read takes its 4-bit count too, and the PE reads column addresses
        assert csc.bits[Level.SPAD, tensor, Rw.READ] > reads * (bits + 4)
        # dense data costs more coded than plain: count bits on every value
        assert (csc.bits[Level.SPAD, tensor, Rw.WRITE]
                > dense.bits[Level.SPAD, tensor, Rw.WRITE])
        # other formats are decoded at the PE's input
        assert np.array_equal(bitmap.bits[Level.SPAD], dense.bits[Level.SPAD])


# ---- busy and gated cycles ---------------------------------------------------------

def test_busy_is_in_cycles_on_a_two_mac_core(base, tmp_path):
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 2, 4, 8, 8, 4, 3, 3)],
                    ifmap_zeros=0.5, seed=2)
    layer = tr.layers[0]
    by_rate = {}
    for rate in (1, 2):
        for mode in ("none", "skip"):
            d = copy.deepcopy(base)
            d["mac"]["macs_per_pe_per_cycle"] = rate
            d["sparsity"]["ifmap"] = mode
            by_rate[rate, mode] = run_layer(layer, tr, arch_from_dict(d), first_layer=False,
                                            mapping=MAPPING).counts
    for mode in ("none", "skip"):
        one, two = by_rate[1, mode], by_rate[2, mode]
        assert two.pe_busy_max_cycles == one.pe_busy_max_cycles / 2
        assert two.load_imbalance == one.load_imbalance
        # the busiest PE's cycles are the compute cycles, but for rounding up
        # each pass and image to whole cycles
        passes_images = 4 * 2
        assert 0 <= two.cycle(Cycle.COMPUTE) - two.pe_busy_max_cycles < passes_images
    assert by_rate[1, "none"].pe_busy_max_cycles == by_rate[1, "none"].cycle(Cycle.COMPUTE)


def test_gated_cycles_count_gated_slots_only(base, tmp_path):
    def counts(mode, zeros, pad):
        tr = make_trace(tmp_path / f"{mode}{zeros}{pad}.npz",
                        [conv_header("c", 1, 2, 6, 6, 2, 3, 3, pad=pad)], ifmap_zeros=zeros)
        d = copy.deepcopy(base)
        d["sparsity"]["ifmap"] = mode
        return run_layer(tr.layers[0], tr, arch_from_dict(d), first_layer=False).counts

    # all zeros, no padding: every stepped slot is gated
    c = counts("gate", 1.0, 0)
    assert c.macs_gated == c.macs and c.compute_gated_cycles == c.cycle(Cycle.COMPUTE) > 0
    # padding taps are stepped but are not gated work
    c = counts("gate", 0.0, 1)
    assert c.macs_padded > c.macs and c.compute_gated_cycles == 0
    # skipped zeros cost no cycle, so none is gated
    c = counts("skip", 0.5, 1)
    assert c.macs_skipped > 0 and c.compute_gated_cycles == 0


def test_v2_reports_no_gated_cycles(tmp_path):
    arch = accelsim.load_arch(V2_YAML)
    head = dict(conv_header("c", 1, 8, 12, 12, 8, 3, 3, pad=1), weight_bits=8, act_bits=8)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.6, weight_zeros=0.5)
    c = run_layer(tr.layers[0], tr, arch, first_layer=False).counts
    assert c.macs_gated == 0 and c.compute_gated_cycles == 0 and c.macs_skipped > 0


# ---- run-length coding follows the data width ---------------------------------------

def test_rlc_bytes_fall_with_act_bits(tmp_path):
    """Under RLC whose value field follows the data (reconfigurable.yaml),
    narrower activations move fewer DRAM bytes."""
    arch = accelsim.load_arch(RECONF_YAML)
    head = dict(conv_header("conv2", 2, 6, 14, 14, 16, 5, 5), weight_bits=8, act_bits=8)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.5)
    layer = tr.layers[0]
    # one mapping for every width (legal at 8 bits, so at fewer): DRAM traffic
    # then differs only by the coding
    mp = run_layer(layer, tr, arch, first_layer=False).mapping.mapping
    moved = []
    for op, wb, ab in (("int", 8, 8), ("int", 4, 4), ("int", 2, 2)):
        variant = dataclasses.replace(layer, operator=op, weight_bits=wb, act_bits=ab)
        c = run_layer(variant, tr, arch, first_layer=False, mapping=mp).counts
        moved.append(c.bytes_at(Level.DRAM, Tensor.IFMAP))
    assert moved == sorted(moved, reverse=True) and len(set(moved)) == 3
    # binary activations are +-1, never zero (accelsim.workload.values): a zero
    # run never forms, so every 1-bit value takes a whole (run, value) pair and
    # RLC moves more than the 1-bit tensor would uncoded
    binary = dataclasses.replace(layer, operator="binary", weight_bits=1, act_bits=1)
    c = run_layer(binary, tr, arch, first_layer=False, mapping=mp).counts
    assert c.bytes_at(Level.DRAM, Tensor.IFMAP) > c.words[Level.DRAM, Tensor.IFMAP].sum() / 8
    # a fixed 16-bit field (Eyeriss v1) moves the same bytes whatever the width
    fixed = dataclasses.replace(arch, formats=dataclasses.replace(
        arch.formats, rlc=dataclasses.replace(arch.formats.rlc, value_bits=16,
                                              pairs_per_word=3)))
    fixed_moved = {run_layer(dataclasses.replace(layer, act_bits=ab, weight_bits=ab), tr, fixed,
                             first_layer=False, mapping=mp).counts.bytes_at(Level.DRAM,
                                                                            Tensor.IFMAP)
                   for ab in (8, 4)}
    assert len(fixed_moved) == 1


def test_rlc_value_field_too_narrow_is_an_error(eyeriss_dict, tmp_path, capsys):
    d = copy.deepcopy(eyeriss_dict)
    d["formats"]["rlc"] = {"run_bits": 5, "value_bits": 4, "pairs_per_word": 3}
    arch = arch_from_dict(d, "a.yaml")
    layer = _layer(name="conv2", ab=8, wb=8)
    with pytest.raises(AccelsimError, match="formats.rlc.value_bits 4 cannot hold layer "
                                            "conv2's 8-bit activations"):
        simulate_layer(layer, arch, MAPPING, first_layer=False, **_masks(layer))
    # from the command line: exit 2, one line, nothing written
    import yaml
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(d))
    trace = tmp_path / "l.npz"
    assert main(["synth", "lenet5", "--weight-bits", "8", "--act-bits", "8", "-o",
                 str(trace)]) == 0
    capsys.readouterr()
    out = tmp_path / "r.json"
    assert main(["run", str(tmp_path / "a.yaml"), str(trace), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "formats.rlc.value_bits 4 cannot hold layer conv1's 8-bit" in err
    assert err.count("\n") == 1 and not out.exists()


@pytest.mark.parametrize("rlc, expected", [
    ({"value_bits": "wide"}, "formats.rlc.value_bits: must be an integer or data (got 'wide')"),
    ({"value_bits": 0}, "formats.rlc.value_bits: must be from 1 to 64, or data (got 0)"),
    ({"run_bits": 20, "value_bits": 48},
     "formats.rlc: run_bits+value_bits = 68 exceeds word_bits (got 64)"),
])
def test_rlc_spec_errors(eyeriss_dict, rlc, expected):
    _assert_spec_error(eyeriss_dict, ("formats", "rlc"), rlc, expected)


def test_rlc_data_width_too_wide_for_the_word(eyeriss_dict):
    d = copy.deepcopy(eyeriss_dict)
    d["formats"]["rlc"] = {"run_bits": 5, "value_bits": "data", "pairs_per_word": 3}
    arch = arch_from_dict(d, "a.yaml")
    assert arch.formats.rlc.value_bits is None
    layer = _layer(name="conv3", ab=32, wb=16)
    with pytest.raises(AccelsimError, match=r"formats.rlc.pairs_per_word 3 pairs of run_bits 5 "
                                            r"\+ layer conv3's 32-bit activations exceed "
                                            r"word_bits 64"):
        simulate_layer(layer, arch, MAPPING, first_layer=False, **_masks(layer))


# ---- filters loaded into the spads' spare half ------------------------------------

def test_next_pass_filter_load_bounds_a_pass_when_spads_hold_two(eyeriss_dict):
    """With two passes' filters in the spads, the next pass's filters load while
    this pass runs: a pass lasts at least that load (counted as fill), yet never
    longer than loading the filters between passes."""
    layer = _layer()
    masks = _masks(layer)
    d = tiny_arch_dict(eyeriss_dict)                 # 48 filter entries: 2 x p*q*S = 24 fit
    d["noc"]["filter_bus_bits"] = 16                 # one filter word a cycle
    double = _counts(d, layer, masks)
    d_single = copy.deepcopy(d)
    d_single["scratchpads"]["filter"]["entries"] = 12  # one pass's 12, not two
    single = _counts(d_single, layer, masks)
    load = 2 * 4 * 3 * 3                              # p*t filters x q*r channels x R*S words
    passes = int(double.cycles[Cycle.PASSES])
    assert passes == 4
    assert double.cycles[Cycle.PROCESSING] >= passes * load  # first load + one per later pass
    assert double.cycles[Cycle.PROCESSING] <= single.cycles[Cycle.PROCESSING]
    assert double.cycles[Cycle.FILL] >= (passes - 1) * load


def _pass_table(rows):
    from accelsim.engine import kernels as K

    table = np.zeros((len(rows), K.PS_LEN), dtype=np.int64)
    for i, row in enumerate(rows):
        for key, value in row.items():
            table[i, getattr(K, f"PS_{key.upper()}")] = value
    return table


def test_filters_whose_buffer_is_free_do_not_wait_behind_a_tile():
    """The DMA issues each request when its buffer frees: pass 1's filters
    (buffer free 10 cycles into pass 0) go over the link while pass 0 still
    reads its ifmap tile, not after pass 1's tile, whose buffer frees only when
    pass 0 ends."""
    from accelsim.engine import kernels as K

    passes = _pass_table([
        dict(cycles=1000, fill_filter=10, tile=0, tile_bits=100, filter_bits=100, group=0,
             first_cb=1),
        dict(cycles=1000, fill_filter=10, tile=1, tile_bits=400, filter_bits=300, group=0,
             last_cb=1),
    ])
    # one bit a cycle; filter prefetch on, no double buffering anywhere
    total, ends = K._timeline(passes, 1.0, 1, 0, 0, 0, 1)
    # pass 0: its tile (100) and filters (100) arrive at 200, it runs 200-1200;
    # pass 1's filters load 210-510 meanwhile; its tile 1200-1600; it runs
    # 1600-2600. Were the filters queued behind the tile, they would load
    # 1600-1900 and pass 1 would end at 2900.
    assert ends.tolist() == [1200, 2600]
    assert total == 2600


@pytest.mark.parametrize("stride", [2, 3])
def test_a_layer_whose_strips_read_only_padding_is_mapped(tmp_path, stride):
    """A 1x1 input padded by 1 with stride >= 2: the first ofmap row reads only
    padding, which a GLB that does not store padding does not hold (an ifmap
    region of zero rows still takes its bank, as in the engine). The search's
    estimate divided by that empty region's width and raised."""
    trace = make_trace(tmp_path / "pad.npz", [conv_header("c", 1, 4, 1, 1, 8, 1, 1,
                                                          stride=stride, pad=1)])
    arch = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v2.yaml")
    assert not arch.glb.stores_padding
    result = accelsim.run(arch, trace)
    layer = result.layers[0]
    assert layer.mapping is not None and layer.counts.macs_performed == 0
