"""What an input mask does to a layer's output (accelsim.workload.masking, accelsim.run):
a mask that drops nothing changes nothing; on a bridge trace the output the mask
reaches is recomputed as the bridge made it; a synthetic trace keeps its output."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import accelsim
from accelsim.bridge.graph import dequantize_layer, read_entries
from accelsim.report.report import report_rows
from accelsim.run import run, run_layer
from accelsim.workload.masking import output_nonzero
from accelsim.workload.reference import layer_output
from accelsim.workload.synth import synth_trace
from accelsim.workload.trace import read_trace, trace_to_headers, write_trace
from conftest import ROOT

LENET = ROOT / "workloads" / "lenet5_digits.npz"
SQUEEZENET = ROOT / "workloads" / "squeezenet_digits.npz"
EYERISS_V2 = ROOT / "arch_configs" / "eyeriss_v2.yaml"
MASK_COLUMNS = ("ifmap_density_before_mask", "ifmap_sporadic_degree_before_mask",
                "output_recomputed_under_mask")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The defect report's synthetic trace: LeNet-5, 80% input zeros, 8 bits."""
    path = tmp_path_factory.mktemp("synth") / "l5s.npz"
    synth_trace("lenet5", str(path), batch=4, ifmap_zeros="0.8", weight_bits=8, act_bits=8)
    return read_trace(path)


def _with_masks(trace, path, masks: dict[str, np.ndarray]):
    """``trace`` written again with ``masks`` (layer name -> mask) as input masks."""
    headers, arrays = trace_to_headers(trace), dict(trace.arrays)
    for head in headers:
        if head["name"] in masks:
            key = f"{head['name']}.input_mask"
            arrays[key] = masks[head["name"]]
            head["tensors"]["input_mask"] = key
    write_trace(path, network=trace.network, batch=trace.batch, layers=headers, arrays=arrays)
    return read_trace(path)


def _requantized(layer, d: dict, output_scale: float) -> np.ndarray:
    """The bridge's arithmetic on dequantized tensors (tests/test_workloads.py
    ``reference``), rounded at the output's scale: the output codes."""
    y = layer_output(dataclasses.replace(layer, activation="none"), d["input"], d["weight"])
    y = y + d["bias"].reshape((1, -1) + (1,) * (y.ndim - 2))
    if layer.activation == "relu":
        y = np.maximum(y, 0)
    return np.rint(y / output_scale)


def _same_rows(a, b):
    """Every count and energy of two runs' reports, layer by layer, alike."""
    rows_a, rows_b = report_rows(a), report_rows(b)
    assert [r["name"] for r in rows_a] == [r["name"] for r in rows_b]
    for ra, rb in zip(rows_a, rows_b):
        ra = {k: v for k, v in ra.items() if k not in MASK_COLUMNS}
        rb = {k: v for k, v in rb.items() if k not in MASK_COLUMNS}
        assert ra.keys() == rb.keys(), ra["name"]
        for key in ra:
            assert ra[key] == rb[key] or ra[key] != ra[key] and rb[key] != rb[key], \
                (ra["name"], key, ra[key], rb[key])  # NaN == NaN here
    for la, lb in zip(a.layers, b.layers):
        if la.simulated:
            for f in dataclasses.fields(la.counts):
                assert np.array_equal(getattr(la.counts, f.name), getattr(lb.counts, f.name))
            assert la.energy_pj == lb.energy_pj


@pytest.mark.parametrize("kind", ["synthetic", "bridge"])
def test_a_mask_that_keeps_everything_changes_nothing(kind, synthetic, tmp_path):
    """All-ones masks on every MAC layer: every count and energy as without them
    (the old run recomputed the output as raw sums without bias or requantization:
    the defect report's conv2 went from 2,405 to 2,453 cycles)."""
    trace = synthetic if kind == "synthetic" else read_trace(LENET)
    masks = {lay.name: np.ones(lay.input_shape, np.uint8) for lay in trace.mac_layers}
    masked = _with_masks(trace, tmp_path / "ones.npz", masks)
    arch = accelsim.load_arch(EYERISS_V2)
    plain, ones = run(arch, trace), run(arch, masked)
    _same_rows(plain, ones)
    recomputed = {r.layer.name: r.output_recomputed_under_mask for r in ones.layers
                  if r.simulated}
    assert recomputed == {lay.name: kind == "bridge" for lay in trace.mac_layers}
    assert all(r.output_recomputed_under_mask is None for r in plain.layers)


def test_a_mask_that_drops_nothing_keeps_an_output_a_full_recompute_would_not():
    """The recorded output is the float model's, quantized: recomputed from the
    codes, SqueezeNet's first layer has values that round to zero on one side
    only. A mask reaching no accumulator keeps the recorded zeros all the same."""
    trace = read_trace(SQUEEZENET)
    layer = next(lay for lay in trace.mac_layers if lay.name == "features.0")
    entries, arrays = read_entries(SQUEEZENET)
    full = _requantized(layer, dequantize_layer(entries[layer.name], arrays),
                        entries[layer.name]["output_scale"])
    y = trace.tensor(layer, "output")
    assert ((full != 0) != (y != 0)).any()  # why only what the mask reaches is recomputed
    x, w = trace.tensor(layer, "input"), trace.tensor(layer, "weight")
    q = layer.quantization
    mask = (x != 0).astype(np.uint8)  # drops only zeros: nothing
    nonzero, recomputed = output_nonzero(layer, x, w, y, mask, q, trace.arrays[q.bias])
    assert recomputed and np.array_equal(nonzero, y != 0)


