"""Figures built from reports: energy breakdown, latency, comparison, Pareto, sparsity.

Place in the pipeline: ``report -> plot`` (the last stage). Plots read reports
(JSON, CSV or Parquet files, the JSON dict, a report DataFrame, or a run's
result turned into its report by :func:`accelsim.report_dict`) and sweep
tables, whose Pareto fronts come from :func:`accelsim.pareto`; they never
run the engine, and no plot module imports it (``import accelsim`` itself
loads the whole pipeline, numba included, so any accelsim import does).
Every function returns a :class:`matplotlib.figure.Figure` (no pyplot state);
:func:`save_figure` writes one atomically as PNG, SVG or PDF by the file's
extension::

    from accelsim.plot import plot_breakdown, save_figure
    save_figure(plot_breakdown("report.json", normalize=True), "energy.png")

One module per figure kind; :data:`KINDS` maps each kind's name to its function.
"""

from accelsim.plot.breakdown import plot_breakdown
from accelsim.plot.compare import plot_compare
from accelsim.plot.latency import plot_latency
from accelsim.plot.load import load_report, load_sweep
from accelsim.plot.pareto import plot_pareto
from accelsim.plot.sparsity import plot_sparsity
from accelsim.plot.style import figure_format, save_figure

KINDS = {"breakdown": plot_breakdown, "latency": plot_latency, "compare": plot_compare,
         "pareto": plot_pareto, "sparsity": plot_sparsity}

__all__ = ["KINDS", "figure_format", "load_report", "load_sweep", "plot_breakdown",
           "plot_compare", "plot_latency", "plot_pareto", "plot_sparsity", "save_figure"]
