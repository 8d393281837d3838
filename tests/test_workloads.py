"""The committed digits workloads: loadable, consistent, faithful, runnable; and
accelsim without the optional packages."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

import accelsim
from accelsim.bridge.graph import dequantize_layer, read_entries
from accelsim.bridge.quantize import qmax
from accelsim.workload.reference import layer_output
from conftest import EYERISS_YAML, ROOT

WORKLOADS = ROOT / "workloads"
NAMES = ("lenet5", "squeezenet", "shufflenet")
METRICS = json.loads((WORKLOADS / "metrics.json").read_text())


def reference(layer, d):
    y = layer_output(dataclasses.replace(layer, activation="none"), d["input"], d["weight"])
    y = y + d["bias"].reshape((1, -1) + (1,) * (y.ndim - 2))
    return np.maximum(y, 0) if layer.activation == "relu" else y


@pytest.mark.parametrize("name", NAMES)
def test_committed_trace_is_consistent_and_faithful(name):
    path = WORKLOADS / f"{name}_digits.npz"
    trace = accelsim.read_trace(path)
    entries, arrays = read_entries(path)
    assert trace.network == f"{name}_digits" and trace.batch == METRICS[name]["batch"] == 8
    assert path.stat().st_size == METRICS[name]["trace_bytes"] < 3_000_000
    assert METRICS[name]["test_accuracy"] >= 0.95
    macs = {lay.name for lay in trace.mac_layers}
    assert len(macs) >= 5
    for layer in trace.layers:
        e = entries[layer.name]
        assert not e["kind"].startswith("unsupported_"), layer.name
        if not layer.is_mac:
            continue
        assert layer.weight_bits == layer.act_bits == 16
        for role in ("input", "weight", "output"):
            q = trace.tensor(layer, role)
            assert q.dtype == np.int16 and np.abs(q.astype(np.int32)).max() <= qmax(16)
        # max calibration: the largest weight and activation sit at the top code
        assert np.abs(trace.tensor(layer, "weight").astype(np.int32)).max() == qmax(16)
        assert np.abs(trace.tensor(layer, "output").astype(np.int32)).max() == qmax(16)
        assert e["act_scale"] > 0 and e["output_scale"] > 0 and e["weight_scale"] > 0
        # a MAC layer fed by a MAC layer reads the very array its producer wrote
        if e["inputs"][0] in macs:
            producer = entries[e["inputs"][0]]
            assert e["tensors"]["input"] == producer["tensors"]["output"]
            assert e["act_scale"] == producer["output_scale"]
        d = dequantize_layer(e, arrays)
        err = np.abs(reference(layer, d) - d["output"]).max()
        assert err <= 1e-3 * np.abs(d["output"]).max(), (layer.name, err)


@pytest.mark.parametrize("name", NAMES)
def test_committed_trace_runs_on_eyeriss(name):
    from accelsim.report.report import report_rows

    trace = accelsim.read_trace(WORKLOADS / f"{name}_digits.npz")
    result = accelsim.run(accelsim.load_arch(EYERISS_YAML), trace)
    simulated = [r for r in result.layers if r.simulated]
    assert [r.layer.name for r in simulated] == [lay.name for lay in trace.mac_layers]
    assert all(r.counts.cycles[0] > 0 for r in simulated)
    # after the first layer the inputs are ReLU (or pooled ReLU) outputs: sparse for real
    assert min(r.ifmap_density for r in simulated[1:]) < 0.9
    # a non-MAC layer's bytes are all its inputs and outputs (16-bit)
    rows = {r["name"]: r for r in report_rows(result)}
    for lay in trace.layers:
        if not lay.is_mac:
            assert lay.input_shapes and lay.output_shapes, lay.name
            elems = sum(int(np.prod(sh)) for sh in lay.input_shapes + lay.output_shapes)
            assert rows[lay.name]["io_bytes"] == 2 * elems
    if name == "shufflenet":  # two halves in, one whole out; one whole in, two halves out
        half = 8 * 24 * 8 * 8 * 2  # [8, 24, 8, 8] at 16 bits
        assert rows["stage2.0.concat"]["io_bytes"] == rows["stage2.1.channel_split"][
            "io_bytes"] == 4 * half == 98304


def test_non_mac_header_keys_are_read_and_checked(tmp_path):
    from accelsim.errors import TraceError
    from accelsim.workload.layer import layer_to_header
    from accelsim.workload.trace import write_trace

    def trace_with(**keys):
        path = tmp_path / "t.npz"
        layer = {"name": "cat", "kind": "concat", "input_shape": [1, 2, 3, 3],
                 "output_shape": [1, 4, 3, 3], **keys}
        write_trace(path, network="n", batch=1, layers=[layer], arrays={})
        return path

    old = accelsim.read_trace(trace_with()).layers[0]  # a trace from before the keys
    assert (old.op_macs, old.input_shapes, old.output_shapes) == (0, (), ())
    lay = accelsim.read_trace(trace_with(macs=7, input_shapes=[[1, 2, 3, 3], [1, 2, 3, 3]],
                                         output_shapes=[[1, 4, 3, 3]])).layers[0]
    assert lay.op_macs == 7 and lay.input_shapes == ((1, 2, 3, 3), (1, 2, 3, 3))
    head = layer_to_header(lay)
    assert head["macs"] == 7 and head["input_shapes"] == [[1, 2, 3, 3], [1, 2, 3, 3]]
    for keys, message in (
            ({"macs": -1}, r"layers\[0\]\(cat\)\.macs: must be >= 0 \(got -1\)"),
            ({"macs": "many"}, r"layers\[0\]\(cat\)\.macs: must be an integer"),
            ({"input_shapes": [[1, 2, 3, 3], "x"]},
             r"\.input_shapes: must be a non-empty list of shapes \(lists of integers >= 0\)"),
            ({"output_shapes": [[1, 2, 3, 3]]},
             r"\.output_shapes: the first shape must be output_shape \[1, 4, 3, 3\]")):
        with pytest.raises(TraceError, match=message):
            accelsim.read_trace(trace_with(**keys))


def test_workload_models_reproduce_the_committed_traces(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(WORKLOADS))
    import models
    import torch

    from accelsim.bridge.inputs import digits_images, digits_split, resize
    from accelsim.bridge.torch import export_trace

    x, _ = digits_images((8, 1, 32, 32))
    _, _, x_te, y_te = digits_split()
    x_te = torch.from_numpy(resize(x_te, 32, 32)[:, None])
    for name in NAMES:
        model = getattr(models, f"{name}_trained")()
        with torch.no_grad():
            acc = float((model(x_te).argmax(1) == torch.from_numpy(y_te)).float().mean())
        assert abs(acc - METRICS[name]["test_accuracy"]) <= 0.003  # one test image
        path = tmp_path / f"{name}.npz"
        export_trace(model, torch.from_numpy(x), path, network=f"{name}_digits")
        new, old = read_entries(path), read_entries(WORKLOADS / f"{name}_digits.npz")
        assert list(new[0]) == list(old[0])
        # every entry's structure (its scales are floats, compared through the codes)
        keys = ("kind", "input_shape", "output_shape", "kernel", "stride", "padding",
                "ceil_mode", "groups", "tensors", "inputs")
        for lname, entry in old[0].items():
            assert {k: entry.get(k) for k in keys} == {k: new[0][lname].get(k) for k in keys}, \
                (name, lname)
        assert set(new[1]) == set(old[1])
        for key in old[1]:
            # equal up to float32 rounding on another CPU: one code, or for the int32
            # bias codes (up to ~1e8, scale = weight scale x activation scale) a few
            # float32 ulps of the code (relative 1e-6)
            ref = old[1][key].astype(np.int64)
            diff = np.abs(new[1][key].astype(np.int64) - ref)
            assert (diff <= np.maximum(1, np.ceil(1e-6 * np.abs(ref)))).all(), (name, key)


def test_train_script_writes_trace_weights_and_metrics(tmp_path, monkeypatch, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(WORKLOADS))
    import train

    import models

    monkeypatch.setitem(train.SCHEDULE, "squeezenet", (1, 3e-3))  # one epoch: a smoke run
    full = train.load_data
    monkeypatch.setattr(train, "load_data", lambda: tuple(t[:128] for t in full()))
    assert train.main(["squeezenet", "--batch", "2", "--out-dir", str(tmp_path)]) == 0
    assert "squeezenet" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "metrics.json").read_text())["squeezenet"]
    assert metrics["epochs"] == 1 and 0.0 <= metrics["test_accuracy"] <= 1.0
    assert accelsim.read_trace(tmp_path / "squeezenet_digits.npz").batch == 2
    with np.load(tmp_path / "squeezenet_digits_weights.npz", allow_pickle=False) as npz:
        assert set(npz.files) == set(models.SqueezeNet().state_dict())


def test_train_script_export_only_reexports_the_committed_weights(tmp_path, monkeypatch,
                                                                 capsys):
    pytest.importorskip("torch")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(WORKLOADS))
    import train

    monkeypatch.setattr(train, "train", lambda *a: pytest.fail("--export-only trained"))
    assert train.main(["lenet5", "--export-only", "--out-dir", str(tmp_path)]) == 0
    assert "lenet5_digits_weights.npz" in capsys.readouterr().out
    path = tmp_path / "lenet5_digits.npz"
    metrics = json.loads((tmp_path / "metrics.json").read_text())["lenet5"]
    assert metrics == {"trace": path.name, "trace_bytes": path.stat().st_size, "batch": 8}
    new, old = read_entries(path), read_entries(WORKLOADS / "lenet5_digits.npz")
    assert list(new[0]) == list(old[0]) and set(new[1]) == set(old[1])
    assert not (tmp_path / "lenet5_digits_weights.npz").exists()


# ---- accelsim without torch, onnx, scikit-learn ----------------------------------------

BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "onnx", "onnxruntime", "sklearn"):
            raise ImportError("blocked " + name)
sys.meta_path.insert(0, _Block())
"""


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_accelsim_imports_without_optional_packages():
    proc = _python("import accelsim, accelsim.cli, accelsim.bridge, accelsim.bridge.graph\n"
                   "import accelsim.bridge.inputs, accelsim.bridge.quantize\n"
                   "accelsim.cli._build_parser()\n"
                   "assert not any(m.split('.')[0] in ('torch', 'onnx', 'sklearn') "
                   "for m in sys.modules)\nprint('ok')")
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr


