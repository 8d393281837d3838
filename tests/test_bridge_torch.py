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
                                            r"operator: fp needs weight_bits == act_bits, 16 "
                                            r"or 32 \(got 'fp w8a8'\)"):
        export_trace(net, x, tmp_path / "u.npz", weight_bits=8, act_bits=8,
                     operators={"conv2": "fp"})
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
                                            r"32 \(got 1\); 1-bit layers are those given the "
                                            r"operator binary or binary_weight"):
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

    assert not (tmp_path / "t.npz").exists()


def test_batch_norm_with_batch_statistics_is_listed_not_folded(tmp_path):
    class BatchStats(nn.Module):  # eval mode, but batch norm normalizes with batch statistics
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 1)
            self.bn = nn.BatchNorm2d(4, track_running_stats=False)
            self.register_buffer("mean", torch.zeros(4))
            self.register_buffer("var", torch.ones(4))

        def forward(self, x):
            return F.batch_norm(self.bn(self.conv(x)), self.mean, self.var, training=True)

    torch.manual_seed(0)
    headers = export_trace(BatchStats().eval(), torch.rand(2, 2, 4, 4), tmp_path / "t.npz")
    assert [(h["name"], h["kind"]) for h in headers] == [
        ("conv", "conv2d"), ("bn", "unsupported_batch_norm"),
        ("batch_norm", "unsupported_batch_norm")]
    assert headers[0]["fused"] == []
    assert headers[1]["unsupported"] == (
        "has no running statistics (track_running_stats=False): it normalizes with the "
        "statistics of each batch, so it cannot be folded into the layer before it")
    assert headers[2]["unsupported"].startswith("is called with training=True: it normalizes")
    assert "eval" not in headers[1]["unsupported"]


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
    assert fc.weight_bits == 4 and fc.act_bits == 8  # a sign and a 3-bit magnitude code
    # binary (the --operators help example) writes 1-bit weights and inputs
    assert main(["export", f"{model_file}:make", "--input-shape", "1,3,32,32", "--batch", "3",
                 "--operators", "3=binary", "-o", str(tmp_path / "bin.npz")]) == 0
    fc = accelsim.read_trace(tmp_path / "bin.npz").mac_layers[1]
    assert (fc.operator, fc.weight_bits, fc.act_bits) == ("binary", 1, 1)
    # an operator the layer's widths do not allow is refused before anything is written
    bad = tmp_path / "bad.npz"
    assert main(["export", f"{model_file}:make", "--input-shape", "1,3,32,32", "--batch", "3",
                 "--weight-bits", "8", "--act-bits", "8", "--operators", "3=fp",
                 "-o", str(bad)]) == 2
    assert "fp needs weight_bits == act_bits, 16 or 32" in capsys.readouterr().err
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


# ---- folding on the right axis -------------------------------------------------------

class _Seq3d(nn.Module):
    """A linear on [N, T, C] (channels on the last axis), then ``tail``."""

    def __init__(self, tail: str):
        super().__init__()
        self.tail = tail
        self.fc = nn.Linear(8, 8 if tail == "bn" else 5)
        self.bn = nn.BatchNorm1d(8)
        self.register_buffer("per_t", torch.arange(6.0).reshape(6, 1))
        self.register_buffer("per_k", torch.linspace(-1, 1, 5))
        with torch.no_grad():
            self.bn.running_mean.uniform_(-1, 1)
            self.bn.running_var.uniform_(0.5, 2)

    def forward(self, x):
        y = self.fc(x)
        if self.tail == "bn":       # BatchNorm1d on [N, T, K] normalizes T (axis 1), not K
            return self.bn(y)
        if self.tail == "per_t":    # a constant per position t: not a bias of the layer
            return y + self.per_t
        return y + self.per_k       # a constant per output channel: a bias


@pytest.mark.parametrize("tail,shape", [("bn", (2, 8, 8)), ("per_t", (2, 6, 8)),
                                        ("per_k", (2, 6, 8))])
