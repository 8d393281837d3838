"""PyTorch model -> trace.npz: run the model once and capture what it computes.

Place in the pipeline: ``PyTorch model -> bridge`` (this module, then
:mod:`accelsim.bridge.graph`) ``-> trace.npz -> workload``. This is the only
place besides :mod:`accelsim.bridge.onnx` and the workloads that imports torch.

How ops are captured: a :class:`torch.overrides.TorchFunctionMode` sees every
call that goes through PyTorch's ``__torch_function__`` protocol while the
model runs (``F.conv2d``, ``F.linear``, ``torch.add`` and ``+``,
``torch.cat``, ``F.relu``, ``F.max_pool2d``, ``torch.flatten``,
``Tensor.view``, ...), whether the model calls them through ``nn`` modules or
directly, so module-style and functional-style models export the same trace.
Forward hooks on every submodule keep a stack of module names for naming.
This was chosen over ``torch.fx`` symbolic tracing because it runs the model
eagerly on real inputs: data-dependent control flow, shape arithmetic and
Python containers need no special handling, and each op's actual output is at
hand when it runs.

Limits (what the mode cannot see or this module does not model):

- ops that bypass ``__torch_function__`` (``torch.ops.aten`` calls, custom C++
  or Triton kernels, TorchScript-compiled submodules). A leaf module whose
  forward produced a new tensor without any captured op is still listed, as a
  non-MAC layer named after the module, of kind ``unsupported_<class name in
  lower case>``, with ``unsupported`` saying its ops were not captured;
- an in-place op on a tensor that has views: the captured values of the views
  are those before the in-place op; an in-place op that returns nothing
  (``x[idx] = v``) is not seen;
- conv2d (any stride, padding, dilation, groups) and linear are MAC layers, and
  so is ``x @ W`` / ``torch.mm`` / ``torch.addmm`` with a constant 2-d right
  operand (a linear with weight ``W.T``). Conv1d/3d, transposed convs and
  products of two activations (``matmul``, ``bmm``, ``baddbmm``, two-operand
  ``einsum``: attention) are listed as non-MAC layers (``unsupported_<op>``
  for the convs) with the MACs they perform (header key ``macs``, see
  :mod:`accelsim.bridge.graph`), so the report can say what is not simulated;
- batch norm folds when it runs with running statistics (inference); a model
  in training mode is refused. A batch norm without running statistics
  (``track_running_stats=False``) or called with ``training=True`` normalizes
  with the statistics of each batch: it cannot be folded and is listed as a
  non-MAC layer ``unsupported_batch_norm`` saying so;
- the trace schema has no bias and no asymmetric padding: the bias is stored
  beside the layer (see :mod:`accelsim.bridge.graph`), and ``padding='same'``
  with an even effective kernel makes the conv ``unsupported_conv2d``;
- a 2-d max / average pool records its window (kernel, stride, padding,
  ceil_mode) unless its dilation is not 1 (:mod:`accelsim.bridge.graph` keeps
  it only when the schema accepts it); adaptive pools have none.

Layer names: a MAC layer is named after its weight's parameter name without
``.weight`` (``features.0``, or ``conv1`` for a parameter called ``conv1``);
another op is named after the leaf module that ran it (``pool1``), or else
``<enclosing module>.<kind>`` (``layer1.0.add``); repeats get ``_1``, ``_2``.
A weight pruned with ``torch.nn.utils.prune`` (computed from the parameter
``weight_orig`` and the buffer ``weight_mask``) names its layer as the plain
weight would, so a pruned copy of a model exports the same layer names.
When a leaf module runs several ops and one of them performs MACs (a conv
with ``padding_mode="reflect"`` pads, then convolves), that op takes the
module's name and the others ``<module>.<kind>`` (``c.pad``), so that
``--operators c=shift`` names the conv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from accelsim.bridge.graph import (MAC_OPS, Graph, Node, Value, conv_macs, einsum_macs,
                                   matmul_macs, write_graph)
from accelsim.bridge.quantize import check_bits
from accelsim.errors import AccelsimError

_IDENTITY = {"contiguous", "clone", "detach", "to", "float", "double", "half", "type",
             "type_as", "cpu", "dropout", "alpha_dropout", "feature_alpha_dropout",
             "dropout1d", "dropout2d", "dropout3d", "get", "requires_grad"}
_RESHAPE = {"view", "reshape", "flatten", "squeeze", "unsqueeze", "view_as", "reshape_as",
            "unflatten", "ravel"}
_PERMUTE = {"transpose", "permute", "t", "swapaxes", "swapdims", "movedim", "moveaxis"}
_ARITH = {"add", "sub", "mul", "div", "truediv", "floordiv", "matmul", "pow", "and", "or"}
_KINDS = {"max_pool2d": "maxpool", "max_pool2d_with_indices": "maxpool",
          "avg_pool2d": "avgpool", "adaptive_avg_pool2d": "adaptive_avgpool",
          "adaptive_max_pool2d": "adaptive_maxpool", "cat": "concat",
          "concatenate": "concat", "getitem": "slice", "truediv": "div",
          "floordiv": "div", "relu6": "relu6", "conv1d": "conv1d", "conv3d": "conv3d"}
_CONV_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_CONV_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1}
_CONVT_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups",
               "dilation")
_CONVT_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "groups": 1,
                   "dilation": 1}
_PRODUCT_ARG = {"linear": "input", "matmul": "input", "mm": "input", "bmm": "input",
                "addmm": "mat1", "baddbmm": "batch1"}
_PRODUCT_ARGS = {"linear": ("input", "weight"), "matmul": ("input", "other"),
                 "mm": ("input", "mat2"), "bmm": ("input", "mat2"),
                 "addmm": ("input", "mat1", "mat2"), "baddbmm": ("input", "batch1", "batch2")}
_POOL_ARGS = {  # F.max_pool2d, its _with_indices form and torch.max_pool2d; F.avg_pool2d
    "maxpool": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "avgpool": ("input", "kernel_size", "stride", "padding", "ceil_mode")}
_POOL_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False}
_F_BN_ARGS = ("input", "running_mean", "running_var", "weight", "bias", "training",
              "momentum", "eps")
_ATEN_BN_ARGS = ("input", "weight", "bias", "running_mean", "running_var", "training",
                 "momentum", "eps", "cudnn_enabled")


def _kind(func) -> str:
    """Canonical op name of a torch function: ``__iadd__`` -> ``add``, ``relu_`` -> ``relu``."""
    name = getattr(func, "__name__", type(func).__name__)
    if name.startswith("__") and name.endswith("__"):
        name = name[2:-2]
        if name[:1] in ("i", "r") and name[1:] in _ARITH:
            name = name[1:]
    name = name.strip("_")
    return _KINDS.get(name, name)


def _bind(args: tuple, kwargs: dict, names: tuple, defaults: dict) -> dict:
    out = dict(defaults)
    out.update(zip(names, args))
    out.update(kwargs)
    return out


def _tensors(obj: Any) -> Iterable[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            yield from _tensors(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _tensors(item)


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (list, tuple)):
        return (int(v[0]), int(v[1])) if len(v) == 2 else (int(v[0]), int(v[0]))
    return int(v), int(v)


def _ntuple(v, n: int) -> list[int]:
    if isinstance(v, (list, tuple)):
        return [int(x) for x in v] if len(v) == n else [int(v[0])] * n
    return [int(v)] * n


def _conv_macs(kind: str, args, kwargs, out: torch.Tensor) -> int:
    """MACs of a conv1d/2d/3d or conv_transpose call (:func:`accelsim.bridge.graph.conv_macs`)."""
    transposed = kind.startswith("conv_transpose")
    a = _bind(args, kwargs, *((_CONVT_ARGS, _CONVT_DEFAULTS) if transposed
                              else (_CONV_ARGS, _CONV_DEFAULTS)))
    x, w = a["input"], a["weight"]
    spatial = w.dim() - 2
    x_shape, out_shape = list(x.shape), list(out.shape)
    if x.dim() == spatial + 1:  # unbatched [C, *in]
        x_shape, out_shape = [1, *x_shape], [1, *out_shape]
    dilation = _ntuple(a["dilation"], spatial)
    pad = a["padding"]
    if isinstance(pad, str):  # 'same' pads total // 2 before, as PyTorch does
        pad = [0] * spatial if pad == "valid" else \
            [d * (k - 1) // 2 for d, k in zip(dilation, w.shape[2:])]
    return conv_macs(x_shape, list(w.shape), out_shape, stride=_ntuple(a["stride"], spatial),
                     padding=_ntuple(pad, spatial), dilation=dilation,
                     groups=int(a["groups"]), transposed=transposed)


def _op_macs(kind: str, args, kwargs, outs: list[torch.Tensor]) -> int | None:
    """MACs an op performs, for the ops recorded as non-MAC layers that have them.

    None when the op has none, or when its arguments are not in a form read here
    (the layer is then recorded without ``macs``: unknown, not zero).
    """
    try:
        return _count_macs(kind, args, kwargs, outs) if outs else None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError):
        return None


def _count_macs(kind: str, args, kwargs, outs: list[torch.Tensor]) -> int | None:
    if kind in ("conv1d", "conv2d", "conv3d") or kind.startswith("conv_transpose"):
        return _conv_macs(kind, args, kwargs, outs[0])
    if kind in _PRODUCT_ARG:
        a = _bind(args, kwargs, _PRODUCT_ARGS[kind], {})
        x = a.get(_PRODUCT_ARG[kind])
        return matmul_macs(tuple(x.shape), tuple(outs[0].shape)) \
            if isinstance(x, torch.Tensor) else None
    if kind == "einsum" and args and isinstance(args[0], str):
        return einsum_macs(args[0], [tuple(t.shape) for t in _tensors(args[1:])])
    return None


def _pair_or_none(v) -> tuple[int, int] | None:
    """An int or a 1- or 2-entry sequence as an (h, w) pair (:func:`_pair`); None
    for anything else."""
    stated = (len(v) in (1, 2) if isinstance(v, (list, tuple))
              else isinstance(v, int) and not isinstance(v, bool))
    return _pair(v) if stated else None


def _pool_window(kind: str, args, kwargs) -> dict | None:
    """The window of a 2-d max / average pool call, None if it has none the schema
    states (a dilation other than 1). A missing or empty stride is the kernel,
    as in PyTorch; ``count_include_pad`` and ``divisor_override`` change the
    values, not the window, and are not recorded."""
    a = _bind(args, kwargs, _POOL_ARGS[kind], _POOL_DEFAULTS)
    kernel = _pair_or_none(a["kernel_size"])
    stride = kernel if a["stride"] is None or a["stride"] == [] or a["stride"] == () \
        else _pair_or_none(a["stride"])
    padding = _pair_or_none(a["padding"])
    if None in (kernel, stride, padding) or _pair_or_none(a.get("dilation", 1)) != (1, 1):
        return None
    return {"kernel": kernel, "stride": stride, "padding": padding,
            "ceil_mode": bool(a["ceil_mode"])}


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy().copy()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


class _Capture(TorchFunctionMode):
    """Records every torch call on an activation into a :class:`Graph`."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.graph = Graph()
        self.values: dict[int, Value] = {}      # id(tensor) -> the value it holds now
        self.keep: list[torch.Tensor] = []      # keeps ids of recorded tensors unique
        self.params = {id(p): n for n, p in model.named_parameters()}
        self.const_names: dict[int, str] = {}   # weight-side tensors -> parameter name
        self.stack: list[list] = []             # [module name, is leaf, nodes at entry]

    # ---- naming --------------------------------------------------------------------
    def _name(self, kind: str, param: str | None = None) -> tuple[str, dict]:
        """The node name, and ``{"scope": ...}`` when the name is made up from the kind."""
        if param and param not in ("weight", "weight_orig"):  # a bare nn.Conv2d / Linear
            for suffix in (".weight", ".weight_orig"):  # weight_orig: torch's prune
                if param.endswith(suffix):
                    return param[: -len(suffix)], {}
            return param, {}
        owner = ""
        if self.stack:
            owner, leaf, start = self.stack[-1]
            if leaf and owner and len(self.graph.nodes) == start:
                return owner, {}
        return (f"{owner}.{kind}" if owner else kind), {"scope": owner}

    def _param_name(self, t) -> str | None:
        if not isinstance(t, torch.Tensor):
            return None
        return self.params.get(id(t)) or self.const_names.get(id(t))

    # ---- recording -----------------------------------------------------------------
    def add_input(self, t: torch.Tensor) -> None:
        idx = self.graph.add(Node(op="input", name="input", inputs=[], outputs=[_np(t)]))
        self.values[id(t)] = (idx, 0)
        self.keep.append(t)

    def _is_act(self, t) -> bool:
        return isinstance(t, torch.Tensor) and id(t) in self.values

    def _record(self, op: str, name: tuple[str, dict], inputs: list[torch.Tensor],
                outs: list[torch.Tensor], attrs: dict | None = None) -> None:
        node = Node(op=op, name=name[0], inputs=[self.values[id(t)] for t in inputs],
                    outputs=[_np(t) for t in outs], attrs={**(attrs or {}), **name[1]})
        idx = self.graph.add(node)
        for j, t in enumerate(outs):
            self.values[id(t)] = (idx, j)
            self.keep.append(t)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        outs = list(_tensors(out))
        if not outs:
            return out  # metadata: x.size(), x.dim(), ...
        acts = [t for t in _tensors((args, kwargs)) if self._is_act(t)]
        if not acts:  # weight preparation (W.t(), a constant): remember the parameter
            src = next((self._param_name(t) for t in _tensors((args, kwargs))
                        if self._param_name(t)), None)
            if src:
                for t in outs:
                    self.const_names[id(t)] = src
                    self.keep.append(t)
            return out
        self._dispatch(func, _kind(func), args, kwargs, acts, outs)
        return out

    def _dispatch(self, func, kind, args, kwargs, acts, outs) -> None:
        if kind in _IDENTITY and len(acts) == 1 and len(outs) == 1 \
                and outs[0].shape == acts[0].shape and torch.equal(outs[0], acts[0]):
            self.values[id(outs[0])] = self.values[id(acts[0])]  # same data: not a layer
            self.keep.append(outs[0])
            return
        if kind == "get" and len(outs) == 1 and len(acts) == 1:
            kind = "permute"  # .T / .mT / .H
        if kind == "conv2d":
            return self._conv(args, kwargs, acts, outs)
        if kind in ("linear", "matmul", "mm", "addmm"):
            return self._linear(kind, args, kwargs, acts, outs)
        if kind == "batch_norm":
            return self._batch_norm(func, args, kwargs, acts, outs)
        if kind == "hardtanh":
            lo_hi = (_bind(args, kwargs, ("input", "min_val", "max_val"),
                           {"min_val": -1.0, "max_val": 1.0}))
            if (lo_hi["min_val"], lo_hi["max_val"]) == (0.0, 6.0):
                kind = "relu6"
        elif kind in _RESHAPE:
            kind = "reshape"
        elif kind in _PERMUTE:
            kind = "permute"
        elif kind in ("chunk", "split", "tensor_split"):
            dim = _bind(args, kwargs, ("input", "n", "dim"), {"dim": 0})["dim"]
            two_halves = len(outs) == 2 and outs[0].shape == outs[1].shape
            kind = "channel_split" if two_halves and acts[0].dim() > 1 \
                and dim % acts[0].dim() == 1 else "split"
        attrs = {}
        if kind == "add" and len(acts) == 1:  # x + b with a constant b: maybe a bias
            const = [t for t in _tensors(args[:2]) if not self._is_act(t)]
            alpha = kwargs.get("alpha", args[2] if len(args) > 2 else 1)
            if len(const) == 1 and alpha == 1:
                attrs["constant"] = _np(const[0])
        if kind in ("conv1d", "conv3d") or kind.startswith("conv_transpose"):
            attrs["unsupported"] = f"{kind} is not in the trace schema (conv2d, linear)"
        if kind in _POOL_ARGS:
            window = _pool_window(kind, args, kwargs)
            if window is not None:
                attrs["window"] = window
        macs = _op_macs(kind, args, kwargs, outs)
        if macs is not None:
            attrs["macs"] = macs
        self._record(kind, self._name(kind), acts, outs, attrs)

    def _conv(self, args, kwargs, acts, outs) -> None:
        a = _bind(args, kwargs, _CONV_ARGS, _CONV_DEFAULTS)
        x, w, b = a["input"], a["weight"], a["bias"]
        param = self._param_name(w)
        name = self._name("conv2d", param)
        stride, dilation = _pair(a["stride"]), _pair(a["dilation"])
        pad, why = a["padding"], None
        if isinstance(pad, str):
            if pad == "valid":
                pad = (0, 0)
            else:  # 'same': total padding d*(k-1) per axis, split evenly if it can be
                totals = [d * (k - 1) for d, k in zip(dilation, w.shape[2:])]
                pad = tuple(t // 2 for t in totals)
                if any(t % 2 for t in totals):
                    why = "padding='same' with an even effective kernel pads asymmetrically"
        if not self._is_act(x) or self._is_act(w) or (b is not None and self._is_act(b)):
            why = "the weight is computed from the input" if self._is_act(w) else \
                "only the input may be an activation"
        if why:
            self._record("conv2d", name, acts, outs, {
                "unsupported": why, "macs": _op_macs("conv2d", args, kwargs, outs)})
            return
        self._record("conv2d", name, [x], outs, {
            "weight": _np(w), "bias": None if b is None else _np(b), "stride": stride,
            "padding": _pair(pad), "dilation": dilation, "groups": int(a["groups"]),
            "param": param})

    def _linear(self, kind, args, kwargs, acts, outs) -> None:
        if kind == "linear":
            a = _bind(args, kwargs, ("input", "weight", "bias"), {"bias": None})
            x, w_arg, b, ok = a["input"], a["weight"], a["bias"], True
        elif kind == "addmm":  # bias + x @ mat2
            a = _bind(args, kwargs, ("input", "mat1", "mat2"), {"beta": 1, "alpha": 1})
            x, w_arg, b = a["mat1"], a["mat2"], a["input"]
            ok = a["alpha"] == 1 and a["beta"] == 1 and isinstance(b, torch.Tensor) \
                and b.dim() == 1
        else:  # matmul / mm: x @ mat2
            x, w_arg, b, ok = args[0], args[1], None, True
        ok = ok and self._is_act(x) and isinstance(w_arg, torch.Tensor) \
            and w_arg.dim() == 2 and not self._is_act(w_arg) \
            and (b is None or not self._is_act(b))
        if not ok:  # a product of activations, or a form the schema cannot hold
            self._record(kind, self._name(kind), acts, outs,
                         {"macs": _op_macs(kind, args, kwargs, outs)})
            return
        w = w_arg if kind == "linear" else w_arg.t()  # x @ W is a linear of weight W.T
        param = self._param_name(w_arg)
        self._record("linear", self._name("linear", param), [x], outs, {
            "weight": _np(w), "bias": None if b is None else _np(b), "param": param})

    def _batch_norm(self, func, args, kwargs, acts, outs) -> None:
        import torch.nn.functional as F

        names = _F_BN_ARGS if func is F.batch_norm else _ATEN_BN_ARGS
        a = _bind(args, kwargs, names, {"weight": None, "bias": None, "training": False,
                                        "eps": 1e-5})
        name = self._name("batch_norm")
        if a["training"] or a["running_mean"] is None:
            why = ("has no running statistics (track_running_stats=False)"
                   if a["running_mean"] is None else "is called with training=True")
            self._record("batch_norm", name, acts, outs, {
                "unsupported": f"{why}: it normalizes with the statistics of each batch, "
                               "so it cannot be folded into the layer before it"})
            return
        mean = _np(a["running_mean"]).astype(np.float64)
        k = mean.shape[0]
        gamma = np.ones(k) if a["weight"] is None else _np(a["weight"])
        beta = np.zeros(k) if a["bias"] is None else _np(a["bias"])
        self._record("batch_norm", name, [a["input"]], outs, {
            "mean": mean, "var": _np(a["running_var"]), "gamma": gamma, "beta": beta,
            "eps": float(a["eps"])})

    @staticmethod
    def _name_in_leaf(owner: str, nodes: list[Node]) -> None:
        """Of several ops a leaf module ran, the one with MACs takes the module's name."""
        main = [n for n in nodes if (n.op in MAC_OPS and "weight" in n.attrs)
                or n.attrs.get("macs")]
        if len(main) != 1 or not owner:
            return
        for n in nodes:
            if n is main[0]:
                if "scope" in n.attrs and "weight" not in n.attrs:
                    n.name = owner
                    del n.attrs["scope"]
            elif n.name == owner:  # it ran first and took the module's name
                n.name, n.attrs["scope"] = f"{owner}.{n.op}", owner

    # ---- module hooks --------------------------------------------------------------
    def pre_hook(self, name: str, leaf: bool):
        def hook(module, args):
            self.stack.append([name, leaf, len(self.graph.nodes)])
        return hook

    def post_hook(self, name: str, leaf: bool):
        def hook(module, args, output):
            _, _, start = self.stack.pop()
            if leaf and len(self.graph.nodes) > start + 1:
                self._name_in_leaf(name, self.graph.nodes[start:])
            if not leaf or len(self.graph.nodes) != start:
                return
            acts = [t for t in _tensors(args) if self._is_act(t)]
            outs = [t for t in _tensors(output) if id(t) not in self.values]
            if acts and outs:
                with torch._C.DisableTorchFunction():
                    self._record(type(module).__name__.lower(), (name or "module", {}), acts, outs,
                                 {"unsupported": "its ops were not captured (not dispatched "
                                                 "through __torch_function__)"})
        return hook


def _as_inputs(inputs) -> tuple[torch.Tensor, ...]:
    items = inputs if isinstance(inputs, (tuple, list)) else (inputs,)
    out = []
    for i, item in enumerate(items):
        if isinstance(item, np.ndarray):
            item = torch.from_numpy(np.ascontiguousarray(item, dtype=np.float32))
        if not isinstance(item, torch.Tensor):
            raise AccelsimError(f"inputs[{i}]: must be a torch.Tensor or a NumPy array "
                                f"(got {type(item).__name__})")
        out.append(item)
    if not out:
        raise AccelsimError("inputs: at least one input tensor is needed")
    return tuple(out)


def capture(model: torch.nn.Module, inputs) -> Graph:
    """Run ``model`` on ``inputs`` (no grad) and return the captured :class:`Graph`."""
    if not isinstance(model, torch.nn.Module):
        raise AccelsimError(f"model: must be a torch.nn.Module (got {type(model).__name__})")
    training = [n or type(model).__name__ for n, m in model.named_modules() if m.training]
    if training:
        raise AccelsimError(f"model: {training[0]!r} is in training mode; call model.eval() "
                            "before exporting (batch norm and dropout differ in training)")
    xs = _as_inputs(inputs)
    cap = _Capture(model)
    handles = []
    for name, module in model.named_modules():
        leaf = next(module.children(), None) is None
        handles.append(module.register_forward_pre_hook(cap.pre_hook(name, leaf)))
        handles.append(module.register_forward_hook(cap.post_hook(name, leaf)))
    try:
        for x in xs:
            cap.add_input(x)
        with torch.no_grad(), cap:
            out = model(*xs)
    except AccelsimError:
        raise
    except Exception as exc:
        shapes = ", ".join(str(list(x.shape)) for x in xs)
        raise AccelsimError(f"model: running it on input shape {shapes} failed "
                            f"({_first_line(exc)})") from exc
    finally:
        for h in handles:
            h.remove()
    cap.graph.outputs = [cap.values[id(t)] for t in _tensors(out) if id(t) in cap.values]
    return cap.graph


def export_trace(model: torch.nn.Module, inputs, path: str | Path, *, weight_bits: int = 16,
                 act_bits: int = 16, operators: dict[str, str] | None = None,
                 per_channel: bool = False, network: str | None = None,
                 compress: bool = True) -> list[dict]:
    """Run ``model`` on ``inputs`` and write what it computed as a trace.

    Parameters
    ----------
    model:
        A ``torch.nn.Module`` in eval mode (a model in training mode is refused).
    inputs:
        A tensor (or NumPy array), or a tuple of them: the model's arguments. The
        first dimension of the first input is the trace's batch.
    path:
        The ``.npz`` trace to write (atomically).
    weight_bits, act_bits:
        Integer widths, 2 to 32, of weights and activations in the trace
        (symmetric quantization, see :mod:`accelsim.bridge.quantize`).
    operators:
        Layer name -> operator (one of :data:`accelsim.workload.layer.OPERATORS`),
        recorded as that MAC layer's ``operator``; others are ``int``. A
        ``shift``, ``binary_weight`` or ``binary`` layer is quantized for its
        operator, at its widths (see :mod:`accelsim.bridge.quantize`).
    per_channel:
        Quantize weights with one scale per output channel instead of per tensor.
    network:
        The trace's network name (default: the model's class name in lower case).
    compress:
        Zip-compress the arrays (default True).

    Returns
    -------
    list of dict
        The layer header entries written, scales included.

    Raises
    ------
    AccelsimError
        The model is in training mode or fails on the inputs; a bit width is out
        of range; ``operators`` names an unknown layer or operator.
    """
    weight_bits = check_bits("weight_bits", weight_bits)
    act_bits = check_bits("act_bits", act_bits)
    graph = capture(model, inputs)
    return write_graph(graph, path, network=network or type(model).__name__.lower(),
                       weight_bits=weight_bits, act_bits=act_bits, per_channel=per_channel,
                       operators=operators, compress=compress)


def export_routed_trace(models: dict[str, torch.nn.Module], inputs, route: list[str],
                        path: str | Path, **export_kwargs):
    """Export each variant of a network on the same inputs and write one routed trace.

    Each model is exported with :func:`export_trace` (``export_kwargs`` are its
    keyword arguments, the same for every variant) into a temporary folder, on
    all of ``inputs``; :func:`accelsim.workload.route.route_traces` then keeps,
    for each image, the variant ``route`` names (see that module for the
    schedule modeled and the cost of mixing).

    Parameters
    ----------
    models:
        Variant name -> ``torch.nn.Module`` in eval mode, at least two, of one
        architecture: e.g. a model and a copy pruned with
        ``torch.nn.utils.prune`` (or by masking its weights).
    inputs:
        The model's inputs, as for :func:`export_trace`; their first dimension is
        the batch.
    route:
        One variant name per image of the batch.
    path:
        The routed ``.npz`` trace to write (atomically; checked first).

    Returns
    -------
    accelsim.workload.trace.Trace
        The routed trace, as written.

    Raises
    ------
    AccelsimError
        Anything :func:`export_trace` or ``route_traces`` raises (fewer than two
        variants, models of different architectures, a bad route).
    """
    import tempfile

    from accelsim.fileio import check_output_path
    from accelsim.workload.route import route_traces, write_routed_trace
    from accelsim.workload.trace import read_trace

    check_output_path(path, "path")
    if not isinstance(models, dict) or len(models) < 2:
        got = len(models) if isinstance(models, dict) else type(models).__name__
        raise AccelsimError(f"models: routing needs a dict of at least two variants (got {got})")
    with tempfile.TemporaryDirectory(prefix="accelsim-route-") as tmp:
        traces = {}
        for i, (name, model) in enumerate(models.items()):
            part = Path(tmp) / f"variant{i}.npz"
            export_trace(model, inputs, part, **export_kwargs)
            traces[name] = read_trace(part)
        routed = route_traces(traces, list(route))
        write_routed_trace(path, routed, compress=export_kwargs.get("compress", True))
    return read_trace(path)


__all__ = ["export_trace", "export_routed_trace", "capture"]
