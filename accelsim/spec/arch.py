"""ArchSpec: the frozen, validated description of an Eyeriss-style accelerator.

Place in the pipeline: ``arch.yaml -> spec`` (this module holds the data;
:mod:`accelsim.spec.load` reads and validates the YAML). Data only: no behaviour
beyond derived quantities. Every number carries its unit in its name.

Vocabulary (Chen et al., "Eyeriss", IEEE JSSC 52(1) 2017, Sec. III-IV):

- *PE array*: ``rows`` x ``cols`` processing elements.
- *spad*: the per-PE scratchpads (register files) for ifmap, filter and psum.
- *GLB*: the global buffer. Eyeriss splits it into banks for ifmaps and psums,
  each bank given wholly to one of them per layer (``banks`` x ``bank_size_bytes``),
  plus a separate filter buffer (``filter_banks`` x ``filter_bank_size_bytes``).
- *NoC*: one bus per tensor from the GLB to the array (``bus_bits`` wide,
  multicast in one cycle), plus the dedicated psum link between vertically
  adjacent PEs.
- *DRAM*: off-chip memory behind a link of ``bus_bits`` at ``link_clock_mhz``.
"""

from __future__ import annotations

from dataclasses import dataclass

SPARSITY_MODES = ("none", "gate", "skip")
COMPRESSION_FORMATS = ("none", "rlc")


@dataclass(frozen=True, slots=True, kw_only=True)
class PeArraySpec:
    rows: int
    cols: int
    pipeline_depth: int = 3

    @property
    def pes(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True, slots=True, kw_only=True)
class ScratchpadSpec:
    """One per-PE scratchpad: ``entries`` words of ``word_bits``."""

    entries: int
    word_bits: int = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalBufferSpec:
    banks: int
    bank_size_bytes: int
    filter_banks: int
    filter_bank_size_bytes: int
    word_bits: int = 64

    @property
    def size_bytes(self) -> int:
        return self.banks * self.bank_size_bytes + self.filter_banks * self.filter_bank_size_bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class NocSpec:
    """Buses from the GLB into the array, one per tensor, plus the psum link.

    The psum bus is taken as full duplex: ``psum_bus_bits`` in each direction
    (GLB to array for psums being accumulated, array to GLB for results).
    Assumption: the JSSC 2017 paper gives one 64 b width for the psum network
    without saying how reads and writes share it.
    """

    filter_bus_bits: int
    ifmap_bus_bits: int
    psum_bus_bits: int
    psum_link_bits: int
    multicast: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RlcSpec:
    """Run-length coding of feature maps (Eyeriss JSSC 2017 Sec. V-A)."""

    run_bits: int = 5
    value_bits: int = 16
    pairs_per_word: int = 3
    word_bits: int = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class DramSpec:
    bus_bits: int
    link_clock_mhz: float
    ifmap_compression: str = "none"
    ofmap_compression: str = "none"
    weight_compression: str = "none"
    compress_first_layer_input: bool = False
    rlc: RlcSpec = RlcSpec()


@dataclass(frozen=True, slots=True, kw_only=True)
class MacSpec:
    kind: str = "int"
    bits: int = 16
    macs_per_pe_per_cycle: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SparsitySpec:
    ifmap: str = "none"
    weight: str = "none"


MAPPER_OBJECTIVES = ("energy", "delay", "edp")


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperSpec:
    """How the chip's compiler chooses a layer's mapping.

    ``energy``: least energy, ties broken by fewer cycles (the default).
    ``delay``: fewest cycles, ties broken by less energy.
    ``edp``: least energy x cycles.
    ``top_k``: how many of the best-estimated candidates are executed exactly.
    """

    objective: str = "energy"
    top_k: int = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergySpec:
    """Energy reference table: pJ per action.

    Storage and network entries are per access of ``reference_bits`` bits; a
    transfer of ``b`` bits costs ``b / reference_bits`` accesses. ``mac_pj`` is one
    MAC at the core's native precision.
    """

    dram_pj: float
    glb_pj: float
    noc_pj: float
    spad_pj: float
    mac_pj: float
    reference_bits: int = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchSpec:
    name: str
    core_clock_mhz: float
    pe_array: PeArraySpec
    ifmap_spad: ScratchpadSpec
    filter_spad: ScratchpadSpec
    psum_spad: ScratchpadSpec
    glb: GlobalBufferSpec
    noc: NocSpec
    dram: DramSpec
    mac: MacSpec
    sparsity: SparsitySpec
    energy: EnergySpec
    mapper: MapperSpec = MapperSpec()
    description: str = ""
    source: str = ""

    @property
    def dram_bytes_per_cycle(self) -> float:
        """DRAM link bandwidth in bytes per core cycle."""
        return self.dram.bus_bits / 8 * self.dram.link_clock_mhz / self.core_clock_mhz
