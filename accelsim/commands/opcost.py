"""``accelsim opcost ARCH TRACE``: energy and cycles of every layer under every
(operator, weight bits, act bits) the arch's MAC core runs."""

from __future__ import annotations

import sys

NAME = "opcost"
HELP = "operator cost table: each layer's energy and cycles per supported operator and widths"


def add_arguments(p) -> None:
    from accelsim.commands import add_format_and_out

    p.add_argument("arch", help="architecture YAML file")
    p.add_argument("trace", help="trace .npz file")
    add_format_and_out(p, "table")


def main(args) -> int:
    from accelsim.commands import check_arch_and_trace
    from accelsim.fileio import atomic_write_text, check_output_path
    from accelsim.opcost import opcost
    from accelsim.report.report import report_format
    from accelsim.spec.load import load_arch
    from accelsim.workload.trace import read_trace

    fmt = report_format(args.format, args.out)
    if args.out is not None:  # --out '' is an error, not a request for stdout
        check_output_path(args.out, "--out", [args.arch, args.trace])
    check_arch_and_trace(args.arch, args.trace, NAME)
    df = opcost(load_arch(args.arch), read_trace(args.trace))
    if fmt == "csv":
        text = df.to_csv(index=False)
    elif fmt == "json":
        text = df.to_json(orient="records", indent=2) + "\n"
    else:
        # the area is the same on every row: one line under the table
        text = (df.drop(columns=["reason", "mac_array_area_um2"]).to_string(index=False)
                + f"\nMAC array area: {df['mac_array_area_um2'].iloc[0]:,.0f} um^2\n"
                if len(df) else "no MAC layers\n")
    if args.out:
        atomic_write_text(args.out, text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