@pytest.mark.parametrize("argv,message", [
    (["export", "m.py:f", "--input-shape", "1,1,8,8", "-o", "x.npz"],
     "accelsim: error: export needs PyTorch (pip install 'accelsim[torch]')\n"),
    (["import-onnx", "m.onnx", "--input-shape", "1,1,8,8", "-o", "x.npz"],
     "accelsim: error: import-onnx needs onnx and onnxruntime (pip install 'accelsim[onnx]')\n"),
    (["import-onnx", "m.onnx", "--input-shape", "1,1,8,8", "--data", "digits", "-o", "x.npz"],
     "accelsim: error: --data digits needs scikit-learn (pip install 'accelsim[workloads]')\n"),
])
def test_missing_optional_package_errors(argv, message):
    proc = _python(f"from accelsim.cli import main\nsys.exit(main({argv!r}))")
    assert proc.returncode == 2 and proc.stderr == message


def test_pool_window_keys_are_read_checked_and_written(tmp_path):
    from accelsim.errors import TraceError
    from accelsim.workload.layer import PoolWindow, layer_to_header
    from accelsim.workload.trace import write_trace

    def trace_with(kind="maxpool", out=(1, 2, 4, 4), **keys):
        path = tmp_path / "t.npz"
        layer = {"name": "pool", "kind": kind, "input_shape": [1, 2, 9, 9],
                 "output_shape": list(out), **keys}
        write_trace(path, network="n", batch=1, layers=[layer], arrays={})
        return path

    window = {"kernel": [3, 3], "stride": [2, 2], "padding": [0, 0]}
    assert accelsim.read_trace(trace_with()).layers[0].window is None  # optional
    lay = accelsim.read_trace(trace_with(**window)).layers[0]
    assert lay.window == PoolWindow(kernel=(3, 3), stride=(2, 2), padding=(0, 0))
    head = layer_to_header(lay)
    assert {k: head[k] for k in (*window, "ceil_mode")} == {**window, "ceil_mode": False}
    # ceil_mode: 9 -> ceil((9 - 2) / 2) + 1 = 5 with a 2x2 stride-2 window
    lay = accelsim.read_trace(trace_with(out=(1, 2, 5, 5), kernel=[2, 2], stride=[2, 2],
                                         padding=[0, 0], ceil_mode=True)).layers[0]
    assert lay.window.out_size(9, 9) == (5, 5)
    for kwargs, message in (
            ({"out": (1, 2, 3, 3), **window},
             r"layers\[0\]\(pool\)\.output_shape: the window gives \[1, 2, 4, 4\] from "
             r"input_shape \[1, 2, 9, 9\] \(got \[1, 2, 3, 3\]\)"),
            ({"kernel": [3, 3], "stride": [2, 2]},
             r"\.padding: missing \(a pool's window needs kernel, stride and padding\)"),
            ({**window, "padding": [2, 2]}, r"\.padding: must be at most half the kernel"),
            ({**window, "ceil_mode": 1}, r"\.ceil_mode: must be true or false \(got 1\)"),
            ({**window, "ceil_mode": None},
             r"\.ceil_mode: must be true or false \(got 'null'\)"),
            ({"out": (1, 2, 0, 0), "kernel": [11, 11], "stride": [1, 1], "padding": [0, 0]},
             r"\.kernel: larger than the padded input 9x9 \(got \[11, 11\]\)"),
            ({**window, "stride": [0, 2]}, r"\.stride: "),
            ({"kind": "concat", **window},
             r"\.kernel: only a pool entry \(maxpool, avgpool\) has a window")):
        with pytest.raises(TraceError, match=message):
            accelsim.read_trace(trace_with(**kwargs))


