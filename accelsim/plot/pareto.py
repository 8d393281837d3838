"""Sweep points as a scatter of two metrics, with the non-dominated front.

Place in the pipeline: ``sweep results (a report table) -> plot``.

A sweep table has one row per (design point, trace): ``point_id``, ``trace``,
``status`` (``ok`` | ``infeasible`` | ``error``), ``reason``, one column per
swept parameter named by its dotted key path (``pe_array.rows``), and the
totals (``latency_s``, ``energy_pj_total``, ``edp_pj_s``, ...). Only rows with
status ``ok`` are drawn. Points are coloured by a parameter column; the front
(both metrics minimized, computed by :func:`accelsim.pareto`, the same function
as ``accelsim pareto``) is drawn as a step line. A front across different
traces means nothing, so when the table holds several traces (or when asked
with ``by_group``) each group gets its own panel and its own front.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import (EngFormatter, Formatter, FuncFormatter, MaxNLocator,
                               NullFormatter, PercentFormatter, ScalarFormatter)

from accelsim.errors import AccelsimError
from accelsim.plot.load import load_sweep, require_columns
from accelsim.plot.style import CATEGORY_CMAP, MARKER_COLOR, figure_legend, new_figure
from accelsim.sweeps.pareto import pareto

CMAP = CATEGORY_CMAP
SINGLE_COLOR = colormaps[CMAP](0.35)  # points all of one colour: no parameter varies
DISCRETE_UP_TO = 8     # parameter values; more and the points get a colour bar
DEFAULT_X = "latency_s"
DEFAULT_Y = "energy_pj_total"
# column -> (axis label, unit, display scale): ticks read "12 ms", "32 mJ" while
# the data stay in the sweep table's own units
METRICS = {"latency_s": ("latency", "s", 1.0),
           "processing_latency_s": ("processing latency", "s", 1.0),
           "cycles": ("cycles", "", 1.0), "processing_cycles": ("processing cycles", "", 1.0),
           "edp_pj_s": ("energy x delay", "J·s", 1e-12), "macs": ("MACs", "", 1.0),
           "utilization": ("utilization", "%", 100.0)}


def metric_axis(column: str, *, unit: bool = True) -> tuple[str, Formatter]:
    """Axis label and tick formatter of a metric column, with its unit."""
    if column in METRICS:
        label, symbol, scale = METRICS[column]
    elif column.startswith("energy_pj_"):
        label, symbol, scale = f"{column[len('energy_pj_'):]} energy", "J", 1e-12
    elif column.endswith("_bytes"):
        label, symbol, scale = column[:-len("_bytes")].replace("_", " ") + " traffic", "B", 1.0
    else:
        return column, ScalarFormatter()
    if symbol == "%":
        fmt = PercentFormatter(1.0)
        return (f"{label} (%)" if unit else label), fmt
    eng = EngFormatter(unit=symbol)
    fmt = FuncFormatter(lambda v, _pos: eng.format_data(v * scale))
    return (f"{label} ({symbol})" if symbol and unit else label), fmt


def ok_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Rows whose ``status`` is ``ok`` (every row when there is no status column)."""
    if "status" not in df.columns:
        return df
    return df[df["status"].astype(str) == "ok"]  # as accelsim.pareto reads it


def _default_color(df: pd.DataFrame) -> str | None:
    """The first swept parameter (dotted column name) that takes several values."""
    for col in df.columns:
        if "." in str(col) and df[col].nunique(dropna=True) > 1:
            return col
    return None


def _colour_plan(rows: pd.DataFrame, color: str | None):
    """How points are coloured: (categories, norm).

    A numeric column with more than :data:`DISCRETE_UP_TO` values gets a colour
    bar (``norm``); fewer values, or text, get one legend entry each
    (``categories``: value, label, colour), numbers in order along the colour map.
    """
    if color is None:
        return [], None
    col = rows[color]
    values = list(dict.fromkeys(col.dropna()))
    numeric = (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col))
    if numeric and len(values) > DISCRETE_UP_TO:
        return [], Normalize(float(col.min()), float(col.max()))
    if numeric:
        values = sorted(values)
    cmap = colormaps[CMAP]  # text values too: no colour that means a level elsewhere
    shades = [cmap(0.5)] if len(values) == 1 else [
        cmap(0.9 * i / (len(values) - 1)) for i in range(len(values))]
    return [(v, f"{color} = {v}", c) for v, c in zip(values, shades)], None


