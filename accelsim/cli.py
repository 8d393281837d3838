"""Command line: parse arguments, call the public API, print, set the exit status.

Thin by design: each subcommand lives in :mod:`accelsim.commands`. Exit status:
0 on success, 2 on bad input (one line on stderr, no traceback), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from accelsim.commands import COMMANDS
from accelsim.errors import AccelsimError
from accelsim.version import __version__


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _build_parser() -> tuple[argparse.ArgumentParser, dict]:
    ap = _Parser(prog="accelsim", description="Cycle-level simulator of DNN accelerators.")
    ap.add_argument("--version", action="version", version=f"accelsim {__version__}")
    sub = ap.add_subparsers(dest="command", parser_class=_Parser)
    modules = {}
    for name in COMMANDS:
        mod = importlib.import_module(f"accelsim.commands.{name}")
        mod.add_arguments(sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP))
        modules[mod.NAME] = mod
    return ap, modules


def main(argv: list[str] | None = None) -> int:
    ap, modules = _build_parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help(sys.stderr)
        return 2
    try:
        return modules[args.command].main(args)
    except AccelsimError as exc:
        sys.stderr.write(f"accelsim: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("accelsim: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
