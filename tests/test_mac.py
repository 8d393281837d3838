"""MAC cores and mixed precision: operator energies, throughput rules, packed
storage, per-layer assignments, and the operator cost table."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import yaml

import accelsim
from accelsim.cli import main
from accelsim.energy.operators import (core_area_um2, default_op_pj, default_op_um2,
                                       op_energy_pj)
from accelsim.engine.simulate import simulate_layer
from accelsim.enums import Cycle, Level, Tensor
from accelsim.errors import ConfigError
from accelsim.mapping.rowstationary import candidates, mapping_from_row
from accelsim.run import run
from accelsim.spec.load import arch_from_dict
from accelsim.spec.mac import combos
from accelsim.workload.assign import apply_assignment, assignment_from_dict
from accelsim.workload.layer import layer_from_header
from conftest import EYERISS_YAML, ROOT, conv_header, make_trace, tiny_arch_dict

RECONF_YAML = ROOT / "arch_configs" / "reconfigurable.yaml"
INT_BITS = [2, 4, 8, 16]


def _reconf_dict(eyeriss_dict, kind="precision_scalable", **mac):
    d = tiny_arch_dict(eyeriss_dict, rows=3, cols=4, ifmap=12, filt=48, psum=8, banks=8,
                       bank=512)
    d["scratchpads"]["psum"]["word_bits"] = 32
    d["mac"] = {"kind": kind, "bits": 16, "macs_per_pe_per_cycle": 1,
                "operators": {"int": {"weight_bits": INT_BITS, "act_bits": INT_BITS},
                              "binary": {"weight_bits": [1], "act_bits": [1]},
                              "shift": {"weight_bits": [4], "act_bits": [8]}}, **mac}
    return d


def _layer(wb=16, ab=16, op="int", **kw):
    head = conv_header("c", 2, 4, 6, 6, 4, 2, 2, **kw)
    head.update(weight_bits=wb, act_bits=ab, operator=op)
    layer, probs = layer_from_header(head, 0)
    assert not probs
    return layer


def _masks(layer, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random(layer.input_shape) > 0.3).astype(np.uint8)
    w = np.ones((layer.groups * layer.k, layer.c, layer.r, layer.s), np.uint8)
    y = np.ones((layer.n, layer.groups * layer.k, layer.p, layer.q), np.uint8)
    return dict(input_nz=np.ascontiguousarray(x), output_nz=y, weight_nz=w)


# ---- energy of one operation ------------------------------------------------------

def test_one_op_energy_ordered_as_physics_says():
    binary = default_op_pj("binary", 1, 1)
    shift = default_op_pj("shift", 4, 8)
    int8 = default_op_pj("int", 8, 8)
    int16 = default_op_pj("int", 16, 16)
    assert binary < shift < int8 < int16
    assert default_op_pj("int", 4, 4) < int8 < default_op_pj("fp", 16, 16) < default_op_pj(
        "fp", 32, 32)
    assert default_op_pj("binary_weight", 1, 8) < int8
    assert default_op_pj("mult_free", 8, 8) < int8
    # the fits pass through Horowitz's 8- and 32-bit points (mult + its accumulate add)
    assert default_op_pj("int", 8, 8) == pytest.approx(0.2 + 0.03 + 8 * 0.07 / 24)
    assert default_op_pj("int", 32, 32) == pytest.approx(3.1 + 0.1 + 32 * 0.07 / 24)


def test_int_core_charges_mac_pj_at_any_width(eyeriss):
    for bits in (16, 8, 4):
        assert op_energy_pj(eyeriss, "int", bits, bits) == eyeriss.energy.mac_pj


def test_reconfigurable_energy_scales_and_overrides(eyeriss_dict):
    base = arch_from_dict(_reconf_dict(eyeriss_dict), "<r>")
    d = _reconf_dict(eyeriss_dict)
    d["mac"].update(technology_scale=2.0, reconfig_energy_fraction=0.5,
                    reconfig_area_fraction=0.25)
    d["energy"]["operator_pj"] = {"int": {"8x8": 0.7}}
    scaled = arch_from_dict(d, "<r>")
    assert op_energy_pj(base, "int", 4, 4) == pytest.approx(default_op_pj("int", 4, 4))
    assert op_energy_pj(scaled, "int", 4, 4) == pytest.approx(3.0 * default_op_pj("int", 4, 4))
    assert op_energy_pj(scaled, "int", 8, 8) == pytest.approx(0.7 * 1.5)
    assert core_area_um2(scaled) == pytest.approx(1.25 * core_area_um2(base))


# ---- storage follows precision ----------------------------------------------------

def test_halving_weight_bits_halves_weight_bytes_at_every_level(eyeriss_dict):
    d = _reconf_dict(eyeriss_dict)
    d["dram"].update(weight_compression="none", burst_bytes=1)
    arch = arch_from_dict(d, "<r>")
    l8, l4 = _layer(8, 8), _layer(4, 8)
    cands, _ = candidates(l8, arch)
    mp = mapping_from_row(cands[len(cands) // 2], l8)
    masks = _masks(l8)
    c8 = simulate_layer(l8, arch, mp, first_layer=True, **masks)
    c4 = simulate_layer(l4, arch, mp, first_layer=True, **masks)
    np.testing.assert_array_equal(c8.words[:, Tensor.WEIGHT], c4.words[:, Tensor.WEIGHT])
    for level in Level:
        w8, w4 = c8.bytes_at(level, Tensor.WEIGHT), c4.bytes_at(level, Tensor.WEIGHT)
        assert w8 > 0 and w4 == w8 / 2, level
        assert c4.bytes_at(level, Tensor.IFMAP) == c8.bytes_at(level, Tensor.IFMAP), level


def test_spad_capacity_counts_packed_values(eyeriss_dict):
    arch = arch_from_dict(_reconf_dict(eyeriss_dict), "<r>")  # filter spad: 48 x 16 b
    assert arch.filter_spad.values(4) == 192 and arch.filter_spad.values(16) == 48
    # values never straddle two words: 3 bits pack 5 to a word, 5 bits 3, 6 bits 2;
    # a 20-bit value takes two whole 16-bit words
    assert [arch.filter_spad.values(b) for b in (3, 5, 6, 20, 32)] == [240, 144, 96, 24, 24]
    widest = {}
    for bits in (16, 5, 4):
        layer = dataclasses.replace(_layer(), weight_bits=bits, act_bits=bits, c=16, k=16,
                                    input_shape=(2, 16, 6, 6))
        cands, _ = candidates(layer, arch)
        widest[bits] = int((cands[:, 1] * cands[:, 2] * layer.s).max())
        assert (cands[:, 2] * layer.s <= arch.ifmap_spad.values(bits)).all()
    assert widest[16] <= 48 < widest[5] <= 144 < widest[4] <= 192


# ---- throughput rules --------------------------------------------------------------

def _compute_cycles(arch, bits_list, key):
    ref = _layer(8, 8)
    cands, _ = candidates(_layer(16, 16), arch)
    mp = mapping_from_row(cands[0], ref)
    masks = _masks(ref)
    out = []
    for bits in bits_list:
        layer = _layer(**{"wb": 8, "ab": 8, key: bits})
        out.append(simulate_layer(layer, arch, mp, first_layer=True, **masks)
                   .cycle(Cycle.COMPUTE))
    return out


def test_precision_scalable_cycles_fall_with_precision(eyeriss_dict):
    arch = arch_from_dict(_reconf_dict(eyeriss_dict), "<r>")
    cyc = _compute_cycles(arch, [16, 8, 4, 2], "wb")
    assert cyc[0] > cyc[1] > cyc[2] > cyc[3]


def test_bit_serial_cycles_rise_with_bits(eyeriss_dict):
    arch = arch_from_dict(_reconf_dict(eyeriss_dict, kind="bit_serial",
                                       macs_per_pe_per_cycle=4), "<r>")
    cyc = _compute_cycles(arch, [2, 4, 8, 16], "ab")
    assert cyc[0] < cyc[1] < cyc[2] < cyc[3]
    assert cyc[3] == pytest.approx(8 * cyc[0], rel=0.05)


# ---- config errors -------------------------------------------------------------------

@pytest.mark.parametrize("mutate,expected", [
    (lambda d: d["mac"].update(kind="int"), "mac.operators: an int core runs int at any width"),
    (lambda d: d["mac"].pop("operators"), "mac.operators: missing (a precision_scalable core"),
    (lambda d: d["mac"]["operators"]["int"].update(weight_bits=[32]),
     "mac.operators.int.weight_bits: 32 exceeds the core's bits 16"),
    (lambda d: d["mac"]["operators"]["shift"].update(weight_bits=[3]),
     "mac.operators.shift.weight_bits: a sign and exponents -7..0 need 4 bits"),
    (lambda d: d["mac"]["operators"]["shift"].update(exponent_min=2, exponent_max=2),
     "mac.operators.shift.exponent_max: must exceed exponent_min 2 (got 2)"),
    (lambda d: d["mac"]["operators"]["shift"].update(exponent_max=-8),
     "mac.operators.shift.exponent_max: must exceed exponent_min -7 (got -8)"),
    (lambda d: d["mac"]["operators"]["binary"].update(weight_bits=[2]),
     "mac.operators.binary: no width pair is defined for binary"),
    (lambda d: d["energy"].update(operator_pj={"int": {"8by8": 1.0}}),
     "energy.operator_pj: int.8by8: key must read WxA"),
    (lambda d: d["mac"].update(reconfig_energy_fraction=-0.1),
     "mac.reconfig_energy_fraction: must be a number >= 0"),
    (lambda d: d["mac"].update(reconfig_energy_fraction=5),
     "mac.reconfig_energy_fraction: must be <= 1, a fraction of the operation's own cost "
     "(0.15 = +15%) (got 5)"),
    (lambda d: d["mac"].update(reconfig_area_fraction=1.5),
     "mac.reconfig_area_fraction: must be <= 1"),
    (lambda d: d["mac"].update(min_bits=3),
     "mac.min_bits: must be a power of two, the width of the core's bricks (got 3)"),
    (lambda d: d["mac"].update(min_bits=32), "mac.min_bits: must be <= mac.bits 16 (got 32)"),
    (lambda d: d["mac"].update(bits=12, min_bits=8),
     "mac.bits: must be a multiple of mac.min_bits 8, a whole number of bricks (got 12)"),
    (lambda d: d["mac"]["operators"]["int"].update(weight_bits=[8, 4, 8]),
     "mac.operators.int.weight_bits: width 8 is listed twice (got [8, 4, 8])"),
    (lambda d: d["mac"]["operators"].update(fp={"weight_bits": [16], "act_bits": [16]}),
     "mac.operators.fp: a precision_scalable core fuses integer bricks (Bit Fusion is integer "
     "only); fp modes are not modeled on it (got weight_bits [16], act_bits [16])"),
    (lambda d: d["energy"].update(operator_pj={"int": {"8x8": 0.3, "3x8": 0.2}}),
     "energy.operator_pj.int.3x8: the core does not run int at weight_bits 3, act_bits 8 "
     "(got 0.2)"),
    (lambda d: d["energy"].update(operator_pj={"shift": {"4x4": 0.1}}),
     "energy.operator_pj.shift.4x4: the core does not run shift at weight_bits 4, act_bits 4"),
    (lambda d: (d["mac"].update(kind="int"), d["mac"].pop("operators"),
                d["energy"].update(operator_pj={"int": {"8x8": 0.3}})),
     "energy.operator_pj: an int core prices every MAC at energy.mac_pj"),
])
def test_mac_config_errors_name_the_key(eyeriss_dict, mutate, expected):
    d = _reconf_dict(eyeriss_dict)
    mutate(d)
    with pytest.raises(ConfigError) as err:
        arch_from_dict(d, "r.yaml")
    assert expected in str(err.value) and "r.yaml" in str(err.value)


def test_layer_operator_needs_its_widths():
    head = conv_header("c1", 1, 2, 4, 4, 2, 2, 2)
    head.update(operator="binary", weight_bits=8, act_bits=8)
    _, probs = layer_from_header(head, 0)
    assert probs == ["layers[0](c1).operator: binary needs weight_bits == act_bits == 1 "
                     "(got 'binary w8a8')"]


# ---- assignments ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("mac") / "t.npz"
    return make_trace(path, [conv_header("c1", 2, 3, 6, 6, 4, 3, 3, pad=1),
                             conv_header("c2", 2, 4, 6, 6, 4, 2, 2)], ifmap_zeros=0.3)


def test_assignment_errors_name_file_and_key(tiny_trace):
    with pytest.raises(ConfigError, match=r"a.yaml: layers.nope: no such layer"):
        apply_assignment(tiny_trace, {"nope": {"weight_bits": 4}}, "a.yaml")
    with pytest.raises(ConfigError, match=r"a.yaml: layers.c1.colour: unknown key"):
        assignment_from_dict({"version": 1, "layers": {"c1": {"colour": 1}}}, "a.yaml")
    with pytest.raises(ConfigError, match=r"a.yaml: layers.c1: binary needs"):
        apply_assignment(tiny_trace, {"c1": {"operator": "binary"}}, "a.yaml")


def test_every_entry_of_a_bad_assignment_file_is_named_at_once(tiny_trace, tmp_path, capsys):
    """The file's own problems, names the trace lacks and widths an operator
    does not take are one message, entry by entry."""
    assign = tmp_path / "assign.yaml"
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {
        "c1": {"operator": "binary"}, "c2": {"operator": "bogus", "act_bits": 0},
        "nope": {"weight_bits": 8}}}, sort_keys=False))
    code = main(["run", str(EYERISS_YAML), tiny_trace.path, "--assign", str(assign)])
    assert code == 2
    assert capsys.readouterr().err == (
        f"accelsim: error: {assign}: layers.c1: binary needs weight_bits == act_bits == 1 (got "
        f"weight_bits 16, act_bits 16); {assign}: layers.c2.operator: must be one of ['int', "
        f"'fp', 'bfloat', 'binary', 'binary_weight', 'shift', 'mult_free'] (got 'bogus'); "
        f"{assign}: layers.c2.act_bits: must be an integer from 1 to 64 (got 0); {assign}: "
        f"layers.nope: no such layer in {tiny_trace.path} (MAC layers: c1, c2)\n")


def test_unsupported_assignment_exits_2_naming_the_layer(tiny_trace, tmp_path, capsys):
    assign = tmp_path / "assign.yaml"
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {
        "c2": {"operator": "shift", "weight_bits": 4, "act_bits": 8}}}))
    code = main(["run", str(EYERISS_YAML), tiny_trace.path, "--assign", str(assign)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err == (f"accelsim: error: {assign}: layers.c2: operator shift with weight_bits 4, "
                   "act_bits 8 is not supported by eyeriss_v1 (the int core runs int only)\n")
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {"c9": {"act_bits": 8}}}))
    code = main(["run", str(EYERISS_YAML), tiny_trace.path, "--assign", str(assign)])
    err = capsys.readouterr().err
    assert code == 2 and f"{assign}: layers.c9: no such layer" in err


def test_unsupported_modes_are_grouped_with_their_layers(tmp_path, capsys):
    """Each unsupported (operator, widths) once with its layers, the core's list once per
    file: the trace's layers, then the assignment's entries."""
    from accelsim.spec.mac import supported_text

    trace = make_trace(tmp_path / "t.npz",
                       [conv_header(f"l{i}", 1, 2, 4, 4, 2, 1, 1) for i in range(6)])
    assign = tmp_path / "assign.yaml"
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {
        "l5": {"operator": "shift", "weight_bits": 8, "act_bits": 8}}}))
    code = main(["run", str(RECONF_YAML), trace.path, "--assign", str(assign)])
    err = capsys.readouterr().err
    listed = supported_text(accelsim.load_arch(RECONF_YAML).mac)
    assert code == 2
    assert err == (f"accelsim: error: {trace.path}: layers l0, l1, l2 and 2 more: operator int "
                   "with weight_bits 16, act_bits 16 is not supported by reconfigurable (the "
                   f"core supports {listed}); {assign}: layers.l5: operator shift with "
                   "weight_bits 8, act_bits 8 is not supported by reconfigurable (the core "
                   f"supports {listed})\n")
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {
        f"l{i}": {"weight_bits": 8, "act_bits": 8} for i in range(2, 6)}}))
    assert main(["run", str(RECONF_YAML), trace.path, "--assign", str(assign)]) == 2
    assert capsys.readouterr().err == (
        f"accelsim: error: {trace.path}: layers l0 and l1: operator int with weight_bits 16, "
        f"act_bits 16 is not supported by reconfigurable (the core supports {listed})\n")


def test_reconfigurable_config_runs_a_mixed_assignment(tiny_trace):
    arch = accelsim.load_arch(RECONF_YAML)
    trace = apply_assignment(tiny_trace, {"c1": {"operator": "int", "weight_bits": 8,
                                                 "act_bits": 8},
                                          "c2": {"operator": "binary", "weight_bits": 1,
                                                 "act_bits": 1}})
    df = accelsim.report_frame(run(arch, trace))
    rows = df.set_index("name")
    assert list(rows.loc[["c1", "c2"], "operator"]) == ["int", "binary"]
    assert rows.loc["c2", "mac_pj_per_op"] < rows.loc["c1", "mac_pj_per_op"]
    for name in ("c1", "c2"):
        assert rows.loc[name, "energy_pj_mac"] == pytest.approx(
            rows.loc[name, "macs_performed"] * rows.loc[name, "mac_pj_per_op"])
        assert 0 < rows.loc[name, "utilization"] <= 1
    with pytest.raises(accelsim.AccelsimError, match="layers c1 and c2: operator int with "
                                                     "weight_bits 16"):
        run(arch, tiny_trace)  # 16-bit layers on an 8-bit core


# ---- operator cost table -------------------------------------------------------------

def test_opcost_rows_agree_with_run(tiny_trace, eyeriss_dict):
    d = _reconf_dict(eyeriss_dict)
    d["mac"]["operators"]["int"] = {"weight_bits": [4, 8], "act_bits": [8]}
    arch = arch_from_dict(d, "<r>")
    table = accelsim.opcost(arch, tiny_trace)
    assert len(table) == 2 * 4  # layers x (int 4x8, int 8x8, binary 1x1, shift 4x8)
    assert table["feasible"].all()
    for op, wb, ab in (("int", 4, 8), ("binary", 1, 1)):
        assigned = apply_assignment(tiny_trace, {
            n: {"operator": op, "weight_bits": wb, "act_bits": ab} for n in ("c1", "c2")})
        df = accelsim.report_frame(run(arch, assigned)).set_index("name")
        sel = table[(table.operator == op) & (table.weight_bits == wb)].set_index("layer")
        for name in ("c1", "c2"):
            assert sel.loc[name, "cycles"] == df.loc[name, "cycles"]
            assert sel.loc[name, "energy_pj_total"] == pytest.approx(
                df.loc[name, "energy_pj_total"], rel=1e-12)
    sel = table[table.layer == "c2"].set_index(["operator", "weight_bits"])
    assert sel.loc[("int", 4), "dram_weight_bytes"] < sel.loc[("int", 8), "dram_weight_bytes"]


def test_opcost_cli_writes_csv(tiny_trace, tmp_path, capsys):
    out = tmp_path / "cost.csv"
    assert main(["opcost", str(EYERISS_YAML), tiny_trace.path, "--format", "csv", "--out",
                 str(out)]) == 0
    import pandas as pd
    df = pd.read_csv(out)
    assert list(df["layer"]) == ["c1", "c2"] and set(df["operator"]) == {"int"}
    assert (df["mac_pj_per_op"] == 1.0).all()


# ---- operand zeros an operator cannot hold ------------------------------------------

def _zero_arch(eyeriss_dict, mode):
    d = _reconf_dict(eyeriss_dict)
    d["mac"]["operators"]["binary_weight"] = {"weight_bits": [1], "act_bits": [8]}
    d["mac"]["operators"]["mult_free"] = {"weight_bits": [8], "act_bits": [8]}
    d["sparsity"] = {"ifmap": mode, "weight": mode}
    return arch_from_dict(d, "<r>")


@pytest.mark.parametrize("mode", ["gate", "skip"])
def test_binary_operands_have_no_zeros(tmp_path, eyeriss_dict, mode):
    """+-1 operands cannot be zero: a 16-bit trace's zeros do not gate or skip
    them once the layer runs as binary; binary_weight keeps the ifmap's zeros,
    shift keeps the weight zeros (its code has a zero)."""
    tr = make_trace(tmp_path / "z.npz", [conv_header("c", 1, 4, 6, 6, 4, 3, 3, pad=1)],
                    ifmap_zeros=0.5, weight_zeros=0.5)
    arch = _zero_arch(eyeriss_dict, mode)
    rows = {}
    for op, wb, ab in (("int", 8, 8), ("binary", 1, 1), ("binary_weight", 1, 8),
                       ("shift", 4, 8)):
        assigned = apply_assignment(tr, {"c": {"operator": op, "weight_bits": wb,
                                               "act_bits": ab}})
        rows[op] = run(arch, assigned).layers[0]
    unused = lambda r: r.counts.macs_gated + r.counts.macs_skipped  # noqa: E731
    b = rows["binary"]
    assert unused(b) == 0 and b.counts.macs_performed == b.counts.macs
    assert b.ifmap_density == 1.0 and b.weight_density == 1.0
    bw = rows["binary_weight"]
    assert bw.weight_density == 1.0 and bw.ifmap_density == rows["int"].ifmap_density < 1
    assert 0 < unused(bw) < unused(rows["int"])
    sh = rows["shift"]
    assert sh.weight_density == rows["int"].weight_density < 1
    assert unused(sh) == unused(rows["int"])
    # the plain int run keeps using the trace's own zeros (its cache is not the binary one)
    again = run(arch, apply_assignment(tr, {"c": {"operator": "int", "weight_bits": 8,
                                                  "act_bits": 8}})).layers[0]
    assert again.counts.macs_performed == rows["int"].counts.macs_performed


@pytest.mark.parametrize("mode", ["gate", "skip"])
def test_mult_free_zeros_do_not_idle_the_adder(tmp_path, eyeriss_dict, mode):
    """AdderNet's -sum |x - w| still adds |w| for a zero x and |x| for a zero w:
    a mult_free layer gates and skips nothing on either operand, as on a dense
    arch, while its zeros still compress in DRAM as the int layer's do."""
    tr = make_trace(tmp_path / "z.npz", [conv_header("c", 1, 4, 6, 6, 4, 3, 3, pad=1)],
                    ifmap_zeros=0.5, weight_zeros=0.5)
    arch = _zero_arch(eyeriss_dict, mode)
    none = _zero_arch(eyeriss_dict, "none")
    mf = {"c": {"operator": "mult_free", "weight_bits": 8, "act_bits": 8}}
    r = run(arch, apply_assignment(tr, mf)).layers[0]
    dense = run(none, apply_assignment(tr, mf)).layers[0]
    assert r.counts.macs_gated == r.counts.macs_skipped == 0
    assert r.counts.macs_performed == r.counts.macs
    assert r.counts.cycles.tolist() == dense.counts.cycles.tolist()
    assert r.energy_pj == dense.energy_pj
    # the densities are the data's (storage sees the zeros)
    i8 = run(arch, apply_assignment(tr, {"c": {"operator": "int", "weight_bits": 8,
                                               "act_bits": 8}})).layers[0]
    assert r.ifmap_density == i8.ifmap_density < 1 and r.weight_density == i8.weight_density < 1
    assert i8.counts.macs_gated + i8.counts.macs_skipped > 0
    assert (r.counts.bytes_at(Level.DRAM, Tensor.IFMAP)
            == i8.counts.bytes_at(Level.DRAM, Tensor.IFMAP))


