"""Operator cost table: every layer x every (operator, widths) the core runs.

Place in the pipeline: orchestration beside :mod:`accelsim.run`: each row is the
layer run through the same mapping search, engine and energy model with that
assignment, so a row equals ``accelsim run --assign`` giving the layer that
operator and those widths. It is the table an energy-aware operator (or
precision) search reads.

Cost: the data-dependent work of a layer (nonzero masks, zero counts, row
summaries, coded tiles) is cached on ``trace.derived`` per layer, and
width-dependent entries name their widths, so each combination is simulated
once and shares what does not depend on it.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from accelsim.energy.operators import mac_array_area_um2, op_energy_pj
from accelsim.enums import Cycle, Level, Tensor
from accelsim.errors import AccelsimError
from accelsim.run import data_problems, first_mac_name, loaded, run_layer
from accelsim.spec.arch import ArchSpec
from accelsim.spec.mac import combos
from accelsim.workload.trace import Trace

OPCOST_COLUMNS = ("layer", "operator", "weight_bits", "act_bits", "feasible", "reason",
                  "cycles", "latency_s", "energy_pj_total", "energy_pj_mac", "mac_pj_per_op",
                  "energy_pj_storage", "dram_weight_bytes", "macs", "macs_performed",
                  "mac_array_area_um2")


def opcost(arch: ArchSpec | str | Path, trace: Trace | str | Path, *,
           sporadic_window: int = 3) -> pd.DataFrame:
    """One row per (MAC layer, operator, weight bits, act bits) the core supports
    (``arch`` and ``trace`` as objects or paths, :func:`accelsim.run.loaded`).

    Columns: OPCOST_COLUMNS; ``energy_pj_storage`` is DRAM + GLB + NoC + spad;
    ``mac_array_area_um2`` is the reconfigurable array's MAC area, the same on
    every row (one datapath serves every mode), for searches under an area
    budget that compare arch files.
    A combination whose layer cannot be mapped has ``feasible`` False and its
    ``reason``. Each combination is a what-if on the trace's data (as
    ``--assign``); the data is checked against the layers as the trace declares
    them (:func:`accelsim.run.data_problems`).
    """
    arch, trace = loaded(arch, trace)
    problems = data_problems(arch, trace)
    if problems:
        raise AccelsimError(f"{trace.path}: " + "; ".join(problems))
    area = mac_array_area_um2(arch)
    rows = []
    first_name = first_mac_name(trace)
    for layer in trace.layers:
        if not layer.is_mac:
            continue
        for op, wb, ab in dict.fromkeys(combos(arch.mac)):
            variant = dataclasses.replace(layer, operator=op, weight_bits=wb, act_bits=ab)
            res = run_layer(variant, trace, arch, first_layer=layer.base_name == first_name,
                            sporadic_window=sporadic_window)
            row = {"layer": layer.name, "operator": op, "weight_bits": wb, "act_bits": ab,
                   "feasible": res.simulated, "reason": res.mapping.reason,
                   "mac_pj_per_op": op_energy_pj(arch, op, wb, ab), "macs": layer.macs,
                   "mac_array_area_um2": area}
            if res.simulated:
                c = res.counts
                e = res.energy_pj
                row.update(cycles=c.cycle(Cycle.TOTAL),
                           latency_s=c.cycle(Cycle.TOTAL) / (arch.core_clock_mhz * 1e6),
                           energy_pj_total=e["total"], energy_pj_mac=e["mac"],
                           energy_pj_storage=e["total"] - e["mac"],
                           dram_weight_bytes=c.bytes_at(Level.DRAM, Tensor.WEIGHT),
                           macs_performed=c.macs_performed)
            rows.append(row)
    return pd.DataFrame(rows, columns=list(OPCOST_COLUMNS))


__all__ = ["opcost", "OPCOST_COLUMNS"]
