"""Trace format v1: round trip, and every error with the layer and field named."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from accelsim.errors import TraceError
from accelsim.workload.trace import read_trace, write_trace
from conftest import conv_header, make_trace


def _headers():
    return [conv_header("c1", 2, 3, 6, 6, 4, 3, 3, pad=1),
            {"name": "pool", "kind": "maxpool", "input_shape": [2, 4, 6, 6],
             "output_shape": [2, 4, 3, 3]},
            {"name": "fc", "kind": "linear", "input_shape": [2, 36], "out_features": 5}]


def test_round_trip(tmp_path):
    tr = make_trace(tmp_path / "t.npz", _headers(), ifmap_zeros=0.5)
    assert [layer.name for layer in tr.layers] == ["c1", "pool", "fc"]
    assert [layer.name for layer in tr.mac_layers] == ["c1", "fc"]
    c1 = tr.layers[0]
    assert (c1.p, c1.q, c1.k, c1.c) == (6, 6, 4, 3)
    x = tr.tensor(c1, "input")
    assert x.shape == (2, 3, 6, 6) and np.count_nonzero(x == 0) == round(0.5 * x.size)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as npz:
        assert json.loads(str(npz["__header__"][()]))["version"] == 1


def _write_raw(path, header, arrays):
    np.savez(path, __header__=np.array(json.dumps(header)), **arrays)
    return path


def _good(tmp_path):
    tr = make_trace(tmp_path / "g.npz", _headers())
    with np.load(tmp_path / "g.npz", allow_pickle=False) as npz:
        header = json.loads(str(npz["__header__"][()]))
        arrays = {k: npz[k] for k in npz.files if k != "__header__"}
    del tr
    return header, arrays


@pytest.mark.parametrize("mutate, expected", [
    (lambda h, a: h.update(version=2), "__header__.version: this accelsim reads trace version 1"),
    (lambda h, a: h.update(format="x"), "__header__.format: must be 'accelsim-trace'"),
    (lambda h, a: h.update(batch=0), "__header__.batch: must be an integer >= 1 (got 0)"),
    (lambda h, a: h.update(layers=[]), "__header__.layers: must be a non-empty list"),
    (lambda h, a: h["layers"][0].update(kernel=[3]),
     "layers[0](c1).kernel: must be a list of 2 integers (got [3])"),
    (lambda h, a: h["layers"][0].update(groups=2),
     "layers[0](c1).groups: must divide input channels 3 (got 2)"),
    (lambda h, a: h["layers"][0].update(operator="quantum"),
     "layers[0](c1).operator: must be one of"),
    (lambda h, a: h["layers"][2].update(out_features=-1),
     "layers[2](fc).out_features: must be >= 1 (got -1)"),
    (lambda h, a: h["layers"][2].update(name="c1"), "layers(c1).name: duplicate layer name"),
    (lambda h, a: h["layers"][0]["tensors"].pop("weight"),
     "layers(c1).tensors.weight: missing (MAC layers need their real input and weight)"),
    (lambda h, a: a.pop("t0.input"), "layers(c1).tensors.input: array 't0.input' not in the file"),
    (lambda h, a: a.update({"t0.input": np.zeros((2, 3, 5, 6))}),
     "layers(c1).tensors.input: shape [2, 3, 5, 6] does not match the layer (expected [2, 3, 6, 6])"),
    (lambda h, a: a.update({"t0.weight": np.array(["a"] * 108).reshape(4, 3, 3, 3)}),
     "layers(c1).tensors.weight: array 't0.weight' must be numeric"),
])
def test_trace_errors(tmp_path, mutate, expected):
    header, arrays = _good(tmp_path)
    mutate(header, arrays)
    path = _write_raw(tmp_path / "bad.npz", header, arrays)
    with pytest.raises(TraceError) as exc:
        read_trace(path)
    assert str(exc.value).startswith(str(path) + ": ")
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_pickled_arrays_are_refused(tmp_path):
    header, arrays = _good(tmp_path)
    arrays["t0.input"] = np.array([object()] * 216, dtype=object).reshape(2, 3, 6, 6)
    path = _write_raw(tmp_path / "bad.npz", header, arrays)
    with pytest.raises(TraceError, match="t0.input' unreadable"):
        read_trace(path)


def test_not_a_trace(tmp_path):
    with pytest.raises(TraceError, match="file not found"):
        read_trace(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(TraceError, match="not a readable .npz trace"):
        read_trace(tmp_path / "junk.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(TraceError, match="__header__: missing"):
        read_trace(tmp_path / "plain.npz")
    with zipfile.ZipFile(tmp_path / "hdr.npz", "w") as zf:
        with zf.open("__header__.npy", "w") as fh:
            np.save(fh, np.array("{not json"))
    with pytest.raises(TraceError, match="__header__: not a JSON object"):
        read_trace(tmp_path / "hdr.npz")


def test_write_refuses_objects_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        write_trace(tmp_path / "x.npz", network="n", batch=1, layers=[],
                    arrays={"a": np.array([object()])})
    assert list(tmp_path.iterdir()) == []


def test_non_mac_layers_keep_their_bits_and_reasons(tmp_path, eyeriss):
    from accelsim.report.report import report_frame
    from accelsim.run import run

    heads = _headers()
    heads[1] = dict(heads[1], act_bits=8)
    heads.insert(2, {"name": "odd", "kind": "unsupported_conv1d", "input_shape": [2, 4, 3, 3],
                     "output_shape": [2, 4, 3, 3], "unsupported": "1-d convolution"})
    tr = make_trace(tmp_path / "t.npz", heads)
    df = report_frame(run(eyeriss, tr)).set_index("name")
    assert df.loc["pool", "io_bytes"] == (2 * 4 * 6 * 6 + 2 * 4 * 3 * 3) * 8 / 8
    assert df.loc["odd", "reason"] == "unsupported_conv1d is not simulated: 1-d convolution"
    assert df.loc["pool", "reason"] == "maxpool is not simulated (no MACs)"
