"""Small enums that name tensors, storage levels and access directions.

They index count arrays directly (``words[Level.GLB, Tensor.PSUM, Rw.WRITE]``), so
the kernels, the energy model and the reports agree on one layout.
"""

from __future__ import annotations

import enum


class Level(enum.IntEnum):
    DRAM = 0
    GLB = 1
    NOC = 2
    SPAD = 3


class Tensor(enum.IntEnum):
    WEIGHT = 0
    IFMAP = 1
    PSUM = 2  # partial sums and the final outputs


class Rw(enum.IntEnum):
    """Direction of an access. On the NoC: READ = toward the PEs, WRITE = toward the GLB."""

    READ = 0
    WRITE = 1


class Cycle(enum.IntEnum):
    """Causes of cycles (index into the cycle-count array of LayerCounts)."""

    TOTAL = 0          # with DRAM stalls
    PROCESSING = 1     # DRAM fully overlapped
    COMPUTE = 2        # the busiest PE's MACs
    FILL = 3           # filter loads and ifmap ramp-up before compute can start
    DRAIN = 4          # pipeline and psum-accumulation drain at the end of a pass
    NOC_STALL = 5      # a bus, the psum link or a GLB region's banks could not keep up
    DRAM_STALL = 6     # waiting on the DRAM link
    PASSES = 7         # number of processing passes (a count, not cycles)
    ACCUMULATE = 8     # adding the psum from the PE below (or the GLB) to each result


LEVEL_NAMES = tuple(x.name.lower() for x in Level)
TENSOR_NAMES = ("weight", "ifmap", "psum")