def test_a_dropping_mask_on_a_bridge_trace_gives_the_zeros_of_a_recompute(tmp_path):
    """A mask dropping 40% of conv2's and fc1's inputs on the trained LeNet: the
    output zeros are those of the masked input run through the bridge's
    arithmetic, written out here from the dequantized tensors; the run equals
    one of a trace holding that masked input and that output, unmasked."""
    trace = read_trace(LENET)
    entries, arrays = read_entries(LENET)
    rng = np.random.default_rng(0)
    layers = {lay.name: lay for lay in trace.mac_layers}
    masks = {name: (rng.random(layers[name].input_shape) >= 0.4).astype(np.uint8)
             for name in ("conv2", "fc1")}
    headers, expected_arrays = trace_to_headers(trace), dict(trace.arrays)
    for name, mask in masks.items():
        layer, e = layers[name], entries[name]
        x = trace.tensor(layer, "input")
        # on this trace the codes recompute the recorded zeros exactly, so the
        # recompute of the masked input is the expected output everywhere
        d = dequantize_layer(e, arrays)
        assert np.array_equal(_requantized(layer, d, e["output_scale"]) != 0,
                              trace.tensor(layer, "output") != 0)
        d["input"] = np.where(mask != 0, x, 0) * e["act_scale"]
        expected = _requantized(layer, d, e["output_scale"])
        assert (expected == 0).sum() > (trace.tensor(layer, "output") == 0).sum()
        q = layer.quantization
        nonzero, recomputed = output_nonzero(layer, x, trace.tensor(layer, "weight"),
                                             trace.tensor(layer, "output"), mask, q,
                                             trace.arrays[q.bias])
        assert recomputed and np.array_equal(nonzero, expected != 0), name
        # the same layer, unmasked, with that input and output
        head = next(h for h in headers if h["name"] == name)
        head["tensors"] = dict(head["tensors"], input=f"{name}.masked_input",
                               output=f"{name}.expected_output")
        expected_arrays[f"{name}.masked_input"] = np.where(mask != 0, x, 0).astype(x.dtype)
        expected_arrays[f"{name}.expected_output"] = expected.astype(np.int32)
    write_trace(tmp_path / "expected.npz", network=trace.network, batch=trace.batch,
                layers=headers, arrays=expected_arrays)
    want = read_trace(tmp_path / "expected.npz")
    masked = _with_masks(trace, tmp_path / "masked.npz", masks)
    arch = accelsim.load_arch(EYERISS_V2)
    for name in masks:
        got = run_layer(next(x for x in masked.layers if x.name == name), masked, arch,
                        first_layer=False)
        ref = run_layer(next(x for x in want.layers if x.name == name), want, arch,
                        first_layer=False)
        assert got.output_recomputed_under_mask
        for f in dataclasses.fields(got.counts):
            assert np.array_equal(getattr(got.counts, f.name), getattr(ref.counts, f.name))
        assert got.energy_pj == ref.energy_pj and got.ifmap_density == ref.ifmap_density


def test_a_synthetic_trace_keeps_its_recorded_output(synthetic):
    """A synthetic output is not computed from the input: a mask changes the
    input's zeros only, and the result says the output was not recomputed."""
    layer = next(lay for lay in synthetic.mac_layers if lay.name == "conv2")
    assert layer.quantization is None
    x, w, y = (synthetic.tensor(layer, r) for r in ("input", "weight", "output"))
    mask = (np.random.default_rng(1).random(x.shape) >= 0.5).astype(np.uint8)
    nonzero, recomputed = output_nonzero(layer, x, w, y, mask, None, None)
    assert not recomputed and np.array_equal(nonzero, y != 0)
    assert not np.array_equal(layer_output(layer, np.where(mask != 0, x, 0), w) != 0, y != 0)
    trace = dataclasses.replace(synthetic, arrays={**synthetic.arrays, "m": mask},
                                layers=tuple(dataclasses.replace(
                                    lay, tensors={**lay.tensors, "input_mask": "m"})
                                    if lay is layer else lay for lay in synthetic.layers),
                                derived={})
    row = next(r for r in report_rows(run(accelsim.load_arch(EYERISS_V2), trace))
               if r["name"] == "conv2")
    assert row["output_recomputed_under_mask"] is False
    assert row["ifmap_density"] < row["ifmap_density_before_mask"]


def test_without_a_recorded_output_it_is_computed_from_the_masked_input():
    """No recorded output: as before without the quantization (raw sums, the
    activation applied); with it, by the bridge's arithmetic, bias included."""
    trace = read_trace(LENET)
    entries, arrays = read_entries(LENET)
    layer = next(lay for lay in trace.mac_layers if lay.name == "conv2")
    x, w = trace.tensor(layer, "input"), trace.tensor(layer, "weight")
    mask = (np.random.default_rng(2).random(x.shape) >= 0.3).astype(np.uint8)
    kept = np.where(mask != 0, x, 0)
    raw, recomputed = output_nonzero(layer, x, w, None, mask, None, None)
    assert recomputed and np.array_equal(raw, layer_output(layer, kept, w) != 0)
    q = layer.quantization
    d = dequantize_layer(entries["conv2"], arrays)
    d["input"] = kept * q.act_scale
    expected = _requantized(layer, d, q.output_scale) != 0
    got, recomputed = output_nonzero(layer, x, w, None, mask, q, trace.arrays[q.bias])
    assert recomputed and np.array_equal(got, expected)
    assert not np.array_equal(raw, expected)  # the bias and the rounding count
