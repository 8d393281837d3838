"""Subcommands of the ``accelsim`` CLI, one module each.

A command module defines ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``main(args) -> int``; adding a command is adding a module and its name to
``COMMANDS`` below. Modules import the heavy parts of accelsim inside ``main``
so that ``accelsim --help`` stays fast.
"""

COMMANDS = ("run", "synth", "check", "plot", "sweep", "pareto", "export", "import_onnx",
            "opcost", "route", "decompose", "mask")