# ---- trace values against the declared layer ----------------------------------------

def _value_trace(tmp_path, *, x=None, w=None, name="v.npz", **head):
    """A one-layer trace (conv 2->2, 3x3 input, 2x2 filter) with given tensors."""
    h = conv_header("c", 1, 2, 3, 3, 2, 2, 2)
    h.update(head, tensors={"input": "x", "weight": "w"})
    x = np.ones((1, 2, 3, 3), np.int16) if x is None else x
    w = np.ones((2, 2, 2, 2), np.int16) if w is None else w
    from accelsim.workload.trace import read_trace, write_trace
    write_trace(tmp_path / name, network="t", batch=1, layers=[h], arrays={"x": x, "w": w})
    return read_trace(tmp_path / name)


def _w(*values, dtype=np.float64):
    w = np.resize(np.array(values, dtype=dtype), 16).reshape(2, 2, 2, 2)
    return w


@pytest.mark.parametrize("head, x, w, expected", [
    (dict(weight_bits=8, act_bits=8), None, _w(1, 300, dtype=np.int16),
     "layers(c).tensors.weight: value 300 does not fit weight_bits 8 (unsigned range 0..255)"),
    (dict(weight_bits=8, act_bits=8), None, _w(-3, 200, dtype=np.int16),
     "layers(c).tensors.weight: value 200 does not fit weight_bits 8 (signed range -128..127)"),
    (dict(weight_bits=8, act_bits=4), np.full((1, 2, 3, 3), 16, np.int16), None,
     "layers(c).tensors.input: value 16 does not fit act_bits 4 (unsigned range 0..15)"),
    (dict(weight_bits=8, act_bits=8), None, _w(1, 0.5),
     "layers(c).tensors.weight: value 0.5 is not an integer code"),
    (dict(operator="binary_weight", weight_bits=1, act_bits=8), None, _w(1, -1, 2),
     "layers(c).tensors.weight: value 1.0 is not +-2.0"),
    (dict(operator="binary_weight", weight_bits=1, act_bits=8), None, _w(1, -1, 0),
     "layers(c).tensors.weight: value 0.0 is not +-1.0"),
    (dict(operator="binary", weight_bits=1, act_bits=1),
     np.resize(np.array([2, -1], np.int16), (1, 2, 3, 3)), None,
     "layers(c).tensors.input: value -1 is not +-2 (two levels"),
    (dict(operator="shift", weight_bits=4, act_bits=8), None, _w(0.5, 0, 3),
     "layers(c).tensors.weight: value 3.0 is not 0 or +-2**e with e in -7..0"),
    (dict(operator="shift", weight_bits=4, act_bits=8), None, _w(0.5, 2),
     "layers(c).tensors.weight: value 2.0 is not 0 or +-2**e with e in -7..0"),
    (dict(operator="fp", weight_bits=16, act_bits=16), None, _w(1.5, 7e4),
     "layers(c).tensors.weight: value 70000.0 is not a finite fp16 value"),
])
def test_trace_values_must_fit_the_declared_layer(tmp_path, eyeriss_dict, head, x, w,
                                                  expected):
    d = _reconf_dict(eyeriss_dict)
    d["mac"]["operators"].update(binary_weight={"weight_bits": [1], "act_bits": [8]},
                                 fp={"weight_bits": [16], "act_bits": [16]},
                                 shift={"weight_bits": [4], "act_bits": [8]})
    d["mac"]["operators"]["int"]["act_bits"] = [4, 8]
    d["mac"]["kind"] = "bit_serial"
    arch = arch_from_dict(d, "<r>")
    trace = _value_trace(tmp_path, x=x, w=w, **head)
    with pytest.raises(accelsim.AccelsimError) as err:
        run(arch, trace)
    msg = str(err.value)
    assert msg.startswith(f"{trace.path}: ") and expected in msg, msg
    with pytest.raises(accelsim.AccelsimError, match="layers\\(c\\)"):
        accelsim.opcost(arch, trace)


