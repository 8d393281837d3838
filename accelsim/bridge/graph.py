"""The bridges' common graph: captured ops -> fused, quantized trace layers.

Place in the pipeline: ``model -> bridge`` (capture in :mod:`.torch` or
:mod:`.onnx`, then this module) ``-> trace.npz``. NumPy only.

A capture fills a :class:`Graph`: one :class:`Node` per executed op that reads
an activation, in execution order, with the op's actual output values (float)
and, for MAC ops, their weights. :func:`build_trace` then

1. **folds a bias add** (``x @ W.T + b``, ONNX ``MatMul`` + ``Add``: an ``add``
   of a constant that is the same along every axis but the channel axis) into
   the conv2d / linear before it, when it is that layer's only consumer; then
   **folds batch norm** into the conv2d / linear that produces its input when
   that output feeds nothing else: ``w' = w * g / sqrt(var + eps)`` per output
   channel, ``b' = (b - mean) * g / sqrt(var + eps) + beta`` (Jacob et al.,
   CVPR 2018, section 3.2; R. Krishnamoorthi, "Quantizing deep convolutional
   networks for efficient inference: A whitepaper," arXiv:1806.08342, section
   3.2). The layer's output is the batch norm's output.
2. **fuses a ReLU** that is the only consumer of a conv2d / linear (after its
   folded batch norm) or of an ``add`` into that layer as ``activation: relu``;
   the layer's output is then the post-ReLU tensor (the convention of
   :mod:`accelsim.workload.networks`). Other activations (ReLU6, sigmoid, ...)
   stay layers of their own, because :mod:`accelsim.workload.reference` only
   applies ``relu``.
3. **merges chains of layout ops** (view / reshape / flatten / transpose /
   permute, each feeding only the next) into one layer: ``flatten`` (to
   [N, rest]), ``channel_shuffle`` (a 4-d tensor permuted back into its own
   shape, the ShuffleNet idiom), ``reshape`` or ``permute``.
4. **quantizes** (:mod:`.quantize`) and writes the header entries and arrays.

What counts as a layer: every op that reads an activation (a tensor derived
from the model's inputs) and returns a floating tensor. Ops on weights only
(transposing a parameter, building a constant) are weight preparation, not
layers; ops returning no tensor (``x.size()``) are not layers; identity ops
(``contiguous``, ``clone``, dropout at inference) are not layers (their output
is the same data). Everything else that is not a MAC op becomes a non-MAC layer
with its ``input_shape`` (the first activation input; a 0-d tensor is recorded
as [1]) and ``output_shape`` (the first output: one half of a channel split),
so nothing silently disappears.

Header keys this module adds to the schema of :mod:`accelsim.workload.layer`
(the parser ignores them; documented here):

- every layer: ``inputs``, the names of the layers producing its activation
  inputs, in argument order (``@input``, ``@input1``, ... for model inputs).
- non-MAC layers: ``act_bits`` (the trace's activation width, so that their
  bytes can be counted at the width the MAC layers use; the parser reads it
  only for MAC layers today).
- MAC layers: ``act_scale`` (input), ``output_scale`` (float), ``weight_scale``
  (float, or a list with one per output channel), ``bias`` (array name, int64
  at scale ``act_scale * weight_scale``; absent when the layer has no bias),
  ``fused`` (names of the batch norm / ReLU ops folded into the layer).
  Real value = integer * scale.
- a MAC op the trace schema cannot express (say, asymmetric padding) becomes a
  non-MAC layer of kind ``unsupported_<op>`` with ``unsupported``: the reason.

Array names: ``<layer>.weight``, ``<layer>.bias``, and one array per
activation tensor named after its producer (``<layer>.output``, ``input``); a
tensor read by several layers (a squeeze output feeding two expands) is stored
once and named by each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layer import layer_from_header, OPERATORS
from accelsim.workload.trace import write_trace

from accelsim.bridge import quantize as qz

MAC_OPS = ("conv2d", "linear")
LAYOUT_OPS = ("reshape", "permute")

Value = tuple[int, int]
"""An activation tensor: (index of the producing node, index of its output)."""


@dataclass(eq=False)
class Node:
    """One captured op.

    ``op`` is ``input`` (a model input), ``conv2d``, ``linear``, ``batch_norm``,
    ``relu``, ``reshape``, ``permute`` or a non-MAC kind. ``attrs`` holds for
    conv2d: ``weight`` [K, C/groups, R, S], ``bias`` [K] or None, ``stride``,
    ``padding``, ``dilation`` (pairs), ``groups``; for linear: ``weight`` [K, C],
    ``bias``; for batch_norm: ``mean``, ``var``, ``gamma``, ``beta`` (per
    channel), ``eps``; for any op optionally ``unsupported`` (a reason),
    ``param`` (the name the weight has in the model) and ``scope``: set when
    ``name`` was made up as ``<scope>.<op>``, so that the layer can be renamed
    after its final kind (a merged ``reshape`` chain becomes ``<scope>.flatten``).
    """

    op: str
    name: str
    inputs: list[Value]
    outputs: list[np.ndarray]
    attrs: dict = field(default_factory=dict)


@dataclass
class Graph:
    """Captured ops in execution order, and which values the model returns."""

    nodes: list[Node] = field(default_factory=list)
    outputs: list[Value] = field(default_factory=list)

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def value(self, v: Value) -> np.ndarray:
        return self.nodes[v[0]].outputs[v[1]]


@dataclass
class _Plan:
    """One trace layer: a primary node and the nodes folded into it."""

    node: int
    kind: str
    inputs: list[Value]
    outputs: list[Value]
    fused: list[int] = field(default_factory=list)
    activation: str = "none"
    weight: np.ndarray | None = None
    bias: np.ndarray | None = None


def _consumers(graph: Graph) -> dict[Value, int]:
    uses: dict[Value, int] = {}
    for node in graph.nodes:
        for v in node.inputs:
            uses[v] = uses.get(v, 0) + 1
    for v in graph.outputs:
        uses[v] = uses.get(v, 0) + 1
    return uses


def _only_consumer(graph: Graph, uses: dict[Value, int], v: Value, after: int,
                   ops: tuple[str, ...]) -> int | None:
    """The node reading ``v`` if it is the one use of ``v`` and its op is in ``ops``."""
    if uses.get(v, 0) != 1:
        return None
    for i in range(after + 1, len(graph.nodes)):
        node = graph.nodes[i]
        if v in node.inputs:
            return i if node.op in ops and len(node.inputs) == 1 and \
                not node.attrs.get("unsupported") else None
    return None


def _fold_bn(weight: np.ndarray, bias: np.ndarray | None, bn: dict) -> tuple:
    k = weight.shape[0]
    if np.asarray(bn["mean"]).shape != (k,):
        return None
    inv = np.asarray(bn["gamma"], np.float64) / np.sqrt(np.asarray(bn["var"], np.float64)
                                                        + bn["eps"])
    w = weight.astype(np.float64) * inv.reshape((-1,) + (1,) * (weight.ndim - 1))
    b0 = np.zeros(k) if bias is None else bias.astype(np.float64)
    b = (b0 - np.asarray(bn["mean"], np.float64)) * inv + np.asarray(bn["beta"], np.float64)
    return w, b


def _as_bias(const: np.ndarray, out: np.ndarray) -> np.ndarray | None:
    """``const`` as a per-channel (axis 1) bias of ``out``, if that is what it is."""
    const = np.asarray(const, np.float64)
    if out.ndim < 2 or const.ndim > out.ndim:
        return None
    try:
        full = np.broadcast_to(const, out.shape)
    except ValueError:
        return None
    b = full[(0, slice(None)) + (0,) * (out.ndim - 2)]
    shape = (1, -1) + (1,) * (out.ndim - 2)
    return b.copy() if np.array_equal(full, np.broadcast_to(b.reshape(shape), out.shape)) \
        else None


def _layout_kind(in_shape: tuple, out_shape: tuple, ops: list[str]) -> str:
    if "permute" in ops:
        return "channel_shuffle" if len(in_shape) == 4 and in_shape == out_shape else "permute"
    if len(out_shape) == 2 and len(in_shape) > 2 and out_shape[0] == in_shape[0]:
        return "flatten"
    return "reshape"


def plan_layers(graph: Graph) -> list[_Plan]:
    """Fold, fuse and merge the captured nodes into trace layers (in order)."""
    uses = _consumers(graph)
    absorbed: set[int] = set()
    plans: list[_Plan] = []
    for i, node in enumerate(graph.nodes):
        if i in absorbed or node.op == "input":
            continue
        plan = _Plan(node=i, kind=node.op, inputs=list(node.inputs),
                     outputs=[(i, j) for j in range(len(node.outputs))])
        if node.op in MAC_OPS and not node.attrs.get("unsupported"):
            plan.weight = np.asarray(node.attrs["weight"], np.float64)
            b = node.attrs.get("bias")
            plan.bias = None if b is None else np.asarray(b, np.float64)
            last = i
            j = _only_consumer(graph, uses, (i, 0), i, ("add",))
            if j is not None and "constant" in graph.nodes[j].attrs:
                b = _as_bias(graph.nodes[j].attrs["constant"], node.outputs[0])
                if b is not None:
                    plan.bias = b if plan.bias is None else plan.bias + b
                    plan.fused.append(j)
                    last = j
            j = _only_consumer(graph, uses, (last, 0), last, ("batch_norm",))
            if j is not None:
                folded = _fold_bn(plan.weight, plan.bias, graph.nodes[j].attrs)
                if folded is not None:
                    plan.weight, plan.bias = folded
                    plan.fused.append(j)
                    last = j
            j = _only_consumer(graph, uses, (last, 0), last, ("relu",))
            if j is not None:
                plan.fused.append(j)
                plan.activation = "relu"
                last = j
            plan.outputs = [(last, 0)]
        elif node.op == "add":
            j = _only_consumer(graph, uses, (i, 0), i, ("relu",))
            if j is not None:
                plan.fused.append(j)
                plan.activation = "relu"
                plan.outputs = [(j, 0)]
        elif node.op in LAYOUT_OPS:
            ops, last = [node.op], i
            while True:
                j = _only_consumer(graph, uses, (last, 0), last, LAYOUT_OPS)
                if j is None:
                    break
                plan.fused.append(j)
                ops.append(graph.nodes[j].op)
                last = j
            plan.outputs = [(last, 0)]
            plan.kind = _layout_kind(graph.value(node.inputs[0]).shape,
                                     graph.value((last, 0)).shape, ops)
        absorbed.update(plan.fused)
        plans.append(plan)
    return plans


def _unique(name: str, used: set[str]) -> str:
    name = name or "layer"
    out, k = name, 0
    while out in used:
        k += 1
        out = f"{name}_{k}"
    used.add(out)
    return out


def _shape(a: np.ndarray) -> list[int]:
    return [int(d) for d in a.shape] or [1]


def _pair(v) -> list[int]:
    return [int(x) for x in v]


def build_trace(graph: Graph, *, weight_bits: int = 16, act_bits: int = 16,
                per_channel: bool = False, operators: dict[str, str] | None = None
                ) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Layer header dicts and arrays of a captured graph (see the module docstring).

    Raises :class:`AccelsimError` for bad ``operators`` (a name that is not a MAC
    layer, an operator not in :data:`accelsim.workload.layer.OPERATORS`) or an
    empty graph.
    """
    weight_bits = qz.check_bits("weight_bits", weight_bits)
    act_bits = qz.check_bits("act_bits", act_bits)
    plans = plan_layers(graph)
    if not plans:
        raise AccelsimError("the model ran no operation on its input (nothing to trace)")
    used: set[str] = set()
    producer: dict[Value, str] = {}
    n_inputs = 0
    for i, node in enumerate(graph.nodes):
        if node.op == "input":
            producer[(i, 0)] = "@input" + (str(n_inputs) if n_inputs else "")
            n_inputs += 1
    names = []
    for plan in plans:
        node = graph.nodes[plan.node]
        base = node.name
        if "scope" in node.attrs:
            base = ".".join(p for p in (node.attrs["scope"], plan.kind) if p)
        name = _unique(base, used)
        names.append(name)
        for j, v in enumerate(plan.outputs):
            producer[v] = name if len(plan.outputs) == 1 else f"{name}.{j}"

    arrays: dict[str, np.ndarray] = {}
    act: dict[Value, tuple[str, np.ndarray, float]] = {}

    def act_array(v: Value) -> tuple[str, np.ndarray, float]:
        if v not in act:
            q, s = qz.quantize(graph.value(v), act_bits)
            key = producer[v].lstrip("@") if producer[v].startswith("@") \
                else f"{producer[v]}.output"
            arrays[key] = q
            act[v] = (key, q, float(s))
        return act[v]

    def shaped(key: str, q: np.ndarray, shape: tuple, alt: str) -> str:
        if tuple(q.shape) == tuple(shape):
            return key
        arrays[alt] = q.reshape(shape)
        return alt

    mac_names = [n for n, p in zip(names, plans)
                 if p.kind in MAC_OPS and p.weight is not None]
    operators = dict(operators or {})
    for lname, op in operators.items():
        if lname not in mac_names:
            raise AccelsimError(f"operators: no MAC layer named {lname!r} (MAC layers: "
                                f"{', '.join(mac_names) or 'none'})")
        if op not in OPERATORS:
            raise AccelsimError(f"operators.{lname}: must be one of {list(OPERATORS)} "
                                f"(got {op!r})")

    headers = []
    for name, plan in zip(names, plans):
        node = graph.nodes[plan.node]
        head: dict = {"name": name}
        inputs = [producer[v] for v in plan.inputs]
        first_in = graph.value(plan.inputs[0])
        out_val = graph.value(plan.outputs[0])
        if plan.weight is None:
            unsupported = node.attrs.get("unsupported")
            kind = f"unsupported_{plan.kind}" if unsupported else plan.kind
            head.update(kind=kind, input_shape=_shape(first_in), output_shape=_shape(out_val),
                        act_bits=act_bits, inputs=inputs)
            if plan.activation != "none":
                head["activation"] = plan.activation
            if unsupported:
                head["unsupported"] = unsupported
            if plan.fused:
                head["fused"] = [graph.nodes[j].name for j in plan.fused]
            headers.append(head)
            continue
        x_key, xq, xs = act_array(plan.inputs[0])
        y_key, yq, ys = act_array(plan.outputs[0])
        w = plan.weight
        wq, ws = qz.quantize(w, weight_bits, per_channel=per_channel)
        arrays[f"{name}.weight"] = wq
        k = w.shape[0]
        if plan.kind == "linear":
            n = xq.size // w.shape[1]
            x_key = shaped(x_key, xq, (n, w.shape[1]), f"{name}.input")
            y_key = shaped(y_key, yq, (n, k), f"{name}.output")
            head.update(kind="linear", input_shape=[n, int(w.shape[1])], out_features=int(k))
        else:
            a = node.attrs
            if xq.ndim == 3:  # an unbatched conv input [C, H, W]
                x_key = shaped(x_key, xq, (1, *xq.shape), f"{name}.input")
                y_key = shaped(y_key, yq, (1, *yq.shape), f"{name}.output")
            head.update(kind="conv2d", input_shape=_shape(xq) if xq.ndim == 4
                        else [1, *_shape(xq)], out_channels=int(k),
                        kernel=[int(w.shape[2]), int(w.shape[3])], stride=_pair(a["stride"]),
                        padding=_pair(a["padding"]), dilation=_pair(a["dilation"]),
                        groups=int(a["groups"]))
        head.update(weight_bits=weight_bits, act_bits=act_bits,
                    operator=operators.get(name, "int"), activation=plan.activation,
                    tensors={"input": x_key, "weight": f"{name}.weight", "output": y_key},
                    act_scale=xs, output_scale=ys,
                    weight_scale=ws.tolist() if per_channel else float(ws))
        if plan.bias is not None:
            bias_scale = xs * np.asarray(ws, np.float64)
            arrays[f"{name}.bias"] = qz.quantize_with(plan.bias, bias_scale)
            head["bias"] = f"{name}.bias"
        head["inputs"] = inputs
        head["fused"] = [graph.nodes[j].name for j in plan.fused]
        headers.append(head)
    return headers, arrays


