"""Read reports and sweep tables into the frames the figures are drawn from.

Place in the pipeline: ``report -> plot`` (this module reads what the report
stage wrote; it never runs the engine).

One loader for the three report formats. :func:`load_report` turns a JSON
report (file or dict), a CSV or Parquet report, or a report DataFrame into one
DataFrame: the layer rows in order, then the ``total`` row, with the JSON
objects flattened to the CSV column names (``energy_pj`` -> ``energy_pj_<level>``,
``energy_pj_by_tensor`` -> ``energy_pj_by_<tensor>``, ``mapping`` -> ``map_<key>``).
A run's result (:class:`accelsim.RunResult`) is read through its JSON report.
Provenance goes in ``DataFrame.attrs``: ``arch`` (the architecture's name),
``network``, ``source`` (the file, or ``<dict>`` / ``<DataFrame>`` / ``<RunResult>``) and
``label`` (``arch · file name``, used in legends). A CSV report carries no
provenance; a Parquet report carries it when the writer kept ``attrs``.

:func:`load_sweep` reads a sweep table (CSV or Parquet, one row per design
point and trace: it has ``point_id`` and ``trace`` columns) for the Pareto figure;
a sweep's per-layer table (below; it has a ``layer`` column too) is refused.

A sweep's per-layer table (``<out>.layers.parquet`` of a ``keep: layers``
sweep: one row per point, trace and layer, see :mod:`accelsim.sweeps.runner`)
is a report of many runs: :func:`load_report` takes one (point, trace) of it
(``point`` and ``trace``, needed only when it holds several) and returns that
run's layers as a report, ``layer`` and ``layer_reason`` read as ``name`` and
``reason``, without a ``total`` row (figures sum the simulated layers, which
is what a run's total is). Its ``arch`` is the sweep's base architecture file
with the point and its swept values (``eyeriss_v1 point 3 (pe_array.rows=12)``),
its ``network`` the trace's file stem.

Every report is checked once, as it is loaded, in the fields the figures
read: each row's ``name``, ``simulated`` (true or false), and the numbers
(:data:`NUMBER_COLUMNS`) of each simulated layer and of the total, which
must be finite. A column the report lacks altogether is the figure's to ask
for (:func:`require_columns`); a value missing from a row that is drawn, a
string, an infinity or a NaN is an error naming the file, the row and the
field. Only the measures a layer may leave undefined
(:data:`UNDEFINED_OK`, ``null`` in JSON) may be missing or NaN.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from accelsim.energy.model import ENERGY_KEYS
from accelsim.enums import TENSOR_NAMES
from accelsim.errors import AccelsimError
from accelsim.sweeps.pareto import SWEEP_ID_COLUMNS, check_points_table, check_sweep_table

REPORT_SUFFIXES = (".json", ".csv", ".parquet", ".pq")
SWEEP_SUFFIXES = (".csv", ".parquet", ".pq")

# JSON object key -> prefix of the flat (CSV) column names it becomes
_NESTED = {"energy_pj": "energy_pj_", "energy_pj_by_tensor": "energy_pj_by_",
           "mapping": "map_"}


# numbers the figures draw or add up: (column, whether the total row has it)
NUMBER_COLUMNS = {
    **{f"energy_pj_{lv}": True for lv in ENERGY_KEYS},
    **{f"energy_pj_by_{t}": True for t in TENSOR_NAMES},
    **{c: True for c in ("macs", "cycles", "latency_s", "utilization", "compute_cycles",
                         "accumulate_cycles", "compute_gated_cycles", "fill_cycles",
                         "drain_cycles", "noc_stall_cycles", "dram_stall_cycles")},
    **{c: False for c in ("ifmap_density", "weight_density", "ifmap_density_before_mask",
                          "ifmap_sporadic_degree", "ifmap_sporadic_degree_before_mask")},
}
# a linear layer's sporadic degree is undefined; an unmasked layer has no "before mask"
UNDEFINED_OK = ("ifmap_density_before_mask", "ifmap_sporadic_degree",
                "ifmap_sporadic_degree_before_mask")
_MISSING = object()
_SHOWN_PROBLEMS = 5


def _as_bool(value) -> bool | None:
    """``simulated`` as written in JSON (a bool) or a table (True/False, 1/0); None if neither."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "1", "1.0"):
        return True
    if text in ("false", "0", "0.0"):
        return False
    return None


def _is_absent(value, *, strict: bool = True) -> bool:
    """A key not in the row, a null, a NaN; or (in a table, ``strict`` False) an empty cell."""
    return (value is _MISSING or value is None or (isinstance(value, float) and math.isnan(value))
            or (not strict and isinstance(value, str) and not value.strip()))


