"""Storage access energy that grows with the storage's size (energy.size_scaling).

EnergySpec: a storage named in ``reference_bytes`` costs the table's entry
times ``(size / reference) ** exponent``; the shipped archs name their own
sizes, so their numbers are the table's.
"""

from __future__ import annotations

import copy
import math
import re

import numpy as np
import pytest
import yaml

import accelsim
from accelsim.enums import Level, Tensor
from accelsim.errors import ConfigError
from accelsim.mapping.estimate import estimate
from accelsim.mapping.rowstationary import candidates
from accelsim.run import run_layer
from accelsim.spec.arch import SCALED_STORAGES
from accelsim.spec.load import arch_from_dict
from conftest import ROOT, conv_header, make_trace, run_cli

OWN = {"glb": 102400, "glb_filter": 8192, "ifmap_spad": 24, "filter_spad": 448, "psum_spad": 48}


def _arch(base: dict, *, banks=None, filter_entries=None, scaling="own", exponent=0.5):
    d = copy.deepcopy(base)
    if banks is not None:
        d["glb"]["banks"] = banks
    if filter_entries is not None:
        d["scratchpads"]["filter"]["entries"] = filter_entries
    if scaling is None:
        d["energy"].pop("size_scaling", None)
    else:
        d["energy"]["size_scaling"] = {"exponent": exponent,
                                       "reference_bytes": OWN if scaling == "own" else scaling}
    return arch_from_dict(d, "a.yaml")


@pytest.mark.parametrize("name", ["eyeriss_v1", "eyeriss_v2", "reconfigurable"])
def test_shipped_archs_price_their_own_sizes_at_the_table(name):
    """Every shipped arch names all five storages at its own sizes: each factor
    is exactly 1, so its validated numbers are the table's."""
    arch = accelsim.load_arch(ROOT / "arch_configs" / f"{name}.yaml")
    assert {s for s, _ in arch.energy.reference_bytes} == set(SCALED_STORAGES)
    assert arch.storage_factors() == ((1.0,) * 3,) * 4


def test_factors_follow_each_storages_own_size(eyeriss_dict):
    arch = _arch(eyeriss_dict, banks=100, filter_entries=112)
    x = arch.storage_factors()
    assert x[Level.GLB][Tensor.IFMAP] == x[Level.GLB][Tensor.PSUM] == 2.0  # 4x the banks
    assert x[Level.SPAD][Tensor.WEIGHT] == math.sqrt(0.5)                   # half the spad
    assert x[Level.GLB][Tensor.WEIGHT] == x[Level.SPAD][Tensor.IFMAP] == 1.0
    assert x[Level.DRAM] == x[Level.NOC] == (1.0, 1.0, 1.0)                 # never scaled
    linear = _arch(eyeriss_dict, banks=100, exponent=1.0)
    assert linear.storage_factors()[Level.GLB][Tensor.IFMAP] == 4.0
    flat = _arch(eyeriss_dict, banks=100, exponent=0.0)
    assert flat.storage_factors() == ((1.0,) * 3,) * 4
    only_glb = _arch(eyeriss_dict, banks=100, filter_entries=112, scaling={"glb": 102400})
    assert only_glb.storage_factors()[Level.SPAD][Tensor.WEIGHT] == 1.0  # not named: not scaled


@pytest.fixture
def conv(tmp_path):
    return make_trace(tmp_path / "c.npz", [conv_header("c", 2, 8, 12, 12, 16, 3, 3, pad=1)],
                      ifmap_zeros=0.4, seed=3)


