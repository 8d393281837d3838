"""Design-space sweeps: many (architecture point x trace) through the same pipeline.

Place in the pipeline: around it. A sweep file names a base arch, axes (dotted
key paths into the arch and their values) and traces; every point's arch
document is validated and run like any arch file (``spec -> workload ->
mapping -> engine -> energy -> report``), on this process, local worker
processes or a Dask cluster, and each result is stored as it finishes so an
interrupted sweep resumes. The totals become one table; :func:`pareto` picks
its non-dominated rows.

Modules, in the order a sweep uses them: :mod:`~accelsim.sweeps.spec` (the
sweep file), :mod:`~accelsim.sweeps.points` (grid, random, Latin hypercube),
:mod:`~accelsim.sweeps.runner` (orchestration and the table's columns),
:mod:`~accelsim.sweeps.executors`, :mod:`~accelsim.sweeps.worker`,
:mod:`~accelsim.sweeps.store`, :mod:`~accelsim.sweeps.pareto`.

The package is ``sweeps`` rather than ``sweep`` so that the function
``accelsim.sweep`` does not hide it.
"""

from accelsim.sweeps.pareto import pareto
from accelsim.sweeps.runner import SweepOutcome, read_table, run_sweep, sweep, write_table
from accelsim.sweeps.spec import SweepSpec, read_sweep, sweep_from_dict

__all__ = ["SweepOutcome", "SweepSpec", "pareto", "read_sweep", "read_table", "run_sweep",
           "sweep", "sweep_from_dict", "write_table"]
