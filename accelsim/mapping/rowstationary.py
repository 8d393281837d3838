"""Row-stationary mapping of a conv/linear layer onto an Eyeriss-style array.

Place in the pipeline: ``spec + workload -> mapping`` (this module) ``-> engine``.

Vocabulary (Chen et al., IEEE JSSC 52(1) 2017, Sec. III-B and Table III):

- *logical PE set*: R x e PEs for one 2-D convolution (one channel of one filter):
  PE (i, j) holds filter row i and computes psum row j; psums accumulate up the
  R PEs of a column. ``e`` is the number of ofmap rows per set (*strip-mining*
  of P when P is too tall).
- *folding*: a set wider than the array (e > cols) is cut into ``segments`` of at
  most ``cols`` columns stacked vertically (AlexNet CONV2: 5 x 27 -> 5 x 14 + 5 x 13).
  A filter taller than the array (R > rows) is folded too, into blocks of
  ``r_rows`` filter rows run in successive passes whose psums accumulate
  through the GLB, as channel blocks' do (the fewest balanced blocks:
  :func:`accelsim.mapping.kernels.filter_rows_per_set`; an assumption, the
  chip never needs it, and a filter that fits is never folded).
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
         for filter rows in blocks of r_rows:   # one block unless R > rows
          for filters in blocks of p*t:     # one processing pass of the array
           load filters into the spads
           for each image: stream ifmaps, compute, send psums up and out

Counts in this module are closed forms for dense data, used by the search to
rank candidates; the engine counts the chosen mapping pass by pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from accelsim.mapping.constraints import format_constraint
from accelsim.mapping.kernels import (
    L_ACT_BITS, L_BANK_BYTES, L_BANKS, L_C, L_COLS, L_FILT_VALUES, L_G, L_K, L_LEN, L_N,
    L_PSUM_BITS, L_PSUM_ENTRIES, L_Q, L_QMAX, L_R, L_ROWS, L_S, L_WIDTH, ST_M_EXCEEDS,
    ST_M_NOT_MULTIPLE, ST_M_PSUMS_NO_FIT, ST_NO_FREE_BANK, ST_OK, ST_PSUMS_NO_FIT,
    ST_SET_TOO_BIG, ST_SETS_SHORT, _enumerate, filter_rows_per_set)
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
    r_rows: int    # filter rows per set: R, or fewer when a filter taller than the
                   # array is folded into ceil(R / r_rows) passes (filter_rows_per_set)

    @property
    def sets(self) -> int:
        return self.r * self.t * self.gp

    @property
    def active_pes(self) -> int:
        """PEs busy in a full processing pass (the chip's 'active PEs')."""
        return self.sets * self.r_rows * self.e

    def as_dict(self) -> dict:
        return {"e": self.e, "p": self.p, "q": self.q, "r": self.r, "t": self.t,
                "gp": self.gp, "m": self.m, "n": self.n, "segments": self.segments,
                "r_rows": self.r_rows}


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
    """Per strip of e ofmap rows: its rows, the input rows it reads, PE-row pairs.

    ``row_idx[row_ptr[s]:row_ptr[s+1]]`` are the real (non-padding) input rows
    strip ``s`` reads, in order; a stride larger than the filter's reach skips
    rows, and skipped rows are not moved.
    """

    e_act: np.ndarray      # int64 [strips] ofmap rows in the strip
    rows_in: np.ndarray    # int64 [strips] real input rows the strip reads
    row_ptr: np.ndarray    # int64 [strips + 1]
    row_idx: np.ndarray    # int64 [sum(rows_in)]
    pe_rows: np.ndarray    # int64 [strips] (ofmap row, filter row) pairs on real input
    rows_padded: np.ndarray  # int64 [strips] input rows read, padding rows included
    filter_rows: int       # the filter rows the table is for (R, or a fold's)


@lru_cache(maxsize=4096)
def _strip_table_cached(p_out: int, e: int, h: int, r: int, stride: int, pad: int,
                        dil: int) -> StripTable:
    starts = np.arange(0, p_out, e, dtype=np.int64)
    e_act = np.minimum(e, p_out - starts)
    o = np.arange(p_out, dtype=np.int64)[:, None]
    i = np.arange(r, dtype=np.int64)[None, :]
    idx = o * stride + i * dil - pad
    valid = (idx >= 0) & (idx < h)
    pe_rows = np.add.reduceat(valid.sum(axis=1), starts)
    rows = [np.unique(idx[s:s + n][valid[s:s + n]]) for s, n in zip(starts, e_act)]
    rows_padded = np.array([len(np.unique(idx[s:s + n])) for s, n in zip(starts, e_act)],
                           dtype=np.int64)
    rows_in = np.array([len(x) for x in rows], dtype=np.int64)
    row_ptr = np.concatenate([[0], np.cumsum(rows_in)]).astype(np.int64)
    row_idx = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
    return StripTable(e_act, rows_in, row_ptr, row_idx, pe_rows.astype(np.int64), rows_padded,
                      r)


def glb_ifmap_rows(layer: Layer, arch: ArchSpec, st: StripTable) -> tuple[np.ndarray, np.ndarray, int]:
    """Per strip, the ifmap rows the GLB holds and the PE-rows fed; and the row width.

    With ``glb.stores_padding`` the GLB holds the padded ifmap (Eyeriss: JSSC
    2017 Table III gives the padded height H), so padding rows and columns are
    stored, streamed over the ifmap bus and delivered to every PE of a set;
    otherwise only real rows and columns are.
    """
    if arch.glb.stores_padding:
        return st.rows_padded, st.e_act * st.filter_rows, layer.w + 2 * layer.pad_w
    return st.rows_in, st.pe_rows, layer.w


def strip_table(layer: Layer, e: int, first_row: int = 0, rows: int | None = None
                ) -> StripTable:
    """The strips of ``e`` ofmap rows, for filter rows ``first_row`` ..
    ``first_row + rows - 1`` (all R by default; a fold of a filter taller than
    the array otherwise): a filter of those rows whose padding is shifted by
    ``first_row`` rows."""
    rows = layer.r - first_row if rows is None else rows
    return _strip_table_cached(layer.p, e, layer.h, rows, layer.stride_h,
                               layer.pad_h - first_row * layer.dilation_h, layer.dilation_h)


def _e_options(p_out: int) -> list[int]:
    """Strip heights worth trying: the smallest e giving each number of strips."""
    return sorted({ceil_div(p_out, k) for k in range(1, p_out + 1)})


def _fixed_problems(layer: Layer, arch: ArchSpec, fixed: dict[str, int], *, q_max: int,
                    if_values: int, filt_values: int) -> list[str]:
    """What makes the fixed values illegal whatever the other parameters are.

    Cheap checks on the layer and the arch alone, each with the other
    parameters at their smallest (1), which is where every check is easiest to
    pass: a value failing here fails for every mapping. Checks that depend on
    the strip height (how many PE sets fit) or on the GLB are left to the
    enumeration in :func:`candidates`.
    """
    S, C, K = layer.s, layer.c, layer.k
    e, p, q, r, t, gp, m, n = (fixed.get(k) for k in ("e", "p", "q", "r", "t", "gp", "m", "n"))
    p1, q1 = p or 1, q or 1
    out = []
    if e is not None and e > layer.p:
        out.append(f"e = {e} exceeds the layer's {layer.p} ofmap rows")
    if q is not None and q > C:
        out.append(f"q = {q} exceeds the layer's {C} channels")
    elif q is not None and q > q_max:
        out.append(f"q*S = {q * S} ifmap values exceed the ifmap scratchpad's {if_values} "
                   f"{layer.act_bits}-bit values")
    if p is not None and p > K:
        out.append(f"p = {p} exceeds the layer's {K} filters")
    elif p is not None and p > arch.psum_spad.entries:
        out.append(f"p = {p} psums exceed the psum scratchpad's {arch.psum_spad.entries} "
                   "entries")
    if (p is not None or q is not None) and p1 * q1 * S > filt_values:
        expr = "*".join(k for k, v in (("p", p), ("q", q)) if v is not None) + "*S"
        out.append(f"{expr} = {p1 * q1 * S} filter values exceed the filter scratchpad's "
                   f"{filt_values} {layer.weight_bits}-bit values")
    if r is not None and r > ceil_div(C, q1):
        out.append(f"r = {r} sets of q = {q1} channels leave a set without channels "
                   f"(the layer has {C})" if q is not None
                   else f"r = {r} exceeds the layer's {C} channels")
    if t is not None and t > ceil_div(K, p1):
        out.append(f"t = {t} sets of p = {p1} filters leave a set without filters "
                   f"(the layer has {K})" if p is not None
                   else f"t = {t} exceeds the layer's {K} filters")
    if gp is not None and gp > layer.groups:
        out.append(f"gp = {gp} exceeds the layer's group count {layer.groups}")
    if n is not None and n > layer.n:
        out.append(f"n = {n} exceeds the batch's {layer.n} images")
    if m is not None and p is not None and t is not None:
        pt = p * t
        if m % pt:
            out.append(f"m = {m} is not a multiple of p*t = {pt}")
        elif m > ceil_div(K, pt) * pt:
            out.append(f"m = {m} exceeds the layer's {K} filters rounded up to a multiple "
                       f"of p*t = {pt}")
    return out


def _sets_reason(fixed: dict[str, int], have: int, e: int, layer: Layer, arch: ArchSpec) -> str:
    """The PE sets the fixed replication (r, t, gp) needs and the most the array holds
    (``have`` sets of R x ``e``, the largest number over the strip heights tried)."""
    keys = [k for k in ("r", "t", "gp") if k in fixed]
    need = int(np.prod([fixed[k] for k in keys]))
    most = "" if "e" in fixed else "at most "
    rows, cols = arch.pe_array.rows, arch.pe_array.cols
    set_rows = filter_rows_per_set(layer.r, rows, ceil_div(e, cols))
    return (f"{'*'.join(keys)} = {need} PE sets exceed the {most}{have} sets of "
            f"{set_rows} x {e} that fit the {rows} x {cols} array")


_FIXED_KEYS = ("e", "p", "q", "r", "t", "gp", "m", "n")


def _reasons(status: np.ndarray, sets: np.ndarray, e_list: list[int], fixed: dict[str, int],
             layer: Layer, arch: ArchSpec) -> set[str]:
    """Why each strip height gave no mapping (``_enumerate``'s status), as sentences."""
    rows, cols, banks = arch.pe_array.rows, arch.pe_array.cols, arch.glb.banks
    mv = fixed.get("m")
    text = {
        ST_NO_FREE_BANK: f"the ifmap tile of one pass leaves none of the {banks} GLB banks "
                         "for psums",
        ST_PSUMS_NO_FIT: "the psums of one pass do not fit the GLB banks the ifmap tile leaves",
        ST_M_NOT_MULTIPLE: f"m = {mv} is not a multiple of p*t for any legal p and t",
        ST_M_EXCEEDS: f"m = {mv} exceeds the layer's {layer.k} filters rounded up to a "
                      "multiple of p*t",
        ST_M_PSUMS_NO_FIT: f"the psums of m = {mv} filters do not fit the GLB banks the "
                           "ifmap tile leaves",
    }
    out = set()
    short = None  # (most PE sets held, at e) where the fixed replication did not fit
    for st, n_sets, e in zip(status.tolist(), sets.tolist(), e_list):
        if st == ST_SET_TOO_BIG:
            # under a constraint that leaves e free, another e's failure is the reason
            # (if every e fails here the layer fits nothing: _constraint_reason)
            if not fixed or "e" in fixed:
                out.add(f"a PE set of {min(layer.r, rows)} x {e} does not fit the {rows} x "
                        f"{cols} array")
        elif st == ST_SETS_SHORT:
            # only fixed values get here (p = q = r = gp = t = 1 always fits), and
            # after _fixed_problems only the sets can be short
            if short is None or n_sets > short[0]:
                short = (n_sets, e)
        elif st != ST_OK:
            out.add(text[st])
    if short is not None:
        out.add(_sets_reason(fixed, *short, layer, arch))
    return out


N_COLUMNS = 10
"""Columns of a candidate row: e, p, q, r, t, gp, m, n, segments, and the filter
rows per set (``Mapping.r_rows``)."""

CHUNK_ROWS = 1 << 20
"""Candidate rows held at once (84 MB of int64) by the search. Most layers have
far fewer (a batch-1 FC layer on Eyeriss v1 about 46,000), but they grow with
the batch and the array: AlexNet fc6 at batch 64 has 4.3 million on Eyeriss v1
(348 MB as one table) and 13.7 million on a 64 x 64 array (1.1 GB). Larger sets
are enumerated again chunk by chunk (:meth:`CandidateSet.chunks`) and ranked
exactly across chunks (:func:`accelsim.run.choose_mapping`), so the search's
memory stops growing with them: on fc6 at batch 64 on a 64 x 64 array its peak
allocation measured 192 MB against 1.5 GB as one table
(``benchmarks/bench_search.py``)."""


class CandidateSet:
    """The legal mappings of one layer: ``count`` rows (e, p, q, r, t, gp, m, n,
    segments, r_rows), held as one table when they fit :data:`CHUNK_ROWS`, otherwise
    enumerated again each time they are read, a run of ``_enumerate``'s (e, q,
    p) blocks at a time (a block larger than a chunk is cut by ``skip``)."""

    __slots__ = ("_args", "_blocks", "_table", "count")

    def __init__(self, count: int, args: tuple, blocks: np.ndarray, table: np.ndarray | None):
        self.count = count
        self._args = args
        self._blocks = blocks
        self._table = table

    def _walk(self, rows: int, skip: int, b_lo: int, b_hi: int) -> np.ndarray:
        out = np.empty((rows, N_COLUMNS), np.int64)
        _enumerate(*self._args, out, skip, b_lo, b_hi, np.zeros_like(self._blocks))
        return out

    def chunks(self, rows: int = CHUNK_ROWS) -> Iterator[np.ndarray]:
        """The rows in enumeration order, at most ``rows`` at a time."""
        if self._table is not None:
            for start in range(0, self.count, rows):
                yield self._table[start:start + rows]
            return
        sizes = self._blocks.ravel().tolist()
        b = 0
        while b < len(sizes):
            end, held = b, 0
            while end < len(sizes) and held + sizes[end] <= rows:
                held += sizes[end]
                end += 1
            if end == b:  # one block larger than a chunk
                for skip in range(0, sizes[b], rows):
                    yield self._walk(min(rows, sizes[b] - skip), skip, b, b + 1)
                end = b + 1
            elif held:
                yield self._walk(held, 0, b, end)
            b = end

    def table(self) -> np.ndarray:
        """Every row in one array (memory grows with ``count``)."""
        if self._table is not None:
            return self._table
        return self._walk(self.count, 0, 0, self._blocks.size)


def candidate_set(layer: Layer, arch: ArchSpec, fixed: dict[str, int] | None = None, *,
                  table_rows: int = CHUNK_ROWS) -> tuple[CandidateSet | None, str]:
    """Every legal mapping worth ranking, enumerated on demand.

    Rows of columns e, p, q, r, t, gp, m, n, segments, r_rows (filter rows per
    set: :func:`accelsim.mapping.kernels.filter_rows_per_set`). Returns (set, reason);
    the set is None and ``reason`` says why when nothing fits. At most
    ``table_rows`` rows are held as one table; more are enumerated chunk by
    chunk when read.

    Legal: the folded PE set and its replicas fit the array; q*S ifmap and
    p*q*S filter values (packed at the layer's widths:
    ``ScratchpadSpec.values``) and p psum words fit the spads; the ifmap tile
    and the psums of m filters fit the GLB banks, each bank given wholly to
    one of them (JSSC 2017 Sec. IV-B). A pass's filters need not fit the
    filter buffer: larger ones stream through it from DRAM, as the chip does,
    and the engine then gives up prefetching the next pass's filters
    (``engine.simulate.hw_params``). Also required, as the enumeration builds
    them: e <= P, q <= C, p <= K, r <= ceil(C/q), t <= ceil(K/p), gp <= G,
    n <= N, m a multiple of p*t and at most ceil(K/(p*t))*(p*t).

    Pruning (documented so the search is reproducible): for given (e, q, p, r,
    gp) only the largest t the array's PE sets hold is tried (when the psums
    of that t do not fit the GLB, the combination is dropped, not retried
    with a smaller t: benchmarks/audit_search.py found a dropped t at most 4%
    better in energy x delay and 0.3% in energy than the best kept); for
    given everything else only the largest m that fits the GLB and the m that
    balances the filter blocks; gp is 1 or as large as fits; e is the
    smallest giving each number of strips.
    The enumeration runs compiled (``_enumerate``); tests/reference_model.py
    states these rules as plain loops, and a property test holds the two equal.

    ``fixed`` (a mapping file's entry, :mod:`accelsim.mapping.constraints`)
    maps some of e, p, q, r, t, gp, m, n to values: each is enumerated as
    exactly that value, bypassing the pruning above (any legal e, t, m or gp),
    and the legality checks still apply. When no legal mapping has the fixed
    values, ``reason`` starts ``no legal mapping satisfies mapping constraint
    {...}:`` and says which check failed; when the layer fits no mapping at
    all, constrained or not, it is the unconstrained reason. With ``fixed``
    None or empty the result is exactly the unconstrained enumeration.
    """
    fixed = dict(fixed or {})
    rows, cols = arch.pe_array.rows, arch.pe_array.cols
    R, S = layer.r, layer.s
    # spads and GLB hold packed values of the layer's widths (psums keep the
    # psum spad's word)
    if_values = arch.ifmap_spad.values(layer.act_bits)
    filt_values = arch.filter_spad.values(layer.weight_bits)
    q_max = min(if_values // S, layer.c)
    if q_max < 1:
        return None, (f"filter width {S} exceeds the ifmap scratchpad's {if_values} "
                      f"{layer.act_bits}-bit values")
    # p = q = 1 is the smallest filter-spad load (p*q*S values): if one filter
    # row does not fit, no (q, p) does
    if S > filt_values:
        return None, (f"a filter row of {S} taps exceeds the filter scratchpad's "
                      f"{filt_values} {layer.weight_bits}-bit values")
    if fixed:
        problems = _fixed_problems(layer, arch, fixed, q_max=q_max, if_values=if_values,
                                   filt_values=filt_values)
        if problems:
            return None, _constraint_reason(layer, arch, fixed, "; ".join(problems))
    e_list = [fixed["e"]] if "e" in fixed else _e_options(layer.p)
    e_arr = np.array(e_list, np.int64)
    rows_in_max = np.zeros(len(e_list), np.int64)
    g_width = layer.w
    for k, e in enumerate(e_list):
        if filter_rows_per_set(R, rows, ceil_div(e, cols)):
            g_rows, _, g_width = glb_ifmap_rows(layer, arch, strip_table(layer, e))
            rows_in_max[k] = g_rows.max()
    fx = np.array([fixed.get(key, -1) for key in _FIXED_KEYS], np.int64)
    lv = np.zeros(L_LEN, np.int64)
    lv[[L_ROWS, L_COLS, L_R, L_S, L_C, L_K, L_N, L_Q, L_G]] = (
        rows, cols, R, S, layer.c, layer.k, layer.n, layer.q, layer.groups)
    lv[[L_QMAX, L_FILT_VALUES, L_PSUM_ENTRIES, L_ACT_BITS, L_PSUM_BITS]] = (
        q_max, filt_values, arch.psum_spad.entries, layer.act_bits, arch.psum_spad.word_bits)
    lv[[L_BANKS, L_BANK_BYTES, L_WIDTH]] = arch.glb.banks, arch.glb.bank_size_bytes, g_width
    # a first walk into a table with room for every row the enumeration can
    # give, capped at table_rows (np.empty touches no page, so the unused part
    # costs no memory): per e, q x p x gp (2) x r x n x the t values (every t up
    # to the sets when m is fixed and t free) x the m values (2). When more rows
    # are found, the walk has counted them, block by block, and they are
    # enumerated again in chunks (CandidateSet.chunks)
    set_rows = np.array([filter_rows_per_set(R, rows, ceil_div(e, cols)) * ceil_div(e, cols)
                         for e in e_list], np.int64)  # 0 where no set fits
    most_sets = np.where(set_rows > 0, rows // np.maximum(set_rows, 1) * cols, 0)
    t_and_m = most_sets if ("m" in fixed and "t" not in fixed) else 2
    bound = int((q_max * arch.psum_spad.entries * 2 * most_sets * layer.n * t_and_m).sum())
    out = np.empty((max(1, min(bound, table_rows)), N_COLUMNS), np.int64)
    q_values = 1 if "q" in fixed else q_max
    p_values = 1 if "p" in fixed else min(arch.psum_spad.entries, layer.k)
    blocks = np.zeros((len(e_list), q_values, p_values), np.int64)
    total, found, status, n_sets = _enumerate(e_arr, rows_in_max, lv, fx, out, 0, 0,
                                              blocks.size, blocks)
    if total == 0:
        why = "; ".join(sorted(_reasons(status, n_sets, e_list, fixed, layer, arch)))
        why = why or "no row-stationary mapping fits"
        return None, (_constraint_reason(layer, arch, fixed, why) if fixed else why)
    table = out[:total] if total <= len(out) else None
    if arch.mapper.strip_mining == "when_needed" and layer.p in e_list:
        k = e_list.index(layer.p)
        if found[k]:  # rows come in the order of e_list: e = P's are one run
            start = int(found[:k].sum())
            table = None if table is None else table[start:start + found[k]]
            e_arr, rows_in_max, total = e_arr[k:k + 1], rows_in_max[k:k + 1], int(found[k])
            blocks = blocks[k:k + 1]
    return CandidateSet(total, (e_arr, rows_in_max, lv, fx), blocks, table), ""


def candidates(layer: Layer, arch: ArchSpec, fixed: dict[str, int] | None = None
               ) -> tuple[np.ndarray, str]:
    """Every legal mapping worth ranking, as rows of an int64 array: the rows
    of :func:`candidate_set` in one table. Returns (array, reason); the array
    is empty and ``reason`` says why when nothing fits."""
    cset, reason = candidate_set(layer, arch, fixed)
    if cset is None:
        return np.zeros((0, N_COLUMNS), np.int64), reason
    return cset.table(), ""


def _constraint_reason(layer: Layer, arch: ArchSpec, fixed: dict[str, int], why: str) -> str:
    """Why no legal mapping has the fixed values; the unconstrained reason when
    the layer fits no mapping at all (the constraint is then not the cause).
    Runs the unconstrained enumeration, so only on the way to an unmapped layer."""
    base, base_why = candidate_set(layer, arch)
    if base is None:
        return base_why
    return f"no legal mapping satisfies mapping constraint {format_constraint(fixed)}: {why}"


def mapping_from_row(row, layer: Layer) -> Mapping:
    e, p, q, r, t, gp, m, n, seg, rr = (int(x) for x in row)
    return Mapping(e=e, p=p, q=q, r=r, t=t, gp=gp, m=m, n=n, segments=seg, r_rows=rr)
