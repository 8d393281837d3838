"""Row-stationary mapping of a conv/linear layer onto an Eyeriss-style array.

Place in the pipeline: ``spec + workload -> mapping`` (this module) ``-> engine``.

Vocabulary (Chen et al., IEEE JSSC 52(1) 2017, Sec. III-B and Table III):

- *logical PE set*: R x e PEs for one 2-D convolution (one channel of one filter):
  PE (i, j) holds filter row i and computes psum row j; psums accumulate up the
  R PEs of a column. ``e`` is the number of ofmap rows per set (*strip-mining*
  of P when P is too tall).
- *folding*: a set wider than the array (e > cols) is cut into ``segments`` of at
  most ``cols`` columns stacked vertically (AlexNet CONV2: 5 x 27 -> 5 x 14 + 5 x 13).
- *replication*: ``r`` sets side by side work on different channels (their psums
  are summed), ``t`` on different filters, ``gp`` on different groups.
- in each PE: ``p`` filters and ``q`` channels (spad needs: q*S ifmap, p*q*S
  filter, p psum entries).
- in the GLB: ``m`` filters (a multiple of p*t) and ``n`` images per pass.

Loop nest, outer to inner (the chip's computation order m -> C -> E -> M, with
images and groups outermost)::

    for groups in blocks of gp:
     for filters in blocks of m:            # psums of m filters live in the GLB
      for images in blocks of n:
       for ofmap rows in strips of e:
        for channels in blocks of q*r:      # ifmap tile in the GLB
         for filters in blocks of p*t:      # one processing pass of the array
           load filters into the spads
           for each image: stream ifmaps, compute, send psums up and out

Counts in this module are closed forms for dense data, used by the search to
rank candidates; the engine counts the chosen mapping pass by pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from accelsim.spec.arch import ArchSpec
from accelsim.workload.layer import Layer, ceil_div


@dataclass(frozen=True, slots=True, kw_only=True)
class Mapping:
    """The row-stationary folding of one layer (JSSC 2017 Table III parameters)."""

    e: int   # ofmap rows per PE set
    p: int   # filters per PE
    q: int   # channels per PE
    r: int   # sets in parallel on different channels
    t: int   # sets in parallel on different filters
    gp: int  # sets in parallel on different groups
    m: int   # filters per GLB pass (multiple of p*t)
    n: int   # images per GLB pass
    segments: int  # vertical segments of a folded set (ceil(e / cols))
    r_rows: int    # filter rows mapped per set (R)

    @property
    def sets(self) -> int:
        return self.r * self.t * self.gp

    @property
    def active_pes(self) -> int:
        """PEs busy in a full processing pass (the chip's 'active PEs')."""
        return self.sets * self.r_rows * self.e

    def as_dict(self) -> dict:
        return {"e": self.e, "p": self.p, "q": self.q, "r": self.r, "t": self.t,
                "gp": self.gp, "m": self.m, "n": self.n, "segments": self.segments}


@dataclass(frozen=True, slots=True, kw_only=True)
class MappingResult:
    """A chosen mapping, or the reason why no legal mapping exists."""

    mapping: Mapping | None
    reason: str = ""
    candidates: int = 0

    @property
    def feasible(self) -> bool:
        return self.mapping is not None


@dataclass(frozen=True, slots=True)
class StripTable:
    """Per strip of e ofmap rows: rows in it, input rows it reads, PE-row pairs."""

    e_act: np.ndarray      # int64 [strips] ofmap rows in the strip
    rows_in: np.ndarray    # int64 [strips] non-padded input rows the strip reads
    row_lo: np.ndarray     # int64 [strips] first such input row
    pe_rows: np.ndarray    # int64 [strips] (ofmap row, filter row) pairs on real input


@lru_cache(maxsize=4096)
def _strip_table_cached(p_out: int, e: int, h: int, r: int, stride: int, pad: int,
                        dil: int) -> StripTable:
    starts = np.arange(0, p_out, e, dtype=np.int64)
    e_act = np.minimum(e, p_out - starts)
    reff = dil * (r - 1) + 1
    lo = np.maximum(0, starts * stride - pad)
    hi = np.minimum(h, (starts + e_act - 1) * stride - pad + reff)
    rows_in = np.maximum(0, hi - lo)
    o = np.arange(p_out, dtype=np.int64)[:, None]
    i = np.arange(r, dtype=np.int64)[None, :]
    idx = o * stride + i * dil - pad
    valid = ((idx >= 0) & (idx < h)).sum(axis=1)
    pe_rows = np.add.reduceat(valid, starts) if p_out else np.zeros(0, np.int64)
    return StripTable(e_act, rows_in, lo, pe_rows.astype(np.int64))


def strip_table(layer: Layer, e: int) -> StripTable:
    return _strip_table_cached(layer.p, e, layer.h, layer.r, layer.stride_h, layer.pad_h,
                               layer.dilation_h)


def _e_options(p_out: int) -> list[int]:
    """Strip heights worth trying: the smallest e giving each number of strips."""
    return sorted({ceil_div(p_out, k) for k in range(1, p_out + 1)})


def _glb_banks(nbytes: int, bank: int) -> int:
    return ceil_div(nbytes, bank)


def candidates(layer: Layer, arch: ArchSpec) -> tuple[np.ndarray, str]:
    """Every legal mapping worth ranking, as rows of an int64 array.

    Columns: e, p, q, r, t, gp, m, n, segments. Returns (array, reason); the
    array is empty and ``reason`` says why when nothing fits.

    Pruning (documented so the search is reproducible): for given (e, q, p, r,
    gp) only the largest t that fits is kept, and for given everything else only
    the largest m that fits the GLB and the m that balances the filter blocks;
    gp is 1 or as large as fits.
    """
    rows, cols = arch.pe_array.rows, arch.pe_array.cols
    R, S = layer.r, layer.s
    if R > rows:
        return np.zeros((0, 9), np.int64), (
            f"filter height {R} exceeds the {rows} PE rows; folding filter rows across "
            "passes is not modeled")
    act_bytes = arch.ifmap_spad.word_bits / 8
    psum_bytes = arch.psum_spad.word_bits / 8
    bank = arch.glb.bank_size_bytes
    out = []
    reason = ""
    q_max = min(arch.ifmap_spad.entries // S, layer.c)
    if q_max < 1:
        return np.zeros((0, 9), np.int64), (
            f"filter width {S} exceeds the ifmap scratchpad of {arch.ifmap_spad.entries} entries")
    filter_buffer = arch.glb.filter_banks * arch.glb.filter_bank_size_bytes
    w_bytes = arch.filter_spad.word_bits / 8
    for e in _e_options(layer.p):
        segments = ceil_div(e, cols)
        set_rows, set_cols = R * segments, min(e, cols)
        if set_rows > rows:
            continue
        n_sets = (rows // set_rows) * (cols // set_cols)
        st = strip_table(layer, e)
        rows_in_max = int(st.rows_in.max())
        for q in range(1, q_max + 1):
            p_max = min(arch.psum_spad.entries, arch.filter_spad.entries // (q * S), layer.k)
            for p in range(1, p_max + 1):
                r_max = min(n_sets, ceil_div(layer.c, q))
                for gp in sorted({1, min(layer.groups, n_sets)}):
                    for r in range(1, r_max + 1):
                        if r * gp > n_sets:
                            break
                        t = min(n_sets // (r * gp), ceil_div(layer.k, p))
                        pt = p * t
                        if gp * pt * q * r * R * S * w_bytes > filter_buffer:
                            reason = reason or "a pass's filters exceed the filter buffer"
                            continue
                        for n in range(1, layer.n + 1):
                            ifmap_b = _glb_banks(int(gp * n * q * r * rows_in_max * layer.w
                                                     * act_bytes), bank)
                            free = arch.glb.banks - ifmap_b
                            per_m = gp * n * e * layer.q * psum_bytes
                            if free < 1 or _glb_banks(int(per_m * pt), bank) > free:
                                reason = reason or "psums of one pass do not fit the GLB"
                                continue
                            mk_max = min(ceil_div(layer.k, pt), int(free * bank // (per_m * pt)))
                            m_opts = {mk_max * pt}
                            blocks = ceil_div(layer.k, mk_max * pt)
                            m_opts.add(ceil_div(ceil_div(layer.k, pt), blocks) * pt)
                            for m in sorted(m_opts):
                                out.append((e, p, q, r, t, gp, m, n, segments))
    if not out:
        return np.zeros((0, 9), np.int64), reason or "no row-stationary mapping fits"
    return np.array(out, dtype=np.int64), ""


def mapping_from_row(row, layer: Layer) -> Mapping:
    e, p, q, r, t, gp, m, n, seg = (int(x) for x in row)
    return Mapping(e=e, p=p, q=q, r=r, t=t, gp=gp, m=m, n=n, segments=seg, r_rows=layer.r)
