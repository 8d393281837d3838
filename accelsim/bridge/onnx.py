"""ONNX model -> trace.npz: run the model with onnxruntime and capture every tensor.

Place in the pipeline: ``ONNX model -> bridge`` (this module, then
:mod:`accelsim.bridge.graph`) ``-> trace.npz -> workload``. Needs the ``onnx``
extra (onnx, onnxruntime); nothing else in accelsim imports them.

How: every node output of the graph is added as a graph output, so one
onnxruntime run returns every intermediate tensor (the inputs of each Conv,
Gemm and MatMul included). The nodes are then read in the graph's order (ONNX
requires topological order) into the same :class:`~accelsim.bridge.graph.Graph`
the PyTorch bridge fills, so the trace schema, batch-norm folding, ReLU fusion,
quantization and naming rules are the same (see :mod:`accelsim.bridge.graph`).

Mapping of ONNX ops:

- ``Conv`` (2-d kernel, constant weight) -> conv2d; explicit ``pads`` must be
  symmetric (begin == end), ``auto_pad`` SAME_* only when the total padding is
  even; otherwise the node is listed as ``unsupported_conv2d`` (a 1-d or 3-d
  kernel: ``unsupported_conv1d`` / ``unsupported_conv3d``), and
  ``ConvTranspose`` as ``unsupported_conv_transpose<n>d``, each with the MACs
  it performs (header key ``macs``, :mod:`accelsim.bridge.graph`).
- ``Gemm`` (``transA`` = 0, constant B, 1-d or [1, K] C) and ``MatMul`` with a
  constant 2-d right operand -> linear (``alpha`` and ``beta`` folded into the
  weight and bias). A ``MatMul`` of two activations is listed as ``matmul``,
  a two-operand ``Einsum`` as ``einsum``, with their MACs.
- ``BatchNormalization`` -> folded into the Conv/Gemm before it when it is that
  layer's only consumer (the PyTorch exporter usually folds it already).
- ``Relu`` -> fused; ``Clip`` to [0, 6] -> ``relu6``; ``Identity`` and
  ``Dropout`` -> not layers (same data).
- ``Flatten``/``Reshape``/``Squeeze``/``Unsqueeze`` and ``Transpose`` -> layout
  ops, merged into ``flatten`` / ``channel_shuffle`` / ``reshape`` / ``permute``.
- Pools, ``Add``, ``Concat``, ``Split`` and anything else -> non-MAC layers
  (``maxpool``, ``avgpool``, ``adaptive_avgpool``, ``add``, ``concat``,
  ``channel_split``/``split``, else the op type in lower case); a 2-d
  ``MaxPool`` / ``AveragePool`` with dilations 1 and symmetric ``pads`` records
  its window (kernel, stride, padding, ceil_mode; see
  :mod:`accelsim.bridge.graph`). PyTorch's ``chunk`` is exported as two
  ``Slice`` ops: two ``slice`` layers here.

Activations are the float tensors computed from the graph inputs; nodes that
read no activation (shape arithmetic, constants) and integer outputs (``Shape``
of an activation) are not layers. Control flow (``If``, ``Loop``) is listed as
one non-MAC layer; its subgraph's tensors are not captured.

Layer names: the weight initializer's name without ``.weight`` when it has
that suffix (``fc.weight`` -> ``fc``); else, when the node carries a module
path (the TorchScript exporter's names such as ``/layer1/layer1.0/conv1/Conv``
give ``layer1.0.conv1``; the ``torch.export``-based exporter's
``pkg.torch.onnx.name_scopes`` metadata gives the same), that path when the
node is the only op (for Conv/Gemm/MatMul: the only MAC op) of that module,
or ``<module path>.<kind>``; else, for a MAC node of a functional model (no
module around it), its weight initializer's name when it is meaningful (a
parameter's name such as ``w1``, not a generated one: ``onnx::MatMul_36``,
``val_8``, or a constant the exporter folded from an op such as
``permute``); else the layer's kind (a node at the model's top level), or the
node's name (without the ``node_`` prefix), or its kind.

Models from PyTorch's TorchScript exporter (``torch.onnx.export(...,
dynamo=False)``) and from its ``torch.export``-based exporter (the default,
which needs the onnxscript package) both import.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np

from accelsim.bridge.graph import (Graph, Node, Value, conv_macs, einsum_macs, matmul_macs,
                                   write_graph)
from accelsim.bridge.quantize import check_bits
from accelsim.errors import AccelsimError

_KINDS = {"MaxPool": "maxpool", "AveragePool": "avgpool", "GlobalAveragePool":
          "adaptive_avgpool", "GlobalMaxPool": "adaptive_maxpool", "Add": "add",
          "Sum": "add", "Concat": "concat", "Relu": "relu", "BatchNormalization": "batch_norm",
          "Flatten": "reshape", "Reshape": "reshape", "Squeeze": "reshape",
          "Unsqueeze": "reshape", "Transpose": "permute", "ReduceMean": "mean"}
_IDENTITY = ("Identity", "Dropout")
_MAC_TYPES = ("Conv", "Gemm", "MatMul")


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _scope(name: str) -> str:
    """``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1`` (PyTorch exporter names)."""
    parts = [p for p in name.strip("/").split("/")][:-1]
    out = ""
    for p in parts:
        out = p if not out or p.startswith(out + ".") else f"{out}.{p}"
    return out


def _metadata(node, key: str) -> str | None:
    return next((p.value for p in node.metadata_props if p.key == key), None)


def _node_scope(node) -> str | None:
    """The module path of a node ("" at the model's top level), None if it says nothing.

    TorchScript exporter: the node's name (:func:`_scope`); ``torch.export``
    exporter: the ``pkg.torch.onnx.name_scopes`` metadata, a list of the module
    paths around the op and the op's own name last (``['', 'head', 'head.0',
    'conv2d_2']``).
    """
    if "/" in node.name:
        return _scope(node.name)
    text = _metadata(node, "pkg.torch.onnx.name_scopes")
    if text is None:
        return None
    try:
        scopes = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if not isinstance(scopes, list) or not all(isinstance(x, str) for x in scopes):
        return None
    return scopes[-2] if len(scopes) >= 3 else ""


class _Importer:
    def __init__(self, model, results: dict[str, np.ndarray], input_names: list[str],
                 output_names: list[str]):
        from onnx import numpy_helper

        self.model = model
        self.output_names = output_names
        self.results = results
        self.consts = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        self.graph = Graph()
        self.values: dict[str, Value] = {}
        in_scope = [(n, _node_scope(n)) for n in model.graph.node]
        scopes = [sc for _, sc in in_scope if sc is not None]
        self.scope_count = {sc: scopes.count(sc) for sc in set(scopes)}
        macs = [sc for n, sc in in_scope if sc is not None and n.op_type in _MAC_TYPES]
        self.mac_count = {sc: macs.count(sc) for sc in set(macs)}
        for name in input_names:
            idx = self.graph.add(Node(op="input", name="input", inputs=[],
                                      outputs=[results[name]]))
            self.values[name] = (idx, 0)

    def _meaningful(self, weight: str, node) -> bool:
        """Whether an initializer's name is a parameter's, worth naming a layer after."""
        if weight not in self.consts or weight.startswith("onnx::") \
                or re.fullmatch(r"val_\d+", weight):
            return False
        fx = _metadata(node, "pkg.torch.onnx.fx_node")  # torch.export: %p_w1 is parameter w1,
        return not (fx and re.search(rf"%{re.escape(weight)}\b", fx))  # %permute an op output

    def _name(self, node, kind: str, weight: str | None = None) -> tuple[str, dict]:
        if weight and weight.endswith(".weight"):
            return weight[: -len(".weight")], {}
        scope = _node_scope(node)
        if scope:
            alone = (self.mac_count if node.op_type in _MAC_TYPES else self.scope_count)
            if alone.get(scope) == 1:
                return scope, {}
            return f"{scope}.{kind}", {"scope": scope}
        if weight and self._meaningful(weight, node):
            return weight, {}
        if scope == "":
            return kind, {"scope": ""}
        if node.name.startswith("node_"):  # the torch.export-based exporter's names
            return node.name[len("node_"):], {}
        return (node.name, {}) if node.name else (kind, {"scope": ""})

    def _const(self, name: str):
        if name in self.consts:
            return self.consts[name]
        return None if name in self.values else self.results.get(name)

    def _add(self, node, op: str, name: tuple[str, dict], acts: list[str],
             attrs: dict | None = None) -> None:
        outs = [o for o in node.output
                if o and o in self.results and self.results[o].dtype.kind == "f"]
        if not outs:
            return
        idx = self.graph.add(Node(op=op, name=name[0], inputs=[self.values[a] for a in acts],
                                  outputs=[self.results[o] for o in outs],
                                  attrs={**(attrs or {}), **name[1]}))
        for j, o in enumerate(outs):
            self.values[o] = (idx, j)

    def run(self) -> Graph:
        for node in self.model.graph.node:
            acts = [i for i in node.input if i in self.values]
            if not acts:
                continue  # constants and shape arithmetic
            op = node.op_type
            if op in _IDENTITY:
                self.values[node.output[0]] = self.values[acts[0]]
            elif op == "Conv":
                self._conv(node, acts)
            elif op == "ConvTranspose":
                self._conv_transpose(node, acts)
            elif op in ("Gemm", "MatMul"):
                self._linear(node, acts)
            elif op == "BatchNormalization":
                self._batch_norm(node, acts)
            else:
                kind = _KINDS.get(op, op.lower())
                attrs = {}
                consts = [self._const(i) for i in node.input if i not in self.values]
                if op == "Add" and len(acts) == 1 and len(consts) == 1 \
                        and consts[0] is not None:
                    attrs["constant"] = consts[0]  # maybe a bias (MatMul + Add)
                elif op == "Clip":  # bounds are inputs (opset >= 11) or attributes
                    ins, a = list(node.input) + ["", ""], _attrs(node)
                    lo = self._const(ins[1]) if ins[1] else a.get("min")
                    hi = self._const(ins[2]) if ins[2] else a.get("max")
                    if lo is not None and hi is not None and float(lo) == 0 and float(hi) == 6:
                        kind = "relu6"
                elif op == "Einsum":
                    shapes = [self.results[i].shape for i in node.input if i in self.results]
                    macs = einsum_macs(_text(_attrs(node).get("equation", "")), shapes)
                    if macs is not None:
                        attrs["macs"] = macs
                elif op in ("MaxPool", "AveragePool"):
                    window = _pool_window(node)
                    if window is not None:
                        attrs["window"] = window
                elif op == "Split":
                    outs = [self.results.get(o) for o in node.output]
                    axis = _attrs(node).get("axis", 0)
                    x = self.results[acts[0]]
                    kind = "channel_split" if len(outs) == 2 and x.ndim > 1 \
                        and axis % x.ndim == 1 and outs[0].shape == outs[1].shape else "split"
                self._add(node, kind, self._name(node, kind), acts, attrs)
        self.graph.outputs = [self.values[o] for o in self.output_names if o in self.values]
        return self.graph

    def _conv_geometry(self, node, w_shape, transposed: bool = False):
        """``(strides, dilations, pads)`` of a Conv / ConvTranspose, pads as [begins, ends]."""
        a = _attrs(node)
        spatial = len(w_shape) - 2
        strides = list(a.get("strides", [1] * spatial))
        dil = list(a.get("dilations", [1] * spatial))
        auto = _text(a.get("auto_pad", "NOTSET"))
        if auto in ("SAME_UPPER", "SAME_LOWER") and not transposed:
            size = self.results[node.input[0]].shape[2:]
            totals = [max((-(-n // s) - 1) * s + (kk - 1) * d + 1 - n, 0)
                      for n, s, kk, d in zip(size, strides, w_shape[2:], dil)]
            small = [t // 2 for t in totals]
            big = [t - t // 2 for t in totals]
            pads = small + big if auto == "SAME_UPPER" else big + small
        elif auto == "VALID":
            pads = [0] * (2 * spatial)
        else:
            pads = list(a.get("pads", [0] * (2 * spatial)))
        return strides, dil, pads

    def _conv_macs(self, node, w_shape, transposed: bool = False) -> int | None:
        x = self.results.get(node.input[0])
        y = self.results.get(node.output[0])
        if x is None or y is None or x.ndim != len(w_shape):
            return None
        strides, dil, pads = self._conv_geometry(node, w_shape, transposed)
        spatial = len(w_shape) - 2
        if transposed and _text(_attrs(node).get("auto_pad", "NOTSET")) in ("SAME_UPPER",
                                                                           "SAME_LOWER"):
            return None  # the begin padding follows from the output size: not derived here
        return conv_macs(x.shape, w_shape, y.shape, stride=strides, padding=pads[:spatial],
                         dilation=dil, groups=int(_attrs(node).get("group", 1)),
                         transposed=transposed)

    def _conv_transpose(self, node, acts) -> None:
        w = self._const(node.input[1]) if len(node.input) > 1 else None
        if w is None:
            w = self.results.get(node.input[1]) if len(node.input) > 1 else None
        kind = f"conv_transpose{w.ndim - 2}d" if w is not None else "conv_transpose"
        attrs = {"unsupported": f"{kind} is not in the trace schema (conv2d, linear)"}
        if w is not None:
            attrs["macs"] = self._conv_macs(node, w.shape, transposed=True)
        self._add(node, kind, self._name(node, kind, node.input[1]), acts, attrs)

    def _conv(self, node, acts) -> None:
        x_name, w_name = node.input[0], node.input[1]
        w = self._const(w_name)
        b = self._const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        w_any = w if w is not None else self.results.get(w_name)
        kind = f"conv{w_any.ndim - 2}d" if w_any is not None and w_any.ndim != 4 else "conv2d"
        name = self._name(node, kind, w_name)
        why = None
        if kind != "conv2d":
            why = f"{kind} is not in the trace schema (conv2d, linear)"
        elif w is None or acts != [x_name]:
            why = "only a 2-d conv of one activation with a constant weight is modeled"
        if why is None:
            strides, dil, pads = self._conv_geometry(node, w.shape)
            if pads[:2] != pads[2:]:
                why = f"padding {pads} (begin, end) is asymmetric"
        if why:
            self._add(node, kind, name, acts, {
                "unsupported": why,
                "macs": None if w_any is None else self._conv_macs(node, w_any.shape)})
            return
        self._add(node, "conv2d", name, [x_name], {
            "weight": w, "bias": b, "stride": strides, "padding": pads[:2], "dilation": dil,
            "groups": int(_attrs(node).get("group", 1)), "param": w_name})

    def _linear(self, node, acts) -> None:
        a = _attrs(node)
        x_name, w_name = node.input[0], node.input[1]
        w = self._const(w_name)
        b = self._const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
        kind = node.op_type.lower()
        ok = w is not None and acts == [x_name] and w.ndim == 2
        if ok and node.op_type == "Gemm":
            ok = a.get("transA", 0) == 0
            w = (w if a.get("transB", 0) else w.T) * a.get("alpha", 1.0)
            if b is not None:
                b = np.asarray(b) * a.get("beta", 1.0)
                ok = ok and b.size == w.shape[0] and b.ndim <= 2
                b = b.reshape(-1)
        elif ok:
            w = w.T
        if not ok:  # a product of activations, or a form the schema cannot hold
            x, y = self.results.get(x_name), self.results.get(node.output[0])
            macs = None
            if x is not None and y is not None and x.ndim >= 1:
                transposed = node.op_type == "Gemm" and a.get("transA", 0)
                macs = matmul_macs(x.shape[::-1] if transposed else x.shape, y.shape)
            self._add(node, kind, self._name(node, kind), acts, {"macs": macs})
            return
        self._add(node, "linear", self._name(node, "linear", w_name), [x_name],
                  {"weight": w, "bias": b, "param": w_name})

    def _batch_norm(self, node, acts) -> None:
        a = _attrs(node)
        name = self._name(node, "batch_norm")
        params = [self._const(i) for i in node.input[1:5]]
        if acts != [node.input[0]] or any(p is None for p in params) \
                or a.get("training_mode", 0):
            self._add(node, "batch_norm", name, acts, {"unsupported": "not an inference "
                                                       "batch norm with constant statistics"})
            return
        gamma, beta, mean, var = params
        self._add(node, "batch_norm", name, acts, {"gamma": gamma, "beta": beta, "mean": mean,
                                                   "var": var,
                                                   "eps": float(a.get("epsilon", 1e-5))})


def _pool_window(node) -> dict | None:
    """The window of a ``MaxPool`` / ``AveragePool`` node with a 2-d kernel, None
    if the schema cannot state it: dilations other than 1, asymmetric ``pads``
    (begin != end), or an ``auto_pad`` SAME_* (padding derived at run time).
    ``count_include_pad`` changes the values, not the window: not recorded."""
    a = _attrs(node)
    kernel = [int(k) for k in a.get("kernel_shape", [])]
    if len(kernel) != 2 or any(int(d) != 1 for d in a.get("dilations", [1, 1])):
        return None
    auto = _text(a.get("auto_pad", "NOTSET"))
    if auto not in ("NOTSET", "VALID"):
        return None
    pads = [0] * 4 if auto == "VALID" else [int(p) for p in a.get("pads", [0] * 4)]
    if len(pads) != 4 or pads[:2] != pads[2:]:
        return None
    return {"kernel": kernel, "stride": [int(s) for s in a.get("strides", [1, 1])],
            "padding": pads[:2], "ceil_mode": bool(a.get("ceil_mode", 0))}


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def capture(model_path: str | Path, inputs) -> Graph:
    """Run the ONNX model on ``inputs`` and return the captured :class:`Graph`."""
    try:
        import onnx
        import onnxruntime as ort
    except ImportError:
        raise AccelsimError("import-onnx needs onnx and onnxruntime (pip install "
                            "'accelsim[onnx]')") from None
    path = str(model_path)
    try:
        model = onnx.load(path)
    except FileNotFoundError:
        raise AccelsimError(f"{path}: file not found") from None
    except Exception as exc:
        raise AccelsimError(f"{path}: not a readable ONNX model ({type(exc).__name__})") \
            from None
    init = {i.name for i in model.graph.initializer}
    input_names = [i.name for i in model.graph.input if i.name not in init]
    xs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    if len(xs) != len(input_names):
        raise AccelsimError(f"{path}: the model has {len(input_names)} inputs "
                            f"({', '.join(input_names)}), {len(xs)} given")
    model_outputs = [o.name for o in model.graph.output]
    outputs = list(model_outputs)
    for node in model.graph.node:
        for o in node.output:
            if o and o not in outputs:
                model.graph.output.append(onnx.ValueInfoProto(name=o))
                outputs.append(o)
    feeds = {n: np.ascontiguousarray(x, dtype=np.float32) for n, x in zip(input_names, xs)}
    try:
        sess = ort.InferenceSession(model.SerializeToString(),
                                    providers=["CPUExecutionProvider"])
        results = dict(zip(outputs, sess.run(outputs, feeds)))
    except Exception as exc:
        shapes = ", ".join(str(list(x.shape)) for x in feeds.values())
        text = " ".join(str(exc).split())  # onnxruntime's messages span lines
        text = text if len(text) <= 300 else text[:297] + "..."
        raise AccelsimError(f"{path}: running it on input shape {shapes} failed "
                            f"({text})") from exc
    results.update(feeds)
    return _Importer(model, results, input_names, model_outputs).run()


def import_onnx(model_path: str | Path, inputs, path: str | Path, *, weight_bits: int = 16,
                act_bits: int = 16, operators: dict[str, str] | None = None,
                per_channel: bool = False, network: str | None = None,
                compress: bool = True) -> list[dict]:
    """Run an ONNX model on ``inputs`` and write what it computed as a trace.

    Parameters are those of :func:`accelsim.bridge.torch.export_trace`, with
    ``model_path`` (an ``.onnx`` file) in place of the model and NumPy arrays
    (one per graph input) as ``inputs``. ``network`` defaults to the file's stem.

    Returns
    -------
    list of dict
        The layer header entries written.
    """
    weight_bits = check_bits("weight_bits", weight_bits)
    act_bits = check_bits("act_bits", act_bits)
    graph = capture(model_path, inputs)
    return write_graph(graph, path, network=network or Path(model_path).stem,
                       weight_bits=weight_bits, act_bits=act_bits, per_channel=per_channel,
                       operators=operators, compress=compress)


__all__ = ["import_onnx", "capture"]
