"""Input masks: drop MAC layers' input values to raise their sparsity and cut
sporadic (isolated) nonzeros (``accelsim mask``).

Place in the pipeline: ``workload`` (writes a trace; no hardware). A mask is
the trace's ``input_mask`` of a conv2d or linear layer: 0 drops the value, 1
keeps it (:mod:`accelsim.workload.layer`); ``accelsim run`` applies it before
anything is fetched (:func:`accelsim.run.run_layer`).

Two rules, applied per layer in this order when both are asked for:

- ``density``: keep the largest-magnitude nonzeros so that at most
  ``density`` of the layer's input values are nonzero (magnitude masking;
  ties at the cut keep the values first in the tensor's C order, so the
  result is deterministic). A layer already at or below the density is left
  as it is.
- ``drop_sporadic``: drop every nonzero with no nonzero neighbour in its
  ``window`` x ``window`` spatial neighbourhood, the values the report's
  ``ifmap_sporadic_degree`` counts (:mod:`accelsim.workload.sparsity`, which
  says why they are costly). One pass leaves none: a dropped value was no
  other value's neighbour (the neighbourhood is symmetric), so every value
  kept keeps a nonzero neighbour. A layer whose input has no spatial extent
  (a linear layer's [N, C], a 1x1 map) has no neighbourhood
  (:func:`accelsim.workload.sparsity.has_neighbourhood`, as for the sporadic
  degree) and is left out, or refused when named.

A layer that already has a mask keeps it: the new mask drops what the old
one dropped, and the rules see the input after it. What the mask models: the
layer's input fetch (DRAM, GLB, NoC, spads, MACs) sees only the kept values;
the producing layer still writes its whole output (a mask applied at the
producer's write-back would also shrink that traffic; not modeled).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.sparsity import has_neighbourhood, isolated, window_problem
from accelsim.workload.sparsity import density as _density
from accelsim.workload.sparsity import sporadic_degree
from accelsim.workload.trace import Trace, source_entries, write_trace


@dataclass(frozen=True, slots=True)
class MaskedLayer:
    """What masking did to one layer's input (densities of its values)."""

    name: str
    density_before: float
    density_after: float
    sporadic_before: float
    sporadic_after: float
    dropped: int


def magnitude_keep(x: np.ndarray, density: float) -> np.ndarray:
    """bool, shaped as ``x``: its ``floor(density * size)`` largest-magnitude
    nonzeros (all of them when there are no more), ties kept in C order."""
    flat = np.abs(x.astype(np.float64)).ravel()
    nonzero = np.flatnonzero(flat)
    budget = int(np.floor(density * flat.size + 1e-9))
    keep = np.zeros(flat.size, dtype=bool)
    if len(nonzero) <= budget:
        keep[nonzero] = True
    elif budget > 0:
        order = nonzero[np.argsort(-flat[nonzero], kind="stable")]
        keep[order[:budget]] = True
    return keep.reshape(x.shape)


def _check(trace: Trace, names: list[str] | None, density: float | None,
           drop_sporadic: bool, window: int) -> list:
    if density is None and not drop_sporadic:
        raise AccelsimError("mask: nothing to do: give --density, --drop-sporadic or both")
    if density is not None and not 0.0 <= density <= 1.0:
        raise AccelsimError(f"--density: must be in [0, 1] (got {density!r})")
    problem = window_problem(window)
    if problem is not None:
        raise AccelsimError(f"--window: {problem}")
    if names is None:
        layers = list(trace.mac_layers)
        if drop_sporadic:  # only where there is a neighbourhood
            layers = [x for x in layers if has_neighbourhood(x.input_shape)]
        if not layers:
            raise AccelsimError(f"{trace.path}: no MAC layer to mask" + (
                " (none has a spatial input, H x W > 1, to drop sporadic values from)"
                if drop_sporadic else ""))
        return layers
    problems = trace.mac_name_problems(names, "mask")
    by_name = {x.name: x for x in trace.layers}
    layers = [by_name[n] for n in names if n in by_name and by_name[n].is_mac]
    if drop_sporadic:
        problems += [f"layers.{x.name}: a {x.op} layer's input {list(x.input_shape[1:])} has "
                     "no spatial neighbourhood to drop sporadic values from" for x in layers
                     if not has_neighbourhood(x.input_shape)]
    if len(set(names)) != len(names):
        problems.append("--layers: a layer is named twice")
    if problems:
        raise AccelsimError(f"{trace.path}: " + "; ".join(problems))
    return layers


def mask_trace(trace: Trace, path: str, *, layers: list[str] | None = None,
               density: float | None = None, drop_sporadic: bool = False,
               window: int = 3, compress: bool = False) -> list[MaskedLayer]:
    """Write ``trace`` to ``path`` with input masks on ``layers`` (every MAC
    layer when None; with ``drop_sporadic``, every one with a spatial input).

    The source file's header entries are kept as they are (keys the simulator
    does not read included: a bridge trace's scales and bias), each masked
    layer's ``tensors`` gaining ``input_mask``. Returns what was done, layer
    by layer. Raises :class:`AccelsimError` naming the option or the layer.
    """
    chosen = _check(trace, layers, density, drop_sporadic, window)
    arrays = dict(trace.arrays)
    heads = source_entries(trace)
    entries = {e["name"]: e for e in heads}
    done = []
    for layer in chosen:
        x = trace.tensor(layer, "input")
        old = trace.tensor(layer, "input_mask")
        kept = x != 0 if old is None else (x != 0) & (old != 0)
        before = np.where(kept, x, 0)
        keep = kept
        if density is not None:
            keep = keep & magnitude_keep(before, density)
        if drop_sporadic:
            keep = keep & ~isolated(keep, window)
        key = layer.tensors.get("input_mask")  # an old mask is replaced in place
        if key is None:
            key = f"{layer.name}.input_mask"
            while key in arrays:
                key = "_" + key
        arrays[key] = keep.astype(np.uint8)
        entry = entries[layer.name]
        entry["tensors"] = {**entry.get("tensors", {}), "input_mask": key}
        done.append(MaskedLayer(  # a sporadic degree is NaN without a neighbourhood
            name=layer.name, density_before=_density(kept), density_after=_density(keep),
            sporadic_before=sporadic_degree(kept, window),
            sporadic_after=sporadic_degree(keep, window),
            dropped=int(np.count_nonzero(kept & ~keep))))
    write_trace(path, network=trace.network, batch=trace.batch, layers=heads,
                arrays=arrays, compress=compress, routing=trace.routing)
    return done


__all__ = ["MaskedLayer", "magnitude_keep", "mask_trace"]
