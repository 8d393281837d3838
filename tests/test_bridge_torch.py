"""The PyTorch bridge: exported traces are faithful to what the model computed."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # CI installs torch; this only guards a bare checkout
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import accelsim  # noqa: E402
from accelsim.bridge.graph import dequantize_layer, read_entries  # noqa: E402
from accelsim.bridge.quantize import qmax, underflow_count  # noqa: E402
from accelsim.bridge.torch import export_trace  # noqa: E402
from accelsim.cli import main  # noqa: E402
from accelsim.errors import AccelsimError  # noqa: E402
from accelsim.workload.reference import layer_output  # noqa: E402
from conftest import EYERISS_YAML  # noqa: E402


class Net(nn.Module):
    """Conv+BN+ReLU, a strided dilated grouped conv, a residual add, pooling, a
    channel split and concat, flatten, linear+BN1d+ReLU and a final linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=4)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(8, 12, 3, stride=2, padding=1)
        self.relu3 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(12 * 2 * 2, 16)
        self.bn2 = nn.BatchNorm1d(16)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(16, 5)

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        z = self.relu2(self.conv2(y) + y)
        z = self.pool(self.relu3(self.conv3(z)))
        a, b = z.chunk(2, dim=1)
        z = torch.flatten(torch.cat([b, a], 1), 1)
        return self.fc2(self.relu4(self.bn2(self.fc1(z))))


class FunctionalNet(nn.Module):
    """:class:`Net` written with functional calls and bare parameters."""

    def __init__(self, net: Net):
        super().__init__()
        for name in ("conv1", "conv2", "conv3", "fc1", "fc2"):
            mod = getattr(net, name)
            setattr(self, name, nn.Parameter(mod.weight.detach().clone()))
            if mod.bias is not None:
                setattr(self, f"{name}_bias", nn.Parameter(mod.bias.detach().clone()))
        for name in ("bn1", "bn2"):
            bn = getattr(net, name)
            for attr in ("running_mean", "running_var", "weight", "bias"):
                self.register_buffer(f"{name}_{attr}", getattr(bn, attr).detach().clone())

    def _bn(self, x, name):
        b = lambda a: getattr(self, f"{name}_{a}")  # noqa: E731
        return F.batch_norm(x, b("running_mean"), b("running_var"), b("weight"), b("bias"),
                            False, 0.1, 1e-5)

    def forward(self, x):
        y = F.relu(self._bn(F.conv2d(x, self.conv1, padding=1), "bn1"))
        z = torch.relu(torch.add(F.conv2d(y, self.conv2, self.conv2_bias, padding=2,
                                          dilation=2, groups=4), y))
        z = F.max_pool2d(F.relu(F.conv2d(z, self.conv3, self.conv3_bias, stride=2, padding=1)), 2)
        a, b = torch.chunk(z, 2, 1)
        z = torch.cat((b, a), dim=1).view(z.shape[0], -1)
        z = F.relu(self._bn(F.linear(z, self.fc1, self.fc1_bias), "bn2"))
        return z @ self.fc2.t() + self.fc2_bias


