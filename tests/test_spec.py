"""Architecture YAML: loading, and every error a user can make, with its message."""

from __future__ import annotations

import copy

import pytest
import yaml

from accelsim.errors import ConfigError
from accelsim.spec.load import arch_from_dict, load_arch
from conftest import EYERISS_YAML, ROOT


def test_eyeriss_loads_with_published_facts(eyeriss):
    assert (eyeriss.pe_array.rows, eyeriss.pe_array.cols) == (12, 14)
    assert eyeriss.glb.size_bytes == 108 * 1024
    assert eyeriss.dram_bytes_per_cycle == pytest.approx(2.4)  # 64 b x 60 MHz / 200 MHz
    assert eyeriss.energy.dram_pj == 200 * eyeriss.energy.mac_pj


def _write(tmp_path, data, name="a.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if not isinstance(data, str) else data)
    return p


def _errors(tmp_path, mutate, eyeriss_dict):
    d = copy.deepcopy(eyeriss_dict)
    mutate(d)
    with pytest.raises(ConfigError) as exc:
        load_arch(_write(tmp_path, d))
    return str(exc.value)


def test_all_problems_reported_at_once(tmp_path, eyeriss_dict):
    def mutate(d):
        d["pe_array"]["rows"] = 0
        d["glb"]["banks"] = "many"
        d["noc"]["bogus_bits"] = 3
        del d["dram"]["bus_bits"]
    msg = _errors(tmp_path, mutate, eyeriss_dict)
    assert "a.yaml: pe_array.rows: must be >= 1 (got 0)" in msg
    assert "glb.banks: must be an integer (got 'many')" in msg
    assert "noc.bogus_bits: unknown key" in msg
    assert "dram.bus_bits: missing" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.pop("version"), "version: missing"),
    (lambda d: d.update(version=7), "version: unsupported, this accelsim reads [1] (got 7)"),
    (lambda d: d.update(core_clock_mhz=-5), "core_clock_mhz: must be > 0 (got -5)"),
    (lambda d: d["sparsity"].update(ifmap="maybe"), "sparsity.ifmap: must be one of"),
    (lambda d: d["dram"].update(ifmap_compression="zip"), "dram.ifmap_compression: must be one of"),
    (lambda d: d["mapper"].update(objective="fast"), "mapper.objective: must be one of"),
    (lambda d: d["noc"].update(multicast="yes"), "noc.multicast: must be true or false (got 'yes')"),
    (lambda d: d["scratchpads"]["psum"].update(word_bits=8),
     "scratchpads.psum.word_bits: must be >= mac.bits 16 (got 8)"),
    (lambda d: d["formats"]["rlc"].update(pairs_per_word=4),
     "formats.rlc: pairs_per_word*(run_bits+value_bits) = 84 exceeds word_bits (got 64)"),
    (lambda d: d["sparsity"].update(weight="prune"), "sparsity.weight: must be one of"),
    (lambda d: d["dram"].update(weight_compression="zip"),
     "dram.weight_compression: must be one of ['none', 'rlc', 'csc', 'bitmap', 'block']"),
    (lambda d: d["dram"].update(burst_bytes=-8), "dram.burst_bytes: must be >= 0 (got -8)"),
    (lambda d: d["formats"].update(csc={"count_bits": 0}), "formats.csc.count_bits: must be >= 1"),
    (lambda d: d.update(pe_array=[1, 2]), "pe_array: must be a mapping (got list)"),
])
def test_each_error_names_key(tmp_path, eyeriss_dict, mutate, expected):
    assert expected in _errors(tmp_path, mutate, eyeriss_dict)


def test_duplicate_key_rejected(tmp_path):
    text = EYERISS_YAML.read_text() + "\ncore_clock_mhz: 100\n"
    with pytest.raises(ConfigError, match=r"a.yaml: line \d+, column \d+: invalid YAML: "
                                          r"duplicate key 'core_clock_mhz'"):
        load_arch(_write(tmp_path, text))


