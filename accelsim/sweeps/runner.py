"""Run a sweep: every (point, trace) through the pipeline, stored as it finishes, one table.

Place in the pipeline: ``sweeps.spec -> sweeps.points -> sweeps.runner`` (this
module) ``-> sweeps.executors -> sweeps.worker``, results into
``sweeps.store``, the table assembled from the store.

The results table has one row per (point, trace), sorted by ``point_id`` then
``trace``, with the columns, in this order:

- ``point_id`` (int), ``trace`` (the path as written in the sweep file),
  ``status`` (``ok``, ``infeasible`` or ``error``), ``reason`` (empty when ok);
- one column per swept key, named by its dotted key path (axes, then tied
  groups, in file order), of the one type its values have (the sweep file
  may not mix types within a key);
- the totals of :data:`accelsim.sweeps.worker.TOTAL_COLUMNS`, all float64:
  ``cycles``, ``processing_cycles``, ``latency_s``, ``energy_pj_total``,
  ``energy_pj_dram``, ``energy_pj_glb``, ``energy_pj_noc``, ``energy_pj_spad``,
  ``energy_pj_mac``, ``edp_pj_s``, ``utilization``, ``dram_bytes``,
  ``glb_bytes``, ``macs``; NaN when the status is not ``ok``.

With ``keep: layers`` a second table has one row per (point, trace, layer)
(points with status ``error`` have no layers):
the same ``point_id``, ``trace``, ``status``, ``reason`` and swept-key columns,
then the report's per-layer columns (:func:`accelsim.report_frame`) with
``name`` renamed ``layer`` and the layer's own ``reason`` renamed
``layer_reason``, plus ``edp_pj_s``; ``layer``, ``kind``, ``simulated``,
``layer_reason`` and the total columns come first, the other report columns
follow in report order. It is written next to the output as
``<stem>.layers<suffix>`` (``results.parquet`` -> ``results.layers.parquet``);
a ``keep: totals`` run removes a per-layer table an earlier run left there.

Output format by extension: ``.parquet`` or ``.csv``; both written atomically.
Parquet files also carry the sweep's provenance (``DataFrame.attrs["accelsim"]``:
accelsim version, sweep file, base arch and traces with their SHA-256, and the
mapping file with its SHA-256 and constraints when the sweep has one).

Mapping constraints (``mapping=``, ``accelsim sweep --mapping FILE``): one
file for the whole sweep, applied to every point and every trace, so each
layer it names must be a MAC layer of every trace (checked before any point
runs). A point whose arch leaves no legal mapping with a layer's constraint
is ``infeasible``, with the reason.
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from accelsim.errors import AccelsimError, ConfigError
from accelsim.fileio import atomic_open, atomic_write_text, file_sha256
from accelsim.mapping.constraints import check_constraints, read_mapping_constraints
from accelsim.sweeps.executors import DaskExecutor, ProcessExecutor, SerialExecutor, check_dask
from accelsim.sweeps.pareto import SWEEP_ID_COLUMNS, check_sweep_table
from accelsim.spec.load import arch_from_dict
from accelsim.sweeps.points import Point, generate_points, point_arch, set_key
from accelsim.sweeps.spec import Axis, SweepSpec, read_sweep
from accelsim.sweeps.store import DirStore, MemoryStore, result_key
from accelsim.sweeps.worker import TOTAL_COLUMNS, Task, cached_trace, evaluate_tasks
from accelsim.version import MODEL_REVISION, __version__

ID_COLUMNS = (*SWEEP_ID_COLUMNS, "status", "reason")
TABLE_SUFFIXES = (".parquet", ".csv")
LAYER_LEAD_COLUMNS = ("layer", "kind", "simulated", "layer_reason", *TOTAL_COLUMNS)


@dataclass(frozen=True, slots=True, kw_only=True)
class SweepOutcome:
    """The tables of a sweep and how many results were computed or reused from the store.

    ``stale_layers`` is the per-layer table of an earlier ``keep: layers`` run
    to the same output that this ``keep: totals`` run removed (None if none).
    """

    totals: pd.DataFrame
    layers: pd.DataFrame | None
    computed: int
    reused: int
    store: str | None
    stale_layers: str | None = None


def default_jobs() -> int:
    """The CPUs this process may run on."""
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def layers_path(output: str | Path) -> Path:
    """Where the per-layer table of ``output`` goes: ``<stem>.layers<suffix>``."""
    output = Path(output)
    return output.with_name(f"{output.stem}.layers{output.suffix}")


def _check_table_path(path: str | Path) -> None:
    if Path(path).suffix.lower() not in TABLE_SUFFIXES:
        raise AccelsimError(f"{path}: a results table must end in .parquet or .csv")


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write ``df`` atomically as Parquet or CSV, chosen by the extension."""
    _check_table_path(path)
    if Path(path).suffix.lower() == ".csv":
        atomic_write_text(path, df.to_csv(index=False))
    else:
        with atomic_open(path) as fh:
            df.to_parquet(fh, index=False)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a results table written by :func:`write_table` (Parquet or CSV)."""
    _check_table_path(path)
    if not Path(path).is_file():
        raise AccelsimError(f"{path}: file not found")
    csv = Path(path).suffix.lower() == ".csv"
    try:
        df = pd.read_csv(path) if csv else pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise AccelsimError(f"{path}: not a readable results table ({exc})") from None
    # e.g. a run's report: one row per layer of one run, not per design point
    check_sweep_table(df, path, noun="sweep results table")
    if csv:
        for col in ("trace", "status", "reason", "layer_reason"):  # CSV reads "" as NaN
            if col in df.columns:
                df[col] = df[col].astype(object).fillna("").astype(str)
    return df


def _frame(records: list[dict], columns: list[str], float_columns: tuple = ()) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records, columns=columns) if records else \
        pd.DataFrame({c: [] for c in columns})
    for col in float_columns:
        df[col] = df[col].astype("float64")
    df["point_id"] = df["point_id"].astype("int64")
    return df.sort_values(["point_id", "trace"], kind="stable").reset_index(drop=True)


def _tasks(spec: SweepSpec, todo: list[tuple[Point, int, str]], shas: list[str],
           size: int, constraints: dict | None = None):
    """Batches of :class:`Task`, each arch document built only when its batch is sent."""
    keep_layers = spec.keep == "layers"
    for start in range(0, len(todo), size):
        yield [Task(key=key, arch=point_arch(spec, point), trace_path=spec.trace_paths[ti],
                    trace_sha256=shas[ti], keep_layers=keep_layers,
                    mapping_constraints=constraints)
               for point, ti, key in todo[start:start + size]]


def _mapping(mapping: Any, spec: SweepSpec, shas: list[str]) -> tuple[dict | None, dict | None]:
    """(constraints, provenance) of a sweep's ``mapping`` argument: a mapping
    file's path or an already parsed ``{layer: {key: value}}``; every named
    layer must be a MAC layer of every trace of the sweep."""
    if mapping is None or (isinstance(mapping, dict) and not mapping):
        return None, None  # {} is no constraints, as for accelsim.run
    # the layers are all the check needs: keep no trace's tensors alive for it
    traces = [replace(cached_trace(path, trace_sha), arrays={}, derived={})
              for path, trace_sha in zip(spec.trace_paths, shas)]
    if isinstance(mapping, dict):
        source, sha = "<mapping constraints>", None
        constraints = check_constraints(traces, mapping, source)
    else:
        source = str(mapping)
        # the file's own problems and its names missing from a trace, in one message
        constraints = read_mapping_constraints(source, trace=traces)
        sha = file_sha256(source)
    return constraints, {"path": source, "sha256": sha, "layers": constraints}


def _level_text(axis: Axis, level: tuple) -> str:
    if len(axis.keys) == 1:
        return f"value {level[0]!r}"
    return "level " + ", ".join(f"{k}={v!r}" for k, v in zip(axis.keys, level))


def _check_levels(spec: SweepSpec, points: list[Point]) -> None:
    """Raise :class:`ConfigError` naming the sweep file when a level of an axis
    makes every point that takes it invalid, before any point runs.

    A level is first tried alone on the base arch; only when that fails are the
    sweep's points that take it validated, since another axis may make it valid
    (a wider ``mac.bits`` with a wider psum scratchpad): a level valid in some
    point is kept, its invalid combinations becoming ``error`` rows. Values no
    arch accepts at all were refused with the sweep file
    (:func:`accelsim.sweeps.spec.read_sweep`).
    """
    valid: dict[int, bool] = {}

    def point_valid(point: Point) -> bool:
        if point.point_id not in valid:
            try:
                arch_from_dict(point_arch(spec, point), "<point>")
                valid[point.point_id] = True
            except ConfigError:
                valid[point.point_id] = False
        return valid[point.point_id]

    problems = []
    start = 0
    for axis in spec.axes:
        span = slice(start, start + len(axis.keys))
        start = span.stop
        for level in dict.fromkeys(axis.levels):
            doc = copy.deepcopy(spec.base)
            for key, value in zip(axis.keys, level):
                set_key(doc, key, value)
            try:
                arch_from_dict(doc, "<level>")
                continue
            except ConfigError as exc:
                alone = exc.problems
            taking = [p for p in points if p.values[span] == level]
            if taking and not any(point_valid(p) for p in taking):
                where = axis.where or f"axes.{', '.join(axis.keys)}"
                problems.append(f"{where}: {_level_text(axis, level)} makes every point "
                                f"that takes it invalid (on the base arch: "
                                f"{'; '.join(alone)})")
    if problems:
        raise ConfigError(spec.source, problems)


def _executor(dask: Any, jobs: int, n_batches: int):
    if n_batches == 0:
        return SerialExecutor()  # nothing to compute: start no workers
    if dask is not None:
        return DaskExecutor(dask, jobs)
    if jobs == 1 or n_batches <= 1:
        return SerialExecutor()
    return ProcessExecutor(min(jobs, n_batches))


def run_sweep(sweep: str | Path | SweepSpec, output: str | Path | None = None, *,
              jobs: int | None = None, dask: Any = None,
              progress: Callable[[int, int], None] | None = None,
              store: str | Path | None = None, batch_size: int = 1,
              mapping: str | Path | dict | None = None) -> SweepOutcome:
    """Run a sweep and assemble its tables; see :func:`sweep` for the parameters.

    ``batch_size`` is how many (point, trace) a worker computes per call: 1 (the
    default) sends each result to the store as soon as it is finished; more
    spreads the per-call overhead of an executor over very fast points.

    Returns a :class:`SweepOutcome` with the totals table, the per-layer table
    (``keep: layers``, else None) and how many results were computed now or
    reused from the store.
    """
    spec = sweep if isinstance(sweep, SweepSpec) else read_sweep(sweep)
    if output is not None:
        _check_table_path(output)
    jobs = default_jobs() if jobs is None else jobs
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise AccelsimError(f"jobs: must be an integer >= 1 (got {jobs!r})")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise AccelsimError(f"batch_size: must be an integer >= 1 (got {batch_size!r})")
    if dask is not None:
        check_dask(dask)
    if store is None and output is not None:
        store = f"{output}.d"
    shas = [file_sha256(p) for p in spec.trace_paths]
    for path, sha in zip(spec.trace_paths, shas):
        cached_trace(path, sha)  # a bad trace fails here, before any point runs
    constraints, mapping_info = _mapping(mapping, spec, shas)  # so does a bad mapping file
    points = generate_points(spec)
    _check_levels(spec, points)  # and a swept value that no point can take
    keep_layers = spec.keep == "layers"
    keys = {}
    for p in points:
        arch = point_arch(spec, p)
        for ti, sha in enumerate(shas):
            keys[p.point_id, ti] = result_key(arch, sha, mapping_constraints=constraints)
    results = DirStore(store) if store is not None else MemoryStore()
    with results:
        todo, queued = [], set()
        for ti in range(len(shas)):
            for p in points:
                key = keys[p.point_id, ti]
                if key not in queued and not results.has(key, layers=keep_layers):
                    todo.append((p, ti, key))
                queued.add(key)
        total = len(queued)
        done = total - len(todo)
        reused = done
        if progress is not None:
            progress(done, total)
        n_batches = math.ceil(len(todo) / batch_size)
        with _executor(dask, jobs, n_batches) as executor:
            for batch in executor.run(evaluate_tasks, _tasks(spec, todo, shas, batch_size,
                                                             constraints)):
                for key, kind, text in batch:
                    results.put(key, kind, text)
                    done += 1
                if progress is not None:
                    progress(done, total)
        totals, layers = _assemble(spec, points, keys, results)
    totals.attrs["accelsim"] = _provenance(spec, shas, mapping_info)
    stale = None
    if output is not None:
        write_table(totals, output)
        if layers is not None:
            layers.attrs["accelsim"] = totals.attrs["accelsim"]
            write_table(layers, layers_path(output))
        elif layers_path(output).is_file():
            # left by an earlier keep: layers run; next to the new totals it would
            # pass for this sweep's layers
            stale = str(layers_path(output))
            os.unlink(stale)
    return SweepOutcome(totals=totals, layers=layers, computed=len(todo), reused=reused,
                        store=None if store is None else str(store), stale_layers=stale)


def _assemble(spec: SweepSpec, points: list[Point], keys: dict, results) -> tuple:
    keep_layers = spec.keep == "layers"
    columns = list(spec.columns)
    rows, layer_rows = [], []
    for p in points:
        axes = dict(zip(columns, p.values))
        for ti, trace in enumerate(spec.traces):
            key = keys[p.point_id, ti]
            rec = results.get(key)
            head = {"point_id": p.point_id, "trace": trace, "status": rec["status"],
                    "reason": rec["reason"], **axes}
            totals = rec.get("totals") or {}
            rows.append({**head, **{c: totals.get(c, math.nan) for c in TOTAL_COLUMNS}})
            if keep_layers:
                layer_rows.extend({**head, **layer} for layer in rec.get("layers", ()))
    table = _frame(rows, [*ID_COLUMNS, *columns, *TOTAL_COLUMNS], TOTAL_COLUMNS)
    if not keep_layers:
        return table, None
    seen = dict.fromkeys(k for row in layer_rows for k in row)
    lead = [*ID_COLUMNS, *columns, *LAYER_LEAD_COLUMNS]
    layer_columns = [c for c in lead if c in seen or c in ID_COLUMNS or c in columns]
    layer_columns += [c for c in seen if c not in layer_columns]
    return table, _frame(layer_rows, layer_columns)


def _provenance(spec: SweepSpec, shas: list[str], mapping_info: dict | None = None) -> dict:
    out = {"accelsim_version": __version__, "model_revision": MODEL_REVISION,
           "sweep": spec.source,
           "base": {"path": spec.base_path, "sha256": file_sha256(spec.base_path)},
           "traces": [{"path": t, "sha256": s} for t, s in zip(spec.trace_paths, shas)],
           "strategy": spec.strategy, "count": spec.count, "seed": spec.seed}
    if mapping_info is not None:
        out["mapping"] = mapping_info
    return out


def sweep(sweep: str | Path | SweepSpec, output: str | Path | None = None, *,
          jobs: int | None = None, dask: Any = None,
          progress: Callable[[int, int], None] | None = None,
          store: str | Path | None = None,
          mapping: str | Path | dict | None = None) -> pd.DataFrame:
    """Run every (point, trace) of a sweep file and return the results table.

    Parameters
    ----------
    sweep:
        A sweep YAML file (see :mod:`accelsim.sweeps.spec`) or a validated
        :class:`~accelsim.sweeps.spec.SweepSpec`.
    output:
        Write the table here (``.parquet`` or ``.csv``, atomically); with
        ``keep: layers`` the per-layer table goes to ``<stem>.layers<suffix>``
        (a ``keep: totals`` run removes one an earlier run left there).
    jobs:
        Local worker processes (default: every CPU this process may use);
        ``1`` runs in this process. With ``dask="local"``, the cluster's workers.
    dask:
        ``"local"`` to start a Dask ``LocalCluster``, a scheduler address such as
        ``"tcp://host:8786"``, or a ``distributed.Client``; None for local processes.
    progress:
        Called as ``progress(done, total)`` (distinct results) at the start and
        as results arrive; the library never prints.
    store:
        The result store folder (default ``<output>.d`` with an output, else
        results are kept in memory only). Results already in the store are
        reused, so an interrupted sweep resumes where it stopped.
    mapping:
        A mapping file (or its parsed ``{layer: {key: value}}``,
        :mod:`accelsim.mapping.constraints`) applied to every point and trace:
        the named layers' mapping search keeps only mappings with its values.
        Results are keyed by it, so the store never mixes constrained and
        unconstrained results.

    Returns
    -------
    pandas.DataFrame
        One row per (point, trace); columns in :mod:`accelsim.sweeps.runner`.

    Notes
    -----
    Local worker processes start by ``forkserver`` (or ``spawn``), which
    imports the calling script again in each worker: a script that runs a
    sweep with ``jobs > 1`` needs the ``if __name__ == "__main__":`` guard.
    """
    return run_sweep(sweep, output, jobs=jobs, dask=dask, progress=progress,
                     store=store, mapping=mapping).totals