def _absent_problem(value, *, strict: bool) -> str:
    if not strict or value is _MISSING:
        return "missing"
    return "missing (null)" if value is None else f"must be a finite number (got {value!r})"


def _number_problem(value, *, strict: bool) -> str | None:
    """What is wrong with ``value`` as a finite number, or None.

    ``strict`` (JSON): a number and nothing else. Otherwise (a table's cell,
    read as text when its column holds some text) a text that reads as one.
    """
    number = value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, str)):
        return f"must be a number (got {value!r})"
    if isinstance(value, str):
        if strict:
            return f"must be a number, not a string (got {value!r})"
        try:
            number = float(value)
        except ValueError:
            return f"must be a number (got {value!r})"
    if not math.isfinite(float(number)):
        return f"must be a finite number (got {value!r})"
    return None


def _field_name(column: str, *, json_paths: bool) -> str:
    """``energy_pj_dram`` as the JSON report writes it (``energy_pj.dram``), if asked."""
    if json_paths:
        for key, prefix in sorted(_NESTED.items(), key=lambda kv: -len(kv[1])):
            if column.startswith(prefix):
                return f"{key}.{column[len(prefix):]}"
    return column


def _check_rows(rows: list[Mapping], labels: list[str], source: str, *, strict: bool) -> None:
    """Raise naming the file, row and field of every value the figures cannot use.

    ``rows`` are flat (the CSV's column names); ``labels`` name them in the
    file (``layers[2]``, ``total``, ``row 3``). ``strict`` for a JSON report,
    whose values carry their type: a name must be a string and a number a
    number; a table's cells may be text that reads as one.
    """
    columns = dict.fromkeys(k for row in rows for k in row)
    has_simulated = "simulated" in columns
    checked = [c for c in NUMBER_COLUMNS if c in columns]
    problems = []

    def problem(label, field, name, what):
        field = _field_name(field, json_paths=strict)
        where = f"{label}.{field}" if strict else f"{label}, {field}"
        problems.append(f"{where}{f' ({name})' if name and name != label else ''}: {what}")

    for row, label in zip(rows, labels):
        name = row.get("name", _MISSING)
        if _is_absent(name, strict=strict) or (strict and not isinstance(name, str)):
            problem(label, "name", None, _absent_problem(name, strict=strict)
                    if _is_absent(name, strict=strict) else f"must be a string (got {name!r})")
            name = None
        simulated = True
        if has_simulated:
            value = row.get("simulated", _MISSING)
            absent = _is_absent(value, strict=strict)
            simulated = None if absent or (strict and not isinstance(value, bool)) \
                else _as_bool(value)
            if simulated is None:
                problem(label, "simulated", name, _absent_problem(value, strict=strict)
                        if absent else f"must be true or false (got {value!r})")
        total = name == "total"
        for col in checked:
            value = row.get(col, _MISSING)
            drawn = NUMBER_COLUMNS[col] if total else bool(simulated)
            if _is_absent(value, strict=strict):
                if drawn and col not in UNDEFINED_OK:
                    problem(label, col, name, _absent_problem(value, strict=strict))
                continue
            what = _number_problem(value, strict=strict)
            if what:
                problem(label, col, name, what)
    if problems:
        more = len(problems) - _SHOWN_PROBLEMS
        shown = problems[:_SHOWN_PROBLEMS] + ([f"and {more} more"] if more > 0 else [])
        raise AccelsimError(f"{source}: " + "; ".join(shown))


def _check_table(df: pd.DataFrame, source: str) -> None:
    """:func:`_check_rows` for a table's rows, each named by its place in the file
    (``row 1`` the first under the header; for a sweep's run, its row in the sweep table).
    A table without a ``name`` column is not a report (:func:`_normalize` says so)."""
    if "name" not in df.columns:
        return
    index = df.index if pd.api.types.is_integer_dtype(df.index) else range(len(df))
    _check_rows(df.to_dict("records"), [f"row {int(i) + 1}" for i in index], source,
                strict=False)


def _flat_row(row: Mapping, where: str) -> dict:
    if not isinstance(row, Mapping):
        raise AccelsimError(f"{where}: a report row is not an object (got {type(row).__name__})")
    out = {}
    for key, value in row.items():
        if key in _NESTED and isinstance(value, Mapping):
            out.update({_NESTED[key] + k: v for k, v in value.items()})
        else:
            out[key] = value
    return out


