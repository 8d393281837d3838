"""Workload layers: the shapes the rest of the pipeline works on.

Place in the pipeline: ``trace.npz -> workload`` (this module) ``-> mapping``.

Loop dimensions follow Timeloop (Parashar et al., ISPASS 2019) and are used the
same way everywhere in accelsim:

====  ==========================================  ================================
dim   meaning                                     Eyeriss JSSC 2017 name
====  ==========================================  ================================
N     batch                                       N
C     input channels per group                    C
K     output channels per group                   M (the paper counts all groups)
P, Q  output height, width                        E, F
R, S  filter height, width                        R, S
H, W  input height, width (unpadded)              H (the paper's H is padded)
====  ==========================================  ================================

A ``linear`` layer is a convolution with H = W = R = S = 1 (C in, K out).

A trace layer's header entry (JSON) is a dict; :func:`layer_from_header` turns it
into a :class:`Layer` and names the layer and field of anything wrong. Keys:

``name`` (str), ``kind`` (``conv2d`` | ``linear`` | any other op name), and
for conv2d: ``input_shape`` [N, C_total, H, W], ``out_channels`` (K total),
``kernel`` [R, S], ``stride`` [sh, sw], ``padding`` [ph, pw], ``dilation``
[dh, dw] (optional, default [1, 1]), ``groups`` (optional, default 1);
for linear: ``input_shape`` [N, C], ``out_features``;
for both: ``weight_bits``, ``act_bits`` (optional, default 16), ``operator``
(optional, default ``int``);
for any other kind: ``input_shape`` and ``output_shape`` (lists of ints),
optionally ``act_bits``, ``unsupported`` (why an exporter could not map an
op), ``input_shapes`` / ``output_shapes`` (the shapes of every activation
input / output, a list of lists of ints, the first being ``input_shape`` /
``output_shape``: a concat's inputs, a split's outputs) and ``macs`` (int >= 0:
the MACs the op performs, for an op that multiplies and accumulates but is not
a MAC layer, e.g. a transposed conv); these layers are reported as not
simulated, with their bytes (every input and output) and those MACs. A
``maxpool`` or ``avgpool`` may give its window: ``kernel``, ``stride`` and
``padding`` ([h, w] each, together) and ``ceil_mode`` (optional, default
false), which must give its ``output_shape`` (:class:`PoolWindow`;
``accelsim synth`` writes them and reads them to keep a layer's output
consistent with the next layer's input).
Optional for every kind: ``tensors``, a dict naming the npz arrays of this layer
(``input``, ``weight``, ``output``, ``input_mask``), and ``activation``
(``relu`` or ``none``), the function applied to the layer's output.

Traces from the model bridge (:mod:`accelsim.bridge.graph`) also carry
``inputs`` (the layers or graph inputs feeding this one) and ``fused`` (the
graph nodes folded into it), both lists of strings, on every kind, which the
simulator does not read (the bridge reads them back; they are not kept on the
layer); and on MAC layers the quantization: scales ``act_scale``,
``output_scale`` (numbers > 0) and ``weight_scale`` (a number > 0, or one per
output channel) and ``bias`` (the name of the bias array), kept on the layer
(:class:`Quantization`) and written back by :func:`layer_to_header`: with
them the run recomputes what an ``input_mask`` does to the layer's output
(:mod:`accelsim.workload.masking`). Any other key is an error, so that a typo
(``strides``) cannot pass for a default.

Routed traces (:mod:`accelsim.workload.route`) hold, for every layer, one
instance per variant of the network (a mildly and an aggressively pruned
copy); each instance carries, on every kind, ``variant`` (the variant's name,
a non-empty string) and ``images`` (the indices, in the whole batch, of the
images the instance runs, a non-empty list of distinct integers >= 0, in
increasing order). The two go together; the trace checks them against its
``routing`` key (:mod:`accelsim.workload.trace`).
MAC layers written by :mod:`accelsim.workload.decompose` (a layer L stored as
a basis times power-of-two coefficients) carry, all three together,
``decomposed_from`` (L's name), ``part`` (``basis`` or ``coefficients``) and
``rank`` (basis vectors per group: the basis layer's out_channels per group,
the coefficient layer's in_channels per group). The report carries the first
two, so that the parts of L can be summed.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass, field
from typing import Any

MAC_KINDS = ("conv2d", "linear")
OPERATORS = ("int", "fp", "bfloat", "binary", "binary_weight", "shift", "mult_free")
# What each operator's weight and activation widths may be (the operator's own
# semantics; what a core supports is the arch's business, accelsim.spec.mac):
# int: a multiply-accumulate at any width >= 2; fp: IEEE fp16 or fp32, both
# operands alike; bfloat: bf16 (8-bit exponent, 7-bit mantissa); binary: 1-bit
# weights and activations (XNOR + popcount); binary_weight: +-1 weights (1 bit)
# added to or subtracted from the activation; shift: signed power-of-two weights
# (a sign bit and an exponent), a shift and an add; mult_free: AdderNet's
# -|x - w| accumulated (Chen et al., "AdderNet", CVPR 2020).
OPERATOR_RULES = {
    "int": "weight_bits and act_bits >= 2",
    "fp": "weight_bits == act_bits, 16 or 32",
    "bfloat": "weight_bits == act_bits == 16",
    "binary": "weight_bits == act_bits == 1",
    "binary_weight": "weight_bits == 1, act_bits >= 2",
    "shift": "weight_bits >= 2 (sign and exponent), act_bits >= 2",
    "mult_free": "weight_bits and act_bits >= 2",
}


def operator_bits_ok(operator: str, weight_bits: int, act_bits: int) -> bool:
    """Whether ``operator`` is defined at these widths (see OPERATOR_RULES)."""
    w, a = weight_bits, act_bits
    if operator == "fp":
        return w == a and w in (16, 32)
    if operator == "bfloat":
        return w == a == 16
    if operator == "binary":
        return w == a == 1
    if operator == "binary_weight":
        return w == 1 and a >= 2
    if operator in ("int", "shift", "mult_free"):
        return w >= 2 and a >= 2
    return False
TENSOR_ROLES = ("input", "weight", "output", "input_mask")
_BRIDGE_KEYS = ("inputs", "fused")
QUANTIZATION_KEYS = ("act_scale", "output_scale", "weight_scale", "bias")
"""The MAC layer keys of :class:`Quantization` (the bridge writes them)."""
_ROUTE_KEYS = ("variant", "images")
_COMMON_KEYS = ("name", "kind", "tensors", "activation")
_DECOMPOSED_KEYS = ("decomposed_from", "part", "rank")
DECOMPOSED_PARTS = ("basis", "coefficients")
LAYER_KEYS = {
    "conv2d": (*_COMMON_KEYS, "input_shape", "out_channels", "kernel", "stride", "padding",
               "dilation", "groups", "weight_bits", "act_bits", "operator", *_BRIDGE_KEYS,
               *QUANTIZATION_KEYS, *_ROUTE_KEYS, *_DECOMPOSED_KEYS),
    "linear": (*_COMMON_KEYS, "input_shape", "out_features", "weight_bits", "act_bits",
               "operator", *_BRIDGE_KEYS, *QUANTIZATION_KEYS, *_ROUTE_KEYS, *_DECOMPOSED_KEYS),
    "other": (*_COMMON_KEYS, "input_shape", "output_shape", "act_bits", "unsupported",
              "macs", "input_shapes", "output_shapes", "kernel", "stride", "padding",
              "ceil_mode", *_BRIDGE_KEYS, *_ROUTE_KEYS),
}
POOL_KINDS = ("maxpool", "avgpool")
"""Non-MAC kinds that may carry their window (:class:`PoolWindow`)."""
_POOL_KEYS = ("kernel", "stride", "padding", "ceil_mode")
"""The keys a layer entry may hold, by kind (``other``: every non-MAC kind)."""


@dataclass(frozen=True, slots=True)
class PoolWindow:
    """The window of a ``maxpool`` / ``avgpool`` entry (optional header keys
    ``kernel``, ``stride``, ``padding`` as [h, w] and ``ceil_mode``), with
    PyTorch's output-size rule (:func:`pool_out_size`)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    ceil_mode: bool = False

    def out_size(self, h: int, w: int) -> tuple[int, int]:
        return (pool_out_size(h, self.kernel[0], self.stride[0], self.padding[0], self.ceil_mode),
                pool_out_size(w, self.kernel[1], self.stride[1], self.padding[1], self.ceil_mode))


