"""Load an architecture YAML file into an :class:`~accelsim.spec.arch.ArchSpec`.

Three steps (STYLE.md): read YAML (duplicate keys rejected), validate against the
schema below collecting every problem, construct the frozen dataclasses. Unknown
keys, missing keys, wrong types and impossible values are all reported at once,
each as ``key.path: what is wrong (got VALUE)``, in one :class:`ConfigError`
naming the file.

The schema is the single source of truth for what an arch file may contain; the
documented example is ``arch_configs/eyeriss_v1.yaml``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelsim.enums import Level, Tensor
from accelsim.errors import ConfigError
from accelsim.spec.yamlio import read_yaml, version_problems
from accelsim.workload.layer import OPERATORS, operator_bits_ok
from accelsim.workload.quant import SHIFT_EXPONENT_LIMIT, shift_code_bits
from accelsim.spec.arch import (COMPRESSION_FORMATS, MAC_KINDS, MAPPER_OBJECTIVES,
                                MULTICAST_TENSORS, SCALED_STORAGES, SERIAL_OPERANDS,
                                SPARSITY_MODES, STRIP_MINING, MulticastSpec, OperatorSupport,
                                ArchSpec, DramSpec, EnergySpec, GlobalBufferSpec, MacSpec,
                                BlockSpec, CscSpec, FormatsSpec, MapperSpec, NocSpec,
                                PeArraySpec, RlcSpec, ScratchpadSpec, SparsitySpec)

SUPPORTED_VERSIONS = (1,)


INT_MAX = 2**31 - 1
"""The largest integer setting (where a key gives no tighter bound), as for
mapping constraints: the counts the engine forms from settings stay in int64."""
GLB_MAX_BYTES = 2**40
"""The largest global buffer: 1 TiB (its size in bits times a layer's blocks
stays in int64 in the mapping search)."""
CLOCK_MHZ_RANGE = (1e-3, 1e5)
"""The clock frequencies an arch may give (``core_clock_mhz``,
``dram.link_clock_mhz``), in MHz: 1 kHz to 100 GHz. Chips run from tens of MHz
to a few GHz; a value far outside is a slip (a unit, an exponent), and it
would drive the DRAM bytes per core cycle (bus_bits / 8 x link / core) to 0 or
past what floats hold, which the engine divides by."""


@dataclass(frozen=True)
class _F:
    """One leaf of the schema: its type, default (``...`` = required) and check."""

    # int | number (> 0) | fraction (number >= 0, at most ``maximum`` if given) |
    # clock (number in CLOCK_MHZ_RANGE) | bool |
    # str | choice | bits | optable |
    # version (checked on its own) | data_bits (an integer or "data") |
    # multicast (bool or {tensor: bool})
    kind: str
    default: Any = ...
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()


def _pos(default: Any = ..., maximum: float | None = None) -> _F:
    return _F("int", default, 1, maximum)


def _posnum(default: Any = ...) -> _F:
    return _F("number", default, 0.0)


def _clock() -> _F:
    return _F("clock", ..., *CLOCK_MHZ_RANGE)


_SPAD = {"entries": _pos(), "word_bits": _pos(16, 64)}
# one operator a reconfigurable core supports: every weight_bits x act_bits pair
_OPERATOR = {"weight_bits": _F("bits", None), "act_bits": _F("bits", None),
             "exponent_min": _F("int", -7, -SHIFT_EXPONENT_LIMIT, SHIFT_EXPONENT_LIMIT),
             "exponent_max": _F("int", 0, -SHIFT_EXPONENT_LIMIT, SHIFT_EXPONENT_LIMIT)}

SCHEMA: dict[str, Any] = {
    # checked by version_problems in arch_from_dict, which says which versions exist
    "version": _F("version", None),
    "name": _F("str"),
    "description": _F("str", ""),
    "source": _F("str", ""),
    "core_clock_mhz": _clock(),
    "pe_array": {"rows": _pos(), "cols": _pos(), "pipeline_depth": _F("int", 3, 0),
                 "psum_accumulate_cycles": _F("int", 0, 0, 8)},
    "scratchpads": {"ifmap": _SPAD, "filter": _SPAD, "psum": _SPAD},
    "glb": {"banks": _pos(), "bank_size_bytes": _pos(), "filter_banks": _pos(),
            "filter_bank_size_bytes": _pos(), "word_bits": _pos(64),
            "ifmap_double_buffering": _F("bool", True), "psum_double_buffering": _F("bool", True),
            "stores_padding": _F("bool", False),
            "ifmap_compression": _F("choice", "none", choices=COMPRESSION_FORMATS),
            "weight_compression": _F("choice", "none", choices=COMPRESSION_FORMATS)},
    "noc": {"filter_bus_bits": _pos(), "ifmap_bus_bits": _pos(), "psum_bus_bits": _pos(),
            "psum_link_bits": _pos(), "multicast": _F("multicast", True)},
    "dram": {"bus_bits": _pos(), "link_clock_mhz": _clock(),
             "ifmap_compression": _F("choice", "none", choices=COMPRESSION_FORMATS),
             "ofmap_compression": _F("choice", "none", choices=COMPRESSION_FORMATS),
             "weight_compression": _F("choice", "none", choices=COMPRESSION_FORMATS),
             "compress_first_layer_input": _F("bool", False),
             "burst_bytes": _F("int", 0, 0)},
    # value_bits / pairs_per_word absent: follow the data width (RlcSpec)
    "formats": {"rlc": {"run_bits": _pos(5, 32), "value_bits": _F("data_bits", None, 1, 64),
                        "pairs_per_word": _pos(None), "word_bits": _pos(64)},
                "csc": {"count_bits": _pos(4, 32), "address_bits": _pos(16, 64)},
                "block": {"block_elems": _pos(8, 4096)}},
    "mac": {"kind": _F("choice", "int", choices=MAC_KINDS), "bits": _pos(16, 64),
            "macs_per_pe_per_cycle": _pos(1),
            "operators": {op: _OPERATOR for op in OPERATORS},
            "serial_operand": _F("choice", "act", choices=SERIAL_OPERANDS),
            "min_bits": _pos(2, 64),
            "reconfig_energy_fraction": _F("fraction", 0.0, 0.0),
            "reconfig_area_fraction": _F("fraction", 0.0, 0.0),
            "technology_scale": _posnum(1.0), "technology_area_scale": _posnum(1.0)},
    "sparsity": {"ifmap": _F("choice", "none", choices=SPARSITY_MODES),
                 "weight": _F("choice", "none", choices=SPARSITY_MODES)},
    # two forms (exactly one): costs normalized to one MAC times mac_pj (the
    # ISCA 2016 table's form), or pJ per access given directly (pj_per_access)
    "energy": {"mac_pj": _posnum(None),
               "reference_bits": _pos(16),
               # per operator, "WxA" (weight x act bits) -> pJ per operation
               "operator_pj": _F("optable", None),
               "normalized_to_mac": {"dram": _posnum(None), "glb": _posnum(None),
                                     "noc": _posnum(None), "spad": _posnum(None),
                                     "mac": _posnum(1.0)},
               "pj_per_access": {level: _posnum(None)
                                 for level in ("dram", "glb", "noc", "spad", "mac")},
               # the GLB's and spads' access energy grows with their size
               # (EnergySpec): the sizes at which the table holds, and the
               # exponent (0: no growth, 1: linear in the size)
               "size_scaling": {"exponent": _F("fraction", 0.5, 0.0, 1.0),
                                "reference_bytes": {storage: _pos(None, GLB_MAX_BYTES)
                                                    for storage in SCALED_STORAGES}},
               },
    "mapper": {"objective": _F("choice", "energy", choices=MAPPER_OBJECTIVES),
               "top_k": _pos(8, 1000),
               "strip_mining": _F("choice", "search", choices=STRIP_MINING)},
}
_OPTIONAL_SECTIONS = {("formats",), ("formats", "rlc"), ("formats", "csc"),
                      ("formats", "block"), ("mac", "operators"),
                      ("energy", "normalized_to_mac"), ("energy", "pj_per_access"),
                      ("energy", "size_scaling"), ("energy", "size_scaling", "reference_bytes")}
_ENERGY_LEVELS = ("dram", "glb", "noc", "spad")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_finite(value: int | float) -> bool:
    """False for nan, inf and integers too large for a float."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _check_leaf(spec: _F, value: Any, path: str, problems: list[str]) -> Any:
    bad = None
    if spec.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            bad = "must be an integer"
    elif (spec.kind in ("number", "fraction", "clock") and _is_number(value)
          and not _is_finite(value)):
        # YAML reads .nan and .inf as floats; no setting means either
        bad = "must be a finite number"
    elif spec.kind in ("number", "clock"):
        if not _is_number(value):
            bad = "must be a number"
        elif spec.kind == "clock" and value <= 0:
            bad = "must be > 0"
        elif spec.kind == "clock" and not spec.minimum <= value <= spec.maximum:
            bad = f"must be from {spec.minimum:g} to {spec.maximum:g} MHz (1 kHz to 100 GHz)"
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            bad = "must be true or false"
    elif spec.kind == "str":
        if not isinstance(value, str):
            bad = "must be a string"
    elif spec.kind == "fraction":
        if not _is_number(value) or value < 0 or (spec.maximum is not None
                                                  and value > spec.maximum):
            bad = ("must be a number >= 0" if spec.maximum is None
                   else f"must be a number from 0 to {spec.maximum:g}")
    elif spec.kind == "choice":
        if value not in spec.choices:
            bad = f"must be one of {list(spec.choices)}"
    elif spec.kind == "bits":
        if (not isinstance(value, list) or not value
                or any(isinstance(b, bool) or not isinstance(b, int) or not 1 <= b <= 64
                       for b in value)):
            bad = "must be a non-empty list of integers from 1 to 64"
    elif spec.kind == "optable":
        bad = _optable_problem(value)
    elif spec.kind == "data_bits":  # an integer width, or ``data``: the tensor's own width
        if value == "data":
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            bad = "must be an integer or data"
        elif not spec.minimum <= value <= spec.maximum:
            bad = f"must be from {spec.minimum:g} to {spec.maximum:g}, or data"
    elif spec.kind == "multicast":
        if isinstance(value, dict):
            return _multicast_mapping(value, path, problems)
        if not isinstance(value, bool):
            bad = "must be true or false"
    if bad is None and spec.kind in ("int", "number"):
        if spec.minimum is not None and (value < spec.minimum or
                                         (spec.kind == "number" and value <= 0)):
            bad = "must be > 0" if spec.kind == "number" else f"must be >= {spec.minimum:g}"
        else:
            most = INT_MAX if spec.maximum is None and spec.kind == "int" else spec.maximum
            if most is not None and value > most:
                bad = f"must be <= {most}" if isinstance(most, int) else f"must be <= {most:g}"
    if bad is not None:
        problems.append(f"{path}: {bad} (got {value!r})")
        return spec.default if spec.default is not ... else None
    return value


