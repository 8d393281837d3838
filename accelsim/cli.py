"""Command line: parse arguments, call the public API, print, set the exit status.

Thin by design: each subcommand lives in :mod:`accelsim.commands`. Exit status:
0 on success, 2 on bad input (one line on stderr, no traceback, nothing
written), 1 when a command ran but produced no result (a sweep whose every
point ended in error: its table is written), 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import select
import sys

from accelsim.commands import COMMANDS
from accelsim.errors import AccelsimError
from accelsim.version import __version__


# "-1", "-0.5", "-1,3,8,8": an argument that starts like a negative number
_NEGATIVE_VALUE = re.compile(r"^-\.?\d")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line, exit status 2.

    An argument that starts like a negative number (``--input-shape -1,3,8,8``)
    is taken as a value, so the option's own check can say what is wrong with
    it; no accelsim option name starts with a digit.
    """

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)

    def _parse_optional(self, arg_string):
        if _NEGATIVE_VALUE.match(arg_string):
            return None
        return super()._parse_optional(arg_string)


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
    except MemoryError as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "MemoryError"
        sys.stderr.write(f"accelsim: error: out of memory ({detail}); use a smaller input, "
                         "batch or model\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("accelsim: interrupted\n")
        return 130
    except BrokenPipeError:
        if not _stdout_gone():
            raise
        return 141  # the reader of stdout (e.g. `| head`) left: stop quietly, as SIGPIPE would


def _stdout_gone() -> bool:
    """Whether stdout is a pipe whose reader has closed it; if so, point stdout at
    /dev/null so the interpreter's final flush cannot fail again."""
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        gone = any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))
        if gone:
            os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        return gone
    except (OSError, ValueError, AttributeError):  # not a real descriptor, or no poll()
        return False


if __name__ == "__main__":
    sys.exit(main())
