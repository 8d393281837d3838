"""Sweep speed on this machine: design points per second for AlexNet batch 1.

Run from the repository root::

    python benchmarks/bench_sweep.py [--trace alexnet_b1.npz] [--points 24] [--no-dask]

Measures, and prints as tables:

1. one point in this process: the first run (numba kernels loaded from the
   on-disk cache) and warm runs, split into ``run`` and ``report_frame``;
2. the numba on-disk cache: the first point of a fresh process with the cache
   as it is, and with an empty cache folder (``NUMBA_CACHE_DIR``), which
   compiles every kernel, as a worker without the cache would;
3. the sweep's own work per point in the sweeping process (building the point's
   arch document, its store key, writing its result) and in the worker
   (validating the arch document);
4. whole sweeps of ``--points`` Eyeriss-style variants, each in a fresh
   process, with a fresh store: ``--jobs 1`` (in process), ``--jobs 2`` (local
   worker processes) and ``--dask local`` with 2 workers, and ``--jobs 2``
   again with an empty numba cache folder (every worker compiles the kernels).
   ``points/s`` is end to end (start-up included); ``steady points/s`` counts
   from the first result to the last. The CPU time per point of the in-process
   sweep gives the ceiling the machine's cores allow when nothing else runs;
5. a cProfile of one warm point, top entries by own time.

Without ``--trace`` the AlexNet batch-1 trace is synthesized into a temporary
folder (about 124 MB, a few seconds).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "arch_configs" / "eyeriss_v1.yaml"

SWEEP = """version: 1
base: {arch}
traces: {trace}
axes:
  pe_array.rows: [12, 13, 14, 15, 16]
  pe_array.cols: [12, 14, 16]
  scratchpads.filter.entries: [224, 448]
  dram.link_clock_mhz: [60, 120]
tied:
  - glb.banks: [13, 25, 50]
    glb.filter_banks: [1, 2, 4]
strategy: random
count: {count}
seed: 0
"""

SWEEP_RUN = r"""
import json, sys, time
t0 = time.perf_counter()
from accelsim.sweeps.runner import run_sweep
arrivals = []
def progress(done, total):
    arrivals.append(time.perf_counter())
t1 = time.perf_counter()
c1 = time.process_time()
dask = sys.argv[3] if sys.argv[3] != "-" else None
out = run_sweep(sys.argv[1], store=sys.argv[2], jobs=int(sys.argv[4]), dask=dask,
                progress=progress)
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "sweep_s": t2 - t1, "first_s": arrivals[1] - t1,
                  "cpu_s": time.process_time() - c1,
                  "last_s": arrivals[-1] - t1, "points": len(out.totals),
                  "ok": int((out.totals["status"] == "ok").sum())}))
"""

FIRST_POINT = r"""
import sys, time
t0 = time.perf_counter()
import accelsim
arch = accelsim.load_arch(sys.argv[1]); trace = accelsim.read_trace(sys.argv[2])
t1 = time.perf_counter()
accelsim.report_frame(accelsim.run(arch, trace))
t2 = time.perf_counter()
accelsim.report_frame(accelsim.run(arch, trace))
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def env() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r]
                        for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, r in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) if j else c.ljust(w)
                               for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def one_point(trace_path: Path) -> None:
    import accelsim

    arch = accelsim.load_arch(ARCH)
    trace = accelsim.read_trace(trace_path)
    t0 = time.perf_counter()
    accelsim.report_frame(accelsim.run(arch, trace))
    first = time.perf_counter() - t0
    runs, reports = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        result = accelsim.run(arch, trace)
        t1 = time.perf_counter()
        accelsim.report_frame(result)
        runs.append(t1 - t0)
        reports.append(time.perf_counter() - t1)
    best = min(r + f for r, f in zip(runs, reports))
    table("One AlexNet b1 point on eyeriss_v1, in this process (seconds)",
          ["what", "s", "points/s/core"],
          [["first point (kernels from disk cache)", first, 1 / first],
           ["warm: run(), mean of 5", sum(runs) / 5, ""],
           ["warm: report_frame(), mean of 5", sum(reports) / 5, ""],
           ["warm: run + report, best of 5", best, 1 / best]])


def numba_cache(trace_path: Path) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as empty:
        for label, extra in (("on-disk cache as is", {}),
                             ("empty cache folder (compiles)", {"NUMBA_CACHE_DIR": empty})):
            out = subprocess.run([sys.executable, "-c", FIRST_POINT, str(ARCH), str(trace_path)],
                                 env={**env(), **extra}, capture_output=True, text=True,
                                 check=True).stdout.split()
            load, first, second = map(float, out)
            rows.append([label, load, first, second])
    table("Numba on-disk cache: a fresh process's first point (seconds)",
          ["numba cache", "import+load", "1st point", "2nd point"], rows)