def _frame_from_dict(report: Mapping, where: str) -> pd.DataFrame:
    layers = report.get("layers")
    if not isinstance(layers, list):
        raise AccelsimError(f"{where}: not an accelsim report (no 'layers' list)")
    rows = [_flat_row(r, where) for r in layers]
    labels = [f"layers[{i}]" for i in range(len(rows))]
    total = report.get("total")
    if isinstance(total, Mapping):
        rows.append({**_flat_row(total, where), "name": "total"})
        labels.append("total")
    _check_rows(rows, labels, where, strict=True)
    df = pd.DataFrame(rows)
    arch = report.get("arch")
    trace = report.get("trace")
    df.attrs["arch"] = arch.get("name") if isinstance(arch, Mapping) else None
    df.attrs["network"] = trace.get("network") if isinstance(trace, Mapping) else None
    return df


def _read_table(path: Path, kind: str) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame; errors name the file."""
    try:
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        return pd.read_parquet(path)
    except ImportError as exc:
        raise AccelsimError(f"{path}: reading Parquet needs pyarrow ({exc})") from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise AccelsimError(f"{path}: not a readable {kind} table ({first})") from None


def _existing(path: str | os.PathLike, suffixes: tuple[str, ...], what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise AccelsimError(f"{path}: no such file")
    if path.suffix.lower() not in suffixes:
        raise AccelsimError(f"{path}: unknown {what} format '{path.suffix}' "
                            f"(expected {', '.join(suffixes)})")
    return path


def _id_ranges(ids, *, at_most: int = 12) -> str:
    """``0-15, 20, 22-24``: sorted integers as runs (the first ``at_most`` runs)."""
    ids = sorted({int(i) for i in ids})
    runs: list[list[int]] = []
    for i in ids:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    text = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:at_most])
    return text + (f", ... ({len(ids)} in all)" if len(runs) > at_most else "")


def _trace_matches(traces: pd.Series, trace: str) -> pd.Series:
    """Rows whose trace is ``trace`` as written in the sweep file, or its file name or stem."""
    traces = traces.astype(str)
    return ((traces == trace) | (traces.map(lambda t: Path(t).name) == trace)
            | (traces.map(lambda t: Path(t).stem) == trace))


def _sweep_point(df: pd.DataFrame, source: str, point, trace) -> pd.DataFrame:
    """One (point, trace) of a sweep's per-layer table, as a report frame."""
    if df.empty:
        raise AccelsimError(f"{source}: this sweep's per-layer table has no layer rows "
                            "(no point was simulated)")
    sel = df
    if point is not None:
        if isinstance(point, bool) or not isinstance(point, (int, np.integer)):
            raise AccelsimError(f"--point {point!r}: must be a point_id, an integer")
        sel = sel[sel["point_id"].astype("int64") == int(point)]
    if trace is not None:
        sel = sel[_trace_matches(sel["trace"], str(trace))]
    pairs = sel[list(SWEEP_ID_COLUMNS)].drop_duplicates()
    points = f"points {_id_ranges(df['point_id'])}"
    traces = list(dict.fromkeys(df["trace"].astype(str)))
    available = f"{points}; trace{'s' if len(traces) > 1 else ''} {', '.join(traces)}"
    if pairs.empty:
        asked = " and ".join(x for x in (f"point {point}" if point is not None else "",
                                         f"trace {trace!r}" if trace is not None else "") if x)
        raise AccelsimError(f"{source}: no rows for {asked} in this sweep's per-layer table "
                            f"({available})")
    if len(pairs) > 1 and point is not None and trace is not None:
        raise AccelsimError(f"{source}: trace {trace!r} names several traces of this sweep "
                            f"({', '.join(pairs['trace'].astype(str))}); give it as written "
                            "in the sweep file")
    if len(pairs) > 1:
        need = [opt for opt, given, n in (("--point ID", point, pairs["point_id"].nunique()),
                                           ("--trace NAME", trace, pairs["trace"].nunique()))
                if given is None and n > 1]
        raise AccelsimError(f"{source}: a sweep's per-layer table of {len(pairs)} runs; choose "
                            f"one with {' and '.join(need)} ({available})")
    pid, trace_name = int(pairs.iloc[0]["point_id"]), str(pairs.iloc[0]["trace"])
    cols = list(df.columns)
    # the swept keys sit between the id columns and the layer's own (sweeps.runner)
    swept = cols[cols.index("reason") + 1:cols.index("layer")] if "reason" in cols else []
    first = sel.iloc[0]
    values = ", ".join(f"{c}={first[c]}" for c in swept)
    base = (df.attrs.get("accelsim") or {}).get("base") or {}
    arch = f"point {pid}" + (f" ({values})" if values else "")
    if isinstance(base, Mapping) and base.get("path"):
        arch = f"{Path(str(base['path'])).stem} {arch}"
    out = sel.drop(columns=[c for c in ("reason", "name") if c in sel.columns])
    out = out.rename(columns={"layer": "name", "layer_reason": "reason"})
    out.attrs = {"arch": arch, "network": Path(trace_name).stem}
    return out