def pool_out_size(size: int, k: int, stride: int, pad: int, ceil_mode: bool) -> int:
    """Output size of a pool (PyTorch's rule: floor, or in ``ceil_mode`` ceil,
    minus one if the last window would start in the right padding)."""
    if not ceil_mode:
        return (size + 2 * pad - k) // stride + 1
    out = ceil_div(size + 2 * pad - k, stride) + 1
    if (out - 1) * stride >= size + pad:  # the last window must start inside the input
        out -= 1
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Quantization:
    """How a MAC layer's integer codes map to real values (the bridge's header
    keys, :mod:`accelsim.bridge.graph`): real = code * scale, symmetric, zero
    point 0. ``act_scale`` is the input's scale, ``weight_scale`` one scale or
    one per output channel, ``output_scale`` the output's, ``bias`` the name of
    the array of bias codes at scale ``act_scale * weight_scale`` (None: no
    bias). A key the header does not give is None."""

    act_scale: float | None = None
    weight_scale: float | tuple[float, ...] | None = None
    output_scale: float | None = None
    bias: str | None = None

    @property
    def complete(self) -> bool:
        """Whether the output can be computed from the codes as the bridge
        computed it: the three scales are known (a missing bias is no bias)."""
        return None not in (self.act_scale, self.weight_scale, self.output_scale)


