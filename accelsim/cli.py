"""Command line: parse arguments, call the public API, print, set the exit status.

Exit status: 0 on success, 2 on bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys

from accelsim.errors import AccelsimError
from accelsim.version import __version__


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, exit status 2."""

    def error(self, message: str):  # noqa: D401 (argparse API)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _build_parser() -> argparse.ArgumentParser:
    ap = _Parser(prog="accelsim", description="Cycle-level simulator of DNN accelerators.")
    ap.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("run", help="simulate a trace on an architecture")
    r.add_argument("arch", help="architecture YAML file")
    r.add_argument("trace", help="trace .npz file")
    r.add_argument("--format", choices=("table", "csv", "json"), default="table")
    r.add_argument("--out", help="write the report to this file (atomically)")

    s = sub.add_parser("synth", help="write a synthetic trace of a built-in network")
    s.add_argument("network")
    s.add_argument("--batch", type=int, default=1)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--ifmap-zeros", default=None,
                   help="zero fraction of every ifmap, or name=fraction,... per layer")
    s.add_argument("--weight-zeros", default=None,
                   help="zero fraction of every weight tensor, or name=fraction,...")
    s.add_argument("--compress", action="store_true", help="zip-compress the arrays")
    s.add_argument("-o", "--output", required=True, help="trace file to write")

    c = sub.add_parser("check", help="validate an architecture file and summarize it")
    c.add_argument("arch")
    return ap


def _cmd_run(args) -> int:
    from accelsim.report.report import write_report
    from accelsim.run import run
    from accelsim.spec.load import load_arch
    from accelsim.workload.trace import read_trace

    arch = load_arch(args.arch)
    trace = read_trace(args.trace)
    result = run(arch, trace, arch_path=args.arch)
    text = write_report(result, args.format, args.out)
    if not args.out:
        sys.stdout.write(text)
    else:
        print(f"wrote {args.out}")
    return 0


def _cmd_synth(args) -> int:
    from accelsim.workload.synth import synth_trace

    synth_trace(args.network, args.output, batch=args.batch, seed=args.seed,
                ifmap_zeros=args.ifmap_zeros, weight_zeros=args.weight_zeros,
                compress=args.compress)
    print(f"wrote {args.output}")
    return 0


def _cmd_check(args) -> int:
    from accelsim.spec.load import describe, load_arch

    arch = load_arch(args.arch)
    print(f"{args.arch}: valid")
    for key, value in describe(arch):
        print(f"  {key:13s} {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = _build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help(sys.stderr)
        return 2
    try:
        return {"run": _cmd_run, "synth": _cmd_synth, "check": _cmd_check}[args.command](args)
    except AccelsimError as exc:
        sys.stderr.write(f"accelsim: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("accelsim: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