def test_linear_on_3d_input_folds_only_its_channel_axis(tmp_path, tail, shape):
    torch.manual_seed(0)
    model = _Seq3d(tail).eval()
    x = torch.rand(*shape)
    path = tmp_path / "l3.npz"
    headers = export_trace(model, x, path)
    entries, arrays = read_entries(path)
    fc = entries["fc"]
    with torch.no_grad():
        y_fc, y = model.fc(x).numpy(), model(x).numpy()
    d = dequantize_layer(fc, arrays)
    recomputed = d["input"] @ d["weight"].T + d["bias"]
    if tail == "per_k":  # folded: the layer computes the model's output
        assert fc["fused"] == ["add"] and [h["kind"] for h in headers] == ["linear"]
        want = y
    else:  # the batch norm / add stays a layer of its own, after the linear
        assert fc["fused"] == [] and [h["kind"] for h in headers] == [
            "linear", "batch_norm" if tail == "bn" else "add"]
        want = y_fc
    assert np.abs(recomputed.reshape(want.shape) - want).max() <= 1e-3 * np.abs(want).max()
    assert np.abs(d["output"].reshape(want.shape) - want).max() <= fc["output_scale"]


def test_cli_export_per_position_constant(tmp_path, capsys):
    (tmp_path / "l3models.py").write_text(
        "import torch, torch.nn as nn\n"
        "class B(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.fc = nn.Linear(8, 5)\n"
        "        self.register_buffer('c', torch.arange(6.).reshape(6, 1))\n"
        "    def forward(self, x):\n"
        "        return self.fc(x) + self.c\n"
        "def b():\n"
        "    torch.manual_seed(0)\n"
        "    return B()\n")
    out = tmp_path / "x.npz"
    assert main(["export", f"{tmp_path / 'l3models.py'}:b", "--input-shape", "2,6,8",
                 "-o", str(out)]) == 0
    assert "(2 layers, 1 MAC layers, input [2, 6, 8])" in capsys.readouterr().out
    add = accelsim.read_trace(out).layers[1]
    assert add.op == "add" and add.input_shapes == ((2, 6, 5),)


# ---- ops with MACs the trace cannot simulate -------------------------------------------

class _Unsupported(nn.Module):
    def __init__(self):
        super().__init__()
        self.same = nn.Conv2d(4, 4, 2, padding="same")
        self.c1 = nn.Conv1d(4, 6, 3, stride=2, padding=2, groups=2)
        self.ct = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.c3 = nn.Conv3d(1, 2, 2)

    def forward(self, x):                           # x [N, 4, 6, 6]
        s = self.same(x)
        c1 = self.c1(s.flatten(2))                   # [N, 6, 19]
        ct = self.ct(s)                              # [N, 6, 12, 12]
        c3 = self.c3(s.unsqueeze(1))                 # [N, 2, 3, 5, 5]
        att = c1 @ c1.transpose(1, 2)                # matmul of two activations
        b = torch.bmm(att, c1)
        e = torch.einsum("nct,ndt->ncd", c1, c1)
        return [ct, c3, b, e]


