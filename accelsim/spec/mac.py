"""MAC cores: which (operator, weight bits, act bits) a core runs, and how fast.

Place in the pipeline: part of ``spec`` (derived quantities of
:class:`~accelsim.spec.arch.MacSpec`); the engine and the mapping estimate ask
:func:`mac_rate` for a layer's throughput, ``run`` asks :func:`support_problem`
before simulating. Throughput rules are a small registry by core kind
(``_RATES``): adding a kind is adding a function there and its name to
``accelsim.spec.arch.MAC_KINDS``.

A rate is ``(lanes, cycles_per_mac)``: a PE completes ``lanes`` MACs every
``cycles_per_mac`` cycles, so a PE with ``work`` MAC slots computes for
``ceil(work * cycles_per_mac / lanes)`` cycles.
"""

from __future__ import annotations

from accelsim.spec.arch import MacSpec, OperatorSupport
from accelsim.workload.layer import operator_bits_ok


def _pow2_at_least(bits: int, floor: int) -> int:
    v = max(1, floor)
    while v < bits:
        v *= 2
    return v


def _rate_int(mac: MacSpec, operator: str, weight_bits: int, act_bits: int) -> tuple[int, int]:
    """Fixed core: the same MACs per cycle at any width (the Eyeriss model)."""
    return mac.macs_per_pe_per_cycle, 1


