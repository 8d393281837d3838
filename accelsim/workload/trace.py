"""Trace format v1: a network's layers and their real tensors in one ``.npz``.

Place in the pipeline: ``trace.npz -> workload`` (this module) ``-> mapping``.

A trace is an ``.npz`` file readable with ``numpy.load(path, allow_pickle=False)``:

- ``__header__``: a 0-d unicode array holding a JSON object::

      {"format": "accelsim-trace", "version": 1, "network": "alexnet", "batch": 4,
       "layers": [ {layer header, see accelsim.workload.layer}, ... ]}

- one array per tensor, named by the layer's ``tensors`` mapping
  (``input``, ``weight``, ``output``, ``input_mask``), and a bridge layer's
  ``bias`` array (named by its ``bias`` key; :attr:`Trace.arrays` holds it
  too). Arrays hold numbers only
  (integers, floats or booleans); a trace never holds Python objects. Floats
  must be finite: a NaN or an infinity is no value a tensor of a network
  holds, and would flow into densities and checks unnoticed (a NaN is not
  zero, so it counts as a nonzero operand).

Shapes: ``input`` is the layer's ``input_shape`` ([N, C, H, W] or [N, C]);
``weight`` is [K_total, C_per_group, R, S] (conv2d) or [K, C] (linear);
``output`` is [N, K_total, P, Q] or [N, K]; ``input_mask`` has the input's shape.
MAC layers must carry ``input`` and ``weight``; ``output`` is optional.

Optional keys of non-MAC layers (see :mod:`accelsim.workload.layer`):
``input_shapes`` and ``output_shapes`` (every activation input and output, so
that a concat's or a split's bytes are all counted) and ``macs`` (the MACs an
op the trace cannot simulate performs, e.g. a transposed conv, reported as not
simulated). Traces without them read as before.

Routed traces (:mod:`accelsim.workload.route`) carry the optional header key
``routing``: ``{"variants": [names], "route": [one variant name per image]}``
(``route`` has ``batch`` entries), and every layer is one variant's instance
with ``variant`` and ``images`` (the images the route sends to that variant,
in image order). A conv2d instance's N is ``len(images)``; a linear
instance's N is a multiple of it (tokens folded into N, as for the batch).
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import AccelsimError, TraceError
from accelsim.fileio import NPY_MAGIC, ZIP_MAGIC, atomic_open, sniff
from accelsim.workload.layer import Layer, LayerKind, layer_from_header, layer_to_header

FORMAT_NAME = "accelsim-trace"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"
HEADER_KEYS = ("format", "version", "network", "batch", "layers", "routing")
# what reading a damaged zip member can raise: a bad CRC or header (BadZipFile),
# bad deflate data (zlib.error), a cut-off file (EOFError, OSError), an .npy
# header that does not parse (ValueError), an unknown compression method
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
                NotImplementedError)
TRACE_SUFFIX = ".npz"
"""What the name of a trace accelsim writes must end in: a trace is an .npz
archive and is looked for by that name (every command that reads one asks for
a ``.npz`` file; ``numpy.savez``, given a path, adds the suffix itself, but
accelsim writes through a file handle, atomically, and would keep a name such
as ``y.txt`` as given)."""
INSTANCE_SEPARATOR = "@"
"""Joins a layer and its variant in a routed instance's name: ``LAYER@VARIANT``."""
ROUTE_SEPARATOR = ","
"""Separates the variant names of ``accelsim route --route``."""


def check_trace_output(path: str | Path, option: str) -> None:
    """Raise :class:`AccelsimError` naming ``option`` unless ``path`` ends in
    :data:`TRACE_SUFFIX` (any case)."""
    suffix = Path(path).suffix
    if suffix.lower() != TRACE_SUFFIX:
        raise AccelsimError(f"{option} {path}: a trace file must end in {TRACE_SUFFIX} "
                            f"(got {repr(suffix) if suffix else 'no suffix'})")


