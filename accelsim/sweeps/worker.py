"""What a sweep worker does with one (point, trace): validate, run, report, encode.

Place in the pipeline: ``sweeps.runner -> sweeps.worker`` (this module, in a
worker process or thread) ``-> spec -> run -> report``, and back to the runner
as JSON text for :mod:`accelsim.sweeps.store`.

Workers keep the traces they have read (:data:`TRACE_CACHE_SIZE` most recent),
so a trace is read once per worker process, not once per point. Before first
use a worker checks the file's SHA-256 against the one the sweep's results are
keyed by, so a worker on another machine cannot silently read a different file.

Statuses: ``ok``; ``infeasible`` when a MAC layer has no mapping that fits
(the reason names each such layer); ``error`` when the point's arch is invalid
(the reason lists every problem, as ``accelsim check`` would) or the run raises
an :class:`~accelsim.errors.AccelsimError` (a feature not modeled). Any other
exception is a bug and stops the sweep; the results stored so far are kept.
Totals of a point that is not ``ok`` are left out (NaN in the table): partial
totals over the layers that did fit would look like a fast, frugal design.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from accelsim.errors import AccelsimError, ConfigError, TraceError
from accelsim.report.report import report_frame
from accelsim.run import run
from accelsim.spec.load import arch_from_dict
from accelsim.fileio import file_sha256
from accelsim.version import MODEL_REVISION, MODEL_VERSION, __version__
from accelsim.workload.trace import read_trace

TOTAL_COLUMNS = ("cycles", "processing_cycles", "latency_s", "energy_pj_total",
                 "energy_pj_dram", "energy_pj_glb", "energy_pj_noc", "energy_pj_spad",
                 "energy_pj_mac", "edp_pj_s", "utilization", "dram_bytes", "glb_bytes", "macs")
"""The metric columns of a sweep table, from the report's ``total`` row;
``edp_pj_s`` is ``energy_pj_total * latency_s``."""
TRACE_CACHE_SIZE = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One (point, trace) to compute: the point's arch document and the trace file."""

    key: str
    arch: dict
    trace_path: str
    trace_sha256: str
    keep_layers: bool
    version: str = MODEL_VERSION
    # the sweep's mapping constraints ({layer: {key: value}}), the same for every task
    mapping_constraints: dict | None = None


_traces: OrderedDict[tuple[str, str], Any] = OrderedDict()
_traces_lock = threading.Lock()  # Dask may run tasks on several threads of one process


def cached_trace(path: str, sha256: str, trace=None):
    """The trace at ``path`` from this process's cache, read (or given) on first use."""
    with _traces_lock:
        key = (path, sha256)
        if key in _traces:
            _traces.move_to_end(key)
            return _traces[key]
        if trace is None:
            if file_sha256(path) != sha256:
                raise TraceError(path, "the file differs from the one this sweep's results are "
                                       "keyed by (it changed during the sweep, or a worker "
                                       "sees another file at this path)")
            trace = read_trace(path)
        _traces[key] = trace
        while len(_traces) > TRACE_CACHE_SIZE:
            _traces.popitem(last=False)
        return trace


def _native(v: Any) -> Any:
    """A JSON-ready Python value (NaN and missing values become None)."""
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return None if v != v else str(v)  # pandas' NA-like values compare unequal to themselves


def evaluate(arch_doc: dict, trace, *, keep_layers: bool,
             mapping_constraints: dict | None = None) -> dict:
    """Status, reason, totals (and per-layer rows) of one arch document on one trace.

    ``mapping_constraints`` restrict the named layers' mapping search
    (:func:`accelsim.run.run`); a point on which no legal mapping satisfies
    one is ``infeasible``, its reason naming the layer and the constraint.
    """
    try:
        arch = arch_from_dict(arch_doc, "<point>")
    except ConfigError as exc:
        return {"status": "error", "reason": "; ".join(exc.problems)}
    try:
        result = run(arch, trace, mapping_constraints=mapping_constraints)
    except AccelsimError as exc:
        return {"status": "error", "reason": str(exc)}
    df = report_frame(result)
    unmapped = [f"{lr.layer.name}: {lr.mapping.reason}" for lr in result.layers
                if lr.layer.is_mac and not lr.simulated]
    out: dict[str, Any] = {"status": "infeasible" if unmapped else "ok",
                           "reason": "; ".join(unmapped)}
    if not unmapped:
        total = df.iloc[-1]
        totals = {c: float(total[c]) for c in TOTAL_COLUMNS if c != "edp_pj_s"}
        totals["edp_pj_s"] = totals["energy_pj_total"] * totals["latency_s"]
        out["totals"] = totals
    if keep_layers:
        layers = df.iloc[:-1].rename(columns={"name": "layer", "reason": "layer_reason"})
        layers = layers.assign(edp_pj_s=layers["energy_pj_total"] * layers["latency_s"]
                               if "energy_pj_total" in layers else float("nan"))
        out["layers"] = [{k: _native(v) for k, v in row.items()}
                         for row in layers.to_dict(orient="records")]
    return out


def evaluate_tasks(tasks: list[Task]) -> list[tuple[str, str, str]]:
    """Compute a batch of tasks; returns (key, store kind, JSON record) per task.

    The record is encoded here, in the worker, so the process that writes the
    store only writes text.
    """
    out = []
    for task in tasks:
        if task.version != MODEL_VERSION:
            raise AccelsimError(f"a sweep worker runs accelsim {MODEL_VERSION} but the sweep "
                                f"keys its results by {task.version}; install the same "
                                "version on every worker")
        trace = cached_trace(task.trace_path, task.trace_sha256)
        record = evaluate(task.arch, trace, keep_layers=task.keep_layers,
                          mapping_constraints=task.mapping_constraints)
        record.update(key=task.key, arch=task.arch, trace_sha256=task.trace_sha256,
                      accelsim_version=__version__, model_revision=MODEL_REVISION)
        kind = "layers" if task.keep_layers else "totals"
        out.append((task.key, kind, json.dumps(record)))  # key order kept: report order
    return out