class LayerKind(enum.Enum):
    CONV2D = "conv2d"
    LINEAR = "linear"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Layer:
    """One layer of a network, its shape in loop dimensions.

    For a non-MAC layer (``kind is LayerKind.OTHER``) only ``name``, ``op``,
    ``input_shape`` and ``output_shape`` are meaningful.
    """

    name: str
    kind: LayerKind
    op: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    n: int = 1
    c: int = 1  # input channels per group
    k: int = 1  # output channels per group
    h: int = 1
    w: int = 1
    r: int = 1
    s: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    dilation_h: int = 1
    dilation_w: int = 1
    groups: int = 1
    weight_bits: int = 16
    act_bits: int = 16
    operator: str = "int"
    activation: str = "none"
    note: str = ""  # for a non-MAC layer the exporter could not map: why
    tensors: dict[str, str] = field(default_factory=dict)
    # non-MAC layers: MACs the op performs (header key ``macs``), every input and output shape
    op_macs: int = 0
    input_shapes: tuple[tuple[int, ...], ...] = ()
    output_shapes: tuple[tuple[int, ...], ...] = ()
    # routed traces: the variant this instance belongs to, and the batch indices of its images
    variant: str = ""
    images: tuple[int, ...] = ()
    # MAC layers of a decomposed layer (header keys decomposed_from, part, rank)
    decomposed_from: str = ""
    part: str = ""
    rank: int = 0
    # maxpool / avgpool entries that give their window (optional)
    window: PoolWindow | None = None
    # MAC layers from the bridge: the scales of their codes, and their bias (optional)
    quantization: Quantization | None = None

    # ---- derived shape -------------------------------------------------------
    @property
    def is_mac(self) -> bool:
        return self.kind is not LayerKind.OTHER

    @property
    def base_name(self) -> str:
        """The network layer's name: a routed instance's name without its
        ``@variant`` suffix (:mod:`accelsim.workload.route`), else the name."""
        suffix = f"@{self.variant}"
        if self.variant and self.name.endswith(suffix):
            return self.name[:-len(suffix)]
        return self.name

    @property
    def p(self) -> int:
        """Output height."""
        eff_r = self.dilation_h * (self.r - 1) + 1
        return (self.h + 2 * self.pad_h - eff_r) // self.stride_h + 1

    @property
    def q(self) -> int:
        """Output width."""
        eff_s = self.dilation_w * (self.s - 1) + 1
        return (self.w + 2 * self.pad_w - eff_s) // self.stride_w + 1

    @property
    def macs_padded(self) -> int:
        """MACs of the whole batch counting taps on padding (N*G*K*C*P*Q*R*S)."""
        return self.n * self.groups * self.k * self.c * self.p * self.q * self.r * self.s

    @property
    def macs(self) -> int:
        """Dense MACs of the whole batch, taps on padded positions excluded.

        A MAC on a padded position is not work (ARCHITECTURE.md, counting rules).
        """
        return (self.n * self.groups * self.k * self.c
                * _valid_tap_total(self.h, self.r, self.p, self.stride_h, self.pad_h,
                                   self.dilation_h)
                * _valid_tap_total(self.w, self.s, self.q, self.stride_w, self.pad_w,
                                   self.dilation_w))

    @property
    def weight_count(self) -> int:
        return self.groups * self.k * self.c * self.r * self.s

    @property
    def input_count(self) -> int:
        return self.n * self.groups * self.c * self.h * self.w

    @property
    def output_count(self) -> int:
        return self.n * self.groups * self.k * self.p * self.q

    @property
    def weight_shape(self) -> tuple[int, ...]:
        if self.kind is LayerKind.LINEAR:
            return (self.k, self.c)
        return (self.groups * self.k, self.c, self.r, self.s)