def setting_problem(key: str, value: Any) -> str | None:
    """What is wrong with ``value`` as the setting ``key`` (a dotted path to a
    leaf of :data:`SCHEMA`) whatever the other settings are, or None: the checks
    of one field alone (type, choices, bounds), not the cross-field ones. A
    value with a problem here is invalid in every arch.
    """
    spec: Any = SCHEMA
    for part in key.split("."):
        spec = spec[part]
    problems: list[str] = []
    _check_leaf(spec, value, key, problems)
    return "; ".join(p.removeprefix(f"{key}: ") for p in problems) or None


def _optable_problem(value: Any) -> str | None:
    """``{operator: {"WxA": pJ}}``: None if well formed, else what is wrong."""
    if not isinstance(value, dict):
        return "must map operators to {\"WxA\": pJ} tables"
    for op, table in value.items():
        if op not in OPERATORS:
            return f"{op}: unknown operator (known: {', '.join(OPERATORS)})"
        if not isinstance(table, dict) or not table:
            return f"{op}: must map \"WxA\" (weight x act bits) to pJ"
        for key, pj in table.items():
            parsed = _parse_wxa(key)
            if parsed is None:
                return f"{op}.{key}: key must read WxA, e.g. 8x8"
            if not operator_bits_ok(op, *parsed):
                return f"{op}.{key}: {op} is not defined at these widths"
            if not _is_number(pj) or not _is_finite(pj) or pj <= 0:
                return f"{op}.{key}: pJ must be a finite number > 0"
    return None


