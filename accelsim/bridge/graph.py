"""The bridges' common graph: captured ops -> fused, quantized trace layers.

Place in the pipeline: ``model -> bridge`` (capture in :mod:`.torch` or
:mod:`.onnx`, then this module) ``-> trace.npz``. NumPy only.

A capture fills a :class:`Graph`: one :class:`Node` per executed op that reads
an activation, in execution order, with the op's actual output values (float)
and, for MAC ops, their weights. :func:`build_trace` then

1. **folds a bias add** (``x @ W.T + b``, ONNX ``MatMul`` + ``Add``: an ``add``
   of a constant that broadcasts to the layer's output without enlarging it and
   is the same along every axis but the layer's output channel axis: axis 1 of
   a conv2d output, the last axis of a linear output) into the conv2d / linear
   before it, when it is that layer's only consumer; then **folds batch norm**
   into the conv2d / linear that produces its input when that output feeds
   nothing else and the layer's output channel axis is the axis batch norm
   normalizes (axis 1): ``w' = w * g / sqrt(var + eps)`` per output channel,
   ``b' = (b - mean) * g / sqrt(var + eps) + beta`` (Jacob et al., CVPR 2018,
   section 3.2; R. Krishnamoorthi, "Quantizing deep convolutional networks for
   efficient inference: A whitepaper," arXiv:1806.08342, section 3.2). The
   layer's output is the batch norm's output. A linear on [N, T, C] has its
   channels on the last axis while ``BatchNorm1d`` on [N, T, K] normalizes T:
   that batch norm stays a layer of its own.
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
4. **quantizes** (:mod:`.quantize`; a MAC layer given the operator ``shift``,
   ``binary_weight`` or ``binary`` for that operator, at its widths) and
   writes the header entries and arrays.

What counts as a layer: every op that reads an activation (a tensor derived
from the model's inputs) and returns a floating tensor. Ops on weights only
(transposing a parameter, building a constant) are weight preparation, not
layers; ops returning no tensor (``x.size()``) are not layers; identity ops
(``contiguous``, ``clone``, dropout at inference) are not layers (their output
is the same data). Everything else that is not a MAC op becomes a non-MAC layer
with its ``input_shape`` (the first activation input; a 0-d tensor is recorded
as [1]) and ``output_shape`` (the first output: one half of a channel split),
and ``input_shapes`` / ``output_shapes`` (every activation input and output,
so that the bytes of a concat or split are all counted; constant operands are
not activations and are not listed), so nothing silently disappears.

Header keys this module adds to the schema of :mod:`accelsim.workload.layer`
(the parser ignores them unless said otherwise; documented here):

- every layer: ``inputs``, the names of the layers producing its activation
  inputs, in argument order (``@input``, ``@input1``, ... for model inputs).
- non-MAC layers: ``act_bits`` (the trace's activation width, so that their
  bytes are counted at the width the MAC layers use), ``input_shapes`` and
  ``output_shapes`` (above), and ``macs`` when the op multiplies and
  accumulates (a conv1d / conv3d, a transposed conv, a conv2d or linear the
  schema cannot express, a product of two activations, a two-operand einsum):
  its dense MACs for the whole batch, taps on padding excluded as for a MAC
  layer (:func:`conv_macs`, :func:`matmul_macs`, :func:`einsum_macs`). The
  parser reads these three and ``act_bits``; the report counts every input and
  output in the layer's bytes and lists its MACs as not simulated.
- MAC layers: ``act_scale`` (input), ``output_scale`` (float), ``weight_scale``
  (float, or a list with one per output channel), ``bias`` (array name, int64
  at scale ``act_scale * weight_scale``; absent when the layer has no bias),
  ``fused`` (names of the batch norm / ReLU ops folded into the layer).
  Real value = integer * scale. A ``binary`` layer's ``tensors.input`` is its
  own ``<layer>.input`` array (the signs of its input) and ``act_scale`` that
  array's scale.
- a MAC op the trace schema cannot express (say, asymmetric padding) becomes a
  non-MAC layer of kind ``unsupported_<op>`` with ``unsupported``: the reason.
- ``maxpool`` / ``avgpool``: their window (``kernel``, ``stride``, ``padding``,
  ``ceil_mode``, keys of the schema, :class:`accelsim.workload.layer.PoolWindow`)
  when the bridge could state it (a 2-d pool, dilation 1, symmetric padding)
  and the schema accepts it for the entry's shapes; else no window keys.
  Adaptive and global pools have none.

Layer names: MAC layers are named first (each bridge names them after their
weight), so a helper op of the same module (the ``pad`` of a conv with
``padding_mode="reflect"``) never takes a MAC layer's name; repeats get
``_1``, ``_2``.

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
from accelsim.workload.layer import layer_from_header, OPERATORS, POOL_KINDS, valid_taps
from accelsim.workload.quant import dequantize, dequantize_bias
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
    channel), ``eps``; for maxpool / avgpool optionally ``window``: ``kernel``,
    ``stride``, ``padding`` (pairs) and ``ceil_mode``; for any op optionally
    ``unsupported`` (a reason), ``param`` (the name the weight has in the
    model) and ``scope``: set when ``name`` was made up as ``<scope>.<op>``, so
    that the layer can be renamed after its final kind (a merged ``reshape``
    chain becomes ``<scope>.flatten``).
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


def _channel_axis(node: Node) -> int:
    """The axis of a MAC op's output that holds its output channels."""
    ndim = node.outputs[0].ndim
    if node.op == "linear":
        return ndim - 1  # x @ W.T: the last axis, whatever comes before it
    return 1 if ndim == 4 else 0  # conv2d [N, K, P, Q], or unbatched [K, P, Q]


