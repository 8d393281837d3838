"""Regenerate the figures of docs/plots.md (run from the repository root).

    python docs/figures/make_figures.py [WORKDIR]

Traces and reports go to WORKDIR (default: a temporary folder); the figures to
docs/figures/. Takes a couple of minutes: most of it is the eighteen ResNet-18
runs of the small hand-made sweep behind the Pareto figure.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "docs" / "figures"
ARCH = "arch_configs/eyeriss_v1.yaml"
LAYER_ZEROS = "conv2=0.3,conv3=0.5,conv4=0.6,conv5=0.7,fc6=0.8,fc7=0.85,fc8=0.85"


def accelsim(*args: str) -> None:
    print("accelsim", *args)
    subprocess.run([sys.executable, "-m", "accelsim.cli", *args], cwd=ROOT, check=True)


GRID = {"pe_array.rows": (8, 12, 16), "pe_array.cols": (8, 14, 20), "dram.bus_bits": (64, 128)}


def small_sweep(trace_path: Path, out: Path) -> None:
    """A small sweep (every point of GRID) of one trace, written as a CSV table.

    Stands in for ``accelsim sweep`` until that lands: the same table shape,
    one row per (point, trace), totals from the report's total row.
    """
    import itertools

    import accelsim as acc
    from accelsim.spec.load import arch_from_dict
    from accelsim.spec.yamlio import read_yaml

    base = read_yaml(ROOT / ARCH)
    trace = acc.read_trace(str(trace_path))
    cols = ("cycles", "processing_cycles", "latency_s", "energy_pj_total", "energy_pj_dram",
            "energy_pj_glb", "energy_pj_noc", "energy_pj_spad", "energy_pj_mac",
            "utilization", "dram_bytes", "glb_bytes", "macs")
    rows = []
    for point, values in enumerate(itertools.product(*GRID.values())):
        params = dict(zip(GRID, values))
        d = copy.deepcopy(base)
        for key, value in params.items():
            section, name = key.split(".")
            d[section][name] = value
        try:
            df = acc.report_frame(acc.run(arch_from_dict(d, ARCH), trace))
            unmapped = df[df["kind"].isin(["conv2d", "linear"]) & ~df["simulated"]]
            total, status, reason = df.iloc[-1], "ok", ""
            if len(unmapped):
                status, reason = "infeasible", unmapped["reason"].iloc[0]
        except acc.AccelsimError as exc:
            total, status, reason = {}, "error", str(exc)
        row = {"point_id": point, "trace": trace_path.name, "status": status, "reason": reason,
               **params, **{c: total.get(c) for c in cols}}
        if status == "ok":
            row["edp_pj_s"] = row["energy_pj_total"] * row["latency_s"]
        rows.append(row)
        print(f"  point {point}: {params} {status}")
    pd.DataFrame(rows).to_csv(out, index=False)


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="accelsim-figs-"))
    work.mkdir(parents=True, exist_ok=True)

    def w(name: str) -> str:
        return str(work / name)

    def fig(name: str) -> str:
        return str(FIGURES / f"{name}.png")

    accelsim("synth", "alexnet", "--ifmap-zeros", "0.5", "-o", w("alexnet_sparse.npz"))
    accelsim("synth", "alexnet", "-o", w("alexnet_dense.npz"))
    accelsim("synth", "alexnet", "--ifmap-zeros", LAYER_ZEROS, "--weight-zeros", "0.3",
             "-o", w("alexnet_layers.npz"))
    accelsim("synth", "resnet50", "-o", w("resnet50.npz"))
    for name in ("alexnet_sparse", "alexnet_dense", "alexnet_layers", "resnet50"):
        accelsim("run", ARCH, w(f"{name}.npz"), "--format", "json", "--out", w(f"{name}.json"))
    if not Path(w("sweep.csv")).exists():
        accelsim("synth", "resnet18", "-o", w("resnet18.npz"))
        small_sweep(Path(w("resnet18.npz")), Path(w("sweep.csv")))

    accelsim("plot", w("alexnet_sparse.json"), "--kind", "breakdown", "-o", fig("breakdown"))
    accelsim("plot", w("alexnet_sparse.json"), "--kind", "breakdown", "--by", "tensor",
             "--normalize", "-o", fig("breakdown_tensor"))
    accelsim("plot", w("resnet50.json"), "--kind", "breakdown", "-o", fig("breakdown_resnet50"))
    accelsim("plot", w("alexnet_sparse.json"), "--kind", "latency", "-o", fig("latency"))
    accelsim("plot", w("alexnet_dense.json"), w("alexnet_sparse.json"), "--kind", "compare",
             "--title", "AlexNet on Eyeriss v1: dense vs half-zero ifmaps", "-o", fig("compare"))
    accelsim("plot", w("sweep.csv"), "--kind", "pareto", "--color", "pe_array.cols",
             "-o", fig("pareto"))
    accelsim("plot", w("alexnet_layers.json"), "--kind", "sparsity", "-o", fig("sparsity"))


if __name__ == "__main__":
    main()
