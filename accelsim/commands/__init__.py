"""Subcommands of the ``accelsim`` CLI, one module each.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``main(args) -> int``; adding a command is adding a module and its name to
``COMMANDS`` below. Modules import the heavy parts of accelsim inside ``main``
so that ``accelsim --help`` stays fast.
"""

COMMANDS = ("run", "synth", "check", "plot", "sweep", "pareto", "export", "import_onnx",
            "opcost", "route", "decompose", "mask")


def check_arch_and_trace(arch: str, trace: str, command: str) -> None:
    """Raise :class:`~accelsim.errors.AccelsimError` when the ARCH and TRACE
    arguments of ``command`` look like each other's kind of file (given in the
    wrong order, or one in the other's place), saying which goes where.

    Only what the first bytes show is checked (:func:`accelsim.fileio.sniff`);
    everything else is left to the loaders, which name the problem themselves.
    """
    from accelsim.errors import AccelsimError
    from accelsim.fileio import sniff

    usage = f"accelsim {command} ARCH TRACE"
    trace_is_text = sniff(trace) == "text"
    if sniff(arch) in ("zip", "npy"):
        swapped = (f", and {trace} like an architecture: the two are swapped"
                   if trace_is_text else "")
        raise AccelsimError(f"{arch}: looks like a trace (.npz), not an architecture YAML"
                            f"{swapped}; the architecture comes first: {usage}")
    if trace_is_text:
        raise AccelsimError(f"{trace}: looks like a text file (an architecture YAML?), not a "
                            f"trace (.npz); the trace comes second: {usage}")


def add_format_and_out(p, what: str) -> None:
    """The ``--format`` and ``--out`` options of a command that writes ``what``
    (a report, a table) as a table, CSV or JSON (run, opcost)."""
    p.add_argument("--format", choices=("table", "csv", "json"), default=None,
                   help=f"{what} format (default: the one --out's suffix names, .json or "
                        ".csv, else table); must agree with a .json or .csv --out")
    p.add_argument("--out", help=f"write the {what} to this file (atomically), as --format "
                                 "says or, without it, in the format its suffix names: "
                                 ".json, .csv, anything else (e.g. .txt) the table")
