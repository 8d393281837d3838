"""How good is the row-stationary mapping search? Regret of its shortlist and
cost of its t pruning, measured against exact execution.

The search (accelsim.run.search_mapping) ranks every candidate of
accelsim.mapping.candidates by the closed-form estimate and executes only the
best ``mapper.top_k``. This script executes (nearly) all of them exactly with
the engine, as choose_mapping does (simulate_layer + layer_energy), and
compares the search's choice with the best found:

1. Shortlist regret, per layer: the candidates; how many were executed (all
   when at most ``--cap``, else a seeded random sample of ``--cap`` plus the
   ``--head`` best by estimate, which include the search's top_k); the
   estimate rank of the exact best found; the top_k that would have found it
   (the best estimate rank of any candidate as good); the chosen mapping's
   objective over the best's, as a regret in %; how many executed candidates
   beat the choice; and Spearman's rho between the estimated and exact
   objective over the executed candidates.
2. t pruning, per layer: the enumeration keeps, per (e, q, p, r, gp, n), only
   the largest t the array holds. The t values it drops are enumerated with
   the library's own enumeration, one fixed t at a time
   (candidate_set(layer, arch, {"t": t}): with t fixed the m values follow the
   same rule, the largest that fits the GLB and the balanced one, and every
   other rule is kept; tests hold this to tests/reference_model.py). Rows of
   a kept (e, q, p, r, gp, n) with a smaller t are "smaller t"; rows of an
   (e, q, p, r, gp, n) the pruned set lacks altogether (its largest t leaves
   no room for the psums in the GLB, a smaller one does) are "orphan". They
   are executed (a seeded sample of ``--cap`` when more) and the best is
   compared with the search's choice.

Objectives share the executions: energy and cycles of a mapping do not
depend on the objective, only the ranking and the choice do.

Usage:
    python benchmarks/audit_search.py [--cap 3000] [--head 256] [--jobs 2]
        [--configs eyeriss_v1:edp+energy,eyeriss_v2:edp+energy@1000]
        [--workloads lenet5,squeezenet,shufflenet,alexnet] [--alexnet-fc fc8]
        [--no-t-audit] [--seed 0]

A config is ARCH[:OBJ+OBJ][@CAP]: a file in arch_configs/, the objectives
(default its own) and its own cap. ``--cap 0`` executes every candidate and
every dropped t: ``--configs eyeriss_v1:edp+energy --cap 0`` (about 720,000
candidates and 2.3 million dropped rows) took 4 minutes on 2 cores; the
defaults take about 3. An execution costs about 0.1 to 2 ms on Eyeriss v1 but
10 to 300 ms on Eyeriss v2 (its GLB keeps weights and ifmaps CSC-coded, and
the coded size of every new tiling is computed from the data: AlexNet fc6
about 270 ms), hence v2's smaller default cap and fc8 as the default AlexNet
FC layer (fc6 and fc7: ``--alexnet-fc fc6,fc7``).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
WORKLOADS = {"lenet5": ROOT / "workloads" / "lenet5_digits.npz",
             "squeezenet": ROOT / "workloads" / "squeezenet_digits.npz",
             "shufflenet": ROOT / "workloads" / "shufflenet_digits.npz",
             "alexnet": None}  # synthesized: batch 1, half the ifmaps zero
ALEXNET_CONVS = ("conv1", "conv2", "conv3", "conv4", "conv5")

_ARCHS: dict = {}
_TRACES: dict = {}


def _arch(name: str):
    import accelsim

    if name not in _ARCHS:
        _ARCHS[name] = accelsim.load_arch(ROOT / "arch_configs" / f"{name}.yaml")
    return _ARCHS[name]


def _trace(path: str):
    import accelsim

    if path not in _TRACES:
        _TRACES[path] = accelsim.read_trace(path)
    return _TRACES[path]


def _with_objective(arch, objective: str):
    return dataclasses.replace(arch, mapper=dataclasses.replace(arch.mapper, objective=objective))


def _exact(layer, arch, rows, data, first, cache) -> np.ndarray:
    """(energy pJ, cycles) of each row, executed as choose_mapping does."""
    from accelsim.energy.model import layer_energy
    from accelsim.engine.simulate import simulate_layer
    from accelsim.mapping.rowstationary import mapping_from_row
    from accelsim.run import mac_op_pj

    input_nz, output_nz, weight_nz = data
    op_pj = mac_op_pj(arch, layer)
    out = np.empty((len(rows), 2))
    for i, row in enumerate(rows):
        counts = simulate_layer(layer, arch, mapping_from_row(row, layer), input_nz=input_nz,
                                output_nz=output_nz, weight_nz=weight_nz, first_layer=first,
                                tile_cache=cache)
        energy, _ = layer_energy(counts, arch, op_pj)
        out[i] = energy["total"], float(counts.cycles[0])
    return out


def _keys(arch, objective: str, energy: np.ndarray, cycles: np.ndarray):
    """(primary, secondary) sort keys under ``objective``, as the search's."""
    from accelsim.run import _objective

    return _objective(_with_objective(arch, objective), energy, cycles)


