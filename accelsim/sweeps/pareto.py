"""Pareto fronts of sweep results: the points no other point beats on both metrics.

Place in the pipeline: ``sweeps.runner -> results table -> sweeps.pareto``
(this module) ``-> plot`` or a CSV of the front.

Both metrics are minimized. A row is dominated when another row is no worse
on both and strictly better on one; the front is every row that is not
dominated. Rows with equal (x, y) on the front are all kept. Only rows whose
``status`` is ``ok`` (when the table has a status column) and whose x and y
are numbers compete: infeasible points have no totals.

The table is a sweep's per-point table (or any table of design points), not the
per-layer table of a ``keep: layers`` sweep: a row of one layer is not a design
point, so a front of such rows means nothing (:func:`check_points_table`);
a table without a sweep's id columns is no sweep table at all
(:func:`check_sweep_table`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accelsim.errors import AccelsimError


SWEEP_ID_COLUMNS = ("point_id", "trace")
"""The columns every sweep table has: a row is one (design point, trace) run
(the table's layout is :mod:`accelsim.sweeps.runner`'s)."""


def check_sweep_table(df: pd.DataFrame, source, *, noun: str = "sweep table",
                      hint: str | None = None) -> None:
    """Refuse a table without :data:`SWEEP_ID_COLUMNS` (a run's report, say),
    naming ``source`` and the missing columns.

    Both readers of sweep tables check it here: :func:`accelsim.sweeps.read_table`
    and :func:`accelsim.plot.load_sweep` (plot takes nothing from the runner,
    which runs the engine). ``noun`` and ``hint`` (by default: accelsim sweep
    writes one) word the message for the caller.
    """
    missing = [c for c in SWEEP_ID_COLUMNS if c not in df.columns]
    if missing:
        raise AccelsimError(f"{source}: not a {noun} (no {' or '.join(missing)} column; "
                            f"{hint or 'accelsim sweep writes one'})")


def _front_mask(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True for the non-dominated rows of (x, y), both minimized; O(n log n)."""
    order = np.lexsort((y, x))  # by x, then y
    keep = np.zeros(len(x), dtype=bool)
    best_y = np.inf  # least y among rows of strictly smaller x
    i = 0
    while i < len(order):
        j = i
        while j < len(order) and x[order[j]] == x[order[i]]:
            j += 1
        group = order[i:j]
        group_min = y[group[0]]  # the group is sorted by y
        if group_min < best_y:
            keep[group[y[group] == group_min]] = True
            best_y = group_min
        i = j
    return keep


def check_points_table(df: pd.DataFrame, source) -> None:
    """Refuse a sweep's per-layer table, naming ``source``: it alone has a
    ``layer`` column (no arch key, hence no swept column, is named so)."""
    if "layer" in df.columns:
        raise AccelsimError(f"{source}: a sweep's per-layer table (one row per point, trace "
                            "and layer); a front compares design points: give the per-point "
                            "table, the -o of accelsim sweep")


def pareto(df: pd.DataFrame, x: str = "latency_s", y: str = "energy_pj_total",
           by: str | None = None, *, source: str | None = None) -> pd.DataFrame:
    """The non-dominated rows of ``df``, minimizing ``x`` and ``y``.

    Parameters
    ----------
    df:
        A results table (for example from :func:`accelsim.sweep`).
    x, y:
        Numeric columns to minimize.
    by:
        A column to group by (for example ``trace``): one front per value.
    source:
        The file ``df`` was read from, named by the errors (by default
        ``df.attrs["source"]``, as :func:`accelsim.plot.load_sweep` sets it).

    Returns
    -------
    pandas.DataFrame
        The front's rows with all their columns, sorted by ``by`` (if given),
        then ``x``, then ``y``; the index is reset.
    """
    source = source or df.attrs.get("source")
    where = f"{source}: " if source else "pareto: "
    check_points_table(df, source or "pareto")
    for role, col in (("x", x), ("y", y), ("by", by)):
        if col is not None and col not in df.columns:
            raise AccelsimError(f"{where}{role} column {col!r} is not in the table "
                                f"(columns: {', '.join(map(str, df.columns))})")
    if x == y:
        raise AccelsimError(f"{where}x and y are both {x!r}: a front needs two different "
                            "columns to trade off")
    for role, col in (("x", x), ("y", y)):
        if not pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col]):
            raise AccelsimError(f"{where}{role} column {col!r} must be numeric "
                                f"(got {df[col].dtype})")
    ok = df[x].notna() & df[y].notna()
    if "status" in df.columns:
        ok &= df["status"] == "ok"
    cand = df[ok.to_numpy()]
    groups = [cand] if by is None else [g for _, g in cand.groupby(by, sort=True, dropna=False)]
    parts = []
    for g in groups:
        mask = _front_mask(g[x].to_numpy(dtype=float), g[y].to_numpy(dtype=float))
        parts.append(g[mask].sort_values([x, y], kind="stable"))
    if not parts:
        return df.iloc[0:0].reset_index(drop=True)
    return pd.concat(parts).reset_index(drop=True)
