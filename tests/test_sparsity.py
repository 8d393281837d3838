"""Issue 4: zero gating and skipping, formats, sporadic values, masks, N:M, dense baseline."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accelsim
from accelsim.cli import main
from accelsim.enums import Cycle, Level, Tensor
from accelsim.report.report import report_frame
from accelsim.run import run, run_layer
from accelsim.spec.load import arch_from_dict
from accelsim.workload.layer import layer_from_header
from accelsim.workload.reference import layer_output
from accelsim.workload.sparsity import nm_mask, sporadic_degree
from accelsim.workload.trace import read_trace, write_trace
from conftest import ROOT, conv_header, make_trace, tiny_arch_dict

SETTINGS = dict(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _arch(base, ifmap="none", weight="none", fmt="none", burst=0, **kw):
    d = tiny_arch_dict(base, **kw)
    d["sparsity"] = {"ifmap": ifmap, "weight": weight}
    d["dram"].update(ifmap_compression=fmt, ofmap_compression=fmt, weight_compression=fmt,
                     compress_first_layer_input=True, burst_bytes=burst)
    return arch_from_dict(d, "<tiny>")


@st.composite
def headers(draw):
    r = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    return conv_header("c", draw(st.integers(1, 2)), groups * draw(st.integers(1, 3)),
                       draw(st.integers(r, 7)), draw(st.integers(r, 7)),
                       groups * draw(st.integers(1, 4)), r, r, stride=draw(st.integers(1, 2)),
                       pad=draw(st.integers(0, r - 1)), groups=groups)


@settings(**SETTINGS)
@given(head=headers(), xz=st.sampled_from([0.0, 0.5, 0.9]), wz=st.sampled_from([0.0, 0.5]),
       seed=st.integers(0, 50))
def test_performed_macs_are_the_nonzero_pairs(tmp_path, eyeriss_dict, head, xz, wz, seed):
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=xz, weight_zeros=wz, seed=seed)
    layer = tr.layers[0]
    x, w = tr.tensor(layer, "input"), tr.tensor(layer, "weight")
    # nonzero operand pairs on real input, by a direct numpy convolution of the masks
    plain = layer_from_header({**head, "activation": "none"}, 0)[0]
    pairs = int(round(layer_output(plain, (x != 0).astype(float), (w != 0).astype(float)).sum()))
    res = run_layer(layer, tr, _arch(eyeriss_dict, "skip", "skip"), first_layer=False)
    assert res.counts.macs_performed == pairs
    assert res.counts.macs_performed + res.counts.macs_skipped == res.counts.macs


def test_all_zero_ifmap_under_skipping_performs_nothing(tmp_path, eyeriss_dict):
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 2, 6, 6, 3, 3, 3, pad=1)],
                    ifmap_zeros=1.0)
    for weight in ("none", "gate", "skip"):
        c = run_layer(tr.layers[0], tr, _arch(eyeriss_dict, "skip", weight),
                      first_layer=False).counts
        assert (c.macs_performed, c.macs_gated, c.macs_skipped) == (0, 0, c.macs)
        assert c.cycle(Cycle.COMPUTE) == 0 and c.pe_busy_max_cycles == 0
        assert c.words[Level.SPAD, Tensor.WEIGHT, 0] == 0


@settings(**SETTINGS)
@given(head=headers(), seed=st.integers(0, 50),
       operand=st.sampled_from(["ifmap", "weight", "both"]))
def test_gating_keeps_cycles_skipping_never_adds_any(tmp_path, eyeriss_dict, head, seed, operand):
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.5, weight_zeros=0.5, seed=seed)
    layer = tr.layers[0]
    modes = lambda m: {"ifmap": m if operand in ("ifmap", "both") else "none",  # noqa: E731
                       "weight": m if operand in ("weight", "both") else "none"}
    base = run_layer(layer, tr, _arch(eyeriss_dict), first_layer=False)
    mp = base.mapping.mapping
    gate = run_layer(layer, tr, _arch(eyeriss_dict, **modes("gate")), first_layer=False,
                     mapping=mp)
    skip = run_layer(layer, tr, _arch(eyeriss_dict, **modes("skip")), first_layer=False,
                     mapping=mp)
    assert np.array_equal(gate.counts.cycles, base.counts.cycles)
    assert gate.energy_pj["total"] <= base.energy_pj["total"]
    for cause in (Cycle.TOTAL, Cycle.PROCESSING, Cycle.COMPUTE):
        assert skip.counts.cycle(cause) <= base.counts.cycle(cause)
    assert skip.energy_pj["total"] <= gate.energy_pj["total"]
    assert skip.counts.pe_busy_max_cycles >= skip.counts.pe_busy_mean_cycles


def test_load_imbalance_from_real_sparsity(tmp_path, eyeriss_dict):
    """Zeros bunched in some channels leave the PEs holding the others busiest."""
    head = conv_header("c", 1, 4, 6, 6, 4, 1, 1)
    tr = make_trace(tmp_path / "t.npz", [head])
    x = tr.tensor(tr.layers[0], "input").copy()
    x[:, 2:] = 0  # channels 2, 3 all zero
    layers = [dict(head, tensors={"input": "x", "weight": "w"})]
    write_trace(tmp_path / "u.npz", network="t", batch=1, layers=layers,
                arrays={"x": x, "w": tr.tensor(tr.layers[0], "weight")})
    tr2 = read_trace(tmp_path / "u.npz")
    arch = _arch(eyeriss_dict, "skip", rows=4, cols=4)
    from accelsim.mapping.rowstationary import Mapping
    mp = Mapping(e=6, p=1, q=1, r=4, t=1, gp=1, m=4, n=1, segments=2, r_rows=1)
    c = run_layer(tr2.layers[0], tr2, arch, first_layer=False, mapping=mp).counts
    assert c.load_imbalance == pytest.approx(2.0)   # half the sets idle: max = 2 x mean
    df = report_frame(run(arch, tr2))
    assert df.loc[0, "load_imbalance"] >= 1.0


def _clustered_and_sporadic(n_nonzero=32):
    """Two 1x1x16x16 ifmaps with the same density: one 4x8 block, or isolated values."""
    a = np.zeros((1, 1, 16, 16), np.int16)
    a[0, 0, 4:8, 2:10] = 7
    b = np.zeros((1, 1, 16, 16), np.int16)
    pos = [(2 * i + (j % 2), 2 * j) for i in range(8) for j in range(8)][:n_nonzero]
    for i, j in pos:
        b[0, 0, i % 16, j % 16] = 7
    assert np.count_nonzero(a) == np.count_nonzero(b) == n_nonzero
    return a, b


def test_sporadic_degree_definition():
    a, b = _clustered_and_sporadic()
    assert sporadic_degree(a) == 0.0
    assert sporadic_degree(b) > 0.5
    lone = np.zeros((1, 1, 5, 5))
    lone[0, 0, 2, 2] = 1
    assert sporadic_degree(lone) == 1.0
    lone[0, 0, 3, 3] = 1  # a diagonal neighbour counts
    assert sporadic_degree(lone) == 0.0
    lone[0, 0, 3, 3], lone[0, 0, 4, 4] = 0, 1
    assert sporadic_degree(lone, 3) == 1.0 and sporadic_degree(lone, 5) == 0.0
    assert np.isnan(sporadic_degree(np.ones((2, 3, 1, 1))))
    with pytest.raises(ValueError):
        sporadic_degree(lone, 4)


@pytest.mark.parametrize("fmt, burst", [("block", 0), ("block", 32), ("rlc", 32)])
def test_same_density_different_sporadic_degree_moves_different_bytes(tmp_path, eyeriss_dict,
                                                                        fmt, burst):
    """Same density, different arrangement, different bytes. Under a block
    format isolated values pay for whole blocks; under RLC it is the other way
    round (clustered values leave long zero runs, which cost extra pairs)."""
    a, b = _clustered_and_sporadic()
    head = conv_header("c", 1, 1, 16, 16, 1, 1, 1)
    arch = _arch(eyeriss_dict, fmt=fmt, burst=burst, rows=16, cols=16, banks=8, bank=1024)
    from accelsim.mapping.rowstationary import Mapping
    # strips of 2 rows: each DRAM tile is a 2-row band, as small as one burst or block
    mp = Mapping(e=2, p=1, q=1, r=1, t=1, gp=1, m=1, n=1, segments=1, r_rows=1)
    moved = {}
    for name, x in (("clustered", a), ("sporadic", b)):
        write_trace(tmp_path / f"{name}.npz", network="t", batch=1,
                    layers=[dict(head, tensors={"input": "x", "weight": "w"})],
                    arrays={"x": x, "w": np.ones((1, 1, 1, 1), np.int16)})
        tr = read_trace(tmp_path / f"{name}.npz")
        res = run_layer(tr.layers[0], tr, arch, first_layer=False, mapping=mp)
        assert res.ifmap_density == pytest.approx(32 / 256)
        moved[name] = res.counts.bytes_at(Level.DRAM, Tensor.IFMAP)
    assert moved["sporadic"] != moved["clustered"]
    if fmt == "block":
        assert moved["sporadic"] > moved["clustered"]


def test_input_mask_is_applied_and_reported(tmp_path, eyeriss_dict):
    head = conv_header("c", 1, 2, 8, 8, 2, 3, 3, pad=1)
    tr = make_trace(tmp_path / "t.npz", [head], ifmap_zeros=0.2)
    layer = tr.layers[0]
    x, w = tr.tensor(layer, "input"), tr.tensor(layer, "weight")
    mask = np.zeros_like(x, dtype=np.uint8)
    mask[:, :, :4, :] = 1  # keep the top half
    write_trace(tmp_path / "m.npz", network="t", batch=1,
                layers=[dict(head, tensors={"input": "x", "weight": "w", "input_mask": "m"})],
                arrays={"x": x, "w": w, "m": mask})
    trm = read_trace(tmp_path / "m.npz")
    arch = _arch(eyeriss_dict, "skip")
    res = run(arch, trm).layers[0]
    assert res.ifmap_density_before_mask == pytest.approx(np.count_nonzero(x) / x.size)
    assert res.ifmap_density == pytest.approx(np.count_nonzero(x * mask) / x.size)
    assert res.ifmap_sporadic_degree_before_mask == pytest.approx(sporadic_degree(x != 0))
    unmasked = run(arch, tr).layers[0]
    assert res.counts.macs_performed < unmasked.counts.macs_performed
    # no recorded output: computed from the masked input (tests/test_masking.py)
    assert res.output_recomputed_under_mask is True
    assert unmasked.output_recomputed_under_mask is None
    df = report_frame(run(arch, trm))
    for col in ("ifmap_density_before_mask", "ifmap_sporadic_degree_before_mask",
                "ifmap_density", "ifmap_sporadic_degree", "output_recomputed_under_mask"):
        assert col in df


def test_nm_pattern_groups_input_channels(tmp_path):
    """N:M groups M consecutive input channels at one (k, r, s), as NVIDIA ASP."""
    mask = nm_mask((4, 8, 3, 3), 2, 4, np.random.default_rng(0))
    per_group = mask.reshape(4, 2, 4, 3, 3).sum(axis=2)  # (k, group, r, s)
    assert (per_group == 2).all()
    lin = nm_mask((5, 12), 1, 4, np.random.default_rng(1))
    assert (lin.reshape(5, 3, 4).sum(axis=2) == 1).all()
    # the mask differs across taps: groups are not runs of the flattened C*R*S axis
    assert not (mask[:, :, 0, 0] == mask[:, :, 1, 1]).all()


def test_nm_pattern_partial_last_group(tmp_path):
    """C not a multiple of M: the last group of C mod M channels keeps min(N, C mod M)."""
    mask = nm_mask((6, 7, 2, 2), 2, 4, np.random.default_rng(0))
    assert (mask[:, :4].sum(axis=1) == 2).all()   # a full group of 4 keeps 2
    assert (mask[:, 4:].sum(axis=1) == 2).all()   # the last group of 3 keeps 2
    one = nm_mask((6, 5, 1, 1), 2, 4, np.random.default_rng(0))
    assert one[:, 4].all()                        # a last group of 1 keeps its 1
    first = nm_mask((8, 3, 5, 5), 2, 4, np.random.default_rng(0))  # RGB: one group of 3
    assert (first.sum(axis=1) == 2).all()


def test_synth_nm_trace(tmp_path):
    path = tmp_path / "l.npz"
    assert main(["synth", "lenet5", "--weight-pattern", "1:4", "-o", str(path)]) == 0
    tr = read_trace(path)
    w = tr.tensor(tr.mac_layers[1], "weight")          # conv2: [16, 6, 5, 5]
    assert (np.count_nonzero(w[:, :4], axis=1) == 1).all()
    assert (np.count_nonzero(w[:, 4:], axis=1) == 1).all()
    fc = tr.tensor(tr.mac_layers[2], "weight")         # fc1: [120, 400]
    assert (np.count_nonzero(fc.reshape(120, 100, 4), axis=2) == 1).all()
    # --weight-zeros equal to the pattern's implied fraction is accepted, and changes nothing
    again = tmp_path / "m.npz"
    assert main(["synth", "lenet5", "--weight-pattern", "1:4", "--weight-zeros", "0.75",
                 "-o", str(again)]) == 0
    tr2 = read_trace(again)
    for a, b in zip(tr.mac_layers, tr2.mac_layers):
        assert np.array_equal(tr.tensor(a, "weight"), tr2.tensor(b, "weight"))


@pytest.mark.parametrize("argv, expected", [
    (["synth", "lenet5", "--weight-pattern", "5:4", "-o", "x.npz"],
     "--weight-pattern: must be 'random' or N:M with 0 < N <= M (got '5:4')"),
    (["synth", "lenet5", "--weight-pattern", "2:4", "--weight-zeros", "0.3", "-o", "x.npz"],
     "--weight-zeros: the pattern 2:4 implies a weight zero fraction of 0.5 (got 0.3)"),
    (["synth", "lenet5", "--weight-pattern", "1:4", "--weight-zeros", "conv2=0.5", "-o",
      "x.npz"], "--weight-zeros: the pattern 1:4 implies a weight zero fraction of 0.75 "
                "(got 0.5)"),
])
def test_synth_pattern_errors(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_dense_baseline_columns(tmp_path, eyeriss_dict, capsys):
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 4, 8, 8, 4, 3, 3, pad=1)],
                    ifmap_zeros=0.7, weight_zeros=0.5)
    arch = _arch(eyeriss_dict, "skip", "skip", fmt="csc")
    df = report_frame(run(arch, tr, dense_baseline=True))
    row = df.iloc[0]
    assert row["speedup"] == pytest.approx(row["dense_cycles"] / row["cycles"])
    assert row["energy_saving"] == pytest.approx(
        1 - row["energy_pj_total"] / row["dense_energy_pj_total"])
    assert row["speedup"] > 1.0 and row["energy_saving"] > 0.0
    from accelsim.report.report import format_table, report_rows
    table = format_table(report_rows(run(arch, tr, dense_baseline=True))).splitlines()
    assert table[0].split()[-3:] == ["speedup", "energy", "saved"]
    assert table[1].split()[-2:] == [f"{row['speedup']:.2f}x", f"{row['energy_saving']:.1%}"]
    d = tiny_arch_dict(eyeriss_dict)
    bad = tmp_path / "a.yaml"
    import yaml
    bad.write_text(yaml.safe_dump(d))
    assert main(["run", str(bad), str(tmp_path / "t.npz"), "--sporadic-window", "4"]) == 2
    assert "--sporadic-window: must be odd, from 3 to 63 (got 4)" in capsys.readouterr().err


def test_glb_compression_moves_coded_bits_through_glb_and_noc(tmp_path, eyeriss_dict):
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 4, 8, 8, 4, 3, 3, pad=1)],
                    ifmap_zeros=0.8, weight_zeros=0.7)
    layer = tr.layers[0]
    dense = _arch(eyeriss_dict, fmt="csc")
    d = tiny_arch_dict(eyeriss_dict)
    d["dram"].update(ifmap_compression="csc", ofmap_compression="csc", weight_compression="csc",
                     compress_first_layer_input=True)
    d["glb"].update(ifmap_compression="csc", weight_compression="csc")
    d["sparsity"] = {"ifmap": "none", "weight": "none"}
    coded = arch_from_dict(d, "<tiny>")
    a = run_layer(layer, tr, dense, first_layer=False)
    b = run_layer(layer, tr, coded, first_layer=False, mapping=a.mapping.mapping)
    for level in (Level.GLB, Level.NOC):
        for tensor in (Tensor.IFMAP, Tensor.WEIGHT):
            assert 0 < b.counts.bytes_at(level, tensor) < a.counts.bytes_at(level, tensor)
        assert b.counts.bytes_at(level, Tensor.PSUM) == a.counts.bytes_at(level, Tensor.PSUM)
    assert np.array_equal(b.counts.words, a.counts.words)  # the same accesses, fewer bits
    assert b.energy_pj["glb"] < a.energy_pj["glb"]


def test_eyeriss_v2_runs_sparse_faster_than_dense(tmp_path):
    arch = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v2.yaml")
    assert (arch.pe_array.pes, arch.mac.bits, arch.mac.macs_per_pe_per_cycle) == (192, 8, 2)
    assert arch.psum_spad.word_bits == 20
    assert (arch.sparsity.ifmap, arch.sparsity.weight) == ("skip", "skip")
    path = tmp_path / "l.npz"
    main(["synth", "lenet5", "--batch", "2", "--ifmap-zeros", "0.6", "--weight-pattern", "2:4",
          "-o", str(path)])
    df = report_frame(run(arch, read_trace(path), dense_baseline=True))
    total = df.iloc[-1]
    assert total["speedup"] > 1.0 and total["energy_saving"] > 0.0
    assert 0 < total["utilization"] <= 1.0


def test_dense_baseline_is_dense_in_every_level(tmp_path):
    """The baseline turns GLB compression off too: on Eyeriss v2 (CSC in the
    GLB and into the PE) it moves exactly what the chip with every sparsity
    feature off moves, through the GLB and the NoC as well as DRAM."""
    import dataclasses

    from accelsim.run import dense_arch
    from accelsim.spec.arch import SparsitySpec
    v2 = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v2.yaml")
    d = dense_arch(v2)
    assert (d.glb.ifmap_compression, d.glb.weight_compression) == ("none", "none")
    assert (d.dram.ifmap_compression, d.dram.ofmap_compression,
            d.dram.weight_compression) == ("none", "none", "none")
    assert (d.sparsity.ifmap, d.sparsity.weight) == ("none", "none")
    by_hand = dataclasses.replace(
        v2, sparsity=SparsitySpec(),
        glb=dataclasses.replace(v2.glb, ifmap_compression="none", weight_compression="none"),
        dram=dataclasses.replace(v2.dram, ifmap_compression="none", ofmap_compression="none",
                                 weight_compression="none"))
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 8, 8, 8, 8, 3, 3, pad=1)],
                    ifmap_zeros=0.7, weight_zeros=0.5)
    res = run_layer(tr.layers[0], tr, v2, first_layer=False, dense_baseline=True)
    ref = run_layer(tr.layers[0], tr, by_hand, first_layer=False)
    for level in (Level.DRAM, Level.GLB, Level.NOC):
        for tensor in Tensor:
            assert res.dense.counts.bytes_at(level, tensor) == ref.counts.bytes_at(level, tensor)
    assert res.dense.energy_pj["total"] == ref.energy_pj["total"]
    assert res.counts.bytes_at(Level.GLB, Tensor.WEIGHT) < ref.counts.bytes_at(Level.GLB,
                                                                              Tensor.WEIGHT)


def _masked_trace(tmp_path, mask, *, extra_layers=(), name="m.npz"):
    head = conv_header("c", 1, 2, 8, 8, 2, 3, 3, pad=1)
    tr = make_trace(tmp_path / "base.npz", [head], ifmap_zeros=0.2)
    layer = tr.layers[0]
    arrays = {"x": tr.tensor(layer, "input"), "w": tr.tensor(layer, "weight"), "m": mask}
    layers = [dict(head, tensors={"input": "x", "weight": "w", "input_mask": "m"})]
    for extra in extra_layers:
        layers.append(extra)
        arrays.update({v: np.ones(extra["input_shape"], np.uint8)
                       for v in extra.get("tensors", {}).values()})
    write_trace(tmp_path / name, network="t", batch=1, layers=layers, arrays=arrays)
    return tmp_path / name


def test_input_mask_must_be_binary(tmp_path, eyeriss_dict, capsys):
    mask = np.ones((1, 2, 8, 8))
    mask[0, 1, 3, 4] = 0.5
    path = _masked_trace(tmp_path, mask)
    with pytest.raises(accelsim.AccelsimError,
                       match=r"m\.npz: layers\(c\)\.tensors\.input_mask: must hold only 0 "
                             r"\(drop\) and 1 \(keep\) \(got 0\.5\)"):
        run(_arch(eyeriss_dict), read_trace(path))
    arch = tmp_path / "a.yaml"
    import yaml
    arch.write_text(yaml.safe_dump(tiny_arch_dict(eyeriss_dict)))
    assert main(["run", str(arch), str(path)]) == 2
    err = capsys.readouterr().err
    assert "layers(c).tensors.input_mask: must hold only 0" in err and err.count("\n") == 1
    # a boolean or 0/1 mask of any dtype is fine
    run(_arch(eyeriss_dict), read_trace(_masked_trace(tmp_path, mask >= 1, name="ok.npz")))


def test_input_mask_on_a_non_mac_layer_is_rejected(tmp_path, eyeriss_dict):
    pool = {"name": "pool", "kind": "maxpool", "input_shape": [1, 2, 8, 8],
            "output_shape": [1, 2, 4, 4], "tensors": {"input_mask": "pm"}}
    path = _masked_trace(tmp_path, np.ones((1, 2, 8, 8), np.uint8), extra_layers=[pool])
    with pytest.raises(accelsim.AccelsimError,
                       match=r"layers\(pool\)\.tensors\.input_mask: masks apply to "
                             r"conv2d/linear inputs \(got a mask on a maxpool layer\)"):
        run(_arch(eyeriss_dict), read_trace(path))


def test_input_mask_of_the_wrong_shape_is_rejected(tmp_path):
    path = _masked_trace(tmp_path, np.ones((1, 2, 8, 7), np.uint8))
    with pytest.raises(accelsim.AccelsimError,
                       match=r"m\.npz: layers\(c\)\.tensors\.input_mask: shape \[1, 2, 8, 7\] "
                             r"does not match the layer \(expected \[1, 2, 8, 8\]\)"):
        read_trace(path)


def test_json_keeps_an_undefined_sporadic_degree_as_null(tmp_path, eyeriss_dict):
    import json

    from accelsim.report.report import write_report
    fc = {"name": "fc", "kind": "linear", "input_shape": [2, 32], "out_features": 8,
          "weight_bits": 16, "act_bits": 16, "operator": "int", "activation": "none"}
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 2, 2, 4, 4, 2, 1, 1), fc],
                    ifmap_zeros=0.5)
    text = write_report(run(_arch(eyeriss_dict), tr), "json", None)

    def no_nan(token):
        raise AssertionError(f"non-JSON literal {token}")
    layers = {r["name"]: r for r in json.loads(text, parse_constant=no_nan)["layers"]}
    assert layers["fc"]["ifmap_sporadic_degree"] is None
    assert isinstance(layers["c"]["ifmap_sporadic_degree"], float)
    assert isinstance(layers["fc"]["ifmap_density"], float)


def test_totals_sum_simulated_layers_and_name_unmapped_ones(tmp_path, eyeriss):
    """A 13x13 filter does not fit Eyeriss's 12-value ifmap scratchpad: that
    layer is not in the totals, and the table says which layer it is and why."""
    from accelsim.report.report import format_table, report_dict, report_rows
    big = conv_header("big", 1, 3, 20, 20, 4, 13, 13)
    small = conv_header("small", 1, 4, 8, 8, 4, 3, 3)
    tr = make_trace(tmp_path / "t.npz", [big, small])
    rows = report_rows(run(eyeriss, tr))
    by_name = {r["name"]: r for r in rows}
    assert not by_name["big"]["simulated"] and by_name["small"]["simulated"]
    total = by_name["total"]
    assert total["macs"] == by_name["small"]["macs"] == tr.layers[1].macs
    assert total["macs_performed"] == by_name["small"]["macs_performed"]
    assert (total["unmapped_layers"], total["unmapped_macs"]) == (1, tr.layers[0].macs)
    last = format_table(rows).splitlines()[-1]
    assert last == (f"not simulated, no mapping: 1 MAC layer with {tr.layers[0].macs:,} MACs, "
                    f"not in the total: big ({by_name['big']['reason']})")
    assert "filter width 13 exceeds the ifmap scratchpad's 12 16-bit values" in last
    assert report_dict(run(eyeriss, tr))["total"]["unmapped_macs"] == tr.layers[0].macs


def test_pe_utilization_counts_gated_slots_as_busy(tmp_path, eyeriss_dict):
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 4, 8, 8, 4, 3, 3, pad=1)],
                    ifmap_zeros=0.6)
    for mode in ("gate", "skip"):
        rows = report_frame(run(_arch(eyeriss_dict, mode), tr))
        for _, r in rows.iterrows():   # the layer, then the total
            assert r["utilization"] == pytest.approx(r["macs_performed"] / r["peak_macs"])
            assert r["pe_utilization"] == pytest.approx(
                (r["macs_performed"] + r["macs_gated"]) / r["peak_macs"])
            assert 0 < r["utilization"] <= r["pe_utilization"] <= 1
            if mode == "gate":
                assert r["macs_gated"] > 0 and r["pe_utilization"] > r["utilization"]
            else:
                assert r["pe_utilization"] == r["utilization"]
