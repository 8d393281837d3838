"""Run a trace on an architecture: search each layer's mapping, simulate, price.

Place in the pipeline: the orchestration of ``spec -> workload -> mapping ->
engine -> energy``; the report stage formats what this returns.

Mapping search (row stationary): every legal candidate of
:func:`accelsim.mapping.candidates` is ranked by the closed-form estimate (a
million rows at a time: :data:`accelsim.mapping.rowstationary.CHUNK_ROWS`);
the ``top_k`` best are executed exactly by the engine on the real tensors, and
the best of those on the arch's mapper objective wins (energy, delay or their
product; ties: the other of energy and cycles, then the smaller mapping tuple),
so the choice is deterministic.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accelsim.energy.model import layer_energy
from accelsim.energy.operators import op_energy_pj
from accelsim.engine.counts import LayerCounts
from accelsim.engine.formats import encoded_bits, rlc_problem
from accelsim.engine.simulate import nonzero_mask, simulate_layer, weight_mask
from accelsim.errors import AccelsimError
from accelsim.mapping.constraints import check_constraints
from accelsim.mapping.estimate import estimate
from accelsim.mapping.rowstationary import (N_COLUMNS, Mapping, MappingResult, candidate_set,
                                            mapping_from_row)
from accelsim.spec.arch import ArchSpec, SparsitySpec
from accelsim.spec.mac import shift_exponent_range, support_problem
from accelsim.workload.layer import Layer
from accelsim.workload.masking import output_nonzero
from accelsim.workload.sparsity import density, sporadic_degree, window_problem
from accelsim.workload.trace import Trace
from accelsim.workload.values import (declared_layers, mask_problems, value_problems,
                                      zero_busy_operands, zero_free_operands)

@dataclass(frozen=True, slots=True, kw_only=True)
class LayerResult:
    layer: Layer
    mapping: MappingResult
    counts: LayerCounts | None = None
    energy_pj: dict[str, float] = field(default_factory=dict)
    energy_by_tensor_pj: np.ndarray | None = None
    ifmap_density: float = float("nan")
    weight_density: float = float("nan")
    ifmap_sporadic_degree: float = float("nan")
    # when the trace masks the layer's input: the same figures before the mask
    ifmap_density_before_mask: float | None = None
    ifmap_sporadic_degree_before_mask: float | None = None
    # ... and whether the output comes from the masked input (False: the recorded
    # output is kept as it is; accelsim.workload.masking)
    output_recomputed_under_mask: bool | None = None
    # with a dense baseline: the same layer on the arch with sparsity handling off
    dense: "LayerResult | None" = None

    @property
    def simulated(self) -> bool:
        return self.counts is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    arch: ArchSpec
    trace: Trace
    layers: tuple[LayerResult, ...]
    arch_path: str = "<memory>"
    # the mapping file's constraints per layer name, and where they came from
    mapping_constraints: dict[str, dict[str, int]] | None = None
    mapping_path: str | None = None


def _coded_ratio(nz: np.ndarray, arch: ArchSpec, bits: int, fmt: str) -> float:
    """Whole-tensor coded size over dense size, for ranking mappings."""
    if fmt == "none" or nz.size == 0:
        return 1.0
    return encoded_bits(nz, fmt, arch, bits) / (nz.size * bits)


def _estimate_ratios(layer: Layer, arch: ArchSpec, input_nz: np.ndarray, output_nz: np.ndarray,
                     weight_nz: np.ndarray, first_layer: bool) -> dict[str, float]:
    """The coded-size ratios :func:`accelsim.mapping.estimate.estimate` takes: the
    feature maps in DRAM's formats (the first layer's input as the arch reads
    it), the ifmap and the weights in the GLB's."""
    in_fmt = ("none" if first_layer and not arch.dram.compress_first_layer_input
              else arch.dram.ifmap_compression)
    return dict(
        ifmap_ratio=_coded_ratio(input_nz, arch, layer.act_bits, in_fmt),
        ofmap_ratio=_coded_ratio(output_nz, arch, layer.act_bits, arch.dram.ofmap_compression),
        glb_ifmap_ratio=_coded_ratio(input_nz, arch, layer.act_bits, arch.glb.ifmap_compression),
        glb_weight_ratio=_coded_ratio(weight_nz, arch, layer.weight_bits,
                                      arch.glb.weight_compression))