def _max_pool(x, window):
    """Reference max pool of a non-negative [N, C, H, W] tensor (padding never wins)."""
    (kh, kw), (sh, sw), (ph, pw) = window.kernel, window.stride, window.padding
    h, w = x.shape[2:]
    oh, ow = window.out_size(h, w)
    out = np.zeros(x.shape[:2] + (oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * sh - ph, j * sw - pw
            patch = x[:, :, max(r0, 0):min(r0 + kh, h), max(c0, 0):min(c0 + kw, w)]
            out[:, :, i, j] = patch.max(axis=(2, 3))
    return out


def test_pool_output_size_follows_pytorch():
    from accelsim.workload.layer import pool_out_size

    # ceil_mode's last window must start inside the input (or its left padding):
    # 7 with k 2, s 2, pad 1 gives 4, not ceil(7 / 2) + 1 = 5
    assert [pool_out_size(7, 2, 2, 1, True), pool_out_size(7, 2, 2, 1, False),
            pool_out_size(55, 3, 2, 0, False), pool_out_size(13, 3, 2, 0, True),
            pool_out_size(112, 3, 2, 1, False)] == [4, 4, 27, 6, 56]


@pytest.mark.parametrize("k, s, pad, ceil, size", [
    (3, 2, 0, False, 13), (3, 2, 0, False, 12), (2, 2, 0, False, 9), (3, 2, 1, False, 10),
    (3, 2, 0, True, 10), (3, 3, 1, False, 11)])
def test_max_pool_preimage_pools_back_with_only_forced_zeros(k, s, pad, ceil, size):
    from accelsim.workload.layer import PoolWindow
    from accelsim.workload.synth import max_pool_preimage

    window = PoolWindow(kernel=(k, k), stride=(s, s), padding=(pad, pad), ceil_mode=ceil)
    oh, ow = window.out_size(size, size)
    rng = np.random.default_rng(k * 100 + size)
    pooled = rng.integers(1, 1000, size=(2, 3, oh, ow))
    pooled[rng.random(pooled.shape) < 0.4] = 0
    out, free = max_pool_preimage(pooled, (2, 3, size, size), window)
    out = np.where(free, 7, out)  # a free element may hold anything
    assert np.array_equal(_max_pool(out, window), pooled)
    # every zero is forced: a zero window covers it, so no zero can be dropped
    forced = np.zeros(out.shape, bool)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s - pad, j * s - pad
            forced[:, :, max(r0, 0):r0 + k, max(c0, 0):c0 + k] |= (pooled[:, :, i, j] == 0)[
                :, :, None, None]
    assert np.array_equal(out == 0, forced & ~free)


def test_max_pool_preimage_refuses_a_pool_no_tensor_can_give():
    from accelsim.workload.layer import PoolWindow
    from accelsim.workload.synth import max_pool_preimage

    # a 1x3 window, stride 1: the middle window's elements are all covered by
    # its zero neighbours, so nothing pools to (0, 5, 0)
    window = PoolWindow(kernel=(1, 3), stride=(1, 1), padding=(0, 0))
    assert max_pool_preimage(np.array([[[[0, 5, 0]]]]), (1, 1, 1, 5), window) is None


def test_synth_outputs_pool_to_the_next_layers_input(tmp_path):
    """AlexNet's conv1 and conv2 outputs max-pool (3x3, stride 2) to exactly
    the next layer's input; their zero fraction is the forced one (61% and
    88% for the 38.7% and 72.5% requested); a layer without a pool between, or
    whose next input has no fraction requested, keeps the old rule, and that
    next input is then its output pooled."""
    from accelsim.workload.layer import PoolWindow
    from accelsim.workload.synth import synth_trace

    path = tmp_path / "a.npz"
    synth_trace("alexnet", str(path), batch=1,
                ifmap_zeros="conv2=0.387,conv3=0.725,conv4=0.793,conv5=0.776")
    tr = accelsim.read_trace(path)
    mac = {layer.name: layer for layer in tr.mac_layers}
    window = PoolWindow(kernel=(3, 3), stride=(2, 2), padding=(0, 0))
    for name, nxt, frac in (("conv1", "conv2", 0.611), ("conv2", "conv3", 0.877)):
        out = tr.tensor(mac[name], "output")
        assert np.array_equal(_max_pool(out, window), tr.tensor(mac[nxt], "input"))
        assert np.mean(out == 0) == pytest.approx(frac, abs=0.01)
    conv3_out = tr.tensor(mac["conv3"], "output")  # no pool: the next input's fraction
    assert np.count_nonzero(conv3_out == 0) == round(0.793 * conv3_out.size)
    conv5_out = tr.tensor(mac["conv5"], "output")  # fc6's input: none requested
    assert np.count_nonzero(conv5_out == 0) == round(0.776 * conv5_out.size)
    # so fc6's input is conv5's output through pool5 and the flatten, not dense
    fc6_in = tr.tensor(mac["fc6"], "input")
    assert np.array_equal(fc6_in, _max_pool(conv5_out, window).reshape(fc6_in.shape))
    assert 0.05 < np.mean(fc6_in == 0) < 0.2  # about 0.776**9 of the windows
    # 2x2 stride-2 pools (VGG, LeNet) keep the fraction; the zeros come in blocks
    synth_trace("lenet5", str(path), ifmap_zeros="0.5")
    tr = accelsim.read_trace(path)
    conv1, conv2 = tr.mac_layers[:2]
    out = tr.tensor(conv1, "output")
    two = PoolWindow(kernel=(2, 2), stride=(2, 2), padding=(0, 0))
    assert np.array_equal(_max_pool(out, two), tr.tensor(conv2, "input"))
    assert np.mean(out == 0) == pytest.approx(0.5, abs=1e-9)


def test_synth_applies_the_pool_rules_only_behind_a_relu_and_a_matching_pool(tmp_path,
                                                                             monkeypatch):
    """A layer without a ReLU may output negatives, whose max pool need not be
    zero where the window is: its output keeps the old rule. A pool whose
    input is not the layer's output is not the layer's pool."""
    from accelsim.workload import networks as nets
    from accelsim.workload.layer import layer_from_header
    from accelsim.workload.synth import _pool_chain, synth_trace

    def tiny(batch):
        layers = []
        x = nets._emit(layers, nets._conv("plain", [batch, 2, 12, 12], 4, 3, act="none"))
        x = nets._emit(layers, nets._pool("pool1", x, 2, 2))
        x = nets._emit(layers, nets._conv("relu", x, 4, 1))
        x = nets._emit(layers, nets._pool("pool2", x, 2, 2))
        nets._emit(layers, nets._conv("last", x, 2, 1))
        return layers

    monkeypatch.setitem(nets.NETWORKS, "tiny", tiny)
    path = tmp_path / "t.npz"
    synth_trace("tiny", str(path), batch=2, ifmap_zeros="0.5")
    tr = accelsim.read_trace(path)
    plain, relu, last = tr.mac_layers
    out = tr.tensor(plain, "output")
    assert np.count_nonzero(out == 0) == round(0.5 * out.size)  # the old rule: drawn,
    assert (out < 0).any()  # signed, not a (non-negative) preimage of relu's input
    two = next(x for x in tr.layers if x.name == "pool2").window
    assert np.array_equal(_max_pool(tr.tensor(relu, "output"), two), tr.tensor(last, "input"))
    heads = tiny(2)
    layers = [layer_from_header(h, i)[0] for i, h in enumerate(heads)]
    assert _pool_chain(layers, heads, 2, 4) == two
    heads[3]["input_shape"] = [2, 4, 6, 6]  # a pool fed by something else
    heads[3]["output_shape"] = [2, 4, 3, 3]
    layers = [layer_from_header(h, i)[0] for i, h in enumerate(heads)]
    assert _pool_chain(layers, heads, 2, 4) is None