def _multicast_mapping(value: dict, path: str, problems: list[str]) -> dict:
    """``noc.multicast`` per tensor: ``{filter: bool, ifmap: bool}``, absent ones true."""
    out = {t: True for t in MULTICAST_TENSORS}
    for key, flag in value.items():
        if key == "psum":
            problems.append(f"{path}.psum: psums go to one PE each (or from one PE to the "
                            f"GLB), so multicast does not apply (known: "
                            f"{', '.join(MULTICAST_TENSORS)})")
        elif key not in out:
            problems.append(f"{path}.{key}: unknown key (known: {', '.join(MULTICAST_TENSORS)})")
        elif not isinstance(flag, bool):
            problems.append(f"{path}.{key}: must be true or false (got {flag!r})")
        else:
            out[key] = flag
    return out


def _parse_wxa(key: Any) -> tuple[int, int] | None:
    parts = str(key).lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1])


def _validate(schema: dict, data: Any, prefix: str, problems: list[str],
              keypath: tuple = ()) -> dict:
    """Walk ``data`` against ``schema``; returns the data with defaults filled in."""
    if not isinstance(data, dict):
        problems.append(f"{prefix or 'top level'}: must be a mapping (got {type(data).__name__})")
        data = {}
    out: dict[str, Any] = {}
    for key in data:
        if key not in schema:
            where = f"{prefix}.{key}" if prefix else str(key)
            problems.append(f"{where}: unknown key (known: {', '.join(schema)})")
    for key, spec in schema.items():
        where = f"{prefix}.{key}" if prefix else key
        if isinstance(spec, dict):
            if key not in data and (*keypath, key) in _OPTIONAL_SECTIONS:
                out[key] = _validate(spec, {}, where, problems, (*keypath, key))
            elif key not in data and all(isinstance(v, _F) and v.default is not ...
                                         for v in spec.values()):
                out[key] = _validate(spec, {}, where, problems, (*keypath, key))
            elif key not in data:
                problems.append(f"{where}: missing")
            else:
                out[key] = _validate(spec, data[key], where, problems, (*keypath, key))
        elif key in data:
            out[key] = _check_leaf(spec, data[key], where, problems)
        elif spec.default is ...:
            problems.append(f"{where}: missing")
        else:
            out[key] = spec.default
    return out


