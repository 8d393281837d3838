"""accelsim mask: input masks by magnitude and by isolation (accelsim.workload.mask)."""

from __future__ import annotations

import numpy as np
import pytest

import accelsim
from accelsim.bridge.graph import read_entries
from accelsim.cli import main
from accelsim.workload.mask import magnitude_keep, mask_trace
from accelsim.workload.sparsity import isolated, sporadic_degree
from accelsim.workload.synth import synth_trace
from conftest import ROOT

LENET = ROOT / "workloads" / "lenet5_digits.npz"


def test_isolated_are_the_values_the_sporadic_degree_counts():
    rng = np.random.default_rng(0)
    nz = (rng.random((2, 3, 9, 11)) < 0.2).astype(np.uint8)
    for window in (3, 5):
        iso = isolated(nz, window)
        assert iso.sum() / nz.sum() == pytest.approx(sporadic_degree(nz, window))
        # brute force: no other nonzero within window // 2 in both directions
        h = window // 2
        for n, c, y, x in zip(*np.nonzero(nz)):
            box = nz[n, c, max(y - h, 0):y + h + 1, max(x - h, 0):x + h + 1]
            assert iso[n, c, y, x] == (box.sum() == 1)
        # one pass leaves none: a dropped value was nobody's neighbour
        assert sporadic_degree(nz & ~iso, window) == 0.0


def test_magnitude_keep_keeps_the_largest_down_to_the_density():
    x = np.array([[0, 5, -7, 1], [3, 0, -3, 2]])
    keep = magnitude_keep(x, 0.5)  # floor(0.5 * 8) = 4 values
    assert keep.tolist() == [[False, True, True, False], [True, False, True, False]]
    assert magnitude_keep(x, 1.0).tolist() == (x != 0).tolist()  # no more than there are
    assert not magnitude_keep(x, 0.1).any()