def _rate_precision_scalable(mac: MacSpec, operator: str, weight_bits: int,
                             act_bits: int) -> tuple[int, int]:
    """Bit Fusion (Sharma et al., ISCA 2018, Sec. III): a ``bits`` x ``bits``
    fusion unit is a 2-D array of (bits/b)^2 BitBricks of ``b = min_bits`` bits;
    a w x a multiply fuses (w'/b) x (a'/b) of them, w' and a' being w and a
    rounded up to a power of two >= b. So the unit runs
    ``(bits // w') * (bits // a')`` MACs per cycle: one 16x16, four 8x8,
    sixteen 4x4, sixty-four 2x2 on a 16-bit core; per PE, times
    ``macs_per_pe_per_cycle`` units. Our assumption, from the paper's
    spatial-only fusion: operands wider than ``bits`` are not supported
    (validated), rather than run over several cycles. ``min_bits`` must be a
    power of two dividing ``bits``, and fp/bfloat modes are rejected on this
    kind: Bit Fusion fuses integer bricks only (validated in spec.load)."""
    w = _pow2_at_least(weight_bits, mac.min_bits)
    a = _pow2_at_least(act_bits, mac.min_bits)
    return mac.macs_per_pe_per_cycle * max(1, mac.bits // w) * max(1, mac.bits // a), 1


def _rate_bit_serial(mac: MacSpec, operator: str, weight_bits: int,
                     act_bits: int) -> tuple[int, int]:
    """Stripes (Judd et al., MICRO 2016, Sec. 3): the serial operand (the
    activations there; ``serial_operand``) enters one bit per cycle while the
    other is applied in parallel, so a MAC takes as many cycles as the serial
    operand has bits; ``macs_per_pe_per_cycle`` is the number of serial lanes
    (Stripes compensates with 16x more lanes than a bit-parallel design).
    Stripes is fixed point; an fp or bfloat mode declared on such a core is
    taken to follow the same rule, one cycle per bit of the serial operand
    (our assumption, not from a paper)."""
    serial = act_bits if mac.serial_operand == "act" else weight_bits
    return mac.macs_per_pe_per_cycle, max(1, serial)


def _rate_multi_function(mac: MacSpec, operator: str, weight_bits: int,
                         act_bits: int) -> tuple[int, int]:
    """One dedicated datapath per operator (e.g. an int8 MAC and an fp16 FMA
    side by side, as mixed-precision NPUs carry): ``macs_per_pe_per_cycle``
    operations a cycle in every declared mode, whatever its width (up to
    ``bits``, validated). Narrower modes gain storage and energy, not speed."""
    return mac.macs_per_pe_per_cycle, 1


_RATES = {"int": _rate_int, "precision_scalable": _rate_precision_scalable,
          "bit_serial": _rate_bit_serial, "multi_function": _rate_multi_function}


def mac_rate(mac: MacSpec, operator: str, weight_bits: int, act_bits: int) -> tuple[int, int]:
    """``(lanes, cycles_per_mac)`` of a PE running this operator at these widths."""
    return _RATES[mac.kind](mac, operator, weight_bits, act_bits)


def peak_macs_per_pe_per_cycle(mac: MacSpec, operator: str, weight_bits: int,
                               act_bits: int) -> float:
    lanes, cpm = mac_rate(mac, operator, weight_bits, act_bits)
    return lanes / cpm


def peak_rates(mac: MacSpec) -> tuple[float, float, str]:
    """MACs per PE per cycle at full width (``bits`` x ``bits``; the widest
    supported pair below it when the core lists its modes) and at best over
    every supported mode, and that best mode (``int w8 a2``; empty when the
    rate does not depend on the mode). ``macs_per_pe_per_cycle`` is lanes, not
    a rate: a bit-serial core's 8 lanes at 8 serial bits run 1 MAC a cycle."""
    if not mac.operators:
        rate = peak_macs_per_pe_per_cycle(mac, "int", mac.bits, mac.bits)
        return rate, rate, ""
    modes = [(peak_macs_per_pe_per_cycle(mac, o.operator, w, a), o.operator, w, a)
             for o in mac.operators for w in o.weight_bits for a in o.act_bits
             if operator_bits_ok(o.operator, w, a)]
    if not modes:  # every listed pair breaks its operator's rules (validated at load)
        rate = peak_macs_per_pe_per_cycle(mac, "int", mac.bits, mac.bits)
        return rate, rate, ""
    widest = max(w + a for _, _, w, a in modes)
    full = min(r for r, _, w, a in modes if w + a == widest)
    best = max(modes, key=lambda m: (m[0], -m[2] - m[3]))
    desc = f"{best[1]} w{best[2]} a{best[3]}" if best[0] > full else ""
    return full, best[0], desc


def supported_text(mac: MacSpec) -> str:
    """What the core supports, for error messages."""
    if mac.kind == "int":
        return "int at any width"
    return "; ".join(f"{o.operator} weight_bits {list(o.weight_bits)} act_bits "
                     f"{list(o.act_bits)}" for o in mac.operators)


def _entry(mac: MacSpec, operator: str) -> OperatorSupport | None:
    return next((o for o in mac.operators if o.operator == operator), None)


def support_problem(mac: MacSpec, operator: str, weight_bits: int, act_bits: int) -> str | None:
    """None when the core runs this operator at these widths, else what is wrong."""
    if not operator_bits_ok(operator, weight_bits, act_bits):
        return f"{operator} is not defined at weight_bits {weight_bits}, act_bits {act_bits}"
    if mac.kind == "int":
        return None if operator == "int" else f"the {mac.kind} core runs int only"
    entry = _entry(mac, operator)
    if entry is None or weight_bits not in entry.weight_bits or act_bits not in entry.act_bits:
        return f"the core supports {supported_text(mac)}"
    return None


def combos(mac: MacSpec) -> list[tuple[str, int, int]]:
    """Every (operator, weight_bits, act_bits) the core runs, in declaration order.

    An ``int`` core has no finite list; it gives its native ``bits`` x ``bits``.
    """
    if mac.kind == "int":
        return [("int", mac.bits, mac.bits)]
    out = []
    for o in mac.operators:
        for w in o.weight_bits:
            for a in o.act_bits:
                if operator_bits_ok(o.operator, w, a):
                    out.append((o.operator, w, a))
    return out


def shift_exponent_range(mac: MacSpec) -> tuple[int, int]:
    """``(exponent_min, exponent_max)`` of the core's shift operator (the
    :class:`OperatorSupport` defaults when the core declares no shift)."""
    entry = _entry(mac, "shift") or OperatorSupport(operator="shift", weight_bits=(),
                                                    act_bits=())
    return entry.exponent_min, entry.exponent_max


def shift_exponent_span(mac: MacSpec) -> int:
    """Positions the shifter covers: exponent_max - exponent_min (shift operator)."""
    entry = _entry(mac, "shift")
    return 7 if entry is None else entry.exponent_max - entry.exponent_min