def _cross_checks(d: dict, problems: list[str]) -> None:
    """Checks that involve more than one field."""
    glb = d.get("glb", {})
    if all(isinstance(glb.get(k), int) for k in ("banks", "bank_size_bytes")):
        if glb["banks"] * glb["bank_size_bytes"] > GLB_MAX_BYTES:
            problems.append(f"glb: banks x bank_size_bytes must be at most {GLB_MAX_BYTES} "
                            f"(1 TiB; got {glb['banks'] * glb['bank_size_bytes']})")
    spads = d.get("scratchpads", {})
    psum = spads.get("psum", {})
    mac = d.get("mac", {})
    if all(isinstance(x, int) for x in (psum.get("word_bits"), mac.get("bits"))):
        if psum["word_bits"] < mac["bits"]:
            problems.append(f"scratchpads.psum.word_bits: must be >= mac.bits {mac['bits']} "
                            f"(got {psum['word_bits']})")
    noc = d.get("noc", {})
    if all(isinstance(x, int) for x in (psum.get("word_bits"), noc.get("psum_bus_bits"))):
        if noc["psum_bus_bits"] < psum["word_bits"]:  # the engine moves whole psums a cycle
            problems.append(f"noc.psum_bus_bits: must be >= scratchpads.psum.word_bits "
                            f"{psum['word_bits']} (got {noc['psum_bus_bits']})")
    _mac_checks(mac, problems)
    _operator_pj_checks(mac, d.get("energy", {}).get("operator_pj"), problems)
    _energy_form_checks(d.get("energy", {}), problems)
    rlc = d.get("formats", {}).get("rlc", {})
    # a value field following the data width is checked per layer
    # (accelsim.engine.formats.rlc_problem)
    if all(isinstance(rlc.get(k), int) for k in ("run_bits", "value_bits", "word_bits")):
        pair = rlc["run_bits"] + rlc["value_bits"]
        if isinstance(rlc.get("pairs_per_word"), int):
            need = rlc["pairs_per_word"] * pair
            if need > rlc["word_bits"]:
                problems.append(f"formats.rlc: pairs_per_word*(run_bits+value_bits) = {need} "
                                f"exceeds word_bits (got {rlc['word_bits']})")
        elif pair > rlc["word_bits"]:
            problems.append(f"formats.rlc: run_bits+value_bits = {pair} exceeds word_bits "
                            f"(got {rlc['word_bits']})")