@functools.lru_cache(maxsize=4096)
def _valid_tap_total(size: int, taps: int, out: int, stride: int, pad: int, dilation: int) -> int:
    return int(valid_taps(size, taps, out, stride, pad, dilation).sum())


def valid_taps(size: int, taps: int, out: int, stride: int, pad: int, dilation: int = 1):
    """Per input position along one axis, how many (output, tap) pairs read it.

    Returns an int64 array of length ``size``: entry ``i`` counts the pairs
    ``(o, t)`` with ``0 <= o < out``, ``0 <= t < taps`` and
    ``o*stride + t*dilation - pad == i``. Summing it gives the number of
    non-padded (output, tap) pairs along that axis.
    """
    import numpy as np

    counts = np.zeros(size, dtype=np.int64)
    o = np.arange(out, dtype=np.int64)
    for t in range(taps):
        idx = o * stride + t * dilation - pad
        idx = idx[(idx >= 0) & (idx < size)]
        np.add.at(counts, idx, 1)
    return counts


# ---- header parsing ----------------------------------------------------------------

class _Problems:
    """Collects every problem of one layer entry, each with its field."""

    def __init__(self, where: str):
        self.where = where
        self.items: list[str] = []

    def add(self, key: str, what: str, got: Any = None) -> None:
        suffix = "" if got is None else f" (got {got!r})"
        self.items.append(f"{self.where}.{key}: {what}{suffix}")


def _int(entry: dict, key: str, probs: _Problems, *, default: Any = None, minimum: int = 1,
         maximum: int | None = None):
    """``entry[key]``, an integer from ``minimum`` (to ``maximum``); one problem if not."""
    if key not in entry:
        if default is None:
            probs.add(key, "missing")
        return default
    v = entry[key]
    if isinstance(v, bool) or not isinstance(v, int):
        probs.add(key, "must be an integer", v)
        return default if default is not None else minimum
    if maximum is not None and not minimum <= v <= maximum:
        probs.add(key, f"must be between {minimum} and {maximum}", v)
    elif v < minimum:
        probs.add(key, f"must be >= {minimum}", v)
    return v


def _positive_finite(v: Any) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    try:
        return v > 0 and math.isfinite(v)
    except OverflowError:  # an integer too large for a float
        return False