def _as_report_frame(df: pd.DataFrame, source: str, point, trace) -> pd.DataFrame:
    """``df`` itself, or one run of a sweep's per-layer table; errors say what else it is."""
    columns = set(df.columns)
    if "name" not in columns and {*SWEEP_ID_COLUMNS, "layer"} <= columns:
        return _sweep_point(df, source, point, trace)
    if "name" not in columns and set(SWEEP_ID_COLUMNS) <= columns:
        raise AccelsimError(f"{source}: a sweep's totals table (one row per point and trace, "
                            "no layers): plot it with --kind pareto; for a point's layers, "
                            "sweep with 'keep: layers' and plot the <stem>.layers table it "
                            "writes with --point ID")
    if point is not None or trace is not None:
        raise AccelsimError(f"{source}: --point/--trace choose a run of a sweep's per-layer "
                            "table; this is a report of one run")
    return df


def _normalize(df: pd.DataFrame, source: str, *, keep_label: bool = False) -> pd.DataFrame:
    """Common shape: a ``name`` column, a boolean ``simulated``, attrs filled in.

    The legend label is made from the arch name and the file name, unless
    ``keep_label`` and the frame already has one (a frame the caller labelled).
    """
    if "name" not in df.columns:
        raise AccelsimError(f"{source}: not an accelsim report (no 'name' column)")
    attrs = dict(df.attrs)
    df = df.reset_index(drop=True)
    df["name"] = df["name"].astype(str)
    if "simulated" in df.columns:  # checked (_check_rows): every value reads as a bool
        df["simulated"] = df["simulated"].map(_as_bool).astype(bool)
    else:
        df["simulated"] = True
    df.attrs.update(attrs)
    df.attrs["source"] = source
    df.attrs.setdefault("arch", None)
    df.attrs.setdefault("network", None)
    if not (keep_label and df.attrs.get("label")):
        name = os.path.basename(source) if not source.startswith("<") else None
        parts = [p for p in (df.attrs["arch"], name) if p]
        df.attrs["label"] = " · ".join(parts) if parts else source
    return df


def _run_result_report(src) -> dict | None:
    """The report of ``src`` if it is an :class:`accelsim.RunResult`, else None.

    A run's results become a report through the report stage's own
    :func:`accelsim.report_dict`, the step ``accelsim run`` takes before it
    plots; nothing here runs the engine.
    """
    import accelsim

    if isinstance(src, accelsim.RunResult):
        return accelsim.report_dict(src)
    return None


def load_report(src, *, point: int | None = None, trace: str | None = None) -> pd.DataFrame:
    """Load a report (JSON, CSV or Parquet path; JSON dict; DataFrame; or a run's result).

    Parameters
    ----------
    src : str, os.PathLike, dict, pandas.DataFrame or accelsim.RunResult
        A report file written by ``accelsim run --format json|csv`` (or a
        Parquet file of the same columns), the dict of
        :func:`accelsim.report_dict`, the frame of :func:`accelsim.report_frame`,
        what :func:`accelsim.run` returned, or a sweep's per-layer table.
    point, trace : optional
        Of a sweep's per-layer table, the run to take: its ``point_id`` and its
        trace (as written in the sweep file, or the file's name or stem).
        Needed only to choose among several; an error for any other report.

    Returns
    -------
    pandas.DataFrame
        Layer rows in order and then the ``total`` row, flat column names,
        ``simulated`` as bool, and ``attrs`` ``arch``, ``network``, ``source``,
        ``label``.

    Raises
    ------
    AccelsimError
        The file is missing, of an unknown format, or not a report; a sweep
        table's run is not chosen, or not in it.
    """
    if isinstance(src, pd.DataFrame):
        source = src.attrs.get("source") or "<DataFrame>"
        df = _as_report_frame(src, source, point, trace)
        _check_table(df, source)
        return _normalize(df.copy(), source, keep_label=df is src)
    if isinstance(src, Mapping):
        df = _as_report_frame(_frame_from_dict(src, "<dict>"), "<dict>", point, trace)
        return _normalize(df, "<dict>")
    report = _run_result_report(src)
    if report is not None:
        df = _as_report_frame(_frame_from_dict(report, "<RunResult>"), "<RunResult>", point,
                              trace)
        return _normalize(df, "<RunResult>")
    if not isinstance(src, (str, os.PathLike)):
        raise AccelsimError(f"a report must be a file path, a report dict, a report DataFrame "
                            f"or an accelsim.RunResult (got {type(src).__name__})")
    path = _existing(src, REPORT_SUFFIXES, "report")
    if path.suffix.lower() == ".json":
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise AccelsimError(f"{path}: not valid JSON ({exc})") from None
        except RecursionError:
            raise AccelsimError(f"{path}: not an accelsim report (arrays or objects nested "
                                "too deeply to read)") from None
        if not isinstance(report, Mapping):
            raise AccelsimError(f"{path}: not an accelsim report (top level is not an object)")
        df = _frame_from_dict(report, str(path))
    else:
        df = _read_table(path, "report")
    df = _as_report_frame(df, str(path), point, trace)
    if path.suffix.lower() != ".json":
        _check_table(df, str(path))
    return _normalize(df, str(path))


