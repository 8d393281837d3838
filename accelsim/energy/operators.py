"""Energy and area of one MAC-like operation, by operator and bit widths.

Place in the pipeline: inside ``energy``; :func:`op_energy_pj` prices one
performed operation of a layer (``energy.model.layer_energy`` multiplies it by
the performed MACs).

Default table: Horowitz, "Computing's energy problem (and what we can do about
it)", ISSCC 2014, 45 nm, 0.9 V:

=================  ==========  ===========
operation          energy pJ   area um^2
=================  ==========  ===========
8-bit int add      0.03        36
32-bit int add     0.1         137
8-bit int mult     0.2         282
32-bit int mult    3.1         3495
fp16 add           0.4         1360
fp16 mult          1.1         1640
fp32 add           0.9         4184
fp32 mult          3.7         7700
=================  ==========  ===========

plus an 8-bit shift of ~0.024 pJ (the figure the issue gives; a barrel
shifter of log2(8) = 3 mux stages).

Scaling with width (fitted exactly through Horowitz's 8- and 32-bit points):

- ``add(b) = 0.03 + (b - 8) * 0.07 / 24`` pJ: a ripple/prefix adder's cells
  grow linearly with b.
- ``mult(w, a) = 0.00667 + 0.0030208 * w * a`` pJ: an array multiplier has
  w x a partial-product cells (quadratic for w = a; 8x8 gives 0.2, 32x32 3.1).
- ``shifter(a, span) = 0.024 * (a / 8) * (ceil(log2(span + 1)) / 3)`` pJ: a
  barrel shifter has a cells per stage and one stage per bit of shift amount.

One operation (one MAC slot) of each operator, with its accumulation:

- ``int``: ``mult(w, a) + add(w + a)`` (the product accumulated at its width).
- ``fp``: fp16 mult + add = 1.5 pJ, fp32 = 4.6 pJ (Horowitz).
- ``bfloat``: fp16 add plus an fp16 multiply scaled by the mantissa-multiplier
  area, (8/11)^2 (8-bit vs 11-bit significands): 0.4 + 1.1 * 64/121 pJ
  (assumption: the exponent path costs the same as fp16's).
- ``binary``: ``2 * add(1)``: one XNOR (taken as one full-adder cell) and one
  cell of the popcount adder tree per bit (assumption).
- ``binary_weight``: ``add(a + 1)``: add or subtract the activation (the
  conditional negate is the adder's carry-in).
- ``shift``: ``shifter(a, span) + add(a + span)``: shift the activation by the
  weight's exponent, add the result (span: the core's exponent range).
- ``mult_free``: ``2 * add(max(w, a) + 1)``: AdderNet's |x - w| is a subtract
  (with its absolute value) and the accumulation another add (Chen et al.,
  "AdderNet", CVPR 2020, Sec. 3).

Areas follow the same formulas with the table's areas (add: 36 + (b - 8) *
101/24 um^2; mult: 67.8 + 3.347 w a um^2; shifter: 0.8 x the 8-bit adder's
area per 8-bit stage set, an assumption mirroring the energy ratio).

Technology: a result is multiplied by the core's ``technology_scale``
(``technology_area_scale`` for area), the ratio of the chip's energy per
operation to 45 nm's (e.g. ~1.4 for 65 nm at 1 V, by C V^2 scaling); an entry
of the arch's ``energy.operator_pj`` is taken as given at the chip's
technology. Both are then multiplied by ``1 + reconfig_energy_fraction``
(``1 + reconfig_area_fraction``), the cost of a reconfigurable datapath.
An ``int`` core (the fixed Eyeriss model) costs ``energy.mac_pj`` per MAC at
any width, exactly as before; its area is one ``bits`` x ``bits`` int MAC of
the table. Area is reported (``accelsim check``, the JSON report's ``arch``,
``accelsim opcost``) as :func:`mac_array_area_um2`; unlike energy it has no
per-operation override in the YAML yet.
"""

from __future__ import annotations

import math

from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import shift_exponent_span

# Horowitz ISSCC 2014, 45 nm
ADD8_PJ, ADD32_PJ = 0.03, 0.1
MULT8_PJ, MULT32_PJ = 0.2, 3.1
FP16_ADD_PJ, FP16_MULT_PJ = 0.4, 1.1
FP32_ADD_PJ, FP32_MULT_PJ = 0.9, 3.7
SHIFT8_PJ = 0.024
ADD8_UM2, ADD32_UM2 = 36.0, 137.0
MULT8_UM2, MULT32_UM2 = 282.0, 3495.0
FP16_ADD_UM2, FP16_MULT_UM2 = 1360.0, 1640.0
FP32_ADD_UM2, FP32_MULT_UM2 = 4184.0, 7700.0
SHIFT8_UM2 = 0.8 * ADD8_UM2  # assumption: area in the shifter/adder energy ratio


