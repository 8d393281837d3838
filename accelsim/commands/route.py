"""``accelsim route NAME=TRACE ... --route NAME,...``: one trace routing each image
to one variant of a network (:mod:`accelsim.workload.route`)."""

from __future__ import annotations

NAME = "route"
HELP = "build a routed trace: each image of the batch runs on the variant --route names"


def add_arguments(p) -> None:
    p.add_argument("variants", nargs="+", metavar="NAME=TRACE",
                   help="two or more variants of one network, e.g. mild=mild.npz "
                        "aggressive=aggr.npz (same layers and batch)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--route", help="one variant name per image, comma-separated, e.g. "
                                       "mild,aggressive,aggressive,mild")
    which.add_argument("--route-file", help="a text file with one variant name per line "
                                            "(blank lines are ignored)")
    p.add_argument("--compress", action="store_true", help="zip-compress the arrays")
    p.add_argument("-o", "--output", required=True, help="routed trace file to write (.npz)")


def parse_variants(items: list[str]) -> dict[str, str]:
    """``["mild=a.npz", ...]`` -> {name: path}; AccelsimError on a malformed or repeated
    one, or a name a route cannot give (:func:`accelsim.workload.trace.variant_name_problem`)."""
    from accelsim.errors import AccelsimError
    from accelsim.workload.trace import variant_name_problem

    out: dict[str, str] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise AccelsimError(f"variants: expected NAME=TRACE (got {item!r})")
        problem = variant_name_problem(name)
        if problem is not None:
            raise AccelsimError(f"variants: variant {name!r} of {path}: {problem}")
        if name in out:
            raise AccelsimError(f"variants: variant {name!r} is given twice")
        out[name] = path
    return out


def read_route(args, known: list[str]) -> tuple[list[str], str]:
    """The route the options give, and the option naming it in messages.

    Names are checked here (with the entry or line that is wrong); the length
    is checked against the traces' batch by :func:`accelsim.workload.route.parse_route`.
    """
    from accelsim.errors import AccelsimError
    from accelsim.fileio import read_text_limited
    from accelsim.workload.trace import ROUTE_SEPARATOR

    if args.route is not None:
        route = [part.strip() for part in args.route.split(ROUTE_SEPARATOR)]
        for i, name in enumerate(route):
            if name not in known:
                raise AccelsimError(f"--route: entry {i + 1} {name!r} is not a variant "
                                    f"(variants: {', '.join(known)})")
        return route, "--route"
    where = f"--route-file {args.route_file}"
    try:
        lines = read_text_limited(args.route_file).splitlines()
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise AccelsimError(f"{where}: cannot read ({getattr(exc, 'strerror', None) or exc})"
                            ) from None
    route = []
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            continue
        if name not in known:
            raise AccelsimError(f"{where}: line {number}: {name!r} is not a variant "
                                f"(variants: {', '.join(known)})")
        route.append(name)
    return route, where


def main(args) -> int:
    from accelsim.errors import AccelsimError
    from accelsim.fileio import check_output_path
    from accelsim.workload.route import route_traces, write_routed_trace
    from accelsim.workload.trace import check_trace_output, read_trace

    paths = parse_variants(args.variants)
    check_output_path(args.output, "-o", [*paths.values(), args.route_file])
    check_trace_output(args.output, "-o")
    if len(paths) < 2:
        raise AccelsimError(f"variants: routing needs at least two variants (got "
                            f"{len(paths)}: {', '.join(paths)})")
    route, option = read_route(args, list(paths))
    traces = {name: read_trace(path) for name, path in paths.items()}
    routed = route_traces(traces, route, option=option)
    write_routed_trace(args.output, routed, compress=args.compress)
    parts = []
    for name in paths:
        images = routed.routing.images(name)
        parts.append(f"{name} {len(images)} image{'s' if len(images) != 1 else ''}")
    print(f"wrote {args.output}: batch {routed.batch}, " + ", ".join(parts)
          + f"; {len(routed.layers)} layer instances")
    for name in paths:
        if not routed.routing.images(name):
            print(f"note: variant {name!r} has no image in the route, so none of its layers "
                  "is in the trace (it is kept in the routing's variant list)")
    return 0
