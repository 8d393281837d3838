"""Cycles per layer split by cause, with utilization on a second axis.

Place in the pipeline: ``report -> plot``.

The segments add up to the layer's ``cycles``:

- compute: ``compute_cycles + accumulate_cycles - compute_gated_cycles``, the
  busiest PE stepping through its MAC slots (adding incoming psums, and taps on
  padding the PE steps through, included);
- gated: ``compute_gated_cycles``, compute spent on MACs gated by a zero operand
  (drawn, and in the legend, only when some layer has gated cycles: a dense
  run or an architecture that skips zeros has none, and older reports lack
  the column);
- fill: ``fill_cycles + drain_cycles``, loading before and draining after a pass;
- NoC stall: ``noc_stall_cycles``, a bus, the GLB banks or the psum link could
  not keep up;
- DRAM stall: ``dram_stall_cycles``, waiting on the DRAM link.

Utilization (``utilization``, MACs over cycles x PEs x MACs per PE per cycle) is
drawn as dots against a second axis, in percent.

As in the energy breakdown, a layer with MACs that was not simulated has no
bar and is not in the total; a note under the axes names it and its reason.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from accelsim.plot.load import (has_values, layer_rows, load_report, require_columns,
                                total_row, unsimulated_mac_layers)
from accelsim.plot.style import (CYCLE_STYLES, MARKER_COLOR, annotate_total, default_title,
                                 eng_label, figure_legend, figure_title, horizontal,
                                 label_layer_axis, layers_figure_size, layers_with_reasons,
                                 new_figure, split_layers_total, stacked_bars, total_axis,
                                 value_axis)

LATENCY_COLUMNS = ("compute_cycles", "fill_cycles", "drain_cycles", "noc_stall_cycles",
                   "dram_stall_cycles", "utilization")


def latency_segments(rows, *, gated: bool | None = None) -> list[tuple[str, str, str,
                                                                     np.ndarray]]:
    """(key, legend label, bar style, cycles) of each segment, bottom first.

    ``rows`` is a DataFrame of layers, or a Series (one row such as the total).
    ``gated``: whether to split the gated cycles out of compute (by default
    when ``rows`` has ``compute_gated_cycles`` and some are not 0).
    """
    def col(name):
        return np.atleast_1d(np.asarray(rows[name], dtype=float))

    if gated is None:
        gated = ("compute_gated_cycles" in rows
                 and np.nansum(col("compute_gated_cycles")) > 0)
    gated = col("compute_gated_cycles") if gated else None
    compute = col("compute_cycles")
    if "accumulate_cycles" in rows:  # adding psums from below is PE work too
        compute = compute + np.nan_to_num(col("accumulate_cycles"))
    segs = [("compute", "compute", CYCLE_STYLES["compute"],
             compute - np.nan_to_num(gated) if gated is not None else compute)]
    if gated is not None:
        segs.append(("gated", "gated (zero operand)", CYCLE_STYLES["gated"], gated))
    segs += [("fill", "fill + drain", CYCLE_STYLES["fill"],
              col("fill_cycles") + col("drain_cycles")),
             ("noc", "NoC stall", CYCLE_STYLES["noc"], col("noc_stall_cycles")),
             ("dram", "DRAM stall", CYCLE_STYLES["dram"], col("dram_stall_cycles"))]
    return segs


def plot_latency(report, *, title: str | None = None) -> Figure:
    """Cycles per layer by cause, utilization on a second axis, and the totals.

    Parameters
    ----------
    report : str, os.PathLike, dict, pandas.DataFrame or accelsim.RunResult
        A report, as accepted by :func:`~accelsim.plot.load_report`.
    title : str, optional
        Figure title; by default names the network and the architecture.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` the layers (one BarContainer per cause, labelled),
        ``fig.axes[1]`` the total, then the utilization axes of each (a Line2D
        labelled ``utilization``, values as fractions of 1).
    """
    df = load_report(report)
    require_columns(df, LATENCY_COLUMNS, "the latency plot")
    layers = layer_rows(df)
    cols = list(LATENCY_COLUMNS) + [c for c in ("compute_gated_cycles", "accumulate_cycles")
                                    if has_values(df, c)]
    layers = layers[cols + ["name"]]
    total = total_row(df, cols)
    names = layers["name"].tolist()
    horiz = horizontal(len(names))
    fig = new_figure(layers_figure_size(len(names)))
    ax, ax_total = split_layers_total(fig, len(names), is_horizontal=horiz)
    # one decision for layers and total: the gated segment only where some layer has one
    gated = "compute_gated_cycles" in cols and bool(
        np.nansum(layers["compute_gated_cycles"].astype(float)) > 0)
    stacked_bars(ax, np.arange(len(names)), latency_segments(layers, gated=gated),
                 is_horizontal=horiz)
    stacked_bars(ax_total, np.zeros(1), latency_segments(total, gated=gated),
                 is_horizontal=horiz, width=0.6)
    total_cycles = float(sum(np.nansum(v) for _, _, _, v in latency_segments(total,
                                                                          gated=gated)))
    text = eng_label(total_cycles, "cycles")
    if has_values(df, "latency_s"):
        ms = float(total_row(df, ["latency_s"])["latency_s"]) * 1e3
        text += f"\n{ms:,.1f} ms" if ms >= 10 else f"\n{ms:.3g} ms"
    left_out = unsimulated_mac_layers(df)
    if left_out:
        text += f"\nwithout {len(left_out)} layer{'s' if len(left_out) > 1 else ''}"
    annotate_total(ax_total, total_cycles, text, is_horizontal=horiz)
    label_layer_axis(ax, names, is_horizontal=horiz)
    value_axis(ax, "cycles", is_horizontal=horiz, eng=True)
    total_axis(ax_total, is_horizontal=horiz)
    value_axis(ax_total, "cycles" if horiz else "", is_horizontal=horiz, eng=True)

    util_layers = layers["utilization"].astype(float).to_numpy()
    util_total = np.atleast_1d(float(total["utilization"]))
    for a, pos, util in ((ax, np.arange(len(names)), util_layers),
                         (ax_total, np.zeros(1), util_total)):
        twin = a.twiny() if horiz else a.twinx()
        xy = (util, pos) if horiz else (pos, util)
        twin.plot(*xy, linestyle="none", marker="D", markersize=5, color=MARKER_COLOR,
                  markeredgecolor="white", markeredgewidth=0.6, label="utilization")
        if horiz:
            twin.set_xlim(0, 1.05)
            twin.xaxis.set_major_formatter(PercentFormatter(1.0))
            twin.set_xlabel("utilization (%)")
        else:
            twin.set_ylim(0, 1.05)
            twin.yaxis.set_major_formatter(PercentFormatter(1.0))
            twin.set_ylabel("utilization (%)" if a is ax else "")
    handles, labels = ax.get_legend_handles_labels()
    uh, ul = fig.axes[2].get_legend_handles_labels()
    note = ["Not simulated, so neither drawn nor in the total: "
            + layers_with_reasons(left_out) + "."] if left_out else []
    figure_legend(fig, handles + uh, labels + ul, note=note)
    figure_title(fig, title or default_title("Cycles by cause", df))
    return fig