def _fold_bn(weight: np.ndarray, bias: np.ndarray | None, bn: dict, axis: int) -> tuple | None:
    """Weight and bias with batch norm folded in, or None if it does not fold.

    Batch norm normalizes axis 1 of its input; it folds only when that is the
    layer's output channel axis ``axis`` and it has one entry per channel.
    """
    k = weight.shape[0]
    if axis != 1 or np.asarray(bn["mean"]).shape != (k,):
        return None
    inv = np.asarray(bn["gamma"], np.float64) / np.sqrt(np.asarray(bn["var"], np.float64)
                                                        + bn["eps"])
    w = weight.astype(np.float64) * inv.reshape((-1,) + (1,) * (weight.ndim - 1))
    b0 = np.zeros(k) if bias is None else bias.astype(np.float64)
    b = (b0 - np.asarray(bn["mean"], np.float64)) * inv + np.asarray(bn["beta"], np.float64)
    return w, b


def _as_bias(const: np.ndarray, out: np.ndarray, axis: int) -> np.ndarray | None:
    """``const`` as a per-channel bias (one value per entry of ``axis``) of ``out``, if it is.

    It must broadcast to ``out``'s shape without enlarging it and be the same
    along every other axis: a [T, 1] constant added to a linear's [N, T, K]
    output varies along T, not along the channels K, and is no bias.
    """
    const = np.asarray(const, np.float64)
    if out.ndim < 1 or const.ndim > out.ndim:
        return None
    try:
        if np.broadcast_shapes(const.shape, out.shape) != out.shape:
            return None
    except ValueError:
        return None
    full = np.broadcast_to(const, out.shape)
    index = [0] * out.ndim
    index[axis] = slice(None)
    b = full[tuple(index)]
    shape = [1] * out.ndim
    shape[axis] = -1
    return b.copy() if np.array_equal(full, np.broadcast_to(b.reshape(shape), out.shape)) \
        else None


def conv_macs(x_shape, w_shape, out_shape, *, stride, padding, dilation, groups: int,
              transposed: bool = False) -> int:
    """Dense MACs of an N-d convolution (or transposed convolution) for the whole batch.

    ``x_shape`` is [N, C, *in], ``out_shape`` [N, K, *out], ``w_shape``
    [K, C/groups, *kernel] (transposed: [C, K/groups, *kernel]); ``stride``,
    ``padding`` (the padding before the first element) and ``dilation`` have
    one entry per spatial axis. Taps on padding are excluded, as in
    :attr:`accelsim.workload.layer.Layer.macs`: for a convolution the (output,
    tap) pairs that read an input element, for a transposed convolution the
    (input, tap) pairs that land on an output element (output position ``i *
    stride + t * dilation - padding``, PyTorch's and ONNX's definition).
    """
    n, c, k = int(x_shape[0]), int(x_shape[1]), int(out_shape[1])
    pairs = 1
    for i, taps in enumerate(w_shape[2:]):
        size_in, size_out = int(x_shape[2 + i]), int(out_shape[2 + i])
        a, b = (size_out, size_in) if transposed else (size_in, size_out)
        pairs *= int(valid_taps(a, int(taps), b, int(stride[i]), int(padding[i]),
                                int(dilation[i])).sum())
    per = c * (k // groups) if transposed else k * (c // groups)
    return n * per * pairs


def matmul_macs(a_shape, out_shape) -> int:
    """MACs of ``a @ b`` (any batch dims): one per output element and contracted index."""
    return int(np.prod(out_shape, dtype=np.int64)) * int(a_shape[-1] if len(a_shape) else 1)


def einsum_macs(equation: str, shapes) -> int | None:
    """MACs of a two-operand einsum: the product of every index's size; None if not that form.

    Each output element sums the products over the contracted indices, so the
    multiplies are the product of all index sizes (an index summed within one
    operand only is counted too: an upper bound there). Ellipses and other
    operand counts are not counted (None).
    """
    lhs = equation.replace(" ", "").split("->")[0]
    terms = lhs.split(",")
    if len(terms) != 2 or len(shapes) != 2 or "." in lhs:
        return None
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes):
        if len(term) != len(shape):
            return None
        for ch, d in zip(term, shape):
            sizes[ch] = max(sizes.get(ch, 1), int(d))  # a size-1 index broadcasts
    return int(np.prod(list(sizes.values()), dtype=np.int64))


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
            last, axis = i, _channel_axis(node)
            j = _only_consumer(graph, uses, (i, 0), i, ("add",))
            if j is not None and "constant" in graph.nodes[j].attrs:
                b = _as_bias(graph.nodes[j].attrs["constant"], node.outputs[0], axis)
                if b is not None:
                    plan.bias = b if plan.bias is None else plan.bias + b
                    plan.fused.append(j)
                    last = j
            j = _only_consumer(graph, uses, (last, 0), last, ("batch_norm",))
            if j is not None:
                folded = _fold_bn(plan.weight, plan.bias, graph.nodes[j].attrs, axis)
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


