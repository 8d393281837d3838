"""Two or more reports side by side: energy and latency per layer and in total.

Place in the pipeline: ``report -> plot``.

For dense vs sparse data, two architectures, or two operator assignments: one
bar per report in each layer's group, total energy (``energy_pj_total``, µJ)
above and latency (``latency_s``, ms) below, each with a totals panel. Layers
are matched by name; a layer missing from a report has no bar there. Each
report is labelled by its architecture name and file name (a CSV report has
no provenance: its file name, with its folder when two files share a name), or
by the labels given. Reports are told apart by greys and hatches, never by the
colours that mean storage levels in the other figures.

Totals compare like with like. A report's own total sums the layers it
simulated, so when one report could not simulate a layer the others did
(Eyeriss v2 cannot map AlexNet's 11x11 conv1), its total would lack that
layer and its change from the first report would compare different work. So
when the reports did not all simulate the same layers, each total is the sum
over the layers every report simulated, the total panel says so ("over 7
common layers"), and a note under the axes names each report's missing
layers with the report's reason; the per-layer bars still show every layer.
(Keeping each report's own total and flagging it was the alternative; it
leaves a percentage on the figure that means nothing.) Layers that no report
simulated are named in the note too. When no layer is common, each report's
own total is drawn and the note says the totals cover different layers.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.figure import Figure

from accelsim.errors import AccelsimError
from accelsim.plot.load import (is_total, layer_rows, load_report, require_columns, total_row,
                                unsimulated_mac_layers)
from accelsim.plot.style import (figure_legend, figure_title, horizontal, label_layer_axis,
                                 layers_with_reasons, new_figure, series_style, total_axis,
                                 value_axis)

COMPARE_METRICS = (("energy_pj_total", "energy (µJ)", 1e-6),
                   ("latency_s", "latency (ms)", 1e3))


def _with_folder(df) -> str | None:
    """The report's label with its folder before the file name (None if not a file label)."""
    source, label = df.attrs.get("source") or "", df.attrs.get("label") or ""
    name = os.path.basename(source)
    if source.startswith("<") or not name or not label.endswith(name):
        return None
    folder = os.path.basename(os.path.dirname(os.path.abspath(source)))
    return label[:-len(name)] + f"{folder}/{name}"


def _labels(frames, given) -> list[str]:
    """Each report's legend label, told apart if two would read the same.

    Two files of one name in different folders (``run1/r.csv``, ``run2/r.csv``)
    get their folder; anything else still alike gets a number.
    """
    labels = ([str(g) for g in given] if given is not None else
              [df.attrs.get("label") or df.attrs.get("source") or f"report {i + 1}"
               for i, df in enumerate(frames)])
    if given is None:
        for i, df in enumerate(frames):
            if labels.count(labels[i]) > 1 and _with_folder(df):
                alike = [j for j, lab in enumerate(labels) if lab == labels[i]]
                wider = [_with_folder(frames[j]) for j in alike]
                if None not in wider and len(set(wider)) == len(wider):
                    for j, w in zip(alike, wider):
                        labels[j] = w
    out: list[str] = []
    for label in labels:
        n, base = 2, label
        while label in out:
            label, n = f"{base} ({n})", n + 1
        out.append(label)
    return out


def _layer_names(frames) -> list[str]:
    """Union of the simulated layers' names, in the order they first appear."""
    names: list[str] = []
    seen = set()
    for df in frames:
        for name in layer_rows(df)["name"]:
            if name not in seen:
                seen.add(name)
                names.append(name)
    return names


def _coverage(frames, labels, names) -> tuple[list[str], list[str]]:
    """The layers every report simulated, and the note on the ones some did not.

    ``names`` is the union of the simulated layers. The note has a line per
    report missing some of them (with the report's reason for each, or "not
    in the report"), and one for layers no report simulated.
    """
    simulated = [set(layer_rows(df)["name"]) for df in frames]
    common = [n for n in names if all(n in sim for sim in simulated)]
    reasons = [dict(unsimulated_mac_layers(df)) for df in frames]
    present = [set(df.loc[~is_total(df), "name"]) for df in frames]
    note = []
    if len(common) < len(names):
        if common:
            layers = f"{len(common)} layers" if len(common) > 1 else "layer"
            note.append(f"Totals are over the {layers} every report simulated, so that they "
                        "compare the same work; the bars per layer show all.")
        else:
            note.append("No layer was simulated by every report: each total is over its own "
                        "layers, and the changes between totals compare different work.")
    for sim, why, rows, label in zip(simulated, reasons, present, labels):
        # the report's reason; none from a report older than the column
        missing = [(n, why.get(n, "") if n in rows else "not in the report")
                   for n in names if n not in sim]
        if missing:
            note.append(f"{label} did not simulate {layers_with_reasons(missing)}.")
    nowhere = list(dict.fromkeys(n for why in reasons for n in why if n not in names))
    if nowhere:
        first = {n: next(why[n] for why in reasons if n in why) for n in nowhere}
        note.append("No report simulated, so no total includes: "
                    + layers_with_reasons(first.items()) + ".")
    return common, note