def variant_name_problem(name: Any) -> str | None:
    """What keeps ``name`` from naming a routed trace's variant (None if nothing).

    A name is a non-empty string without :data:`INSTANCE_SEPARATOR` (instance
    names would not split back) and, so that every variant can be named in a
    route, without :data:`ROUTE_SEPARATOR`, surrounding whitespace or a line
    break (``--route`` entries and ``--route-file`` lines are stripped, and the
    file has one name per line).
    """
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if INSTANCE_SEPARATOR in name:
        return (f"must not contain {INSTANCE_SEPARATOR!r} (it joins a layer and its variant "
                "in instance names)")
    if ROUTE_SEPARATOR in name:
        return f"must not contain {ROUTE_SEPARATOR!r} (it separates --route entries)"
    if name != name.strip() or len(name.splitlines()) > 1:
        return ("must not start or end with whitespace or hold a line break (route entries "
                "are stripped, one per line in --route-file)")
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Routing:
    """Which variant of the network each image of the batch runs on
    (header key ``routing``, :mod:`accelsim.workload.route`)."""

    variants: tuple[str, ...]
    route: tuple[str, ...]

    def images(self, variant: str) -> tuple[int, ...]:
        """The batch indices of the images routed to ``variant``, in order."""
        return tuple(i for i, v in enumerate(self.route) if v == variant)

    def as_dict(self) -> dict:
        return {"variants": list(self.variants), "route": list(self.route)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """A loaded trace: header data, layers, and their tensors (NumPy arrays)."""

    network: str
    batch: int
    layers: tuple[Layer, ...]
    arrays: dict[str, np.ndarray] = field(repr=False)
    path: str = "<memory>"
    routing: Routing | None = None  # a routed trace's variants and per-image route
    # the assignment file applied to the layers (accelsim.workload.assign), as
    # (path, {layer name: entry}); an input of the run, recorded in reports
    assignment: tuple[str, dict] | None = None
    # what the engine derives from the tensors alone (masks, zero counts, row
    # summaries per format), kept so that many arch points reuse it
    derived: dict = field(default_factory=dict, repr=False, compare=False)

    def tensor(self, layer: Layer, role: str) -> np.ndarray | None:
        """The array of ``layer`` for ``role`` (input, weight, output, input_mask)."""
        key = layer.tensors.get(role)
        return None if key is None else self.arrays[key]

    @property
    def mac_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.is_mac)

    def mac_name_problems(self, names, what: str) -> list[str]:
        """``layers.NAME: ...`` for each of ``names`` that is not a layer of
        this trace (listing its MAC layers) or is one without MACs to ``what``
        (a per-layer file's entries: assign, map)."""
        by_name = {layer.name: layer for layer in self.layers}
        problems = []
        for name in names:
            if name not in by_name:
                problems.append(f"layers.{name}: no such layer in {self.path} (MAC layers: "
                                + ", ".join(x.name for x in self.mac_layers) + ")")
            elif not by_name[name].is_mac:
                problems.append(f"layers.{name}: a {by_name[name].op} layer has no MACs to "
                                f"{what}")
        return problems


def _expected_shape(layer: Layer, role: str) -> tuple[int, ...]:
    if role in ("input", "input_mask"):
        return tuple(layer.input_shape)
    if role == "output":
        return tuple(layer.output_shape)
    return layer.weight_shape


