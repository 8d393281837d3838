"""``accelsim plot REPORT [REPORT ...] --kind KIND -o FIG``: draw a figure from reports.

Kinds (see :mod:`accelsim.plot`): ``breakdown`` (energy per layer by level or
tensor), ``latency`` (cycles by cause, utilization), ``compare`` (two or more
reports side by side), ``pareto`` (a sweep table's points and front) and
``sparsity`` (densities per layer). The image format follows the extension of
``-o`` (png, svg, pdf).

A sweep's per-layer table (``<out>.layers.parquet``, from a ``keep: layers``
sweep) holds one run per point and trace: ``--point ID`` and ``--trace NAME``
choose the one that ``breakdown``, ``latency``, ``sparsity`` or ``compare``
draws (for ``compare``, once for every report or once per report, in order).
"""

from __future__ import annotations

NAME = "plot"
HELP = "draw a figure from reports (or from a sweep table)"
# Kept here rather than imported so that `accelsim --help` does not load
# matplotlib; tests check it matches accelsim.plot.KINDS.
KINDS = ("breakdown", "latency", "compare", "pareto", "sparsity")
PARETO_OPTIONS = ("x", "y", "color", "by_group")
POINT_KINDS = ("breakdown", "latency", "sparsity", "compare")


def add_arguments(p) -> None:
    p.add_argument("reports", nargs="+", metavar="REPORT",
                   help="report file(s): JSON, CSV or Parquet (for pareto: a sweep table)")
    p.add_argument("--kind", choices=KINDS, default="breakdown",
                   help="figure kind (default: breakdown)")
    p.add_argument("-o", "--output", required=True, metavar="FIG",
                   help="figure file; .png, .svg or .pdf")
    p.add_argument("--title", help="figure title (default: network and architecture)")
    p.add_argument("--dpi", type=int, default=100, help="resolution of a PNG (default: 100)")
    g = p.add_argument_group("breakdown")
    g.add_argument("--by", choices=("level", "tensor"),
                   help="stack energy by storage level (default) or by tensor")
    g.add_argument("--normalize", action="store_true", help="energy per MAC (pJ/MAC), not µJ")
    g = p.add_argument_group("a sweep's per-layer table (breakdown, latency, sparsity, compare)")
    g.add_argument("--point", type=int, action="append", metavar="ID",
                   help="the point_id of the run to draw (compare: once, or once per report)")
    g.add_argument("--trace", action="append", metavar="NAME",
                   help="the trace of the run to draw, as in the sweep file or its file "
                        "name (needed when the sweep has several)")
    g = p.add_argument_group("compare")
    g.add_argument("--label", action="append", metavar="TEXT",
                   help="legend label of a report, once per report in order (default: "
                        "architecture and file name; a CSV report has only its file name)")
    g = p.add_argument_group("pareto")
    g.add_argument("--x", metavar="COL", help="metric on the x axis (default: latency_s)")
    g.add_argument("--y", metavar="COL", help="metric on the y axis (default: energy_pj_total)")
    g.add_argument("--color", metavar="COL",
                   help="parameter column colouring the points (default: the first that varies)")
    g.add_argument("--by-group", metavar="COL",
                   help="one panel and front per value of COL (default: per trace)")


def _check_options(args) -> None:
    from accelsim.errors import AccelsimError

    if args.kind != "breakdown":
        for opt, given in (("--by", args.by is not None), ("--normalize", args.normalize)):
            if given:
                raise AccelsimError(f"{opt} applies to --kind breakdown only "
                                    f"(got --kind {args.kind})")
    if args.kind != "pareto":
        given = [f"--{o.replace('_', '-')}" for o in PARETO_OPTIONS
                 if getattr(args, o) is not None]
        if given:
            raise AccelsimError(f"{', '.join(given)}: applies to --kind pareto only "
                                f"(got --kind {args.kind})")
    if args.kind != "compare" and args.label is not None:
        raise AccelsimError(f"--label applies to --kind compare only (got --kind {args.kind})")
    if args.kind != "compare" and len(args.reports) != 1:
        raise AccelsimError(f"--kind {args.kind} takes one input file (got "
                            f"{len(args.reports)}); use --kind compare for several reports")
    for opt, given in (("--point", args.point), ("--trace", args.trace)):
        if given is None:
            continue
        if args.kind not in POINT_KINDS:
            raise AccelsimError(f"{opt} chooses a run of a sweep's per-layer table; it does "
                                f"not apply to --kind {args.kind}")
        if len(given) not in (1, len(args.reports)):
            raise AccelsimError(f"{opt}: given {len(given)} times for {len(args.reports)} "
                                "reports (give it once, or once per report)")
    if not 10 <= args.dpi <= 1200:  # matplotlib fails below ~3; 1200 is print resolution
        raise AccelsimError(f"--dpi {args.dpi}: must be from 10 to 1200 dots per inch")


def main(args) -> int:
    from accelsim.fileio import check_output_path
    from accelsim.plot import (figure_format, plot_breakdown, plot_compare, plot_latency,
                               plot_pareto, plot_sparsity, save_figure)

    figure_format(args.output, "-o")
    _check_options(args)
    check_output_path(args.output, "-o", args.reports)
    src = args.reports[0]
    if args.point is not None or args.trace is not None:
        from accelsim.plot import load_report

        n = len(args.reports)
        points = (args.point or [None]) * (n if len(args.point or ()) <= 1 else 1)
        traces = (args.trace or [None]) * (n if len(args.trace or ()) <= 1 else 1)
        frames = [load_report(r, point=pt, trace=tr)
                  for r, pt, tr in zip(args.reports, points, traces)]
        src, args.reports = frames[0], frames
    if args.kind == "breakdown":
        fig = plot_breakdown(src, by=args.by or "level", normalize=args.normalize,
                             title=args.title)
    elif args.kind == "latency":
        fig = plot_latency(src, title=args.title)
    elif args.kind == "compare":
        fig = plot_compare(args.reports, labels=args.label, title=args.title)
    elif args.kind == "pareto":
        fig = plot_pareto(src, x=args.x or "latency_s", y=args.y or "energy_pj_total",
                          color=args.color, by_group=args.by_group, title=args.title)
    else:
        fig = plot_sparsity(src, title=args.title)
    save_figure(fig, args.output, dpi=args.dpi, option="-o")
    print(f"wrote {args.output}")
    return 0
