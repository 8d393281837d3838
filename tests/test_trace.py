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
    # the header itself
    (lambda h, a: h.update(version=True),
     "__header__.version: this accelsim reads trace version 1 (got True)"),
    (lambda h, a: h.update(version=1.0),
     "__header__.version: this accelsim reads trace version 1 (got 1.0)"),
    (lambda h, a: h.update(created_by="me"),
     "__header__.created_by: unknown key (known: format, version, network, batch, layers, "
     "routing)"),
    (lambda h, a: h.update(batch=4),
     "__header__.batch: disagrees with layers[0](c1) N 2 (got 4)"),
    (lambda h, a: h.update(batch=3),  # c1's N is 2: it disagrees before fc is looked at
     "__header__.batch: disagrees with layers[0](c1) N 2 (got 3)"),
    # unknown keys in a layer: a typo must not pass for a default
    (lambda h, a: h["layers"][0].update(strides=[2, 2]),
     "layers[0](c1).strides: unknown key (known: name, kind, tensors, activation, "
     "input_shape, out_channels, kernel, stride, padding,"),
    (lambda h, a: h["layers"][2].update(out_channels=5),
     "layers[2](fc).out_channels: unknown key (known: name, kind, tensors, activation, "
     "input_shape, out_features,"),
    (lambda h, a: h["layers"][1].update(weight_bits=8),
     "layers[1](pool).weight_bits: unknown key"),
    # the bridge's keys, checked for type
    (lambda h, a: h["layers"][0].update(act_scale=float("nan")),
     "layers[0](c1).act_scale: must be a finite number > 0 (got nan)"),
    (lambda h, a: h["layers"][0].update(weight_scale=[0.5, -1.0]),
     "layers[0](c1).weight_scale: must be a finite number > 0, or a non-empty list"),
    (lambda h, a: h["layers"][1].update(fused=["relu", 3]),
     "layers[1](pool).fused: must be a list of strings (got ['relu', 3])"),
    (lambda h, a: h["layers"][0].update(bias="c1.bias"),
     "layers[0](c1).bias: array 'c1.bias' not in the file"),
    (lambda h, a: (h["layers"][0].update(bias="c1.bias"),
                   a.update({"c1.bias": np.zeros((3, 3))})),
     "layers[0](c1).bias: array 'c1.bias' must hold integers (got dtype float64)"),
    (lambda h, a: (h["layers"][0].update(bias="c1.bias"),
                   a.update({"c1.bias": np.zeros(4, bool)})),
     "layers[0](c1).bias: array 'c1.bias' must hold integers (got dtype bool)"),
    (lambda h, a: (h["layers"][0].update(bias="c1.bias"),
                   a.update({"c1.bias": np.zeros((3, 3), np.int64)})),
     "layers[0](c1).bias: shape [3, 3] does not match the layer's output channels "
     "(expected [4])"),
    (lambda h, a: (h["layers"][2].update(bias="fc.bias"),
                   a.update({"fc.bias": np.zeros(4, np.int32)})),
     "layers[2](fc).bias: shape [4] does not match the layer's output channels "
     "(expected [5])"),
    (lambda h, a: h.update(network=3), "__header__.network: must be a string (got 3)"),
    # each message of layer_from_header
    (lambda h, a: h["layers"][0].update(name=""),
     "layers[0]().name: must be a non-empty string (got '')"),
    (lambda h, a: h["layers"][1].update(kind=3), "layers[1](pool).kind: must be a non-empty "
                                                 "string (got 3)"),
    (lambda h, a: h["layers"][0].update(activation="gelu"),
     "layers[0](c1).activation: must be 'none' or 'relu' (got 'gelu')"),
    (lambda h, a: h["layers"][0].update(tensors={"bias": "x"}),
     "layers[0](c1).tensors: must map roles ['input', 'weight', 'output', 'input_mask'] to "
     "array names (got {'bias': 'x'})"),
    (lambda h, a: h["layers"][0].update(weight_bits=65),
     "layers[0](c1).weight_bits: must be between 1 and 64 (got 65)"),
    (lambda h, a: h["layers"][1].update(act_bits=10**9),
     "layers[1](pool).act_bits: must be between 1 and 64 (got 1000000000)"),
    (lambda h, a: h["layers"][0].update(kernel=[9, 9]),
     "layers[0](c1).kernel: larger than the padded input 8x8 (got [9, 9])"),
    (lambda h, a: h["layers"][0].update(input_shape=[2, 6, 6, 6], groups=3),
     "layers[0](c1).groups: must divide out_channels 4 (got 3)"),
    (lambda h, a: h["layers"][0].update(stride=[0, 1]),
     "layers[0](c1).stride: every entry must be >= 1 (got [0, 1])"),
    (lambda h, a: h["layers"][1].pop("output_shape"), "layers[1](pool).output_shape: missing"),
    (lambda h, a: h["layers"].__setitem__(1, "pool"),
     "layers[1]: must be an object (got str)"),
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
    with pytest.raises(TraceError, match=r"junk.npz: not a readable .npz trace: it is a text "
                                         r"file \(a YAML architecture\?\), not a zip archive as "
                                         r"every .npz is$"):
        read_trace(tmp_path / "junk.npz")
    # numpy reads any other file as a pickle and would say "pickled (object) data"
    (tmp_path / "garbage.npz").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(TraceError, match=r"garbage.npz: not a readable .npz trace \(the file is "
                                         r"not a zip archive, as every .npz is\)$"):
        read_trace(tmp_path / "garbage.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(TraceError, match=r"one.npy: not an .npz archive \(a single .npy array "
                                         r"was found\)"):
        read_trace(tmp_path / "one.npy")
    with pytest.raises(TraceError, match="is a directory, not a trace file"):
        read_trace(tmp_path)
    with zipfile.ZipFile(tmp_path / "list.npz", "w") as zf:
        with zf.open("__header__.npy", "w") as fh:
            np.save(fh, np.array("[1, 2]"))
    with pytest.raises(TraceError, match="__header__: must be a JSON object$"):
        read_trace(tmp_path / "list.npz")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(TraceError, match=r"plain.npz: __header__: missing \(not an accelsim "
                                         r"trace\)$"):
        read_trace(tmp_path / "plain.npz")
    with zipfile.ZipFile(tmp_path / "hdr.npz", "w") as zf:
        with zf.open("__header__.npy", "w") as fh:
            np.save(fh, np.array("{not json"))
    with pytest.raises(TraceError, match="__header__: not a JSON object"):
        read_trace(tmp_path / "hdr.npz")


def test_write_refuses_objects_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match=r"array 'a': reserved name or non-numeric dtype"):
        write_trace(tmp_path / "x.npz", network="n", batch=1, layers=[],
                    arrays={"a": np.array([object()])})
    with pytest.raises(ValueError, match=r"array '__header__': reserved name or non-numeric "
                                         r"dtype"):
        write_trace(tmp_path / "x.npz", network="n", batch=1, layers=[],
                    arrays={"__header__": np.zeros(3)})
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