def _unreadable(exc: BaseException) -> str:
    """Why a member of the archive could not be read, on one line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (zipfile.BadZipFile, zlib.error, EOFError, OSError)):
        return f"the file is corrupt or truncated: {text}"
    return text


def _open_npz(path: str) -> np.lib.npyio.NpzFile:
    """``numpy.load`` of an .npz, after checking that the file is a zip at all
    (numpy would take any other file for a pickle and say so)."""
    if os.path.isdir(path):
        raise TraceError(path, "is a directory, not a trace file")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(NPY_MAGIC))
    except OSError as exc:
        raise TraceError(path, f"cannot read ({exc.strerror or exc})") from None
    if magic.startswith(NPY_MAGIC):
        raise TraceError(path, "not an .npz archive (a single .npy array was found)")
    if not magic.startswith(ZIP_MAGIC):
        if sniff(path) == "text":  # e.g. the arch file, given where the trace goes
            raise TraceError(path, "not a readable .npz trace: it is a text file (a YAML "
                                   "architecture?), not a zip archive as every .npz is")
        raise TraceError(path, "not a readable .npz trace (the file is not a zip archive, "
                               "as every .npz is)")
    try:
        return np.load(path, allow_pickle=False)
    except _READ_ERRORS as exc:
        raise TraceError(path, f"not a readable .npz trace ({_unreadable(exc)})") from None


def read_trace(path: str | Path) -> Trace:
    """Read and validate a trace file.

    Raises :class:`TraceError` with a one-line message naming the file, the layer
    and the field for any problem (all problems found are listed).
    """
    path = str(path)
    if not os.path.exists(path):
        raise TraceError(path, "file not found")
    npz = _open_npz(path)
    with npz:
        names = set(npz.files)
        if HEADER_KEY not in names:
            raise TraceError(path, f"{HEADER_KEY}: missing (not an accelsim trace)")
        try:
            header_arr = npz[HEADER_KEY]
        except _READ_ERRORS as exc:
            raise TraceError(path, f"{HEADER_KEY}: unreadable ({_unreadable(exc)})") from None
        try:
            header = json.loads(str(header_arr[()]))
        except (ValueError, TypeError, RecursionError) as exc:
            raise TraceError(path, f"{HEADER_KEY}: not a JSON object ({exc})") from None
        layers, problems = parse_header(header)
        if problems:
            raise TraceError(path, "; ".join(problems))
        arrays: dict[str, np.ndarray] = {}
        # with no header problem, every entry made a layer, in order
        for i, (entry, layer) in enumerate(zip(header["layers"], layers)):
            if "bias" in entry:
                problems.extend(_bias_problems(npz, names, entry["bias"], layer,
                                               f"layers[{i}]({layer.name}).bias", arrays))
        for layer in layers:
            if layer.is_mac:
                for role in ("input", "weight"):
                    if role not in layer.tensors:
                        problems.append(f"layers({layer.name}).tensors.{role}: missing "
                                        "(MAC layers need their real input and weight)")
            for role, key in layer.tensors.items():
                where = f"layers({layer.name}).tensors.{role}"
                if key not in names:
                    problems.append(f"{where}: array {key!r} not in the file")
                    continue
                try:
                    arr = npz[key]
                except _READ_ERRORS as exc:
                    problems.append(f"{where}: array {key!r} unreadable ({_unreadable(exc)})")
                    continue
                if arr.dtype.kind not in "biuf":
                    problems.append(f"{where}: array {key!r} must be numeric (got dtype "
                                    f"{arr.dtype})")
                    continue
                if layer.is_mac or role == "input_mask":
                    want = _expected_shape(layer, role)
                    if tuple(arr.shape) != want:
                        problems.append(f"{where}: shape {list(arr.shape)} does not match the "
                                        f"layer (expected {list(want)})")
                        continue
                if arr.dtype.kind == "f":
                    bad = ~np.isfinite(arr)
                    if bad.any():
                        at = np.unravel_index(int(np.argmax(bad)), arr.shape)
                        problems.append(f"{where}: array {key!r} must hold finite numbers "
                                        f"(got {arr[at].item()!r} at index "
                                        f"{[int(i) for i in at]}; non-finite: "
                                        f"{int(bad.sum())} of {arr.size} values)")
                        continue
                arrays[key] = arr
    if problems:
        raise TraceError(path, "; ".join(problems))
    return Trace(network=header["network"], batch=header["batch"], layers=tuple(layers),
                 arrays=arrays, path=path, routing=_routing(header))


def _bias_problems(npz, names: set[str], key: str, layer: Layer, where: str,
                   arrays: dict[str, np.ndarray]) -> list[str]:
    """Problems of a bridge layer's ``bias`` array: it must be readable and hold
    one integer per output channel (the bridge writes it quantized at
    ``act_scale * weight_scale``, :mod:`accelsim.bridge.graph`). A good one is
    put in ``arrays``: the bridge's read-back uses it, and so does the run when
    it recomputes a masked layer's output (:mod:`accelsim.workload.masking`)."""
    if key not in names:
        return [f"{where}: array {key!r} not in the file"]
    try:
        arr = npz[key]
    except _READ_ERRORS as exc:
        return [f"{where}: array {key!r} unreadable ({_unreadable(exc)})"]
    if arr.dtype.kind not in "iu":
        return [f"{where}: array {key!r} must hold integers (got dtype {arr.dtype})"]
    want = [layer.output_shape[1]]
    if list(arr.shape) != want:
        return [f"{where}: shape {list(arr.shape)} does not match the layer's output "
                f"channels (expected {want})"]
    arrays[key] = arr
    return []


