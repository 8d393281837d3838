"""Decomposed weights: a layer's weight stored as a small basis times sparse
power-of-two coefficients, written into a trace as two ordinary MAC layers.

Place in the pipeline: ``trace.npz -> workload`` (this module rewrites a trace)
``-> trace.npz``; what it writes is simulated like any other trace.

The factorization (:func:`decompose_weight`). A layer's weight, per group g,
``W_g`` [K, D] with D = C*R*S (C per group; a linear layer: D = C), is
approximated as ``A_g B_g``:

- ``B_g`` [rank, D], the basis: dense, quantized to the layer's
  ``weight_bits``, symmetric, zero point 0, one scale for the whole layer, max
  calibrated (the codes of :mod:`accelsim.workload.quant`, the bridge's scheme).
- ``A_g`` [K, rank], the coefficients: at most ``nonzeros`` nonzeros in each
  row, each ``+-2**e``, the ``shift`` operator's value set (DeepShift:
  M. Elhoushi et al., "DeepShift: Towards Multiplication-Less Neural
  Networks", CVPR Workshops 2021; "powers of two or zero" as INQ: A. Zhou et
  al., "Incremental Network Quantization", ICLR 2017). The trace stores the
  integer codes ``+-2**k`` and the scale ``2**e_lo``, as
  :mod:`accelsim.workload.values` accepts for shift weights.

Method (deterministic; every step a documented choice, not a tuned one):

1. Initial basis: the top ``rank`` right singular vectors of ``W_g`` (the
   truncated SVD, the best rank-``rank`` approximation, Eckart-Young; low rank
   filters as in M. Jaderberg, A. Vedaldi, A. Zisserman, "Speeding up
   Convolutional Neural Networks with Low Rank Expansions", BMVC 2014). Exact
   SVD when min(K, D) <= :data:`EXACT_SVD_MAX`; above it a randomized range
   finder with :data:`POWER_ITERATIONS` subspace iterations and
   :data:`OVERSAMPLING` extra vectors from a fixed seed (N. Halko,
   P.-G. Martinsson, J. A. Tropp, "Finding Structure with Randomness", SIAM
   Review 53(2) 2011, Algorithms 4.4 and 5.1), because the exact SVD of a
   4096 x 9216 weight (AlexNet fc6) takes minutes.
2. :data:`ITERATIONS` alternating refits. Coefficient step: given B, the
   least-squares A (normal equations ``A = W B^T (B B^T)^+``); each row keeps
   its ``nonzeros`` largest magnitudes (ties to the lower index) and is refit
   by least squares on that support; each column of A is scaled to a largest
   magnitude of 1 (its basis vector, row of B, takes the inverse scale), so
   every basis vector uses the whole exponent range; each value is rounded to
   the nearest power of two in the range (linear distance, INQ's rule), a
   value below half the smallest power to 0; then :data:`SWEEPS` passes of
   coordinate descent give each kept coefficient in turn the power of two (or
   0) nearest its least-squares value given the others (exact for one
   coefficient: the error is a parabola in it). Basis step: given that A, the
   least-squares B (``pinv(A^T A) A^T W``). The iterate kept is the one whose
   error, B quantized, is smallest.
3. B is quantized for the layer (all groups at one scale) and the relative
   reconstruction error ``||W - A B||_F / ||W||_F`` reported, B quantized.

Exponents. A shift weight of ``b`` bits is a sign and a ``b - 1``-bit
magnitude whose code 0 is the zero weight (as the bridge's
:func:`~accelsim.bridge.quantize.quantize_shift`), so it codes
``2**(b-1) - 1`` exponents. The coefficient layer's ``weight_bits`` is the
smallest width the arch loader accepts for the exponent range (a sign and
``ceil(log2(span + 1))`` bits, :mod:`accelsim.spec.load`); with zero taking a
code, the decomposition uses the top ``2**(b-1) - 1`` exponents of the range
when the range has more (of -7..0 at 4 bits: -6..0). The largest code is
``2**(levels - 1)``, which maps to ``exponent_max``.

The trace (:func:`decompose_trace`). Each named layer L becomes two MAC layers:

- ``L.basis``: L's geometry (kernel, stride, padding, dilation, groups), rank
  outputs per group, L's operator and widths, weights B, L's input (and input
  mask); its output, the basis feature map, is the reference convolution
  (:func:`accelsim.workload.reference.layer_output`) requantized to L's
  ``act_bits``, symmetric, max calibrated, no activation.
- ``L.coefficients``: a 1x1, stride-1 conv on the basis map (a linear layer
  for a linear L), L's groups, rank inputs per group, L's outputs, operator
  ``shift``, weights A, L's activation; its output is recomputed from the
  decomposed weights (plus L's bias, when the trace has one) and quantized at
  L's ``output_scale`` when the trace records it, else max calibrated, so each
  layer's output is what its own input and weights give.

Units: when L carries the PyTorch bridge's scales (``act_scale``,
``weight_scale``, ``output_scale``; per-channel weight scales included) the
real weight ``codes * weight_scale`` is factorized and both layers get their
own scales (and ``bias`` at the coefficient layer's accumulator scale);
without them (a synthetic trace) the integer codes are factorized as they are.
The scales and the bias are L's :attr:`~accelsim.workload.layer.Layer.quantization`
and its bias array in :attr:`~accelsim.workload.trace.Trace.arrays`, read
back as :mod:`accelsim.workload.quant` says, so a trace made in memory keeps
them as a trace read from a file does.

Assumptions and what is not modeled (say so in results):

- B has one scale for the layer (per tensor, as the bridge's default): a
  basis vector much smaller than the largest can quantize to zeros. The
  reported error is the weights'; the basis map's requantization to
  ``act_bits`` adds to what the layer computes and is not in it.
- Only ``int`` layers are decomposed: the basis holds integer codes, and the
  product A x B composes only for a multiply (not AdderNet's -|x - w|).
- The layers after L keep their recorded inputs: the decomposition's error
  does not propagate through the rest of the network. The trace measures
  cost; accuracy is for the user to measure in their framework.
- The two layers run one after the other, and the basis feature map makes a
  DRAM round trip (written by L.basis, read back by L.coefficients): no
  inter-layer fusion is modeled, so the map's traffic is charged in full.
- A design that reconstructs W on chip from A and B (decompressing the
  weights in the PE array or a weight decoder, then running L as one layer) is
  not modeled: here the factorization changes the computation (two layers),
  not only the storage.
- Every layer keeps its bias array; arrays no layer names are not copied.
  The bridge's keys a Layer does not hold (``inputs``, ``fused``) are kept
  from the file a trace was read from
  (:func:`accelsim.workload.trace.source_entries`); a trace made in memory has
  none.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layer import (LAYER_KEYS, Layer, LayerKind, layer_from_header,
                                     layer_to_header)
from accelsim.workload.quant import (SHIFT_EXPONENT_LIMIT, add_bias, dequantize,
                                     dequantize_bias, int_dtype, qmax, quantize,
                                     shift_code_bits, shift_exponents)
from accelsim.workload.reference import layer_output
from accelsim.workload.trace import Trace, source_entries, write_trace

ITERATIONS = 8
"""Alternating refits (coefficients, then basis) after the SVD start."""
SWEEPS = 2
"""Coordinate-descent passes over each row's coefficients after rounding them."""
EXACT_SVD_MAX = 1024
"""Largest min(K, D) factorized with the exact SVD; larger weights use the randomized one."""
POWER_ITERATIONS = 2
OVERSAMPLING = 10
SEED = 0
"""Seed of the randomized SVD's test matrix (Halko et al. 2011): fixed, so results repeat."""
DEFAULT_EXPONENTS = (-7, 0)
"""The shift exponent range a MAC core declares by default (accelsim.spec.arch.OperatorSupport)."""

