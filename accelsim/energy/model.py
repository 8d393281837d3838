"""Energy of a layer from its counts: counts x pJ per action.

Place in the pipeline: ``engine -> energy`` (this module) ``-> report``.
Changing an energy table needs no re-simulation: this is a pure function of the
counts, :class:`~accelsim.spec.arch.EnergySpec` and the storage sizes its
size scaling reads (``ArchSpec.storage_factors``).

Storage and network actions are charged per ``reference_bits`` moved (the
ISCA 2016 table is per 16-bit access): DRAM by the bits actually moved after
compression, the GLB, NoC and spads by the words accessed times their width.
Where the arch scales an entry with a storage's size (EnergySpec), that
storage's accesses cost the entry times its factor.
A MAC is charged one operation of the layer's operator when performed
(``mac_pj`` on a fixed ``int`` core; :mod:`accelsim.energy.operators`); a gated
or skipped MAC costs nothing.
"""

from __future__ import annotations

import numpy as np

from accelsim.engine.counts import LayerCounts
from accelsim.enums import Level
from accelsim.spec.arch import ArchSpec, EnergySpec

ENERGY_KEYS = ("dram", "glb", "noc", "spad", "mac", "total")


def level_costs_pj(energy: EnergySpec) -> np.ndarray:
    """pJ per reference access for each storage level, indexed by Level."""
    return np.array([energy.dram_pj, energy.glb_pj, energy.noc_pj, energy.spad_pj])


def storage_costs_pj(arch: ArchSpec) -> np.ndarray:
    """pJ per reference access, float64 [Level, Tensor]: each level's table
    entry times the size factor of the storage the tensor's accesses land in
    (1.0 where the arch scales nothing: the table's entry exactly)."""
    return level_costs_pj(arch.energy)[:, None] * np.array(arch.storage_factors())


def layer_energy(counts: LayerCounts, arch: ArchSpec,
                 mac_op_pj: float | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Energy in pJ by level (keys of ENERGY_KEYS), and by [level, tensor].

    Priced with ``arch.energy`` at ``arch``'s storage sizes
    (:func:`storage_costs_pj`). ``mac_op_pj``: pJ of one performed operation
    (the layer's operator at its widths,
    :func:`accelsim.energy.operators.op_energy_pj`); default
    ``arch.energy.mac_pj``. The second result is a float64 array [4 levels, 3
    tensors] (MAC excluded).
    """
    if isinstance(arch, EnergySpec):
        raise TypeError("layer_energy takes the ArchSpec, not arch.energy: the storage sizes "
                        "it scales the GLB and spad costs with are the arch's")
    energy = arch.energy
    per_tensor = (counts.bits.sum(axis=2) / energy.reference_bits
                  * storage_costs_pj(arch))
    out = {name.name.lower(): float(per_tensor[name].sum()) for name in Level}
    out["mac"] = float(counts.macs_performed
                       * (energy.mac_pj if mac_op_pj is None else mac_op_pj))
    out["total"] = float(sum(out[k] for k in ENERGY_KEYS[:-1]))
    return out, per_tensor
