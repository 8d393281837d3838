"""Run-time routing between variants of one network, as one trace.

Place in the pipeline: ``trace.npz`` (one per variant) ``-> workload`` (this
module) ``-> trace.npz`` (routed) ``-> mapping``.

The use case: a router sends each input to a mildly or an aggressively pruned
version of the same network ("switching at run time between mildly and
aggressively pruned networks"). :func:`route_traces` builds what the
accelerator runs for one batch under a given per-image route, from one trace
per variant, each holding the whole batch run through that variant.

The schedule modeled (an assumption, named here because it sets the cost of
mixing): the accelerator runs the network layer by layer, as for any trace;
within a layer it runs the layer once for each variant that has images, on
that variant's weights and on the sub-batch of images routed to it, before it
moves on to the next layer. So for every layer the routed trace holds one
instance per used variant, ``L@mild`` then ``L@aggressive`` (adjacent, in the
order the variants are given), each run as a layer of its own: each used
variant's weights are fetched from DRAM once per batch per layer (more when
the mapping refetches them per pass, as for any layer), so a mixed batch pays
for both variants' weights, and each variant's weights are reused over fewer
images (each instance also pays its own fill, drain and filter loads). That is
why a mixed route's cost need not lie between running every image on the mild
and every image on the aggressive variant: it can exceed both (README,
"Run-time routing between pruned variants"). The images of one variant keep
their batch order.

What an instance holds: the variant's weight tensor of that layer, whole; its
input, output and input mask restricted to the routed images. The leading
dimension of every activation shape and tensor is taken to hold the batch,
image-major (as the PyTorch bridge and ``accelsim synth`` write it): a
dimension of ``N * T`` (a linear layer with ``T`` tokens folded in, or a
non-MAC op's reshape) keeps ``T`` rows per image. A non-MAC layer's ``macs``
scale with its images. An instance keeps its variant's quantization scales
and ``bias`` (the whole bias array, as the weight), with which the run
recomputes what an input mask does to the output
(:mod:`accelsim.workload.masking`); the variants may differ in them (each is
calibrated on its own data). Keys only the bridge reads back (``inputs``,
``fused``) are not carried: a trace does not keep them once loaded.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from accelsim.errors import AccelsimError
from accelsim.workload.layer import QUANTIZATION_KEYS, Layer, layer_to_header
from accelsim.workload.trace import (FORMAT_NAME, FORMAT_VERSION, Routing, Trace, parse_header,
                                     trace_to_headers, variant_name_problem, write_trace)
from accelsim.workload.trace import INSTANCE_SEPARATOR as _SEPARATOR  # LAYER@VARIANT


def _geometry(layer: Layer) -> dict:
    """What two variants' layers must agree on: the header without tensors and
    quantization (each variant is calibrated on its own data)."""
    head = layer_to_header(layer)
    for key in ("tensors", *QUANTIZATION_KEYS):
        head.pop(key, None)
    return head


def architecture_problem(variants: Mapping[str, Trace]) -> str | None:
    """Why the variants' traces are not one architecture (None when they are).

    Names the first differing layer and field; compares layer names, kinds,
    shapes, strides, padding, groups, widths, operators and activations, and
    the batch.
    """
    names = list(variants)
    ref_name, ref = names[0], variants[names[0]]
    for name in names[1:]:
        other = variants[name]
        if other.batch != ref.batch:
            return (f"variant {name!r}: batch {other.batch} differs from variant "
                    f"{ref_name!r}'s {ref.batch}")
        for i in range(max(len(ref.layers), len(other.layers))):
            if i >= len(ref.layers) or i >= len(other.layers):
                longer, extra = ((name, other.layers[i]) if i >= len(ref.layers)
                                 else (ref_name, ref.layers[i]))
                return (f"variant {name!r}: layers[{i}]: only variant {longer!r} has a layer "
                        f"here ({extra.name}; {len(other.layers)} layers against "
                        f"{len(ref.layers)})")
            a, b = _geometry(ref.layers[i]), _geometry(other.layers[i])
            for key in dict.fromkeys([*a, *b]):
                if a.get(key) != b.get(key):
                    return (f"variant {name!r}: layers[{i}]({ref.layers[i].name}).{key}: "
                            f"{b.get(key)!r} differs from variant {ref_name!r}'s "
                            f"{a.get(key)!r} (the variants must be one architecture)")
    return None


def _rows_per_image(dim: int, batch: int, where: str) -> int:
    if dim % batch:
        raise AccelsimError(f"{where}: leading dimension {dim} is not a multiple of the batch "
                            f"{batch}, so it cannot be split by image (routing assumes the "
                            "batch leads, image-major)")
    return dim // batch


def _sub_shape(shape: tuple[int, ...], batch: int, count: int, where: str) -> list[int]:
    if not shape:
        raise AccelsimError(f"{where}: a scalar shape cannot be split by image")
    return [_rows_per_image(shape[0], batch, where) * count, *shape[1:]]


def _sub_array(arr: np.ndarray, batch: int, images: np.ndarray, where: str) -> np.ndarray:
    """The rows of ``arr`` (leading dimension ``batch * T``) of ``images``."""
    if arr.ndim == 0:
        raise AccelsimError(f"{where}: a scalar tensor cannot be split by image")
    per = _rows_per_image(arr.shape[0], batch, where)
    blocks = arr.reshape(batch, per, *arr.shape[1:])[images]
    return np.ascontiguousarray(blocks.reshape(len(images) * per, *arr.shape[1:]))


def _instance(layer: Layer, trace: Trace, variant: str, images: tuple[int, ...],
              arrays: dict[str, np.ndarray]) -> dict:
    """The header of ``layer``'s instance for ``variant``; its arrays go into ``arrays``."""
    batch, count = trace.batch, len(images)
    where = f"{trace.path}: layers({layer.name})"
    head = layer_to_header(layer)
    name = f"{layer.name}{_SEPARATOR}{variant}"
    head.update(name=name, variant=variant, images=list(images))
    head["input_shape"] = _sub_shape(layer.input_shape, batch, count, f"{where}.input_shape")
    if not layer.is_mac:
        head["output_shape"] = _sub_shape(layer.output_shape, batch, count,
                                          f"{where}.output_shape")
        for key in ("input_shapes", "output_shapes"):
            if key in head:
                head[key] = [_sub_shape(tuple(sh), batch, count, f"{where}.{key}")
                             for sh in head[key]]
        if layer.op_macs:
            if layer.op_macs * count % batch:
                raise AccelsimError(f"{where}.macs: {layer.op_macs} MACs do not split evenly "
                                    f"over the batch of {batch}")
            head["macs"] = layer.op_macs * count // batch
    index = np.asarray(images, dtype=np.int64)
    tensors = {}
    for role in layer.tensors:
        key = f"{name}.{role}"
        arr = trace.tensor(layer, role)
        arrays[key] = (arr if role == "weight"
                       else _sub_array(arr, batch, index, f"{where}.tensors.{role}"))
        tensors[role] = key
    head["tensors"] = tensors
    if "bias" in head:  # per output channel, like the weight: whole
        key = f"{name}.bias"
        arrays[key] = trace.arrays[head["bias"]]
        head["bias"] = key
    return head