def _energy_form_checks(en: dict, problems: list[str]) -> None:
    """Exactly one energy form: ``mac_pj`` with ``normalized_to_mac``, or
    ``pj_per_access``, each complete."""
    direct = en.get("pj_per_access") or {}
    norm = en.get("normalized_to_mac") or {}
    given = [k for k, v in direct.items() if v is not None]
    if given:
        if en.get("mac_pj") is not None or any(norm.get(k) is not None for k in _ENERGY_LEVELS):
            problems.append("energy: give either mac_pj with normalized_to_mac or "
                            "pj_per_access, not both")
        for level in (*_ENERGY_LEVELS, "mac"):
            if direct.get(level) is None:
                problems.append(f"energy.pj_per_access.{level}: missing")
        return
    if en.get("mac_pj") is None:
        problems.append("energy.mac_pj: missing (or give energy.pj_per_access)")
    for level in _ENERGY_LEVELS:
        if norm.get(level) is None:
            problems.append(f"energy.normalized_to_mac.{level}: missing "
                            "(or give energy.pj_per_access)")


def _size_scaling_checks(raw: Any, problems: list[str]) -> None:
    """A ``size_scaling`` section given (in the document ``raw``) with no
    reference size would scale nothing: that is a slip, not a setting."""
    energy = raw.get("energy") if isinstance(raw, dict) else None
    scaling = energy.get("size_scaling") if isinstance(energy, dict) else None
    if isinstance(scaling, dict) and not scaling.get("reference_bytes"):
        problems.append("energy.size_scaling.reference_bytes: missing: name the size at which "
                        f"the table holds for at least one of {', '.join(SCALED_STORAGES)}")


def _declared(mac: dict) -> dict:
    """The operators a mac section declares (those with any widths given)."""
    return {op: e for op, e in (mac.get("operators") or {}).items()
            if e.get("weight_bits") is not None or e.get("act_bits") is not None}