def test_a_bigger_buffer_pays_per_access_and_moves_the_same_data(eyeriss_dict, conv):
    """The same mapping on four times the ifmap/psum banks and twice the filter
    spad: the counts are identical; the GLB's ifmap and psum energy doubles
    (sqrt 4), the filter spad's grows by sqrt 2, nothing else changes. Without
    size scaling the bigger design costs what the small one does."""
    layer = conv.layers[0]
    small = _arch(eyeriss_dict)
    res = run_layer(layer, conv, small, first_layer=False)
    mp = res.mapping.mapping
    big = run_layer(layer, conv, _arch(eyeriss_dict, banks=100, filter_entries=448),
                    first_layer=False, mapping=mp)
    assert np.array_equal(big.counts.bits, res.counts.bits)
    want = np.ones((4, 3))
    want[Level.GLB, [Tensor.IFMAP, Tensor.PSUM]] = 2.0
    want[Level.SPAD, Tensor.WEIGHT] = math.sqrt(2)
    assert (res.energy_by_tensor_pj > 0).all()
    assert big.energy_by_tensor_pj == pytest.approx(res.energy_by_tensor_pj * want, rel=1e-12)
    assert big.energy_pj["mac"] == res.energy_pj["mac"]
    unscaled_small = run_layer(layer, conv, _arch(eyeriss_dict, scaling=None),
                               first_layer=False, mapping=mp)
    unscaled_big = run_layer(layer, conv, _arch(eyeriss_dict, banks=100, filter_entries=448,
                                                scaling=None), first_layer=False, mapping=mp)
    assert unscaled_big.energy_pj == unscaled_small.energy_pj == res.energy_pj


def _estimate(arch, layer):
    cands, _ = candidates(layer, arch)
    return estimate(cands, layer, arch, ifmap_ratio=1.0, ofmap_ratio=1.0, glb_ifmap_ratio=1.0,
                    glb_weight_ratio=1.0)