@pytest.mark.parametrize("head, x, w", [
    (dict(weight_bits=8, act_bits=8), np.full((1, 2, 3, 3), 255, np.uint8), _w(-128, 127)),
    (dict(operator="binary_weight", weight_bits=1, act_bits=8), None, _w(-3, 3)),
    (dict(operator="binary", weight_bits=1, act_bits=1), np.zeros((1, 2, 3, 3), np.uint8),
     _w(1, 0, dtype=np.int8)),
    (dict(operator="binary", weight_bits=1, act_bits=1), -np.ones((1, 2, 3, 3), np.int8),
     _w(-1, 1, dtype=np.int8)),
    (dict(operator="shift", weight_bits=4, act_bits=8), None,
     _w(0, 1, -0.5, 2.0 ** -7, dtype=np.float32)),
])
def test_trace_values_that_fit_run(tmp_path, eyeriss_dict, head, x, w):
    d = _reconf_dict(eyeriss_dict)
    d["mac"]["operators"].update(binary_weight={"weight_bits": [1], "act_bits": [8]})
    d["mac"]["operators"]["int"]["weight_bits"] = [8]
    d["mac"]["operators"]["int"]["act_bits"] = [8]
    res = run(arch_from_dict(d, "<r>"), _value_trace(tmp_path, x=x, w=w, **head))
    assert res.layers[0].simulated