def write_graph(graph: Graph, path: str | Path, *, network: str, weight_bits: int = 16,
                act_bits: int = 16, per_channel: bool = False,
                operators: dict[str, str] | None = None, compress: bool = True) -> list[dict]:
    """Build the trace of ``graph`` and write it atomically; returns the headers."""
    headers, arrays = build_trace(graph, weight_bits=weight_bits, act_bits=act_bits,
                                  per_channel=per_channel, operators=operators)
    first = next(n for n in graph.nodes if n.op == "input").outputs[0]
    batch = int(first.shape[0]) if first.ndim >= 1 and first.shape[0] >= 1 else 1
    problems = [p for i, head in enumerate(headers) for p in layer_from_header(head, i)[1]]
    if problems:  # e.g. an --operators entry the layer's widths do not allow
        raise AccelsimError(f"{path}: not written: " + "; ".join(problems))
    write_trace(path, network=network, batch=batch, layers=headers, arrays=arrays,
                compress=compress)
    return headers


def read_entries(path: str | Path) -> tuple[dict[str, dict], dict[str, np.ndarray]]:
    """The raw header entries (by layer name, bridge keys included) and arrays of a trace.

    :func:`accelsim.workload.trace.read_trace` validates a trace but keeps only
    the keys of the schema; this gives the scales and biases a bridge added.
    """
    import json

    from accelsim.workload.trace import HEADER_KEY

    with np.load(path, allow_pickle=False) as npz:
        header = json.loads(str(npz[HEADER_KEY][()]))
        arrays = {k: npz[k] for k in npz.files if k != HEADER_KEY}
    return {e["name"]: e for e in header["layers"]}, arrays


def dequantize_layer(entry: dict, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Real (float64) ``input``, ``weight``, ``bias`` and ``output`` of a bridge MAC layer.

    The inverse of the quantization in :func:`build_trace`: integer * scale,
    the weight per output channel when ``weight_scale`` is a list, the bias at
    ``act_scale * weight_scale`` (zeros when the layer has no bias).
    """
    t = entry["tensors"]
    ws = np.asarray(entry["weight_scale"], np.float64)
    w = qz.dequantize(arrays[t["weight"]], ws)
    k = w.shape[0]
    b = (qz.dequantize(arrays[entry["bias"]], entry["act_scale"] * ws)
         if "bias" in entry else np.zeros(k))
    return {"input": qz.dequantize(arrays[t["input"]], entry["act_scale"]), "weight": w,
            "bias": np.broadcast_to(b, (k,)).astype(np.float64),
            "output": qz.dequantize(arrays[t["output"]], entry["output_scale"])}


__all__ = ["Graph", "Node", "Value", "build_trace", "plan_layers", "write_graph", "MAC_OPS",
           "read_entries", "dequantize_layer"]