def _mac_checks(mac: dict, problems: list[str]) -> None:
    kind, bits = mac.get("kind"), mac.get("bits")
    declared = _declared(mac)
    for key in ("reconfig_energy_fraction", "reconfig_area_fraction"):
        v = mac.get(key)
        # a sanity bound, not a published one: an overhead above the dedicated
        # datapath's own cost is taken as a slip (5 meant 5%?)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 1:
            problems.append(f"mac.{key}: must be <= 1, a fraction of the operation's own "
                            f"cost (0.15 = +15%) (got {v!r})")
    min_bits = mac.get("min_bits")
    if kind == "precision_scalable" and isinstance(bits, int) and isinstance(min_bits, int):
        # Bit Fusion's bricks (Sharma et al., ISCA 2018): operands round up to a
        # power of two >= min_bits, so the brick itself must be a power of two
        if min_bits & (min_bits - 1):
            problems.append(f"mac.min_bits: must be a power of two, the width of the core's "
                            f"bricks (got {min_bits})")
        elif min_bits > bits:
            problems.append(f"mac.min_bits: must be <= mac.bits {bits} (got {min_bits})")
        elif bits % min_bits:
            problems.append(f"mac.bits: must be a multiple of mac.min_bits {min_bits}, a whole "
                            f"number of bricks (got {bits})")
    if kind == "int" and declared:
        problems.append(f"mac.operators: an int core runs int at any width and declares no "
                        f"operators; use kind precision_scalable, bit_serial or multi_function "
                        f"(got {sorted(declared)})")
        return
    if kind in ("precision_scalable", "bit_serial", "multi_function") and not declared:
        problems.append(f"mac.operators: missing (a {kind} core declares the operators and "
                        "widths it runs)")
    for op, e in declared.items():
        where = f"mac.operators.{op}"
        for key in ("weight_bits", "act_bits"):
            if e.get(key) is None:
                problems.append(f"{where}.{key}: missing")
            elif len(set(e[key])) != len(e[key]):
                dup = next(b for b in e[key] if e[key].count(b) > 1)
                problems.append(f"{where}.{key}: width {dup} is listed twice (got {e[key]})")
        if e.get("weight_bits") is None or e.get("act_bits") is None:
            continue
        if kind == "precision_scalable" and op in ("fp", "bfloat"):
            problems.append(f"{where}: a precision_scalable core fuses integer bricks (Bit "
                            f"Fusion is integer only); {op} modes are not modeled on it (got "
                            f"weight_bits {e['weight_bits']}, act_bits {e['act_bits']})")
            continue
        if not any(operator_bits_ok(op, w, a) for w in e["weight_bits"] for a in e["act_bits"]):
            problems.append(f"{where}: no width pair is defined for {op} (got weight_bits "
                            f"{e['weight_bits']}, act_bits {e['act_bits']})")
        if isinstance(bits, int):
            # operands the core applies in parallel must fit its width
            wide = {"precision_scalable": ("weight_bits", "act_bits"),
                    "multi_function": ("weight_bits", "act_bits"),
                    "bit_serial": ("weight_bits",) if mac.get("serial_operand") == "act"
                    else ("act_bits",)}.get(kind, ())
            for key in wide:
                if max(e[key]) > bits:
                    problems.append(f"{where}.{key}: {max(e[key])} exceeds the core's "
                                    f"bits {bits} (got {e[key]})")
        if op == "shift":
            span = e["exponent_max"] - e["exponent_min"]
            need = (shift_code_bits((e["exponent_min"], e["exponent_max"])) if span > 0
                    else None)
            if span <= 0:
                problems.append(f"{where}.exponent_max: must exceed exponent_min "
                                f"{e['exponent_min']} (got {e['exponent_max']})")
            elif min(e["weight_bits"]) < need:
                problems.append(f"{where}.weight_bits: a sign and exponents "
                                f"{e['exponent_min']}..{e['exponent_max']} need {need} bits "
                                f"(got {e['weight_bits']})")


