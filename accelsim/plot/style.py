"""The look shared by every figure: one palette, layer axes, titles, saving.

Place in the pipeline: ``report -> plot``; the figure modules
(:mod:`~accelsim.plot.breakdown`, :mod:`~accelsim.plot.latency`, ...) draw with
what is defined here, so a level has the same colour in every figure.

Figures are plain :class:`matplotlib.figure.Figure` objects (no pyplot, no
global state), laid out with the constrained layout so labels never overlap.
Above :data:`HORIZONTAL_ABOVE` layers the layer axis turns horizontal (layer
names down the left, one per row, the figure growing with the layer count).
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from accelsim.errors import AccelsimError
from accelsim.fileio import atomic_open

# Colour-blind-safe (Okabe-Ito). One colour per storage level, in every figure;
# cycle causes reuse the colour of the part of the chip they wait on.
LEVELS = ("dram", "glb", "noc", "spad", "mac")
LEVEL_LABELS = {"dram": "DRAM", "glb": "GLB", "noc": "NoC", "spad": "spad", "mac": "MAC"}
LEVEL_COLORS = {"dram": "#D55E00", "glb": "#E69F00", "noc": "#56B4E9", "spad": "#009E73",
                "mac": "#0072B2"}
TENSORS = ("weight", "ifmap", "psum")
TENSOR_COLORS = {"weight": "#882255", "ifmap": "#DDCC77", "psum": "#44AA99"}
MARKER_COLOR = "#222222"
EDGE_COLOR = "white"
# Bar style of each cause of cycles. Gated cycles are compute slots doing no
# work: the compute colour hatched on white, told apart from every solid colour
# (a light blue was too close to the NoC's sky blue) by pattern, not by hue.
CYCLE_STYLES = {"compute": {"color": LEVEL_COLORS["mac"]},
                "gated": {"color": "white", "edgecolor": LEVEL_COLORS["mac"], "hatch": "////"},
                "fill": {"color": "#999999"},
                "noc": {"color": LEVEL_COLORS["noc"]},
                "dram": {"color": LEVEL_COLORS["dram"]}}
# Bars of the n-th report in a comparison: greys and hatches, so that a report
# is never mistaken for a storage level or a tensor (those own the colours).
SERIES_STYLES = ({"color": "#4D4D4D"},
                 {"color": "#BDBDBD", "edgecolor": "#4D4D4D", "hatch": "///"},
                 {"color": "white", "edgecolor": "#222222", "hatch": "xxx"},
                 {"color": "#8C8C8C", "edgecolor": "#222222", "hatch": "..."},
                 {"color": "#111111"},
                 {"color": "white", "edgecolor": "#4D4D4D", "hatch": "\\\\\\"})
# Points of the n-th category of a text parameter in a Pareto plot: the same
# colour map as numeric parameters, so no level colour appears there either.
CATEGORY_CMAP = "viridis"

HORIZONTAL_ABOVE = 25        # layers; more than this and bars run horizontally
FIGURE_FORMATS = ("png", "svg", "pdf")
DEFAULT_DPI = 100


def series_style(i: int) -> dict:
    """Bar style (colour, edge colour, hatch) of the ``i``-th report of a comparison."""
    style = SERIES_STYLES[i % len(SERIES_STYLES)]
    return {"edgecolor": EDGE_COLOR, **style}


def bar_style(style: str | dict) -> dict:
    """Keyword arguments of a bar: a colour, or a style dict (white edges by default)."""
    style = {"color": style} if isinstance(style, str) else style
    return {"edgecolor": EDGE_COLOR, **style}


def horizontal(n_layers: int) -> bool:
    """Whether a figure of ``n_layers`` bars should run them horizontally."""
    return n_layers > HORIZONTAL_ABOVE


def layers_figure_size(n_layers: int) -> tuple[float, float]:
    """(width, height) in inches that keeps ``n_layers`` labels legible."""
    if horizontal(n_layers):
        return (8.5, max(5.0, 0.24 * n_layers + 1.8))
    return (max(7.0, 0.42 * n_layers + 3.0), 5.2)


def new_figure(size: tuple[float, float]) -> Figure:
    """A pyplot-free figure whose constrained layout keeps labels from overlapping."""
    return Figure(figsize=size, layout="constrained")


def label_layer_axis(ax, names, *, is_horizontal: bool) -> None:
    """Put the layer names on the layer axis, legible and not overlapping."""
    pos = np.arange(len(names))
    if is_horizontal:
        ax.set_yticks(pos, list(names), fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)  # first layer at the top
        ax.set_ylabel("layer")
    else:
        long = len(names) > 8 or max((len(n) for n in names), default=0) > 6
        ax.set_xticks(pos, list(names), rotation=45 if long else 0,
                      ha="right" if long else "center", rotation_mode="anchor", fontsize=9)
        ax.set_xlim(-0.6, len(names) - 0.4)
        ax.set_xlabel("layer")


def value_axis(ax, label: str, *, is_horizontal: bool, eng: bool = False) -> None:
    """Label the value axis (with its unit) and grid it lightly."""
    if is_horizontal:
        ax.set_xlabel(label)
        ax.grid(axis="x", alpha=0.3)
        if eng:
            ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    else:
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
        if eng:
            ax.yaxis.set_major_formatter(EngFormatter(sep=""))
    ax.set_axisbelow(True)


def stacked_bars(ax, positions, segments, *, is_horizontal: bool, width: float = 0.75):
    """Stack ``segments`` [(key, label, colour or style dict, values)] at ``positions``.

    Each segment is one BarContainer labelled with ``label`` (so tests and
    legends find it); NaN counts as 0 in the stack.
    """
    base = np.zeros(len(positions))
    containers = []
    for _key, label, style, values in segments:
        vals = np.nan_to_num(np.asarray(values, dtype=float))
        kw = dict(linewidth=0.4, label=label, **bar_style(style))
        if is_horizontal:
            bc = ax.barh(positions, vals, height=width, left=base, **kw)
        else:
            bc = ax.bar(positions, vals, width=width, bottom=base, **kw)
        containers.append(bc)
        base = base + vals
    return containers


def annotate_total(ax, value: float, text: str, *, is_horizontal: bool) -> None:
    """Write ``text`` (one line or more) by the single bar of a total axes.

    Upright bars: as the axes' title, above the top spine, where the
    constrained layout makes room for however many lines it has (written at
    the bar's top it needed headroom that depends on the axes' final height,
    and a fixed 10% let a two-line label run into the spine). Horizontal
    bars: after the bar's end, with the axis running on far enough for the
    longest line.
    """
    if is_horizontal:
        ax.annotate(text, (value, 0), xytext=(4, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=9)
        # a line of n characters at 9 pt is about 5.5n points wide
        width_in = ax.get_position().width * ax.figure.get_figwidth()
        text_in = (4 + 5.5 * max(len(line) for line in text.splitlines())) / 72
        room = min(0.6, text_in / max(width_in, 1e-9) + 0.04)
        ax.set_xlim(0, value / (1 - room) if value > 0 else 1)
    else:
        ax.set_title(text, fontsize=9, pad=4)
        ax.set_ylim(0, value * 1.04 if value > 0 else 1)


def eng_label(value: float, unit: str) -> str:
    """A total as an engineering axis writes it: ``366k cycles`` by ticks reading 350k.

    Three significant digits through the same formatter as :func:`value_axis`
    with ``eng`` (SI prefixes, no space), so label and ticks use one unit system.
    """
    number = EngFormatter(sep="").format_eng(float(f"{value:.3g}")) if np.isfinite(value) \
        else "n/a"
    return f"{number} {unit}"


def total_axis(ax, *, is_horizontal: bool) -> None:
    """Style the narrow axes holding the single ``total`` bar."""
    if is_horizontal:
        ax.set_yticks([0], ["total"], fontsize=9, fontweight="bold")
        ax.set_ylim(0.6, -0.6)
    else:
        ax.set_xticks([0], ["total"], fontsize=9, fontweight="bold")
        ax.set_xlim(-0.7, 0.7)


def split_layers_total(fig: Figure, n_layers: int, *, is_horizontal: bool):
    """Axes for the layers and a narrow one for the total, side by side (or stacked)."""
    if is_horizontal:
        gs = fig.add_gridspec(2, 1, height_ratios=[max(n_layers, 4), 2.2])
        return fig.add_subplot(gs[0]), fig.add_subplot(gs[1])
    gs = fig.add_gridspec(1, 2, width_ratios=[max(n_layers, 3), 1.6])
    return fig.add_subplot(gs[0]), fig.add_subplot(gs[1])


NOTE_FONT_PT = 8


def figure_legend(fig: Figure, handles, labels, *, note=()) -> None:
    """One legend for the whole figure, below the axes, in as many columns as fit.

    ``note``: paragraphs on what the bars leave out (layers not simulated,
    values undefined), written between the axes and the legend's entries,
    wrapped to the figure's width: a figure that silently drops them reads as
    complete. The note is the legend's title: the constrained layout makes
    room for the legend as a whole, while a second text at the figure's
    bottom (a ``supxlabel``) would share the legend's margin and overlap it.
    """
    longest = max((len(lab) for lab in labels), default=1)
    per_row = max(1, int(fig.get_figwidth() / (0.35 + 0.075 * longest)))
    ncols = max(1, min(len(labels), per_row))
    note = [line for line in note if line]
    # a character at 8 pt is about 0.55 x 8 points wide; keep a margin
    width = max(40, int(fig.get_figwidth() * 72 / (0.6 * NOTE_FONT_PT)) - 4)
    title = "\n".join(textwrap.fill(line, width) for line in note) or None
    leg = fig.legend(handles, labels, loc="outside lower center", ncols=ncols, frameon=False,
                     title=title, title_fontproperties={"size": NOTE_FONT_PT})
    leg.get_title().set_color("#444444")


def figure_note(fig: Figure) -> str:
    """The note :func:`figure_legend` wrote (lines joined by spaces), or ``""``."""
    if not fig.legends:
        return ""
    return " ".join(fig.legends[0].get_title().get_text().split())


def name_list(names, *, at_most: int = 8) -> str:
    """``a, b, c`` or ``a, b, ... and 12 more``."""
    names = list(names)
    if len(names) <= at_most:
        return ", ".join(names)
    return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more"


def layers_with_reasons(pairs, *, at_most: int = 4) -> str:
    """``conv1 (reason a); conv3, conv4 (reason b)``: names grouped by their reason.

    ``pairs`` are (name, reason); an empty reason (a report older than the
    ``reason`` column) gives the names alone. At most ``at_most`` reasons are
    spelled out, the rest counted.
    """
    groups: dict[str, list[str]] = {}
    for name, reason in pairs:
        groups.setdefault(reason, []).append(name)
    parts = [name_list(names) + (f" ({reason})" if reason else "")
             for reason, names in list(groups.items())[:at_most]]
    rest = sum(len(names) for names in list(groups.values())[at_most:])
    return "; ".join(parts) + (f"; and {rest} more" if rest else "")


def figure_title(fig: Figure, text: str) -> None:
    """The figure's title, wrapped to its width (a long one would run off both edges)."""
    # the title's 12 pt characters are about 0.55 x 12 points wide
    width = max(30, int(fig.get_figwidth() * 72 / (0.58 * 12)))
    fig.suptitle("\n".join(textwrap.fill(line, width) for line in text.splitlines()))


def default_title(what: str, df) -> str:
    """``what — network on arch`` with whatever provenance the report has."""
    net, arch = df.attrs.get("network"), df.attrs.get("arch")
    if net and arch:
        return f"{what} — {net} on {arch}"
    if net or arch:
        return f"{what} — {net or arch}"
    return what


def figure_format(path: str | os.PathLike, option: str | None = None) -> str:
    """The image format of ``path`` from its extension (png, svg or pdf).

    ``option`` (such as ``-o``) is named in the error when given.
    """
    ext = Path(path).suffix.lower().lstrip(".")
    if ext not in FIGURE_FORMATS:
        where = f"{option} {path}" if option else str(path)
        raise AccelsimError(f"{where}: unsupported figure format "
                            f"'{Path(path).suffix or '(none)'}' (use .png, .svg or .pdf)")
    return ext


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: int = DEFAULT_DPI,
                option: str | None = None) -> None:
    """Write ``fig`` to ``path`` atomically, in the format its extension names."""
    fmt = figure_format(path, option)
    with atomic_open(path) as fh:
        fig.savefig(fh, format=fmt, dpi=dpi)
