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
from matplotlib.ticker import (Formatter, MaxNLocator, NullFormatter, PercentFormatter,
                               ScalarFormatter)

from accelsim.errors import AccelsimError
from accelsim.plot.load import load_sweep, require_columns
from accelsim.plot.style import (CATEGORY_CMAP, MARKER_COLOR, figure_legend, figure_title,
                                 new_figure)
from accelsim.sweeps.pareto import pareto

CMAP = CATEGORY_CMAP
SINGLE_COLOR = colormaps[CMAP](0.35)  # points all of one colour: no parameter varies
DISCRETE_UP_TO = 8     # parameter values; more and the points get a colour bar
DEFAULT_X = "latency_s"
DEFAULT_Y = "energy_pj_total"
# column -> (axis label, unit, scale to that unit): the axis label carries the
# unit with the SI prefix its ticks use ("latency (ms)" over ticks 225, 250, ...)
# while the data stay in the sweep table's own units
METRICS = {"latency_s": ("latency", "s", 1.0),
           "processing_latency_s": ("processing latency", "s", 1.0),
           "cycles": ("cycles", "", 1.0), "processing_cycles": ("processing cycles", "", 1.0),
           "edp_pj_s": ("energy x delay", "J·s", 1e-12), "macs": ("MACs", "", 1.0),
           "utilization": ("utilization", "%", 100.0)}


SI_PREFIXES = {-12: "p", -9: "n", -6: "µ", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T"}
# a count (cycles, MACs) has no unit to prefix: its label says the multiple
COUNT_MULTIPLES = {3: "thousands", 6: "millions", 9: "billions", 12: "trillions"}


def metric_unit(column: str) -> tuple[str, str, float]:
    """(label, unit symbol, scale to that unit) of a metric column; no symbol for a count.

    An unknown column is its own label with an empty symbol and scale 1.
    """
    if column in METRICS:
        return METRICS[column]
    if column.startswith("energy_pj_"):
        return f"{column[len('energy_pj_'):]} energy", "J", 1e-12
    if column.endswith("_bytes"):
        return column[:-len("_bytes")].replace("_", " ") + " traffic", "B", 1.0
    return column, "", 1.0


def _exponent(values: np.ndarray, *, count: bool) -> int:
    """The power of 1000 that puts the largest magnitude in [1, 1000) (0 for counts < 1000)."""
    finite = np.abs(values[np.isfinite(values) & (values != 0)])
    if not finite.size:
        return 0
    exp = 3 * int(np.floor(np.log10(finite.max()) / 3))
    return int(np.clip(exp, 0 if count else -12, 12))


class ScaledFormatter(Formatter):
    """Ticks as plain numbers in one unit (``factor`` x value), with one number of decimals.

    On a linear axis every tick gets as many decimals as the finest tick needs
    (225.0, 237.5, 250.0; never 40, 40.2, 41); on a log axis each tick is
    written as short as it goes (0.1, 1, 10).
    """

    def __init__(self, factor: float, *, log: bool = False) -> None:
        super().__init__()
        self.factor = factor
        self.log = log
        self.decimals = 0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        vals = np.asarray([v * self.factor for v in locs], dtype=float)
        vals = vals[np.isfinite(vals)]
        self.decimals = 0
        if self.log or vals.size == 0:
            return
        tol = 1e-6 * max(float(np.abs(vals).max()), 1e-300)
        for d in range(7):
            self.decimals = d
            if np.all(np.abs(np.round(vals, d) - vals) <= tol):
                break

    def __call__(self, x, pos=None) -> str:
        v = x * self.factor
        if self.log:
            return f"{v:,.6g}"
        if abs(v) < 0.5 * 10.0 ** -self.decimals:
            v = 0.0  # a tick at 0 that arithmetic left at -1e-17 is not "-0.0"
        return f"{v:,.{self.decimals}f}"


def metric_axis(column: str, values=None, *, log: bool = False) -> tuple[str, Formatter]:
    """Axis label of a metric column and the tick formatter that matches it.

    The unit's SI prefix is chosen from ``values`` (the data on the axis) so
    that the largest reads between 1 and 1000, and the label carries it:
    ``total energy (mJ)`` over ticks ``17.28``, ``17.34``; a count says its
    multiple, ``cycles (millions)``. Utilization is in percent.
    """
    label, symbol, scale = metric_unit(column)
    if column not in METRICS and not symbol:  # not a known metric: the number as it is
        return column, ScalarFormatter()
    if symbol == "%":
        return f"{label} (%)", PercentFormatter(1.0)
    vals = np.asarray([] if values is None else values, dtype=float) * scale
    exp = _exponent(vals, count=not symbol)
    if symbol:
        unit = f"{SI_PREFIXES[exp]}{symbol}"
    else:
        unit = COUNT_MULTIPLES.get(exp, "")
    return (f"{label} ({unit})" if unit else label), ScaledFormatter(scale / 10.0 ** exp,
                                                                      log=log)


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
            values = grp[col].to_numpy(float)
            log = _log_scale(values)
            if log:
                set_scale("log")
                # decades only: minor labels in another notation would collide
                axis.set_minor_formatter(NullFormatter())
            else:
                axis.set_major_locator(MaxNLocator(nbins=6))
            label, fmt = metric_axis(col, values, log=log)
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
    figure_title(fig, title or f"Pareto front: {metric_unit(y)[0]} vs {metric_unit(x)[0]} "
                 f"({n_ok} of {n_all} rows ok)")
    return fig