def make_net(seed=0) -> Net:
    torch.manual_seed(seed)
    net = Net()
    with torch.no_grad():  # non-trivial batch-norm statistics and affine parameters
        for bn in (net.bn1, net.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return net.eval()


def torch_outputs(net: Net, x) -> dict[str, np.ndarray]:
    """What PyTorch computed at each MAC layer's (fused) output, via hooks."""
    taps = {"conv1": net.relu1, "conv2": net.conv2, "conv3": net.relu3, "fc1": net.relu4,
            "fc2": net.fc2}
    got: dict[str, np.ndarray] = {}
    hooks = [mod.register_forward_hook(
        lambda m, a, o, name=name: got.__setitem__(name, o.detach().numpy().copy()))
        for name, mod in taps.items()]
    ins = {}
    hooks += [mod.register_forward_pre_hook(
        lambda m, a, name=name: ins.__setitem__(name, a[0].detach().numpy().copy()))
        for name, mod in (("conv1", net.conv1), ("conv2", net.conv2), ("conv3", net.conv3),
                          ("fc1", net.fc1), ("fc2", net.fc2))]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    return got, ins


def reference(layer, d):
    """layer_output of the dequantized tensors, bias added before the activation."""
    y = layer_output(dataclasses.replace(layer, activation="none"), d["input"], d["weight"])
    y = y + d["bias"].reshape((1, -1) + (1,) * (y.ndim - 2))
    return np.maximum(y, 0) if layer.activation == "relu" else y


@pytest.fixture(scope="module")
def net_and_input():
    torch.manual_seed(1)
    return make_net(), torch.rand(3, 3, 8, 8)


@pytest.mark.parametrize("bits,per_channel,rel_tol", [(16, False, 2e-4), (8, False, 4e-2),
                                                      (8, True, 4e-2)])
def test_trace_reproduces_pytorch(net_and_input, tmp_path, bits, per_channel, rel_tol):
    net, x = net_and_input
    path = tmp_path / "t.npz"
    export_trace(net, x, path, weight_bits=bits, act_bits=bits, per_channel=per_channel)
    trace = accelsim.read_trace(path)
    entries, arrays = read_entries(path)
    want, _ = torch_outputs(net, x)
    assert [lay.name for lay in trace.mac_layers] == list(want)
    for layer in trace.mac_layers:
        e, d = entries[layer.name], dequantize_layer(entries[layer.name], arrays)
        torch_y = want[layer.name]
        # the stored output is PyTorch's output, rounded to the output scale
        assert np.abs(d["output"] - torch_y).max() <= e["output_scale"] / 2 * 1.0001
        # the reference computation on the trace tensors gives PyTorch's output
        err = np.abs(reference(layer, d) - torch_y).max()
        assert err <= rel_tol * np.abs(torch_y).max(), (layer.name, err)
        for role in ("input", "weight", "output"):
            q = trace.tensor(layer, role)
            assert q.dtype == (np.int8 if bits == 8 else np.int16)
            assert np.abs(q.astype(np.int64)).max() <= qmax(bits)
        ws = np.asarray(e["weight_scale"])
        assert ws.shape == ((layer.k * layer.groups,) if per_channel else ())


def test_activation_sparsity_is_pytorchs(net_and_input, tmp_path):
    net, x = net_and_input
    path = tmp_path / "t.npz"
    export_trace(net, x, path)
    trace = accelsim.read_trace(path)
    entries, _ = read_entries(path)
    _, ins = torch_outputs(net, x)
    checked = 0
    for layer in trace.mac_layers:
        q = trace.tensor(layer, "input").reshape(ins[layer.name].shape)
        t = ins[layer.name]
        assert np.all(q[t == 0] == 0)  # every zero PyTorch produced is a zero in the trace
        extra = underflow_count(t, entries[layer.name]["act_scale"])
        assert np.count_nonzero(q == 0) == np.count_nonzero(t == 0) + extra
        if layer.name != "conv1":  # after a ReLU: real sparsity, and no value lost at 16 bits
            assert np.mean(t == 0) > 0.1 and extra == 0
            checked += 1
    assert checked == 4


def test_batch_norm_is_folded(net_and_input, tmp_path):
    net, x = net_and_input
    path = tmp_path / "t.npz"
    headers = export_trace(net, x, path)
    kinds = [h["kind"] for h in headers]
    assert "batch_norm" not in kinds and "relu" not in kinds
    entries, arrays = read_entries(path)
    for mac, bn, relu in (("conv1", "bn1", "relu1"), ("fc1", "bn2", "relu4")):
        e = entries[mac]
        assert e["fused"] == [bn, relu] and e["activation"] == "relu"
        mod, norm = getattr(net, mac), getattr(net, bn)
        f64 = lambda t: t.detach().double().numpy()  # noqa: E731
        inv = f64(norm.weight) / np.sqrt(f64(norm.running_var) + norm.eps)
        w = f64(mod.weight) * inv.reshape((-1,) + (1,) * (mod.weight.dim() - 1))
        b0 = 0 if mod.bias is None else f64(mod.bias)
        b = (b0 - f64(norm.running_mean)) * inv + f64(norm.bias)
        d = dequantize_layer(e, arrays)
        assert np.abs(d["weight"] - w).max() <= e["weight_scale"] / 2 * 1.0001
        assert np.abs(d["bias"] - b).max() <= e["act_scale"] * e["weight_scale"] / 2 * 1.0001


def test_batch_norm_stays_when_its_input_has_other_readers(tmp_path):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 1)
            self.bn = nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.conv(x)
            return self.bn(y) + y

    headers = export_trace(Branchy().eval(), torch.rand(1, 2, 4, 4), tmp_path / "b.npz")
    assert [(h["name"], h["kind"]) for h in headers] == [
        ("conv", "conv2d"), ("bn", "batch_norm"), ("add", "add")]
    assert headers[0]["fused"] == [] and headers[2]["inputs"] == ["bn", "conv"]


