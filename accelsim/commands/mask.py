"""``accelsim mask TRACE [--density D] [--drop-sporadic] -o OUT``: write a trace
whose MAC layers' inputs are masked (:mod:`accelsim.workload.mask`): the
largest-magnitude values kept down to a density, isolated nonzeros dropped, or
both. Prints, per layer, the input's density and sporadic degree before and
after, and the values dropped.
"""

from __future__ import annotations

NAME = "mask"
HELP = "mask MAC layers' inputs: keep the largest values down to a density, drop sporadic ones"


def add_arguments(p) -> None:
    p.add_argument("trace", help="trace .npz file")
    p.add_argument("--density", type=float,
                   help="keep at most this fraction of each layer's input nonzero, the "
                        "largest magnitudes (0..1)")
    p.add_argument("--drop-sporadic", action="store_true",
                   help="drop nonzeros with no nonzero neighbour in their window x window "
                        "neighbourhood (after --density)")
    p.add_argument("--window", type=int, default=3,
                   help="neighbourhood of --drop-sporadic, odd, 3 to 63 (default 3, as the "
                        "report's ifmap_sporadic_degree)")
    p.add_argument("--layers", help="comma-separated MAC layers (default: every MAC layer; "
                                    "with --drop-sporadic, every one with a spatial input)")
    p.add_argument("--compress", action="store_true", help="zip-compress the arrays")
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")


def main(args) -> int:
    from accelsim.commands.decompose import parse_layers
    from accelsim.fileio import check_output_path
    from accelsim.workload.mask import mask_trace
    from accelsim.workload.trace import check_trace_output, read_trace

    check_output_path(args.output, "-o", [args.trace])
    check_trace_output(args.output, "-o")
    layers = None if args.layers is None else parse_layers(args.layers)
    trace = read_trace(args.trace)
    done = mask_trace(trace, args.output, layers=layers, density=args.density,
                      drop_sporadic=args.drop_sporadic, window=args.window,
                      compress=args.compress)
    width = max(len(d.name) for d in done)
    for d in done:
        print(f"{d.name:<{width}}  density {d.density_before:.3f} -> {d.density_after:.3f}  "
              f"sporadic {d.sporadic_before:.3f} -> {d.sporadic_after:.3f}  "
              f"dropped {d.dropped:,}")
    print(f"wrote {args.output}")
    return 0
