"""``accelsim decompose TRACE --layers L1,L2 --rank R --nonzeros N -o OUT``: store
layers' weights as a small basis times sparse power-of-two coefficients.

Each named layer L becomes ``L.basis`` (int, L's geometry, rank outputs per
group) and ``L.coefficients`` (a 1x1 ``shift`` layer), written to OUT as an
ordinary trace (:mod:`accelsim.workload.decompose`, which says what is not
modeled). Prints, per layer, the rank, the nonzeros per row, the relative
reconstruction error and the weight storage before and after, in bits.
"""

from __future__ import annotations

import re

NAME = "decompose"
HELP = "store layers' weights as a basis times sparse power-of-two coefficients"

_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")


def add_arguments(p) -> None:
    p.add_argument("trace", help="trace .npz file")
    p.add_argument("--layers", required=True,
                   help="comma-separated MAC layers to decompose, e.g. fc6,fc7")
    p.add_argument("--rank", type=int, required=True,
                   help="basis vectors per group, 1 .. min(K, C*R*S) - 1")
    p.add_argument("--nonzeros", type=int, required=True,
                   help="most nonzero coefficients in each row of A, 1 .. rank")
    p.add_argument("--exponents", default="-7..0",
                   help="the shift operator's exponent range MIN..MAX, within -64..64 and "
                        "spanning at most 30 (default -7..0, as "
                        "arch_configs/reconfigurable.yaml declares)")
    p.add_argument("--compress", action="store_true", help="zip-compress the arrays")
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")


def parse_exponents(text: str) -> tuple[int, int]:
    """``"-7..0"`` -> ``(-7, 0)``; an :class:`AccelsimError` if it is not MIN..MAX with
    MIN < MAX, or the range breaks the limits of
    :func:`accelsim.workload.decompose.check_exponent_range`."""
    from accelsim.errors import AccelsimError

    from accelsim.workload.decompose import check_exponent_range

    m = _RANGE.match(text)
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise AccelsimError(f"--exponents: must be MIN..MAX with integers MIN < MAX, e.g. "
                            f"-7..0 (got {text!r})")
    lo, hi = int(m.group(1)), int(m.group(2))
    check_exponent_range((lo, hi), name="--exponents", got=repr(text))
    return lo, hi


def parse_layers(text: str) -> list[str]:
    from accelsim.errors import AccelsimError

    names = [part.strip() for part in text.split(",")]
    if not text.strip() or any(not name for name in names):
        raise AccelsimError(f"--layers: must be comma-separated layer names (got {text!r})")
    return names


def main(args) -> int:
    from accelsim.fileio import check_output_path
    from accelsim.workload.decompose import decompose_trace
    from accelsim.workload.trace import check_trace_output, read_trace

    check_output_path(args.output, "-o", [args.trace])
    check_trace_output(args.output, "-o")
    exponents = parse_exponents(args.exponents)
    layers = parse_layers(args.layers)
    trace = read_trace(args.trace)
    result = decompose_trace(trace, layers, rank=args.rank, nonzeros=args.nonzeros,
                             exponent_range=exponents)
    result.write(args.output, compress=args.compress)
    for dec in result.layers:
        st, w = dec.storage, dec.weight
        lo, hi = w.exponents
        print(f"{dec.name}: rank {dec.rank} per group, <= {dec.nonzeros} nonzeros per row "
              f"(mean {st.nonzeros / st.rows:.2f}), coefficients +-2**e with e in {lo}..{hi} "
              f"({w.code_bits}-bit shift codes), relative reconstruction error "
              f"{dec.relative_error:.4f}")
        print(f"  weight bits {st.original:,} -> {st.after:,} ({st.after / st.original:.3f}x): "
              f"basis {st.basis:,} (dense at {w.weight_bits} bits) + coefficients "
              f"{st.coefficients:,} ({st.nonzeros:,} nonzeros x ({st.code_bits}-bit code + "
              f"{st.index_bits}-bit column index) + {st.rows:,} rows x {st.count_bits}-bit "
              f"nonzero count)")
    print(f"wrote {args.output}")
    return 0
