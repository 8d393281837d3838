"""Time `accelsim run` end to end in fresh processes (issue 2's speed targets).

Targets: AlexNet batch 4 under 2 s and ResNet-50 batch 1 under 10 s once
numba's cache is warm; a second process must not recompile (cache=True).

Usage: python benchmarks/bench_run.py [--repeat 3]
Prints a table: per workload, the first process (may compile), the best of
the following warm processes, and the in-process time of `accelsim.run` alone.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "arch_configs" / "eyeriss_v1.yaml"
WORKLOADS = [("alexnet", 4, 2.0), ("resnet50", 1, 10.0)]


def _wall(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t


def _in_process(trace: Path) -> float:
    code = ("import time, accelsim; a = accelsim.load_arch(%r); t = accelsim.read_trace(%r); "
            "accelsim.run(a, t); s = time.perf_counter(); accelsim.run(a, t); "
            "print(time.perf_counter() - s)") % (str(ARCH), str(trace))
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    exe = [sys.executable, "-m", "accelsim.cli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for net, batch, target in WORKLOADS:
            trace = Path(tmp) / f"{net}_b{batch}.npz"
            subprocess.run(exe + ["synth", net, "--batch", str(batch), "--ifmap-zeros", "0.5",
                                  "-o", str(trace)], check=True, stdout=subprocess.DEVNULL)
            first = _wall(exe + ["run", str(ARCH), str(trace)])
            warm = min(_wall(exe + ["run", str(ARCH), str(trace)]) for _ in range(args.repeat))
            rows.append((f"{net} b{batch}", first, warm, _in_process(trace), target))
    print(f"{'workload':14s} {'first s':>8s} {'warm s':>8s} {'run() s':>8s} {'target s':>9s}")
    for name, first, warm, inproc, target in rows:
        flag = "ok" if warm < target else "OVER"
        print(f"{name:14s} {first:8.2f} {warm:8.2f} {inproc:8.2f} {target:9.1f}  {flag}")


if __name__ == "__main__":
    main()