def _window_keys(head: dict, node: Node) -> dict:
    """The window keys of a pool entry (``kernel``, ``stride``, ``padding``,
    ``ceil_mode``) from the node's ``window`` attribute, or none: only a
    ``maxpool`` / ``avgpool`` has them, and only when the schema's validation
    accepts them (4-D shapes, padding at most half the kernel, PyTorch's
    output-size rule giving the recorded output), so that a window the
    schema cannot state is left out rather than written wrong."""
    window = node.attrs.get("window")
    if window is None or head["kind"] not in POOL_KINDS:
        return {}
    keys = {"kernel": _pair(window["kernel"]), "stride": _pair(window["stride"]),
            "padding": _pair(window["padding"]), "ceil_mode": bool(window["ceil_mode"])}
    return {} if layer_from_header({**head, **keys}, 0)[1] else keys


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
    names: list[str] = [""] * len(plans)
    # MAC layers first: a helper op of their module never takes their name
    for idx in sorted(range(len(plans)), key=lambda i: plans[i].weight is None):
        node = graph.nodes[plans[idx].node]
        base = node.name
        if "scope" in node.attrs:
            base = ".".join(p for p in (node.attrs["scope"], plans[idx].kind) if p)
        names[idx] = _unique(base, used)
    for name, plan in zip(names, plans):
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
                        input_shapes=[_shape(graph.value(v)) for v in plan.inputs],
                        output_shapes=[_shape(graph.value(v)) for v in plan.outputs],
                        act_bits=act_bits, inputs=inputs)
            head.update(_window_keys(head, node))
            if node.attrs.get("macs") is not None:
                head["macs"] = int(node.attrs["macs"])
            if plan.activation != "none":
                head["activation"] = plan.activation
            if unsupported:
                head["unsupported"] = unsupported
            if plan.fused:
                head["fused"] = [graph.nodes[j].name for j in plan.fused]
            headers.append(head)
            continue
        operator = operators.get(name, "int")
        wbits, abits = qz.operator_widths(operator, weight_bits, act_bits)
        if operator == "binary":  # 1-bit inputs: the layer's own array (module quantize)
            xq, xs = qz.quantize_binary(graph.value(plan.inputs[0]))
            x_key, xs = f"{name}.input", float(xs)
            arrays[x_key] = xq
        else:
            x_key, xq, xs = act_array(plan.inputs[0])
        y_key, yq, ys = act_array(plan.outputs[0])
        w = plan.weight
        if operator == "shift":
            wq, ws = qz.quantize_shift(w, wbits, per_channel=per_channel)
        elif operator in ("binary", "binary_weight"):
            wq, ws = qz.quantize_binary(w, per_channel=per_channel)
        else:
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
        head.update(weight_bits=wbits, act_bits=abits, operator=operator,
                    activation=plan.activation,
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
    ``act_scale * weight_scale`` (zeros when the layer has no bias), as
    :mod:`accelsim.workload.quant` reads every trace's codes.
    """
    t = entry["tensors"]
    ws, xs = entry["weight_scale"], entry["act_scale"]
    w = dequantize(arrays[t["weight"]], ws)
    k = w.shape[0]
    b = dequantize_bias(arrays[entry["bias"]], xs, ws, k) if "bias" in entry else np.zeros(k)
    return {"input": dequantize(arrays[t["input"]], xs), "weight": w, "bias": b,
            "output": dequantize(arrays[t["output"]], entry["output_scale"])}


__all__ = ["Graph", "Node", "Value", "build_trace", "plan_layers", "write_graph", "MAC_OPS",
           "read_entries", "dequantize_layer", "conv_macs", "matmul_macs", "einsum_macs"]
