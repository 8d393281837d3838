"""LayerCounts: what the engine measured for one layer (integers only).

Place in the pipeline: produced by ``engine``, consumed by ``energy`` and
``report``. Counts depend on the architecture and the data, never on energy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.enums import Cycle, Level, Rw, Tensor


@dataclass(frozen=True, slots=True, kw_only=True)
class LayerCounts:
    """Cycles by cause, accesses per level/tensor/direction, and MACs.

    ``cycles``: int64 [8] indexed by :class:`~accelsim.enums.Cycle`.
    ``words``: int64 [level, tensor, rw] accesses in words of the tensor's width.
    ``bits``: int64 [level, tensor, rw] bits moved; at the DRAM level after
    compression (metadata included), elsewhere ``words`` times the word width,
    except for a tensor the GLB keeps compressed: its coded bits in the GLB and
    on the NoC, and, for CSC, at the spads (``simulate.simulate_layer``).
    MACs: ``macs`` (dense work, padding excluded) = ``performed + gated + skipped``;
    ``macs_padded`` adds the taps on padding that the array steps through.
    """

    cycles: np.ndarray
    words: np.ndarray
    bits: np.ndarray
    macs: int
    macs_padded: int
    macs_performed: int
    macs_gated: int
    macs_skipped: int
    active_pes: int
    # summed over passes and images, the busiest and the mean PE's MAC-slot time
    # in cycles (slots x cycles per MAC / MACs per PE per cycle, unrounded, so
    # max / mean is the load imbalance of the work)
    pe_busy_max_cycles: float
    pe_busy_mean_cycles: float
    # compute cycles spent on gated MAC slots (simulate.gated_cycles)
    compute_gated_cycles: int

    @property
    def load_imbalance(self) -> float:
        return self.pe_busy_max_cycles / self.pe_busy_mean_cycles if self.pe_busy_mean_cycles else 1.0

    def cycle(self, cause: Cycle) -> int:
        return int(self.cycles[cause])

    def bytes_at(self, level: Level, tensor: Tensor | None = None, rw: Rw | None = None) -> float:
        sel = self.bits[level]
        if tensor is not None:
            sel = sel[tensor]
        if rw is not None:
            sel = sel[..., rw]
        return float(np.sum(sel)) / 8.0