# codes +-2**k for k < span + 1 and biases rescaled by 2**span stay within int32
MAX_EXPONENT_SPAN = 30


def check_exponent_range(exponent_range, name: str = "exponent_range",
                         got: str | None = None) -> None:
    """Raise an :class:`AccelsimError` unless ``exponent_range`` is two integers
    ``min < max`` spanning at most MAX_EXPONENT_SPAN exponents within
    +-SHIFT_EXPONENT_LIMIT.

    Parameters
    ----------
    exponent_range:
        ``(exponent_min, exponent_max)``.
    name:
        What the messages name: the keyword (``exponent_range``) or the CLI flag
        (``--exponents``).
    got:
        How the messages show the value, e.g. the flag's text as typed; by default
        ``min..max``.
    """
    lo, hi = exponent_range
    if (not all(isinstance(v, int) and not isinstance(v, bool) for v in (lo, hi))
            or lo >= hi):
        raise AccelsimError(f"{name}: must be two integers min < max (got "
                            f"{exponent_range!r})")
    got = f"{lo}..{hi}" if got is None else got
    if hi - lo > MAX_EXPONENT_SPAN:
        raise AccelsimError(f"{name}: spans at most {MAX_EXPONENT_SPAN} exponents, so "
                            f"that the codes +-2**k and the rescaled biases fit 32-bit "
                            f"integers (got {got})")
    if lo < -SHIFT_EXPONENT_LIMIT or hi > SHIFT_EXPONENT_LIMIT:
        raise AccelsimError(f"{name}: must lie within {-SHIFT_EXPONENT_LIMIT}.."
                            f"{SHIFT_EXPONENT_LIMIT}, the exponents a MAC core's shift "
                            f"operator can declare (got {got})")


