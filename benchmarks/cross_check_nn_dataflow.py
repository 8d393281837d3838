"""Cross-check accelsim's dense Eyeriss v1 AlexNet energy against nn-dataflow 2.1.

nn-dataflow (Gao, Yang, Pu, Horowitz, Kozyrakis, "TETRIS", ASPLOS 2017; PyPI
``nn-dataflow`` 2.1) models a row-stationary PE array under the ISCA 2016 energy
hierarchy (DRAM 200, GLB 6, array 2, RF 1, MAC 1 per 16-bit access). This script
sets it up as close to ``arch_configs/eyeriss_v1.yaml`` as its model allows, and
prints its per-layer energy by level beside accelsim's. It is a measurement
script, not a test: nothing here feeds the simulator, and the two halves never
import each other's tool (``nnd`` imports nn_dataflow only, ``compare`` imports
accelsim only), so each runs in its own environment.

Reproduce (from the repository root)::

    python -m venv /work/venvs/nnd
    /work/venvs/nnd/bin/pip install nn-dataflow==2.1 "sympy<1.12"
    /work/venvs/nnd/bin/python benchmarks/cross_check_nn_dataflow.py nnd --out /tmp/xc_nnd.json
    python benchmarks/cross_check_nn_dataflow.py compare /tmp/xc_nnd.json

``compare`` synthesizes dense AlexNet at batch 4 and runs it on a dense copy of
eyeriss_v1.yaml (RLC off in DRAM, ifmap zero gating off), the same as::

    accelsim synth alexnet --batch 4 -o /tmp/xc_alexnet_b4.npz
    accelsim run DENSE.yaml /tmp/xc_alexnet_b4.npz --format csv --out /tmp/xc_accelsim.csv

and ``compare --accelsim-csv /tmp/xc_accelsim.csv`` reads such a report instead;
``compare --detail`` adds cycles by cause and accesses per level and tensor.

nn-dataflow 2.1 does not declare a SymPy bound, and SymPy 1.12 and later make
its pipeline-segment setup fail (``SympifyError: None``: it substitutes None
for unused symbols, which ``subs`` now rejects); 1.6.2 to 1.11.1 work.

Configuration given to nn-dataflow (one node, no inter-node NoC):
array 12 x 14 (h = filter rows, w = ofmap rows, as the chip), register file
520 B per PE (ifmap 12 + filter 224 + psum 24 words), GLB 110,592 B (108 kB),
16-bit words, array bus 64 bits, DRAM 2.4 B per core cycle (64 bits at 60 MHz
under a 200 MHz core), costs MAC 1, DRAM 200, GLB 6, array 2, RF 1, hop 0,
idle 0 (pJ, as ``energy.mac_pj = 1``), no GLB bypass, no inter-layer pipelining
or write-back saving, exhaustive loop-blocking search, objective energy x delay
(accelsim's ``mapper.objective: edp``), batch 4, dense data.

Mismatches that remain (see docs/cross_check.md for their effect):

- GLB: nn-dataflow has one 108 kB buffer shared by all three data types;
  accelsim has 100 kB of ifmap/psum banks (each bank wholly one type per layer)
  and an 8 kB double-buffered filter store, and reads/writes it in 64-bit words.
- Register file: one 520 B pool per PE in nn-dataflow; three fixed scratchpads
  (12 / 224 / 24 words) in accelsim.
- Array bus: one width for every data type in nn-dataflow (64 bits here);
  accelsim's ifmap bus is 16 bits, filter and psum buses 64 bits.
- Mapping: each tool runs its own search (nn-dataflow's replication/folding
  plus exhaustive loop blocking; accelsim's row-stationary e, p, q, r, t
  search, strip-mining only when needed); the chosen mappings differ.
- Padding: nn-dataflow's layer is the padded ifmap ((P-1)*stride + R rows),
  fetched from DRAM as such; accelsim fetches the unpadded ifmap and adds the
  padding in the GLB (``glb.stores_padding``), and does no work on padded MACs.
- Groups: nn-dataflow has no grouped convolution; conv2, conv4, conv5 are run
  as one group and its counts doubled (as nn-dataflow's own AlexNet splits
  them into _a/_b halves). FC layers are 9216 -> 4096 etc. 1 x 1 "convs", as in
  accelsim's trace (not nn-dataflow's 256 x 6 x 6 form).
- Each layer is scheduled alone (ifmap from DRAM, ofmap to DRAM), as accelsim
  does; pooling layers are left out (accelsim does not simulate them).
- Time: nn-dataflow's latency is max(compute, array-bus, DRAM) with perfect
  overlap and no fill/drain; accelsim's cycles are simulated with stalls.
- Sparsity: none on either side (nn-dataflow has no sparsity model).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ARCH = Path(__file__).resolve().parents[1] / "arch_configs" / "eyeriss_v1.yaml"

# Dense AlexNet as in accelsim's ``synth alexnet`` (227 x 227 input, two-GPU groups).
# name, input channels per group C, output channels per group K, ofmap size P,
# filter size R, stride, ifmap size before padding, groups.
ALEXNET = (
    ("conv1", 3, 96, 55, 11, 4, 227, 1),
    ("conv2", 48, 128, 27, 5, 1, 27, 2),
    ("conv3", 256, 384, 13, 3, 1, 13, 1),
    ("conv4", 192, 192, 13, 3, 1, 13, 2),
    ("conv5", 192, 128, 13, 3, 1, 13, 2),
    ("fc6", 9216, 4096, 1, 1, 1, 1, 1),
    ("fc7", 4096, 4096, 1, 1, 1, 1, 1),
    ("fc8", 4096, 1000, 1, 1, 1, 1, 1),
)
BATCH = 4
WORD_BITS = 16
# The eyeriss_v1.yaml facts handed to nn-dataflow.
ARRAY_ROWS, ARRAY_COLS = 12, 14
REGF_BYTES = (12 + 224 + 24) * WORD_BITS // 8
GBUF_BYTES = 25 * 4096 + 2 * 4096
ARRAY_BUS_BITS = 64
DRAM_BYTES_PER_CORE_CYCLE = 8 * 60 / 200
COST = {"mac": 1.0, "dram": 200.0, "glb": 6.0, "noc": 2.0, "spad": 1.0}
LEVELS = ("dram", "glb", "noc", "spad", "mac")


def run_nn_dataflow(layers: tuple, goal: str, processes: int) -> dict:
    """Schedule each layer alone with nn-dataflow; return per-layer counts and energy.

    Runs only under nn-dataflow's interpreter. Access counts are 16-bit words
    (nn-dataflow's unit), energies pJ; a grouped layer's numbers are those of
    one group times the number of groups.
    """
    from nn_dataflow.core import (
        ConvLayer,
        Cost,
        FCLayer,
        InputLayer,
        MapStrategyEyeriss,
        Network,
        NNDataflow,
        NodeRegion,
        Option,
        PhyDim2,
        Resource,
    )
    from nn_dataflow.core import DataCategoryEnum as de
    from nn_dataflow.core import MemHierEnum as me
    from nn_dataflow.version import get_version

    word_bytes = WORD_BITS // 8
    one = PhyDim2(1, 1)
    origin = PhyDim2(0, 0)
    dram = NodeRegion(dim=one, origin=origin, type=NodeRegion.DRAM)
    resource = Resource(proc_region=NodeRegion(dim=one, origin=origin, type=NodeRegion.PROC),
                        dram_region=dram, src_data_region=dram, dst_data_region=dram,
                        dim_array=PhyDim2(ARRAY_ROWS, ARRAY_COLS),
                        size_gbuf=GBUF_BYTES // word_bytes, size_regf=REGF_BYTES // word_bytes,
                        array_bus_width=ARRAY_BUS_BITS // WORD_BITS,
                        dram_bandwidth=DRAM_BYTES_PER_CORE_CYCLE / word_bytes,
                        no_time_mux=False)
    hier = [0.0] * me.NUM
    hier[me.DRAM], hier[me.GBUF] = COST["dram"], COST["glb"]
    hier[me.ITCN], hier[me.REGF] = COST["noc"], COST["spad"]
    cost = Cost(mac_op=COST["mac"], mem_hier=tuple(hier), noc_hop=0.0, idl_unit=0.0)
    options = Option(sw_gbuf_bypass=(False, False, False), sw_solve_loopblocking=False,
                     hw_gbuf_save_writeback=False, partition_interlayer=False,
                     opt_goal=goal, ntops=1, nprocesses=processes, verbose=False)
    level_of = {"dram": me.DRAM, "glb": me.GBUF, "noc": me.ITCN, "spad": me.REGF}

    out = []
    for name, c, k, p, r, stride, ifmap, groups in layers:
        net = Network(name)
        net.set_input_layer(InputLayer(c, ifmap))
        net.add(name, FCLayer(c, k) if p == 1 and r == 1 else ConvLayer(c, k, p, r, stride))
        search = NNDataflow(net, BATCH, resource, cost, MapStrategyEyeriss)
        tops, _ = search.schedule_search(options)
        if not tops:
            out.append({"name": name, "reason": "nn-dataflow found no valid dataflow"})
            continue
        sched = tops[0][name]
        s = sched.scheme
        access = [[a * groups for a in per_type] for per_type in s["access"]]
        words = {lvl: sum(access[i]) for lvl, i in level_of.items()}
        words["glb"] += sum(s["remote_gbuf_access"]) * groups
        energy = {lvl: words[lvl] * COST[lvl] for lvl in words}
        energy["mac"] = s["ops"] * groups * COST["mac"]
        total = (s["cost"] - s["cost_noc"] - s["cost_static"]) * groups
        assert abs(sum(energy.values()) - total) <= 1e-6 * total, name
        out.append({
            "name": name, "groups": groups, "macs": s["ops"] * groups,
            "words": words,
            "words_by_type": {lvl: {"weight": access[i][de.FIL], "ifmap": access[i][de.IFM],
                                    "ofmap": access[i][de.OFM]}
                              for lvl, i in level_of.items()},
            "energy_pj": {**energy, "total": sum(energy.values())},
            "cycles": s["time"] * groups, "proc_cycles": s["proc_time"] * groups,
            "bus_cycles": s["bus_time"] * groups, "dram_cycles": s["dram_time"] * groups,
            "loop_blocking": {"ti": s["ti"], "to": s["to"], "tb": s["tb"],
                              "orders": s["orders"]},
        })
    return {"tool": "nn-dataflow", "version": get_version(), "batch": BATCH, "goal": goal,
            "resource": {"array": [ARRAY_ROWS, ARRAY_COLS], "regf_bytes": REGF_BYTES,
                         "gbuf_bytes": GBUF_BYTES, "word_bits": WORD_BITS,
                         "array_bus_bits": ARRAY_BUS_BITS,
                         "dram_bytes_per_cycle": DRAM_BYTES_PER_CORE_CYCLE},
            "cost_pj": COST, "layers": out}


def _cmd_nnd(args) -> int:
    wanted = set(args.layers.split(",")) if args.layers else None
    layers = tuple(row for row in ALEXNET if wanted is None or row[0] in wanted)
    result = run_nn_dataflow(layers, args.goal, args.processes)
    with open(args.out, "w") as fh:
        json.dump(result, fh, indent=1)
    print(f"wrote {args.out}")
    return 0


DENSE_EDITS = (("dram", "ifmap_compression", "none"), ("dram", "ofmap_compression", "none"),
               ("sparsity", "ifmap", "none"))
TENSORS = (("weight", "WEIGHT", "weight"), ("ifmap", "IFMAP", "ifmap"), ("psum", "PSUM", "ofmap"))


def run_accelsim(arch_path: str) -> tuple[list[dict], dict]:
    """Dense AlexNet at batch 4 on a dense copy of ``arch_path``; report rows and words.

    Runs only under accelsim's interpreter. Returns the report rows (the
    columns of ``accelsim run --format csv``) and, per layer, accesses in
    words {level: {tensor: reads + writes}} with nn-dataflow's tensor names.
    """
    import tempfile

    import yaml

    import accelsim
    from accelsim.enums import Level, Tensor
    from accelsim.workload.synth import synth_trace

    with open(arch_path) as fh:
        data = yaml.safe_load(fh)
    for section, key, value in DENSE_EDITS:
        data[section][key] = value
    with tempfile.TemporaryDirectory() as tmp:
        dense = Path(tmp) / "eyeriss_v1_dense.yaml"
        dense.write_text(yaml.safe_dump(data, sort_keys=False))
        trace = Path(tmp) / f"alexnet_b{BATCH}.npz"
        synth_trace("alexnet", str(trace), batch=BATCH)
        result = accelsim.run(accelsim.load_arch(dense), accelsim.read_trace(trace))
    rows = accelsim.report_frame(result).to_dict("records")
    words = {}
    for lr in result.layers:
        if lr.counts is None:
            continue
        w = lr.counts.words
        words[lr.layer.name] = {
            lvl.name.lower(): {ours: int(w[lvl, Tensor[enum]].sum()) for ours, enum, _ in TENSORS}
            for lvl in Level}
    return rows, words


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def _table(head: list[str], body: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in body]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([fmt(head)] + [fmt(r) for r in body])


def compare_rows(nnd: dict, ours: dict[str, dict]) -> list[list[str]]:
    """Per layer and in total: energy by level (uJ), cycles; accelsim, nn-dataflow, ratio."""
    keys = LEVELS + ("total",)
    body, sums = [], {k: [0.0, 0.0] for k in keys + ("cycles",)}
    for layer in nnd["layers"]:
        name = layer["name"]
        if "energy_pj" not in layer or name not in ours:
            body.append([name, "-", "-", "-", layer.get("reason", "not run by accelsim")])
            continue
        row = ours[name]
        cells = [name]
        for k in keys:
            a, b = float(row[f"energy_pj_{k}"]), layer["energy_pj"][k]
            sums[k][0] += a
            sums[k][1] += b
            cells += [f"{a / 1e6:.1f}", f"{b / 1e6:.1f}", _ratio(a, b)]
        a, b = float(row["cycles"]), float(layer["cycles"])
        sums["cycles"][0] += a
        sums["cycles"][1] += b
        cells += [f"{a:,.0f}", f"{b:,.0f}", _ratio(a, b)]
        body.append(cells)
    total = ["total"]
    for k in keys + ("cycles",):
        a, b = sums[k]
        total += ([f"{a / 1e6:.1f}", f"{b / 1e6:.1f}"] if k != "cycles"
                  else [f"{a:,.0f}", f"{b:,.0f}"]) + [_ratio(a, b)]
    body.append(total)
    return body


def detail_rows(nnd: dict, words: dict) -> list[list[str]]:
    """Accesses per level and tensor in 16-bit words (accelsim reads + writes)."""
    body = []
    for layer in nnd["layers"]:
        if layer["name"] not in words:
            continue
        for lvl in ("dram", "glb", "noc", "spad"):
            for ours, _, theirs in TENSORS:
                a = words[layer["name"]][lvl][ours]
                b = layer["words_by_type"][lvl][theirs]
                body.append([layer["name"], lvl, ours, f"{a:,.0f}", f"{b:,.0f}", _ratio(a, b)])
    return body


def cycle_rows(nnd: dict, ours: dict[str, dict]) -> list[list[str]]:
    """accelsim's compute, processing, total cycles; nn-dataflow's compute, bus, DRAM, time."""
    body = []
    for layer in nnd["layers"]:
        row = ours.get(layer["name"])
        if row is None or "cycles" not in layer:
            continue
        body.append([layer["name"]] + [f"{float(row[k]):,.0f}" for k in
                                       ("compute_cycles", "processing_cycles", "cycles")]
                    + [f"{float(layer[k]):,.0f}" for k in
                       ("proc_cycles", "bus_cycles", "dram_cycles", "cycles")])
    return body


def _cmd_compare(args) -> int:
    import csv

    with open(args.nnd_json) as fh:
        nnd = json.load(fh)
    if args.accelsim_csv:
        with open(args.accelsim_csv) as fh:
            rows, words = list(csv.DictReader(fh)), None
    else:
        rows, words = run_accelsim(args.arch)
    ours = {str(r["name"]): r for r in rows if str(r.get("simulated")) == "True"}
    head = ["layer"]
    for k in LEVELS + ("total",):
        head += [f"{k} A", f"{k} N", "A/N"]
    head += ["cycles A", "cycles N", "A/N"]
    print(f"Energy in uJ by level and cycles, AlexNet batch {nnd['batch']} dense: "
          f"A = accelsim, N = nn-dataflow {nnd['version']} (goal {nnd['goal']})")
    print(_table(head, compare_rows(nnd, ours), args.markdown))
    if args.detail:
        print()
        print("Cycles: accelsim (compute = busiest PE's MACs, processing = + fill, drain, NoC "
              "stalls, total = + DRAM stalls); nn-dataflow (time = max of compute, bus, DRAM)")
        print(_table(["layer", "compute A", "processing A", "total A", "compute N", "bus N",
                      "DRAM N", "time N"], cycle_rows(nnd, ours), args.markdown))
        if words is None:
            print("(words per tensor need accelsim run in-process: leave out --accelsim-csv)")
            return 0
        print()
        print("Accesses in 16-bit words per level and tensor (accelsim: reads + writes)")
        print(_table(["layer", "level", "tensor", "accelsim", "nn-dataflow", "A/N"],
                     detail_rows(nnd, words), args.markdown))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("nnd", help="run nn-dataflow (its own venv) and write per-layer JSON")
    p.add_argument("--out", required=True, help="JSON file to write")
    p.add_argument("--goal", default="ed", choices=("e", "d", "ed"),
                   help="nn-dataflow objective (accelsim's eyeriss_v1 uses edp)")
    p.add_argument("--layers", default=None, help="comma-separated subset, e.g. conv1,conv2")
    p.add_argument("--processes", type=int, default=2)
    p = sub.add_parser("compare", help="run accelsim and print the side-by-side table")
    p.add_argument("nnd_json", help="the file `nnd --out` wrote")
    p.add_argument("--arch", default=str(ARCH), help="architecture to densify and run")
    p.add_argument("--accelsim-csv", default=None,
                   help="read this `accelsim run --format csv` report instead of running accelsim")
    p.add_argument("--detail", action="store_true", help="also print words per level and tensor")
    p.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)
    return {"nnd": _cmd_nnd, "compare": _cmd_compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
