"""Run a trace on an architecture: search each layer's mapping, simulate, price.

Place in the pipeline: the orchestration of ``spec -> workload -> mapping ->
engine -> energy``; the report stage formats what this returns.

Mapping search (row stationary): every legal candidate of
:func:`accelsim.mapping.candidates` is ranked by the closed-form estimate; the
``top_k`` best are executed exactly by the engine on the real tensors, and the
one with the least energy wins (ties: fewer cycles, then the smaller mapping
tuple), so the choice is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accelsim.energy.model import layer_energy
from accelsim.engine.counts import LayerCounts
from accelsim.engine.simulate import nonzero_mask, simulate_layer
from accelsim.mapping.estimate import estimate
from accelsim.mapping.rowstationary import (Mapping, MappingResult, candidates,
                                            mapping_from_row)
from accelsim.spec.arch import ArchSpec
from accelsim.workload.layer import Layer
from accelsim.workload.reference import layer_output
from accelsim.workload.trace import Trace

@dataclass(frozen=True, slots=True, kw_only=True)
class LayerResult:
    layer: Layer
    mapping: MappingResult
    counts: LayerCounts | None = None
    energy_pj: dict[str, float] = field(default_factory=dict)
    energy_by_tensor_pj: np.ndarray | None = None
    ifmap_density: float = float("nan")
    weight_density: float = float("nan")

    @property
    def simulated(self) -> bool:
        return self.counts is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    arch: ArchSpec
    trace: Trace
    layers: tuple[LayerResult, ...]
    arch_path: str = "<memory>"


def _rlc_ratio(nz: np.ndarray, arch: ArchSpec, bits: int, compress: bool) -> float:
    """Whole-tensor RLC size over dense size (1.0 when not compressed)."""
    if not compress or nz.size == 0:
        return 1.0
    from accelsim.engine.kernels import _rlc_pairs

    rlc = arch.dram.rlc
    flat = nz.reshape(1, 1, 1, -1)
    pairs = _rlc_pairs(flat, 0, 1, 0, 1, np.zeros(1, np.int64), flat.shape[3],
                       2 ** rlc.run_bits - 1)
    coded = -(-pairs // rlc.pairs_per_word) * rlc.word_bits
    return coded / (nz.size * bits)


def _objective(arch: ArchSpec, energy: float, cycles: float) -> tuple[float, float]:
    """Sort key of a candidate under the arch's mapper objective."""
    obj = arch.mapper.objective
    if obj == "delay":
        return (cycles, energy)
    if obj == "edp":
        return (energy * cycles, cycles)
    return (energy, cycles)


def search_mapping(layer: Layer, arch: ArchSpec, *, input_nz: np.ndarray,
                   output_nz: np.ndarray, first_layer: bool
                   ) -> tuple[MappingResult, LayerCounts | None, dict, np.ndarray | None]:
    """Choose the mapping of one layer; returns it with its exact counts and energy."""
    cands, reason = candidates(layer, arch)
    if len(cands) == 0:
        return MappingResult(mapping=None, reason=reason), None, {}, None
    in_ratio = _rlc_ratio(input_nz, arch, layer.act_bits, arch.dram.ifmap_compression == "rlc"
                          and (not first_layer or arch.dram.compress_first_layer_input))
    out_ratio = _rlc_ratio(output_nz, arch, layer.act_bits, arch.dram.ofmap_compression == "rlc")
    en, cyc = estimate(cands, layer, arch, ifmap_ratio=in_ratio, ofmap_ratio=out_ratio)
    k1, k0 = _objective(arch, en, cyc)
    top_k = arch.mapper.top_k
    if len(k1) > 4 * top_k:
        # keep every candidate at least as good as the (4 top_k)-th on the primary key
        # (ties included, so the choice does not depend on the partition's order)
        cut = np.partition(k1, 4 * top_k)[4 * top_k]
        keep = np.flatnonzero(k1 <= cut)
    else:
        keep = np.arange(len(k1))
    sub = cands[keep]
    order = keep[np.lexsort(tuple(sub[:, i] for i in range(sub.shape[1] - 1, -1, -1))
                            + (k0[keep], k1[keep]))]
    best = None
    tile_cache: dict = {}
    for idx in order[:top_k]:
        mp = mapping_from_row(cands[idx], layer)
        counts = simulate_layer(layer, arch, mp, input_nz=input_nz, output_nz=output_nz,
                                first_layer=first_layer, tile_cache=tile_cache)
        energy, per_tensor = layer_energy(counts, arch.energy)
        key = (*_objective(arch, energy["total"], float(counts.cycles[0])), tuple(cands[idx]))
        if best is None or key < best[0]:
            best = (key, mp, counts, energy, per_tensor)
    _, mp, counts, energy, per_tensor = best
    return MappingResult(mapping=mp, candidates=len(cands)), counts, energy, per_tensor


def run_layer(layer: Layer, trace: Trace, arch: ArchSpec, *, first_layer: bool,
              mapping: Mapping | None = None) -> LayerResult:
    """Simulate one MAC layer of a trace (searching its mapping unless given)."""
    x = trace.tensor(layer, "input")
    w = trace.tensor(layer, "weight")
    y = trace.tensor(layer, "output")
    if y is None:
        y = layer_output(layer, x, w)
    input_nz = nonzero_mask(layer, x)
    output_nz = nonzero_mask(layer, y) if y.ndim == 4 else np.ascontiguousarray(
        (y != 0).reshape(y.shape[0], y.shape[1], 1, 1)).view(np.uint8)
    densities = dict(ifmap_density=float(input_nz.mean()) if input_nz.size else 0.0,
                     weight_density=float(np.count_nonzero(w) / w.size) if w.size else 0.0)
    if mapping is None:
        mres, counts, energy, per_tensor = search_mapping(
            layer, arch, input_nz=input_nz, output_nz=output_nz, first_layer=first_layer)
    else:
        counts = simulate_layer(layer, arch, mapping, input_nz=input_nz, output_nz=output_nz,
                                first_layer=first_layer)
        energy, per_tensor = layer_energy(counts, arch.energy)
        mres = MappingResult(mapping=mapping, candidates=1)
    return LayerResult(layer=layer, mapping=mres, counts=counts, energy_pj=energy,
                       energy_by_tensor_pj=per_tensor, **densities)


def run(arch: ArchSpec, trace: Trace, *, arch_path: str = "<memory>") -> RunResult:
    """Simulate every layer of ``trace`` on ``arch``.

    MAC layers are mapped and simulated; other layers (pooling, adds, ...) are
    carried through unsimulated, with their sizes, so nothing disappears.
    """
    results = []
    first = True
    for layer in trace.layers:
        if not layer.is_mac:
            results.append(LayerResult(layer=layer, mapping=MappingResult(
                mapping=None, reason=f"{layer.op} is not simulated (no MACs)")))
            continue
        results.append(run_layer(layer, trace, arch, first_layer=first))
        first = False
    return RunResult(arch=arch, trace=trace, layers=tuple(results), arch_path=arch_path)
