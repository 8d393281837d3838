"""Memory and time of one layer's mapping search as its candidate set grows.

The row-stationary search enumerates every legal mapping of a layer, ranks them
all by the closed-form estimate and executes the best few. The candidates grow
with the batch (n) and with the number of PE sets (r, t): an FC layer has
4.3 million at batch 64 on Eyeriss v1's 12 x 14 array. The search holds at
most ``CHUNK_ROWS`` of them at a time (``CandidateSet.chunks``); this script
compares that with ranking them as one table, as the search did before.

Usage: python benchmarks/bench_search.py [--batches 1,16,64] [--arrays 12x14,32x32,64x64]

Per case: the candidates, the chunks they are ranked in, and for each way the
wall time of the search (best of 2) and the peak of memory allocated during
it (tracemalloc, which sees numpy's buffers). The layer is AlexNet's fc6
(9216 -> 4096) with random nonzero masks (half the inputs and outputs zero);
masks do not change the candidates, only the chosen mapping's counts.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ARCH = ROOT / "arch_configs" / "eyeriss_v1.yaml"


def _fc6(batch: int):
    from accelsim.workload.layer import layer_from_header

    layer, problems = layer_from_header(
        {"name": "fc6", "kind": "linear", "input_shape": [batch, 9216], "out_features": 4096,
         "activation": "relu", "weight_bits": 16, "act_bits": 16}, 0)
    assert layer is not None, problems
    return layer


def _measure(fn) -> tuple[float, float]:
    """(best wall seconds of 2 runs, peak MB allocated during a third)."""
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak / 1e6


def main() -> None:
    import accelsim
    from accelsim.engine.simulate import nonzero_mask, weight_mask
    from accelsim.mapping.rowstationary import CHUNK_ROWS, candidate_set, candidates
    from accelsim.run import choose_mapping, search_mapping

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--arrays", default="12x14,32x32,64x64")
    args = ap.parse_args()
    base = accelsim.load_arch(ARCH)
    rng = np.random.default_rng(0)
    print(f"AlexNet fc6 (9216 -> 4096) on eyeriss_v1 with its PE array resized; "
          f"CHUNK_ROWS = {CHUNK_ROWS:,}")
    head = ("array", "batch", "candidates", "chunks", "chunked s", "chunked MB",
            "one table s", "one table MB")
    print("  ".join(f"{h:>12}" for h in head))
    for arr in args.arrays.split(","):
        rows, cols = (int(v) for v in arr.split("x"))
        arch = dataclasses.replace(base, pe_array=dataclasses.replace(base.pe_array, rows=rows,
                                                                      cols=cols))
        for batch in (int(b) for b in args.batches.split(",")):
            layer = _fc6(batch)
            kw = {"input_nz": nonzero_mask(layer, rng.random((batch, 9216)) < 0.5),
                  "output_nz": nonzero_mask(layer, rng.random((batch, 4096)) < 0.5),
                  "weight_nz": weight_mask(layer, np.ones((4096, 9216), np.int8)),
                  "first_layer": False}
            cset, _ = candidate_set(layer, arch)
            n_chunks = sum(1 for _ in cset.chunks())
            chunked = _measure(lambda: search_mapping(layer, arch, **kw))
            whole = _measure(lambda: choose_mapping([candidates(layer, arch)[0]], layer,
                                                    arch, **kw))
            cells = (arr, batch, f"{cset.count:,}", n_chunks, f"{chunked[0]:.2f}",
                     f"{chunked[1]:.0f}", f"{whole[0]:.2f}", f"{whole[1]:.0f}")
            print("  ".join(f"{c!s:>12}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