def _lin(b: float, at8: float, at32: float) -> float:
    return at8 + (b - 8) * (at32 - at8) / 24


def _quad(w: float, a: float, at8: float, at32: float) -> float:
    c = (at32 - at8) / (32 * 32 - 8 * 8)
    return at8 - 64 * c + c * w * a


def _shifter(a: int, span: int, at8: float) -> float:
    return at8 * (a / 8) * (math.ceil(math.log2(span + 1)) / 3)


def _cost(operator: str, w: int, a: int, span: int, add, mult, shifter, fp) -> float:
    if operator == "int":
        return mult(w, a) + add(w + a)
    if operator == "fp":
        return fp[w]
    if operator == "bfloat":
        return fp["bf16"]
    if operator == "binary":
        return 2 * add(1)
    if operator == "binary_weight":
        return add(a + 1)
    if operator == "shift":
        return shifter(a, span) + add(a + span)
    if operator == "mult_free":
        return 2 * add(max(w, a) + 1)
    raise ValueError(f"unknown operator {operator!r}")


def default_op_pj(operator: str, weight_bits: int, act_bits: int, *, span: int = 7) -> float:
    """pJ of one operation at 45 nm from the default table (module docstring)."""
    return _cost(operator, weight_bits, act_bits, span,
                 lambda b: _lin(b, ADD8_PJ, ADD32_PJ),
                 lambda w, a: _quad(w, a, MULT8_PJ, MULT32_PJ),
                 lambda a, s: _shifter(a, s, SHIFT8_PJ),
                 {16: FP16_ADD_PJ + FP16_MULT_PJ, 32: FP32_ADD_PJ + FP32_MULT_PJ,
                  "bf16": FP16_ADD_PJ + FP16_MULT_PJ * 64 / 121})


def default_op_um2(operator: str, weight_bits: int, act_bits: int, *, span: int = 7) -> float:
    """um^2 of one operator's datapath at 45 nm (module docstring)."""
    return _cost(operator, weight_bits, act_bits, span,
                 lambda b: _lin(b, ADD8_UM2, ADD32_UM2),
                 lambda w, a: _quad(w, a, MULT8_UM2, MULT32_UM2),
                 lambda a, s: _shifter(a, s, SHIFT8_UM2),
                 {16: FP16_ADD_UM2 + FP16_MULT_UM2, 32: FP32_ADD_UM2 + FP32_MULT_UM2,
                  "bf16": FP16_ADD_UM2 + FP16_MULT_UM2 * 64 / 121})


def op_energy_pj(arch: ArchSpec, operator: str, weight_bits: int, act_bits: int) -> float:
    """pJ of one performed operation of this kind on ``arch``'s MAC core."""
    mac = arch.mac
    if mac.kind == "int":
        return arch.energy.mac_pj
    override = dict(arch.energy.operator_pj).get((operator, weight_bits, act_bits))
    if override is None:
        base = mac.technology_scale * default_op_pj(operator, weight_bits, act_bits,
                                                    span=shift_exponent_span(mac))
    else:
        base = override
    return base * (1.0 + mac.reconfig_energy_fraction)


def core_area_um2(arch: ArchSpec) -> float:
    """Area of one PE's MAC core: its largest supported operation's datapath per
    lane, times its lanes, times the reconfigurability and technology factors.

    Assumption: the modes share one datapath sized for the costliest mode
    (Bit Fusion's fused bricks); a bit-serial lane is sized for one bit of its
    serial operand; a ``multi_function`` core has one datapath per operator,
    each sized for that operator's costliest widths, side by side (their sum).
    An ``int`` core: one ``bits`` x ``bits`` MAC.
    """
    from accelsim.spec.mac import combos

    mac = arch.mac
    span = shift_exponent_span(mac)
    ops = combos(mac)
    if mac.kind == "bit_serial":  # a lane sees one bit of the serial operand a cycle
        ops = [(o, 1 if mac.serial_operand == "weight" else w,
                1 if mac.serial_operand == "act" else a) for o, w, a in ops]
    areas = [default_op_um2(o, w, a, span=span) for o, w, a in ops] or [0.0]
    if mac.kind == "multi_function":
        per_op: dict[str, float] = {}
        for (o, _, _), area in zip(ops, areas):
            per_op[o] = max(per_op.get(o, 0.0), area)
        datapath = sum(per_op.values())
    else:
        datapath = max(areas)
    return (datapath * mac.macs_per_pe_per_cycle * mac.technology_area_scale
            * (1.0 + mac.reconfig_area_fraction))


def mac_array_area_um2(arch: ArchSpec) -> float:
    """Area of the whole MAC array: :func:`core_area_um2` times the PEs.

    MAC datapaths only (no scratchpads, GLB or NoC). Not overridable in the
    arch YAML yet, beyond ``technology_area_scale`` and
    ``reconfig_area_fraction``: the per-operation areas are the table's.
    """
    return core_area_um2(arch) * arch.pe_array.pes
