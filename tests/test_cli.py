"""The command line: outputs agree across formats; bad input exits 2 on one line."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from accelsim.cli import main
from accelsim.workload.trace import read_trace
from conftest import EYERISS_YAML


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "lenet.npz"
    assert main(["synth", "lenet5", "--batch", "2", "--ifmap-zeros", "0.5", "-o", str(path)]) == 0
    return path


def test_formats_carry_the_same_numbers(lenet, tmp_path, capsys):
    code, table, _ = _run(["run", str(EYERISS_YAML), str(lenet)], capsys)
    assert code == 0 and "conv1" in table and "total" in table
    assert _run(["run", str(EYERISS_YAML), str(lenet), "--format", "json", "--out",
                 str(tmp_path / "r.json")], capsys)[0] == 0
    code, csv_text, _ = _run(["run", str(EYERISS_YAML), str(lenet), "--format", "csv"], capsys)
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
    code, out, _ = _run(["check", str(EYERISS_YAML)], capsys)
    assert code == 0 and "12 x 14 = 168 PEs" in out and "33.6 GMAC/s" in out
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("accelsim ")
