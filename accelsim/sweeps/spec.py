"""Sweep files: which architecture variants and which traces a sweep covers.

Place in the pipeline: ``sweep.yaml -> sweeps.spec`` (this module) ``->
sweeps.points -> (spec -> workload -> mapping -> engine -> energy -> report)``
once per (point, trace).

A sweep file (YAML, read with duplicate keys rejected)::

    version: 1
    base: ../../arch_configs/eyeriss_v1.yaml     # arch file, relative to this file
    traces: [alexnet_b1.npz]                      # one path or a list, relative to this file
    axes:                                         # dotted key paths into the arch
      pe_array.rows: [8, 12, 16]                  # a list of values
      scratchpads.filter.entries: {range: [64, 512], scale: log2}
      dram.link_clock_mhz: {range: [60, 240], scale: linear, steps: 4}
    tied:                                         # groups of keys that move together
      - glb.banks: [16, 25, 32]
        glb.bank_size_bytes: [4096, 4096, 2048]
    strategy: grid                                # grid | random | latin_hypercube
    count: 50                                     # random and latin_hypercube only
    seed: 0
    keep: totals                                  # totals | layers

Ranges: ``scale: linear`` (the default) with ``steps`` gives ``steps`` evenly
spaced values, without ``steps`` every integer in ``[lo, hi]`` (both ends must
then be integers); ``scale: log2`` with ``steps`` gives values evenly spaced in
log2, without ``steps`` the powers of two in ``[lo, hi]``. When both ends are
integers the values are rounded to integers and repeats dropped; otherwise they
are rounded to :data:`FLOAT_DIGITS` significant digits, so that a log2 range
from 30.0 reads 120.0 rather than 119.99999999999999.

The values of one key are all numbers, all booleans or all strings: a list
such as ``["12", 12]`` is an error naming the key, since both would read 12 in
the results table.

A tied group is one axis: its i-th level sets every key of the group to the
i-th value of its list (the lists, after range expansion, have equal length).

The base arch file must be valid on its own (as ``accelsim check`` reports it),
axis keys are checked against the arch schema
(:data:`accelsim.spec.load.SCHEMA`), and each value against its key's own
checks (type, choices, bounds: :func:`accelsim.spec.load.setting_problem`),
before anything runs: a value no arch accepts (``dram.ifmap_compression:
zip``) is a problem of the sweep file. Checks across keys depend on the
point: the runner refuses a value that makes every point taking it invalid
(:func:`accelsim.sweeps.runner.run_sweep`), and a point whose values are
invalid only together becomes a result row with status ``error`` and the
reason.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accelsim.errors import ConfigError
from accelsim.fileio import sniff
from accelsim.spec.load import SCHEMA, arch_from_dict, setting_problem
from accelsim.spec.yamlio import read_yaml, version_problems

SUPPORTED_VERSIONS = (1,)
STRATEGIES = ("grid", "random", "latin_hypercube")
KEEP = ("totals", "layers")
SCALES = ("linear", "log2")
TOP_KEYS = ("version", "base", "traces", "axes", "tied", "strategy", "count", "seed", "keep")
MAX_LEVELS = 10_000
"""Most values one axis may expand to (a range like [1, 10**9] is a mistake)."""
MAX_GRID_POINTS = 1_000_000
"""Most points a grid may have; sample larger spaces with random or latin_hypercube."""
MAX_POINTS = 10_000_000
"""Most points a random or latin_hypercube sweep draws (its table is built in
memory before any point runs)."""
FLOAT_DIGITS = 12
"""Significant digits a float range value is rounded to (ulp noise off, intent kept)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Axis:
    """One swept dimension: a single key, or the keys of a tied group.

    ``levels[i]`` holds the i-th level: one value per key, in ``keys`` order.
    """

    keys: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    where: str = ""  # where the sweep file gives it: axes.KEY or tied[i], for messages


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepSpec:
    """A validated sweep file.

    ``traces`` are the paths as written in the file (they name the rows of the
    results); ``trace_paths`` the same files resolved against the sweep file's
    folder. ``base`` is the parsed base arch document; every point is a copy
    of it with the axis keys set.
    """

    source: str
    base_path: str
    base: dict = field(repr=False, compare=False)
    traces: tuple[str, ...]
    trace_paths: tuple[str, ...]
    axes: tuple[Axis, ...]
    strategy: str = "grid"
    count: int | None = None
    seed: int = 0
    keep: str = "totals"

    @property
    def columns(self) -> tuple[str, ...]:
        """Every swept key, axes first then tied groups, in file order."""
        return tuple(k for axis in self.axes for k in axis.keys)

    @property
    def grid_size(self) -> int:
        return math.prod(len(axis.levels) for axis in self.axes)

    @property
    def n_points(self) -> int:
        return self.grid_size if self.strategy == "grid" else int(self.count)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _kind(v: Any) -> str:
    """The type of a swept value as the results table sees it."""
    if isinstance(v, bool):
        return "boolean"
    return "number" if isinstance(v, (int, float)) else "string"


