"""Energy per layer, stacked by storage level (or by tensor), with a totals bar.

Place in the pipeline: ``report -> plot``.

By level the segments are DRAM, GLB, NoC, spad and MAC (``energy_pj_<level>``);
by tensor they are weight, ifmap and psum (``energy_pj_by_<tensor>``: storage
and network energy) plus MAC energy as its own segment, so both stacks add up
to ``energy_pj_total``. Values are in µJ, or with ``normalize`` in pJ per MAC
(energy over ``macs``, the layer's dense work without padding).

The total is the report's, which sums the simulated layers only. A layer
that carries MACs but was not simulated (no mapping fits it, or its operator
is not simulated: the report's ``reason``) has no bar and is not in the
total; the figure names each such layer and its reason in a note under the
axes, and the total's label says how many it leaves out.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from accelsim.errors import AccelsimError
from accelsim.plot.load import (layer_rows, load_report, require_columns, total_row,
                                unsimulated_mac_layers)
from accelsim.plot.style import (LEVEL_COLORS, LEVEL_LABELS, LEVELS, TENSOR_COLORS, TENSORS,
                                 annotate_total, default_title, figure_legend, figure_title,
                                 horizontal, label_layer_axis, layers_figure_size,
                                 layers_with_reasons, new_figure, split_layers_total,
                                 stacked_bars, total_axis, value_axis)

BY_CHOICES = ("level", "tensor")


def breakdown_segments(by: str) -> list[tuple[str, str, str]]:
    """(column, legend label, colour) of each stacked segment, bottom first."""
    if by == "level":
        return [(f"energy_pj_{lv}", LEVEL_LABELS[lv], LEVEL_COLORS[lv]) for lv in LEVELS]
    if by == "tensor":
        return ([(f"energy_pj_by_{t}", t, TENSOR_COLORS[t]) for t in TENSORS]
                + [("energy_pj_mac", LEVEL_LABELS["mac"], LEVEL_COLORS["mac"])])
    raise AccelsimError(f"--by {by!r}: choose one of {', '.join(BY_CHOICES)}")


def plot_breakdown(report, *, by: str = "level", normalize: bool = False,
                   title: str | None = None) -> Figure:
    """Energy per layer, stacked by level or by tensor, with a totals bar.

    Parameters
    ----------
    report : str, os.PathLike, dict, pandas.DataFrame or accelsim.RunResult
        A report, as accepted by :func:`~accelsim.plot.load_report`.
    by : {"level", "tensor"}
        Stack by storage level (DRAM, GLB, NoC, spad, MAC) or by tensor
        (weight, ifmap, psum, and MAC).
    normalize : bool
        Plot pJ per MAC (energy / ``macs``) instead of µJ.
    title : str, optional
        Figure title; by default names the network and the architecture.

    Returns
    -------
    matplotlib.figure.Figure
        Layer axes (``fig.axes[0]``), one BarContainer per segment labelled by
        segment, and the total axes (``fig.axes[1]``). The note on layers left
        out is the figure legend's title (:func:`~accelsim.plot.style.figure_note`).
    """
    segments = breakdown_segments(by)
    df = load_report(report)
    columns = [c for c, _, _ in segments] + (["macs"] if normalize else [])
    require_columns(df, columns, f"the breakdown by {by}" + (" (normalized)" if normalize
                                                              else ""))
    layers = layer_rows(df)
    total = total_row(df, columns)
    if normalize:
        scale = 1.0 / layers["macs"].astype(float).replace(0, np.nan).to_numpy()
        total_scale = 1.0 / total["macs"] if total["macs"] else np.nan
        unit = "energy per MAC (pJ/MAC)"
    else:
        scale = np.full(len(layers), 1e-6)
        total_scale = 1e-6
        unit = "energy (µJ)"

    names = layers["name"].tolist()
    horiz = horizontal(len(names))
    fig = new_figure(layers_figure_size(len(names)))
    ax, ax_total = split_layers_total(fig, len(names), is_horizontal=horiz)
    stacked_bars(ax, np.arange(len(names)),
                 [(c, lab, col, layers[c].astype(float).to_numpy() * scale)
                  for c, lab, col in segments], is_horizontal=horiz)
    stacked_bars(ax_total, np.zeros(1),
                 [(c, lab, col, [total[c] * total_scale]) for c, lab, col in segments],
                 is_horizontal=horiz, width=0.6)
    total_value = float(sum(total[c] for c, _, _ in segments)) * total_scale
    text = f"{total_value:,.1f} pJ/MAC" if normalize else f"{total_value:,.0f} µJ"
    left_out = unsimulated_mac_layers(df)
    if left_out:
        text += f"\nwithout {len(left_out)} layer{'s' if len(left_out) > 1 else ''}"
    annotate_total(ax_total, total_value, text, is_horizontal=horiz)
    label_layer_axis(ax, names, is_horizontal=horiz)
    value_axis(ax, unit, is_horizontal=horiz)
    total_axis(ax_total, is_horizontal=horiz)
    value_axis(ax_total, unit if horiz else "", is_horizontal=horiz)
    handles, labels = ax.get_legend_handles_labels()
    note = ["Not simulated, so neither drawn nor in the total: "
            + layers_with_reasons(left_out) + "."] if left_out else []
    figure_legend(fig, handles, labels, note=note)
    what = "Energy per MAC by " if normalize else "Energy by "
    figure_title(fig, title or default_title(what + by, df))
    return fig