def parse_route(route: list[str], variants: Mapping[str, Trace], option: str = "route"
                ) -> tuple[str, ...]:
    """Check ``route`` against the variants and their batch; return it as a tuple."""
    batch = next(iter(variants.values())).batch
    known = list(variants)
    for i, name in enumerate(route):
        if name not in variants:
            raise AccelsimError(f"{option}[{i}]: unknown variant {name!r} (variants: "
                                f"{', '.join(known)})")
    if len(route) != batch:
        raise AccelsimError(f"{option}: {len(route)} entries, but the traces' batch is {batch} "
                            "(one variant name per image)")
    return tuple(route)


def route_traces(variants: Mapping[str, Trace], route: list[str], *, option: str = "route"
                 ) -> Trace:
    """One trace running each image of the batch on the variant ``route`` names.

    Parameters
    ----------
    variants:
        Variant name -> trace. At least two, of one network architecture (the
        same layers: names, kinds, shapes, widths; the same batch N), each
        holding all N images run through that variant. Names may not contain
        ``@`` or ``,`` (:func:`accelsim.workload.trace.variant_name_problem`).
    route:
        One variant name per image (length N). A variant may have no image:
        it then has no layer instances, and is still listed in the routing.
    option:
        What error messages call the route (the command line's ``--route``).

    Returns
    -------
    Trace
        In memory (``path`` ``<memory>``), with ``routing`` set; every layer L
        becomes one instance per variant with images, ``L@VARIANT``, adjacent
        and in the order of ``variants`` (see the module docstring for the
        schedule this models). Write it with :func:`write_routed_trace`.

    Raises
    ------
    AccelsimError
        Fewer than two variants, a bad variant name, a trace already routed,
        traces of different architectures (the first differing layer and
        field), a route of the wrong length or naming an unknown variant.
    """
    names = list(variants)
    if len(names) < 2:
        raise AccelsimError(f"variants: routing needs at least two variants (got "
                            f"{len(names)}: {', '.join(names) or 'none'})")
    for name, trace in variants.items():
        problem = variant_name_problem(name)
        if problem is not None:
            raise AccelsimError(f"variants: variant {name!r} of {trace.path}: {problem}")
        if trace.routing is not None:
            raise AccelsimError(f"variant {name!r}: {trace.path} is already a routed trace")
    problem = architecture_problem(variants)
    if problem is not None:
        raise AccelsimError(problem)
    route = parse_route(list(route), variants, option)
    routing = Routing(variants=tuple(names), route=route)
    ref = variants[names[0]]
    headers: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    for i, layer in enumerate(ref.layers):
        for name in names:
            images = routing.images(name)
            if images:
                headers.append(_instance(variants[name].layers[i], variants[name], name,
                                         images, arrays))
    header = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "network": ref.network,
              "batch": ref.batch, "layers": headers, "routing": routing.as_dict()}
    layers, problems = parse_header(header)
    if problems:  # route_traces built something the trace format refuses: a bug here
        raise AssertionError("; ".join(problems))
    return Trace(network=ref.network, batch=ref.batch, layers=tuple(layers), arrays=arrays,
                 routing=routing)


def write_routed_trace(path: str, trace: Trace, *, compress: bool = False) -> None:
    """Write a trace from :func:`route_traces` (or any trace) atomically."""
    write_trace(path, network=trace.network, batch=trace.batch,
                layers=trace_to_headers(trace), arrays=trace.arrays, compress=compress,
                routing=trace.routing)


__all__ = ["route_traces", "write_routed_trace", "architecture_problem", "parse_route"]