def test_functional_model_exports_the_same_trace(net_and_input, tmp_path):
    net, x = net_and_input
    fnet = FunctionalNet(net).eval()
    with torch.no_grad():
        assert torch.allclose(net(x), fnet(x), atol=1e-6)
    a_path, b_path = tmp_path / "module.npz", tmp_path / "functional.npz"
    ha = export_trace(net, x, a_path, network="net")
    hb = export_trace(fnet, x, b_path, network="net")
    assert [h["kind"] for h in ha] == [h["kind"] for h in hb]
    ta, tb = accelsim.read_trace(a_path), accelsim.read_trace(b_path)
    for la, lb in zip(ta.layers, tb.layers):
        assert la.input_shape == lb.input_shape and la.output_shape == lb.output_shape
        if la.is_mac:
            assert la == dataclasses.replace(lb, tensors=la.tensors)  # names too
            for role in ("input", "weight", "output"):
                assert np.array_equal(ta.tensor(la, role), tb.tensor(lb, role)), (la.name, role)
    ea, eb = read_entries(a_path)[0], read_entries(b_path)[0]
    for h in ha:
        if h["kind"] in ("conv2d", "linear"):
            for key in ("act_scale", "output_scale", "weight_scale"):
                assert ea[h["name"]][key] == eb[h["name"]][key]
            fused_b = eb[h["name"]]["fused"]  # functional: + fc2_bias is a bias add, folded
            assert len(ea[h["name"]]["fused"]) == len(fused_b) - (h["name"] == "fc2")


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_other_ops_are_listed_not_dropped(tmp_path):
    class Odd(nn.Module):
        def __init__(self):
            super().__init__()
            self.c1d = nn.Conv1d(4, 4, 3)
            self.same = nn.Conv2d(4, 4, 2, padding="same")
            self.w = nn.Parameter(torch.randn(6, 4))

        def forward(self, x):                      # x [N, 4, 6, 6]
            y = self.same(x)                       # even kernel, 'same': asymmetric padding
            y = torch.sigmoid(y) * 2.0
            s = self.c1d(y.flatten(2))             # [N, 4, 34]
            att = s @ s.transpose(1, 2)            # a product of two activations
            lin = y.mean([2, 3]) @ self.w.t()      # x @ W.T: a linear layer named after w
            return att.sum() + lin.sum() + F.avg_pool2d(y, 2).sum()

    torch.manual_seed(0)
    headers = export_trace(Odd().eval(), torch.rand(2, 4, 6, 6), tmp_path / "o.npz")
    by_kind = {h["kind"]: h for h in headers}
    assert by_kind["unsupported_conv2d"]["unsupported"].startswith("padding='same'")
    assert by_kind["unsupported_conv1d"]["input_shape"] == [2, 4, 36]
    assert by_kind["sigmoid"]["output_shape"] == [2, 4, 6, 6]
    assert by_kind["matmul"]["input_shape"] == [2, 4, 34]
    assert by_kind["linear"]["name"] == "w" and by_kind["linear"]["input_shape"] == [2, 4]
    assert {"mul", "reshape", "permute", "mean", "avgpool", "sum", "add"} <= set(by_kind)
    trace = accelsim.read_trace(tmp_path / "o.npz")
    assert [lay.name for lay in trace.mac_layers] == ["w"]