def load_sweep(src) -> pd.DataFrame:
    """Load a sweep table (CSV or Parquet path, or a DataFrame).

    Returns the table unchanged but for ``attrs["source"]`` (the file name, or
    ``<DataFrame>``), which error messages use.
    """
    if isinstance(src, pd.DataFrame):
        df = src.copy()
        df.attrs["source"] = src.attrs.get("source") or "<DataFrame>"
        check_points_table(df, df.attrs["source"])
        return df
    if not isinstance(src, (str, os.PathLike)):
        raise AccelsimError(f"a sweep table must be a file path or a DataFrame "
                            f"(got {type(src).__name__})")
    path = _existing(src, SWEEP_SUFFIXES, "sweep table")
    df = _read_table(path, "sweep")
    check_sweep_table(df, path, hint="a run's report (one row per layer): plot it with --kind "
                      "breakdown, latency or sparsity" if "name" in df.columns else None)
    check_points_table(df, path)
    df.attrs["source"] = str(path)
    return df


def is_total(df: pd.DataFrame) -> pd.Series:
    """Mask of the ``total`` row(s)."""
    return df["name"] == "total"


def layer_rows(df: pd.DataFrame) -> pd.DataFrame:
    """The simulated layer rows (the ones drawn as bars), in report order."""
    rows = df[~is_total(df) & df["simulated"]]
    if rows.empty:
        raise AccelsimError(f"{df.attrs.get('source', '<report>')}: no simulated layers to plot")
    return rows


def unsimulated_mac_layers(df: pd.DataFrame) -> list[tuple[str, str]]:
    """(name, reason) of each layer whose MACs the totals leave out, in report order.

    Those are the rows not simulated that carry MACs (``macs`` > 0): a MAC
    layer no mapping fits, or an operator the simulator does not take (a
    transposed conv). Pooling and other MAC-free layers are not listed. A
    report without ``macs`` or ``reason`` columns (older than them) gives no
    layers or empty reasons.
    """
    if "macs" not in df.columns:
        return []
    rows = df[~is_total(df) & ~df["simulated"]]
    rows = rows[pd.to_numeric(rows["macs"], errors="coerce").fillna(0) > 0]
    reasons = (rows["reason"] if "reason" in rows.columns else pd.Series("", index=rows.index))
    return [(str(name), "" if pd.isna(reason) else str(reason).strip())
            for name, reason in zip(rows["name"], reasons)]


def total_row(df: pd.DataFrame, columns: Iterable[str]) -> pd.Series:
    """The report's ``total`` row, or the sum of the simulated layers if it has none."""
    columns = list(columns)
    tot = df[is_total(df)]
    if len(tot):
        return tot.iloc[-1][columns].astype(float)
    return layer_rows(df)[columns].astype(float).sum()


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str, *,
                    noun: str = "report") -> None:
    """Raise naming the file and every column of ``columns`` the frame lacks.

    A column that is present but empty (all NaN, as when a JSON report omitted
    the key) counts as missing.
    """
    missing = [c for c in columns if c not in df.columns or df[c].isna().all()]
    if missing:
        raise AccelsimError(f"{df.attrs.get('source', '<report>')}: {what} needs "
                            f"column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                            f"(not in this {noun})")


def has_values(df: pd.DataFrame, column: str) -> bool:
    """Whether ``column`` exists and holds at least one number."""
    return column in df.columns and bool(np.isfinite(pd.to_numeric(
        df[column], errors="coerce")).any())
