"""Energy: counts x energy reference table (engine -> energy -> report)."""

from accelsim.energy.model import ENERGY_KEYS, layer_energy

__all__ = ["ENERGY_KEYS", "layer_energy"]