def _bridge_problems(entry: dict, probs: _Problems, known: tuple) -> None:
    """Type checks of the bridge's keys (see the module docstring); a key the
    layer's kind does not know is reported as unknown, not checked here."""
    entry = {k: v for k, v in entry.items() if k in known}
    for key in _BRIDGE_KEYS:
        v = entry.get(key, [])
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            probs.add(key, "must be a list of strings", v)
    for key in ("act_scale", "output_scale"):
        if key in entry and not _positive_finite(entry[key]):
            probs.add(key, "must be a finite number > 0", entry[key])
    if "weight_scale" in entry:
        ws = entry["weight_scale"]
        if not (_positive_finite(ws) or (isinstance(ws, list) and ws
                                         and all(_positive_finite(x) for x in ws))):
            probs.add("weight_scale", "must be a finite number > 0, or a non-empty list of "
                      "them (one per output channel)", ws)
    if "bias" in entry and (not isinstance(entry["bias"], str) or not entry["bias"]):
        probs.add("bias", "must name an array of the trace", entry["bias"])


def _quantization(entry: dict, out_channels: int, probs: _Problems) -> Quantization | None:
    """The quantization keys of a MAC layer (checked by :func:`_bridge_problems`),
    None when it has none. A list of weight scales has one per output channel."""
    present = {key: entry[key] for key in QUANTIZATION_KEYS if key in entry}
    if not present:
        return None
    ws = present.get("weight_scale")
    if isinstance(ws, list):
        if len(ws) != out_channels:
            probs.add("weight_scale", f"must give one scale per output channel, "
                      f"{out_channels} (got {len(ws)})")
        present["weight_scale"] = tuple(ws)
    return Quantization(**present)


def _ints(entry: dict, key: str, length: int, probs: _Problems, *, default: Any = None,
          minimum: int = 1):
    if key not in entry:
        if default is None:
            probs.add(key, "missing")
            return (minimum,) * length
        return tuple(default)
    v = entry[key]
    if (not isinstance(v, list) or len(v) != length
            or any(isinstance(x, bool) or not isinstance(x, int) for x in v)):
        probs.add(key, f"must be a list of {length} integers", v)
        return (minimum,) * length
    if any(x < minimum for x in v):
        probs.add(key, f"every entry must be >= {minimum}", v)
    return tuple(v)


def _kernel_fits(probs: _Problems, size: tuple, padding: tuple, span: tuple, got) -> bool:
    """Whether a window spanning ``span`` (kernel taps, dilation included) fits the
    padded input ``size`` on both axes; if not, the ``kernel`` problem (``got``)."""
    if all(k <= n + 2 * p for k, n, p in zip(span, size, padding)):
        return True
    probs.add("kernel", f"larger than the padded input {size[0] + 2 * padding[0]}x"
              f"{size[1] + 2 * padding[1]}", got)
    return False


def _pool_window(entry: dict, kind: str, in_shape: tuple, out_shape: tuple,
                 probs: _Problems) -> PoolWindow | None:
    """The window of a pool entry (all of ``kernel``, ``stride``, ``padding``;
    ``ceil_mode`` optional), None when it gives none. It must be one PyTorch
    accepts (padding at most half the kernel) and give the entry's output
    shape from its input shape."""
    given = [k for k in _POOL_KEYS if k in entry]
    if not given:
        return None
    if kind not in POOL_KINDS:
        for key in given:
            probs.add(key, f"only a pool entry ({', '.join(POOL_KINDS)}) has a window")
        return None
    missing = [k for k in _POOL_KEYS[:3] if k not in entry]
    if missing:
        probs.add(missing[0], "missing (a pool's window needs kernel, stride and padding)")
        return None
    before = len(probs.items)
    kernel = _ints(entry, "kernel", 2, probs)
    stride = _ints(entry, "stride", 2, probs)
    padding = _ints(entry, "padding", 2, probs, minimum=0)
    ceil_mode = entry.get("ceil_mode", False)
    if not isinstance(ceil_mode, bool):
        probs.add("ceil_mode", "must be true or false", "null" if ceil_mode is None else ceil_mode)
    if len(probs.items) > before:
        return None
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        probs.add("padding", f"must be at most half the kernel {list(kernel)}", list(padding))
        return None
    if len(in_shape) == 4 and not _kernel_fits(probs, in_shape[2:], padding, kernel,
                                               list(kernel)):
        return None
    window = PoolWindow(kernel=kernel, stride=stride, padding=padding, ceil_mode=ceil_mode)
    if len(in_shape) == 4 and len(out_shape) == 4:
        want = (in_shape[0], in_shape[1], *window.out_size(in_shape[2], in_shape[3]))
        if tuple(out_shape) != want:
            probs.add("output_shape", f"the window gives {list(want)} from input_shape "
                      f"{list(in_shape)}", list(out_shape))
            return None
    else:
        probs.add("kernel", "a window needs 4-D input_shape and output_shape (N, C, H, W)")
        return None
    return window