def test_an_assignment_is_a_what_if_on_the_declared_values(tmp_path, capsys):
    """16-bit data declared 16-bit runs as 8-bit layers on an 8-bit core: the
    values are checked against the trace's declaration, not the assignment."""
    trace = _value_trace(tmp_path, w=_w(-30000, 30000, dtype=np.int16))
    assign = tmp_path / "a.yaml"
    assign.write_text(yaml.safe_dump({"version": 1, "layers": {
        "c": {"operator": "int", "weight_bits": 8, "act_bits": 8}}}))
    assert main(["run", str(RECONF_YAML), trace.path, "--assign", str(assign)]) == 0
    # the assignment is an input of the run: the JSON report records it
    out = tmp_path / "r.json"
    assert main(["run", str(RECONF_YAML), trace.path, "--assign", str(assign), "--format",
                 "json", "--out", str(out)]) == 0
    import hashlib
    import json
    rec = json.loads(out.read_text())["assignment"]
    assert rec == {"path": str(assign), "sha256": hashlib.sha256(assign.read_bytes()).hexdigest(),
                   "layers": {"c": {"operator": "int", "weight_bits": 8, "act_bits": 8}}}
    bad = _value_trace(tmp_path, w=_w(-30000, 30000, dtype=np.int16), name="b.npz",
                       weight_bits=8, act_bits=8)
    assert main(["run", str(RECONF_YAML), bad.path]) == 2
    err = capsys.readouterr().err
    assert (f"{bad.path}: layers(c).tensors.weight: value -30000 does not fit weight_bits 8 "
            "(signed range -128..127) (the layer declares int with weight_bits 8, "
            "act_bits 8)") in err