def test_uncaptured_leaf_module_is_listed(tmp_path):
    class Opaque(nn.Module):  # computes outside torch: no op to capture
        def forward(self, x):
            return torch.from_numpy(np.tanh(x.numpy()))

    model = nn.Sequential(nn.Conv2d(1, 2, 1), Opaque()).eval()
    headers = export_trace(model, torch.rand(1, 1, 3, 3), tmp_path / "o.npz")
    assert [(h["name"], h["kind"]) for h in headers] == [("0", "conv2d"),
                                                         ("1", "unsupported_opaque")]
    assert "not captured" in headers[1]["unsupported"]


def test_digits_model_runs_on_eyeriss(tmp_path):
    from accelsim.bridge.inputs import digits_images

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 8, 5),
                          nn.ReLU(), nn.Flatten(), nn.Linear(8 * 10 * 10, 10)).eval()
    x, _ = digits_images((2, 1, 32, 32))
    path = tmp_path / "d.npz"
    export_trace(model, torch.from_numpy(x), path, network="tiny_digits")
    trace = accelsim.read_trace(path)
    assert trace.network == "tiny_digits" and trace.batch == 2
    result = accelsim.run(accelsim.load_arch(EYERISS_YAML), trace)
    simulated = [r for r in result.layers if r.simulated]
    assert [r.layer.name for r in simulated] == ["0", "3", "6"]
    assert all(r.counts.cycles[0] > 0 for r in simulated)
    # digits have a black background; conv 3 reads a ReLU output: both are sparse
    assert simulated[0].ifmap_density < 0.8 and simulated[1].ifmap_density < 0.9
    assert {r.layer.op for r in result.layers if not r.simulated} == {"maxpool", "flatten"}


def test_operators_metadata_and_its_errors(net_and_input, tmp_path):
    net, x = net_and_input
    headers = export_trace(net, x, tmp_path / "t.npz",
                           operators={"conv2": "shift", "fc2": "fp"})
    ops = {h["name"]: h.get("operator") for h in headers}
    assert ops["conv2"] == "shift" and ops["fc2"] == "fp" and ops["conv1"] == "int"
    with pytest.raises(AccelsimError, match=r"u\.npz: not written: layers\[\d+\]\(conv2\)\."
                                            r"operator: binary_weight needs weight_bits == 1"):
        export_trace(net, x, tmp_path / "u.npz", operators={"conv2": "binary_weight"})
    with pytest.raises(AccelsimError, match=r"operators: no MAC layer named 'pool' "
                                            r"\(MAC layers: conv1, conv2, conv3, fc1, fc2\)"):
        export_trace(net, x, tmp_path / "u.npz", operators={"pool": "int"})
    with pytest.raises(AccelsimError, match=r"operators\.fc2: must be one of .* \(got 'int4'\)"):
        export_trace(net, x, tmp_path / "u.npz", operators={"fc2": "int4"})
    assert not (tmp_path / "u.npz").exists()


def test_bits_and_dtypes(net_and_input, tmp_path):
    net, x = net_and_input
    for bits, dtype in ((4, np.int8), (12, np.int16), (20, np.int32)):
        export_trace(net, x, tmp_path / "t.npz", weight_bits=bits, act_bits=bits)
        trace = accelsim.read_trace(tmp_path / "t.npz")
        w = trace.tensor(trace.mac_layers[0], "weight")
        assert w.dtype == dtype and np.abs(w).max() == qmax(bits)
        assert trace.mac_layers[0].weight_bits == bits
    with pytest.raises(AccelsimError, match=r"weight_bits: must be an integer between 2 and "
                                            r"32 \(got 1\)"):
        export_trace(net, x, tmp_path / "t.npz", weight_bits=1)
    with pytest.raises(AccelsimError, match=r"act_bits: must be an integer between 2 and "
                                            r"32 \(got 33\)"):
        export_trace(net, x, tmp_path / "t.npz", act_bits=33)