def own_overhead(trace_path: Path) -> None:
    import yaml

    from accelsim.spec.load import arch_from_dict
    from accelsim.sweeps.points import generate_points, point_arch
    from accelsim.sweeps.spec import sweep_from_dict
    from accelsim.fileio import file_sha256
    from accelsim.sweeps.store import DirStore, result_key

    doc = yaml.safe_load(SWEEP.format(arch=ARCH, trace=trace_path, count=180))
    spec = sweep_from_dict(doc, "<bench>")
    points = generate_points(spec)
    t0 = time.perf_counter()
    docs = [point_arch(spec, p) for p in points]
    t1 = time.perf_counter()
    keys = [result_key(d, "0" * 64) for d in docs]
    t2 = time.perf_counter()
    for d in docs:
        arch_from_dict(d)
    t3 = time.perf_counter()
    record = json.dumps({"status": "ok", "reason": "", "arch": docs[0],
                         "totals": {f"c{i}": 1.0 / 3 for i in range(14)}})
    with tempfile.TemporaryDirectory() as tmp, DirStore(Path(tmp) / "s.d") as store:
        t4 = time.perf_counter()
        for k in keys:
            store.put(k, "totals", record)
        t5 = time.perf_counter()
        for k in keys:
            store.get(k)
        t6 = time.perf_counter()
    t7 = time.perf_counter()
    file_sha256(trace_path)
    t8 = time.perf_counter()
    n = len(points)
    table(f"The sweep's own work ({n} points; ms per point)", ["step", "ms/point"],
          [["point arch document (deep copy + set keys)", (t1 - t0) / n * 1e3],
           ["store key (canonical JSON + SHA-256)", (t2 - t1) / n * 1e3],
           ["validate arch document (in the worker)", (t3 - t2) / n * 1e3],
           ["store one result (atomic write + fsync)", (t5 - t4) / n * 1e3],
           ["read one result back (table assembly)", (t6 - t5) / n * 1e3],
           ["trace SHA-256, once per sweep per trace (ms total)", (t8 - t7) * 1e3]])


def sweeps(trace_path: Path, count: int, with_dask: bool) -> None:
    rows = []
    configs = [("local, --jobs 1 (in process)", "-", 1, False),
               ("local, --jobs 2 (processes)", "-", 2, False)]
    if with_dask:
        configs.append(("--dask local, 2 workers", "local", 2, False))
    configs.append(("local, --jobs 2, empty numba cache", "-", 2, True))
    with tempfile.TemporaryDirectory() as tmp:
        sweep = Path(tmp) / "bench.yaml"
        sweep.write_text(SWEEP.format(arch=ARCH, trace=trace_path, count=count))
        results = {}
        for label, dask, jobs, no_cache in configs:
            store = Path(tmp) / f"store{len(results)}"
            extra = {"NUMBA_CACHE_DIR": str(Path(tmp) / f"numba{len(results)}")} if no_cache \
                else {}
            out = subprocess.run([sys.executable, "-c", SWEEP_RUN, str(sweep), str(store), dask,
                                  str(jobs)], env={**env(), **extra}, capture_output=True,
                                 text=True)
            if out.returncode:
                raise SystemExit(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results[label] = r
            steady = ((r["points"] - 1) / (r["last_s"] - r["first_s"])
                      if r["last_s"] > r["first_s"] else float("nan"))
            rows.append([label, r["points"], r["sweep_s"], r["first_s"],
                         r["points"] / r["sweep_s"], steady])
    table(f"Sweeps of {count} Eyeriss-style variants on AlexNet b1 (fresh process and store)",
          ["executor", "points", "wall s", "1st result s", "points/s", "steady points/s"],
          rows)
    serial = results[configs[0][0]]
    per_point = serial["cpu_s"] / serial["points"]
    print(f"\n  CPU per point in process (--jobs 1, this process's CPU time): {per_point:.3f} s;"
          f" ceiling on {os.cpu_count()} idle cores: {os.cpu_count() / per_point:.1f} points/s")
    if with_dask:
        local = results[configs[1][0]]
        dask = results[configs[2][0]]
        print(f"\n  Dask overhead against local processes (2 workers): "
              f"{dask['sweep_s'] - local['sweep_s']:+.2f} s wall, "
              f"{(dask['sweep_s'] - local['sweep_s']) / count * 1e3:+.1f} ms per point, "
              f"start-up {dask['first_s'] - local['first_s']:+.2f} s")


def profile(trace_path: Path) -> None:
    import accelsim

    arch = accelsim.load_arch(ARCH)
    trace = accelsim.read_trace(trace_path)
    accelsim.report_frame(accelsim.run(arch, trace))
    prof = cProfile.Profile()
    prof.enable()
    accelsim.report_frame(accelsim.run(arch, trace))
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(15)
    print("\ncProfile of one warm point, top 15 by own time")
    lines = text.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    print("\n".join("  " + line.replace(str(ROOT) + "/", "") for line in lines[start - 2:]
                    if line.strip() or line is lines[start - 2]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trace", help="AlexNet batch-1 trace (default: synthesize one)")
    ap.add_argument("--points", type=int, default=24, help="design points per sweep")
    ap.add_argument("--no-dask", action="store_true", help="skip the Dask measurement")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        trace = Path(args.trace) if args.trace else Path(tmp) / "alexnet_b1.npz"
        if not args.trace:
            from accelsim.workload.synth import synth_trace
            synth_trace("alexnet", trace, batch=1)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
              f"at start; python {sys.version.split()[0]}")
        one_point(trace)
        numba_cache(trace)
        own_overhead(trace)
        sweeps(trace, args.points, not args.no_dask)
        profile(trace)
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
