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
  multicast in one cycle where the chip has it), plus the dedicated psum link
  between vertically adjacent PEs.
- *DRAM*: off-chip memory behind a link of ``bus_bits`` at ``link_clock_mhz``.
"""

from __future__ import annotations

from dataclasses import dataclass

from accelsim.enums import Level, Tensor
from accelsim.errors import AccelsimError

SPARSITY_MODES = ("none", "gate", "skip")
COMPRESSION_FORMATS = ("none", "rlc", "csc", "bitmap", "block")


@dataclass(frozen=True, slots=True, kw_only=True)
class PeArraySpec:
    """The PE array.

    ``psum_accumulate_cycles``: cycles a PE spends, per filter and output pixel,
    adding the psum that arrives from the PE below (or from the GLB): 1 when the
    MAC's adder does it, 0 when a separate adder or the pipeline hides it.
    """

    rows: int
    cols: int
    pipeline_depth: int = 3
    psum_accumulate_cycles: int = 0

    @property
    def pes(self) -> int:
        return self.rows * self.cols


@dataclass(frozen=True, slots=True, kw_only=True)
class ScratchpadSpec:
    """One per-PE scratchpad: ``entries`` words of ``word_bits``.

    Values are packed into words and never straddle two: a word holds
    ``word_bits // bits`` values, so the scratchpad holds
    ``entries * (word_bits // bits)`` (4-bit weights fill a 16-bit-word spad
    four to a word; 5-bit ones three to a word, one bit unused). A value wider
    than the word takes ``ceil(bits / word_bits)`` whole words.
    """

    entries: int
    word_bits: int = 16

    def values(self, bits: int) -> int:
        """How many values of ``bits`` the scratchpad holds (whole values per word)."""
        if bits <= self.word_bits:
            return self.entries * (self.word_bits // bits)
        return self.entries // -(-bits // self.word_bits)


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalBufferSpec:
    """Global buffer: ifmap/psum banks and a filter buffer.

    ``word_bits``: each bank is a single-ported SRAM that reads or writes one
    word of ``word_bits`` per cycle (Eyeriss: 25 banks of 512 x 64 b, JSSC 2017
    Sec. IV-B). A tensor's region (the banks a mapping gives ifmaps or psums,
    ``accelsim.engine.simulate.glb_banks``; the filter banks for weights) thus
    moves at most ``banks x word_bits`` bits per cycle, reads and writes
    together; the engine charges a pass at least its traffic with each region
    over that bandwidth. Assumption: a region's words are interleaved over its
    banks, so a pass's stream uses all of them.
    ``ifmap_double_buffering`` / ``psum_double_buffering``: whether the DMA may
    fetch the next ifmap tile, or start the next psum region, while the
    current one is in use, when the banks have room for two.
    ``stores_padding``: the ifmap tile is stored with its zero padding (written
    by the DMA, not fetched from DRAM), streamed to the PEs with it.
    ``ifmap_compression`` / ``weight_compression``: the format the GLB keeps the
    tensor in (see FormatsSpec); a compressed tensor also crosses the NoC
    compressed (Eyeriss v2 keeps CSC into the PE, Chen et al. JETCAS 2019 Sec.
    III-D), so GLB and NoC bits, bus cycles and GLB bandwidth are those of the
    real data coded in that format, and a CSC tensor stays CSC in the spads
    (the sparse PE, JETCAS 2019 Sec. IV). Assumptions: capacities stay those of
    the dense data (the mapping is chosen before the data is seen, so a tile
    must fit uncompressed), the ifmap ramp-up at the start of a pass moves
    dense words, and psums are stored dense.
    """

    banks: int
    bank_size_bytes: int
    filter_banks: int
    filter_bank_size_bytes: int
    word_bits: int = 64
    ifmap_double_buffering: bool = True
    psum_double_buffering: bool = True
    stores_padding: bool = False
    ifmap_compression: str = "none"
    weight_compression: str = "none"

    @property
    def size_bytes(self) -> int:
        return self.banks * self.bank_size_bytes + self.filter_banks * self.filter_bank_size_bytes


MULTICAST_TENSORS = ("filter", "ifmap")


@dataclass(frozen=True, slots=True, kw_only=True)
class MulticastSpec:
    """Which buses deliver one value to many PEs in one transfer.

    With multicast (Eyeriss: the Y-bus and X-buses deliver to every PE whose ID
    matches, JSSC 2017 Sec. IV-C) a bus moves each value once per pass (filters)
    or per image (ifmaps), however many PEs take it. Without it (unicast) the
    bus delivers to each destination separately, so bus words, bus cycles and
    NoC energy count one per spad write. The GLB still reads each value once
    (assumption: the value is held at the bus's source while it is sent to
    each destination). Psums have no entry: each goes to one PE (the ipsum of a
    column's bottom PE) or from one PE to the GLB, so multicast does not apply.
    In YAML ``noc.multicast`` is ``true``/``false`` for both, or a mapping
    ``{filter: ..., ifmap: ...}``.
    """

    filter: bool = True
    ifmap: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class NocSpec:
    """Buses from the GLB into the array, one per tensor, plus the psum link.

    The psum bus is taken as full duplex: ``psum_bus_bits`` in each direction
    (GLB to array for psums being accumulated, array to GLB for results).
    Assumption: the JSSC 2017 paper gives one 64 b width for the psum network
    without saying how reads and writes share it.
    ``psum_link_bits``: the dedicated link between vertically adjacent PEs
    (JSSC 2017 Sec. IV-C) carries ``floor(psum_link_bits / psum bits)`` psums a
    cycle (a psum wider than the link takes ``ceil(psum bits / link bits)``
    cycles). Per image each PE of a column forwards its p filters x Q output
    pixels upward, so a pass streams no faster than that.
    """

    filter_bus_bits: int
    ifmap_bus_bits: int
    psum_bus_bits: int
    psum_link_bits: int
    multicast: MulticastSpec = MulticastSpec()


@dataclass(frozen=True, slots=True, kw_only=True)
class RlcSpec:
    """Run-length coding (Eyeriss JSSC 2017 Sec. V-A): words of ``word_bits``
    holding ``pairs_per_word`` (zero run of ``run_bits``, value) pairs.

    ``value_bits``: the width of the value field. ``None`` (YAML: absent or
    ``data``): the tensor's own bit width, so narrower data packs more pairs
    a word; given (Eyeriss v1: 16), the field is that wide whatever the data,
    and data wider than it cannot be coded (a run-time error naming the layer).
    ``pairs_per_word``: ``None`` derives ``floor(word_bits / (run_bits +
    value field))``; Eyeriss v1 packs 3 pairs of 5 + 16 bits in 64.
    """

    run_bits: int = 5
    value_bits: int | None = None
    pairs_per_word: int | None = None
    word_bits: int = 64

    def value_field_bits(self, data_bits: int) -> int:
        """Width of the value field when coding ``data_bits``-bit values."""
        return data_bits if self.value_bits is None else self.value_bits

    def pairs(self, data_bits: int) -> int:
        """Pairs per word when coding ``data_bits``-bit values (0: none fits)."""
        if self.pairs_per_word is not None:
            return self.pairs_per_word
        return self.word_bits // (self.run_bits + self.value_field_bits(data_bits))


@dataclass(frozen=True, slots=True, kw_only=True)
class CscSpec:
    """Compressed sparse column (Eyeriss v2, Chen et al. JETCAS 2019 Sec. III-D):
    per nonzero a value and a ``count_bits`` count of the zeros before it (a
    longer zero run takes an extra entry), per column an ``address_bits`` start
    address. In the GLB and on the NoC a column is one image of a feature-map
    tile or one filter of a pass (``kernels._tile_bits``). A tensor the GLB
    keeps in CSC stays CSC in the PE (the sparse PE of JETCAS 2019): each spad
    access moves a value with its count, and the PE reads a column address
    for each row it holds (one input row of one channel; the S taps of one
    filter and channel) once per image."""

    count_bits: int = 4
    address_bits: int = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class BlockSpec:
    """Zero-block skipping: the data, in storage order, cut into consecutive
    blocks of ``block_elems`` values (the last one as long as the data left),
    one flag bit per block, only blocks holding a nonzero stored, densely.
    Blocks run across row ends: each transfer is coded as one stream, as the
    other formats code it (``engine.kernels._tile_bits``)."""

    block_elems: int = 8


@dataclass(frozen=True, slots=True, kw_only=True)
class FormatsSpec:
    """Parameters of the compression formats (bitmap: one bit per value plus
    the nonzero values, needs none)."""

    rlc: RlcSpec = RlcSpec()
    csc: CscSpec = CscSpec()
    block: BlockSpec = BlockSpec()


@dataclass(frozen=True, slots=True, kw_only=True)
class DramSpec:
    """Off-chip memory: its link, the formats tensors are stored in, bursts.

    Every DRAM transfer (an ifmap tile, a pass's filters, a pass's results)
    moves whole bursts of ``burst_bytes``: compressed or skipped data still
    costs the bursts it touches.
    """

    bus_bits: int
    link_clock_mhz: float
    ifmap_compression: str = "none"
    ofmap_compression: str = "none"
    weight_compression: str = "none"
    compress_first_layer_input: bool = False
    burst_bytes: int = 0  # 0: one bus word


MAC_KINDS = ("int", "precision_scalable", "bit_serial", "multi_function")
SERIAL_OPERANDS = ("act", "weight")


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorSupport:
    """One operator a MAC core can run, at which weight and activation widths.

    Every (weight_bits, act_bits) pair of the two lists is supported (the
    operator's own rules, :data:`accelsim.workload.layer.OPERATOR_RULES` as
    :func:`accelsim.workload.layer.operator_bits_ok` applies them, still hold:
    ``fp`` needs equal widths, ``binary`` 1 x 1, ...). A width is listed once.
    ``exponent_min`` / ``exponent_max`` (``shift`` only): the range of the
    power-of-two weight's exponent, a weight being +-2**e.
    """

    operator: str
    weight_bits: tuple[int, ...]
    act_bits: tuple[int, ...]
    exponent_min: int = -7
    exponent_max: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class MacSpec:
    """The MAC core of each PE (see :mod:`accelsim.spec.mac` for the rules).

    ``kind`` names the core's throughput rule:

    - ``int``: a fixed integer core, the model of Eyeriss v1/v2: operator
      ``int`` at any width, ``macs_per_pe_per_cycle`` MACs per cycle whatever
      the width, each costing ``energy.mac_pj`` (precision changes storage, not
      the MAC).
    - ``precision_scalable``: a ``bits`` x ``bits`` core fused from
      ``min_bits`` bricks (2 in Bit Fusion; a power of two dividing ``bits``),
      Bit Fusion style (Sharma et al., ISCA 2018); integer modes only.
    - ``bit_serial``: the ``serial_operand`` is fed one bit per cycle, the
      other in parallel (up to ``bits`` wide), as in Stripes (Judd et al.,
      MICRO 2016).
    - ``multi_function``: one dedicated datapath per declared operator (an
      int8 MAC beside an fp16 FMA, say), each running
      ``macs_per_pe_per_cycle`` operations a cycle at any declared width up to
      ``bits``; the way to run ``fp``/``bfloat`` at one operation a cycle.

    ``operators``: what a reconfigurable core supports (empty for ``int``).
    ``reconfig_energy_fraction``: extra energy per operation that the
    reconfigurable datapath costs (muxes, wider fused adders), as a fraction of
    the operation's energy, at most 1; ``reconfig_area_fraction`` the same for
    area. ``min_bits`` is read by ``precision_scalable`` cores only.
    ``technology_scale``: energy of an operation relative to the 45 nm table of
    :mod:`accelsim.energy.operators` (1.0 = 45 nm); ``technology_area_scale``
    likewise for area.
    """

    kind: str = "int"
    bits: int = 16
    macs_per_pe_per_cycle: int = 1
    operators: tuple[OperatorSupport, ...] = ()
    serial_operand: str = "act"
    min_bits: int = 2
    reconfig_energy_fraction: float = 0.0
    reconfig_area_fraction: float = 0.0
    technology_scale: float = 1.0
    technology_area_scale: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SparsitySpec:
    """What the PEs do with a zero operand, per operand.

    ``none``: nothing, the MAC is performed. ``gate``: the MAC and the other
    operand's read are gated, saving energy but not the cycle (Eyeriss v1 for
    ifmaps). ``skip``: the zero is never processed, costing neither cycle nor
    energy (Eyeriss v2 for both); the PE then walks only the nonzero work.
    """

    ifmap: str = "none"
    weight: str = "none"


MAPPER_OBJECTIVES = ("energy", "delay", "edp")
STRIP_MINING = ("search", "when_needed")


@dataclass(frozen=True, slots=True, kw_only=True)
class MapperSpec:
    """How the chip's compiler chooses a layer's mapping.

    ``energy``: least energy, ties broken by fewer cycles (the default).
    ``delay``: fewest cycles, ties broken by less energy.
    ``edp``: least energy x cycles.
    ``top_k``: how many of the best-estimated candidates are executed exactly.
    ``strip_mining``: ``search`` tries every strip height e; ``when_needed``
    strip-mines only when the whole ofmap height cannot be mapped (e = P is
    kept whenever a legal mapping with it exists), as the Eyeriss mapper does
    (Chen et al., ISCA 2016 Sec. V: a logical PE set is strip-mined when it does
    not fit; JSSC 2017 Table III uses e = E for every AlexNet layer whose folded
    set fits the array).
    """

    objective: str = "energy"
    top_k: int = 8
    strip_mining: str = "search"


# the storages whose access energy may scale with their size, and the
# (level, tensor) cells of the count arrays each one's accesses land in
SCALED_STORAGES: dict[str, tuple[tuple[Level, Tensor], ...]] = {
    "glb": ((Level.GLB, Tensor.IFMAP), (Level.GLB, Tensor.PSUM)),
    "glb_filter": ((Level.GLB, Tensor.WEIGHT),),
    "ifmap_spad": ((Level.SPAD, Tensor.IFMAP),),
    "filter_spad": ((Level.SPAD, Tensor.WEIGHT),),
    "psum_spad": ((Level.SPAD, Tensor.PSUM),),
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergySpec:
    """Energy reference table: pJ per action.

    Storage and network entries are per access of ``reference_bits`` bits; a
    transfer of ``b`` bits costs ``b / reference_bits`` accesses. ``mac_pj`` is one
    MAC at the core's native precision: the MAC energy of an ``int`` core; a
    reconfigurable core prices each operation from the operator table of
    :mod:`accelsim.energy.operators`, entries of ``operator_pj`` overriding it.

    Size scaling (``reference_bytes``, ``size_exponent``): ``glb_pj`` and
    ``spad_pj`` are what an access costs in a memory of a given size; a
    storage named in ``reference_bytes`` (a name of :data:`SCALED_STORAGES`)
    with that reference size costs ``pj x (size / reference) ** size_exponent``
    at the arch's own size, so a design point with a bigger buffer pays for
    it on every access. A storage not named costs the table's entry at any
    size. Assumption, with its source: an SRAM access grows about as the square
    root of the capacity (the bit and word lines of a square array; Horowitz,
    "Computing's energy problem (and what we can do about it)", ISSCC 2014,
    45 nm: a 64-bit cache read costs 10 pJ at 8 kB, 20 pJ at 32 kB and 100 pJ
    at 1 MB, exponents 0.50 and 0.46), so ``size_exponent`` defaults to 0.5.
    Each storage is scaled by its own size: the GLB's ifmap/psum banks
    together, its filter banks, and each spad (``ArchSpec.storage_bytes``).
    DRAM and the NoC are never scaled.
    Assumptions: a storage's size is its whole capacity in bytes (entries x
    word bits for a spad), so narrower words shrink both the bits an access
    moves and the price per bit; the GLB's ifmap/psum banks scale by their
    total, although an access reads one bank (the wires to a bank of a larger
    buffer grow with it, its array does not): an upper estimate of the growth.
    The references anchor one file's table: the shipped archs give their own
    sizes, each keeping its table as it was, so compare sizes by sweeping
    around one base, not across files anchored differently.
    """

    dram_pj: float
    glb_pj: float
    noc_pj: float
    spad_pj: float
    mac_pj: float
    reference_bits: int = 16
    # pJ per operation overriding the default operator table, at the chip's
    # technology: ((operator, weight_bits, act_bits), pJ) pairs
    operator_pj: tuple[tuple[tuple[str, int, int], float], ...] = ()
    # (storage, bytes) pairs: the size at which glb_pj / spad_pj hold for it
    reference_bytes: tuple[tuple[str, int], ...] = ()
    size_exponent: float = 0.5

    def __post_init__(self) -> None:
        if not 0 <= self.size_exponent <= 1:
            raise AccelsimError(f"energy.size_scaling.exponent: must be a number from 0 to 1 "
                                f"(got {self.size_exponent!r})")
        for storage, ref in self.reference_bytes:
            if storage not in SCALED_STORAGES:
                raise AccelsimError(f"energy.size_scaling.reference_bytes.{storage}: unknown "
                                    f"storage (known: {', '.join(SCALED_STORAGES)})")
            if isinstance(ref, bool) or not isinstance(ref, int) or ref < 1:
                raise AccelsimError(f"energy.size_scaling.reference_bytes.{storage}: must be "
                                    f"an integer >= 1 (got {ref!r})")



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
    formats: FormatsSpec = FormatsSpec()
    description: str = ""
    source: str = ""

    def storage_bytes(self, storage: str) -> float:
        """Capacity in bytes of a storage of :data:`SCALED_STORAGES`: the GLB's
        ifmap/psum banks (``glb``) or filter banks (``glb_filter``), or one
        PE's spad (``ifmap_spad``, ``filter_spad``, ``psum_spad``)."""
        g = self.glb
        spads = {"ifmap_spad": self.ifmap_spad, "filter_spad": self.filter_spad,
                 "psum_spad": self.psum_spad}
        if storage == "glb":
            return float(g.banks * g.bank_size_bytes)
        if storage == "glb_filter":
            return float(g.filter_banks * g.filter_bank_size_bytes)
        return spads[storage].entries * spads[storage].word_bits / 8

    def storage_factors(self) -> tuple[tuple[float, float, float], ...]:
        """Multipliers of the energy table's per-access costs, [Level][Tensor]:
        ``(size / reference) ** size_exponent`` in the cells of each storage
        ``energy.reference_bytes`` names (EnergySpec), 1.0 elsewhere."""
        factors = [[1.0, 1.0, 1.0] for _ in Level]
        for storage, ref in self.energy.reference_bytes:
            f = (self.storage_bytes(storage) / ref) ** self.energy.size_exponent
            for level, tensor in SCALED_STORAGES[storage]:
                factors[level][tensor] = f
        return tuple(tuple(row) for row in factors)

    @property
    def dram_burst_bytes(self) -> int:
        return self.dram.burst_bytes or self.dram.bus_bits // 8

    @property
    def dram_bytes_per_cycle(self) -> float:
        """DRAM link bandwidth in bytes per core cycle."""
        return self.dram.bus_bits / 8 * self.dram.link_clock_mhz / self.core_clock_mhz