def _objective(arch: ArchSpec, energy: float, cycles: float) -> tuple[float, float]:
    """Sort key of a candidate under the arch's mapper objective."""
    obj = arch.mapper.objective
    if obj == "delay":
        return (cycles, energy)
    if obj == "edp":
        return (energy * cycles, cycles)
    return (energy, cycles)


def search_mapping(layer: Layer, arch: ArchSpec, *, input_nz: np.ndarray,
                   output_nz: np.ndarray, weight_nz: np.ndarray, first_layer: bool,
                   data_cache: dict | None = None, fixed: dict[str, int] | None = None
                   ) -> tuple[MappingResult, LayerCounts | None, dict, np.ndarray | None]:
    """Choose the mapping of one layer; returns it with its exact counts and energy.

    ``fixed`` (a mapping file's entry for the layer) restricts the candidates
    to those with its values (:func:`accelsim.mapping.candidates`); the search
    then ranks and executes them as usual, so a complete entry gives that one
    mapping. Nothing the search chooses is cached: ``data_cache`` holds only
    what the data gives (coded ratios, and tiles keyed by every mapping
    parameter they depend on), the same with or without ``fixed``.
    """
    cset, reason = candidate_set(layer, arch, fixed)
    if cset is None:
        return MappingResult(mapping=None, reason=reason), None, {}, None
    return choose_mapping(cset.chunks(), layer, arch, input_nz=input_nz, output_nz=output_nz,
                          weight_nz=weight_nz, first_layer=first_layer, data_cache=data_cache)


