"""``accelsim synth NETWORK``: write a synthetic trace of a built-in network."""

from __future__ import annotations

NAME = "synth"
HELP = "write a synthetic trace of a built-in network"


def add_arguments(p) -> None:
    p.add_argument("network", help="lenet5, alexnet, vgg16, resnet18, resnet50, mobilenet_v2, "
                                   "squeezenet1_1, shufflenet_v2")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--ifmap-zeros", default=None,
                   help="zero fraction of every ifmap, or name=fraction,... per layer")
    p.add_argument("--weight-zeros", default=None,
                   help="zero fraction of every weight tensor, or name=fraction,...")
    p.add_argument("--weight-pattern", default="random",
                   help="'random' (unstructured, with --weight-zeros) or 'N:M' (exactly N "
                        "nonzeros in every M consecutive input channels, as NVIDIA 2:4)")
    p.add_argument("--weight-bits", type=int, default=16, help="weight width of every MAC layer")
    p.add_argument("--act-bits", type=int, default=16, help="activation width of every MAC layer")
    p.add_argument("--compress", action="store_true", help="zip-compress the arrays")
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")


def main(args) -> int:
    from accelsim.fileio import check_output_path
    from accelsim.workload.synth import synth_trace
    from accelsim.workload.trace import check_trace_output

    check_output_path(args.output, "-o")
    check_trace_output(args.output, "-o")
    synth_trace(args.network, args.output, batch=args.batch, seed=args.seed,
                ifmap_zeros=args.ifmap_zeros, weight_zeros=args.weight_zeros,
                weight_pattern=args.weight_pattern, weight_bits=args.weight_bits,
                act_bits=args.act_bits, compress=args.compress)
    print(f"wrote {args.output}")
    return 0