# ---- area ------------------------------------------------------------------------------

def test_mac_array_area_is_reported(tiny_trace, capsys):
    from accelsim.energy.operators import mac_array_area_um2
    from accelsim.report.report import report_dict
    arch = accelsim.load_arch(RECONF_YAML)
    area = mac_array_area_um2(arch)
    # per-PE core (its costliest mode, +30% for reconfigurability) times the 168 PEs
    assert area == pytest.approx(168 * 1.3 * max(
        default_op_um2(o, w, a) for o, w, a in combos(arch.mac)))
    assert main(["check", str(RECONF_YAML)]) == 0
    out = capsys.readouterr().out
    assert (f"MAC area      {area / 1e6:.4g} mm^2 = 168 PEs x {core_area_um2(arch):.4g} um^2 "
            "(45 nm operator table x technology_area_scale 1, reconfigurability +30%") in out
    assigned = apply_assignment(tiny_trace, {n: {"operator": "int", "weight_bits": 8,
                                                 "act_bits": 8} for n in ("c1", "c2")})
    assert report_dict(run(arch, assigned))["arch"]["mac_array_area_um2"] == area
    table = accelsim.opcost(arch, tiny_trace)
    assert (table["mac_array_area_um2"] == area).all()
    assert main(["opcost", str(RECONF_YAML), tiny_trace.path]) == 0
    assert f"MAC array area: {area:,.0f} um^2" in capsys.readouterr().out


