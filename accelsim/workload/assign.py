"""Per-layer operator assignments: override a trace's operator and widths.

Place in the pipeline: ``trace.npz -> workload`` (this module rewrites the
layers' ``operator``, ``weight_bits`` and ``act_bits``, never the trace file or
its tensors) ``-> mapping``. An assignment file (YAML)::

    version: 1
    layers:
      conv1: {operator: int, weight_bits: 8, act_bits: 8}
      conv2: {operator: shift, weight_bits: 4}      # act_bits kept from the trace

Every key of a layer entry is optional; an entry names a MAC layer of the trace.
Whether the core runs the result is checked by :func:`accelsim.run.run`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from accelsim.errors import ConfigError
from accelsim.workload.layer import OPERATOR_RULES, OPERATORS, operator_bits_ok
from accelsim.workload.trace import Trace
from accelsim.workload.values import remember_declared

ASSIGN_KEYS = ("operator", "weight_bits", "act_bits")


def _entry_problems(name: str, entry: Any) -> tuple[dict, list[str]]:
    where = f"layers.{name}"
    if not isinstance(entry, dict) or not entry:
        return {}, [f"{where}: must map some of {list(ASSIGN_KEYS)} to values (got {entry!r})"]
    problems = []
    for key in entry:
        if key not in ASSIGN_KEYS:
            problems.append(f"{where}.{key}: unknown key (known: {', '.join(ASSIGN_KEYS)})")
    # a key given is checked even when its value is null (YAML's empty value)
    if "operator" in entry and entry["operator"] not in OPERATORS:
        problems.append(f"{where}.operator: must be one of {list(OPERATORS)} "
                        f"(got {entry['operator']!r})")
    for key in ("weight_bits", "act_bits"):
        v = entry.get(key)
        if key in entry and (isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 64):
            problems.append(f"{where}.{key}: must be an integer from 1 to 64 (got {v!r})")
    return {k: v for k, v in entry.items() if k in ASSIGN_KEYS}, problems


def _layer_problems(trace: Trace, name: str, entry: dict) -> list[str]:
    """What keeps a well-formed entry from applying to ``trace``: its name is not
    a MAC layer of it, or the operator is not defined at the resulting widths."""
    problems = trace.mac_name_problems([name], "assign")
    if problems:
        return problems
    layer = next(x for x in trace.layers if x.name == name)
    new = dataclasses.replace(layer, **entry)
    if not operator_bits_ok(new.operator, new.weight_bits, new.act_bits):
        return [f"layers.{name}: {new.operator} needs {OPERATOR_RULES[new.operator]} (got "
                f"weight_bits {new.weight_bits}, act_bits {new.act_bits})"]
    return []


def assignment_from_dict(data: Any, source: str = "<dict>", *,
                         trace: Trace | None = None) -> dict[str, dict]:
    """Validate a parsed assignment document: ``{layer name: {key: value}}``.

    With ``trace``, each entry must also apply to it (a MAC layer of the trace,
    an operator defined at the widths it gives the layer). Every problem of
    every entry is raised at once, entry by entry in file order, as one
    :class:`ConfigError` naming ``source``.
    """
    problems = []
    if not isinstance(data, dict):
        raise ConfigError(source, [f"top level: must be a mapping (got {type(data).__name__})"])
    for key in data:
        if key not in ("version", "layers"):
            problems.append(f"{key}: unknown key (known: version, layers)")
    version = data.get("version")
    # true and 1.0 equal 1 in Python, but neither is a version
    if isinstance(version, bool) or not isinstance(version, int) or version != 1:
        problems.append(f"version: this accelsim reads assignment version 1 (got {version!r})")
    layers = data.get("layers")
    out: dict[str, dict] = {}
    if not isinstance(layers, dict) or not layers:
        problems.append(f"layers: must map layer names to assignments (got {layers!r})")
    else:
        for name, entry in layers.items():
            out[str(name)], probs = _entry_problems(str(name), entry)
            problems.extend(probs)
            if trace is not None:
                if probs:  # the widths check needs valid values; the name check does not
                    problems.extend(trace.mac_name_problems([str(name)], "assign"))
                else:
                    problems.extend(_layer_problems(trace, str(name), out[str(name)]))
    if problems:
        raise ConfigError(source, problems)
    return out


def read_assignment(path: str | Path, *, trace: Trace | None = None) -> dict[str, dict]:
    """Read and validate an assignment file; with ``trace``, check that every
    entry applies to it as well, reporting every problem together."""
    from accelsim.spec.yamlio import read_yaml

    return assignment_from_dict(read_yaml(path), str(path), trace=trace)


def apply_assignment(trace: Trace, assignment: dict[str, dict],
                     source: str = "<assignment>") -> Trace:
    """The trace with the assigned layers' operator and widths replaced.

    Unknown or non-MAC layer names, and operators at widths they are not
    defined at, are a :class:`ConfigError` naming ``source`` and the key. The
    new trace shares the tensors and the data-derived cache (masks and zero
    counts do not depend on widths; width-dependent entries name them).
    """
    problems = [p for name, entry in assignment.items()
                for p in _layer_problems(trace, name, entry)]
    if problems:
        raise ConfigError(source, problems)
    new_layers = tuple(dataclasses.replace(layer, **assignment[layer.name])
                       if layer.is_mac and layer.name in assignment else layer
                       for layer in trace.layers)
    remember_declared(trace)  # trace values are checked against these, not the assignment
    return dataclasses.replace(trace, layers=new_layers, derived=trace.derived,
                               assignment=(source, assignment))


__all__ = ["apply_assignment", "assignment_from_dict", "read_assignment", "ASSIGN_KEYS"]