def _title(frames, labels) -> str:
    """Every distinct network and architecture; a report without one is named by its label.

    A CSV report carries no provenance: naming only the other reports'
    architecture would claim it ran there too.
    """
    nets = list(dict.fromkeys(df.attrs["network"] for df in frames if df.attrs.get("network")))
    archs = list(dict.fromkeys(df.attrs.get("arch") or label
                               for df, label in zip(frames, labels)))
    what = "Energy and latency — "
    if nets:
        what += " vs ".join(nets) + " on "
    return what + " vs ".join(archs)


def _number(v: float) -> str:
    """A total as people write it: 17,414 or 281.2 or 0.0312."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _label_totals(ax, totals: list[float], horiz: bool) -> None:
    """Write each total on its bar, with its change from the first report's."""
    texts = [_number(totals[0])]
    for t in totals[1:]:
        change = (t / totals[0] - 1) * 100 if totals[0] else float("nan")
        texts.append(f"{_number(t)} ({change:+.1f}%)" if horiz else f"{change:+.1f}%")
    for container, text in zip(ax.containers, texts):
        ax.bar_label(container, [text], padding=2, fontsize=8)
    top = max(totals) if totals and max(totals) > 0 else 1.0
    (ax.set_xlim if horiz else ax.set_ylim)(0, top * (1.35 if horiz else 1.12))


def plot_compare(reports, *, labels=None, title: str | None = None) -> Figure:
    """Grouped bars of energy and latency per layer and in total, one bar per report.

    Parameters
    ----------
    reports : sequence
        Two or more reports, each as accepted by :func:`~accelsim.plot.load_report`.
    labels : sequence of str, optional
        One legend label per report (``dense``, ``sparse``); by default each
        report's architecture and file name.
    title : str, optional
        Figure title; by default names the networks and architectures.

    Returns
    -------
    matplotlib.figure.Figure
        Axes in order: energy per layer, energy total, latency per layer,
        latency total. In each, one BarContainer per report, labelled with the
        report's label, in µJ and ms. The note on layers some report did not
        simulate is the figure legend's title
        (:func:`~accelsim.plot.style.figure_note`).
    """
    reports = list(reports)
    if len(reports) < 2:
        raise AccelsimError(f"compare needs two or more reports (got {len(reports)})")
    if labels is not None:
        labels = list(labels)
        if len(labels) != len(reports):
            raise AccelsimError(f"compare: {len(labels)} label(s) for {len(reports)} reports "
                                "(give one label per report)")
    frames = [load_report(r) for r in reports]
    for df in frames:
        require_columns(df, [m for m, _, _ in COMPARE_METRICS], "the comparison")
    labels = _labels(frames, labels)
    names = _layer_names(frames)
    common, note = _coverage(frames, labels, names)
    partial = 0 < len(common) < len(names)
    k = len(frames)
    horiz = horizontal(len(names))
    width = 0.8 / k
    if horiz:
        fig = new_figure((11.0, max(5.0, 0.11 * k * len(names) + 2.0)))
        gs = fig.add_gridspec(2, 2, height_ratios=[max(len(names), 4), 0.8 * k + 1.0])
        cells = [(gs[0, 0], gs[1, 0]), (gs[0, 1], gs[1, 1])]
    else:
        fig = new_figure((max(8.0, (0.25 * k + 0.35) * len(names) + 3.5), 7.5))
        gs = fig.add_gridspec(2, 2, width_ratios=[max(len(names), 3), 0.4 * k + 1.0])
        cells = [(gs[0, 0], gs[0, 1]), (gs[1, 0], gs[1, 1])]

    pos = np.arange(len(names))
    for (metric, unit, scale), (cell_l, cell_t) in zip(COMPARE_METRICS, cells):
        ax = fig.add_subplot(cell_l)
        ax_total = fig.add_subplot(cell_t)
        totals = []
        for i, (df, label) in enumerate(zip(frames, labels)):
            rows = layer_rows(df).drop_duplicates("name").set_index("name")
            vals = rows[metric].astype(float).reindex(names).to_numpy() * scale
            if partial:
                totals.append(float(rows.loc[common, metric].astype(float).sum()) * scale)
            else:
                totals.append(float(total_row(df, [metric])[metric]) * scale)
            off = (i - (k - 1) / 2) * width
            kw = dict(linewidth=0.4, label=label, **series_style(i))
            if horiz:
                ax.barh(pos + off, vals, height=width, **kw)
                ax_total.barh([off], [totals[-1]], height=width, **kw)
            else:
                ax.bar(pos + off, vals, width=width, **kw)
                ax_total.bar([off], [totals[-1]], width=width, **kw)
        _label_totals(ax_total, totals, horiz)
        label_layer_axis(ax, names, is_horizontal=horiz)
        value_axis(ax, unit, is_horizontal=horiz)
        total_axis(ax_total, is_horizontal=horiz)
        if partial:
            tick = f"total over\n{len(common)} common\nlayer{'s' if len(common) > 1 else ''}"
            (ax_total.set_yticks if horiz else ax_total.set_xticks)(
                [0], [tick], fontsize=8, fontweight="bold")
        value_axis(ax_total, unit if horiz else "", is_horizontal=horiz)
        if horiz and cell_l is cells[1][0]:
            ax.set_yticklabels([])
            ax.set_ylabel("")
    handles, leg = fig.axes[0].get_legend_handles_labels()
    figure_legend(fig, handles, leg, note=note)
    figure_title(fig, title or _title(frames, labels))
    return fig