def key_problem(key: Any) -> str | None:
    """Why ``key`` is not a dotted path to one setting of the arch schema (None if it is)."""
    if not isinstance(key, str) or not key:
        return f"must be a dotted key path such as pe_array.rows (got {key!r})"
    node: Any = SCHEMA
    walked: list[str] = []
    for part in key.split("."):
        if not isinstance(node, dict):
            return f"not a key of the arch: {'.'.join(walked)} is a single setting"
        if part not in node:
            where = ".".join(walked) if walked else "the top level"
            return (f"not a key of the arch: no {part!r} under {where} "
                    f"(known: {', '.join(node)})")
        node = node[part]
        walked.append(part)
    if isinstance(node, dict):
        return f"not a single setting: {key} is a section (keys: {', '.join(node)})"
    if key == "version":
        return "the arch file version cannot be swept"
    return None


def _power_of_two_exponents(lo: float, hi: float) -> range:
    """The k with lo <= 2**k <= hi (finite lo > 0, hi >= lo)."""
    k0 = math.ceil(math.log2(lo))
    while math.ldexp(1.0, k0) < lo:
        k0 += 1
    while math.ldexp(1.0, k0 - 1) >= lo:
        k0 -= 1
    k1 = math.floor(math.log2(hi))
    while math.ldexp(1.0, k1) > hi:
        k1 -= 1
    while k1 < 1023 and math.ldexp(1.0, k1 + 1) <= hi:  # 2.0**1024 overflows
        k1 += 1
    return range(k0, k1 + 1)


def _power_of_two_range(lo: float, hi: float) -> list:
    return [2 ** k if k >= 0 else math.ldexp(1.0, k) for k in _power_of_two_exponents(lo, hi)]


def _expand_range(spec: dict, where: str, problems: list[str]) -> list | None:
    n0 = len(problems)
    for key in spec:
        if key not in ("range", "scale", "steps"):
            problems.append(f"{where}.{key}: unknown key (known: range, scale, steps)")
    rng = spec.get("range")
    if not (isinstance(rng, list) and len(rng) == 2 and all(_is_number(v) for v in rng)):
        problems.append(f"{where}.range: must be [lo, hi], two numbers (got {rng!r})")
        return None
    lo, hi = rng
    if not all(math.isfinite(v) for v in (lo, hi)):
        problems.append(f"{where}.range: the ends must be finite numbers (got {rng!r})")
        return None
    scale = spec.get("scale", "linear")
    steps = spec.get("steps")
    if scale not in SCALES:
        problems.append(f"{where}.scale: must be one of {list(SCALES)} (got {scale!r})")
    if steps is not None and (not _is_int(steps) or steps < 1):
        problems.append(f"{where}.steps: must be an integer >= 1 (got {steps!r})")
    if lo > hi:
        problems.append(f"{where}.range: lo must be <= hi (got {rng!r})")
    if scale == "log2" and lo <= 0:
        problems.append(f"{where}.range: a log2 range must be > 0 (got {rng!r})")
    ints = _is_int(lo) and _is_int(hi)
    if steps is None and scale == "linear" and not ints:
        problems.append(f"{where}.steps: required when the range ends are not both integers "
                        f"(got {rng!r})")
    if steps is not None and steps > MAX_LEVELS:
        problems.append(f"{where}.steps: at most {MAX_LEVELS} (got {steps})")
    if scale == "linear" and steps is None and ints and hi - lo + 1 > MAX_LEVELS:
        problems.append(f"{where}.range: expands to {hi - lo + 1} values, at most {MAX_LEVELS}"
                        f" (got {rng!r})")
    if len(problems) > n0:
        return None
    if steps is None:
        values = list(range(lo, hi + 1)) if scale == "linear" else _power_of_two_range(lo, hi)
        if not values:
            problems.append(f"{where}.range: holds no power of two (got {rng!r})")
            return None
        return values
    if steps == 1:
        raw = [lo]
    elif scale == "linear":
        raw = [lo + (hi - lo) * i / (steps - 1) for i in range(steps - 1)] + [hi]
    else:
        raw = [lo * (hi / lo) ** (i / (steps - 1)) for i in range(steps - 1)] + [hi]
    if ints:
        raw = [int(round(v)) for v in raw]
    else:  # 30 * 2 ** (2/3 * 1.5) is 119.99999999999999 in floats: write what was meant
        raw = [float(f"{v:.{FLOAT_DIGITS}g}") for v in raw]
    return list(dict.fromkeys(raw))  # drop repeats made by rounding, keep order