def _header_problems(header: Any) -> list[str]:
    if not isinstance(header, dict):
        return [f"{HEADER_KEY}: must be a JSON object"]
    problems = [f"{HEADER_KEY}.{key}: unknown key (known: {', '.join(HEADER_KEYS)})"
                for key in header if key not in HEADER_KEYS]
    if header.get("format") != FORMAT_NAME:
        problems.append(f"{HEADER_KEY}.format: must be {FORMAT_NAME!r} "
                        f"(got {header.get('format')!r})")
    version = header.get("version")
    # true and 1.0 equal 1 in Python, but neither is a version
    if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
        problems.append(f"{HEADER_KEY}.version: this accelsim reads trace version "
                        f"{FORMAT_VERSION} (got {version!r})")
    if not isinstance(header.get("network"), str):
        problems.append(f"{HEADER_KEY}.network: must be a string (got {header.get('network')!r})")
    batch = header.get("batch")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        problems.append(f"{HEADER_KEY}.batch: must be an integer >= 1 (got {batch!r})")
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        problems.append(f"{HEADER_KEY}.layers: must be a non-empty list (got {layers!r})")
    return problems


def _batch_problems(batch: int, layers: list[Layer]) -> list[str]:
    """The header's batch against the layers' N.

    A conv2d layer's N is the batch. A linear layer's N is a multiple of it: the
    bridge folds every leading dimension into N (tokens of a sequence, say).
    Other layers are not checked: a reshape may move the batch dimension.
    """
    problems = []
    for i, layer in enumerate(layers):
        where = f"{HEADER_KEY}.batch"
        if layer.variant:  # a routed instance runs its images only (see _routing_problems)
            continue
        if layer.kind is LayerKind.CONV2D and layer.n != batch:
            problems.append(f"{where}: disagrees with layers[{i}]({layer.name}) N "
                            f"{layer.n} (got {batch})")
        elif layer.kind is LayerKind.LINEAR and layer.n % batch:
            problems.append(f"{where}: does not divide layers[{i}]({layer.name}) N "
                            f"{layer.n} (got {batch})")
    return problems


def parse_header(header: Any) -> tuple[list[Layer], list[str]]:
    """The layers of a header and every problem found in it (header, layers, batch)."""
    problems = _header_problems(header)
    if problems:
        return [], problems
    layers: list[Layer] = []
    for i, entry in enumerate(header["layers"]):
        layer, probs = layer_from_header(entry, i)
        problems.extend(probs)
        if layer is not None:
            layers.append(layer)
    seen: set[str] = set()
    for layer in layers:
        if layer.name in seen:
            problems.append(f"layers({layer.name}).name: duplicate layer name")
        seen.add(layer.name)
    if not problems:
        problems.extend(_batch_problems(header["batch"], layers))
        problems.extend(_routing_problems(header, layers))
    return layers, problems


def _routing(header: dict) -> Routing | None:
    r = header.get("routing")
    return None if r is None else Routing(variants=tuple(r["variants"]),
                                          route=tuple(r["route"]))


