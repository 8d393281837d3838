"""``accelsim check ARCH``: validate an architecture file and summarize it."""

from __future__ import annotations

NAME = "check"
HELP = "validate an architecture file and summarize it"


def add_arguments(p) -> None:
    p.add_argument("arch", help="architecture YAML file")


def main(args) -> int:
    from accelsim.energy.operators import core_area_um2, mac_array_area_um2
    from accelsim.spec.load import describe, load_arch

    arch = load_arch(args.arch)
    print(f"{args.arch}: valid")
    mac = arch.mac
    area = ("MAC area", f"{mac_array_area_um2(arch) / 1e6:.4g} mm^2 = {arch.pe_array.pes} PEs x "
                        f"{core_area_um2(arch):.4g} um^2 (45 nm operator table x "
                        f"technology_area_scale {mac.technology_area_scale:g}, reconfigurability "
                        f"+{mac.reconfig_area_fraction:.0%}; MAC datapaths only)")
    for key, value in [*describe(arch), area]:
        print(f"  {key:13s} {value}")
    return 0