def _levels(spec: Any, where: str, problems: list[str], *, unique: bool) -> list | None:
    """The values of one key: a list, or a range expanded."""
    if isinstance(spec, dict):
        return _expand_range(spec, where, problems)
    if not isinstance(spec, list) or not spec:
        problems.append(f"{where}: must be a non-empty list of values or "
                        f"{{range: [lo, hi], scale: linear|log2, steps: N}} (got {spec!r})")
        return None
    bad = [v for v in spec if not isinstance(v, (bool, int, float, str))]
    if bad:
        problems.append(f"{where}: values must be numbers, booleans or strings (got {bad[0]!r})")
        return None
    kinds = {}
    for v in spec:
        kinds.setdefault(_kind(v), v)
    if len(kinds) > 1:
        problems.append(f"{where}: values mix types (got "
                        + " and ".join(f"{k} {v!r}" for k, v in kinds.items())
                        + "); use numbers, booleans or strings, one type per key")
        return None
    if unique:
        seen = []
        for v in spec:
            same = next((s for s in seen if v == s), None)
            if same is not None:
                problems.append(f"{where}: value {v!r} appears twice" if repr(v) == repr(same)
                                else f"{where}: values {same!r} and {v!r} are the same number")
                return None
            seen.append(v)
    return list(spec)


def _check_key(key: Any, where: str, base: Any, problems: list[str]) -> bool:
    problem = key_problem(key)
    if problem is not None:
        problems.append(f"{where}: {problem}")
        return False
    node = base
    for part in key.split(".")[:-1]:
        node = node.get(part, {}) if isinstance(node, dict) else node
        if not isinstance(node, dict):
            problems.append(f"{where}: the base arch has {part} set to a value, not a section "
                            f"(got {node!r})")
            return False
    return True


def _value_problems(key: str, values: list, where: str, problems: list[str]) -> None:
    """A value no arch accepts for ``key`` (of the wrong type, not one of the
    choices, out of bounds) would make every point that takes it an error row:
    it is a problem of the sweep file."""
    for v in dict.fromkeys(values):  # one key's values share one type (checked)
        problem = setting_problem(key, v)
        if problem is not None:
            problems.append(f"{where}: {problem}")


def _axes(data: dict, base: Any, problems: list[str]) -> list[Axis]:
    axes: list[Axis] = []
    seen: dict[str, str] = {}

    def claim(key: str, where: str) -> bool:
        if key in seen:
            problems.append(f"{where}: {key} is already swept at {seen[key]}")
            return False
        seen[key] = where
        return True

    raw_axes = data.get("axes", {})
    if raw_axes is None:
        raw_axes = {}
    if not isinstance(raw_axes, dict):
        problems.append(f"axes: must be a mapping of key path to values (got {raw_axes!r})")
        raw_axes = {}
    for key, spec in raw_axes.items():
        where = f"axes.{key}"
        if not _check_key(key, where, base, problems) or not claim(key, where):
            continue
        values = _levels(spec, where, problems, unique=True)
        if values is not None:
            _value_problems(key, values, where, problems)
            axes.append(Axis(keys=(key,), levels=tuple((v,) for v in values), where=where))
    raw_tied = data.get("tied", [])
    if raw_tied is None:
        raw_tied = []
    if not isinstance(raw_tied, list):
        problems.append(f"tied: must be a list of groups, each a mapping of key path to values"
                        f" (got {raw_tied!r})")
        raw_tied = []
    for i, group in enumerate(raw_tied):
        if not isinstance(group, dict) or not group:
            problems.append(f"tied[{i}]: must be a mapping of key path to values (got {group!r})")
            continue
        columns: dict[str, list] = {}
        for key, spec in group.items():
            where = f"tied[{i}].{key}"
            if not _check_key(key, where, base, problems) or not claim(key, where):
                continue
            values = _levels(spec, where, problems, unique=False)
            if values is not None:
                _value_problems(key, values, where, problems)
                columns[key] = values
        if len(columns) < len(group):
            continue
        lengths = {len(v) for v in columns.values()}
        if len(lengths) > 1:
            problems.append(f"tied[{i}]: the lists must have equal lengths (got "
                            + ", ".join(f"{k}: {len(v)}" for k, v in columns.items()) + ")")
            continue
        axes.append(Axis(keys=tuple(columns), levels=tuple(zip(*columns.values())),
                         where=f"tied[{i}]"))
    return axes