def test_unreadable_inputs(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_arch(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_arch(_write(tmp_path, "a: [1, 2"))
    with pytest.raises(ConfigError, match="top level: must be a mapping"):
        load_arch(_write(tmp_path, "- 1\n- 2\n"))


def test_python_objects_are_not_constructed(tmp_path):
    with pytest.raises(ConfigError, match="invalid YAML"):
        load_arch(_write(tmp_path, "version: !!python/object/apply:os.system ['true']\n"))


def test_defaults_fill_optional_sections(eyeriss_dict):
    d = copy.deepcopy(eyeriss_dict)
    del d["mapper"], d["formats"]
    arch = arch_from_dict(d)
    assert arch.mapper.objective == "energy"
    assert arch.formats.rlc.run_bits == 5 and arch.formats.block.block_elems == 8


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.update(core_clock_mhz=float("nan")),
     "core_clock_mhz: must be a finite number (got nan)"),
    (lambda d: d["dram"].update(link_clock_mhz=float("nan")),
     "dram.link_clock_mhz: must be a finite number (got nan)"),
    (lambda d: d["energy"].update(mac_pj=float("inf")),
     "energy.mac_pj: must be a finite number (got inf)"),
    (lambda d: d["energy"]["normalized_to_mac"].update(dram=float("-inf")),
     "energy.normalized_to_mac.dram: must be a finite number (got -inf)"),
    (lambda d: d["mac"].update(reconfig_energy_fraction=float("nan")),
     "mac.reconfig_energy_fraction: must be a finite number (got nan)"),
    (lambda d: d.update(core_clock_mhz=10 ** 400), "core_clock_mhz: must be a finite number"),
    (lambda d: d["energy"].update(operator_pj={"int": {"8x8": float("inf")}}),
     "energy.operator_pj: int.8x8: pJ must be a finite number > 0"),
    (lambda d: d.update(core_clock_mhz="fast"), "core_clock_mhz: must be a number (got 'fast')"),
    (lambda d: d.update(name=3), "name: must be a string (got 3)"),
    (lambda d: d["mac"].update(reconfig_area_fraction=-0.5),
     "mac.reconfig_area_fraction: must be a number >= 0 (got -0.5)"),
    (lambda d: d.update(version=True), "version: must be an integer (got True)"),
    (lambda d: d.update(version=1.0), "version: must be an integer (got 1.0)"),
])
def test_non_finite_and_mistyped_values(tmp_path, eyeriss_dict, mutate, expected):
    msg = _errors(tmp_path, mutate, eyeriss_dict)
    assert msg.startswith(str(tmp_path / "a.yaml") + ": ")
    assert expected in msg
    assert msg.count("a.yaml") == 1  # one problem, reported once


def test_nan_in_yaml_text_is_caught_by_check(tmp_path, capsys):
    from accelsim.cli import main

    text = EYERISS_YAML.read_text()
    bad = _write(tmp_path, text.replace("core_clock_mhz: 200", "core_clock_mhz: .nan"))
    assert "core_clock_mhz: .nan" in bad.read_text()
    assert main(["check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"accelsim: error: {bad}: core_clock_mhz: must be a finite number (got nan)\n"


@pytest.mark.parametrize("text, expected", [
    ("version: true\nlayers: {c1: {operator: int}}\n",
     "version: this accelsim reads assignment version 1 (got True)"),
    ("version: 1\nlayers: {c1: {weight_bits: .nan}}\n",
     "layers.c1.weight_bits: must be an integer from 1 to 64 (got nan)"),
    ("version: 1\nlayers: {c1: {act_bits: .inf}}\n",
     "layers.c1.act_bits: must be an integer from 1 to 64 (got inf)"),
])
def test_assignment_file_errors(tmp_path, text, expected):
    from accelsim.workload.assign import read_assignment

    with pytest.raises(ConfigError) as exc:
        read_assignment(_write(tmp_path, text, "as.yaml"))
    assert str(exc.value) == f"{tmp_path / 'as.yaml'}: {expected}"


def _direct(d, **levels):
    en = d["energy"]
    del en["mac_pj"], en["normalized_to_mac"]
    en["pj_per_access"] = {"dram": 200.0, "glb": 6.0, "noc": 2.0, "spad": 1.0, "mac": 1.0,
                           **levels}


def test_energy_in_pj_per_access_equals_the_normalized_form(eyeriss, eyeriss_dict):
    """The issue's two energy forms: pJ per action given directly is the same
    table as costs normalized to one MAC times mac_pj."""
    d = copy.deepcopy(eyeriss_dict)
    _direct(d)
    assert arch_from_dict(d, "a.yaml").energy == eyeriss.energy


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: (_direct(d), d["energy"]["pj_per_access"].pop("glb")),
     "energy.pj_per_access.glb: missing"),
    (lambda d: (_direct(d), d["energy"].update(mac_pj=1.0)),
     "energy: give either mac_pj with normalized_to_mac or pj_per_access, not both"),
    (lambda d: d["energy"].pop("mac_pj"), "energy.mac_pj: missing (or give energy.pj_per_access)"),
    (lambda d: d["energy"]["normalized_to_mac"].pop("noc"),
     "energy.normalized_to_mac.noc: missing (or give energy.pj_per_access)"),
    (lambda d: _direct(d, dram=-3), "energy.pj_per_access.dram: must be > 0 (got -3)"),
])
def test_energy_form_errors(tmp_path, eyeriss_dict, mutate, expected):
    assert expected in _errors(tmp_path, mutate, eyeriss_dict)


def test_an_arch_file_read_from_a_pipe_loads(tmp_path):
    """A pipe gives its bytes once (`accelsim check <(cat arch.yaml)`): telling
    a trace from an arch file must not consume them first."""
    import os
    import threading

    from accelsim.fileio import sniff

    fifo = tmp_path / "arch.fifo"
    os.mkfifo(fifo)
    text = (ROOT / "arch_configs" / "eyeriss_v2.yaml").read_text()

    def feed():
        with open(fifo, "w") as fh:
            fh.write(text)

    assert sniff(fifo) is None  # not opened: a regular file only
    writer = threading.Thread(target=feed)
    writer.start()
    arch = load_arch(fifo)
    writer.join()
    assert arch.name == "eyeriss_v2"
