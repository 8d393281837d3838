"""Decomposing a trace made in memory (accelsim.workload.decompose): the layer's
scales and bias come from its Layer.quantization and Trace.arrays, so a trace
re-built in memory decomposes as the file it came from, bridge keys aside."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accelsim.workload.decompose import decompose_trace
from accelsim.workload.trace import Trace, parse_header, read_trace, trace_to_headers
from conftest import ROOT

LENET = ROOT / "workloads" / "lenet5_digits.npz"
BRIDGE_ONLY = ("inputs", "fused")
"""Header keys a Layer does not hold: only a trace read from a file has them."""


def _rebuilt(trace: Trace) -> Trace:
    """``trace`` made again in memory from its layers' headers and its arrays."""
    layers, problems = parse_header({"format": "accelsim-trace", "version": 1,
                                     "network": trace.network, "batch": trace.batch,
                                     "layers": trace_to_headers(trace)})
    assert not problems
    return Trace(network=trace.network, batch=trace.batch, layers=tuple(layers),
                 arrays=dict(trace.arrays))


@pytest.mark.parametrize("how", ["rebuilt", "replaced"])
def test_an_in_memory_trace_decomposes_as_its_file(how):
    """LeNet's conv2 and fc1 (bridge scales, bias, relu): the same factors,
    scales, bias codes and outputs from the file and from the trace in memory."""
    source = read_trace(LENET)
    memory = (_rebuilt(source) if how == "rebuilt"
              else dataclasses.replace(source, path="<memory>", derived={}))
    assert memory.path == "<memory>"
    names = ["conv2", "fc1"]
    from_file = decompose_trace(source, names, rank=4, nonzeros=2)
    in_memory = decompose_trace(memory, names, rank=4, nonzeros=2)
    assert from_file.arrays.keys() == in_memory.arrays.keys()
    for key, arr in from_file.arrays.items():
        assert arr.dtype == in_memory.arrays[key].dtype, key
        assert np.array_equal(arr, in_memory.arrays[key]), key
    for a, b in zip(from_file.headers, in_memory.headers, strict=True):
        assert {k: v for k, v in a.items() if k not in BRIDGE_ONLY} == b, a["name"]
    for a, b in zip(from_file.layers, in_memory.layers, strict=True):
        assert np.array_equal(a.weight.a_codes, b.weight.a_codes)
        assert a.weight.b_scale == b.weight.b_scale and a.relative_error == b.relative_error
    # the scales and the bias are there: the coefficient layer's output is requantized
    # at the layer's output scale and its bias codes are the layer's at the new
    # accumulator scale
    layers = {layer.name: layer for layer in in_memory.trace.layers}
    for name in names:
        q = next(x for x in source.layers if x.name == name).quantization
        basis = layers[f"{name}.basis"].quantization
        coeff = layers[f"{name}.coefficients"].quantization
        assert basis.complete and coeff.complete and coeff.bias is not None
        assert basis.act_scale == q.act_scale and coeff.output_scale == q.output_scale
        bias_real = source.arrays[q.bias] * (q.act_scale * np.asarray(q.weight_scale))
        assert np.array_equal(in_memory.arrays[coeff.bias],
                              np.rint(bias_real / (coeff.act_scale * coeff.weight_scale)))
