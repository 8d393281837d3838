"""Architecture specification: the first stage of the pipeline (``arch.yaml -> spec``)."""

from accelsim.spec.arch import (ArchSpec, DramSpec, EnergySpec, GlobalBufferSpec, MacSpec,
                                NocSpec, PeArraySpec, RlcSpec, ScratchpadSpec, SparsitySpec)
from accelsim.spec.load import arch_from_dict, load_arch

__all__ = ["ArchSpec", "DramSpec", "EnergySpec", "GlobalBufferSpec", "MacSpec", "NocSpec",
           "PeArraySpec", "RlcSpec", "ScratchpadSpec", "SparsitySpec", "arch_from_dict",
           "load_arch"]