def _log_scale(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return len(finite) > 1 and finite.min() > 0 and finite.max() / finite.min() > 50


def plot_pareto(sweep, *, x: str = DEFAULT_X, y: str = DEFAULT_Y, color: str | None = None,
                by_group: str | None = None, title: str | None = None) -> Figure:
    """Scatter of sweep points in (``x``, ``y``) with the Pareto front as a step line.

    Parameters
    ----------
    sweep : str, os.PathLike or pandas.DataFrame
        A sweep table (CSV or Parquet file, or a frame).
    x, y : str
        Metric columns, both minimized (default ``latency_s`` and ``energy_pj_total``).
    color : str, optional
        Parameter column that colours the points (a colour bar for numbers, a
        legend otherwise); by default the first dotted (parameter) column that
        varies.
    by_group : str, optional
        Draw one panel, with its own front, per value of this column; by
        default per ``trace`` when the table holds more than one trace.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per group; in each, the points as PathCollection(s) in data
        units and the front as a Line2D labelled ``Pareto front``.
    """
    df = load_sweep(sweep)
    source = df.attrs["source"]
    needed = [x, y] + [c for c in (color, by_group) if c]
    require_columns(df, needed, "the Pareto plot", noun="table")
    rows = ok_rows(df).copy()
    rows.attrs = df.attrs
    rows[x] = pd.to_numeric(rows[x], errors="coerce")
    rows[y] = pd.to_numeric(rows[y], errors="coerce")
    rows = rows[rows[x].notna() & rows[y].notna()]
    if rows.empty:
        raise AccelsimError(f"{source}: no rows with status 'ok' and values of {x} and {y}")
    if by_group is None and "trace" in rows.columns and rows["trace"].nunique() > 1:
        by_group = "trace"
    color = color or _default_color(rows)

    groups = list(rows.groupby(by_group, sort=False)) if by_group else [(None, rows)]
    ncols = min(len(groups), 3)
    nrows = -(-len(groups) // ncols)
    fig = new_figure((5.2 * ncols + 1.2, 4.4 * nrows + 0.6))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(groups):]:
        ax.remove()

    categories, norm = _colour_plan(rows, color)
    point_kw = dict(s=36, edgecolors="white", linewidths=0.5, zorder=3)
    mappable = None
    for ax, (key, grp) in zip(axes, groups):
        if norm is not None:
            mappable = ax.scatter(grp[x], grp[y], c=grp[color].astype(float), cmap=CMAP,
                                  norm=norm, label="design point", **point_kw)
        elif categories:
            for value, label, col in categories:
                sel = grp[grp[color] == value]
                ax.scatter(sel[x], sel[y], color=col, label=label, **point_kw)
        else:
            ax.scatter(grp[x], grp[y], color=SINGLE_COLOR, label="design point", **point_kw)
        front = pareto(grp, x, y)
        ax.step(front[x], front[y], where="post", color=MARKER_COLOR, linewidth=1.4,
                zorder=2, label="Pareto front")
        ax.scatter(front[x], front[y], s=90, facecolors="none", edgecolors=MARKER_COLOR,
                   linewidths=1.2, zorder=4, label="_front points")
        for axis, col, set_scale in ((ax.xaxis, x, ax.set_xscale), (ax.yaxis, y, ax.set_yscale)):
            # per panel: two traces far apart (AlexNet and LeNet-5) are each linear
            if _log_scale(grp[col].to_numpy(float)):
                set_scale("log")
                # decades only: minor labels in another notation would collide
                axis.set_minor_formatter(NullFormatter())
            else:
                axis.set_major_locator(MaxNLocator(nbins=6))
            label, fmt = metric_axis(col)
            axis.set_major_formatter(fmt)
            axis.set_label_text(label)
        ax.grid(alpha=0.3)
        ax.set_axisbelow(True)
        if key is not None:
            ax.set_title(f"{by_group} = {key}", fontsize=10)

    marker = dict(marker="o", linestyle="none", markeredgecolor="white", markersize=7)
    if categories:
        handles = [Line2D([], [], color=col, label=label, **marker)
                   for _, label, col in categories]
    else:  # one colour, or the colour bar tells the colours
        handles = [Line2D([], [], color="#777777" if norm else SINGLE_COLOR,
                          label="design point", **marker)]
    handles.append(Line2D([], [], color=MARKER_COLOR, linewidth=1.4, label="Pareto front"))
    figure_legend(fig, handles, [h.get_label() for h in handles])
    if mappable is not None:
        fig.colorbar(mappable, ax=list(axes[:len(groups)]), label=color, shrink=0.9)
    n_ok, n_all = len(rows), len(df)
    fig.suptitle(title or f"Pareto front: {metric_axis(y, unit=False)[0]} vs "
                 f"{metric_axis(x, unit=False)[0]} "
                 f"({n_ok} of {n_all} rows ok)")
    return fig