def shift_levels(exponent_range: tuple[int, int]) -> int:
    """Exponents the coefficients use: the range's, at most ``2**(bits-1) - 1``
    (a ``bits``-bit code spends one magnitude code on zero)."""
    span = exponent_range[1] - exponent_range[0]
    return min(span + 1, shift_exponents(shift_code_bits(exponent_range)))


@dataclass(frozen=True, slots=True, kw_only=True)
class WeightDecomposition:
    """``W[g] ~ A[g] @ B[g]`` for each group g (see the module docstring).

    ``a_codes`` [G, K, rank] integers, each 0 or ``+-2**k`` with k in
    ``0 .. levels - 1``; the real coefficient is ``a_codes * a_scale``.
    ``b_codes`` [G, rank, D] signed ``weight_bits`` integers; the real basis is
    ``b_codes * b_scale``. ``exponents`` are the exponents used, real
    coefficients being ``+-2**e`` with e in that range (inclusive).
    """

    a_codes: np.ndarray
    a_scale: float
    b_codes: np.ndarray
    b_scale: float
    exponents: tuple[int, int]
    code_bits: int
    weight_bits: int
    relative_error: float

    @property
    def a(self) -> np.ndarray:
        return self.a_codes.astype(np.float64) * self.a_scale

    @property
    def b(self) -> np.ndarray:
        return self.b_codes.astype(np.float64) * self.b_scale

    @property
    def reconstruction(self) -> np.ndarray:
        """``A @ B`` per group, float64 [G, K, D]."""
        return np.matmul(self.a, self.b)


def _top_basis(w: np.ndarray, rank: int) -> np.ndarray:
    """The top ``rank`` right singular vectors of ``w`` [K, D], as rows [rank, D]."""
    if min(w.shape) <= EXACT_SVD_MAX:
        return np.linalg.svd(w, full_matrices=False)[2][:rank]
    # Halko et al. 2011: range of w^T by subspace iteration, then the SVD of the
    # small projection (Algorithms 4.4 and 5.1), from a fixed-seed test matrix
    ell = min(rank + OVERSAMPLING, min(w.shape))
    omega = np.random.default_rng(SEED).standard_normal((w.shape[0], ell))
    q = np.linalg.qr(w.T @ omega)[0]
    for _ in range(POWER_ITERATIONS):
        q = np.linalg.qr(w @ q)[0]
        q = np.linalg.qr(w.T @ q)[0]
    small = w @ q  # [K, ell]
    vt = np.linalg.svd(small, full_matrices=False)[2]
    return (vt[:rank] @ q.T)


