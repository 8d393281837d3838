"""Trace format v1: a network's layers and their real tensors in one ``.npz``.

Place in the pipeline: ``trace.npz -> workload`` (this module) ``-> mapping``.

A trace is an ``.npz`` file readable with ``numpy.load(path, allow_pickle=False)``:

- ``__header__``: a 0-d unicode array holding a JSON object::

      {"format": "accelsim-trace", "version": 1, "network": "alexnet", "batch": 4,
       "layers": [ {layer header, see accelsim.workload.layer}, ... ]}

- one array per tensor, named by the layer's ``tensors`` mapping
  (``input``, ``weight``, ``output``, ``input_mask``). Arrays hold numbers only
  (integers, floats or booleans); a trace never holds Python objects.

Shapes: ``input`` is the layer's ``input_shape`` ([N, C, H, W] or [N, C]);
``weight`` is [K_total, C_per_group, R, S] (conv2d) or [K, C] (linear);
``output`` is [N, K_total, P, Q] or [N, K]; ``input_mask`` has the input's shape.
MAC layers must carry ``input`` and ``weight``; ``output`` is optional.

Optional keys of non-MAC layers (see :mod:`accelsim.workload.layer`):
``input_shapes`` and ``output_shapes`` (every activation input and output, so
that a concat's or a split's bytes are all counted) and ``macs`` (the MACs an
op the trace cannot simulate performs, e.g. a transposed conv, reported as not
simulated). Traces without them read as before.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from accelsim.errors import TraceError
from accelsim.fileio import atomic_open
from accelsim.workload.layer import Layer, LayerKind, layer_from_header, layer_to_header

FORMAT_NAME = "accelsim-trace"
FORMAT_VERSION = 1
HEADER_KEY = "__header__"


@dataclass(frozen=True, slots=True, kw_only=True)
class Trace:
    """A loaded trace: header data, layers, and their tensors (NumPy arrays)."""

    network: str
    batch: int
    layers: tuple[Layer, ...]
    arrays: dict[str, np.ndarray] = field(repr=False)
    path: str = "<memory>"
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


def _expected_shape(layer: Layer, role: str) -> tuple[int, ...]:
    if role in ("input", "input_mask"):
        return tuple(layer.input_shape)
    if role == "output":
        return tuple(layer.output_shape)
    return layer.weight_shape


def read_trace(path: str | Path) -> Trace:
    """Read and validate a trace file.

    Raises :class:`TraceError` with a one-line message naming the file, the layer
    and the field for any problem (all problems found are listed).
    """
    path = str(path)
    if not os.path.exists(path):
        raise TraceError(path, "file not found")
    try:
        npz = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise TraceError(path, f"not a readable .npz trace ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise TraceError(path, "not an .npz archive (a single .npy array was found)")
    with npz:
        names = set(npz.files)
        if HEADER_KEY not in names:
            raise TraceError(path, f"{HEADER_KEY}: missing (not an accelsim trace)")
        try:
            header_arr = npz[HEADER_KEY]
            header = json.loads(str(header_arr[()]))
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise TraceError(path, f"{HEADER_KEY}: not a JSON object ({exc})") from None
        problems = _header_problems(header)
        if problems:
            raise TraceError(path, "; ".join(problems))
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
        if problems:
            raise TraceError(path, "; ".join(problems))
        arrays: dict[str, np.ndarray] = {}
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
                except ValueError as exc:
                    problems.append(f"{where}: array {key!r} unreadable ({exc})")
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
                arrays[key] = arr
    if problems:
        raise TraceError(path, "; ".join(problems))
    return Trace(network=header["network"], batch=header["batch"], layers=tuple(layers),
                 arrays=arrays, path=path)


def _header_problems(header: Any) -> list[str]:
    if not isinstance(header, dict):
        return [f"{HEADER_KEY}: must be a JSON object"]
    problems = []
    if header.get("format") != FORMAT_NAME:
        problems.append(f"{HEADER_KEY}.format: must be {FORMAT_NAME!r} "
                        f"(got {header.get('format')!r})")
    if header.get("version") != FORMAT_VERSION:
        problems.append(f"{HEADER_KEY}.version: this accelsim reads trace version "
                        f"{FORMAT_VERSION} (got {header.get('version')!r})")
    if not isinstance(header.get("network"), str):
        problems.append(f"{HEADER_KEY}.network: must be a string (got {header.get('network')!r})")
    batch = header.get("batch")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        problems.append(f"{HEADER_KEY}.batch: must be an integer >= 1 (got {batch!r})")
    layers = header.get("layers")
    if not isinstance(layers, list) or not layers:
        problems.append(f"{HEADER_KEY}.layers: must be a non-empty list (got {layers!r})")
    return problems


def write_trace(path: str | Path, *, network: str, batch: int, layers: list[dict],
                arrays: dict[str, np.ndarray], compress: bool = False) -> None:
    """Write a trace atomically: a partial file never appears at ``path``.

    ``layers`` are header dicts (see :mod:`accelsim.workload.layer`) whose
    ``tensors`` entries name keys of ``arrays``.
    """
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "network": network,
              "batch": int(batch), "layers": layers}
    for key, arr in arrays.items():
        if key == HEADER_KEY or np.asarray(arr).dtype.kind not in "biuf":
            raise ValueError(f"array {key!r}: reserved name or non-numeric dtype")
    payload = {HEADER_KEY: np.array(json.dumps(header))}
    payload.update({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    with atomic_open(path) as fh:
        (np.savez_compressed if compress else np.savez)(fh, **payload)


def trace_to_headers(trace: Trace) -> list[dict]:
    return [layer_to_header(layer) for layer in trace.layers]


__all__ = ["Trace", "read_trace", "write_trace", "trace_to_headers", "LayerKind"]
