"""accelsim: a cycle-level simulator of deep-learning accelerators.

Public API::

    arch = accelsim.load_arch("arch_configs/eyeriss_v1.yaml")
    trace = accelsim.read_trace("alexnet_b4.npz")
    result = accelsim.run(arch, trace)
    constraints = accelsim.read_mapping_constraints("mapping.yaml")   # per-layer mapping
    result = accelsim.run(arch, trace, mapping_constraints=constraints,
                          mapping_path="mapping.yaml")
    df = accelsim.report_frame(result)
    costs = accelsim.opcost(arch, trace)   # every layer x supported operator/widths
"""

from accelsim.errors import AccelsimError, ConfigError, NotModeledError, TraceError
from accelsim.mapping.constraints import read_mapping_constraints
from accelsim.opcost import opcost
from accelsim.report.report import report_dict, report_frame, write_report
from accelsim.run import RunResult, run
from accelsim.spec.load import load_arch
from accelsim.sweeps import pareto, sweep
from accelsim.version import __version__
from accelsim.workload.trace import read_trace, write_trace

__all__ = ["AccelsimError", "ConfigError", "NotModeledError", "TraceError", "RunResult",
           "__version__", "load_arch", "opcost", "pareto", "read_mapping_constraints",
           "read_trace", "report_dict", "report_frame", "run", "sweep", "write_report",
           "write_trace"]
