"""``accelsim sweep SWEEP.yaml -o results.parquet``: run a design-space sweep.

Prints a progress bar with rate and ETA on stderr when it is a terminal (and
nothing there when it is not: logs, CI), then one line saying what was written.

Exit status: 2 when the input is refused before any point runs (a bad sweep
file, trace or mapping file, or a swept value that makes every point taking
it invalid); 1 when the sweep ran but every point ended in error (the table
is written with each reason; one line on stderr quotes the first); else 0.
"""

from __future__ import annotations

import sys
import time

NAME = "sweep"
HELP = "run a design-space sweep (arch variants x traces) into one results table"


def add_arguments(p) -> None:
    p.add_argument("sweep", help="sweep YAML file")
    p.add_argument("-o", "--output", required=True,
                   help="results table, .parquet or .csv (results are stored as they finish "
                        "in OUTPUT.d/, so a rerun resumes)")
    p.add_argument("--jobs", type=int, default=None,
                   help="local worker processes (default: all cores; 1 runs in this process);"
                        " with --dask local, the cluster's workers")
    p.add_argument("--dask", metavar="ADDRESS", default=None,
                   help="run on a Dask cluster: a scheduler address (tcp://host:8786) or "
                        "'local' to start a LocalCluster")
    p.add_argument("--mapping", metavar="YAML",
                   help="per-layer mapping constraints applied to every point and trace "
                        "(as accelsim run --mapping)")


class ProgressBar:
    """``done/total``, percent, a bar, rate and ETA on one rewritten terminal line.

    The rate counts from the first result that arrives, so the workers'
    start-up and results reused from the store do not skew the ETA.
    """

    def __init__(self, stream, *, width: int = 24, every_s: float = 0.2) -> None:
        self.stream = stream
        self.width = width
        self.every_s = every_s
        self._initial = None
        self._first = None  # (time, done) at the first result computed now
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self._initial is None:
            self._initial = done
        elif self._first is None and done > self._initial:
            self._first = (now, done)
        if done < total and now - self._last_draw < self.every_s:
            return
        self._last_draw = now
        rate = None
        if self._first is not None and now > self._first[0] and done > self._first[1]:
            rate = (done - self._first[1]) / (now - self._first[0])
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        rate_text = "--" if rate is None else f"{rate:.1f}"
        eta_text = ("--:--:--" if rate is None else
                    time.strftime("%H:%M:%S", time.gmtime((total - done) / rate)))
        self.stream.write(f"\rsweep {done}/{total} {frac:4.0%} |{'#' * filled}"
                          f"{'.' * (self.width - filled)}| {rate_text} pt/s ETA {eta_text} ")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def main(args) -> int:
    from accelsim.fileio import check_output_path
    from accelsim.sweeps.executors import check_dask
    from accelsim.sweeps.runner import layers_path, run_sweep

    check_output_path(args.output, "-o", [args.sweep, args.mapping])  # before any point runs
    if args.dask is not None:
        check_dask(args.dask, option="--dask")
    bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
    try:
        outcome = run_sweep(args.sweep, args.output, jobs=args.jobs, dask=args.dask,
                            progress=bar, mapping=args.mapping or None)
    finally:
        if bar is not None:
            bar.close()
    counts = outcome.totals["status"].value_counts()
    summary = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("ok", "infeasible", "error"))
    print(f"wrote {args.output}: {len(outcome.totals)} rows ({summary}); {outcome.computed} "
          f"results computed, {outcome.reused} reused from {outcome.store}")
    if outcome.layers is not None:
        print(f"wrote {layers_path(args.output)}: {len(outcome.layers)} layer rows")
    if outcome.stale_layers is not None:
        print(f"removed {outcome.stale_layers}: an earlier run's layer rows (this sweep "
              "keeps totals only)")
    if counts.get("error", 0) == len(outcome.totals):
        # the table is written, and its reasons say why; the status tells a script
        # that no design point produced a result (1: ran and failed; 2 is kept for
        # input refused before anything ran)
        first = outcome.totals.iloc[0]
        sys.stderr.write(f"accelsim: error: {args.sweep}: every point ended in error (point "
                         f"{first['point_id']} on {first['trace']}: {first['reason']})\n")
        return 1
    return 0
