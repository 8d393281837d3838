"""``accelsim run ARCH TRACE``: simulate a trace and print or write the report."""

from __future__ import annotations

import sys

NAME = "run"
HELP = "simulate a trace on an architecture"


def add_arguments(p) -> None:
    p.add_argument("arch", help="architecture YAML file")
    p.add_argument("trace", help="trace .npz file")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--out", help="write the report to this file (atomically)")
    p.add_argument("--dense-baseline", action="store_true",
                   help="also run every layer with sparsity features off: speedup and "
                        "energy-saving columns")
    p.add_argument("--sporadic-window", type=int, default=3,
                   help="neighbourhood (odd, >= 3) of the sporadic-degree metric")


def main(args) -> int:
    from accelsim.report.report import write_report
    from accelsim.run import run
    from accelsim.spec.load import load_arch
    from accelsim.workload.trace import read_trace

    arch = load_arch(args.arch)
    trace = read_trace(args.trace)
    result = run(arch, trace, arch_path=args.arch, dense_baseline=args.dense_baseline,
                 sporadic_window=args.sporadic_window)
    text = write_report(result, args.format, args.out)
    if args.out:
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