def _shapes(entry: dict, key: str, first: tuple, probs: _Problems) -> tuple:
    """An optional list of shapes whose first is ``first``; () when absent."""
    if key not in entry:
        return ()
    v = entry[key]
    if (not isinstance(v, list) or not v or any(
            not isinstance(sh, list) or any(isinstance(x, bool) or not isinstance(x, int)
                                            or x < 0 for x in sh) for sh in v)):
        probs.add(key, "must be a non-empty list of shapes (lists of integers >= 0)", v)
        return ()
    if tuple(v[0]) != tuple(first):
        probs.add(key, f"the first shape must be {key[:-1]} {list(first)}", v)
    return tuple(tuple(sh) for sh in v)


def _route_fields(entry: dict, probs: _Problems) -> dict:
    """``variant`` and ``images`` of a routed layer instance, checked alone (the
    trace checks them against its batch and routing); {} when absent."""
    if "variant" not in entry and "images" not in entry:
        return {}
    variant, images = entry.get("variant"), entry.get("images")
    if "variant" not in entry or "images" not in entry:
        probs.add("images" if "variant" in entry else "variant",
                  "missing (a routed layer instance has both variant and images)")
        return {}
    if not isinstance(variant, str) or not variant:
        probs.add("variant", "must be a non-empty string", variant)
    if (not isinstance(images, list) or not images
            or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in images)):
        probs.add("images", "must be a non-empty list of image indices (integers >= 0)",
                  images)
        return {}
    if len(set(images)) != len(images):
        probs.add("images", "must be distinct", images)
    elif images != sorted(images):
        probs.add("images", "must be in increasing order (image order)", images)
    return {"variant": variant, "images": tuple(images)}


def _decomposed(entry: dict, probs: _Problems) -> dict:
    """The ``decomposed_from`` / ``part`` / ``rank`` fields of a MAC layer ({} if absent)."""
    present = [key for key in _DECOMPOSED_KEYS if key in entry]
    if not present:
        return {}
    if len(present) < len(_DECOMPOSED_KEYS):
        probs.add(present[0], "decomposed_from, part and rank go together (missing: "
                  + ", ".join(k for k in _DECOMPOSED_KEYS if k not in entry) + ")")
        return {}
    src, part = entry["decomposed_from"], entry["part"]
    if not isinstance(src, str) or not src:
        probs.add("decomposed_from", "must name the decomposed layer", src)
    if part not in DECOMPOSED_PARTS:
        probs.add("part", f"must be one of {list(DECOMPOSED_PARTS)}", part)
    rank = _int(entry, "rank", probs)
    return {"decomposed_from": src, "part": part, "rank": rank}


def _rank_problem(layer: Layer, probs: _Problems) -> None:
    """A basis layer has ``rank`` outputs per group, a coefficient layer ``rank`` inputs."""
    if layer.part == "basis" and layer.k != layer.rank:
        probs.add("rank", f"must equal the basis layer's outputs per group {layer.k}",
                  layer.rank)
    elif layer.part == "coefficients" and layer.c != layer.rank:
        probs.add("rank", f"must equal the coefficient layer's inputs per group {layer.c}",
                  layer.rank)


