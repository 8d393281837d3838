"""``accelsim check ARCH``: validate an architecture file and summarize it."""

from __future__ import annotations

NAME = "check"
HELP = "validate an architecture file and summarize it"


def add_arguments(p) -> None:
    p.add_argument("arch", help="architecture YAML file")


def main(args) -> int:
    from accelsim.spec.load import describe, load_arch

    arch = load_arch(args.arch)
    print(f"{args.arch}: valid")
    for key, value in describe(arch):
        print(f"  {key:13s} {value}")
    return 0