def test_readme_operator_example_runs(capsys):
    """The README's example: the shipped 16-bit LeNet-5 on the 8-bit
    reconfigurable core through the shipped assignment."""
    trace = ROOT / "workloads" / "lenet5_digits.npz"
    assign = ROOT / "workloads" / "lenet5_mixed.yaml"
    assert main(["run", str(RECONF_YAML), str(trace)]) == 2     # 16-bit layers, 8-bit core
    assert "is not supported by reconfigurable" in capsys.readouterr().err
    assert main(["run", str(RECONF_YAML), str(trace), "--assign", str(assign)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[0] == "layer" and "total" in out
    readme = (ROOT / "README.md").read_text()
    assert ("accelsim run arch_configs/reconfigurable.yaml workloads/lenet5_digits.npz "
            "--assign workloads/lenet5_mixed.yaml") in readme


def test_values_wider_than_their_bus_are_an_error(tiny_trace):
    """A bus moves whole values: a 16-bit activation on an 8-bit ifmap bus is
    not modeled, and says so before anything runs."""
    arch = accelsim.load_arch(EYERISS_YAML)
    narrow = dataclasses.replace(arch, noc=dataclasses.replace(arch.noc, ifmap_bus_bits=8))
    with pytest.raises(accelsim.AccelsimError,
                       match=r"noc.ifmap_bus_bits 8 cannot carry layer c1's 16-bit activations "
                             r"in one transfer \(values wider than their bus are not modeled\)"):
        run(narrow, tiny_trace)


def test_psum_bus_narrower_than_a_psum_is_a_config_error(eyeriss_dict):
    d = {**eyeriss_dict, "noc": {**eyeriss_dict["noc"], "psum_bus_bits": 8}}
    with pytest.raises(ConfigError, match=r"noc.psum_bus_bits: must be >= "
                                          r"scratchpads.psum.word_bits 16 \(got 8\)"):
        arch_from_dict(d, "a.yaml")


def test_multi_function_core_runs_fp_at_one_op_a_cycle(eyeriss_dict):
    """A core with one datapath per operator (int8 beside fp16) runs fp16 at
    macs_per_pe_per_cycle, narrower int modes no faster, and its area is the sum
    of its datapaths, not the largest one."""
    d = _reconf_dict(eyeriss_dict, kind="multi_function")
    d["mac"]["operators"] = {"int": {"weight_bits": [8, 4], "act_bits": [8, 4]},
                             "fp": {"weight_bits": [16], "act_bits": [16]}}
    arch = arch_from_dict(d, "a.yaml")
    assert combos(arch.mac) == [("int", 8, 8), ("int", 8, 4), ("int", 4, 8), ("int", 4, 4),
                                ("fp", 16, 16)]
    cycles = {}
    for op, bits in (("fp", 16), ("int", 8), ("int", 4)):
        layer = _layer(wb=bits, ab=bits, op=op)
        mp = mapping_from_row(candidates(layer, arch)[0][0], layer)
        c = simulate_layer(layer, arch, mp, first_layer=False, **_masks(layer))
        cycles[(op, bits)] = c.cycles[Cycle.COMPUTE]
        assert c.cycles[Cycle.COMPUTE] * c.active_pes >= c.macs_performed + c.macs_gated
    assert len({cycles[("int", 8)], cycles[("int", 4)]}) == 1  # no speed from narrower ints
    fp_alone = arch_from_dict({**d, "mac": {**d["mac"], "operators": {
        "fp": {"weight_bits": [16], "act_bits": [16]}}}}, "b.yaml")
    int_alone = arch_from_dict({**d, "mac": {**d["mac"], "operators": {
        "int": {"weight_bits": [8, 4], "act_bits": [8, 4]}}}}, "c.yaml")
    assert core_area_um2(arch) == pytest.approx(core_area_um2(fp_alone)
                                                + core_area_um2(int_alone))
    # a mode wider than the core is refused
    wide = {**d, "mac": {**d["mac"], "bits": 8}}
    with pytest.raises(ConfigError, match=r"mac.operators.fp.weight_bits: 16 exceeds the "
                                          r"core's bits 8"):
        arch_from_dict(wide, "d.yaml")
