"""``accelsim pareto results.parquet [-o front.csv]``: print the non-dominated sweep points.

The front is printed; ``-o`` also saves its rows, every column, as CSV or
Parquet. Without ``-o`` nothing is written: a command asked to show a front
should not drop files next to its input (which may be read-only, or hold the
front of other metrics from an earlier call).
"""

from __future__ import annotations

NAME = "pareto"
HELP = ("print the Pareto front of a sweep's results, minimizing two columns; -o also saves "
        "it")


def add_arguments(p) -> None:
    p.add_argument("results", help="results table from accelsim sweep (.parquet or .csv)")
    p.add_argument("--x", default="latency_s", help="first column to minimize (default: "
                                                    "latency_s)")
    p.add_argument("--y", default="energy_pj_total", help="second column to minimize "
                                                          "(default: energy_pj_total)")
    p.add_argument("--by", default=None, help="one front per value of this column (e.g. trace)")
    p.add_argument("-o", "--output", default=None,
                   help="also save the front's rows, all columns, to this .csv or .parquet "
                        "file (without -o nothing is written)")


def _shown_columns(df, x: str, y: str, by: str | None) -> list[str]:
    """Ids, the swept keys (the columns between ``reason`` and ``cycles``), x and y."""
    cols = list(df.columns)
    swept = (cols[cols.index("reason") + 1:cols.index("cycles")]
             if "reason" in cols and "cycles" in cols else [])
    wanted = ["point_id", "trace", by, *swept, x, y]
    return [c for c in dict.fromkeys(wanted) if c is not None and c in cols]


def main(args) -> int:
    from accelsim.fileio import check_output_path
    from accelsim.sweeps.pareto import pareto
    from accelsim.sweeps.runner import read_table, write_table

    if args.output is not None:
        check_output_path(args.output, "-o", [args.results])
    df = read_table(args.results)
    front = pareto(df, x=args.x, y=args.y, by=args.by, source=args.results)
    if len(front):
        print(front[_shown_columns(front, args.x, args.y, args.by)].to_string(index=False))
    print(f"{len(front)} non-dominated of {len(df)} rows (minimizing {args.x} and {args.y}"
          + (f", per {args.by}" if args.by else "") + ")")
    if args.output is not None:
        write_table(front, args.output)
        print(f"wrote {args.output}")
    return 0