def _member_data_offset(path, member: str) -> tuple[int, int]:
    """Where the (possibly compressed) bytes of ``member`` start in the zip, and how many."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    with open(path, "rb") as fh:
        fh.seek(info.header_offset)
        local = fh.read(30)  # the local file header; name and extra field follow it
    start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") + \
        int.from_bytes(local[28:30], "little")
    return start, info.compress_size


def _flip_16_bytes(path, member: str, *, at_end: bool) -> None:
    """Flip 16 bytes of an archive member's stored data: its middle, or its end."""
    start, size = _member_data_offset(path, member)
    first = start + size - 16 if at_end else start + size // 2
    data = bytearray(path.read_bytes())
    for i in range(first, first + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compress", [False, True])
def test_corrupt_array_names_the_file_and_the_array(tmp_path, compress):
    header, arrays = _good(tmp_path)
    path = tmp_path / "t.npz"
    write_trace(path, network="test", batch=2, layers=header["layers"], arrays=arrays,
                compress=compress)
    _flip_16_bytes(path, "t0.weight.npy", at_end=False)  # inside the array's data
    with pytest.raises(TraceError) as exc:
        read_trace(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: layers(c1).tensors.weight: array 't0.weight' unreadable "
                          "(the file is corrupt or truncated: ")
    # zipfile's CRC check, or zlib when the deflate stream breaks first
    assert ("Bad CRC-32 for file 't0.weight.npy'" in msg
            or "while decompressing data" in msg) and "\n" not in msg


@pytest.mark.parametrize("compress", [False, True])
def test_corrupt_bias_names_the_file_the_layer_and_the_key(tmp_path, compress):
    """The bias is not simulated, but the bridge reads it back: a damaged one is refused."""
    header, arrays = _good(tmp_path)
    header["layers"][0]["bias"] = "c1.bias"
    arrays["c1.bias"] = np.arange(1000, 1004, dtype=np.int64)
    path = tmp_path / "t.npz"
    write_trace(path, network="test", batch=2, layers=header["layers"], arrays=arrays,
                compress=compress)
    assert read_trace(path).layers[0].name == "c1"
    # the last bytes: the bias values (or the deflate stream's end)
    _flip_16_bytes(path, "c1.bias.npy", at_end=True)
    with pytest.raises(TraceError) as exc:
        read_trace(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: layers[0](c1).bias: array 'c1.bias' unreadable "
                          "(the file is corrupt or truncated: ")
    assert "\n" not in msg


def test_truncated_trace(tmp_path):
    header, arrays = _good(tmp_path)
    path = tmp_path / "t.npz"
    write_trace(path, network="test", batch=2, layers=header["layers"], arrays=arrays)
    path.write_bytes(path.read_bytes()[:-200])  # the zip's directory is at the end
    with pytest.raises(TraceError, match=r"t.npz: not a readable .npz trace \(the file is "
                                         r"corrupt or truncated: "):
        read_trace(path)


def test_bridge_and_synth_keys_are_known(tmp_path):
    """Every key an accelsim writer puts in a layer entry loads (the bridge's included)."""
    header, arrays = _good(tmp_path)
    c1, pool, fc = header["layers"]
    arrays["c1.bias"] = np.zeros(4, np.int64)
    c1.update(dilation=[1, 1], act_scale=0.5, output_scale=0.25, weight_scale=[0.1] * 4,
              bias="c1.bias", inputs=["@input"], fused=["relu1"])
    pool.update(act_bits=16, activation="none", inputs=["c1"], fused=[],
                unsupported="")
    fc.update(weight_bits=16, act_bits=16, operator="int", activation="relu",
              act_scale=1.0, output_scale=1.0, weight_scale=0.5, inputs=["pool"], fused=[])
    path = _write_raw(tmp_path / "bridge.npz", header, arrays)
    assert [layer.name for layer in read_trace(path).layers] == ["c1", "pool", "fc"]


def test_quantization_keys_are_kept_and_written_back(tmp_path):
    """A MAC layer keeps the bridge's scales and bias (the run recomputes a masked
    output with them): the headers and arrays of a read trace write it again."""
    from accelsim.workload.layer import Quantization
    from accelsim.workload.trace import trace_to_headers

    header, arrays = _good(tmp_path)
    c1, _, fc = header["layers"]
    arrays["c1.bias"] = np.arange(4, dtype=np.int64)
    c1.update(act_scale=0.5, output_scale=0.25, weight_scale=[0.1, 0.2, 0.3, 0.4],
              bias="c1.bias", inputs=["@input"], fused=["relu1"])
    fc.update(act_scale=1.0, output_scale=2.0, weight_scale=0.5)
    tr = read_trace(_write_raw(tmp_path / "q.npz", header, arrays))
    c1, pool, fc = tr.layers
    assert c1.quantization == Quantization(act_scale=0.5, output_scale=0.25, bias="c1.bias",
                                           weight_scale=(0.1, 0.2, 0.3, 0.4))
    assert fc.quantization.complete and fc.quantization.bias is None
    assert pool.quantization is None
    assert np.array_equal(tr.arrays["c1.bias"], np.arange(4))
    write_trace(tmp_path / "again.npz", network=tr.network, batch=tr.batch,
                layers=trace_to_headers(tr), arrays=tr.arrays)
    back = read_trace(tmp_path / "again.npz")
    assert back.layers == tr.layers and trace_to_headers(back) == trace_to_headers(tr)
    assert np.array_equal(back.arrays["c1.bias"], tr.arrays["c1.bias"])
    # the bridge's other keys are not kept
    assert "inputs" not in trace_to_headers(back)[0]
    c1_head = dict(header["layers"][0], weight_scale=[0.1] * 3)
    with pytest.raises(TraceError, match=r"layers\[0\]\(c1\).weight_scale: must give one "
                                         r"scale per output channel, 4 \(got 3\)"):
        read_trace(_write_raw(tmp_path / "bad.npz", dict(header, layers=[c1_head]), arrays))


def test_linear_rows_may_be_a_multiple_of_the_batch(tmp_path):
    """A linear layer applied per token sees batch x tokens rows (the bridge folds them)."""
    head = {"name": "fc", "kind": "linear", "input_shape": [6, 4], "out_features": 3}
    tr = make_trace(tmp_path / "t.npz", [head])  # batch 6, N 6
    header, arrays = _good(tmp_path)
    header.update(batch=2, layers=[dict(head, tensors={"input": "x", "weight": "w"})])
    arrays = {"x": tr.tensor(tr.layers[0], "input"), "w": tr.tensor(tr.layers[0], "weight")}
    assert read_trace(_write_raw(tmp_path / "tok.npz", header, arrays)).batch == 2
    header["batch"] = 4
    with pytest.raises(TraceError, match=r"__header__.batch: does not divide layers\[0\]\(fc\) "
                                         r"N 6 \(got 4\)"):
        read_trace(_write_raw(tmp_path / "tok4.npz", header, arrays))


def test_write_refuses_a_header_it_could_not_read(tmp_path):
    header, arrays = _good(tmp_path)
    header["layers"][0]["strides"] = [2, 2]
    with pytest.raises(TraceError, match=r"x.npz: not written: layers\[0\]\(c1\).strides: "
                                         "unknown key"):
        write_trace(tmp_path / "x.npz", network="n", batch=2, layers=header["layers"],
                    arrays=arrays)
    with pytest.raises(TraceError, match="__header__.batch: disagrees with"):
        write_trace(tmp_path / "x.npz", network="n", batch=3, layers=_good(tmp_path)[0]["layers"],
                    arrays=arrays)
    assert not (tmp_path / "x.npz").exists()
    assert not list(tmp_path.glob(".x.npz.*"))


@pytest.mark.parametrize("layers", [["x"], [{"name": "c", "kind": "concat", "tensors": ["x"]}]])
def test_write_refuses_a_malformed_header_with_a_trace_error(tmp_path, layers):
    from accelsim.workload.trace import write_trace

    with pytest.raises(TraceError, match="not written: "):
        write_trace(tmp_path / "x.npz", network="n", batch=1, layers=layers, arrays={})
    assert not (tmp_path / "x.npz").exists()