def test_model_errors(net_and_input, tmp_path):
    net, x = net_and_input
    with pytest.raises(AccelsimError, match=r"model: running it on input shape \[1, 3, 5, 5\] "
                                            r"failed \(RuntimeError: "):
        export_trace(net, torch.rand(1, 3, 5, 5), tmp_path / "t.npz")
    net.train()
    try:
        with pytest.raises(AccelsimError, match=r"model: 'Net' is in training mode; call "
                                                r"model\.eval\(\) before exporting"):
            export_trace(net, x, tmp_path / "t.npz")
    finally:
        net.eval()
    with pytest.raises(AccelsimError, match=r"model: must be a torch\.nn\.Module \(got str\)"):
        export_trace("net", x, tmp_path / "t.npz")
    with pytest.raises(AccelsimError, match=r"inputs\[0\]: must be a torch\.Tensor or a NumPy "
                                            r"array \(got list\)"):
        export_trace(net, [[1.0]], tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()


def test_nothing_to_trace_and_training_batch_norm(tmp_path):
    x = torch.rand(1, 2, 4, 4)
    with pytest.raises(AccelsimError, match=r"the model ran no operation on its input "
                                            r"\(nothing to trace\)"):
        export_trace(nn.Identity().eval(), x, tmp_path / "t.npz")
    with pytest.raises(AccelsimError, match=r"inputs: at least one input tensor is needed"):
        export_trace(nn.Identity().eval(), (), tmp_path / "t.npz")

    class BatchStats(nn.Module):  # eval mode, but asks batch norm for batch statistics
        def forward(self, x):
            return F.batch_norm(x, None, None, training=True)

    with pytest.raises(AccelsimError, match=r"batch norm 'batch_norm' uses batch statistics "
                                            r"\(training mode\); call model\.eval\(\)"):
        export_trace(BatchStats().eval(), x, tmp_path / "t.npz")
    assert not (tmp_path / "t.npz").exists()


def test_unknown_data_set():
    from accelsim.bridge.inputs import make_inputs

    with pytest.raises(AccelsimError, match=r"--data: unknown data set 'mnist' \(known: "
                                            r"digits\)"):
        make_inputs((1, 1, 8, 8), data="mnist")


# ---- CLI ------------------------------------------------------------------------------

MODEL_FILE = '''
import torch.nn as nn

def make():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 30 * 30, 10))

def not_a_model():
    return 42

def broken():
    raise ValueError("no weights here")
'''
BAD_FILE = "import torch\nraise RuntimeError('cannot build\\nsecond line')\n"


@pytest.fixture()
def model_file(tmp_path):
    path = tmp_path / "mymodels.py"
    path.write_text(MODEL_FILE)
    (tmp_path / "bad.py").write_text(BAD_FILE)
    return path


def test_cli_export_digits(model_file, tmp_path, capsys):
    from accelsim.bridge.inputs import digits_images
    from accelsim.bridge.quantize import quantize

    out = tmp_path / "cli.npz"
    code = main(["export", f"{model_file}:make", "--input-shape", "1,3,32,32", "--batch", "3",
                 "--data", "digits", "--weight-bits", "8", "--act-bits", "8",
                 "--operators", "3=shift", "-o", str(out)])
    assert code == 0
    assert f"wrote {out} (3 layers, 2 MAC layers, input [3, 3, 32, 32])" in capsys.readouterr().out
    trace = accelsim.read_trace(out)
    assert trace.batch == 3 and trace.network == "make"
    conv, fc = trace.mac_layers
    assert conv.weight_bits == 8 and fc.operator == "shift"
    # an operator the layer's widths do not allow is refused before anything is written
    bad = tmp_path / "bad.npz"
    assert main(["export", f"{model_file}:make", "--input-shape", "1,3,32,32", "--batch", "3",
                 "--weight-bits", "8", "--act-bits", "8", "--operators", "3=binary",
                 "-o", str(bad)]) == 2
    assert "binary needs weight_bits == act_bits == 1" in capsys.readouterr().err
    assert not bad.exists()
    x, _ = digits_images((3, 3, 32, 32))
    assert np.array_equal(trace.tensor(conv, "input"), quantize(x, 8)[0])


def test_cli_export_dotted_module(tmp_path, monkeypatch, capsys):
    (tmp_path / "pkg_models_for_test.py").write_text(MODEL_FILE)
    monkeypatch.chdir(tmp_path)  # not on sys.path, as under the accelsim console script
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    code = main(["export", "pkg_models_for_test:make", "--input-shape", "2,3,32,32",
                 "-o", "r.npz"])
    assert code == 0 and accelsim.read_trace(tmp_path / "r.npz").batch == 2
    x = accelsim.read_trace(tmp_path / "r.npz").tensor(
        accelsim.read_trace(tmp_path / "r.npz").mac_layers[0], "input")
    assert x.min() >= 0 and np.count_nonzero(x) > 0.99 * x.size  # uniform [0, 1) inputs


@pytest.mark.parametrize("args,message", [
    (["nocolon", "--input-shape", "1,3,32,32"],
     "model: expected MODULE_OR_FILE:FACTORY (got 'nocolon')"),
    (["missing/dir/models.py:make", "--input-shape", "1,3,32,32"],
     "model: file 'missing/dir/models.py' not found"),
    (["no_such_module_xyz:make", "--input-shape", "1,3,32,32"],
     "model: cannot import module 'no_such_module_xyz' (ModuleNotFoundError: "),
    (["{file}:nothere", "--input-shape", "1,3,32,32"],
     "has no callable 'nothere' (callables: broken, make, not_a_model)"),
    (["{file}:not_a_model", "--input-shape", "1,3,32,32"],
     "returned int, not a torch.nn.Module"),
    (["{file}:broken", "--input-shape", "1,3,32,32"],
     "failed (ValueError: no weights here)"),
    (["{file}:make", "--input-shape", "1,x,32"],
     "--input-shape: expected comma-separated positive integers like 1,3,32,32 "
     "(got '1,x,32')"),
    (["{file}:make", "--input-shape", "1,3,16,16"],
     "model: running it on input shape [1, 3, 16, 16] failed (RuntimeError: "),
    (["{file}:make", "--input-shape", "1,3,32,32", "--data", "digits", "--batch", "400"],
     "--data digits: the test set has 359 images (asked for a batch of 400)"),
    (["{file}:make", "--input-shape", "3,32,32", "--data", "digits"],
     "--data digits: the input shape must be N,C,H,W (got 3,32,32)"),
    (["{file}:make", "--input-shape", "1,3,32,32", "--weight-bits", "0"],
     "weight_bits: must be an integer between 2 and 32 (got 0)"),
    (["{file}:make", "--input-shape", "1,3,32,32", "--operators", "conv1"],
     "--operators: expected name=operator (got 'conv1')"),
    (["{dir}/bad.py:make", "--input-shape", "1,3,32,32"],
     "bad.py' failed (RuntimeError: cannot build)"),
    (["{file}:make", "--input-shape", "1,3,32,32", "--batch", "0"],
     "--batch: must be >= 1 (got 0)"),
])
def test_cli_export_errors(model_file, tmp_path, capsys, args, message):
    args = [a.replace("{file}", str(model_file)).replace("{dir}", str(model_file.parent))
            for a in args]
    code = main(["export", *args, "-o", str(tmp_path / "e.npz")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("accelsim: error: ") and err.count("\n") == 1, err
    assert message in err
    assert not (tmp_path / "e.npz").exists()
