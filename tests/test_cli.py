"""The command line: outputs agree across formats; bad input exits 2 on one line."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from accelsim.cli import main
from accelsim.workload.trace import read_trace
from conftest import EYERISS_YAML, ROOT, conv_header, make_trace, run_cli, tiny_arch_dict

LENET_DIGITS = ROOT / "workloads" / "lenet5_digits.npz"


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "lenet.npz"
    assert main(["synth", "lenet5", "--batch", "2", "--ifmap-zeros", "0.5", "-o", str(path)]) == 0
    return path


def test_formats_carry_the_same_numbers(lenet, tmp_path, capsys):
    code, table, _ = run_cli(["run", str(EYERISS_YAML), str(lenet)], capsys)
    assert code == 0 and "conv1" in table and "total" in table
    assert run_cli(["run", str(EYERISS_YAML), str(lenet), "--format", "json", "--out",
                 str(tmp_path / "r.json")], capsys)[0] == 0
    code, csv_text, _ = run_cli(["run", str(EYERISS_YAML), str(lenet), "--format", "csv"], capsys)
    rep = json.loads((tmp_path / "r.json").read_text())
    df = pd.read_csv(io.StringIO(csv_text))
    assert rep["accelsim_version"] and rep["trace"]["network"] == "lenet5"
    assert len(rep["arch"]["sha256"]) == 64
    assert [x["name"] for x in rep["layers"]] == list(df["name"][:-1])
    for row, (_, csv_row) in zip(rep["layers"] + [rep["total"]], df.iterrows()):
        if row.get("simulated"):
            assert row["cycles"] == csv_row["cycles"]
            assert row["energy_pj"]["total"] == pytest.approx(csv_row["energy_pj_total"])
            assert set(row["energy_pj"]) == {"dram", "glb", "noc", "spad", "mac", "total"}
            for key in ("name", "kind", "macs", "cycles", "processing_cycles", "latency_s",
                        "active_pes", "utilization", "dram_bytes", "glb_bytes"):
                assert key in row
    total = rep["total"]
    assert total["macs"] == sum(x["macs"] for x in rep["layers"] if x["simulated"])
    assert total["energy_pj"]["total"] == pytest.approx(
        sum(x["energy_pj"]["total"] for x in rep["layers"] if x["simulated"]))


def test_out_suffix_chooses_the_format(lenet, tmp_path, capsys):
    """Without --format, --out r.json is JSON (which plot reads), r.csv is CSV and
    any other suffix the table; stdout keeps the table."""
    for name in ("r.json", "r.csv", "r.txt"):
        code, out, err = run_cli(["run", str(EYERISS_YAML), str(lenet), "--out",
                                  str(tmp_path / name)], capsys)
        assert (code, out, err) == (0, f"wrote {tmp_path / name}\n", "")
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["trace"]["network"] == "lenet5"
    df = pd.read_csv(tmp_path / "r.csv")
    assert list(df["name"][:-1]) == [x["name"] for x in rep["layers"]]
    assert (tmp_path / "r.txt").read_text() == run_cli(["run", str(EYERISS_YAML), str(lenet)],
                                                       capsys)[1]
    # a --format that agrees with the suffix, or one given for another suffix, is kept
    assert run_cli(["run", str(EYERISS_YAML), str(lenet), "--format", "json", "--out",
                    str(tmp_path / "r.out")], capsys)[0] == 0
    assert json.loads((tmp_path / "r.out").read_text())["total"] == rep["total"]
    code, out, err = run_cli(["plot", str(tmp_path / "r.json"), "-o", str(tmp_path / "e.svg")],
                             capsys)
    assert (code, err) == (0, "")


def test_synth_meets_zero_fractions_exactly(tmp_path):
    path = tmp_path / "a.npz"
    assert main(["synth", "lenet5", "--ifmap-zeros", "0.25,conv2=0.75", "--weight-zeros",
                 "0.5", "--seed", "3", "-o", str(path)]) == 0
    tr = read_trace(path)
    conv1, conv2 = tr.mac_layers[:2]
    for layer, frac in ((conv1, 0.25), (conv2, 0.75)):
        x = tr.tensor(layer, "input")
        assert np.count_nonzero(x == 0) == round(frac * x.size)
        assert (x >= 0).all()
        w = tr.tensor(layer, "weight")
        assert np.count_nonzero(w == 0) == round(0.5 * w.size)
    again = tmp_path / "b.npz"
    main(["synth", "lenet5", "--ifmap-zeros", "0.25,conv2=0.75", "--weight-zeros", "0.5",
          "--seed", "3", "-o", str(again)])
    b = read_trace(again)
    assert all(np.array_equal(tr.arrays[k], b.arrays[k]) for k in tr.arrays)


@pytest.mark.parametrize("argv, expected", [
    (["run", "nope.yaml", "x.npz"], "accelsim: error: nope.yaml: file not found"),
    (["run", str(EYERISS_YAML), "x.npz"], "accelsim: error: x.npz: file not found"),
    (["synth", "nonet", "-o", "x.npz"], "accelsim: error: synth: unknown network 'nonet'"),
    (["synth", "lenet5", "--ifmap-zeros", "conv9=0.1", "-o", "x.npz"],
     "accelsim: error: --ifmap-zeros: no MAC layer named 'conv9'"),
    (["synth", "lenet5", "--ifmap-zeros", "1.5", "-o", "x.npz"],
     "accelsim: error: --ifmap-zeros: fraction must be in [0, 1] (got '1.5')"),
    (["synth", "lenet5", "--batch", "0", "-o", "x.npz"],
     "accelsim: error: --batch: must be >= 1 (got 0)"),
    (["synth", "lenet5", "--act-bits", "1", "-o", "x.npz"],
     "accelsim: error: --act-bits: must be between 2 and 32 (got 1)"),
    (["run", str(EYERISS_YAML)], "accelsim run: error: the following arguments are required"),
    (["run", str(EYERISS_YAML), "x.npz", "--format", "xml"], "argument --format: invalid choice"),
    (["bogus"], "invalid choice: 'bogus'"),
    # a trace where the arch goes, or the other way round, is named as such
    (["run", str(LENET_DIGITS), str(EYERISS_YAML)],
     f"accelsim: error: {LENET_DIGITS}: looks like a trace (.npz), not an architecture YAML, "
     f"and {EYERISS_YAML} like an architecture: the two are swapped; the architecture comes "
     "first: accelsim run ARCH TRACE"),
    (["opcost", str(LENET_DIGITS), str(EYERISS_YAML)],
     "the two are swapped; the architecture comes first: accelsim opcost ARCH TRACE"),
    (["run", str(LENET_DIGITS), str(LENET_DIGITS)],
     f"accelsim: error: {LENET_DIGITS}: looks like a trace (.npz), not an architecture YAML; "
     "the architecture comes first: accelsim run ARCH TRACE"),
    (["run", str(EYERISS_YAML), str(EYERISS_YAML)],
     f"accelsim: error: {EYERISS_YAML}: looks like a text file (an architecture YAML?), not a "
     "trace (.npz); the trace comes second: accelsim run ARCH TRACE"),
    (["check", str(LENET_DIGITS)],
     f"accelsim: error: {LENET_DIGITS}: not a YAML file: it is a zip archive, as a trace (.npz) "
     "is"),
    (["run", str(EYERISS_YAML), str(LENET_DIGITS), "--mapping", str(LENET_DIGITS)],
     f"accelsim: error: {LENET_DIGITS}: not a YAML file: it is a zip archive, as a trace (.npz) "
     "is"),
])
def test_bad_input_exits_2_on_one_line(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse usage errors leave through SystemExit
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_loaders_name_a_file_of_the_other_kind(tmp_path):
    """Given a text file, the trace reader says so; given bytes that are not
    UTF-8 (nor a trace), the YAML reader names the first bad byte."""
    from accelsim.errors import ConfigError, TraceError
    from accelsim.spec.yamlio import read_yaml

    with pytest.raises(TraceError) as exc:
        read_trace(EYERISS_YAML)
    assert str(exc.value) == (f"{EYERISS_YAML}: not a readable .npz trace: it is a text file (a "
                              "YAML architecture?), not a zip archive as every .npz is")
    (tmp_path / "b.yaml").write_bytes(b"version: 1\n\xd4\xd5")
    with pytest.raises(ConfigError) as exc:
        read_yaml(tmp_path / "b.yaml")
    assert str(exc.value) == (f"{tmp_path / 'b.yaml'}: cannot read: not UTF-8 text (byte 0xd4 "
                              "at offset 11)")


def test_bad_arch_through_the_real_entry_point(tmp_path, lenet):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EYERISS_YAML.read_text().replace("rows: 12", "rows: -12"))
    proc = subprocess.run([sys.executable, "-m", "accelsim.cli", "run", str(bad), str(lenet),
                           "--out", str(tmp_path / "r.json")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == f"accelsim: error: {bad}: pe_array.rows: must be >= 1 (got -12)\n"
    assert not (tmp_path / "r.json").exists()


def test_synth_bit_widths(tmp_path):
    path = tmp_path / "l8.npz"
    assert main(["synth", "lenet5", "--weight-bits", "8", "--act-bits", "4", "-o", str(path)]) == 0
    tr = read_trace(path)
    for layer in tr.mac_layers:
        assert (layer.weight_bits, layer.act_bits) == (8, 4)
        assert tr.tensor(layer, "input").dtype == np.int8
        assert np.abs(tr.tensor(layer, "input")).max() <= 7


def test_check_and_version(capsys):
    code, out, _ = run_cli(["check", str(EYERISS_YAML)], capsys)
    assert code == 0 and "12 x 14 = 168 PEs" in out and "33.6 GMAC/s" in out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("accelsim ")


def test_check_gives_a_bit_serial_cores_rate_not_its_lanes(tmp_path, capsys):
    """8 serial lanes at 8 serial bits run 1 MAC a cycle (what run's cycles
    and peak_macs use), and 4 at 2-bit activations; not 8."""
    import yaml

    arch = yaml.safe_load((ROOT / "arch_configs" / "reconfigurable.yaml").read_text())
    arch["mac"] = {"kind": "bit_serial", "bits": 8, "macs_per_pe_per_cycle": 8,
                   "serial_operand": "act",
                   "operators": {"int": {"weight_bits": [8], "act_bits": [8, 4, 2]}}}
    path = tmp_path / "bitserial.yaml"
    path.write_text(yaml.safe_dump(arch))
    code, out, _ = run_cli(["check", str(path)], capsys)
    assert code == 0
    assert "bit_serial 8-bit, 1/PE/cycle at full width (up to 4 at int w8 a2)" in out
    assert "33.6 GMAC/s at full width, 134.4 at int w8 a2" in out


def _exit_code(argv) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse usage errors leave through SystemExit
        return exc.code


@pytest.mark.parametrize("argv, expected", [
    (["synth", "lenet5", "--seed", "-1", "-o", "x.npz"],
     "accelsim: error: --seed: must be >= 0 (got -1)"),
    (["synth", "lenet5", "--ifmap-zeros", "conv1=0.3,conv1=0.5", "-o", "x.npz"],
     "accelsim: error: --ifmap-zeros: layer 'conv1' is given twice (got 'conv1=0.3,conv1=0.5')"),
    (["synth", "lenet5", "--weight-zeros", "fc1=0.3,0.1,fc1=0.5", "-o", "x.npz"],
     "accelsim: error: --weight-zeros: layer 'fc1' is given twice"),
    (["synth", "lenet5", "--weight-zeros", "0.3,0.5", "-o", "x.npz"],
     "accelsim: error: --weight-zeros: the fraction of every layer is given twice (got "
     "'0.3,0.5')"),
    (["synth", "lenet5", "--ifmap-zeros", "conv1:0.3", "-o", "x.npz"],
     "accelsim: error: --ifmap-zeros: 'conv1:0.3' is not a fraction or name=fraction"),
    (["synth", "lenet5", "--ifmap-zeros", "nan", "-o", "x.npz"],
     "accelsim: error: --ifmap-zeros: fraction must be in [0, 1] (got 'nan')"),
    # a value that starts like a negative number reaches the option's own check
    (["import-onnx", "m.onnx", "--input-shape", "-1,3,8,8", "-o", "x.npz"],
     "accelsim: error: --input-shape: expected comma-separated positive integers like "
     "1,3,32,32 (got '-1,3,8,8')"),
    (["import-onnx", "m.onnx", "--input-shape", "1,3,8,8", "--seed", "-2", "-o", "x.npz"],
     "accelsim: error: --seed: must be >= 0 (got -2)"),
])
def test_bad_arguments_exit_2_on_one_line(tmp_path, monkeypatch, capsys, argv, expected):
    monkeypatch.chdir(tmp_path)
    code = _exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(expected)
    assert err.count("\n") == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture()
def out_dir(tmp_path, monkeypatch):
    """A working folder with a file ``afile`` (a parent that is not a folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    return tmp_path


# The inputs named here do not exist: the output path is checked first, so a
# typo in it costs nothing.
@pytest.mark.parametrize("argv, expected", [
    (["run", "a.yaml", "t.npz", "--out", "adir"],
     "--out adir: is a directory (name a file to write)"),
    (["run", "a.yaml", "t.npz", "--out", "afile/r.json"],
     "--out afile/r.json: parent afile is not a directory"),
    (["run", "a.yaml", "t.npz", "--out", "nodir/r.json"],
     "--out nodir/r.json: parent directory nodir does not exist"),
    (["run", "a.yaml", "t.npz", "--plot", "afile/e.png"],
     "--plot afile/e.png: parent afile is not a directory"),
    (["run", "a.yaml", "t.npz", "--out", "/dev/null"],
     "--out /dev/null: is not a regular file (accelsim replaces its outputs by renaming)"),
    (["synth", "lenet5", "-o", "nodir/sub/t.npz"],
     "-o nodir/sub/t.npz: parent directory nodir/sub does not exist"),
    (["plot", "r.json", "-o", "afile/e.png"], "-o afile/e.png: parent afile is not a directory"),
    (["pareto", "t.csv", "-o", "afile/f.csv"], "-o afile/f.csv: parent afile is not a directory"),
    (["sweep", "s.yaml", "-o", "afile/x.parquet"],
     "-o afile/x.parquet: parent afile is not a directory"),
    (["sweep", "s.yaml", "-o", "nodir/x.parquet"],
     "-o nodir/x.parquet: parent directory nodir does not exist"),
    (["export", "m.py:f", "--input-shape", "1,3,8,8", "-o", "afile/e.npz"],
     "-o afile/e.npz: parent afile is not a directory"),
    (["import-onnx", "m.onnx", "--input-shape", "1,3,8,8", "-o", "adir"],
     "-o adir: is a directory (name a file to write)"),
    (["opcost", "a.yaml", "t.npz", "--out", "afile/o.csv"],
     "--out afile/o.csv: parent afile is not a directory"),
    # every command that writes a trace wants it named .npz
    (["synth", "lenet5", "-o", "y.txt"], "-o y.txt: a trace file must end in .npz (got '.txt')"),
    (["synth", "lenet5", "-o", "y"], "-o y: a trace file must end in .npz (got no suffix)"),
    (["route", "a=t.npz", "b=t.npz", "--route", "a", "-o", "y.txt"],
     "-o y.txt: a trace file must end in .npz (got '.txt')"),
    (["decompose", "t.npz", "--layers", "c", "--rank", "1", "--nonzeros", "1", "-o", "y.txt"],
     "-o y.txt: a trace file must end in .npz (got '.txt')"),
    (["export", "m.py:f", "--input-shape", "1,3,8,8", "-o", "y.txt"],
     "-o y.txt: a trace file must end in .npz (got '.txt')"),
    (["import-onnx", "m.onnx", "--input-shape", "1,3,8,8", "-o", "y.npz.txt"],
     "-o y.npz.txt: a trace file must end in .npz (got '.txt')"),
    # the report format follows a .json or .csv --out; a --format against it is refused
    (["run", "a.yaml", "t.npz", "--format", "csv", "--out", "r.json"],
     "--format csv contradicts --out r.json (a .json file holds json); drop --format or change "
     "the suffix"),
    (["run", "a.yaml", "t.npz", "--format", "table", "--out", "r.CSV"],
     "--format table contradicts --out r.CSV (a .CSV file holds csv); drop --format or change "
     "the suffix"),
    (["opcost", "a.yaml", "t.npz", "--format", "json", "--out", "o.csv"],
     "--format json contradicts --out o.csv (a .csv file holds csv); drop --format or change "
     "the suffix"),
    (["run", "a.yaml", "t.npz", "--out", "r.parquet"],
     "--out r.parquet: a .parquet file is a Parquet table, which this command does not write "
     "(name it .json, .csv or .txt)"),
    (["run", "a.yaml", "t.npz", "--format", "json", "--out", "r.png"],
     "--out r.png: a .png file is a figure, which this command does not write (name it .json, "
     ".csv or .txt; draw a figure with --plot FIG)"),
    (["opcost", "a.yaml", "t.npz", "--out", "o.pdf"],
     "--out o.pdf: a .pdf file is a figure, which this command does not write (name it .json, "
     ".csv or .txt)"),
    # an empty path is an error, not a request for stdout
    (["run", "a.yaml", "t.npz", "--out", ""], "--out: must name a file (got an empty path)"),
    (["run", "a.yaml", "t.npz", "--plot", ""], "--plot: must name a file (got an empty path)"),
    (["opcost", "a.yaml", "t.npz", "--out", ""], "--out: must name a file (got an empty path)"),
    (["synth", "lenet5", "-o", ""], "-o: must name a file (got an empty path)"),
    (["pareto", "t.csv", "--x", "a", "--y", "b", "-o", ""], "-o: must name a file (got an empty path)"),
])
def test_bad_output_paths_fail_before_any_work(out_dir, capsys, argv, expected):
    before = sorted(p.name for p in out_dir.rglob("*"))
    code = _exit_code(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err == f"accelsim: error: {expected}\n"
    assert sorted(p.name for p in out_dir.rglob("*")) == before  # no folder made, no file


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux's /proc")
def test_output_on_a_virtual_file_system(tmp_path, capsys):
    assert main(["synth", "lenet5", "-o", "/proc/x.npz"]) == 2
    assert capsys.readouterr().err == ("accelsim: error: -o /proc/x.npz: cannot create a file "
                                       "in /proc (No such file or directory)\n")


def test_write_errors_become_one_line(tmp_path):
    """atomic_open itself: no folder is made, and an OSError is an AccelsimError."""
    from accelsim.errors import AccelsimError
    from accelsim.fileio import atomic_open, atomic_write_text

    with pytest.raises(AccelsimError, match=r"nodir/r.json: cannot write \(No such file or "
                                            r"directory\)"):
        atomic_write_text(tmp_path / "nodir" / "r.json", "x")
    assert not (tmp_path / "nodir").exists()
    with pytest.raises(AccelsimError, match=r"r.json: cannot write \(No space left on device\)"):
        with atomic_open(tmp_path / "r.json"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too
    atomic_write_text(tmp_path / "a" / "b.json", "x", make_parents=True)  # a store's own folder
    assert (tmp_path / "a" / "b.json").read_text() == "x"


def test_out_of_memory_is_one_line(monkeypatch, capsys):
    import accelsim.commands.synth as synth_cmd

    def huge(args):
        raise MemoryError("Unable to allocate 10.9 TiB for an array with shape "
                          "(1, 3, 1000000, 1000000) and data type float32")

    monkeypatch.setattr(synth_cmd, "main", huge)
    assert main(["synth", "lenet5", "-o", "x.npz"]) == 2
    assert capsys.readouterr().err == (
        "accelsim: error: out of memory (Unable to allocate 10.9 TiB for an array with shape "
        "(1, 3, 1000000, 1000000) and data type float32); use a smaller input, batch or model\n")


def test_closed_stdout_pipe_ends_quietly(lenet):
    """`accelsim run ... | head -1`: no BrokenPipeError traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "accelsim.cli", "run", str(EYERISS_YAML),
                             str(lenet), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader leaves before the report is written
    err = proc.stderr.read().decode()
    assert proc.wait() == 141  # as a shell reports a process ended by SIGPIPE
    assert err == ""


def test_csv_counts_print_as_integers(lenet, capsys):
    code, csv_text, _ = run_cli(["run", str(EYERISS_YAML), str(lenet), "--format", "csv"], capsys)
    assert code == 0
    df = pd.read_csv(io.StringIO(csv_text), dtype=str, keep_default_na=False)
    for col in ("macs", "macs_padded", "cycles", "dram_bytes", "weight_bits", "map_m",
                "mapping_candidates", "io_bytes"):
        assert all(v == "" or v.isdigit() for v in df[col]), (col, list(df[col]))
    assert df.loc[df["name"] == "total", "cycles"].item().isdigit()
    assert "." in df.loc[0, "latency_s"] or "e" in df.loc[0, "latency_s"]  # floats stay floats
    rep_total = json.loads(run_cli(["run", str(EYERISS_YAML), str(lenet), "--format", "json"],
                                capsys)[1])["total"]
    assert int(df.loc[df["name"] == "total", "cycles"].item()) == rep_total["cycles"]


@pytest.mark.parametrize("header, arch_kw, reason", [
    # a 5-tap filter row needs 5 filter-spad values, however large the GLB
    (conv_header("c", 1, 2, 8, 8, 4, 5, 5), dict(rows=6, filt=4, banks=400),
     "a filter row of 5 taps exceeds the filter scratchpad's 4 16-bit values"),
    (conv_header("c", 1, 2, 8, 8, 4, 3, 3), dict(ifmap=2),
     "filter width 3 exceeds the ifmap scratchpad's 2 16-bit values"),
    (conv_header("c", 1, 1, 1, 64, 4, 1, 1), dict(banks=2, bank=16),
     "the ifmap tile of one pass leaves none of the 2 GLB banks for psums"),
    (conv_header("c", 1, 1, 1, 16, 4, 1, 1), dict(banks=2, bank=32),
     "the psums of one pass do not fit the GLB banks the ifmap tile leaves"),
])
def test_no_mapping_names_its_own_cause(tmp_path, capsys, eyeriss_dict, header, arch_kw,
                                        reason):
    arch = tmp_path / "a.yaml"
    arch.write_text(yaml.safe_dump(tiny_arch_dict(eyeriss_dict, **arch_kw)))
    make_trace(tmp_path / "t.npz", [header])
    code, out, _ = run_cli(["run", str(arch), str(tmp_path / "t.npz")], capsys)
    assert code == 0
    assert out.endswith(f"not in the total: c ({reason})\n")