def _order(rows: np.ndarray, k1: np.ndarray, k0: np.ndarray) -> np.ndarray:
    """Indices of rows best first by (k1, k0, the row's values): the search's total order."""
    from accelsim.run import _best_rows

    return _best_rows(rows, k1, k0, len(rows))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def _dropped_t(layer, arch, kept: np.ndarray, cap: int, rng
               ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """The rows the t pruning drops (see the module docstring): a uniform sample
    of at most ``cap`` (all when ``cap`` is 0), whether each is an orphan, and
    the counts of smaller-t and orphan rows."""
    from accelsim.mapping.rowstationary import N_COLUMNS, candidate_set

    C, K, G, N = layer.c, layer.k, layer.groups, layer.n
    rows_pe, cols = arch.pe_array.rows, arch.pe_array.cols

    def code(r):  # (e, q, p, r, gp, n) as one int64
        return ((((r[:, 0] * (C + 1) + r[:, 2]) * (K + 1) + r[:, 1]) * (C + 1) + r[:, 3])
                * (G + 1) + r[:, 5]) * (N + 1) + r[:, 7]

    kcode = code(kept)
    srt = np.argsort(kcode)
    kcode, t_kept = kcode[srt], kept[srt, 4]
    e_kept = np.unique(kept[:, 0])
    # the most PE sets: e = 1, one segment (a filter taller than the array folded)
    t_most = min(K, rows_pe // min(layer.r, rows_pe) * cols)
    pool, pool_pri, pool_orphan = (np.zeros((0, N_COLUMNS), np.int64), np.zeros(0),
                                   np.zeros(0, bool))
    n_small = n_orphan = 0
    for t in range(1, t_most + 1):
        cset, _ = candidate_set(layer, arch, {"t": t})
        if cset is None:
            continue
        for chunk in cset.chunks():
            chunk = chunk[np.isin(chunk[:, 0], e_kept)]
            c = code(chunk)
            pos = np.minimum(np.searchsorted(kcode, c), len(kcode) - 1)
            has_key = kcode[pos] == c
            # t_kept is the largest t the array holds for the key: a row of a kept
            # key with that t is a kept row, one with a smaller t a dropped one
            small = has_key & (chunk[:, 4] < t_kept[pos])
            orphan = ~has_key
            sel = small | orphan
            n_small += int(small.sum())
            n_orphan += int(orphan.sum())
            if not sel.any():
                continue
            pool = np.concatenate([pool, chunk[sel]])
            pool_pri = np.concatenate([pool_pri, rng.random(int(sel.sum()))])
            pool_orphan = np.concatenate([pool_orphan, orphan[sel]])
            if cap and len(pool) > 2 * cap:
                keep = np.argsort(pool_pri)[:cap]
                pool, pool_pri, pool_orphan = pool[keep], pool_pri[keep], pool_orphan[keep]
    if cap and len(pool) > cap:
        keep = np.argsort(pool_pri)[:cap]
        pool, pool_orphan = pool[keep], pool_orphan[keep]
    return pool, pool_orphan, n_small, n_orphan


def audit_layer(arch_name: str, objectives: tuple[str, ...], workload: str, path: str,
                layer_name: str, cap: int, head: int, seed: int, t_audit: bool) -> dict:
    """Everything the tables print for one layer on one arch (run in a worker)."""
    from accelsim.mapping.estimate import estimate
    from accelsim.mapping.rowstationary import candidates
    from accelsim.run import (_estimate_ratios, _layer_data, first_mac_name,
                              operator_sparsity, search_mapping)
    from accelsim.workload.values import zero_free_operands

    start = time.perf_counter()
    trace = _trace(path)
    layer = next(x for x in trace.mac_layers if x.name == layer_name)
    # as run_layer: a mult_free layer gates and skips nothing
    base = operator_sparsity(_arch(arch_name), layer.operator)
    first = layer.base_name == first_mac_name(trace)
    input_nz, output_nz, weight_nz, _ = _layer_data(layer, trace, 3,
                                                    zero_free_operands(layer.operator))
    data = (input_nz, output_nz, weight_nz)
    out = {"workload": workload, "layer": layer.name, "kind": layer.kind.value,
           "objectives": {}}
    cands, reason = candidates(layer, base)
    out["cands"] = len(cands)
    if not len(cands):
        out["reason"] = reason
        return out
    cache: dict = {}
    # the estimate with the data's coded sizes, as choose_mapping computes it
    est_e, est_c = estimate(cands, layer, base,
                            **_estimate_ratios(layer, base, input_nz, output_nz, weight_nz, first))
    rng = np.random.default_rng(seed)
    orders = {}
    for obj in objectives:
        k1, k0 = _keys(base, obj, est_e, est_c)
        orders[obj] = (_order(cands, k1, k0), k1)
    if cap and len(cands) > cap:
        picked = set(rng.choice(len(cands), cap, replace=False).tolist())
        for obj in objectives:
            picked |= set(orders[obj][0][:max(head, base.mapper.top_k)].tolist())
        idx = np.array(sorted(picked))
        out["sampled"] = True
    else:
        idx = np.arange(len(cands))
        out["sampled"] = False
    exact = np.full((len(cands), 2), np.nan)
    exact[idx] = _exact(layer, base, cands[idx], data, first, cache)
    out["executed"] = len(idx)
    if t_audit:
        drop, orphan, n_small, n_orphan = _dropped_t(layer, base, cands, cap, rng)
        drop_exact = _exact(layer, base, drop, data, first, cache)
        out["t"] = {"small": n_small, "orphan": n_orphan, "executed": len(drop)}
    top_k = base.mapper.top_k
    for obj in objectives:
        arch = _with_objective(base, obj)
        mres, counts, energy, _ = search_mapping(layer, arch, input_nz=input_nz,
                                                 output_nz=output_nz, weight_nz=weight_nz,
                                                 first_layer=first, data_cache=cache)
        chosen = mres.mapping
        chosen_row = (chosen.e, chosen.p, chosen.q, chosen.r, chosen.t, chosen.gp, chosen.m,
                      chosen.n, chosen.segments, chosen.r_rows)
        chosen_k1 = _keys(base, obj, np.array([energy["total"]]),
                          np.array([float(counts.cycles[0])]))[0][0]
        order, est_k1 = orders[obj]
        rank = np.empty(len(cands), np.int64)
        rank[order] = np.arange(1, len(cands) + 1)
        k1, k0 = _keys(base, obj, exact[idx, 0], exact[idx, 1])
        ex_order = _order(cands[idx], k1, k0)
        best = idx[ex_order[0]]
        best_k1 = k1[ex_order[0]]
        # the search's choice again, from the executed rows: the best exact among
        # its top_k by estimate (a check that this script ranks as the search does)
        short = rank[idx] <= top_k
        sub = np.flatnonzero(short)
        mine = idx[sub[_order(cands[idx[sub]], k1[sub], k0[sub])[0]]]
        res = {"chosen": chosen_row, "chosen_k1": chosen_k1, "best": tuple(cands[best]),
               "best_k1": best_k1, "best_rank": int(rank[best]),
               "need_k": int(rank[idx][k1 <= best_k1].min()),
               "regret": (chosen_k1 / best_k1 - 1) * 100,
               "beat": int((k1 < chosen_k1).sum()),
               "rho": _spearman(est_k1[idx], k1),
               "consistent": tuple(cands[mine]) == chosen_row}
        if t_audit and len(drop):
            dk1, dk0 = _keys(base, obj, drop_exact[:, 0], drop_exact[:, 1])
            j = _order(drop, dk1, dk0)[0]
            res["t_best"] = tuple(drop[j])
            res["t_best_k1"] = dk1[j]
            res["t_best_orphan"] = bool(orphan[j])
            res["t_beat"] = int((dk1 < chosen_k1).sum())
        out["objectives"][obj] = res
    out["seconds"] = time.perf_counter() - start
    return out


def _row(t) -> str:
    return "(" + ",".join(str(int(v)) for v in t) + ")"


def _pct(v: float) -> str:
    return f"{v:.2f}"


def _print_config(arch_name: str, top_k: int, obj: str, results: list[dict], t_audit: bool,
                  cap: int, head: int) -> None:
    print(f"\n== {arch_name}, objective {obj}, top_k {top_k}, cap {cap or 'none'} ==")
    sampling = (f"all, or 's': {cap} sampled + {head} best by estimate" if cap
                else "all of them")
    print(f"shortlist regret: cands = candidates; exec = executed exactly ({sampling}); "
          "best@ = estimate rank of the exact "
          "best found; need_k = top_k that finds it; regret = chosen/best - 1; beat = "
          "executed candidates better than the choice; rho = Spearman(estimate, exact)")
    head_cells = ("workload", "layer", "kind", "cands", "exec", "best@", "need_k", "regret%",
                  "beat", "rho", "best (e,p,q,r,t,gp,m,n,seg,rr) / chosen, when not the same")
    fmt = "{:10s} {:24s} {:6s} {:>7s} {:>7s} {:>6s} {:>6s} {:>8s} {:>6s} {:>6s}  {}"
    print(fmt.format(*head_cells))
    regrets, outside, needs, bad = [], 0, [], []
    for r in results:
        if "reason" in r:
            print(fmt.format(r["workload"], r["layer"], r["kind"], "0", "-", "-", "-", "-", "-",
                             "-", f"unmapped: {r['reason']}"))
            continue
        o = r["objectives"][obj]
        regrets.append(o["regret"])
        needs.append(o["need_k"])
        outside += o["need_k"] > top_k
        if not o["consistent"]:
            bad.append(r["layer"])
        ex = f"{r['executed']}{'s' if r['sampled'] else ''}"
        print(fmt.format(r["workload"], r["layer"], r["kind"], str(r["cands"]), ex,
                         str(o["best_rank"]), str(o["need_k"]), _pct(o["regret"]), str(o["beat"]),
                         f"{o['rho']:.2f}", "" if o["regret"] == 0
                         else f"{_row(o['best'])} / {_row(o['chosen'])}"))
    if regrets:
        worst = max(range(len(regrets)), key=regrets.__getitem__)
        mapped = [r for r in results if "reason" not in r]
        print(f"summary: {len(regrets)} layers; regret median {_pct(statistics.median(regrets))}%, "
              f"mean {_pct(statistics.fmean(regrets))}%, worst {_pct(regrets[worst])}% "
              f"({mapped[worst]['workload']} {mapped[worst]['layer']}); exact best outside "
              f"top_k {top_k} on {outside} layers; top_k to find it on all: {max(needs)}")
    if bad:
        print(f"WARNING: this script's top_k choice differs from search_mapping's on: "
              f"{', '.join(bad)}")
    if not t_audit:
        return
    print(f"\nt pruning ({arch_name}, {obj}): small = dropped rows with a smaller t of a kept "
          "(e,q,p,r,gp,n); orphan = rows of an (e,q,p,r,gp,n) the pruning lost; gain = "
          "chosen/best dropped - 1 (> 0: a dropped t beats the search); vs kept = best kept "
          "(executed)/best dropped - 1")
    fmt = "{:10s} {:24s} {:>8s} {:>7s} {:>6s} {:>5s} {:>8s} {:>8s}  {}"
    print(fmt.format("workload", "layer", "small", "orphan", "exec", "beat", "gain%", "vs kept%",
                     "best dropped (e,p,q,r,t,gp,m,n,seg,rr) / chosen"))
    gains, wins, losses = [], 0, []
    for r in results:
        if "reason" in r:
            continue
        o, t = r["objectives"][obj], r["t"]
        if "t_best" not in o:
            print(fmt.format(r["workload"], r["layer"], str(t["small"]), str(t["orphan"]), "0",
                             "-", "-", "-", "(no t dropped)"))
            continue
        gain = (o["chosen_k1"] / o["t_best_k1"] - 1) * 100
        vs_kept = (o["best_k1"] / o["t_best_k1"] - 1) * 100
        gains.append(gain)
        losses.append(vs_kept)
        wins += o["t_beat"] > 0
        sampled = "s" if t["executed"] < t["small"] + t["orphan"] else ""
        tag = " orphan" if o["t_best_orphan"] else ""
        print(fmt.format(r["workload"], r["layer"], str(t["small"]), str(t["orphan"]),
                         f"{t['executed']}{sampled}", str(o["t_beat"]), _pct(gain), _pct(vs_kept),
                         f"{_row(o['t_best'])}{tag} / {_row(o['chosen'])}"))
    if gains:
        print(f"summary: a dropped t beats the search's choice on {wins} of {len(gains)} layers; "
              f"largest gain {_pct(max(gains))}%, median gain {_pct(statistics.median(gains))}%; "
              f"beats the best kept mapping executed (the pruning's own loss) on "
              f"{sum(v > 0 for v in losses)} layers, by at most {_pct(max(losses))}%")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", default="eyeriss_v1:edp+energy,eyeriss_v2:edp+energy@1000",
                    help="ARCH[:OBJ+OBJ][@CAP], comma separated (default %(default)s)")
    ap.add_argument("--workloads", default="lenet5,squeezenet,shufflenet,alexnet")
    ap.add_argument("--alexnet-fc", default="fc8",
                    help="AlexNet FC layers audited beside conv1-5 (comma separated, or none)")
    ap.add_argument("--cap", type=int, default=3000,
                    help="execute at most this many sampled candidates per layer (0: all)")
    ap.add_argument("--head", type=int, default=256,
                    help="with sampling, also execute this many best by estimate")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--no-t-audit", dest="t_audit", action="store_false")
    args = ap.parse_args()

    import accelsim
    from accelsim.workload.synth import synth_trace

    configs = []
    for item in args.configs.split(","):
        item, _, cap = item.partition("@")
        name, _, objs = item.partition(":")
        arch = _arch(name)
        configs.append((name, tuple(objs.split("+")) if objs else (arch.mapper.objective,),
                        int(cap) if cap else args.cap))
    with tempfile.TemporaryDirectory() as tmp:
        tasks = []
        for wl in args.workloads.split(","):
            path = WORKLOADS[wl]
            if path is None:
                path = Path(tmp) / "alexnet_b1.npz"
                synth_trace("alexnet", str(path), batch=1, ifmap_zeros="0.5")
            names = [x.name for x in accelsim.read_trace(path).mac_layers]
            if wl == "alexnet":
                fcs = [] if args.alexnet_fc == "none" else args.alexnet_fc.split(",")
                names = [n for n in names if n in ALEXNET_CONVS or n in fcs]
            for name, objs, cap in configs:
                tasks += [(name, objs, wl, str(path), n, cap) for n in names]
        print(f"accelsim {accelsim.__version__}; head {args.head}, seed {args.seed}; AlexNet "
              "synthesized at batch 1, ifmap zeros 0.5")
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.jobs) as pool:
            # AlexNet's large layers first, so no long one is left running alone at the end
            first = sorted(range(len(tasks)), key=lambda i: tasks[i][2] != "alexnet")
            futures = {i: pool.submit(audit_layer, *tasks[i], args.head, args.seed,
                                      args.t_audit) for i in first}
            futures = [futures[i] for i in range(len(tasks))]
            results = []
            for task, fut in zip(tasks, futures):
                results.append((task, fut.result()))
                print(f"  {task[0]} {task[2]} {task[4]}: {results[-1][1].get('seconds', 0):.1f} s",
                      file=sys.stderr, flush=True)
    for name, objs, cap in configs:
        for obj in objs:
            _print_config(name, _arch(name).mapper.top_k, obj,
                          [r for task, r in results if task[0] == name], args.t_audit, cap,
                          args.head)
    print(f"\nwall time {time.perf_counter() - t0:.0f} s on {args.jobs} processes")


if __name__ == "__main__":
    main()
