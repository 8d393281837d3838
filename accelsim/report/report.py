"""Reports: per-layer rows and a total, with provenance.

Place in the pipeline: ``energy -> report`` (this module) ``-> plot``.

Every format carries the same numbers. The ``total`` row sums the simulated
layers only; MAC layers with no mapping are counted apart in it
(``unmapped_layers``, ``unmapped_macs``) and listed, with their reason, under
the human table. Columns per layer: ``name``, ``kind``,
``operator``, ``weight_bits``, ``act_bits`` (MAC layers), ``mac_pj_per_op`` (pJ
of one performed operation from the operator table,
:mod:`accelsim.energy.operators`), ``simulated``, ``reason`` (why a layer is not simulated), MACs (``macs`` dense
work without padding, ``macs_padded``, ``macs_performed``, ``macs_gated``,
``macs_skipped``), ``cycles`` (DRAM stalls included), ``processing_cycles``
(DRAM fully overlapped), their ``latency_s`` / ``processing_latency_s``, cycles
by cause, ``active_pes``, ``utilization`` and ``pe_utilization`` (below), bytes per level (``dram_bytes``, ``glb_bytes``: reads plus writes),
``peak_macs`` (cycles x PEs x the core's MACs per PE per cycle in the
layer's mode), ``energy_pj_<level>`` and ``energy_pj_total``, ``energy_pj_by_<tensor>``
(weight, ifmap, psum: storage and network energy, MAC excluded),
``compute_gated_cycles`` (the part of ``compute_cycles`` spent on gated zero
operands; padding taps and skipped zeros are not in it), the mapping (``map_*``),
and densities.
Sparsity: ``ifmap_density``, ``weight_density``, ``ifmap_sporadic_degree`` (see
accelsim.workload.sparsity), and ``*_before_mask`` when the trace masks the
layer's input, with ``output_recomputed_under_mask``: true when the output's
zeros come from the masked input (the trace records the layer's quantization,
or no output), false when the recorded output is kept as it is (a synthetic
trace; :mod:`accelsim.workload.masking`); ``pe_busy_max_cycles`` / ``pe_busy_mean_cycles`` (the busiest and
the mean PE's MAC-slot time in cycles, summed over passes and images) and their ratio
``load_imbalance``. With a dense baseline: ``dense_cycles``,
``dense_energy_pj_total``, ``speedup`` and ``energy_saving``.
The JSON report's ``arch`` object also gives ``mac_array_area_um2``, the MAC
datapaths' area (:func:`accelsim.energy.operators.mac_array_area_um2`). A run
with mapping constraints (``accelsim run --mapping``) records them as an input
beside the arch and the trace: ``mapping_constraints`` with the file's
``path``, ``sha256`` and the ``layers`` as applied; a run with an assignment
file (``--assign``) records it the same way as ``assignment``.
Utilization: ``utilization`` = ``macs_performed / peak_macs``, the share of
the array's MAC slots (over the layer's cycles, DRAM stalls included) doing
useful work. A gated MAC spends its slot on a zero and counts as idle there;
``pe_utilization`` = ``(macs_performed + macs_gated) / peak_macs`` counts it as
busy, so under gating the gap between the two is the slots gating spent on
zeros (with no operand gated, the two are equal).
The two MAC layers of a decomposed layer (:mod:`accelsim.workload.decompose`)
have ``decomposed_from`` (the layer's name) and ``part`` (``basis`` or
``coefficients``), so their rows can be summed; other layers lack them.
A layer that is not a MAC layer has ``io_bytes`` (every input and output at its
``act_bits``) and, when it performs MACs the simulator does not take (a
transposed conv, a product of two activations), those ``macs``, which the
``total`` row does not count.
In JSON the ``energy_pj_<level>`` columns form an ``energy_pj`` object and the
``map_*`` columns a ``mapping`` object; a measure a layer has but that is
undefined for it (NaN, e.g. ``ifmap_sporadic_degree`` of a linear layer) is
``null``, so the JSON stays valid (no NaN literal) and keeps the key.
Routed traces (:mod:`accelsim.workload.route`): each layer instance has
``variant`` and ``variant_images`` (how many images it runs), and
:func:`routing_sums` gives each variant's images, cycles and energy summed over
its instances (the JSON report's ``routing`` object; ``accelsim run`` prints
it under the table).
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING

import numpy as np

from accelsim.energy.model import ENERGY_KEYS
from accelsim.fileio import atomic_write_text, file_sha256
from accelsim.enums import TENSOR_NAMES, Cycle, Level, Tensor
from accelsim.energy.operators import mac_array_area_um2, op_energy_pj
from accelsim.run import LayerResult, RunResult
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import peak_macs_per_pe_per_cycle
from accelsim.version import MODEL_REVISION, __version__

if TYPE_CHECKING:  # pandas is imported only where a DataFrame is made
    import pandas as pd

CYCLE_COLUMNS = {"compute_cycles": Cycle.COMPUTE, "accumulate_cycles": Cycle.ACCUMULATE,
                 "fill_cycles": Cycle.FILL,
                 "drain_cycles": Cycle.DRAIN, "noc_stall_cycles": Cycle.NOC_STALL,
                 "dram_stall_cycles": Cycle.DRAM_STALL, "passes": Cycle.PASSES}
MAPPING_KEYS = ("e", "p", "q", "r", "t", "gp", "m", "n", "segments", "r_rows")
SUM_COLUMNS = ("macs", "macs_padded", "macs_performed", "macs_gated", "macs_skipped", "cycles",
               "processing_cycles", "latency_s", "processing_latency_s", *CYCLE_COLUMNS,
               "dram_bytes", "glb_bytes", "noc_bytes", "spad_bytes",
               *(f"{lv}_{tn}_bytes" for lv in ("dram", "glb") for tn in ("weight", "ifmap",
                                                                          "psum")),
               *(f"energy_pj_{k}" for k in ENERGY_KEYS),
               *(f"energy_pj_by_{t}" for t in TENSOR_NAMES), "compute_gated_cycles", "io_bytes",
               "pe_busy_max_cycles", "pe_busy_mean_cycles", "dense_cycles", "peak_macs",
               "dense_energy_pj_total")


def _layer_row(res: LayerResult, arch: ArchSpec) -> dict:
    layer = res.layer
    clock_mhz, pes = arch.core_clock_mhz, arch.pe_array.pes
    row: dict = {"name": layer.name, "kind": layer.op, "simulated": res.simulated,
                 "reason": res.mapping.reason}
    if layer.variant:  # an instance of a routed trace
        row.update(variant=layer.variant, variant_images=len(layer.images))
    if layer.is_mac:
        row.update(operator=layer.operator, weight_bits=layer.weight_bits,
                   act_bits=layer.act_bits)
        if layer.part:  # a part of a decomposed layer (accelsim.workload.decompose)
            row.update(decomposed_from=layer.decomposed_from, part=layer.part)
        macs_per_pe = peak_macs_per_pe_per_cycle(arch.mac, layer.operator, layer.weight_bits,
                                                 layer.act_bits)
    if not res.simulated:
        if layer.is_mac:
            row["io_bytes"] = 0
            row["macs"] = layer.macs
            row["macs_padded"] = layer.macs_padded
            return row
        # every input and output (a concat reads all its inputs), when the trace lists them
        shapes = ((layer.input_shapes or (layer.input_shape,))
                  + (layer.output_shapes or (layer.output_shape,)))
        row["io_bytes"] = sum(math.prod(sh) for sh in shapes) * layer.act_bits / 8
        if layer.op_macs:  # an op with MACs the simulator does not take (a transposed conv)
            row["macs"] = layer.op_macs
            row["reason"] = (f"{layer.op} is not simulated: {layer.op_macs:,} MACs not counted "
                             "in the totals" + (f" ({layer.note})" if layer.note else ""))
        return row
    c = res.counts
    row["mac_pj_per_op"] = op_energy_pj(arch, layer.operator, layer.weight_bits, layer.act_bits)
    row["peak_macs"] = cycles_peak = c.cycle(Cycle.TOTAL) * pes * macs_per_pe
    cycles = c.cycle(Cycle.TOTAL)
    proc = c.cycle(Cycle.PROCESSING)
    row.update(
        macs=c.macs, macs_padded=c.macs_padded, macs_performed=c.macs_performed,
        macs_gated=c.macs_gated, macs_skipped=c.macs_skipped,
        cycles=cycles, processing_cycles=proc,
        latency_s=cycles / (clock_mhz * 1e6), processing_latency_s=proc / (clock_mhz * 1e6),
        **{k: c.cycle(v) for k, v in CYCLE_COLUMNS.items()},
        active_pes=c.active_pes,
        utilization=c.macs_performed / cycles_peak if cycles else 0.0,
        pe_utilization=(c.macs_performed + c.macs_gated) / cycles_peak if cycles else 0.0,
        dram_bytes=c.bytes_at(Level.DRAM), glb_bytes=c.bytes_at(Level.GLB),
        noc_bytes=c.bytes_at(Level.NOC), spad_bytes=c.bytes_at(Level.SPAD),
        ifmap_density=res.ifmap_density, weight_density=res.weight_density,
        ifmap_sporadic_degree=res.ifmap_sporadic_degree,
        pe_busy_max_cycles=c.pe_busy_max_cycles, pe_busy_mean_cycles=c.pe_busy_mean_cycles,
        load_imbalance=c.load_imbalance,
    )
    if res.ifmap_density_before_mask is not None:
        row["ifmap_density_before_mask"] = res.ifmap_density_before_mask
        row["ifmap_sporadic_degree_before_mask"] = res.ifmap_sporadic_degree_before_mask
        row["output_recomputed_under_mask"] = res.output_recomputed_under_mask
    if res.dense is not None and res.dense.simulated:
        d = res.dense.counts
        row.update(dense_cycles=d.cycle(Cycle.TOTAL),
                   dense_energy_pj_total=res.dense.energy_pj["total"],
                   speedup=d.cycle(Cycle.TOTAL) / cycles if cycles else float("nan"),
                   energy_saving=1.0 - res.energy_pj["total"] / res.dense.energy_pj["total"])
    for lv in (Level.DRAM, Level.GLB):
        for tn in Tensor:
            row[f"{lv.name.lower()}_{('weight', 'ifmap', 'psum')[tn]}_bytes"] = c.bytes_at(lv, tn)
    for k in ENERGY_KEYS:
        row[f"energy_pj_{k}"] = res.energy_pj[k]
    for tn in Tensor:  # storage and network energy by tensor (MAC energy excluded)
        row[f"energy_pj_by_{TENSOR_NAMES[tn]}"] = float(res.energy_by_tensor_pj[:, tn].sum())
    row["compute_gated_cycles"] = c.compute_gated_cycles
    row.update({f"map_{k}": v for k, v in res.mapping.mapping.as_dict().items()})
    row["mapping_candidates"] = res.mapping.candidates
    return row


def _column_sum(rows: list[dict], col: str):
    """The sum of ``col`` over ``rows``, a missing value counting as 0.

    Integers stay integers when every row has one; otherwise the sum is NumPy's
    float64 sum (pairwise), the same number a pandas column sum gives.
    """
    vals = [r.get(col) for r in rows]
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
           for v in vals):
        return sum(int(v) for v in vals)
    arr = np.array([0.0 if v is None else float(v) for v in vals], dtype=np.float64)
    return float(np.nan_to_num(arr, nan=0.0).sum())


def _unmapped(rows: list[dict]) -> list[dict]:
    """The MAC layers (rows with an ``operator``) that could not be mapped."""
    return [r for r in rows if not r["simulated"] and "operator" in r]


def _total_row(rows: list[dict]) -> dict:
    """Sums over the simulated layers (``io_bytes``: over the others, whose
    column it is). MAC layers that could not be mapped are not in any sum: they
    are counted apart as ``unmapped_layers`` and their dense ``unmapped_macs``."""
    total = {"name": "total", "kind": "total", "simulated": any(r["simulated"] for r in rows),
             "reason": ""}
    present = set().union(*rows) if rows else set()
    sim = [r for r in rows if r["simulated"]]
    for col in SUM_COLUMNS:
        if col in present:
            total[col] = _column_sum(rows if col == "io_bytes" else sim, col)
    unmapped = _unmapped(rows)
    total["unmapped_layers"] = len(unmapped)
    total["unmapped_macs"] = sum(int(r["macs"]) for r in unmapped)
    if sim:
        w = np.array([r["cycles"] for r in sim], dtype=np.float64)
        pes = np.array([r["active_pes"] for r in sim], dtype=np.float64)
        total["active_pes"] = float((pes * w).sum() / w.sum()) if w.sum() else 0.0
        total["utilization"] = (total["macs_performed"] / total["peak_macs"]
                                if total["peak_macs"] else 0.0)
        total["pe_utilization"] = ((total["macs_performed"] + total["macs_gated"])
                                   / total["peak_macs"] if total["peak_macs"] else 0.0)
        if total.get("pe_busy_mean_cycles"):
            total["load_imbalance"] = total["pe_busy_max_cycles"] / total["pe_busy_mean_cycles"]
        if total.get("dense_cycles"):
            total["speedup"] = total["dense_cycles"] / total["cycles"]
            total["energy_saving"] = 1.0 - total["energy_pj_total"] / total["dense_energy_pj_total"]
    return total


def report_rows(result: RunResult) -> list[dict]:
    """One dict per layer plus a final ``total`` row; a layer lacks the keys that
    do not apply to it (a layer that is not simulated has no cycles).

    Plain Python, so that ``accelsim run`` and sweep workers need not import
    pandas; :func:`report_frame` is the same rows as a DataFrame.
    """
    rows = [_layer_row(r, result.arch) for r in result.layers]
    return rows + [_total_row(rows)]


ROUTING_SUMS = ("macs", "macs_performed", "cycles", "energy_pj_total")


def routing_sums(result: RunResult, rows: list[dict] | None = None) -> dict | None:
    """Per variant of a routed trace (None for another trace): its ``images``,
    its ``layers`` (instances) and, over its simulated instances, the sums of
    ``ROUTING_SUMS``; with the trace's ``route``. A variant the route does not
    use has no instance and sums of 0."""
    routing = result.trace.routing
    if routing is None:
        return None
    rows = report_rows(result) if rows is None else rows
    per = {}
    for name in routing.variants:
        mine = [r for r in rows if r.get("variant") == name]
        sim = [r for r in mine if r["simulated"]]
        per[name] = {"images": len(routing.images(name)), "layers": len(mine),
                     **{col: _column_sum(sim, col) if sim else 0 for col in ROUTING_SUMS}}
    return {"route": list(routing.route), "variants": per}


def format_routing(sums: dict) -> list[str]:
    """One line per variant of :func:`routing_sums`, for the human table."""
    return [f"variant {name}: {v['images']} image{'' if v['images'] == 1 else 's'}, "
            f"{v['layers']} layer instances, {v['cycles']:,.0f} cycles, "
            f"{v['energy_pj_total'] * 1e-6:.2f} uJ"
            for name, v in sums["variants"].items()]


def report_frame(result: RunResult) -> pd.DataFrame:
    """One row per layer plus a final ``total`` row (:func:`report_rows` as a DataFrame)."""
    import pandas as pd

    return pd.DataFrame(report_rows(result))


def _sha256(path: str) -> str | None:
    """The file's SHA-256, or None for an input that is not a file (``<memory>``)."""
    return file_sha256(path) if path and os.path.isfile(path) else None


