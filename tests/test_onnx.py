"""ONNX import: the same trace schema as the PyTorch bridge, from onnxruntime's tensors."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")  # CI installs the onnx extra; this guards a bare checkout
pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import accelsim  # noqa: E402
from accelsim.bridge.graph import dequantize_layer, read_entries  # noqa: E402
from accelsim.bridge.onnx import import_onnx  # noqa: E402
from accelsim.cli import main  # noqa: E402
from accelsim.errors import AccelsimError  # noqa: E402
from accelsim.workload.reference import layer_output  # noqa: E402


def reference(layer, d):
    y = layer_output(dataclasses.replace(layer, activation="none"), d["input"], d["weight"])
    y = y + d["bias"].reshape((1, -1) + (1,) * (y.ndim - 2))
    return np.maximum(y, 0) if layer.activation == "relu" else y


# ---- a model exported from PyTorch ------------------------------------------------------

@pytest.fixture(scope="module", params=["torchscript", "dynamo"])
def torch_model_onnx(request, tmp_path_factory):
    torch = pytest.importorskip("torch")
    if request.param == "dynamo":  # torch's default exporter is written with onnxscript
        pytest.importorskip("onnxscript")
    import torch.nn as nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.conv2 = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2)
            self.pool = nn.MaxPool2d(2)
            self.fc = nn.Linear(8 * 4 * 4, 10)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.pool(torch.relu(self.conv2(y)))
            return self.fc(torch.flatten(y, 1))

    torch.manual_seed(0)
    net = Net().eval()
    with torch.no_grad():
        net.bn1.running_mean.uniform_(-0.3, 0.3)
        net.bn1.running_var.uniform_(0.5, 2.0)
    path = tmp_path_factory.mktemp("onnx") / "net.onnx"
    x = torch.rand(2, 1, 16, 16)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated, still shipped
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), dynamo=request.param == "dynamo",
                          input_names=["x"], verbose=False)
    return net, path


def test_onnx_trace_matches_the_pytorch_trace(torch_model_onnx, tmp_path):
    import torch

    from accelsim.bridge.inputs import digits_images
    from accelsim.bridge.torch import export_trace

    net, onnx_path = torch_model_onnx
    x, _ = digits_images((2, 1, 16, 16))
    a, b = tmp_path / "torch.npz", tmp_path / "onnx.npz"
    export_trace(net, torch.from_numpy(x), a, network="net")
    import_onnx(onnx_path, x, b)
    ta, tb = accelsim.read_trace(a), accelsim.read_trace(b)
    assert tb.network == "net" and tb.batch == 2
    assert [la.op for la in ta.layers] == [lb.op for lb in tb.layers] == [
        "conv2d", "conv2d", "maxpool", "flatten", "linear"]
    assert [lb.name for lb in tb.mac_layers] == ["conv1", "conv2", "fc"]
    ea, arr_a = read_entries(a)
    eb, arr_b = read_entries(b)
    for la, lb in zip(ta.mac_layers, tb.mac_layers):
        # the same layer; its scales are compared below, as real values (float noise)
        assert la == dataclasses.replace(lb, tensors=la.tensors, quantization=la.quantization)
        da, db = dequantize_layer(ea[la.name], arr_a), dequantize_layer(eb[lb.name], arr_b)
        for role in ("input", "weight", "bias", "output"):  # onnxruntime's floats vs torch's
            scale = max(np.abs(da[role]).max(), 1e-12)
            assert np.abs(da[role] - db[role]).max() <= 1e-3 * scale, (la.name, role)
        # faithful on its own terms too
        assert np.abs(reference(lb, db) - db["output"]).max() <= 1e-3 * np.abs(db["output"]).max()
        # zeros of the ReLU outputs come through unchanged
        assert np.array_equal(tb.tensor(lb, "input") == 0, ta.tensor(la, "input") == 0)


def test_cli_import_onnx(torch_model_onnx, tmp_path, capsys):
    _, onnx_path = torch_model_onnx
    out = tmp_path / "cli.npz"
    code = main(["import-onnx", str(onnx_path), "--input-shape", "2,1,16,16", "--data", "digits",
                 "--weight-bits", "8", "--act-bits", "8", "--per-channel", "-o", str(out)])
    assert code == 0 and "(5 layers, 3 MAC layers, input [2, 1, 16, 16])" in capsys.readouterr().out
    trace = accelsim.read_trace(out)
    assert all(lay.weight_bits == 8 for lay in trace.mac_layers)
    assert len(read_entries(out)[0]["conv2"]["weight_scale"]) == 8


@pytest.mark.parametrize("args,message", [
    (["{model}", "--input-shape", "2,1,15,16"],
     "net.onnx: running it on input shape [2, 1, 15, 16] failed ([ONNXRuntimeError] : 2 : "
     "INVALID_ARGUMENT : Got invalid dimensions for input: x for the following indices "
     "index: 2 Got: 15 Expected: 16"),
    (["missing.onnx", "--input-shape", "1,1,16,16"], "missing.onnx: file not found"),
    (["{junk}", "--input-shape", "1,1,16,16"], "junk.onnx: not a readable ONNX model"),
    (["{model}", "--input-shape", "1,1,16,16", "--act-bits", "64"],
     "act_bits: must be an integer between 2 and 32 (got 64)"),
    (["{model}", "--input-shape", "2,1,16,16", "--operators", "pool=fp"],
     "operators: no MAC layer named 'pool' (MAC layers: conv1, conv2, fc)"),
])
def test_cli_import_onnx_errors(torch_model_onnx, tmp_path, capsys, args, message):
    _, onnx_path = torch_model_onnx
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x00not a protobuf\xff" * 4)
    args = [a.replace("{model}", str(onnx_path)).replace("{junk}", str(junk)) for a in args]
    code = main(["import-onnx", *args, "-o", str(tmp_path / "e.npz")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("accelsim: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "e.npz").exists()


# ---- a model built with onnx.helper: the op mappings, without torch -------------------

def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, np.float32), name)


def helper_model(path):
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((4, 2, 3, 3))
    w2 = rng.standard_normal((4, 4, 2, 2))
    mm = rng.standard_normal((4 * 4 * 4, 6))     # MatMul right operand [C, K]
    gb = rng.standard_normal((3, 6))             # Gemm B [K, C] with transB=1
    b1 = rng.standard_normal(4)
    bn = (rng.uniform(0.5, 1.5, 4), rng.uniform(-1, 1, 4), rng.uniform(-1, 1, 4),
          rng.uniform(0.5, 2, 4))
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="/conv1/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "g", "beta", "mean", "var"], ["n1"],
                         name="/bn/BatchNormalization", epsilon=1e-3),
        helper.make_node("Clip", ["n1", "lo", "hi"], ["r6"], name="/act/Clip"),
        helper.make_node("Conv", ["r6", "w2"], ["c2"], name="/conv2/Conv", kernel_shape=[2, 2],
                         pads=[0, 0, 1, 1]),                          # asymmetric padding
        helper.make_node("Flatten", ["c2"], ["f"], name="/flat/Flatten", axis=1),
        helper.make_node("MatMul", ["f", "mm"], ["m"], name="/fc1/MatMul"),
        helper.make_node("Add", ["m", "mb"], ["mab"], name="/fc1/Add"),
        helper.make_node("Relu", ["mab"], ["mr"], name="/fc1/Relu"),
        helper.make_node("Gemm", ["mr", "fc2.weight", "gc"], ["y"], name="/fc2/Gemm",
                         transB=1, alpha=0.5, beta=2.0),
    ]
    graph = helper.make_graph(
        nodes, "helper_net", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                             [2, 2, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        initializer=[_init("w1", w1), _init("b1", b1), _init("g", bn[0]), _init("beta", bn[1]),
                     _init("mean", bn[2]), _init("var", bn[3]), _init("lo", 0.0),
                     _init("hi", 6.0), _init("w2", w2), _init("mm", mm),
                     _init("mb", rng.standard_normal(6)), _init("fc2.weight", gb),
                     _init("gc", rng.standard_normal(3))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    f32 = lambda a: np.asarray(a, np.float32).astype(np.float64)  # noqa: E731
    inv = f32(bn[0]) / np.sqrt(f32(bn[3]) + 1e-3)
    return {"w1": f32(w1) * inv.reshape(4, 1, 1, 1), "b1": (f32(b1) - f32(bn[2])) * inv
            + f32(bn[1]), "mm": f32(mm), "gb": f32(gb)}


def test_helper_model_op_mapping(tmp_path):
    src = tmp_path / "helper.onnx"
    params = helper_model(src)
    out = tmp_path / "h.npz"
    x = np.random.default_rng(1).random((2, 2, 4, 4)).astype(np.float32)
    headers = import_onnx(src, x, out, network="helper")
    assert [(h["name"], h["kind"]) for h in headers] == [
        ("conv1", "conv2d"), ("act", "relu6"), ("conv2", "unsupported_conv2d"),
        ("flat", "flatten"), ("fc1", "linear"), ("fc2", "linear")]
    assert headers[0]["fused"] == ["bn"] and headers[0]["activation"] == "none"
    assert headers[2]["unsupported"] == "padding [0, 0, 1, 1] (begin, end) is asymmetric"
    assert headers[2]["output_shape"] == [2, 4, 4, 4]
    fc1 = headers[4]
    assert fc1["fused"] == ["fc1.add", "fc1.relu"] and fc1["activation"] == "relu"
    assert fc1["input_shape"] == [2, 64] and fc1["out_features"] == 6
    entries, arrays = read_entries(out)
    d0 = dequantize_layer(entries["conv1"], arrays)  # batch norm folded
    assert np.abs(d0["weight"] - params["w1"]).max() <= entries["conv1"]["weight_scale"] / 2
    assert np.abs(d0["bias"] - params["b1"]).max() <= \
        entries["conv1"]["weight_scale"] * entries["conv1"]["act_scale"] / 2
    d1 = dequantize_layer(entries["fc1"], arrays)
    assert np.abs(d1["weight"] - params["mm"].T).max() <= entries["fc1"]["weight_scale"]
    d2 = dequantize_layer(entries["fc2"], arrays)
    assert np.abs(d2["weight"] - 0.5 * params["gb"]).max() <= entries["fc2"]["weight_scale"]
    trace = accelsim.read_trace(out)
    for layer in trace.mac_layers:
        d = dequantize_layer(entries[layer.name], arrays)
        assert np.abs(reference(layer, d) - d["output"]).max() <= \
            1e-3 * np.abs(d["output"]).max(), layer.name


def test_wrong_number_of_inputs(tmp_path):
    src = tmp_path / "helper.onnx"
    helper_model(src)
    x = np.zeros((2, 2, 4, 4), np.float32)
    with pytest.raises(AccelsimError, match=r"helper\.onnx: the model has 1 inputs \(x\), "
                                            r"2 given"):
        import_onnx(src, [x, x], tmp_path / "h.npz")


# ---- MAC-bearing ops the trace cannot simulate, and names of functional models -----------

def _pairs(size_in, taps, size_out, stride, pad, transposed=False):
    """(position, tap) pairs of one axis that touch no padding, counted one by one."""
    if transposed:
        return sum(1 for i in range(size_in) for t in range(taps)
                   if 0 <= i * stride + t - pad < size_out)
    return sum(1 for o in range(size_out) for t in range(taps)
               if 0 <= o * stride + t - pad < size_in)


def test_ops_with_macs_are_counted(tmp_path):
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("ConvTranspose", ["x", "wt"], ["ct"], name="/up/ConvTranspose",
                         strides=[2, 2], pads=[1, 1, 1, 1]),           # [1, 3, 9, 9]
        helper.make_node("Reshape", ["x", "shape"], ["x1"], name="/flat/Reshape"),
        helper.make_node("Conv", ["x1", "w1d"], ["c1"], name="/c1/Conv", pads=[1, 1]),
        helper.make_node("MatMul", ["x", "x"], ["mm"], name="/MatMul"),
        helper.make_node("Einsum", ["x", "x"], ["es"], name="/Einsum", equation="nchw,nchw->nc"),
    ]
    graph = helper.make_graph(
        nodes, "macs_net", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None)
         for o in ("ct", "c1", "mm", "es")],
        initializer=[_init("wt", rng.standard_normal((2, 3, 3, 3))),
                     _init("w1d", rng.standard_normal((4, 2, 3))),
                     numpy_helper.from_array(np.array([1, 2, 25], np.int64), "shape")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    src = tmp_path / "macs.onnx"
    onnx.save(model, str(src))
    x = rng.random((1, 2, 5, 5)).astype(np.float32)
    by_name = {h["name"]: h for h in import_onnx(src, x, tmp_path / "m.npz")}
    assert by_name["up"]["kind"] == "unsupported_conv_transpose2d"
    assert by_name["up"]["output_shape"] == [1, 3, 9, 9]
    assert by_name["up"]["macs"] == 2 * 3 * _pairs(5, 3, 9, 2, 1, transposed=True) ** 2
    assert by_name["c1"]["kind"] == "unsupported_conv1d"
    assert by_name["c1"]["macs"] == 4 * 2 * _pairs(25, 3, 25, 1, 1)
    assert by_name["matmul"]["macs"] == 2 * 5 * 5 * 5
    assert by_name["einsum"]["macs"] == 2 * 5 * 5
    layers = {lay.name: lay for lay in accelsim.read_trace(tmp_path / "m.npz").layers}
    assert layers["up"].op_macs == by_name["up"]["macs"]
    assert layers["matmul"].input_shapes == ((1, 2, 5, 5), (1, 2, 5, 5))


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_functional_model_layers_are_named_after_their_weights(exporter, tmp_path):
    torch = pytest.importorskip("torch")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    import torch.nn as nn
    import torch.nn.functional as F

    from accelsim.bridge.torch import export_trace

    class Functional(nn.Module):
        def __init__(self):
            super().__init__()
            self.w1 = nn.Parameter(torch.randn(4, 1, 3, 3) * 0.3)
            self.w2 = nn.Parameter(torch.randn(4, 4, 3, 3) * 0.3)
            self.fw = nn.Parameter(torch.randn(5, 4) * 0.3)
            self.fb = nn.Parameter(torch.randn(5) * 0.1)  # with a bias, a Gemm keeps fw
            self.W = nn.Parameter(torch.randn(3, 5) * 0.3)

        def forward(self, x):
            y = F.relu(F.conv2d(x, self.w1, padding=1))
            y = F.relu(F.conv2d(y, self.w2, padding=1)) + y
            z = F.linear(F.adaptive_avg_pool2d(y, 1).flatten(1), self.fw, self.fb)
            return z @ self.W.T  # the exporters fold W.T into a constant of their own name

    torch.manual_seed(0)
    net = Functional().eval()
    x = torch.rand(2, 1, 6, 6)
    path = tmp_path / "f.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(path), dynamo=exporter == "dynamo", verbose=False)
    got = import_onnx(path, x.numpy(), tmp_path / "o.npz")
    want = export_trace(net, x, tmp_path / "t.npz")
    mac = lambda hs: [h["name"] for h in hs if h["kind"] in ("conv2d", "linear")]  # noqa: E731
    assert mac(want) == ["w1", "w2", "fw", "W"]
    assert mac(got) == ["w1", "w2", "fw", "linear"]  # W.T is a folded constant: no name


# ---- pool windows ------------------------------------------------------------------------

@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_pool_windows_match_the_pytorch_trace(exporter, tmp_path):
    torch = pytest.importorskip("torch")
    if exporter == "dynamo":
        pytest.importorskip("onnxscript")
    from test_bridge_torch import Pools, check_pool_windows

    from accelsim.bridge.torch import export_trace

    torch.manual_seed(0)
    net = Pools().eval()
    x = torch.rand(2, 1, 18, 18)
    src, a, b = tmp_path / "pools.onnx", tmp_path / "torch.npz", tmp_path / "onnx.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (x,), str(src), dynamo=exporter == "dynamo", input_names=["x"],
                          verbose=False)
    export_trace(net, x, a, network="pools")
    import_onnx(src, x.numpy(), b, network="pools")
    ea, eb = read_entries(a)[0], read_entries(b)[0]
    check_pool_windows(eb, accelsim.read_trace(b))
    assert list(ea) == list(eb)
    # the same trace: non-MAC entries equal key for key (the dynamo exporter writes the
    # adaptive pool as a ReduceMean, a "mean" layer); the conv up to float noise
    for name in ea:
        if ea[name]["kind"] == "conv2d":
            assert ea[name].keys() == eb[name].keys()
        elif not (exporter == "dynamo" and name == "gap"):
            assert ea[name] == eb[name], name
    ta, tb = accelsim.read_trace(a), accelsim.read_trace(b)
    assert [dataclasses.replace(la, quantization=None) for la in ta.layers
            if la.op != "adaptive_avgpool"] == \
        [dataclasses.replace(lb, quantization=None) for lb in tb.layers
         if lb.name != "gap"]


def test_pool_window_left_out_when_onnx_cannot_state_it(tmp_path):
    attrs = {"dilated": {"kernel_shape": [2, 2], "dilations": [2, 2]},
             "asymmetric": {"kernel_shape": [2, 2], "pads": [0, 0, 1, 1]},
             "same": {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"},
             "plain": {"kernel_shape": [3, 2], "strides": [1, 2], "pads": [1, 0, 1, 0]}}
    nodes = [helper.make_node("MaxPool", ["x"], [name], name=f"/{name}/MaxPool", **kw)
             for name, kw in attrs.items()]
    graph = helper.make_graph(
        nodes, "pools", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in
         zip(attrs, ([1, 2, 6, 6], [1, 2, 8, 8], [1, 2, 8, 8], [1, 2, 8, 4]))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    src = tmp_path / "pools.onnx"
    onnx.save(model, str(src))
    headers = import_onnx(src, np.ones((1, 2, 8, 8), np.float32), tmp_path / "p.npz")
    by_name = {h["name"]: h for h in headers}
    assert list(by_name) == list(attrs)
    for name in ("dilated", "asymmetric", "same"):
        assert not {"kernel", "stride", "padding", "ceil_mode"} & set(by_name[name]), name
    plain = by_name["plain"]
    assert (plain["kernel"], plain["stride"], plain["padding"], plain["ceil_mode"],
            plain["output_shape"]) == ([3, 2], [1, 2], [1, 0], False, [1, 2, 8, 4])