def test_mask_command_on_a_bridge_trace_keeps_its_header_and_runs(tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert main(["mask", str(LENET), "--density", "0.3", "--drop-sporadic", "-o",
                 str(out)]) == 0
    printed = capsys.readouterr().out
    assert "conv1  density 0.728 -> 0.300" in printed and f"wrote {out}" in printed
    before, after = accelsim.read_trace(LENET), accelsim.read_trace(out)
    for layer in after.mac_layers:
        x = after.tensor(layer, "input")
        mask = after.tensor(layer, "input_mask")
        if layer.name in ("conv1", "conv2"):  # the layers with a neighbourhood
            kept = (x != 0) & (mask != 0)
            assert kept.sum() <= np.floor(0.3 * x.size)
            assert sporadic_degree(kept) == 0.0
        else:
            assert mask is None
        assert np.array_equal(x, before.tensor(layer, "input"))  # the data is untouched
    old, _ = read_entries(LENET)
    new, arrays = read_entries(out)
    for name, entry in old.items():  # the bridge's keys survive (scales, bias)
        assert {k: v for k, v in new[name].items() if k != "tensors"} == \
            {k: v for k, v in entry.items() if k != "tensors"}
        if "bias" in entry:
            assert entry["bias"] in arrays
    assert main(["run", str(ROOT / "arch_configs" / "eyeriss_v2.yaml"), str(out)]) == 0


def test_density_masking_keeps_the_largest_magnitudes(tmp_path):
    out = tmp_path / "m.npz"
    done = mask_trace(accelsim.read_trace(LENET), str(out), density=0.25)
    trace = accelsim.read_trace(out)
    for layer, d in zip(trace.mac_layers, done):
        x = np.abs(trace.tensor(layer, "input").astype(np.int64))
        mask = trace.tensor(layer, "input_mask")
        kept, dropped = (x != 0) & (mask != 0), (x != 0) & (mask == 0)
        assert kept.sum() == np.floor(0.25 * x.size) == round(d.density_after * x.size)
        assert x[kept].min() >= x[dropped].max()
        assert d.dropped == dropped.sum()


def test_magnitude_keep_breaks_ties_in_c_order():
    assert magnitude_keep(np.array([[3, -3], [3, 3]]), 0.5).tolist() == [[True, True],
                                                                          [False, False]]


def test_density_ranks_what_an_earlier_mask_kept(tmp_path):
    """A second pass at the density the first left drops nothing: it ranks the
    masked input, not the values the first pass dropped."""
    synth, first, second = tmp_path / "s.npz", tmp_path / "a.npz", tmp_path / "b.npz"
    synth_trace("lenet5", str(synth), batch=2, ifmap_zeros="0.7")
    d1 = mask_trace(accelsim.read_trace(synth), str(first), layers=["conv2"],
                    drop_sporadic=True)[0]
    assert d1.dropped > 0
    d2 = mask_trace(accelsim.read_trace(first), str(second), layers=["conv2"],
                    density=d1.density_after)[0]
    assert d2.dropped == 0 and d2.density_after == d1.density_after


def test_a_1x1_input_has_no_neighbourhood_to_drop_from(tmp_path):
    from accelsim.workload.trace import write_trace

    rng = np.random.default_rng(0)
    head = {"name": "se", "kind": "conv2d", "input_shape": [2, 8, 1, 1], "out_channels": 4,
            "kernel": [1, 1], "stride": [1, 1], "padding": [0, 0], "activation": "relu",
            "tensors": {"input": "x", "weight": "w", "output": "y"}}
    path = tmp_path / "se.npz"
    write_trace(path, network="se", batch=2, layers=[head],
                arrays={"x": rng.integers(1, 9, (2, 8, 1, 1)).astype(np.int16),
                        "w": rng.integers(-9, 9, (4, 8, 1, 1)).astype(np.int16),
                        "y": rng.integers(0, 9, (2, 4, 1, 1)).astype(np.int16)})
    trace = accelsim.read_trace(path)
    with pytest.raises(accelsim.AccelsimError, match=r"layers\.se: a conv2d layer's input "
                                                     r"\[8, 1, 1\] has no spatial"):
        mask_trace(trace, str(tmp_path / "m.npz"), layers=["se"], drop_sporadic=True)
    with pytest.raises(accelsim.AccelsimError, match="no MAC layer to mask .none has a spatial"):
        mask_trace(trace, str(tmp_path / "m.npz"), drop_sporadic=True)


def test_masking_a_masked_trace_keeps_the_first_masks_drops(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    synth = tmp_path / "s.npz"
    synth_trace("lenet5", str(synth), batch=2, ifmap_zeros="0.8")
    mask_trace(accelsim.read_trace(synth), str(first), layers=["conv2"], density=0.1)
    done = mask_trace(accelsim.read_trace(first), str(second), layers=["conv2"],
                      drop_sporadic=True)
    a, b = accelsim.read_trace(first), accelsim.read_trace(second)
    layer = next(x for x in b.mac_layers if x.name == "conv2")
    m1, m2 = a.tensor(layer, "input_mask"), b.tensor(layer, "input_mask")
    assert not (m2 & ~m1).any()  # nothing dropped comes back
    assert done[0].density_before == pytest.approx(
        np.count_nonzero((b.tensor(layer, "input") != 0) & (m1 != 0)) / m1.size)
    assert set(b.arrays) == set(a.arrays)  # the mask is replaced in place


@pytest.mark.parametrize("argv, expected", [
    (["--density", "0.5", "--layers", "nope"], "layers.nope: no such layer"),
    (["--drop-sporadic", "--layers", "fc1"],
     "layers.fc1: a linear layer's input [400] has no spatial neighbourhood"),
    ([], "mask: nothing to do: give --density, --drop-sporadic or both"),
    (["--density", "1.5"], "--density: must be in [0, 1] (got 1.5)"),
    (["--drop-sporadic", "--window", "4"], "--window: must be odd, from 3 to 63 (got 4)"),
    (["--drop-sporadic", "--window", "99999"],
     "--window: must be odd, from 3 to 63 (got 99999)"),
    (["--density", "0.5", "--layers", "conv1,conv1"], "--layers: a layer is named twice"),
])
def test_mask_bad_input_exits_2_on_one_line(tmp_path, capsys, argv, expected):
    out = tmp_path / "m.npz"
    assert main(["mask", str(LENET), *argv, "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_write_trace_refuses_a_header_naming_an_array_it_was_not_given(tmp_path):
    from accelsim.errors import TraceError
    from accelsim.workload.trace import trace_to_headers, write_trace

    trace = accelsim.read_trace(LENET)
    heads = trace_to_headers(trace)
    heads[0]["bias"] = "missing.bias"
    with pytest.raises(TraceError, match=r"layers\[0\]\(conv1\)\.bias: array 'missing.bias' "
                                         r"not given"):
        write_trace(tmp_path / "x.npz", network="n", batch=trace.batch, layers=heads,
                    arrays=dict(trace.arrays))
    assert not (tmp_path / "x.npz").exists()
