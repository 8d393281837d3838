"""The public Python API takes paths as well as loaded objects."""

from __future__ import annotations

import pytest

import accelsim
from conftest import EYERISS_YAML, ROOT

LENET = ROOT / "workloads" / "lenet5_digits.npz"


def test_run_reads_an_arch_file_and_a_trace_file_given_as_paths():
    by_path = accelsim.run(str(EYERISS_YAML), LENET)
    by_object = accelsim.run(accelsim.load_arch(EYERISS_YAML), accelsim.read_trace(LENET))
    assert ([r.counts.cycles.tolist() for r in by_path.layers if r.simulated]
            == [r.counts.cycles.tolist() for r in by_object.layers if r.simulated])
    assert [r.energy_pj for r in by_path.layers] == [r.energy_pj for r in by_object.layers]
    assert by_path.arch_path == str(EYERISS_YAML)  # the report's provenance names the file


def test_run_and_opcost_name_what_they_were_given_instead():
    with pytest.raises(TypeError, match=r"arch: an ArchSpec or the path of an arch file "
                                        r"\(got dict\)"):
        accelsim.run({"version": 1}, LENET)
    with pytest.raises(TypeError, match=r"trace: a Trace or the path of a trace file "
                                        r"\(got int\)"):
        accelsim.opcost(EYERISS_YAML, 3)


def test_a_bad_path_is_the_usual_error():
    with pytest.raises(accelsim.AccelsimError, match="missing.npz"):
        accelsim.run(EYERISS_YAML, ROOT / "missing.npz")
