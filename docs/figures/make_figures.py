"""Regenerate the figures of docs/plots.md (run from the repository root).

    python docs/figures/make_figures.py [WORKDIR]

Traces and reports go to WORKDIR (default: a temporary folder); the figures to
docs/figures/. Takes a couple of minutes: most of it is the eighteen ResNet-18
points of the ``accelsim sweep`` behind the Pareto figure.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FIGURES = ROOT / "docs" / "figures"
ARCH = "arch_configs/eyeriss_v1.yaml"
ARCH_V2 = "arch_configs/eyeriss_v2.yaml"
LAYER_ZEROS = "conv2=0.3,conv3=0.5,conv4=0.6,conv5=0.7,fc6=0.8,fc7=0.85,fc8=0.85"


def accelsim(*args: str) -> None:
    print("accelsim", *args)
    subprocess.run([sys.executable, "-m", "accelsim.cli", *args], cwd=ROOT, check=True)


GRID = {"pe_array.rows": [8, 12, 16], "pe_array.cols": [8, 14, 20], "dram.bus_bits": [64, 128]}


def write_sweep(folder: Path) -> Path:
    """The sweep file behind the Pareto figure: every point of GRID on ResNet-18."""
    doc = {"version": 1, "base": str(ROOT / ARCH), "traces": "resnet18.npz", "axes": GRID}
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


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
    # Eyeriss v2 cannot map conv1's 11x11 filters: the comparison's totals leave it out
    accelsim("run", ARCH_V2, w("alexnet_sparse.npz"), "--format", "json",
             "--out", w("alexnet_sparse_v2.json"))
    accelsim("synth", "resnet18", "-o", w("resnet18.npz"))
    accelsim("sweep", str(write_sweep(work)), "-o", w("sweep.csv"))  # resumes if rerun

    accelsim("plot", w("alexnet_sparse.json"), "--kind", "breakdown", "-o", fig("breakdown"))
    accelsim("plot", w("alexnet_sparse.json"), "--kind", "breakdown", "--by", "tensor",
             "--normalize", "-o", fig("breakdown_tensor"))
    accelsim("plot", w("resnet50.json"), "--kind", "breakdown", "-o", fig("breakdown_resnet50"))
    accelsim("plot", w("alexnet_sparse.json"), "--kind", "latency", "-o", fig("latency"))
    accelsim("plot", w("alexnet_dense.json"), w("alexnet_sparse.json"), "--kind", "compare",
             "--label", "dense ifmaps", "--label", "half-zero ifmaps",
             "--title", "AlexNet on Eyeriss v1: dense vs half-zero ifmaps", "-o", fig("compare"))
    accelsim("plot", w("alexnet_dense.json"), w("alexnet_sparse.json"),
             w("alexnet_sparse_v2.json"), "--kind", "compare", "--label", "v1, dense ifmaps",
             "--label", "v1, half-zero ifmaps", "--label", "v2, half-zero ifmaps",
             "--title", "AlexNet on Eyeriss v1 and v2", "-o", fig("compare_v2"))
    accelsim("plot", w("sweep.csv"), "--kind", "pareto", "--color", "pe_array.cols",
             "-o", fig("pareto"))
    accelsim("plot", w("alexnet_layers.json"), "--kind", "sparsity", "-o", fig("sparsity"))


if __name__ == "__main__":
    main()