def _ones_macs(module_or_fn, *shapes) -> int:
    """MACs counted by running the op on all-ones tensors: every MAC adds exactly 1."""
    with torch.no_grad():
        if isinstance(module_or_fn, nn.Module):
            m = module_or_fn
            w = m.weight
            fn = getattr(F, {nn.Conv1d: "conv1d", nn.Conv2d: "conv2d", nn.Conv3d: "conv3d",
                             nn.ConvTranspose2d: "conv_transpose2d"}[type(m)])
            x = torch.ones(shapes[0])
            if isinstance(m, nn.ConvTranspose2d):
                y = fn(x, torch.ones_like(w), None, m.stride, m.padding, m.output_padding,
                       m.groups, m.dilation)
            else:
                pad = m.padding if m.padding != "same" else "same"
                y = fn(x, torch.ones_like(w), None, m.stride, pad, m.dilation, m.groups)
            return int(y.sum())
        return int(module_or_fn(*[torch.ones(s) for s in shapes]).sum())


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_ops_with_macs_record_them_and_the_report_says_so(tmp_path, capsys):
    from accelsim.report.report import format_table, report_rows

    torch.manual_seed(0)
    model = _Unsupported().eval()
    path = tmp_path / "u.npz"
    by_name = {h["name"]: h for h in export_trace(model, torch.rand(2, 4, 6, 6), path)}
    want = {"same": _ones_macs(model.same, (2, 4, 6, 6)),
            "c1": _ones_macs(model.c1, (2, 4, 36)),
            "ct": _ones_macs(model.ct, (2, 4, 6, 6)),
            "c3": _ones_macs(model.c3, (2, 1, 4, 6, 6)),
            "matmul": _ones_macs(torch.matmul, (2, 6, 19), (2, 19, 6)),
            "bmm": _ones_macs(torch.bmm, (2, 6, 6), (2, 6, 19)),
            "einsum": _ones_macs(lambda a, b: torch.einsum("nct,ndt->ncd", a, b),
                                 (2, 6, 19), (2, 6, 19))}
    assert {n: by_name[n].get("macs") for n in want} == want
    assert by_name["ct"]["kind"] == "unsupported_conv_transpose2d"
    assert by_name["c3"]["kind"] == "unsupported_conv3d"
    assert "macs" not in by_name["permute"] and "macs" not in by_name["reshape"]

    trace = accelsim.read_trace(path)
    assert {lay.name: lay.op_macs for lay in trace.layers if lay.op_macs} == want
    result = accelsim.run(accelsim.load_arch(EYERISS_YAML), trace)
    rows = report_rows(result)
    row = {r["name"]: r for r in rows}
    assert row["ct"]["macs"] == want["ct"] and not row["ct"]["simulated"]
    assert row["ct"]["reason"] == (
        f"unsupported_conv_transpose2d is not simulated: {want['ct']:,} MACs not counted in "
        "the totals (conv_transpose2d is not in the trace schema (conv2d, linear))")
    assert row["matmul"]["reason"] == (f"matmul is not simulated: {want['matmul']:,} MACs not "
                                       "counted in the totals")
    assert row["permute"]["reason"] == "permute is not simulated (no MACs)"
    assert row["total"]["macs"] == 0  # no MAC layer here: nothing simulated, none totalled
    table = format_table(rows)
    assert table.splitlines()[-1].endswith(f"MB of input+output, {sum(want.values()):,} MACs "
                                           "not counted in the totals")
    assert main(["run", str(EYERISS_YAML), str(path)]) == 0
    assert f"{sum(want.values()):,} MACs not counted in the totals" in capsys.readouterr().out


def test_io_bytes_count_every_input_and_output(tmp_path):
    from accelsim.report.report import report_rows

    class CatSplit(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 1)

        def forward(self, x):
            y = self.conv(x)
            a, b = y.chunk(2, dim=1)
            return torch.cat([b, a, y], 1)

    path = tmp_path / "c.npz"
    heads = {h["name"]: h for h in export_trace(CatSplit().eval(), torch.rand(2, 2, 3, 3), path,
                                                act_bits=8)}
    assert heads["channel_split"]["input_shapes"] == [[2, 4, 3, 3]]
    assert heads["channel_split"]["output_shapes"] == [[2, 2, 3, 3], [2, 2, 3, 3]]
    assert heads["concat"]["input_shapes"] == [[2, 2, 3, 3], [2, 2, 3, 3], [2, 4, 3, 3]]
    rows = {r["name"]: r for r in report_rows(
        accelsim.run(accelsim.load_arch(EYERISS_YAML), accelsim.read_trace(path)))}
    assert rows["channel_split"]["io_bytes"] == 72 + 72       # 8-bit: in 72 B, two halves of 36 B
    assert rows["concat"]["io_bytes"] == 144 + 144       # 36 + 36 + 72 in, 144 out


