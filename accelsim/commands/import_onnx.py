"""``accelsim import-onnx MODEL.onnx``: trace an ONNX model run with onnxruntime.

The options are those of ``accelsim export``; the trace is written by
:func:`accelsim.bridge.onnx.import_onnx`.
"""

from __future__ import annotations

NAME = "import-onnx"
HELP = "trace an ONNX model (run with onnxruntime) into a trace file"


def add_arguments(p) -> None:
    from accelsim.commands.export import add_quant_arguments

    p.add_argument("model", help="the .onnx file")
    add_quant_arguments(p)


def main(args) -> int:
    from accelsim.bridge.onnx import import_onnx
    from accelsim.commands.export import input_array, parse_operators
    from accelsim.fileio import check_output_path
    from accelsim.workload.trace import check_trace_output

    check_output_path(args.output, "-o", [args.model])
    check_trace_output(args.output, "-o")
    operators = parse_operators(args.operators)
    x = input_array(args)
    headers = import_onnx(args.model, x, args.output, weight_bits=args.weight_bits,
                          act_bits=args.act_bits, operators=operators,
                          per_channel=args.per_channel, network=args.network)
    macs = sum(1 for h in headers if h["kind"] in ("conv2d", "linear"))
    print(f"wrote {args.output} ({len(headers)} layers, {macs} MAC layers, "
          f"input {list(x.shape)})")
    return 0