def _best_rows(cands: np.ndarray, k1: np.ndarray, k0: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` best rows of ``cands``, best first, ordered by (k1, k0,
    then the row's own values): a total order (no two rows are equal), so the
    best n of a union are the best n of its parts' best n."""
    # a NaN (no estimate gives one today) would drop every row at the cut: rank it
    # last (copies only then: the arrays hold every candidate of a chunk)
    if np.isnan(k1).any() or np.isnan(k0).any():
        k1, k0 = np.where(np.isnan(k1), np.inf, k1), np.where(np.isnan(k0), np.inf, k0)
    if len(k1) > 4 * n:
        # keep every candidate at least as good as the (4n)-th on the primary key
        # (ties included, so the choice does not depend on the partition's order)
        cut = np.partition(k1, 4 * n)[4 * n]
        keep = np.flatnonzero(k1 <= cut)
    else:
        keep = np.arange(len(k1))
    sub = cands[keep]
    order = np.lexsort(tuple(sub[:, i] for i in range(sub.shape[1] - 1, -1, -1))
                       + (k0[keep], k1[keep]))
    return keep[order[:n]]


def choose_mapping(chunks: Iterable[np.ndarray], layer: Layer, arch: ArchSpec, *,
                   input_nz: np.ndarray, output_nz: np.ndarray, weight_nz: np.ndarray,
                   first_layer: bool, data_cache: dict | None = None
                   ) -> tuple[MappingResult, LayerCounts, dict, np.ndarray]:
    """The best of the candidates (rows of :func:`accelsim.mapping.candidates`, in
    one or more arrays: ``CandidateSet.chunks``; at least one row) on the arch's
    objective: all ranked by the closed-form estimate with the data's coded
    sizes, the best ``top_k`` executed, the best of those kept. Chunk by chunk,
    only the best ``top_k`` so far are kept; the order is total, so the ones
    executed do not depend on how the rows are chunked."""
    cache = {} if data_cache is None else data_cache
    glb = arch.glb
    key = ("ratios", first_layer and not arch.dram.compress_first_layer_input,
           arch.dram.ifmap_compression, arch.dram.ofmap_compression, glb.ifmap_compression,
           glb.weight_compression, arch.formats, layer.act_bits, layer.weight_bits)
    if key not in cache:
        cache[key] = _estimate_ratios(layer, arch, input_nz, output_nz, weight_nz, first_layer)
    ratios = cache[key]
    top_k = arch.mapper.top_k
    rows, k1s, k0s, count = np.zeros((0, N_COLUMNS), np.int64), np.zeros(0), np.zeros(0), 0
    for cands in chunks:
        count += len(cands)
        en, cyc = estimate(cands, layer, arch, **ratios)
        k1, k0 = _objective(arch, en, cyc)
        best = _best_rows(cands, k1, k0, top_k)
        rows = np.concatenate([rows, cands[best]])
        k1s, k0s = np.concatenate([k1s, k1[best]]), np.concatenate([k0s, k0[best]])
        best = _best_rows(rows, k1s, k0s, top_k)
        rows, k1s, k0s = rows[best], k1s[best], k0s[best]
    best = None
    for row in rows:
        mp = mapping_from_row(row, layer)
        counts = simulate_layer(layer, arch, mp, input_nz=input_nz, output_nz=output_nz,
                                weight_nz=weight_nz, first_layer=first_layer,
                                tile_cache=cache)
        energy, per_tensor = layer_energy(counts, arch, mac_op_pj(arch, layer))
        key = (*_objective(arch, energy["total"], float(counts.cycles[0])), tuple(row))
        if best is None or key < best[0]:
            best = (key, mp, counts, energy, per_tensor)
    _, mp, counts, energy, per_tensor = best
    return MappingResult(mapping=mp, candidates=count), counts, energy, per_tensor


def mac_op_pj(arch: ArchSpec, layer: Layer) -> float:
    """pJ of one of the layer's operations on the arch's MAC core."""
    return op_energy_pj(arch, layer.operator, layer.weight_bits, layer.act_bits)


def _layer_data(layer: Layer, trace: Trace, sporadic_window: int,
                zero_free: tuple[str, ...]):
    """The layer's nonzero masks (input after its mask, output, weights) and the
    measured densities; depends on the trace and on ``zero_free`` (the operands
    the layer's operator cannot hold as zero, which count as all nonzero:
    :mod:`accelsim.workload.values`) alone, so it is cached on the trace.

    The output under an input mask, or when the trace records none, is
    :func:`accelsim.workload.masking.output_nonzero`'s: with the bridge's
    quantization the values the mask reaches are recomputed from the masked
    input; without it (a synthetic trace, whose output is not computed from
    its input) the recorded output is kept, zeros unchanged."""
    x = trace.tensor(layer, "input")
    w = trace.tensor(layer, "weight")
    y = trace.tensor(layer, "output")
    mask = trace.tensor(layer, "input_mask")
    input_nz = nonzero_mask(layer, x)
    if "input" in zero_free:
        input_nz = np.ones_like(input_nz)
    measured: dict = {}
    if mask is not None:
        measured = dict(ifmap_density_before_mask=density(input_nz),
                        ifmap_sporadic_degree_before_mask=sporadic_degree(input_nz,
                                                                          sporadic_window))
        input_nz = input_nz & nonzero_mask(layer, mask)
    if mask is not None or y is None:
        q = layer.quantization
        bias = None if q is None or q.bias is None else trace.arrays[q.bias]
        y, recomputed = output_nonzero(layer, x, w, y, mask, q, bias)
        if mask is not None:
            measured["output_recomputed_under_mask"] = recomputed
    weight_nz = weight_mask(layer, w)
    if "weight" in zero_free:
        weight_nz = np.ones_like(weight_nz)
    measured.update(ifmap_density=density(input_nz), weight_density=density(weight_nz),
                    ifmap_sporadic_degree=sporadic_degree(input_nz, sporadic_window))
    return input_nz, nonzero_mask(layer, y), weight_nz, measured


def dense_arch(arch: ArchSpec) -> ArchSpec:
    """The same architecture with every sparsity feature off (the dense baseline):
    no gating or skipping, every tensor uncompressed in DRAM and in the GLB
    (so nothing crosses the GLB or the NoC coded either)."""
    return dataclasses.replace(
        arch, sparsity=SparsitySpec(ifmap="none", weight="none"),
        glb=dataclasses.replace(arch.glb, ifmap_compression="none", weight_compression="none"),
        dram=dataclasses.replace(arch.dram, ifmap_compression="none",
                                 ofmap_compression="none", weight_compression="none"))


def operator_sparsity(arch: ArchSpec, operator: str) -> ArchSpec:
    """``arch`` with gating and skipping off for the operands whose zeros
    ``operator`` still operates on (:func:`accelsim.workload.values.zero_busy_operands`);
    ``arch`` itself when there are none. Compression is unchanged: the zeros
    are stored as zeros."""
    busy = zero_busy_operands(operator)
    if not busy:
        return arch
    sp = arch.sparsity
    return dataclasses.replace(arch, sparsity=SparsitySpec(
        ifmap="none" if "input" in busy else sp.ifmap,
        weight="none" if "weight" in busy else sp.weight))


def run_layer(layer: Layer, trace: Trace, arch: ArchSpec, *, first_layer: bool,
              mapping: Mapping | None = None, sporadic_window: int = 3,
              dense_baseline: bool = False,
              mapping_constraint: dict[str, int] | None = None) -> LayerResult:
    """Simulate one MAC layer of a trace (searching its mapping unless given).

    ``mapping_constraint`` (the layer's entry of a mapping file,
    :mod:`accelsim.mapping.constraints`; not with ``mapping``) restricts the
    search to mappings with its values; when no legal mapping has them the
    layer is unmapped, its reason naming the constraint (it is not searched
    without it). The dense baseline's search is restricted the same way: the
    constraint is a choice of mapping for the layer on this chip, and the
    baseline is the same chip with its sparsity features off.

    A trace's ``input_mask`` for the layer is applied to its input first (a
    zero in the mask zeroes the value); densities and the sporadic degree are
    reported after masking, and before it when a mask is present. What the
    mask does to the output (:mod:`accelsim.workload.masking`): on a trace
    recording the layer's quantization (the bridge's scales), the output
    values the mask reaches are recomputed from the masked input as the
    recorded ones were made; on one without (a synthetic trace: its output is
    not computed from its input) the recorded output is kept as it is. The
    result says which (``output_recomputed_under_mask``).

    An operand the layer's operator cannot hold as zero (``binary`` weights and
    activations, ``binary_weight`` weights: they are +-1) has no zeros, whatever
    the trace's data: nothing is gated or skipped on it and its density is 1.
    Otherwise the trace's data is used as it is, also when an assignment
    changed the layer's operator or widths (tensors are not requantized).
    An operand whose zero still costs the operation (``mult_free``: a zero
    activation still adds |w|) keeps its zeros in storage but gates and skips
    nothing (:func:`operator_sparsity`).
    """
    arch = operator_sparsity(arch, layer.operator)
    zero_free = zero_free_operands(layer.operator)
    # the per-layer cache holds what the data alone gives; data seen through a
    # zero-free operator is other data, so it has its own cache
    cache = trace.derived.setdefault(("layer", layer.name, *zero_free), {})
    key = ("masks", sporadic_window)
    if key not in cache:
        cache[key] = _layer_data(layer, trace, sporadic_window, zero_free)
    input_nz, output_nz, weight_nz, measured = cache[key]
    extra: dict = dict(measured)
    if mapping is not None and mapping_constraint:
        raise AccelsimError(f"layer {layer.name}: give a mapping or a mapping constraint, "
                            "not both")
    if mapping is None:
        mres, counts, energy, per_tensor = search_mapping(
            layer, arch, input_nz=input_nz, output_nz=output_nz, weight_nz=weight_nz,
            first_layer=first_layer, data_cache=cache, fixed=mapping_constraint)
    else:
        counts = simulate_layer(layer, arch, mapping, input_nz=input_nz, output_nz=output_nz,
                                weight_nz=weight_nz, first_layer=first_layer, tile_cache=cache)
        energy, per_tensor = layer_energy(counts, arch, mac_op_pj(arch, layer))
        mres = MappingResult(mapping=mapping, candidates=1)
    if dense_baseline and mres.feasible:
        d_res, d_counts, d_energy, d_tensor = search_mapping(
            layer, dense_arch(arch), input_nz=input_nz, output_nz=output_nz,
            weight_nz=weight_nz, first_layer=first_layer, data_cache=cache,
            fixed=mapping_constraint)
        extra["dense"] = LayerResult(layer=layer, mapping=d_res, counts=d_counts,
                                     energy_pj=d_energy, energy_by_tensor_pj=d_tensor)
    return LayerResult(layer=layer, mapping=mres, counts=counts, energy_pj=energy,
                       energy_by_tensor_pj=per_tensor, **extra)


def check_support(arch: ArchSpec, trace: Trace) -> None:
    """Raise :class:`AccelsimError` naming every MAC layer whose operator and
    widths the arch's MAC core does not run (and what it runs), every tensor
    whose values do not fit the layer as the trace declares it, every layer
    whose data the arch's run-length code cannot hold, and every bad input mask (:mod:`accelsim.workload.values`).

    Values are checked against the declared layers, not against an assignment:
    an assignment is a what-if on the trace's data, so a 16-bit trace may be
    run as 8-bit layers. A problem an assignment brings in (a mode the core
    does not run on a layer it assigns, a width it sets that a bus or the
    run-length code cannot take) names the assignment file and the layer's
    entry (``layers.NAME``), not the trace: that file is what to fix.
    """
    assign_path, entries = trace.assignment or (None, {})
    declared = {layer.name: layer for layer in declared_layers(trace)}
    # unsupported modes, grouped: a 16-bit MobileNet-v2 on an 8-bit core names
    # int 16x16 once with its layers, and the core's support list once
    unsupported: dict[tuple[str, int, int], list[str]] = {}
    assigned: dict[tuple[str, int, int], list[str]] = {}  # the same, by assignment entry
    problems, assign_problems = [], []
    first_name = first_mac_name(trace)
    for layer in trace.mac_layers:
        entry = entries.get(layer.name)
        mode = (layer.operator, layer.weight_bits, layer.act_bits)
        if support_problem(arch.mac, *mode) is not None:
            if entry:
                assigned.setdefault(mode, []).append(f"layers.{layer.name}")
            else:
                unsupported.setdefault(mode, []).append(layer.name)
        first = layer.base_name == first_name
        coding = rlc_problem(layer, arch, first_layer=first)
        if coding is not None:  # before any layer runs, not when this one does
            if (entry and ("weight_bits" in entry or "act_bits" in entry)
                    and rlc_problem(declared[layer.name], arch, first_layer=first) is None):
                assign_problems.append(f"layers.{layer.name}: {arch.name}: {coding}")
            else:
                problems.append(f"{arch.name}: {coding}")
        for key, bus, bits, what, width in (("ifmap_bus_bits", arch.noc.ifmap_bus_bits,
                                             layer.act_bits, "activations", "act_bits"),
                                            ("filter_bus_bits", arch.noc.filter_bus_bits,
                                             layer.weight_bits, "weights", "weight_bits")):
            if bits > bus:  # the engine moves whole values per bus cycle
                text = (f"{arch.name}: noc.{key} {bus} cannot carry layer {layer.name}'s "
                        f"{bits}-bit {what} in one transfer (values wider than their bus "
                        f"are not modeled)")
                if entry and width in entry:
                    assign_problems.append(f"layers.{layer.name}.{width}: {text}")
                else:
                    problems.append(text)
    problems = _support_problems(arch, unsupported) + problems + data_problems(arch, trace)
    assign_problems = _support_problems(arch, assigned, _listed) + assign_problems
    parts = [f"{path}: " + "; ".join(probs) for path, probs in
             ((trace.path, problems), (assign_path, assign_problems)) if probs]
    if parts:
        raise AccelsimError("; ".join(parts))


def _listed(names: list[str]) -> str:
    """``a``, ``a, b, c and d``, ``a, b, c and 50 more``."""
    if len(names) == 1:
        return names[0]
    if len(names) <= 4:
        return f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{', '.join(names[:3])} and {len(names) - 3} more"


def _layer_names(names: list[str]) -> str:
    """``layer a``, ``layers a, b, c and d``, ``layers a, b, c and 50 more``."""
    return ("layer " if len(names) == 1 else "layers ") + _listed(names)


def _support_problems(arch: ArchSpec, unsupported: dict[tuple[str, int, int], list[str]],
                      names_text=_layer_names) -> list[str]:
    """One problem per reason the core gives (its support list, say), naming each
    unsupported (operator, widths) once with the layers that ask for it (as
    ``names_text`` words them)."""
    by_why: dict[str, list[tuple[str, str]]] = {}
    for (op, w, a), names in unsupported.items():
        mode = f"operator {op} with weight_bits {w}, act_bits {a}"
        why = support_problem(arch.mac, op, w, a)
        by_why.setdefault(why, []).append((mode, names_text(names)))
    problems = []
    for why, modes in by_why.items():
        if len(modes) == 1:
            (mode, names), = modes
            problems.append(f"{names}: {mode} is not supported by {arch.name} ({why})")
        else:
            listed = [f"{mode} ({names})" for mode, names in modes]
            problems.append(f"{', '.join(listed[:-1])} and {listed[-1]} are not supported by "
                            f"{arch.name} ({why})")
    return problems


def first_mac_name(trace: Trace) -> str | None:
    """The (base) name of the trace's first MAC layer, whose input is the network's
    input. In a routed trace every variant's instance of it reads the images
    (:mod:`accelsim.workload.route`), so each is a first layer."""
    macs = trace.mac_layers
    return macs[0].base_name if macs else None


def data_problems(arch: ArchSpec, trace: Trace) -> list[str]:
    """What is wrong with the trace's input masks and tensor values (checked
    against the layers as the trace declares them; the shift exponent range is
    the arch core's), each problem naming the layer and the tensor."""
    return mask_problems(trace) + value_problems(trace, shift_exponent_range(arch.mac))


def loaded(arch: ArchSpec | str | Path, trace: Trace | str | Path) -> tuple[ArchSpec, Trace]:
    """``arch`` and ``trace`` as objects: a path (str or Path) is read
    (:func:`accelsim.load_arch`, :func:`accelsim.read_trace`); anything else
    that is not an ArchSpec or a Trace is a TypeError naming what was given."""
    from accelsim.spec.load import load_arch
    from accelsim.workload.trace import read_trace

    if isinstance(arch, (str, Path)):
        arch = load_arch(arch)
    if isinstance(trace, (str, Path)):
        trace = read_trace(trace)
    if not isinstance(arch, ArchSpec):
        raise TypeError(f"arch: an ArchSpec or the path of an arch file "
                        f"(got {type(arch).__name__})")
    if not isinstance(trace, Trace):
        raise TypeError(f"trace: a Trace or the path of a trace file "
                        f"(got {type(trace).__name__})")
    return arch, trace


def run(arch: ArchSpec | str | Path, trace: Trace | str | Path, *, arch_path: str = "<memory>",
        sporadic_window: int = 3, dense_baseline: bool = False,
        mapping_constraints: dict[str, dict[str, int]] | None = None,
        mapping_path: str | None = None) -> RunResult:
    """Simulate every layer of ``trace`` on ``arch`` (objects, or the paths of
    an arch file and a trace file: :func:`loaded`; a path given as ``arch`` is
    the report's ``arch_path`` unless one is given).

    ``mapping_constraints`` (``{layer name: {key: value}}``, the ``layers`` of a
    mapping file: :func:`accelsim.mapping.constraints.read_mapping_constraints`)
    restricts the named layers' mapping search (:func:`run_layer`); every name
    must be a MAC layer of the trace, else :class:`~accelsim.errors.ConfigError`
    naming ``mapping_path`` (the file, recorded in the report's provenance).

    MAC layers are mapped and simulated; other layers (pooling, adds, ...) are
    carried through unsimulated, with their sizes, so nothing disappears.
    ``dense_baseline`` also runs each MAC layer on :func:`dense_arch`, for
    speedup and energy-saving columns. The baseline searches its own best
    mapping (a dense chip is programmed for its own data), so it is not the
    sparse run's mapping with the features switched off. Each run picks what is
    best on the mapper's objective for it (under ``energy`` the sparse run may
    take a mapping with a few more cycles and less energy; under any objective
    the search executes only its ``top_k`` estimated best), so on a layer
    ``speedup`` can be slightly below 1 (or ``energy_saving`` below 0) although
    on one mapping skipping never adds cycles and gating never adds energy.
    """
    if isinstance(arch, (str, Path)) and arch_path == "<memory>":
        arch_path = str(arch)
    arch, trace = loaded(arch, trace)
    problem = window_problem(sporadic_window)
    if problem is not None:
        raise AccelsimError(f"--sporadic-window: {problem}")
    constraints = None
    if mapping_constraints:  # None or {}: no constraints
        constraints = check_constraints(trace, mapping_constraints,
                                        mapping_path or "<mapping constraints>")
    check_support(arch, trace)
    results = []
    first_name = first_mac_name(trace)
    for layer in trace.layers:
        if not layer.is_mac:
            reason = (f"{layer.op} is not simulated: {layer.note}" if layer.note
                      else f"{layer.op} is not simulated (no MACs)")
            results.append(LayerResult(layer=layer, mapping=MappingResult(mapping=None,
                                                                          reason=reason)))
            continue
        results.append(run_layer(layer, trace, arch, first_layer=layer.base_name == first_name,
                                 sporadic_window=sporadic_window, dense_baseline=dense_baseline,
                                 mapping_constraint=(constraints or {}).get(layer.name)))
    return RunResult(arch=arch, trace=trace, layers=tuple(results), arch_path=arch_path,
                     mapping_constraints=constraints, mapping_path=mapping_path)