def _traces(data: dict, root: Path, problems: list[str]) -> tuple[list[str], list[str]]:
    raw = data.get("traces")
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) and t for t in raw):
        problems.append(f"traces: must be a trace path or a non-empty list of paths (got {raw!r})"
                        if "traces" in data else "traces: missing")
        return [], []
    resolved = []
    for i, t in enumerate(raw):
        path = (root / t).resolve()
        if not path.is_file():
            problems.append(f"traces[{i}]: file not found (got {t!r}, looked at {path})")
        elif sniff(path) == "text":
            problems.append(f"traces[{i}]: {t} looks like a text file (an arch YAML?), not a "
                            "trace (.npz): the arch goes under base")
        elif str(path) in resolved:
            problems.append(f"traces[{i}]: listed twice (got {t!r})")
        resolved.append(str(path))
    return list(raw), resolved


def sweep_from_dict(data: Any, source: str = "<dict>", root: str | Path = ".") -> SweepSpec:
    """Validate a parsed sweep document; relative paths are taken from ``root``.

    Raises :class:`ConfigError` naming ``source`` with every problem found.
    """
    problems: list[str] = []
    if not isinstance(data, dict):
        raise ConfigError(source, [f"top level: must be a mapping (got {type(data).__name__})"])
    root = Path(root)
    problems.extend(version_problems(data, SUPPORTED_VERSIONS, "sweep "))
    for key in data:
        if key not in TOP_KEYS:
            problems.append(f"{key}: unknown key (known: {', '.join(TOP_KEYS)})")
    base_rel = data.get("base")
    base: Any = {}
    base_path = ""
    if not isinstance(base_rel, str) or not base_rel:
        problems.append("base: missing" if "base" not in data else
                        f"base: must be the path of an arch file (got {base_rel!r})")
    else:
        base_path = str((root / base_rel).resolve())
        if not Path(base_path).is_file():
            problems.append(f"base: no such file {base_rel!r} (looked at {base_path})")
        elif sniff(base_path) in ("zip", "npy"):
            problems.append(f"base: {base_rel} looks like a trace (.npz), not an arch YAML "
                            "file: traces go under traces")
        else:
            base = read_yaml(base_path)  # an unreadable base is its own one-line error
            if isinstance(base, dict):
                # so is an invalid one, as accelsim check reports it: every point
                # would inherit its problem, and each would be an error row
                arch_from_dict(copy.deepcopy(base), base_path)
        if not isinstance(base, dict):
            problems.append(f"base: {base_rel} must hold a mapping (got {type(base).__name__})")
            base = {}
    traces, trace_paths = _traces(data, root, problems)
    axes = _axes(data, base, problems)
    strategy = data.get("strategy", "grid")
    if strategy not in STRATEGIES:
        problems.append(f"strategy: must be one of {list(STRATEGIES)} (got {strategy!r})")
    count = data.get("count")
    if strategy in ("random", "latin_hypercube"):
        if count is None:
            problems.append(f"count: required by strategy {strategy}")
        elif not _is_int(count) or count < 1:
            problems.append(f"count: must be an integer >= 1 (got {count!r})")
        elif count > MAX_POINTS:
            problems.append(f"count: at most {MAX_POINTS:,} (got {count})")
    elif count is not None and strategy in STRATEGIES:
        problems.append(f"count: only used by strategies random and latin_hypercube "
                        f"(got {count!r} with strategy {strategy})")
    seed = data.get("seed", 0)
    if not _is_int(seed) or seed < 0:
        problems.append(f"seed: must be an integer >= 0 (got {seed!r})")
    keep = data.get("keep", "totals")
    if keep not in KEEP:
        problems.append(f"keep: must be one of {list(KEEP)} (got {keep!r})")
    if not problems:
        size = math.prod(len(a.levels) for a in axes)
        if strategy == "grid" and size > MAX_GRID_POINTS:
            problems.append(f"axes: the grid has {size:,} points, at most {MAX_GRID_POINTS:,}; "
                            "sample it with strategy random or latin_hypercube")
        if strategy == "random" and count > size:
            problems.append(f"count: random picks distinct points and the axes have only "
                            f"{size:,} (got {count})")
    if problems:
        raise ConfigError(source, problems)
    return SweepSpec(source=source, base_path=base_path, base=base, traces=tuple(traces),
                     trace_paths=tuple(trace_paths), axes=tuple(axes), strategy=strategy,
                     count=count, seed=seed, keep=keep)


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file; its relative paths are taken from its folder."""
    path = Path(path)
    return sweep_from_dict(read_yaml(path), str(path), path.resolve().parent)
