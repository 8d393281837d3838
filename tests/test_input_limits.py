"""Hostile inputs found by fuzzing the CLI: each is one line on stderr naming the
file (or option) and the key, exit status 2, no traceback."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import yaml

from accelsim.cli import main
from conftest import EYERISS_YAML, conv_header, make_trace


@pytest.fixture(scope="module")
def trace_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("limits") / "t.npz"
    make_trace(path, [conv_header("conv1", 1, 2, 6, 6, 4, 3, 3)])
    return path


def _one_line_error(capsys, *parts):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err
    return err


@pytest.mark.parametrize("text, message", [
    ("version: 1\nlayers:\n  ? [a]\n  : {e: 1}\n",
     "line 3, column 5: invalid YAML: a mapping key must be a string or a number (got a list)"),
    ("version: 1\nname: " + "[" * 5000 + "]" * 5000 + "\n",
     "invalid YAML: nested deeper than accelsim reads"),
    ("version: 1\nname: a\x00b\n",
     "character 19: invalid YAML: unacceptable character #x0000: special characters are not "
     "allowed"),
    ("version: 1\nx: " + "a" * (1 << 20) + "\n", "cannot read: larger than the 1024 kB"),
])
def test_yaml_that_no_reader_takes(tmp_path, capsys, text, message):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode())
    assert main(["check", str(path)]) == 2
    _one_line_error(capsys, "bad.yaml", message)


@pytest.mark.parametrize("key, value, message", [
    ("banks", 10**15, "glb.banks: must be <= 2147483647 (got 1000000000000000)"),
    ("banks", 2**64, "glb.banks: must be <= 2147483647"),
    ("bank_size_bytes", 2**31 - 1, "glb: banks x bank_size_bytes must be at most "
                                    "1099511627776 (1 TiB; got 2147483647000)"),
])
def test_arch_integers_are_bounded(tmp_path, capsys, eyeriss_dict, key, value, message):
    d = copy.deepcopy(eyeriss_dict)
    d["glb"][key] = value
    if key == "bank_size_bytes":
        d["glb"]["banks"] = 1000
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 2
    _one_line_error(capsys, "huge.yaml", message)


def test_assign_entry_with_null_values(tmp_path, capsys, trace_path):
    path = tmp_path / "assign.yaml"
    path.write_text("version: 1\nlayers:\n  conv1: {weight_bits: null, operator: null}\n")
    assert main(["run", str(EYERISS_YAML), str(trace_path), "--assign", str(path)]) == 2
    _one_line_error(capsys, "assign.yaml", "layers.conv1.operator: must be one of",
                    "(got None)", "layers.conv1.weight_bits: must be an integer from 1 to 64")


@pytest.mark.parametrize("ends, message", [
    ("[1, .inf]", "axes.core_clock_mhz.range: the ends must be finite numbers (got [1, inf])"),
    ("[.nan, 4]", "axes.core_clock_mhz.range: the ends must be finite numbers"),
])
def test_sweep_log2_ranges_with_extreme_ends(tmp_path, capsys, trace_path, ends, message):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"version: 1\nbase: {EYERISS_YAML}\ntraces: {trace_path}\naxes:\n"
                    f"  core_clock_mhz: {{range: {ends}, scale: log2}}\n")
    assert main(["sweep", str(path), "-o", str(tmp_path / "out.csv"), "--jobs", "1"]) == 2
    _one_line_error(capsys, "sweep.yaml", message)
    assert not (tmp_path / "out.csv").exists()


def test_latin_hypercube_count_is_bounded(tmp_path, capsys, trace_path):
    path = tmp_path / "sweep.yaml"
    path.write_text(f"version: 1\nbase: {EYERISS_YAML}\ntraces: {trace_path}\naxes:\n"
                    f"  pe_array.rows: [12, 13]\nstrategy: latin_hypercube\n"
                    f"count: 1000000000000\n")
    assert main(["sweep", str(path), "-o", str(tmp_path / "out.csv"), "--jobs", "1"]) == 2
    _one_line_error(capsys, "sweep.yaml", "count: at most 10,000,000 (got 1000000000000)")


def test_route_file_that_never_ends(tmp_path, capsys, trace_path):
    assert main(["route", f"a={trace_path}", f"b={trace_path}", "--route-file", "/dev/zero",
                 "-o", str(tmp_path / "o.npz")]) == 2
    _one_line_error(capsys, "--route-file /dev/zero: cannot read (larger than the 1024 kB")
    assert not (tmp_path / "o.npz").exists()


def test_sporadic_window_is_bounded(capsys, trace_path):
    assert main(["run", str(EYERISS_YAML), str(trace_path), "--sporadic-window",
                 "999999999999"]) == 2
    _one_line_error(capsys, "--sporadic-window: must be odd, from 3 to 63 (got 999999999999)")


def test_an_output_that_is_an_input_is_refused(tmp_path, capsys, trace_path):
    arch = tmp_path / "arch.yaml"
    arch.write_text(EYERISS_YAML.read_text())
    before = arch.read_bytes()
    assert main(["run", str(arch), str(trace_path), "--out", str(arch)]) == 2
    _one_line_error(capsys, f"--out {arch}: is also an input of this command ({arch})")
    assert arch.read_bytes() == before
    out = tmp_path / "r.png"  # one file for the report and the figure: a figure's name
    assert main(["run", str(arch), str(trace_path), "--out", str(out), "--plot", str(out)]) == 2
    _one_line_error(capsys, f"--out {out}: a .png file is a figure, which this command does not "
                            "write")
    assert not out.exists()
    routed = tmp_path / "a.npz"
    routed.write_bytes(trace_path.read_bytes())
    assert main(["route", f"a={routed}", f"b={trace_path}", "--route", "a", "-o",
                 str(routed)]) == 2
    _one_line_error(capsys, f"-o {routed}: is also an input of this command")
    assert routed.read_bytes() == trace_path.read_bytes()


def test_synth_batch_beyond_memory_names_the_option(tmp_path, capsys):
    out = tmp_path / "big.npz"
    assert main(["synth", "lenet5", "--batch", str(10**11), "-o", str(out)]) == 2
    _one_line_error(capsys, "--batch: 100000000000 images of lenet5 take",
                    "GiB of feature maps, more than this machine's")
    assert not out.exists()


def test_sweep_with_an_invalid_base_fails_before_any_point_runs(tmp_path, capsys, trace_path,
                                                                  eyeriss_dict):
    d = copy.deepcopy(eyeriss_dict)
    d["core_clock_mhz"] = -5
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(d))
    path = tmp_path / "sweep.yaml"
    path.write_text(f"version: 1\nbase: base.yaml\ntraces: {trace_path}\naxes:\n"
                    f"  pe_array.rows: [12, 13]\n")
    out = tmp_path / "out.csv"
    assert main(["sweep", str(path), "-o", str(out), "--jobs", "1"]) == 2
    err = _one_line_error(capsys, f"{base}: core_clock_mhz: must be > 0 (got -5)")
    assert not out.exists() and not (tmp_path / "out.csv.d").exists()
    assert main(["check", str(base)]) == 2  # the same line accelsim check prints
    assert _one_line_error(capsys) == err


@pytest.mark.parametrize("arch, entry, message", [
    ("reconfigurable.yaml", "{operator: int, weight_bits: 6, act_bits: 8}",
     "layers.conv1: operator int with weight_bits 6, act_bits 8 is not supported by "
     "reconfigurable (the core supports int weight_bits [8, 4, 2]"),
    ("eyeriss_v1.yaml", "{act_bits: 32}",
     "layers.conv1: eyeriss_v1: formats.rlc.value_bits 16 cannot hold layer conv1's 32-bit "
     "activations; layers.conv1.act_bits: eyeriss_v1: noc.ifmap_bus_bits 16 cannot carry "
     "layer conv1's 32-bit activations"),
])
def test_assigned_width_the_arch_cannot_run_names_the_assign_file(tmp_path, capsys, trace_path,
                                                                   arch, entry, message):
    path = tmp_path / "assign.yaml"
    path.write_text(f"version: 1\nlayers:\n  conv1: {entry}\n")
    assert main(["run", str(EYERISS_YAML.parent / arch), str(trace_path), "--assign",
                 str(path)]) == 2
    err = _one_line_error(capsys, f"accelsim: error: {path}: ", message)
    assert str(trace_path) not in err  # the trace as declared is fine with this arch


@pytest.mark.parametrize("key, value, dtype, message", [
    ("t0.output", np.nan, np.float64, "layers(conv1).tensors.output: array 't0.output' must "
     "hold finite numbers (got nan at index [0, 1, 2, 3]; non-finite: 1 of 64 values)"),
    ("t0.input", -np.inf, np.float32, "layers(conv1).tensors.input: array 't0.input' must "
     "hold finite numbers (got -inf at index [0, 1, 2, 3]; non-finite: 1 of 72 values)"),
])
def test_trace_tensor_with_nan_or_inf_is_refused_at_load(tmp_path, capsys, trace_path, key,
                                                         value, dtype, message):
    with np.load(trace_path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    bad = arrays[key].astype(dtype)
    bad[0, 1, 2, 3] = value
    arrays[key] = bad
    path = tmp_path / "nonfinite.npz"
    np.savez(path, **arrays)
    assert main(["run", str(EYERISS_YAML), str(path)]) == 2
    _one_line_error(capsys, f"accelsim: error: {path}: {message}")


@pytest.mark.parametrize("key, value", [("weight_bits", 0), ("act_bits", -3),
                                        ("weight_bits", 65)])
def test_bad_width_in_a_trace_is_reported_once(tmp_path, capsys, trace_path, key, value):
    with np.load(trace_path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(str(arrays["__header__"][()]))
    header["layers"][0][key] = value
    arrays["__header__"] = np.array(json.dumps(header))
    path = tmp_path / "width.npz"
    np.savez(path, **arrays)
    assert main(["run", str(EYERISS_YAML), str(path)]) == 2
    err = _one_line_error(capsys)
    assert err == (f"accelsim: error: {path}: layers[0](conv1).{key}: must be between 1 and 64 "
                   f"(got {value})\n")


@pytest.mark.parametrize("name, message", [
    ("a,x", "must not contain ',' (it separates --route entries)"),
    (" a", "must not start or end with whitespace or hold a line break (route entries are "
           "stripped, one per line in --route-file)"),
])
def test_route_variant_a_route_cannot_name_is_refused(tmp_path, capsys, trace_path, name,
                                                      message):
    out = tmp_path / "r.npz"
    route = tmp_path / "route.txt"
    route.write_text(f"{name}\n")
    assert main(["route", f"{name}={trace_path}", f"b={trace_path}", "--route-file",
                 str(route), "-o", str(out)]) == 2
    _one_line_error(capsys, f"accelsim: error: variants: variant {name!r} of {trace_path}: "
                            f"{message}")
    assert not out.exists()


def test_routed_trace_with_a_variant_a_route_cannot_name_is_refused(tmp_path, capsys,
                                                                     trace_path):
    routed = tmp_path / "routed.npz"
    assert main(["route", f"a={trace_path}", f"b={trace_path}", "--route", "a", "-o",
                 str(routed)]) == 0
    capsys.readouterr()
    with np.load(routed) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(str(arrays["__header__"][()]))
    header["routing"] = {"variants": ["a,x", "b"], "route": ["a,x"]}
    for layer in header["layers"]:
        layer.update(name=layer["name"].replace("@a", "@a,x"), variant="a,x")
    arrays["__header__"] = np.array(json.dumps(header))
    path = tmp_path / "comma.npz"
    np.savez(path, **arrays)
    assert main(["run", str(EYERISS_YAML), str(path)]) == 2
    _one_line_error(capsys, f"accelsim: error: {path}: __header__.routing.variants: variant "
                            "'a,x': must not contain ',' (it separates --route entries)")


@pytest.mark.parametrize("section, key, value", [
    (None, "core_clock_mhz", 5e-324),
    (None, "core_clock_mhz", 1e300),
    ("dram", "link_clock_mhz", 5e-324),
    ("dram", "link_clock_mhz", 2e5),
])
def test_absurd_clocks_are_refused(tmp_path, capsys, eyeriss_dict, section, key, value):
    d = copy.deepcopy(eyeriss_dict)
    (d[section] if section else d)[key] = value
    path = tmp_path / "clock.yaml"
    path.write_text(yaml.safe_dump(d))
    assert main(["check", str(path)]) == 2
    where = f"{section}.{key}" if section else key
    _one_line_error(capsys, f"accelsim: error: {path}: {where}: must be from 0.001 to 100000 MHz "
                            f"(1 kHz to 100 GHz) (got {value!r})")


def test_sweep_clocks_out_of_range_are_refused_with_the_sweep_file(tmp_path, capsys,
                                                                   trace_path):
    """As any value no arch accepts: the sweep file is refused naming the key and
    the value, before any point runs (no overflow warning, no traceback, nothing
    written)."""
    import warnings

    path = tmp_path / "sweep.yaml"
    path.write_text(f"version: 1\nbase: {EYERISS_YAML}\ntraces: {trace_path}\naxes:\n"
                    f"  core_clock_mhz: [5.0e-324, 200.0]\n"
                    f"  dram.link_clock_mhz: [60.0, 1.0e+300]\n")
    out = tmp_path / "out.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["sweep", str(path), "-o", str(out), "--jobs", "1"]) == 2
    clock = "must be from 0.001 to 100000 MHz (1 kHz to 100 GHz)"
    assert capsys.readouterr().err == (
        f"accelsim: error: {path}: axes.core_clock_mhz: {clock} (got 5e-324); {path}: "
        f"axes.dram.link_clock_mhz: {clock} (got 1e+300)\n")
    assert not out.exists() and not (tmp_path / "out.csv.d").exists()