def test_the_search_estimate_prices_scaled_storages_as_the_table_would(eyeriss_dict, conv):
    """The mapping search's energy estimate with every GLB storage at factor 4
    is the estimate of an unscaled arch whose GLB entry is 4 x the table's (and
    likewise the spads); each storage alone raises every candidate's estimate;
    cycles never move."""
    layer = conv.layers[0]
    scaled = {s: OWN[s] // 4 for s in SCALED_STORAGES}  # factor 4 at exponent 1
    plain = _arch(eyeriss_dict, scaling=None)
    e1, c1 = _estimate(plain, layer)
    for level, names in (("glb", ("glb", "glb_filter")),
                         ("spad", ("ifmap_spad", "filter_spad", "psum_spad"))):
        e, c = _estimate(_arch(eyeriss_dict, scaling={s: scaled[s] for s in names},
                               exponent=1.0), layer)
        d = copy.deepcopy(eyeriss_dict)
        d["energy"].pop("size_scaling")
        d["energy"]["normalized_to_mac"][level] *= 4
        want, _ = _estimate(arch_from_dict(d, "b.yaml"), layer)
        assert e == pytest.approx(want, rel=1e-12), level
        assert np.array_equal(c, c1)
    for storage in SCALED_STORAGES:
        e, _ = _estimate(_arch(eyeriss_dict, scaling={storage: scaled[storage]},
                               exponent=1.0), layer)
        assert (e > e1).all(), storage


@pytest.mark.parametrize("scaling, expected", [
    ({"exponent": 1.5, "reference_bytes": {"glb": 102400}},
     "a.yaml: energy.size_scaling.exponent: must be a number from 0 to 1 (got 1.5)"),
    ({"exponent": -0.5, "reference_bytes": {"glb": 102400}},
     "a.yaml: energy.size_scaling.exponent: must be a number from 0 to 1 (got -0.5)"),
    ({"exponent": True, "reference_bytes": {"glb": 102400}},
     "a.yaml: energy.size_scaling.exponent: must be a number from 0 to 1 (got True)"),
    ({"reference_bytes": {"glb": 0}},
     "a.yaml: energy.size_scaling.reference_bytes.glb: must be >= 1 (got 0)"),
    ({"exponent": 1, "reference_bytes": {"glb": 5e-324}},  # would price every access inf
     "a.yaml: energy.size_scaling.reference_bytes.glb: must be an integer (got 5e-324)"),
    ({"reference_bytes": {"glb": 2**41}},
     "a.yaml: energy.size_scaling.reference_bytes.glb: must be <= 1099511627776"),
    ({"reference_bytes": {"dram": 10}},
     "a.yaml: energy.size_scaling.reference_bytes.dram: unknown key (known: glb, glb_filter, "
     "ifmap_spad, filter_spad, psum_spad)"),
    ({"reference_bytes": {"psum_spad": "48 B"}},
     "a.yaml: energy.size_scaling.reference_bytes.psum_spad: must be an integer (got '48 B')"),
    ({"exponent": float("nan"), "reference_bytes": {"glb": 1024}},
     "a.yaml: energy.size_scaling.exponent: must be a finite number (got nan)"),
    ({"exponent": 0.5},
     "a.yaml: energy.size_scaling.reference_bytes: missing: name the size at which the table "
     "holds for at least one of glb, glb_filter, ifmap_spad, filter_spad, psum_spad"),
    ({"reference_bytes": {}}, "energy.size_scaling.reference_bytes: missing"),
    ({"factor": 2, "reference_bytes": {"glb": 1}},
     "a.yaml: energy.size_scaling.factor: unknown key (known: exponent, reference_bytes)"),
])
def test_size_scaling_errors_name_the_key(eyeriss_dict, scaling, expected):
    d = copy.deepcopy(eyeriss_dict)
    d["energy"]["size_scaling"] = scaling
    with pytest.raises(ConfigError) as exc:
        arch_from_dict(d, "a.yaml")
    assert expected in str(exc.value)
    assert "\n" not in str(exc.value)


def test_check_prints_the_scaled_access_energies(tmp_path, eyeriss_dict, capsys):
    d = copy.deepcopy(eyeriss_dict)
    d["glb"]["banks"] = 100
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(d))
    code, out, _ = run_cli(["check", str(path)], capsys)
    assert code == 0
    assert ("pJ per 16-bit access: DRAM 200, GLB 12 (filter banks 6), NoC 2, spads ifmap 1 / "
            "filter 1 / psum 1; scaled as (size / reference) ** 0.5: glb, glb_filter, "
            "ifmap_spad, filter_spad, psum_spad") in out
    d["energy"]["size_scaling"]["exponent"] = 7
    path.write_text(yaml.safe_dump(d))
    code, out, err = run_cli(["check", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (f"accelsim: error: {path}: energy.size_scaling.exponent: must be "
                           "a number from 0 to 1 (got 7)")


def test_energy_spec_checks_its_scaling_fields(eyeriss):
    """Specs built in Python (dataclasses.replace) are checked as the loader checks."""
    import dataclasses

    from accelsim.errors import AccelsimError

    for kw, message in [
            ({"reference_bytes": (("glb", 0),)},
             "energy.size_scaling.reference_bytes.glb: must be an integer >= 1 (got 0)"),
            ({"reference_bytes": (("dram", 5),)},
             "energy.size_scaling.reference_bytes.dram: unknown storage (known: glb, "
             "glb_filter, ifmap_spad, filter_spad, psum_spad)"),
            ({"size_exponent": 1.5},
             "energy.size_scaling.exponent: must be a number from 0 to 1 (got 1.5)")]:
        with pytest.raises(AccelsimError, match=re.escape(message)):
            dataclasses.replace(eyeriss.energy, **kw)


def test_layer_energy_refuses_an_energy_table_without_its_arch(eyeriss, conv):
    """The old call form (counts, arch.energy) would price without the sizes."""
    from accelsim.energy.model import layer_energy

    res = run_layer(conv.layers[0], conv, eyeriss, first_layer=False)
    with pytest.raises(TypeError, match="takes the ArchSpec, not arch.energy"):
        layer_energy(res.counts, eyeriss.energy)
    energy, _ = layer_energy(res.counts, eyeriss)
    assert energy == res.energy_pj
