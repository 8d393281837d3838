"""``accelsim run ARCH TRACE``: simulate a trace and print or write the report."""

from __future__ import annotations

import sys

NAME = "run"
HELP = "simulate a trace on an architecture"


def add_arguments(p) -> None:
    from accelsim.commands import add_format_and_out

    p.add_argument("arch", help="architecture YAML file")
    p.add_argument("trace", help="trace .npz file")
    add_format_and_out(p, "report")
    p.add_argument("--dense-baseline", action="store_true",
                   help="also run every layer with sparsity features off: speedup and "
                        "energy-saving columns")
    p.add_argument("--sporadic-window", type=int, default=3,
                   help="neighbourhood (odd, >= 3) of the sporadic-degree metric")
    p.add_argument("--assign", metavar="YAML",
                   help="per-layer operator and widths overriding the trace's "
                        "(version: 1, layers: {name: {operator, weight_bits, act_bits}})")
    p.add_argument("--mapping", metavar="YAML",
                   help="per-layer row-stationary mapping constraints (version: 1, layers: "
                        "{name: {e, p, q, r, t, gp, m, n}}): the search keeps only mappings "
                        "with the given values")
    p.add_argument("--plot", metavar="FIG",
                   help="also draw the energy breakdown to FIG (.png, .svg or .pdf)")


def main(args) -> int:
    from accelsim.commands import check_arch_and_trace
    from accelsim.fileio import check_output_path
    from accelsim.report.report import report_format, write_report
    from accelsim.run import run
    from accelsim.spec.load import load_arch
    from accelsim.workload.trace import read_trace

    # a bad output name fails before the simulation, not after; an empty one
    # (--out '') is an error, not a request for stdout
    inputs = (args.arch, args.trace, args.assign, args.mapping)
    fmt = report_format(args.format, args.out, plot_option="--plot")
    if args.out is not None:
        check_output_path(args.out, "--out", inputs)
    if args.plot is not None:
        from accelsim.plot import figure_format
        if args.plot:
            figure_format(args.plot, "--plot")
        check_output_path(args.plot, "--plot", inputs + (args.out,))
    check_arch_and_trace(args.arch, args.trace, NAME)
    arch = load_arch(args.arch)
    trace = read_trace(args.trace)
    if args.assign:
        from accelsim.workload.assign import apply_assignment, read_assignment

        trace = apply_assignment(trace, read_assignment(args.assign, trace=trace), args.assign)
    constraints = None
    if args.mapping:
        from accelsim.mapping.constraints import read_mapping_constraints

        constraints = read_mapping_constraints(args.mapping, trace=trace)
    result = run(arch, trace, arch_path=args.arch, dense_baseline=args.dense_baseline,
                 sporadic_window=args.sporadic_window, mapping_constraints=constraints,
                 mapping_path=args.mapping)
    text = write_report(result, fmt, args.out)
    if args.out:
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    if result.trace.routing is not None and (args.out or fmt == "table"):
        from accelsim.report.report import format_routing, routing_sums

        # per variant of a routed trace; JSON carries it in its routing object
        for line in format_routing(routing_sums(result)):
            print(line)
    if args.plot:
        from accelsim.plot import plot_breakdown, save_figure
        from accelsim.report.report import report_dict

        save_figure(plot_breakdown(report_dict(result)), args.plot, option="--plot")
        # keep stdout clean when it carries the report itself
        print(f"wrote {args.plot}", file=sys.stdout if args.out else sys.stderr)
    return 0