def _routing_problems(header: dict, layers: list[Layer]) -> list[str]:
    """The ``routing`` key, and every layer's ``variant`` and ``images`` against it."""
    where = f"{HEADER_KEY}.routing"
    batch = header["batch"]
    routing = header.get("routing")
    if routing is None:
        return [f"layers({layer.name}).variant: a routed layer instance needs the trace's "
                f"routing key (got variant {layer.variant!r})" for layer in layers
                if layer.variant]
    if not isinstance(routing, dict) or set(routing) != {"variants", "route"}:
        return [f"{where}: must be an object with keys variants and route (got {routing!r})"]
    variants, route = routing["variants"], routing["route"]
    if (not isinstance(variants, list) or not variants
            or any(not isinstance(v, str) or not v for v in variants)):
        return [f"{where}.variants: must be a non-empty list of names (got {variants!r})"]
    if len(set(variants)) != len(variants):
        return [f"{where}.variants: names must be distinct (got {variants!r})"]
    problems = [f"{where}.variants: variant {v!r}: {problem}" for v in variants
                if (problem := variant_name_problem(v)) is not None]
    if problems:
        return problems
    if not isinstance(route, list) or len(route) != batch:
        return [f"{where}.route: must be a list of one variant name per image, {batch} "
                f"(got {route!r})"]
    problems = [f"{where}.route[{i}]: unknown variant {v!r} (variants: {', '.join(variants)})"
                for i, v in enumerate(route) if v not in variants]
    if problems:
        return problems
    sent = Routing(variants=tuple(variants), route=tuple(route))
    for i, layer in enumerate(layers):
        at = f"layers[{i}]({layer.name})"
        if not layer.variant:
            problems.append(f"{at}.variant: missing (every layer of a routed trace is one "
                            "variant's instance)")
            continue
        if layer.variant not in variants:
            problems.append(f"{at}.variant: not one of routing.variants "
                            f"({', '.join(variants)}) (got {layer.variant!r})")
            continue
        out = [x for x in layer.images if x >= batch]
        if out:
            problems.append(f"{at}.images: image {out[0]} out of range for batch {batch}")
            continue
        want = sent.images(layer.variant)
        if layer.images != want:
            problems.append(f"{at}.images: not the images routing.route sends to "
                            f"{layer.variant!r} ({list(want)}) (got {list(layer.images)})")
            continue
        count = len(layer.images)
        if layer.kind is LayerKind.CONV2D and layer.n != count:
            problems.append(f"{at}.images: {count} images but the layer's N is {layer.n}")
        elif layer.kind is LayerKind.LINEAR and layer.n % count:
            problems.append(f"{at}.images: {count} images do not divide the layer's N "
                            f"{layer.n}")
    return problems


def write_trace(path: str | Path, *, network: str, batch: int, layers: list[dict],
                arrays: dict[str, np.ndarray], compress: bool = False,
                routing: Routing | None = None) -> None:
    """Write a trace atomically: a partial file never appears at ``path``.

    ``layers`` are header dicts (see :mod:`accelsim.workload.layer`) whose
    ``tensors`` entries name keys of ``arrays``. A header that
    :func:`read_trace` would refuse is a :class:`TraceError` and nothing is
    written.
    """
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "network": network,
              "batch": int(batch), "layers": layers}
    if routing is not None:
        header["routing"] = routing.as_dict()
    for key, arr in arrays.items():
        if key == HEADER_KEY or np.asarray(arr).dtype.kind not in "biuf":
            raise ValueError(f"array {key!r}: reserved name or non-numeric dtype")
    problems = parse_header(header)[1]
    for i, entry in enumerate([] if problems else layers):  # arrays the header names
        named = [(f"tensors.{role}", key) for role, key in entry.get("tensors", {}).items()]
        if isinstance(entry.get("bias"), str):
            named.append(("bias", entry["bias"]))
        problems += [f"layers[{i}]({entry.get('name')}).{where}: array {key!r} not given"
                     for where, key in named if key not in arrays]
    if problems:
        raise TraceError(str(path), "not written: " + "; ".join(problems))
    payload = {HEADER_KEY: np.array(json.dumps(header))}
    payload.update({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    with atomic_open(path) as fh:
        (np.savez_compressed if compress else np.savez)(fh, **payload)


def trace_to_headers(trace: Trace) -> list[dict]:
    return [layer_to_header(layer) for layer in trace.layers]


def source_entries(trace: Trace) -> list[dict]:
    """The layer entries of the header ``trace`` was read from, as written, in
    order: with the keys a :class:`Layer` does not hold (a bridge's ``inputs``
    and ``fused``, :mod:`accelsim.bridge.graph`), which a command writing a
    new trace from this one keeps. A trace made in memory (no file at its
    ``path``) has only what its layers hold (:func:`trace_to_headers`).
    Fresh dicts: the caller may change them."""
    if not os.path.isfile(trace.path):
        return trace_to_headers(trace)
    with np.load(trace.path, allow_pickle=False) as npz:
        return json.loads(str(npz[HEADER_KEY][()]))["layers"]


__all__ = ["Trace", "Routing", "read_trace", "write_trace", "trace_to_headers",
           "source_entries", "LayerKind"]