# ---- names ------------------------------------------------------------------------------

def test_mac_op_takes_its_modules_name(tmp_path):
    class Reflect(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")
            self.c1 = nn.Conv1d(4, 4, 3, padding=1, padding_mode="circular")

        def forward(self, x):
            return self.c1(self.c(x).flatten(2))

    torch.manual_seed(0)
    headers = export_trace(Reflect().eval(), torch.rand(1, 3, 5, 5), tmp_path / "r.npz",
                           weight_bits=8, act_bits=8, operators={"c": "shift"})
    assert [(h["name"], h["kind"]) for h in headers] == [
        ("c.pad", "pad"), ("c", "conv2d"), ("reshape", "reshape"), ("c1.pad", "pad"),
        ("c1", "unsupported_conv1d")]
    assert headers[1]["operator"] == "shift" and headers[1]["inputs"] == ["c.pad"]


# ---- operators ----------------------------------------------------------------------------

def _shift_codes(w: np.ndarray, scale) -> np.ndarray:
    """The shift rule written out: zero below scale/2, else the nearest power in log2."""
    s = np.broadcast_to(np.reshape(scale, (-1,) + (1,) * (w.ndim - 1)), w.shape)
    out = np.zeros(w.shape)
    for idx in np.ndindex(w.shape):
        r = abs(w[idx]) / s[idx]
        if r >= 0.5:
            k = min(range(7), key=lambda e: abs(np.log2(r) - e))
            out[idx] = np.sign(w[idx]) * 2 ** k
    return out


@pytest.mark.parametrize("per_channel", [False, True])
def test_operators_quantize_for_their_operator(net_and_input, tmp_path, per_channel):
    net, x = net_and_input
    ops = {"conv2": "shift", "conv3": "binary_weight", "fc1": "binary"}
    path, plain = tmp_path / "ops.npz", tmp_path / "int.npz"
    export_trace(net, x, path, weight_bits=8, act_bits=8, per_channel=per_channel,
                 operators=ops)
    export_trace(net, x, plain, weight_bits=8, act_bits=8, per_channel=per_channel)
    entries, arrays = read_entries(path)
    base, base_arrays = read_entries(plain)
    widths = {n: (entries[n]["operator"], entries[n]["weight_bits"], entries[n]["act_bits"])
              for n in entries if "operator" in entries[n]}
    assert widths == {"conv1": ("int", 8, 8), "conv2": ("shift", 4, 8),
                      "conv3": ("binary_weight", 1, 8), "fc1": ("binary", 1, 1),
                      "fc2": ("int", 8, 8)}
    f64 = lambda t: t.detach().double().numpy()  # noqa: E731
    by_channel = lambda a: a.reshape(a.shape[0], -1)  # noqa: E731

    # shift: signed powers of two or zero, the largest weight at the top exponent 2**6
    e = entries["conv2"]
    w, q = f64(net.conv2.weight), arrays[e["tensors"]["weight"]]
    assert q.dtype == np.int8
    assert set(np.unique(q)) <= {0, *(s * 2 ** k for s in (-1, 1) for k in range(7))}
    top = by_channel(np.abs(w)).max(axis=1) if per_channel else np.abs(w).max()
    assert np.allclose(e["weight_scale"], top / 64)
    assert np.array_equal(q, _shift_codes(w, e["weight_scale"]))

    # binary_weight: +-1 times the mean magnitude (XNOR-Net's alpha)
    e = entries["conv3"]
    w, q = f64(net.conv3.weight), arrays[e["tensors"]["weight"]]
    assert np.array_equal(q, np.where(w >= 0, 1, -1))
    alpha = by_channel(np.abs(w)).mean(axis=1) if per_channel else np.abs(w).mean()
    assert np.allclose(e["weight_scale"], alpha)
    assert e["tensors"]["input"] == base["conv3"]["tensors"]["input"]  # int inputs, shared

    # binary: the signs of the input too, in the layer's own array, scale mean |x|
    e = entries["fc1"]
    _, ins = torch_outputs(net, x)
    xin = ins["fc1"].astype(np.float64)
    assert e["tensors"]["input"] == "fc1.input"
    assert np.array_equal(arrays["fc1.input"], np.where(xin >= 0, 1, -1))
    assert np.isclose(e["act_scale"], np.abs(xin).mean())
    # the bias is at the accumulator's scale
    d = dequantize_layer(e, arrays)
    b_fold = d["bias"]
    assert np.abs(b_fold - dequantize_layer(base["fc1"], base_arrays)["bias"]).max() <= \
        np.max(e["act_scale"] * np.asarray(e["weight_scale"])) + \
        np.max(base["fc1"]["act_scale"] * np.asarray(base["fc1"]["weight_scale"]))

    # int layers are exactly what they are without operators
    for name in ("conv1", "fc2"):
        for role in ("input", "weight", "output"):
            assert np.array_equal(arrays[entries[name]["tensors"][role]],
                                  base_arrays[base[name]["tensors"][role]])
    # and the widths are ones a reconfigurable core runs
    result = accelsim.run(accelsim.load_arch(EYERISS_YAML.parent / "reconfigurable.yaml"),
                          accelsim.read_trace(path))
    assert all(r.simulated for r in result.layers if r.layer.is_mac)


def test_shift_rule_edges():
    from accelsim.bridge.quantize import quantize_shift, shift_exponents

    assert [shift_exponents(b) for b in (2, 3, 4)] == [1, 3, 7]
    # 4 bits: scale max/64; zero below half of 2**0, log2 rounding (sqrt 2 ~ 1.414)
    q, s = quantize_shift(np.array([64.0, 0.49, 0.5, 0.70, 1.41, 1.42, -3.0, -90.0]), 4)
    assert s == 90 / 64
    q, s = quantize_shift(np.array([64.0, 0.49, 0.5, 0.70, 1.41, 1.42, -3.0]), 4)
    assert s == 1.0 and q.tolist() == [64, 0, 1, 1, 1, 2, -4] and q.dtype == np.int8
    q, s = quantize_shift(np.array([1.0, 0.3, -0.6, 0.2]), 2)  # 2 bits: ternary
    assert s == 1.0 and q.tolist() == [1, 0, -1, 0]


# ---- the CLI on an exported trace -----------------------------------------------------------

def test_cli_runs_a_freshly_exported_digits_trace(model_file, tmp_path, capsys):
    import json

    out = tmp_path / "digits.npz"
    assert main(["export", f"{model_file}:make", "--input-shape", "2,3,32,32", "--data",
                 "digits", "--weight-bits", "8", "--act-bits", "8", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", str(EYERISS_YAML), str(out)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["layer", "MACs", "cycles"]
    assert [line.split()[0] for line in table[1:4]] == ["0", "3", "total"]
    assert table[4].startswith("not simulated: 1 layers (flatten)")
    report = tmp_path / "r.json"
    assert main(["run", str(EYERISS_YAML), str(out), "--format", "json", "--out",
                 str(report)]) == 0
    data = json.loads(report.read_text())
    conv = next(r for r in data["layers"] if r["name"] == "0")
    assert conv["macs"] == 2 * 4 * 3 * 30 * 30 * 9 and conv["cycles"] > 0
    assert data["trace"]["network"] == "make" and data["total"]["energy_pj"]["total"] > 0


# ---- pool windows ------------------------------------------------------------------------

class Pools(nn.Module):
    """The pools whose window a trace can state, one it cannot (dilated), and an
    adaptive pool (no window). An 18x18 input makes ceil_mode matter (9 -> 5)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.pool1 = nn.MaxPool2d(3, 2, padding=1)
        self.pool2 = nn.MaxPool2d(2, ceil_mode=True)
        self.pool3 = nn.AvgPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.gap(self.pool3(self.pool2(self.pool1(torch.relu(self.conv(x))))))


POOL_WINDOWS = {  # name: (kind, kernel, stride, padding, ceil_mode, output H and W)
    "pool1": ("maxpool", [3, 3], [2, 2], [1, 1], False, [9, 9]),
    "pool2": ("maxpool", [2, 2], [2, 2], [0, 0], True, [5, 5]),
    "pool3": ("avgpool", [2, 2], [2, 2], [0, 0], False, [2, 2])}


def check_pool_windows(entries: dict, trace) -> None:
    """The windows of :class:`Pools` in a trace's entries and in the trace read back."""
    layers = {layer.name: layer for layer in trace.layers}
    for name, (kind, kernel, stride, padding, ceil, out_hw) in POOL_WINDOWS.items():
        e = entries[name]
        assert (e["kind"], e["kernel"], e["stride"], e["padding"], e["ceil_mode"],
                e["output_shape"][2:]) == (kind, kernel, stride, padding, ceil, out_hw)
        window = layers[name].window
        assert (list(window.kernel), list(window.stride), list(window.padding),
                window.ceil_mode) == (kernel, stride, padding, ceil)
    assert not {"kernel", "stride", "padding", "ceil_mode"} & set(entries["gap"])
    assert layers["gap"].window is None


def test_pools_record_their_window(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "pools.npz"
    export_trace(Pools().eval(), torch.rand(2, 1, 18, 18), path, network="pools")
    check_pool_windows(read_entries(path)[0], accelsim.read_trace(path))


def test_pool_window_left_out_when_the_schema_cannot_state_it(tmp_path):
    # a dilated max pool: the schema has no dilation; F.avg_pool2d with a pair
    # kernel and stride 1 is stated (a non-square window)
    class Net(nn.Module):
        def forward(self, x):
            return F.avg_pool2d(F.max_pool2d(x, 2, dilation=2), (2, 3), stride=1)

    path = tmp_path / "dilated.npz"
    export_trace(Net().eval(), torch.rand(1, 2, 9, 9), path, network="dilated")
    entries = read_entries(path)[0]
    assert [e["kind"] for e in entries.values()] == ["maxpool", "avgpool"]
    dilated, avg = entries.values()
    assert not {"kernel", "stride", "padding", "ceil_mode"} & set(dilated)
    assert (avg["kernel"], avg["stride"], avg["padding"], avg["output_shape"]) == \
        ([2, 3], [1, 1], [0, 0], [1, 2, 3, 2])
    accelsim.read_trace(path)


def test_pool_window_the_schema_would_refuse_is_left_out():
    from accelsim.bridge.graph import Graph, Node, build_trace

    # padding over half the kernel, and a window that does not give the output shape
    graph = Graph()
    graph.add(Node(op="input", name="input", inputs=[], outputs=[np.ones((1, 2, 8, 8))]))
    for name, window in (("wide", {"kernel": [2, 2], "stride": [2, 2], "padding": [2, 2],
                                   "ceil_mode": False}),
                         ("wrong", {"kernel": [3, 3], "stride": [1, 1], "padding": [0, 0],
                                    "ceil_mode": False})):
        graph.add(Node(op="maxpool", name=name, inputs=[(len(graph.nodes) - 1, 0)],
                       outputs=[np.ones((1, 2, 4, 4))], attrs={"window": window}))
    graph.outputs = [(2, 0)]
    headers, _ = build_trace(graph)
    assert [h["name"] for h in headers] == ["wide", "wrong"]
    for h in headers:
        assert not {"kernel", "stride", "padding", "ceil_mode"} & set(h), h["name"]