def _round_pow2(a: np.ndarray, levels: int) -> np.ndarray:
    """Nearest of 0, +-2**-j (j = 0 .. levels-1) to each value of ``a`` (|a| <= 1):
    linear distance, as INQ; below half the smallest power, 0."""
    mag = np.abs(a)
    with np.errstate(divide="ignore"):
        lo = np.floor(np.log2(np.where(mag > 0, mag, 1.0)))
    lo = np.clip(lo, -(levels - 1), 0)
    low, high = 2.0 ** lo, 2.0 ** np.minimum(lo + 1, 0)
    pick = np.where(mag - low > high - mag, high, low)
    pick = np.where(mag < 2.0 ** -(levels - 1) / 2, 0.0, pick)
    return np.sign(a) * pick


def _coefficients(w: np.ndarray, b: np.ndarray, nonzeros: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares A [K, rank] for ``w ~ A b``, at most ``nonzeros`` per row
    (the largest of the dense fit, refit on that support), and the support
    [K, nonzeros] (column indices)."""
    k, rank = w.shape[0], b.shape[0]
    gram = b @ b.T
    h = w @ b.T  # [K, rank]
    dense = h @ np.linalg.pinv(gram, hermitian=True)
    support = np.argsort(-np.abs(dense), axis=1, kind="stable")[:, :nonzeros]
    if nonzeros >= rank:
        return dense, support
    g_s = gram[support[:, :, None], support[:, None, :]]  # [K, n, n]
    h_s = np.take_along_axis(h, support, axis=1)[:, :, None]
    vals = np.matmul(np.linalg.pinv(g_s, hermitian=True), h_s)[:, :, 0]
    a = np.zeros((k, rank))
    np.put_along_axis(a, support, vals, axis=1)
    return a, support


def _refine(a: np.ndarray, support: np.ndarray, w: np.ndarray, b: np.ndarray,
            levels: int) -> np.ndarray:
    """Coordinate descent on the rounded A: each coefficient of the support in
    turn takes the power of two (or 0) nearest its least-squares value given
    the others, which minimizes ``||w - A b||`` over that coefficient (the
    error is a parabola in it); :data:`SWEEPS` passes, all rows at once."""
    gram, h = b @ b.T, w @ b.T
    rows = np.arange(a.shape[0])
    for _ in range(SWEEPS):
        for j in range(support.shape[1]):
            c = support[:, j]
            g_cc = gram[c, c]
            resid = h[rows, c] - np.einsum("kr,kr->k", a, gram[c]) + a[rows, c] * g_cc
            best = np.divide(resid, g_cc, out=np.zeros_like(resid), where=g_cc > 0)
            a[rows, c] = _round_pow2(best, levels)
    return a


def _quantized(b: np.ndarray, bits: int) -> tuple[np.ndarray, float]:
    """Symmetric, max-calibrated codes of ``b`` (as float64, for the refits) and
    their scale (:func:`accelsim.workload.quant.quantize`)."""
    codes, scale = quantize(b, bits)
    return codes.astype(np.float64), scale


def _factorize(w: np.ndarray, rank: int, nonzeros: int, levels: int, weight_bits: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """One group: (A as relative powers of two 0, +-2**-j, B real) of the best iterate."""
    b = _top_basis(w, rank)
    w_sq = float(np.sum(w * w))
    best, best_err = None, math.inf
    for _ in range(ITERATIONS):
        a, support = _coefficients(w, b, nonzeros)
        col = np.abs(a).max(axis=0)
        col = np.where(col > 0, col, 1.0)
        b = b * col[:, None]
        a = _refine(_round_pow2(a / col, levels), support, w, b, levels)
        ata = a.T @ a
        b = np.linalg.pinv(ata, hermitian=True) @ (a.T @ w)  # = pinv(a) @ w
        codes, scale = _quantized(b, weight_bits)
        bq = codes * scale
        # ||w - a bq||^2 without forming the K x D residual
        err = w_sq - 2.0 * float(np.sum(a * (w @ bq.T))) + float(np.sum(ata * (bq @ bq.T)))
        if err < best_err:
            best, best_err = (a, b), err
    return best


def decompose_weight(w: np.ndarray, *, rank: int, nonzeros: int,
                     exponent_range: tuple[int, int] = DEFAULT_EXPONENTS,
                     weight_bits: int = 8) -> WeightDecomposition:
    """Factorize ``w`` [K, D] (or [G, K, D], per group) as A x B (module docstring).

    Parameters
    ----------
    w:
        The weight, float (real values, or integer codes taken as they are).
    rank:
        Basis vectors per group, 1 .. min(K, D).
    nonzeros:
        Most nonzero coefficients in each row of A, 1 .. rank.
    exponent_range:
        ``(exponent_min, exponent_max)`` of the shift operator, min < max.
    weight_bits:
        Width of B's symmetric integer codes, >= 2.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim == 2:
        w = w[None]
    if w.ndim != 3 or not w.size:
        raise AccelsimError(f"weight: must be a non-empty [K, D] or [G, K, D] array "
                            f"(got shape {list(w.shape)})")
    g, k, d = w.shape
    check_exponent_range(exponent_range)
    hi = exponent_range[1]
    if isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= min(k, d):
        raise AccelsimError(f"rank: must be an integer in 1..min(K, D) = {min(k, d)} "
                            f"(got {rank!r})")
    if isinstance(nonzeros, bool) or not isinstance(nonzeros, int) \
            or not 1 <= nonzeros <= rank:
        raise AccelsimError(f"nonzeros: must be an integer in 1..rank = {rank} "
                            f"(got {nonzeros!r})")
    if weight_bits < 2:
        raise AccelsimError(f"weight_bits: the basis needs >= 2 bits (got {weight_bits})")
    levels = shift_levels(exponent_range)
    parts = [_factorize(w[i], rank, nonzeros, levels, weight_bits) for i in range(g)]
    a_rel = np.stack([p[0] for p in parts])  # 0 or +-2**-j, j < levels
    # A real = a_rel * 2**hi: the basis is scaled by 2**-hi so that A @ B is unchanged
    b_codes, b_scale = _quantized(np.stack([p[1] for p in parts]) * 2.0 ** -hi, weight_bits)
    e_lo = hi - (levels - 1)
    a_codes = np.rint(a_rel * 2.0 ** (levels - 1)).astype(int_dtype(levels + 1))
    dec = WeightDecomposition(a_codes=a_codes, a_scale=2.0 ** e_lo,
                              b_codes=b_codes.astype(int_dtype(weight_bits)),
                              b_scale=float(b_scale), exponents=(e_lo, hi),
                              code_bits=shift_code_bits(exponent_range),
                              weight_bits=weight_bits, relative_error=0.0)
    norm = float(np.linalg.norm(w))
    err = float(np.linalg.norm(w - dec.reconstruction)) / norm if norm > 0 else 0.0
    return dataclasses.replace(dec, relative_error=err)


# ---- storage ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class StorageBits:
    """Weight storage of a layer before and after its decomposition, in bits.

    ``original``: every weight of L at ``weight_bits``. ``basis``: every value
    of B at ``weight_bits``. ``coefficients``: A as compressed sparse rows, per
    nonzero its code (``code_bits``) and its column index among the rank
    entries of its row (``index_bits`` = ceil(log2(rank)), at least 1), and per
    row of A a count of its nonzeros (``count_bits`` = ceil(log2(nonzeros + 1)),
    at least 1). No scale, pointer or padding to a word is counted.
    """

    original: int
    basis: int
    coefficients: int
    nonzeros: int
    rows: int
    code_bits: int
    index_bits: int
    count_bits: int

    @property
    def after(self) -> int:
        return self.basis + self.coefficients


def storage_bits(dec: WeightDecomposition, nonzeros: int) -> StorageBits:
    """The :class:`StorageBits` of a decomposition whose rows hold at most ``nonzeros``."""
    g, k, rank = dec.a_codes.shape
    d = dec.b_codes.shape[2]
    nnz = int(np.count_nonzero(dec.a_codes))
    index_bits = max(1, math.ceil(math.log2(rank)))
    count_bits = max(1, math.ceil(math.log2(nonzeros + 1)))
    return StorageBits(original=g * k * d * dec.weight_bits, basis=g * rank * d * dec.weight_bits,
                       coefficients=nnz * (dec.code_bits + index_bits) + g * k * count_bits,
                       nonzeros=nnz, rows=g * k, code_bits=dec.code_bits,
                       index_bits=index_bits, count_bits=count_bits)


# ---- traces -------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class LayerDecomposition:
    """What :func:`decompose_trace` did to one layer."""

    name: str
    rank: int
    nonzeros: int
    weight: WeightDecomposition
    storage: StorageBits

    @property
    def relative_error(self) -> float:
        return self.weight.relative_error


@dataclass(frozen=True, slots=True, kw_only=True)
class DecomposedTrace:
    """A decomposed trace: ``trace`` (in memory, ready for :func:`accelsim.run.run`),
    its ``headers`` (bridge keys of the source kept) and ``arrays``, and what was
    done to each layer (``layers``). :meth:`write` writes it with
    :func:`accelsim.workload.trace.write_trace`."""

    trace: Trace
    headers: list[dict]
    arrays: dict[str, np.ndarray]
    layers: tuple[LayerDecomposition, ...]

    def write(self, path, *, compress: bool = False) -> None:
        write_trace(path, network=self.trace.network, batch=self.trace.batch,
                    layers=self.headers, arrays=self.arrays, compress=compress)


def _check_request(trace: Trace, names: list[str], rank: int, nonzeros: int,
                   exponent_range: tuple[int, int]) -> list[Layer]:
    where = trace.path
    if not names:
        raise AccelsimError(f"{where}: layers: name at least one layer to decompose")
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise AccelsimError(f"rank: must be an integer >= 1 (got {rank!r})")
    if isinstance(nonzeros, bool) or not isinstance(nonzeros, int) \
            or not 1 <= nonzeros <= rank:
        raise AccelsimError(f"nonzeros: must be between 1 and the rank {rank} (got {nonzeros!r})")
    check_exponent_range(exponent_range)
    if trace.routing is not None:
        raise AccelsimError(f"{where}: a routed trace; decompose each variant's trace first, "
                            f"then route them (accelsim route)")
    by_name = {layer.name: layer for layer in trace.layers}
    mac_names = ", ".join(layer.name for layer in trace.mac_layers)
    chosen = []
    for name in names:
        layer = by_name.get(name)
        if layer is None:
            raise AccelsimError(f"{where}: layers: no layer named {name!r} (MAC layers: "
                                f"{mac_names})")
        if name in (c.name for c in chosen):
            raise AccelsimError(f"{where}: layers: {name!r} is named twice")
        if not layer.is_mac:
            raise AccelsimError(f"{where}: layers: {name!r} is a {layer.op} layer, not a MAC "
                                f"layer (conv2d or linear): it has no weight to decompose")
        if layer.operator != "int":
            raise AccelsimError(f"{where}: layers: {name!r} is a {layer.operator} layer; only "
                                "int layers are decomposed (the basis holds integer codes "
                                "and A x B composes only for a multiply)")
        d = layer.c * layer.r * layer.s
        limit = min(layer.k, d)
        if rank >= limit:
            raise AccelsimError(
                f"{where}: layers: {name!r}: rank must be below min(K, C*R*S) = min({layer.k}, "
                f"{d}) = {limit} per group, or the basis is no smaller than the weight "
                f"(got {rank})")
        for suffix in (".basis", ".coefficients"):
            if name + suffix in by_name:
                raise AccelsimError(f"{where}: layers: {name!r}: the trace already has a "
                                    f"layer named {name + suffix!r}")
        chosen.append(layer)
    return chosen


def _scale(layer: Layer, key: str):
    """One of ``layer``'s scales (:class:`~accelsim.workload.layer.Quantization`),
    1.0 when the trace does not give it (the codes are taken as they are)."""
    v = None if layer.quantization is None else getattr(layer.quantization, key)
    return 1.0 if v is None else v


def _decompose_layer(layer: Layer, trace: Trace, entry: dict, *, rank: int, nonzeros: int,
                     exponent_range: tuple[int, int], taken: set[str]
                     ) -> tuple[LayerDecomposition, list[dict], dict]:
    """The decomposition of one layer, its two header entries and their new arrays;
    ``entry`` is L's source header entry (for the keys a Layer does not hold)."""
    g, k = layer.groups, layer.k
    q = layer.quantization
    ws = _scale(layer, "weight_scale")
    w = dequantize(trace.tensor(layer, "weight"), ws)
    dec = decompose_weight(w.reshape(g, k, -1), rank=rank, nonzeros=nonzeros,
                           exponent_range=exponent_range, weight_bits=layer.weight_bits)
    names = {part: f"{layer.name}.{part}" for part in ("basis", "coefficients")}
    arrays = {f"{names['basis']}.weight", f"{names['basis']}.output",
              f"{names['coefficients']}.weight", f"{names['coefficients']}.output",
              f"{names['coefficients']}.bias"}
    clash = sorted(arrays & taken)
    if clash:
        raise AccelsimError(f"{trace.path}: layers: {layer.name!r}: the trace already has an "
                            f"array named {clash[0]!r}")
    tag = {"decomposed_from": layer.name, "rank": rank}

    # the basis layer: L's geometry, rank outputs per group, weights B
    linear = layer.kind is LayerKind.LINEAR
    # the new layers' scales and bias are L's only in part: the headers get them below
    basis = dataclasses.replace(
        layer, name=names["basis"], k=rank, activation="none", part="basis", **tag,
        quantization=None,
        output_shape=(layer.n, rank) if linear else (layer.n, g * rank, layer.p, layer.q),
        tensors={**{r: v for r, v in layer.tensors.items() if r in ("input", "input_mask")},
                 "weight": f"{names['basis']}.weight", "output": f"{names['basis']}.output"})
    b_codes = dec.b_codes.reshape(basis.weight_shape)
    x = trace.tensor(layer, "input")
    mask = trace.tensor(layer, "input_mask")
    if mask is not None:  # the engine drops masked values (accelsim.run)
        x = np.where(mask != 0, x, 0)
    sx = float(_scale(layer, "act_scale"))
    y_real = layer_output(basis, x, b_codes) * (sx * dec.b_scale)
    y_codes, sy = _quantized(y_real, layer.act_bits)

    # the coefficient layer: 1x1 (or linear) on the basis map, weights A, shift
    n_in = (layer.n, rank) if linear else (layer.n, g * rank, layer.p, layer.q)
    coeff = dataclasses.replace(
        layer, name=names["coefficients"], input_shape=n_in, c=rank, h=1 if linear else layer.p,
        w=1 if linear else layer.q, r=1, s=1, stride_h=1, stride_w=1, pad_h=0, pad_w=0,
        dilation_h=1, dilation_w=1, operator="shift", weight_bits=dec.code_bits,
        activation="none", part="coefficients", **tag, quantization=None,
        tensors={"input": f"{names['basis']}.output",
                 "weight": f"{names['coefficients']}.weight",
                 "output": f"{names['coefficients']}.output"})
    a_codes = dec.a_codes.reshape(coeff.weight_shape)
    acc = layer_output(coeff, y_codes, a_codes) * (sy * dec.a_scale)
    bias_real = None
    if q is not None and q.bias is not None:
        bias_real = dequantize_bias(trace.arrays[q.bias], sx, ws, g * k)
        acc = add_bias(acc, bias_real)
    if layer.activation == "relu":
        np.maximum(acc, 0, out=acc)
    coeff = dataclasses.replace(coeff, activation=layer.activation)
    if q is not None and q.output_scale is not None:
        so = float(q.output_scale)
        out_codes = np.clip(np.rint(acc / so), -qmax(layer.act_bits), qmax(layer.act_bits))
    else:
        out_codes, so = _quantized(acc, layer.act_bits)

    act = int_dtype(layer.act_bits)
    new_arrays = {basis.tensors["weight"]: b_codes, basis.tensors["output"]: y_codes.astype(act),
                  coeff.tensors["weight"]: a_codes, coeff.tensors["output"]: out_codes.astype(act)}
    heads = [layer_to_header(basis), layer_to_header(coeff)]
    if "inputs" in entry:
        heads[0]["inputs"] = list(entry["inputs"])
        heads[1]["inputs"] = [names["basis"]]
    if "fused" in entry:  # the ops folded into L act on its output: the coefficients'
        heads[0]["fused"], heads[1]["fused"] = [], list(entry["fused"])
    if q is not None and q.complete:
        heads[0].update(act_scale=q.act_scale, weight_scale=dec.b_scale, output_scale=sy)
        heads[1].update(act_scale=sy, weight_scale=dec.a_scale, output_scale=so)
        if bias_real is not None:
            key = f"{names['coefficients']}.bias"
            new_arrays[key] = np.rint(bias_real / (sy * dec.a_scale)).astype(np.int64)
            heads[1]["bias"] = key
    result = LayerDecomposition(name=layer.name, rank=rank, nonzeros=nonzeros, weight=dec,
                                storage=storage_bits(dec, nonzeros))
    return result, heads, new_arrays


def _referenced(head: dict) -> set[str]:
    refs = set(head.get("tensors", {}).values())
    if isinstance(head.get("bias"), str):
        refs.add(head["bias"])
    return refs


def decompose_trace(trace: Trace, layers: list[str], *, rank: int, nonzeros: int,
                    exponent_range: tuple[int, int] = DEFAULT_EXPONENTS) -> DecomposedTrace:
    """Replace each named MAC layer L of ``trace`` by ``L.basis`` and ``L.coefficients``.

    See the module docstring for both layers, their tensors and what is not
    modeled. Raises :class:`AccelsimError` (one line) for an unknown or
    non-MAC layer, a layer that is not ``int``, ``rank`` < 1 or >= min(K,
    C*R*S) of a layer (per group), ``nonzeros`` < 1 or > ``rank``, or a name
    the new layers or arrays would take twice.
    """
    names = list(layers)
    chosen = {layer.name for layer in _check_request(trace, names, rank, nonzeros,
                                                     exponent_range)}
    entries = {e["name"]: e for e in source_entries(trace)}
    taken = set(trace.arrays)
    headers: list[dict] = []
    arrays: dict[str, np.ndarray] = dict(trace.arrays)
    results = []
    renamed = {name: f"{name}.coefficients" for name in chosen}
    for layer in trace.layers:
        entry = entries.get(layer.name, {})
        if layer.name not in chosen:
            head = layer_to_header(layer)
            known = LAYER_KEYS.get(layer.op, LAYER_KEYS["other"])
            head.update({key: v for key, v in entry.items() if key not in head and key in known})
            if "inputs" in head:  # a layer reading L now reads its coefficients
                head["inputs"] = [renamed.get(x, x) for x in head["inputs"]]
            headers.append(head)
            continue
        res, heads, new = _decompose_layer(layer, trace, entry, rank=rank, nonzeros=nonzeros,
                                           exponent_range=exponent_range, taken=taken)
        taken |= set(new)
        arrays.update(new)
        if "inputs" in heads[0]:  # L may read a layer decomposed before it
            heads[0]["inputs"] = [renamed.get(x, x) for x in heads[0]["inputs"]]
        headers.extend(heads)
        results.append(res)
    used = set().union(*(_referenced(h) for h in headers))
    arrays = {key: v for key, v in arrays.items() if key in used}
    new_layers = []
    for i, head in enumerate(headers):
        layer, problems = layer_from_header(head, i)
        if problems:  # a bug here, not the user's input
            raise AssertionError("; ".join(problems))
        new_layers.append(layer)
    new_trace = Trace(network=trace.network, batch=trace.batch, layers=tuple(new_layers),
                      arrays=arrays)
    return DecomposedTrace(trace=new_trace, headers=headers, arrays=arrays,
                           layers=tuple(results))


__all__ = ["DEFAULT_EXPONENTS", "DecomposedTrace", "LayerDecomposition", "StorageBits",
           "WeightDecomposition", "check_exponent_range", "decompose_trace", "decompose_weight",
           "shift_code_bits", "shift_levels", "storage_bits"]