def _operator_pj_checks(mac: dict, table: Any, problems: list[str]) -> None:
    """Every ``energy.operator_pj`` entry must price a mode the core runs."""
    if not isinstance(table, dict) or not table:
        return
    if mac.get("kind") == "int":
        problems.append(f"energy.operator_pj: an int core prices every MAC at energy.mac_pj; "
                        f"operator overrides need a precision_scalable, bit_serial or "
                        f"multi_function core "
                        f"(got {table})")
        return
    declared = _declared(mac)
    for op, entries in table.items():
        if not isinstance(entries, dict):
            continue
        e = declared.get(op) or {}
        for key, pj in entries.items():
            wxa = _parse_wxa(key)
            if wxa is None:
                continue
            if wxa[0] not in (e.get("weight_bits") or ()) or wxa[1] not in (e.get("act_bits")
                                                                             or ()):
                problems.append(f"energy.operator_pj.{op}.{key}: the core does not run {op} at "
                                f"weight_bits {wxa[0]}, act_bits {wxa[1]} (got {pj!r})")


def _construct(d: dict) -> ArchSpec:
    sp = d["scratchpads"]
    en = d["energy"]
    if en["pj_per_access"]["dram"] is not None:
        pj = en["pj_per_access"]
    else:
        pj = {level: en["normalized_to_mac"][level] * en["mac_pj"]
              for level in (*_ENERGY_LEVELS, "mac")}
    return ArchSpec(
        name=d["name"], description=d["description"], source=d["source"],
        core_clock_mhz=float(d["core_clock_mhz"]),
        pe_array=PeArraySpec(**d["pe_array"]),
        ifmap_spad=ScratchpadSpec(**sp["ifmap"]), filter_spad=ScratchpadSpec(**sp["filter"]),
        psum_spad=ScratchpadSpec(**sp["psum"]),
        glb=GlobalBufferSpec(**d["glb"]),
        noc=NocSpec(**{**d["noc"], "multicast": _multicast_spec(d["noc"]["multicast"])}),
        dram=DramSpec(**{**d["dram"], "link_clock_mhz": float(d["dram"]["link_clock_mhz"])}),
        formats=FormatsSpec(rlc=RlcSpec(**d["formats"]["rlc"]), csc=CscSpec(**d["formats"]["csc"]),
                            block=BlockSpec(**d["formats"]["block"])),
        mac=MacSpec(**{**d["mac"], "operators": tuple(
            OperatorSupport(operator=op, weight_bits=tuple(e["weight_bits"]),
                            act_bits=tuple(e["act_bits"]), exponent_min=e["exponent_min"],
                            exponent_max=e["exponent_max"])
            for op, e in _declared(d["mac"]).items()),
            "reconfig_energy_fraction": float(d["mac"]["reconfig_energy_fraction"]),
            "reconfig_area_fraction": float(d["mac"]["reconfig_area_fraction"]),
            "technology_scale": float(d["mac"]["technology_scale"]),
            "technology_area_scale": float(d["mac"]["technology_area_scale"])}),
        sparsity=SparsitySpec(**d["sparsity"]),
        mapper=MapperSpec(**d["mapper"]),
        energy=EnergySpec(dram_pj=pj["dram"], glb_pj=pj["glb"], noc_pj=pj["noc"],
                          spad_pj=pj["spad"], mac_pj=pj["mac"],
                          reference_bits=en["reference_bits"],
                          operator_pj=tuple(
                              ((op, *_parse_wxa(k)), float(v))
                              for op, table in (en["operator_pj"] or {}).items()
                              for k, v in table.items()),
                          reference_bytes=tuple(
                              (storage, ref) for storage, ref
                              in en["size_scaling"]["reference_bytes"].items()
                              if ref is not None),
                          size_exponent=float(en["size_scaling"]["exponent"])),
    )


def _multicast_spec(value: bool | dict) -> MulticastSpec:
    if isinstance(value, bool):
        return MulticastSpec(filter=value, ifmap=value)
    return MulticastSpec(**value)