def layer_from_header(entry: Any, index: int) -> tuple[Layer | None, list[str]]:
    """Parse one layer's header entry.

    Returns ``(layer, problems)``; ``layer`` is None when any problem was found.
    Each problem reads ``layers[i](name).field: what is wrong (got VALUE)``.
    """
    if not isinstance(entry, dict):
        return None, [f"layers[{index}]: must be an object (got {type(entry).__name__})"]
    name = entry.get("name")
    where = f"layers[{index}]" + (f"({name})" if isinstance(name, str) else "")
    probs = _Problems(where)
    if not isinstance(name, str) or not name:
        probs.add("name", "must be a non-empty string", name)
    kind_s = entry.get("kind")
    if not isinstance(kind_s, str) or not kind_s:
        probs.add("kind", "must be a non-empty string", kind_s)
        return None, probs.items
    tensors = entry.get("tensors", {})
    if not isinstance(tensors, dict) or any(
            k not in TENSOR_ROLES or not isinstance(v, str) for k, v in tensors.items()):
        probs.add("tensors", f"must map roles {list(TENSOR_ROLES)} to array names", tensors)
        tensors = {}
    activation = entry.get("activation", "none")
    if activation not in ("none", "relu"):
        probs.add("activation", "must be 'none' or 'relu'", activation)
    known = LAYER_KEYS.get(kind_s, LAYER_KEYS["other"])
    for key in entry:
        if key not in known:
            probs.add(str(key), f"unknown key (known: {', '.join(known)})")
    _bridge_problems(entry, probs, known)
    routed = _route_fields(entry, probs)

    if kind_s not in MAC_KINDS:
        in_shape = _ints(entry, "input_shape", len(entry.get("input_shape") or [0]) or 1,
                         probs, minimum=0)
        out_shape = _ints(entry, "output_shape", len(entry.get("output_shape") or [0]) or 1,
                          probs, minimum=0)
        abits = _int(entry, "act_bits", probs, default=16, maximum=64)  # as a MAC layer's
        note = entry.get("unsupported", "")
        if not isinstance(note, str):
            probs.add("unsupported", "must be a string (the reason)", note)
        op_macs = _int(entry, "macs", probs, default=0, minimum=0)
        in_shapes = _shapes(entry, "input_shapes", in_shape, probs)
        out_shapes = _shapes(entry, "output_shapes", out_shape, probs)
        window = _pool_window(entry, kind_s, in_shape, out_shape, probs)
        if probs.items:
            return None, probs.items
        return Layer(name=name, kind=LayerKind.OTHER, op=kind_s, input_shape=in_shape,
                     output_shape=out_shape, act_bits=abits, note=note,
                     tensors=dict(tensors), op_macs=op_macs, input_shapes=in_shapes,
                     output_shapes=out_shapes, window=window, **routed), []

    wbits = _int(entry, "weight_bits", probs, default=16, maximum=64)
    abits = _int(entry, "act_bits", probs, default=16, maximum=64)
    decomposed = _decomposed(entry, probs)
    operator = entry.get("operator", "int")
    if operator not in OPERATORS:
        probs.add("operator", f"must be one of {list(OPERATORS)}", operator)
    elif (not probs.items and not operator_bits_ok(operator, wbits, abits)):
        probs.add("operator", f"{operator} needs {OPERATOR_RULES[operator]}",
                  f"{operator} w{wbits}a{abits}")

    if kind_s == "linear":
        n, c_in = _ints(entry, "input_shape", 2, probs)
        k = _int(entry, "out_features", probs)
        if probs.items:
            return None, probs.items
        quantization = _quantization(entry, k, probs)
        if probs.items:
            return None, probs.items
        layer = Layer(name=name, kind=LayerKind.LINEAR, op="linear", input_shape=(n, c_in),
                      output_shape=(n, k), n=n, c=c_in, k=k, weight_bits=wbits,
                      act_bits=abits, operator=operator, activation=activation,
                      tensors=dict(tensors), quantization=quantization, **routed,
                      **decomposed)
        _rank_problem(layer, probs)
        return (None, probs.items) if probs.items else (layer, [])

    n, c_total, h, w = _ints(entry, "input_shape", 4, probs)
    k_total = _int(entry, "out_channels", probs)
    r, s = _ints(entry, "kernel", 2, probs)
    sh, sw = _ints(entry, "stride", 2, probs, default=(1, 1))
    ph, pw = _ints(entry, "padding", 2, probs, default=(0, 0), minimum=0)
    dh, dw = _ints(entry, "dilation", 2, probs, default=(1, 1))
    groups = _int(entry, "groups", probs, default=1)
    if probs.items:
        return None, probs.items
    if c_total % groups:
        probs.add("groups", f"must divide input channels {c_total}", groups)
    if k_total % groups:
        probs.add("groups", f"must divide out_channels {k_total}", groups)
    _kernel_fits(probs, (h, w), (ph, pw), (dh * (r - 1) + 1, dw * (s - 1) + 1), [r, s])
    quantization = _quantization(entry, k_total, probs)
    if probs.items:
        return None, probs.items
    layer = Layer(name=name, kind=LayerKind.CONV2D, op="conv2d",
                  input_shape=(n, c_total, h, w), output_shape=(0,), n=n,
                  c=c_total // groups, k=k_total // groups, h=h, w=w, r=r, s=s,
                  stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, dilation_h=dh,
                  dilation_w=dw, groups=groups, weight_bits=wbits, act_bits=abits,
                  operator=operator, activation=activation, tensors=dict(tensors),
                  quantization=quantization, **routed, **decomposed)
    object.__setattr__(layer, "output_shape", (n, k_total, layer.p, layer.q))
    _rank_problem(layer, probs)
    return (None, probs.items) if probs.items else (layer, [])


