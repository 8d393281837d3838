"""Per-layer sparsity of the data: densities and the ifmap's sporadic degree.

Place in the pipeline: ``report -> plot``.

Draws whichever of these columns the report has, as grouped bars per layer:
``ifmap_density`` and ``weight_density`` (fraction of nonzero values), and
``ifmap_sporadic_degree`` in a second panel. When the report also has the
values before masking (``ifmap_density_before_mask``,
``ifmap_sporadic_degree_before_mask``), each before/after pair is drawn as
adjacent bars, the ``before`` bar hatched and lighter.

A sporadic degree is undefined (NaN; ``null`` in JSON) for an input without
spatial extent, such as a linear layer's (:mod:`accelsim.workload.sparsity`):
such a layer gets no bar, an "n/a" where the bar would be, and a note under
the axes, never a bar of height 0, which would claim no isolated nonzeros.
One legend under the panels names the tensors (and before/after mask): the
colours mean the same in both panels, whose value axes name the measure.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from accelsim.errors import AccelsimError
from accelsim.plot.load import has_values, layer_rows, load_report
from accelsim.plot.style import (EDGE_COLOR, NOTE_FONT_PT, TENSOR_COLORS, default_title,
                                 figure_legend, figure_title, horizontal, label_layer_axis,
                                 name_list, new_figure, value_axis)

DENSITY_COLUMNS = ("ifmap_density_before_mask", "ifmap_density", "weight_density")
SPORADIC_COLUMNS = ("ifmap_sporadic_degree_before_mask", "ifmap_sporadic_degree")
_BEFORE = {"ifmap_density": "ifmap_density_before_mask",
           "ifmap_sporadic_degree": "ifmap_sporadic_degree_before_mask"}
_BASE_LABEL = {"ifmap_density": "ifmap density", "weight_density": "weight density",
               "ifmap_sporadic_degree": "ifmap sporadic degree"}
_MEASURES = (" density", " sporadic degree")
NA_TEXT = "n/a"


def _series(df, columns) -> list[tuple[str, str, dict]]:
    """(column, legend label, bar style) of each present column, in drawing order."""
    out = []
    for col in columns:
        if not has_values(df, col):
            continue
        if col.endswith("_before_mask"):
            after = col[:-len("_before_mask")]
            out.append((col, f"{_BASE_LABEL[after]} (before mask)",
                        dict(color=TENSOR_COLORS["ifmap"], alpha=0.45, hatch="///")))
        else:
            tensor = col.split("_")[0]
            label = _BASE_LABEL[col]
            if col in _BEFORE and has_values(df, _BEFORE[col]):
                label += " (after mask)"
            out.append((col, label, dict(color=TENSOR_COLORS[tensor])))
    return out


def _fraction_top(values, *, full: bool) -> float:
    """Top of a fraction axis, whose bottom is 0.

    Densities always show the whole 0..1; the sporadic degree, often a few
    percent, gets 12% headroom over its largest value, and 0..1 when every
    value is 0 or missing (matplotlib would centre a flat panel on 0, drawing
    negative fractions).
    """
    if full:
        return 1.04
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    return min(1.04, top * 1.12) if top > 0 else 1.0


def _legend_label(label: str) -> str:
    """``ifmap density (before mask)`` -> ``ifmap (before mask)``: the panel names the measure."""
    for measure in _MEASURES:
        label = label.replace(measure, "")
    return label


def _mark_undefined(ax, positions, values, *, is_horizontal: bool) -> None:
    """Write "n/a" where a value is NaN, at the foot of the bar it does not have."""
    for p, v in zip(positions, values):
        if np.isnan(v):
            xy = (0, p) if is_horizontal else (p, 0)
            ax.annotate(NA_TEXT, xy, xytext=(3, 0) if is_horizontal else (0, 3),
                        textcoords="offset points", ha="left" if is_horizontal else "center",
                        va="center" if is_horizontal else "bottom",
                        fontsize=NOTE_FONT_PT, color="#555555")


def plot_sparsity(report, *, title: str | None = None) -> Figure:
    """Per-layer densities (and sporadic degree), before/after masking when present.

    Parameters
    ----------
    report : str, os.PathLike, dict, pandas.DataFrame or accelsim.RunResult
        A report, as accepted by :func:`~accelsim.plot.load_report`.
    title : str, optional
        Figure title; by default names the network and the architecture.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` the densities, ``fig.axes[1]`` (when present) the
        sporadic degree; one BarContainer per column, labelled (a NaN value
        is a bar of NaN height, with an "n/a" annotation at its foot).
    """
    df = load_report(report)
    dens = _series(df, DENSITY_COLUMNS)
    if not dens:
        raise AccelsimError(f"{df.attrs['source']}: the sparsity plot needs at least one of "
                            f"the columns {', '.join(DENSITY_COLUMNS)} (none in this report)")
    spor = _series(df, SPORADIC_COLUMNS)
    layers = layer_rows(df)
    names = layers["name"].tolist()
    horiz = horizontal(len(names))
    panels = [(dens, "density (fraction nonzero)")] + (
        [(spor, "ifmap sporadic degree (fraction of nonzeros)")] if spor else [])
    n = len(names)
    if horiz:
        fig = new_figure((4.6 * len(panels) + 2.2, max(5.0, 0.26 * n + 2.2)))
        axes = fig.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    else:
        fig = new_figure((max(6.0, 0.5 * n + 2.0), 3.8 * len(panels) + 1.4))
        axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    pos = np.arange(n)
    legend: dict[str, object] = {}
    undefined: list[str] = []
    for ax, (series, unit) in zip(axes, panels):
        width = 0.8 / len(series)
        for i, (col, label, style) in enumerate(series):
            off = (i - (len(series) - 1) / 2) * width
            vals = layers[col].astype(float).to_numpy()
            kw = dict(edgecolor=EDGE_COLOR if "hatch" not in style else style["color"],
                      linewidth=0.4, label=label, **style)
            if horiz:
                bars = ax.barh(pos + off, vals, height=width, **kw)
            else:
                bars = ax.bar(pos + off, vals, width=width, **kw)
            legend.setdefault(_legend_label(label), bars)
            # a layer the trace does not mask has no "before" value: no bar, nothing to say
            if not col.endswith("_before_mask"):
                _mark_undefined(ax, pos + off, vals, is_horizontal=horiz)
            if col == "ifmap_sporadic_degree":
                undefined += [nm for nm, v in zip(names, vals) if np.isnan(v)]
        value_axis(ax, unit, is_horizontal=horiz)
        shown = layers[[c for c, _, _ in series]].astype(float).to_numpy()
        (ax.set_xlim if horiz else ax.set_ylim)(0, _fraction_top(
            shown, full=unit.startswith("density")))
        if np.isfinite(shown).any() and np.nanmax(shown) == 0:
            # bars of height 0 are invisible: say so, or the panel reads as missing data
            ax.text(0.5, 0.5, "every value is 0", transform=ax.transAxes, ha="center",
                    va="center", color="#555555", fontsize=10)
    for i, ax in enumerate(axes):
        if horiz and i == 0 or not horiz and i == len(axes) - 1:
            label_layer_axis(ax, names, is_horizontal=horiz)
    undefined = list(dict.fromkeys(undefined))
    note = [f"{NA_TEXT}: the sporadic degree of {name_list(undefined)} is undefined: the "
            "input has no spatial neighbourhood (1x1, as a linear layer's)."] if undefined \
        else []
    figure_legend(fig, list(legend.values()), list(legend), note=note)
    figure_title(fig, title or default_title("Data sparsity", df))
    return fig