def arch_from_dict(data: Any, source: str = "<dict>") -> ArchSpec:
    """Validate a parsed arch document and build the :class:`ArchSpec`.

    Raises :class:`ConfigError` listing every problem, naming ``source``.
    """
    problems: list[str] = []
    if isinstance(data, dict):
        problems.extend(version_problems(data, SUPPORTED_VERSIONS))
    validated = _validate(SCHEMA, data, "", problems)
    if not problems:
        _cross_checks(validated, problems)
        _size_scaling_checks(data, problems)
    if problems:
        raise ConfigError(source, problems)
    return _construct(validated)


def load_arch(path: str | Path) -> ArchSpec:
    """Read, validate and construct an architecture from a YAML file."""
    return arch_from_dict(read_yaml(path), str(path))


def _access_energy_text(arch: ArchSpec) -> str:
    """pJ per reference access of each storage at the arch's sizes (EnergySpec)."""
    en = arch.energy
    x = arch.storage_factors()
    glb = en.glb_pj * x[Level.GLB][Tensor.IFMAP]
    glb_filter = en.glb_pj * x[Level.GLB][Tensor.WEIGHT]
    spads = " / ".join(f"{name} {en.spad_pj * x[Level.SPAD][tensor]:.4g}" for name, tensor in
                       (("ifmap", Tensor.IFMAP), ("filter", Tensor.WEIGHT), ("psum", Tensor.PSUM)))
    text = (f"pJ per {en.reference_bits}-bit access: DRAM {en.dram_pj:.4g}, GLB {glb:.4g} "
            f"(filter banks {glb_filter:.4g}), NoC {en.noc_pj:.4g}, spads {spads}")
    if en.reference_bytes:
        text += (f"; scaled as (size / reference) ** {en.size_exponent:g}: "
                 + ", ".join(name for name, _ in en.reference_bytes))
    return text


def describe(arch: ArchSpec) -> list[tuple[str, str]]:
    """A short human summary of an arch, for ``accelsim check``."""
    from accelsim.spec.mac import peak_rates, supported_text

    g = arch.glb
    full, best, best_mode = peak_rates(arch.mac)

    def gmacs(rate: float) -> float:
        return round(arch.pe_array.pes * rate * arch.core_clock_mhz / 1e3, 4)

    return [
        ("name", arch.name),
        ("PE array", f"{arch.pe_array.rows} x {arch.pe_array.cols} = {arch.pe_array.pes} PEs"),
        ("core clock", f"{arch.core_clock_mhz:g} MHz"),
        ("spads per PE", f"ifmap {arch.ifmap_spad.entries}, filter {arch.filter_spad.entries}, "
                         f"psum {arch.psum_spad.entries} entries"),
        ("GLB", f"{g.banks} x {g.bank_size_bytes} B ifmap/psum + {g.filter_banks} x "
                f"{g.filter_bank_size_bytes} B filter = {g.size_bytes} B"),
        ("NoC", f"filter {arch.noc.filter_bus_bits} b, ifmap {arch.noc.ifmap_bus_bits} b, "
                f"psum {arch.noc.psum_bus_bits} b, psum link {arch.noc.psum_link_bits} b"),
        ("DRAM", f"{arch.dram.bus_bits} b at {arch.dram.link_clock_mhz:g} MHz = "
                 f"{arch.dram_bytes_per_cycle:.3g} B/core cycle"),
        ("MAC", f"{arch.mac.kind} {arch.mac.bits}-bit, {full:g}/PE/cycle at full width"
                + (f" (up to {best:g} at {best_mode})" if best_mode else "")
                + (f"; {supported_text(arch.mac)}" if arch.mac.operators else "")),
        ("sparsity", f"ifmap {arch.sparsity.ifmap}, weight {arch.sparsity.weight}"),
        ("access energy", _access_energy_text(arch)),
        ("peak", f"{gmacs(full):g} GMAC/s at full width"
                 + (f", {gmacs(best):g} at {best_mode}" if best_mode else "")),
    ]