def _clean(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


FLOAT_COLUMNS = {"latency_s", "processing_latency_s", "utilization", "pe_utilization",
                 "active_pes",
                 "ifmap_density", "weight_density", "ifmap_sporadic_degree",
                 "ifmap_density_before_mask", "ifmap_sporadic_degree_before_mask",
                 "pe_busy_max_cycles", "pe_busy_mean_cycles", "load_imbalance", "speedup",
                 "energy_saving", "mac_pj_per_op", "peak_macs"}


def _is_float_column(col: str) -> bool:
    """A measure written as a float in every format (energies, ratios, latencies),
    the rest being counts written as integers when whole."""
    return col in FLOAT_COLUMNS or "energy_pj" in col


def _json_row(row: dict) -> dict:
    out = {}
    energy = {}
    by_tensor = {}
    mapping = {}
    for k, v in row.items():
        v = _clean(v)
        is_float = _is_float_column(k)
        if isinstance(v, float) and v.is_integer() and not is_float:
            v = int(v)
        elif is_float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if k.startswith("energy_pj_by_"):
            by_tensor[k[len("energy_pj_by_"):]] = v
        elif k.startswith("energy_pj_"):
            energy[k[len("energy_pj_"):]] = v
        elif k.startswith("map_"):
            mapping[k[4:]] = v
        elif v is not None or k in FLOAT_COLUMNS:
            out[k] = v  # a measure a layer has but cannot define (NaN) is null, not dropped
    if any(x is not None for x in energy.values()):
        out["energy_pj"] = energy
    if any(x is not None for x in by_tensor.values()):
        out["energy_pj_by_tensor"] = by_tensor
    if any(x is not None for x in mapping.values()):
        out["mapping"] = mapping
    return out


def report_dict(result: RunResult, rows: list[dict] | None = None) -> dict:
    """The JSON report: layers, total, and provenance (``rows``: :func:`report_rows`)."""
    rows = report_rows(result) if rows is None else rows
    records = [_json_row(r) for r in rows]
    routing = routing_sums(result, rows)
    extra = {} if routing is None else {"routing": routing}
    if result.trace.assignment is not None:  # an input like the arch and the trace
        path, layers = result.trace.assignment
        extra["assignment"] = {"path": path, "sha256": _sha256(path), "layers": layers}
    if result.mapping_constraints:
        path = result.mapping_path or "<memory>"
        extra["mapping_constraints"] = {"path": path, "sha256": _sha256(path),
                                        "layers": result.mapping_constraints}
    return {
        "accelsim_version": __version__,
        "model_revision": MODEL_REVISION,
        "arch": {"name": result.arch.name, "path": result.arch_path,
                 "sha256": _sha256(result.arch_path),
                 "mac_array_area_um2": mac_array_area_um2(result.arch)},
        "trace": {"network": result.trace.network, "batch": result.trace.batch,
                  "path": result.trace.path, "sha256": _sha256(result.trace.path)},
        "layers": records[:-1],
        "total": records[-1],
        **extra,
    }


TABLE_COLUMNS = {"name": ("layer", "{}"), "macs": ("MACs", "{:,.0f}"),
                 "cycles": ("cycles", "{:,.0f}"), "latency_s": ("latency ms", "{:.3f}", 1e3),
                 "active_pes": ("active PEs", "{:.0f}"), "utilization": ("util", "{:.3f}"),
                 "dram_bytes": ("DRAM MB", "{:.3f}", 1e-6),
                 "glb_bytes": ("GLB MB", "{:.3f}", 1e-6),
                 **{f"energy_pj_{k}": (f"E {k} uJ", "{:.2f}", 1e-6)
                    for k in ("dram", "glb", "noc", "spad", "mac", "total")}}
"""Report column -> (title, format[, scale]) of the human table."""
BASELINE_COLUMNS = {"speedup": ("speedup", "{:.2f}x"),
                    "energy_saving": ("energy saved", "{:.1%}")}


def _cell(row: dict, col: str, fmt: str, scale: float = 1.0) -> str:
    v = row.get(col)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "NaN"
    return fmt.format(v * scale if scale != 1.0 else v)


def format_table(rows: list[dict]) -> str:
    """A human table of the simulated layers and the total (``rows``: :func:`report_rows`).

    Columns are right-aligned and separated by one space; a value a layer does
    not have shows as ``NaN``.
    """
    shown = [r for r in rows if r["simulated"] or r["name"] == "total"]
    columns = dict(TABLE_COLUMNS)
    if any("speedup" in r for r in shown):  # a dense baseline ran
        columns.update(BASELINE_COLUMNS)
    cols = [[spec[0], *(_cell(r, col, *spec[1:]) for r in shown)]
            for col, spec in columns.items()]
    widths = [max(map(len, c)) for c in cols]
    lines = [" ".join(c[i].rjust(w) for c, w in zip(cols, widths))
             for i in range(len(shown) + 1)]
    skipped = [r for r in rows if not r["simulated"] and r["name"] != "total"
               and "operator" not in r]  # non-MAC layers; unmapped MAC layers below
    if skipped:
        io = sum(r.get("io_bytes") or 0 for r in skipped)
        macs = sum(r.get("macs") or 0 for r in skipped if "operator" not in r)
        lines.append(f"not simulated: {len(skipped)} layers ("
                     + ", ".join(sorted({r["kind"] for r in skipped})) + "), "
                     f"{io / 1e6:.3f} MB of input+output"
                     + (f", {macs:,} MACs not counted in the totals" if macs else ""))
    unmapped = _unmapped(rows)
    if unmapped:  # MAC layers with no mapping: not in the total, said so
        lines.append(f"not simulated, no mapping: {len(unmapped)} MAC layer"
                     f"{'s' if len(unmapped) > 1 else ''} with "
                     f"{sum(int(r['macs']) for r in unmapped):,} MACs, not in the total: "
                     + "; ".join(f"{r['name']} ({r['reason']})" for r in unmapped))
    return "\n".join(lines)


def _csv_frame(rows: list[dict]) -> pd.DataFrame:
    """The rows as a DataFrame whose count columns print as integers.

    A column is integral when it is not a float column (as in :func:`_json_row`)
    and every value it has is a whole number; it becomes pandas' nullable
    ``Int64``, so a layer without the value leaves the cell empty instead of
    turning the whole column into floats (``421660800.0``).
    """
    import pandas as pd

    df = pd.DataFrame(rows)
    for col in df.columns:
        if _is_float_column(col):
            continue
        vals = [r[col] for r in rows if r.get(col) is not None]
        if vals and all(
                isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                or isinstance(v, (float, np.floating)) and float(v).is_integer()
                for v in vals):
            df[col] = pd.array([None if r.get(col) is None else int(r[col]) for r in rows],
                               dtype="Int64")
    return df


SUFFIX_FORMATS = {".json": "json", ".csv": "csv"}
"""The output suffixes that name a report format; any other suffix gets the table."""
FOREIGN_SUFFIXES = {".parquet": "a Parquet table", ".pq": "a Parquet table",
                    ".png": "a figure", ".svg": "a figure", ".pdf": "a figure"}
"""Suffixes a reader takes for a format reports are not written in (``accelsim
plot`` reads .parquet as Parquet; a figure is drawn with ``run --plot``)."""


def report_format(fmt: str | None, out: str | os.PathLike | None, *,
                  option: str = "--out", plot_option: str | None = None) -> str:
    """The format to write: ``fmt`` if given, else the one ``out``'s suffix names.

    Without ``fmt`` a ``.json`` or ``.csv`` output gets that format and any
    other output (or stdout) the table, so that ``--out r.json`` never holds a
    table a JSON reader rejects. Raises :class:`AccelsimError` when ``fmt``
    contradicts the suffix (``--format csv --out r.json``) or the suffix names
    a format no report is written in (.parquet, .png, .svg, .pdf);
    ``plot_option`` (``--plot``) is offered for a figure's suffix.
    """
    from accelsim.errors import AccelsimError

    if out is None:
        return fmt or "table"
    suffix = os.path.splitext(os.fspath(out))[1]
    foreign = FOREIGN_SUFFIXES.get(suffix.lower())
    if foreign is not None:
        hint = (f"; draw a figure with {plot_option} FIG"
                if plot_option and foreign == "a figure" else "")
        raise AccelsimError(f"{option} {out}: a {suffix} file is {foreign}, which this "
                            f"command does not write (name it .json, .csv or .txt{hint})")
    named = SUFFIX_FORMATS.get(suffix.lower())
    if fmt is None:
        return named or "table"
    if named is not None and named != fmt:
        raise AccelsimError(f"--format {fmt} contradicts {option} {out} (a {suffix} file "
                            f"holds {named}); drop --format or change the suffix")
    return fmt


def write_report(result: RunResult, fmt: str, out: str | None) -> str:
    """Render the report as ``fmt`` (table, csv, json); write atomically to ``out``."""
    rows = report_rows(result)
    if fmt == "json":
        text = json.dumps(report_dict(result, rows), indent=2) + "\n"
    elif fmt == "csv":
        text = _csv_frame(rows).to_csv(index=False)
    else:
        text = format_table(rows) + "\n"
    if out:
        atomic_write_text(out, text)
    return text
