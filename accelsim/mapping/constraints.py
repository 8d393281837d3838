"""Per-layer mapping constraints: fix some row-stationary parameters of a layer.

Place in the pipeline: ``workload -> mapping`` (this module validates the file
and names its layers; :func:`accelsim.mapping.rowstationary.candidates` then
enumerates only mappings with the fixed values) ``-> engine``. A mapping file
(YAML)::

    version: 1
    layers:
      conv1: {e: 7, p: 16, q: 1, r: 1, t: 2, m: 96, n: 1}   # every parameter: that mapping
      conv3: {q: 4, r: 1}          # some: the search keeps the mappings with these values

Keys are the parameters of :class:`accelsim.mapping.rowstationary.Mapping`
(JSSC 2017 Table III): ``e``, ``p``, ``q``, ``r``, ``t``, ``gp``, ``m``, ``n``;
each optional, each a positive integer. A key left out is searched as usual,
with one exception (an assumption, so that Table III's seven parameters give
Table III's mapping): an entry fixing all of ``e p q r t m n`` but not ``gp``
fixes ``gp: 1`` as well, the chip's way of running a grouped layer's groups
one after another (Table III has no ``gp``; ``benchmarks/validate_eyeriss.py``
maps it with ``gp = 1``). An entry names a
MAC layer of the trace by its exact name (in a routed trace, an instance
``conv1@mild``, as ``--assign`` does). Legality (the array, the spads, the
GLB banks, ``m`` a multiple of ``p*t``) is checked by ``candidates``; a layer
no legal mapping satisfies is a result with a reason, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accelsim.errors import ConfigError
from accelsim.spec.yamlio import read_yaml, version_problems
from accelsim.workload.trace import Trace

MAPPING_KEYS = ("e", "p", "q", "r", "t", "gp", "m", "n")
"""The parameters a mapping file may fix, in the order they are printed."""
SUPPORTED_VERSIONS = (1,)


# no layer dimension comes near it; larger values would overflow the int64
# candidate arrays
MAX_VALUE = 2**31 - 1


def format_constraint(fixed: dict[str, int]) -> str:
    """``{e: 13, p: 30}``: a layer's constraint as written in the file, keys in
    :data:`MAPPING_KEYS` order."""
    return "{" + ", ".join(f"{k}: {fixed[k]}" for k in MAPPING_KEYS if k in fixed) + "}"


def _entry_problems(name: str, entry: Any) -> tuple[dict[str, int], list[str]]:
    where = f"layers.{name}"
    if not isinstance(entry, dict) or not entry:
        return {}, [f"{where}: must map some of {', '.join(MAPPING_KEYS)} to positive "
                    f"integers (got {entry!r})"]
    problems = []
    for key, v in entry.items():
        if key not in MAPPING_KEYS:
            problems.append(f"{where}.{key}: unknown key (known: {', '.join(MAPPING_KEYS)})")
        # YAML's true equals 1 in Python and 2.0 equals 2; neither is a count
        elif isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_VALUE:
            problems.append(f"{where}.{key}: must be a positive integer up to {MAX_VALUE} "
                            f"(got {v!r})")
    fixed = {k: entry[k] for k in MAPPING_KEYS if k in entry}
    if "gp" not in fixed and all(k in fixed for k in MAPPING_KEYS if k != "gp"):
        fixed["gp"] = 1  # a complete Table III mapping (module docstring)
        fixed = {k: fixed[k] for k in MAPPING_KEYS}
    return fixed, problems


def _traces(trace: Trace | Sequence[Trace] | None) -> tuple[Trace, ...]:
    if trace is None:
        return ()
    return (trace,) if isinstance(trace, Trace) else tuple(trace)


def constraints_problems(layers: Any, trace: Trace | Sequence[Trace] | None = None
                         ) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Validate ``{layer name: {key: value}}``; returns (constraints, problems).

    With ``trace`` (or several), each entry must also name a MAC layer of it
    (of each). The problems of every entry are listed, entry by entry in file
    order, so one message names them all.
    """
    if not isinstance(layers, dict) or not layers:
        return {}, [f"layers: must map layer names to mapping constraints (got {layers!r})"]
    out: dict[str, dict[str, int]] = {}
    problems = []
    for name, entry in layers.items():
        out[str(name)], probs = _entry_problems(str(name), entry)
        problems.extend(probs)
        for tr in _traces(trace):
            problems.extend(tr.mac_name_problems([str(name)], "map"))
    return out, list(dict.fromkeys(problems))


def constraints_from_dict(data: Any, source: str = "<dict>", *,
                          trace: Trace | Sequence[Trace] | None = None
                          ) -> dict[str, dict[str, int]]:
    """Validate a parsed mapping document; every problem is raised at once as a
    :class:`ConfigError` naming ``source``. With ``trace`` (or several) the
    names are checked against it too, in the same message."""
    if not isinstance(data, dict):
        raise ConfigError(source, [f"top level: must be a mapping (got {type(data).__name__})"])
    problems = [f"{key}: unknown key (known: version, layers)" for key in data
                if key not in ("version", "layers")]
    problems.extend(version_problems(data, SUPPORTED_VERSIONS, "mapping file "))
    out, probs = constraints_problems(data.get("layers"), trace)
    problems.extend(probs)
    if problems:
        raise ConfigError(source, problems)
    return out


def read_mapping_constraints(path: str | Path, *, trace: Trace | Sequence[Trace] | None = None
                             ) -> dict[str, dict[str, int]]:
    """Read and validate a mapping file (see the module docstring for its format).

    With ``trace`` (or several: a sweep's), a name that is not a MAC layer of it
    is reported with the file's other problems, not after they are fixed.
    """
    return constraints_from_dict(read_yaml(path), str(path), trace=trace)


def check_constraints(trace: Trace | Sequence[Trace], constraints: dict,
                      source: str = "<mapping constraints>") -> dict[str, dict[str, int]]:
    """The constraints, validated, every named layer a MAC layer of ``trace`` (of
    each trace, given several).

    Raises :class:`ConfigError` naming ``source`` with every bad entry and
    every name that is not a layer of the trace (listing its MAC layers) or
    is a layer without MACs, as :func:`accelsim.workload.assign.apply_assignment`
    does.
    """
    out, problems = constraints_problems(constraints, trace)
    if problems:
        raise ConfigError(source, problems)
    return out


__all__ = ["MAPPING_KEYS", "check_constraints", "constraints_from_dict", "format_constraint",
           "read_mapping_constraints"]