def layer_to_header(layer: Layer) -> dict:
    """The inverse of :func:`layer_from_header` (tensors included)."""
    d: dict[str, Any] = {"name": layer.name}
    if layer.kind is LayerKind.OTHER:
        d.update(kind=layer.op, input_shape=list(layer.input_shape),
                 output_shape=list(layer.output_shape), act_bits=layer.act_bits)
        if layer.note:
            d["unsupported"] = layer.note
        if layer.op_macs:
            d["macs"] = layer.op_macs
        for key, shapes in (("input_shapes", layer.input_shapes),
                            ("output_shapes", layer.output_shapes)):
            if shapes:
                d[key] = [list(sh) for sh in shapes]
        if layer.window is not None:
            d.update(kernel=list(layer.window.kernel), stride=list(layer.window.stride),
                     padding=list(layer.window.padding), ceil_mode=layer.window.ceil_mode)
    elif layer.kind is LayerKind.LINEAR:
        d.update(kind="linear", input_shape=[layer.n, layer.c], out_features=layer.k,
                 weight_bits=layer.weight_bits, act_bits=layer.act_bits,
                 operator=layer.operator, activation=layer.activation)
    else:
        d.update(kind="conv2d", input_shape=list(layer.input_shape),
                 out_channels=layer.k * layer.groups, kernel=[layer.r, layer.s],
                 stride=[layer.stride_h, layer.stride_w], padding=[layer.pad_h, layer.pad_w],
                 dilation=[layer.dilation_h, layer.dilation_w], groups=layer.groups,
                 weight_bits=layer.weight_bits, act_bits=layer.act_bits,
                 operator=layer.operator, activation=layer.activation)
    if layer.is_mac and layer.part:
        d.update(decomposed_from=layer.decomposed_from, part=layer.part, rank=layer.rank)
    if layer.is_mac and layer.quantization is not None:
        for key in QUANTIZATION_KEYS:
            v = getattr(layer.quantization, key)
            if v is not None:
                d[key] = list(v) if isinstance(v, tuple) else v
    if layer.tensors:
        d["tensors"] = dict(layer.tensors)
    if layer.variant:
        d.update(variant=layer.variant, images=list(layer.images))
    return d


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


__all__ = ["Layer", "LayerKind", "Quantization", "layer_from_header", "layer_to_header",
           "valid_taps", "ceil_div", "MAC_KINDS", "OPERATORS", "OPERATOR_RULES",
           "operator_bits_ok", "DECOMPOSED_PARTS", "QUANTIZATION_KEYS"]
