"""Golden case: AlexNet batch 4 on Eyeriss v1, exact counts and Table V bounds.

The expected counts live in tests/golden/eyeriss_v1_alexnet_b4.json and change
only through tests/golden/regenerate.py and a reviewed diff. The published
figures (../shared/validation, or the repository's copy in benchmarks/data;
JSSC 2017 Table V) are read here only to check the model; nothing in accelsim
reads them.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import accelsim
from accelsim.enums import Cycle, Level, Tensor
from accelsim.workload.synth import synth_trace
from conftest import validate_eyeriss

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = json.loads((HERE / "golden" / "eyeriss_v1_alexnet_b4.json").read_text())
ZEROS = "conv1=0.0001,conv2=0.387,conv3=0.725,conv4=0.793,conv5=0.776"
# ../shared/validation where it is beside the repo, else the repository's copy
# (benchmarks/data; test_the_repository_copy_of_the_tables_is_the_reference)
TABLE5 = next((p for p in (ROOT.parent / "shared" / "validation" / "eyeriss_v1_alexnet_table5.csv",
                           ROOT / "shared" / "validation" / "eyeriss_v1_alexnet_table5.csv",
                           ROOT / "benchmarks" / "data" / "eyeriss_v1_alexnet_table5.csv")
               if p.exists()), None)


@pytest.fixture(scope="module")
def alexnet_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("alexnet") / "alexnet_b4.npz"
    synth_trace("alexnet", str(path), batch=4, seed=0, ifmap_zeros=ZEROS)
    return path


@pytest.fixture(scope="module")
def alexnet_trace(alexnet_path):
    return accelsim.read_trace(alexnet_path)


@pytest.mark.parametrize("name", ["eyeriss_v1_alexnet_table5.csv",
                                  "eyeriss_v1_alexnet_table3_mapping.csv"])
def test_the_repository_copy_of_the_tables_is_the_reference(name):
    """benchmarks/data holds Table V and Table III for a clone without
    ../shared/validation; where the reference is beside the repo, the copy is
    byte for byte the same."""
    copy = ROOT / "benchmarks" / "data" / name
    assert copy.exists()
    reference = ROOT.parent / "shared" / "validation" / name
    if not reference.exists():
        pytest.skip("../shared/validation not beside the repo")
    assert copy.read_bytes() == reference.read_bytes()


def test_the_golden_workload_is_the_one_synthesized(alexnet_path):
    """A failure here means ``accelsim synth`` writes another trace, not that
    the model changed (tests/golden/regenerate.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("regenerate", HERE / "golden" / "regenerate.py")
    regenerate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(regenerate)
    assert regenerate.trace_digest(str(alexnet_path)) == GOLDEN["trace_digest"]


@pytest.fixture(scope="module")
def alexnet_run(alexnet_trace):
    arch = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v1.yaml")
    result = accelsim.run(arch, alexnet_trace)
    return arch, {r.layer.name: r for r in result.layers if r.simulated}


def test_counts_equal_golden(alexnet_run):
    from accelsim.version import MODEL_REVISION

    # the golden file was written by this model revision (tests/golden/regenerate.py)
    assert GOLDEN["model_revision"] == MODEL_REVISION
    _, results = alexnet_run
    assert set(results) == set(GOLDEN["layers"])
    for name, want in GOLDEN["layers"].items():
        res = results[name]
        c = res.counts
        assert res.mapping.mapping.as_dict() == want["mapping"], name
        assert {k.name.lower(): int(c.cycles[k]) for k in Cycle} == want["cycles"], name
        assert c.words.tolist() == want["words"], name
        assert c.bits.tolist() == want["bits"], name
        assert (c.macs, c.macs_performed, c.macs_gated) == (
            want["macs"], want["macs_performed"], want["macs_gated"]), name


def _published():
    with open(TABLE5) as fh:
        return {r["layer"].lower(): r for r in csv.DictReader(fh)}


def _ours(arch, res):
    c = res.counts
    clock = arch.core_clock_mhz * 1e6
    return {"active_pes": c.active_pes,
            "processing_latency_ms": c.cycles[Cycle.PROCESSING] / clock * 1e3,
            "total_latency_ms": c.cycles[Cycle.TOTAL] / clock * 1e3,
            # Table V's GLB accesses are those of the 100 kB ifmap/psum banks
            # (see benchmarks/validate_eyeriss.py); the filter buffer is apart
            "glb_accesses_mb": (c.bytes_at(Level.GLB, Tensor.IFMAP)
                                + c.bytes_at(Level.GLB, Tensor.PSUM)) / 1e6,
            "dram_accesses_mb": c.bytes_at(Level.DRAM) / 1e6}


# Where the model misses 10% of Table V (figures from validate_eyeriss.py):
KNOWN_MISSES = {
    ("conv3", "glb_accesses_mb"): "-15.5%: the search's q*r=8 mapping rounds psums through the "
                                  "GLB less often than the chip did",
    ("conv4", "glb_accesses_mb"): "-13.0%: as conv3, a q*r=8 mapping 2% better in energy x delay "
                                  "(the chip's own mapping gives +5.5%)",
}
METRICS = ("processing_latency_ms", "total_latency_ms", "glb_accesses_mb", "dram_accesses_mb")
CASES = [pytest.param(layer, metric, marks=pytest.mark.xfail(
    strict=True, reason=KNOWN_MISSES[(layer, metric)]) if (layer, metric) in KNOWN_MISSES else ())
    for layer in ("conv1", "conv2", "conv3", "conv4", "conv5") for metric in METRICS]


@pytest.mark.skipif(TABLE5 is None, reason="Table V not found")
def test_active_pes_exactly_as_the_chip(alexnet_run):
    arch, results = alexnet_run
    pub = _published()
    for name in ("conv1", "conv2", "conv3", "conv4", "conv5"):
        assert _ours(arch, results[name])["active_pes"] == int(pub[name]["active_pes"]), name


@pytest.mark.skipif(TABLE5 is None, reason="Table V not found")
@pytest.mark.parametrize("layer, metric", CASES)
def test_within_10_percent_of_table5(alexnet_run, layer, metric):
    arch, results = alexnet_run
    ours = _ours(arch, results[layer])[metric]
    pub = float(_published()[layer][metric])
    assert abs(ours - pub) / pub <= 0.10, f"{layer} {metric}: ours {ours:.3f}, paper {pub}"


@pytest.mark.skipif(TABLE5 is None, reason="Table V not found")
def test_misses_stay_bounded(alexnet_run):
    """The known misses are not allowed to grow past 16%."""
    arch, results = alexnet_run
    pub = _published()
    for layer, metric in KNOWN_MISSES:
        ours = _ours(arch, results[layer])[metric]
        assert abs(ours - float(pub[layer][metric])) / float(pub[layer][metric]) <= 0.16


@pytest.mark.skipif(TABLE5 is None, reason="Table V not found")
def test_search_finds_table3_or_a_mapping_the_model_rates_better(alexnet_run, alexnet_trace):
    """JSSC 2017 Table III's mappings, run through the same model, are never
    better on the mapper's objective (energy x delay) than the search's
    choice; on CONV1 and CONV5 the search finds them exactly."""
    from accelsim.run import _objective, run_layer

    arch, results = alexnet_run
    v = validate_eyeriss()
    _, t3 = v.published()
    for name, res in results.items():
        if name not in t3:
            continue
        layer = res.layer
        mp = v.table3_mapping(t3[name], layer)
        chip = run_layer(layer, alexnet_trace, arch, first_layer=name == "conv1", mapping=mp)
        ours_key = _objective(arch, res.energy_pj["total"], float(res.counts.cycles[Cycle.TOTAL]))
        chip_key = _objective(arch, chip.energy_pj["total"],
                              float(chip.counts.cycles[Cycle.TOTAL]))
        assert ours_key <= chip_key, name
        if name in ("conv1", "conv5"):
            assert res.mapping.mapping == mp, name


def test_vgg16_processing_within_10_percent_of_table6_under_chip_consistent_mappings(
        tmp_path):
    """The same Eyeriss v1 model on VGG-16 (batch 3, Table VI's zero fractions):
    under the mappings Table VI's own counts point to (the chip's channels per
    pass and active PEs, sets at least 7 wide; benchmarks/validate_eyeriss.py,
    ``chip_consistent_mapping``), every CONV layer's processing latency lands
    within 10% of the chip's (measured: -7.1% to +9.0%, -4.3% in all). On the
    psum-bound layers this checks the psum bus against the chip's pairing of
    GLB traffic and time (the channels per pass come from the GLB count); on
    the compute-bound ones, the array."""
    v = validate_eyeriss()
    pub = v.table6()
    path = tmp_path / "vgg16_b3.npz"
    synth_trace("vgg16", str(path), batch=3, seed=0,
                ifmap_zeros=",".join(f"{k}={r['ifmap_zero_fraction']}" for k, r in pub.items()))
    arch = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v1.yaml")
    trace = accelsim.read_trace(path)
    clock = arch.core_clock_mhz * 1e3
    ours_total = chip_total = 0.0
    for layer in trace.layers:
        if layer.name not in pub:
            continue
        res = v.chip_consistent_mapping(layer, arch, trace, pub[layer.name])
        assert res is not None, layer.name
        ours = res.counts.cycles[Cycle.PROCESSING] / clock
        chip = float(pub[layer.name]["processing_latency_ms"])
        assert abs(ours - chip) / chip <= 0.10, f"{layer.name}: ours {ours:.1f} ms, chip {chip}"
        ours_total += ours
        chip_total += chip
    assert abs(ours_total - chip_total) / chip_total <= 0.05
