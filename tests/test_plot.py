"""Tests of the figures (accelsim.plot) and the ``accelsim plot`` command.

Each figure is drawn from a real report (a tiny trace run on the Eyeriss
fixture) or a hand-made table, and the data behind it (bar heights, point
coordinates) is read back from the Figure's artists and checked against the
report.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.container import BarContainer

import accelsim
from accelsim.cli import main as cli_main
from accelsim.errors import AccelsimError
from accelsim.plot import (KINDS, load_report, load_sweep, plot_breakdown, plot_compare,
                           plot_latency, plot_pareto, plot_sparsity, save_figure)
from accelsim.plot.pareto import ScaledFormatter, metric_axis
from accelsim.plot.style import (CYCLE_STYLES, HORIZONTAL_ABOVE, LEVEL_COLORS, TENSOR_COLORS,
                                 eng_label, figure_note)

from conftest import EYERISS_YAML, ROOT, conv_header, make_trace

LEVELS = ("dram", "glb", "noc", "spad", "mac")
TINY_LAYERS = [
    conv_header("conv1", 1, 3, 12, 12, 4, 3, 3, pad=1),
    {"name": "pool1", "kind": "maxpool", "input_shape": [1, 4, 12, 12],
     "output_shape": [1, 4, 6, 6]},
    conv_header("conv2", 1, 4, 6, 6, 8, 3, 3, pad=1),
    {"name": "fc", "kind": "linear", "input_shape": [1, 288], "out_features": 10,
     "weight_bits": 16, "act_bits": 16, "operator": "int"},
]
SIMULATED = ["conv1", "conv2", "fc"]


def _write_reports(result, folder: Path, stem: str) -> dict:
    """The run's report as JSON, CSV and Parquet files (and the dict)."""
    report = accelsim.report_dict(result)
    paths = {"json": folder / f"{stem}.json", "csv": folder / f"{stem}.csv",
             "parquet": folder / f"{stem}.parquet"}
    accelsim.write_report(result, "json", str(paths["json"]))
    accelsim.write_report(result, "csv", str(paths["csv"]))
    frame = accelsim.report_frame(result)
    frame.attrs.update(arch=result.arch.name, network=result.trace.network)
    frame.to_parquet(paths["parquet"])
    return {"dict": report, **paths}


@pytest.fixture(scope="session")
def reports(tmp_path_factory, eyeriss):
    """A sparse run (half the ifmap zero) and a dense run of the same tiny network."""
    folder = tmp_path_factory.mktemp("reports")
    sparse = make_trace(folder / "sparse.npz", TINY_LAYERS, ifmap_zeros=0.5)
    dense = make_trace(folder / "dense.npz", TINY_LAYERS)
    return {"sparse": _write_reports(accelsim.run(eyeriss, sparse), folder, "sparse"),
            "dense": _write_reports(accelsim.run(eyeriss, dense), folder, "dense"),
            "trace": folder / "sparse.npz"}


@pytest.fixture(scope="session")
def sparse(reports):
    return reports["sparse"]


UNMAPPED_REASON = "filter width 3 exceeds the ifmap scratchpad's 2 16-bit values"


@pytest.fixture(scope="session")
def unmapped(tmp_path_factory, eyeriss_dict, reports):
    """The sparse trace on an ifmap spad of 2 values: conv1 and conv2 map nowhere, fc runs."""
    import copy

    from accelsim.spec.load import arch_from_dict

    d = copy.deepcopy(eyeriss_dict)
    d["scratchpads"]["ifmap"]["entries"] = 2
    arch = arch_from_dict(d, "<small spad>")
    folder = tmp_path_factory.mktemp("unmapped")
    result = accelsim.run(arch, accelsim.read_trace(reports["trace"]))
    return _write_reports(result, folder, "unmapped")


def _rows(report: dict) -> dict:
    """The JSON report's simulated rows and total, by name."""
    rows = {r["name"]: r for r in report["layers"] if r["simulated"]}
    rows["total"] = report["total"]
    return rows


def _containers(ax) -> dict:
    return {c.get_label(): c for c in ax.containers if isinstance(c, BarContainer)}


def _heights(container) -> np.ndarray:
    return np.array([p.get_height() for p in container.patches])


def _widths(container) -> np.ndarray:
    return np.array([p.get_width() for p in container.patches])


def _tick_labels(axis) -> list[str]:
    return [t.get_text() for t in axis.get_ticklabels()]


def _many_layer_frame(n: int) -> pd.DataFrame:
    """A report frame of ``n`` made-up layers and their total."""
    rng = np.random.default_rng(3)
    rows = []
    for i in range(n):
        energy = {f"energy_pj_{lv}": float(rng.integers(1, 10**6)) for lv in LEVELS}
        energy["energy_pj_total"] = sum(energy.values())
        rows.append({"name": f"stage{i // 10}.block{i % 10}.conv", "kind": "conv2d",
                     "simulated": True, "macs": 1000 + i, **energy})
    total = {k: sum(r[k] for r in rows) for k in rows[0] if k.startswith(("energy", "macs"))}
    df = pd.DataFrame(rows + [{"name": "total", "kind": "total", "simulated": True, **total}])
    df.attrs.update(arch="made_up", network=f"net{n}")
    return df


# ---------------------------------------------------------------------------- loading

def test_one_loader_reads_json_csv_parquet_and_dict_alike(sparse):
    frames = {k: load_report(sparse[k]) for k in ("json", "csv", "parquet", "dict")}
    rows = _rows(sparse["dict"])
    for kind, df in frames.items():
        assert df["name"].tolist() == ["conv1", "pool1", "conv2", "fc", "total"], kind
        assert df["simulated"].tolist() == [True, False, True, True, True], kind
        sim = df.set_index("name")
        for name in SIMULATED + ["total"]:
            for lv in LEVELS:  # JSON objects become the CSV's flat columns
                assert sim.loc[name, f"energy_pj_{lv}"] == pytest.approx(
                    rows[name]["energy_pj"][lv]), (kind, name, lv)
            assert sim.loc[name, "energy_pj_by_psum"] == pytest.approx(
                rows[name]["energy_pj_by_tensor"]["psum"])
        assert sim.loc["conv1", "map_e"] == rows["conv1"]["mapping"]["e"]
    for kind in ("json", "parquet", "dict"):
        assert frames[kind].attrs["arch"] == "eyeriss_v1"
        assert frames[kind].attrs["network"] == "test"
    assert frames["json"].attrs["label"] == "eyeriss_v1 · sparse.json"
    assert frames["csv"].attrs["arch"] is None      # a CSV report has no provenance
    assert frames["csv"].attrs["label"] == "sparse.csv"


@pytest.mark.parametrize("content, suffix, message", [
    (None, ".json", r"missing\.json: no such file"),
    ("x", ".txt", r"unknown report format '\.txt'"),
    ("{not json", ".json", r"bad\.json: not valid JSON"),
    ('{"arch": {}}', ".json", r"bad\.json: not an accelsim report \(no 'layers' list\)"),
    ("[1, 2]", ".json", r"bad\.json: not an accelsim report \(top level is not an object\)"),
    ("a,b\n1,2\n", ".csv", r"bad\.csv: not an accelsim report \(no 'name' column\)"),
    ("not parquet", ".parquet", r"bad\.parquet: not a readable report table"),
    ('{"layers": [1]}', ".json", r"bad\.json: a report row is not an object \(got int\)"),
])
def test_unreadable_reports_are_named(tmp_path, content, suffix, message):
    path = tmp_path / (("missing" if content is None else "bad") + suffix)
    if content is not None:
        path.write_text(content)
    with pytest.raises(AccelsimError, match=message):
        load_report(path)


def test_parquet_without_pyarrow_says_so(sparse, monkeypatch):
    def no_pyarrow(*args, **kwargs):
        raise ImportError("No module named 'pyarrow'")

    monkeypatch.setattr(pd, "read_parquet", no_pyarrow)
    with pytest.raises(AccelsimError, match=r"sparse\.parquet: reading Parquet needs pyarrow"):
        load_report(sparse["parquet"])


def test_a_run_result_is_plotted_through_its_report(eyeriss, reports):
    result = accelsim.run(eyeriss, accelsim.read_trace(reports["trace"]))
    df = load_report(result)
    assert df.attrs["source"] == "<RunResult>" and df.attrs["arch"] == "eyeriss_v1"
    expected = load_report(reports["sparse"]["json"])
    pd.testing.assert_series_equal(df["energy_pj_total"], expected["energy_pj_total"])
    bars = _containers(plot_breakdown(result).axes[0])
    rows = _rows(reports["sparse"]["dict"])
    assert _heights(bars["DRAM"]) == pytest.approx(
        [rows[n]["energy_pj"]["dram"] / 1e6 for n in SIMULATED])
    with pytest.raises(AccelsimError, match=r"a report must be a file path, a report dict, a "
                                            r"report DataFrame or an accelsim.RunResult "
                                            r"\(got int\)"):
        plot_latency(3)
    with pytest.raises(AccelsimError, match=r"a sweep table must be a file path or a "
                                            r"DataFrame \(got RunResult\)"):
        plot_pareto(result)


def _set(path: str, value):
    """A change to a JSON report: set (or, with value ``...``, delete) the key at ``path``."""
    def change(report):
        keys = [int(k) if k.isdigit() else k for k in path.replace("[", ".").replace("]", "")
                .split(".")]
        *parents, last = keys
        node = report
        for k in parents:
            node = node[k]
        if value is ...:
            del node[last]
        else:
            node[last] = value
    return change


def _every_energy(value):
    def change(report):
        for row in [*report["layers"], report["total"]]:
            for level in row.get("energy_pj", {}):
                row["energy_pj"][level] = value
    return change


@pytest.mark.parametrize("change, message", [
    (_set("layers[0].name", ...), r"layers\[0\]\.name: missing"),
    (_set("layers[2].name", 5), r"layers\[2\]\.name: must be a string \(got 5\)"),
    (_set("layers[0].ifmap_density", "hi"),
     r"layers\[0\]\.ifmap_density \(conv1\): must be a number, not a string \(got 'hi'\)"),
    (_set("layers[2].compute_cycles", "abc"),
     r"layers\[2\]\.compute_cycles \(conv2\): must be a number, not a string \(got 'abc'\)"),
    (_set("layers[2].compute_cycles", ...), r"layers\[2\]\.compute_cycles \(conv2\): missing$"),
    (_set("layers[3].macs", float("nan")),
     r"layers\[3\]\.macs \(fc\): must be a finite number \(got nan\)"),
    (_set("total.latency_s", None), r"total\.latency_s: missing \(null\)$"),
    (_set("layers[0].name", None), r"layers\[0\]\.name: missing \(null\)"),
    (_set("layers[0].utilization", True),
     r"layers\[0\]\.utilization \(conv1\): must be a number \(got True\)"),
    (_set("layers[0].simulated", "yes"),
     r"layers\[0\]\.simulated \(conv1\): must be true or false \(got 'yes'\)"),
    (_every_energy(float("inf")),
     r"layers\[0\]\.energy_pj\.dram \(conv1\): must be a finite number \(got inf\); .* more$"),
])
def test_a_json_report_with_bad_values_names_the_row_and_field(sparse, tmp_path, change,
                                                               message):
    import copy

    report = copy.deepcopy(sparse["dict"])
    change(report)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report))
    with pytest.raises(AccelsimError, match=r"bad\.json: " + message):
        load_report(path)
    with pytest.raises(AccelsimError, match=r"<dict>: " + message):
        load_report(report)


def test_undefined_measures_may_be_null_but_not_text(sparse):
    import copy

    report = copy.deepcopy(sparse["dict"])
    report["layers"][0]["ifmap_sporadic_degree"] = None  # undefined, as a linear layer's
    assert np.isnan(load_report(report).loc[0, "ifmap_sporadic_degree"])
    report["layers"][0]["ifmap_sporadic_degree"] = "n/a"
    with pytest.raises(AccelsimError, match=r"layers\[0\]\.ifmap_sporadic_degree \(conv1\): "
                                            r"must be a number, not a string"):
        load_report(report)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_report_with_bad_values_names_the_row_and_column(sparse, tmp_path, suffix):
    df = pd.read_csv(sparse["csv"])
    df["compute_cycles"] = df["compute_cycles"].astype(object)
    df.loc[0, "compute_cycles"] = "abc"
    df.loc[2, "energy_pj_dram"] = np.nan
    df.loc[1, "name"] = np.nan
    path = tmp_path / f"bad{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.astype(
        {"compute_cycles": str}).to_parquet(path)
    with pytest.raises(AccelsimError, match=rf"bad\{suffix}: row 1, compute_cycles \(conv1\): "
                                            r"must be a number \(got 'abc'\); row 2, name: "
                                            r"missing; row 3, energy_pj_dram \(conv2\): missing$"):
        load_report(path)


def test_a_table_report_may_hold_numbers_as_text(sparse):
    df = pd.read_csv(sparse["csv"])
    df["compute_cycles"] = df["compute_cycles"].map(lambda v: "" if pd.isna(v) else str(v))
    assert load_report(df)["compute_cycles"].iloc[0] == str(df["compute_cycles"].iloc[0])


def test_a_report_nested_too_deeply_is_an_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(AccelsimError, match=r"deep\.json: not an accelsim report \(arrays or "
                                            r"objects nested too deeply to read\)"):
        load_report(path)


@pytest.mark.parametrize("kind", ["breakdown", "latency", "sparsity", "compare"])
def test_cli_plot_of_a_bad_report_is_one_line_and_writes_nothing(sparse, tmp_path, capsys,
                                                                 kind):
    import copy

    report = copy.deepcopy(sparse["dict"])
    report["layers"][0]["ifmap_density"] = "hi"
    report["layers"][2]["energy_pj"]["mac"] = float("inf")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report))
    out = tmp_path / "f.png"
    inputs = [sparse["json"], path] if kind == "compare" else [path]
    code, stdout, err = _cli(capsys, "plot", *inputs, "--kind", kind, "-o", out)
    assert code == 2 and stdout == "" and err.count("\n") == 1
    assert re.search(r"^accelsim: error: .*bad\.json: layers\[0\]\.ifmap_density \(conv1\): "
                     r"must be a number, not a string \(got 'hi'\); layers\[2\]\.energy_pj\.mac "
                     r"\(conv2\): must be a finite number \(got inf\)$", err.strip()), err
    assert not out.exists()


def test_report_without_simulated_layers_is_an_error(sparse):
    df = load_report(sparse["json"])
    only_pool = df[df["name"].isin(["pool1", "total"])].copy()
    only_pool.loc[only_pool["name"] == "total", "simulated"] = False
    only_pool.attrs["source"] = "pools.csv"
    with pytest.raises(AccelsimError, match=r"pools\.csv: no simulated layers to plot"):
        plot_breakdown(only_pool)


# ---------------------------------------------------------------------------- breakdown

def test_breakdown_by_level_bars_are_the_report_energies(sparse):
    fig = plot_breakdown(sparse["json"])
    ax, ax_total = fig.axes[:2]
    rows = _rows(sparse["dict"])
    assert _tick_labels(ax.xaxis) == SIMULATED         # pool1 is not simulated: no bar
    bars, totals = _containers(ax), _containers(ax_total)
    assert list(bars) == ["DRAM", "GLB", "NoC", "spad", "MAC"]
    for lv, label in zip(LEVELS, bars):
        expected = [rows[n]["energy_pj"][lv] / 1e6 for n in SIMULATED]
        assert _heights(bars[label]) == pytest.approx(expected)
        assert _heights(totals[label]) == pytest.approx([rows["total"]["energy_pj"][lv] / 1e6])
        assert bars[label].patches[0].get_facecolor()[:3] == pytest.approx(
            _rgb(LEVEL_COLORS[lv]))
    stack = sum(_heights(bars[label]) for label in bars)
    assert stack == pytest.approx([rows[n]["energy_pj"]["total"] / 1e6 for n in SIMULATED])
    assert "µJ" in ax.get_ylabel()
    assert fig.get_suptitle() == "Energy by level — test on eyeriss_v1"
    assert figure_note(fig) == ""                     # every MAC layer simulated


def test_breakdown_and_latency_name_the_mac_layers_left_out(unmapped):
    rows = unmapped["dict"]
    assert rows["total"]["unmapped_layers"] == 2
    assert [r["reason"] for r in rows["layers"] if r["name"] in ("conv1", "conv2")] == [
        UNMAPPED_REASON] * 2
    note = ("Not simulated, so neither drawn nor in the total: conv1, conv2 "
            f"({UNMAPPED_REASON}).")                   # pool1 has no MACs: not named
    for plot in (plot_breakdown, plot_latency):
        for kind in ("json", "csv", "parquet"):
            fig = plot(unmapped[kind])
            ax, ax_total = fig.axes[:2]
            assert _tick_labels(ax.xaxis) == ["fc"], (plot, kind)
            assert figure_note(fig) == note, (plot, kind)
            assert ax_total.get_title().endswith("\nwithout 2 layers")
    fig = plot_breakdown(unmapped["json"])
    stack = sum(_heights(c) for c in _containers(fig.axes[1]).values())
    assert stack == pytest.approx([rows["total"]["energy_pj"]["total"] / 1e6])  # fc's alone
    assert stack == pytest.approx([rows["layers"][-1]["energy_pj"]["total"] / 1e6])


def test_a_report_older_than_the_reason_and_unmapped_columns_still_plots(unmapped):
    old = load_report(unmapped["csv"]).drop(columns=["reason", "unmapped_layers",
                                                     "unmapped_macs"])
    fig = plot_breakdown(old)
    assert figure_note(fig) == "Not simulated, so neither drawn nor in the total: conv1, conv2."
    assert _tick_labels(fig.axes[0].xaxis) == ["fc"]
    fig = plot_breakdown(old.drop(columns=["macs"]))  # nothing tells MAC layers from pools
    assert figure_note(fig) == ""
    plot_latency(old)
    plot_compare([old, load_report(unmapped["json"])], labels=["old", "new"])


def test_breakdown_by_tensor_adds_up_to_the_total(sparse):
    fig = plot_breakdown(sparse["csv"], by="tensor", title="mine")
    bars = _containers(fig.axes[0])
    assert list(bars) == ["weight", "ifmap", "psum", "MAC"]
    rows = _rows(sparse["dict"])
    for t in ("weight", "ifmap", "psum"):
        assert _heights(bars[t]) == pytest.approx(
            [rows[n]["energy_pj_by_tensor"][t] / 1e6 for n in SIMULATED])
    stack = sum(_heights(c) for c in bars.values())
    assert stack == pytest.approx([rows[n]["energy_pj"]["total"] / 1e6 for n in SIMULATED])
    assert fig.get_suptitle() == "mine"


def test_breakdown_normalized_is_pj_per_mac(sparse):
    fig = plot_breakdown(sparse["dict"], normalize=True)
    ax, ax_total = fig.axes[:2]
    rows = _rows(sparse["dict"])
    dram = _containers(ax)["DRAM"]
    assert _heights(dram) == pytest.approx(
        [rows[n]["energy_pj"]["dram"] / rows[n]["macs"] for n in SIMULATED])
    assert _heights(_containers(ax_total)["MAC"]) == pytest.approx(
        [rows["total"]["energy_pj"]["mac"] / rows["total"]["macs"]])
    assert ax.get_ylabel() == "energy per MAC (pJ/MAC)"


def test_breakdown_names_the_missing_columns(sparse):
    df = load_report(sparse["csv"]).drop(columns=["energy_pj_noc", "energy_pj_mac"])
    with pytest.raises(AccelsimError, match=r"sparse\.csv: the breakdown by level needs "
                                            r"columns energy_pj_noc, energy_pj_mac"):
        plot_breakdown(df)
    df = load_report(sparse["csv"]).drop(columns=["macs"])
    with pytest.raises(AccelsimError, match=r"needs column macs \(not in this report\)"):
        plot_breakdown(df, normalize=True)
    with pytest.raises(AccelsimError, match=r"--by 'kind': choose one of level, tensor"):
        plot_breakdown(sparse["csv"], by="kind")


def test_many_layers_turn_the_bars_horizontal():
    few = plot_breakdown(_many_layer_frame(HORIZONTAL_ABOVE))
    assert _tick_labels(few.axes[0].xaxis)[0] == "stage0.block0.conv"
    many_df = _many_layer_frame(60)
    many = plot_breakdown(many_df)
    ax = many.axes[0]
    names = many_df["name"].tolist()[:-1]
    assert _tick_labels(ax.yaxis) == names             # names down the side, in order
    assert ax.get_ylim()[0] > ax.get_ylim()[1]          # first layer at the top
    assert _widths(_containers(ax)["DRAM"]) == pytest.approx(
        many_df["energy_pj_dram"].to_numpy()[:-1] / 1e6)
    assert many.get_figheight() > few.get_figheight() + 5  # room for every name
    assert many.get_suptitle() == "Energy by level — net60 on made_up"


# ---------------------------------------------------------------------------- latency

def _rgb(hex_color: str) -> tuple:
    return tuple(int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))


def test_latency_splits_cycles_by_cause_and_shows_utilization(sparse):
    fig = plot_latency(sparse["json"])
    ax, ax_total = fig.axes[:2]
    rows = _rows(sparse["dict"])
    bars = _containers(ax)
    assert list(bars) == ["compute", "gated (zero operand)", "fill + drain", "NoC stall",
                          "DRAM stall"]

    def col(key, names=SIMULATED):
        return np.array([rows[n][key] for n in names], dtype=float)

    assert col("compute_gated_cycles").sum() > 0        # the sparse run has gated taps
    assert _heights(bars["compute"]) == pytest.approx(
        col("compute_cycles") - col("compute_gated_cycles"))
    assert _heights(bars["gated (zero operand)"]) == pytest.approx(col("compute_gated_cycles"))
    assert _heights(bars["fill + drain"]) == pytest.approx(col("fill_cycles")
                                                             + col("drain_cycles"))
    assert _heights(bars["DRAM stall"]) == pytest.approx(col("dram_stall_cycles"))
    assert sum(_heights(c) for c in bars.values()) == pytest.approx(col("cycles"))
    assert sum(_heights(c) for c in _containers(ax_total).values()) == pytest.approx(
        [rows["total"]["cycles"]])
    # the stalls wear the colour of what they wait on, as in the breakdown
    assert bars["DRAM stall"].patches[0].get_facecolor()[:3] == pytest.approx(
        _rgb(LEVEL_COLORS["dram"]))
    assert CYCLE_STYLES["noc"]["color"] == LEVEL_COLORS["noc"]
    util = [line for a in fig.axes for line in a.get_lines() if line.get_label() == "utilization"]
    assert len(util) == 2
    assert util[0].get_ydata() == pytest.approx(col("utilization"))
    assert util[1].get_ydata() == pytest.approx([rows["total"]["utilization"]])
    assert ax.get_ylabel() == "cycles"


def test_latency_total_is_labelled_above_the_panel_in_the_axis_units(sparse):
    """The total's label sits above the total panel, clear of its top spine."""
    fig = plot_latency(sparse["json"])
    ax_total = fig.axes[1]
    total = _rows(sparse["dict"])["total"]
    ms = total["latency_s"] * 1e3
    label = ax_total.get_title()
    assert label == eng_label(total["cycles"], "cycles") + f"\n{ms:.3g} ms"
    assert eng_label(366_456, "cycles") == "366k cycles"   # the ticks' k, not "0.37 M"
    assert eng_label(1_234_567, "cycles") == "1.23M cycles"
    fig.draw_without_rendering()
    title = ax_total.title.get_window_extent()
    assert title.y0 >= ax_total.get_window_extent().y1     # nothing struck through
    top = max(p.get_y() + p.get_height() for c in _containers(ax_total).values()
              for p in c.patches)
    assert ax_total.get_ylim()[1] >= top


def test_gated_cycles_are_told_apart_from_every_other_cause_by_pattern(sparse):
    bars = _containers(plot_latency(sparse["json"]).axes[0])
    gated = bars["gated (zero operand)"].patches[0]
    assert gated.get_hatch() and gated.get_edgecolor()[:3] == pytest.approx(
        _rgb(LEVEL_COLORS["mac"]))                      # compute's colour, hatched
    for label in ("compute", "fill + drain", "NoC stall", "DRAM stall"):
        assert not bars[label].patches[0].get_hatch()
    solid = [tuple(bars[k].patches[0].get_facecolor()) for k in bars if k != "gated (zero operand)"]
    assert len(set(solid)) == len(solid)


def test_latency_leaves_gated_out_when_no_layer_has_gated_cycles(reports):
    rows = _rows(reports["dense"]["dict"])
    assert all(rows[n]["compute_gated_cycles"] == 0 for n in SIMULATED + ["total"])
    fig = plot_latency(reports["dense"]["json"])
    bars = _containers(fig.axes[0])
    assert list(bars) == ["compute", "fill + drain", "NoC stall", "DRAM stall"]
    assert "gated (zero operand)" not in _containers(fig.axes[1])
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["compute", "fill + drain", "NoC stall", "DRAM stall", "utilization"]
    assert _heights(bars["compute"]) == pytest.approx([rows[n]["compute_cycles"]
                                                       for n in SIMULATED])
    assert sum(_heights(c) for c in bars.values()) == pytest.approx(
        [rows[n]["cycles"] for n in SIMULATED])
    sparse_legend = [t.get_text() for t in plot_latency(reports["sparse"]["json"])
                     .legends[0].get_texts()]
    assert "gated (zero operand)" in sparse_legend


def test_latency_names_the_missing_columns(sparse):
    df = load_report(sparse["json"]).drop(columns=["dram_stall_cycles"])
    with pytest.raises(AccelsimError, match=r"sparse\.json: the latency plot needs column "
                                            r"dram_stall_cycles"):
        plot_latency(df)


def test_latency_without_gated_column_folds_it_into_compute(sparse):
    df = load_report(sparse["json"]).drop(columns=["compute_gated_cycles"])
    bars = _containers(plot_latency(df).axes[0])
    assert "gated (zero operand)" not in bars
    rows = _rows(sparse["dict"])
    assert _heights(bars["compute"]) == pytest.approx([rows[n]["compute_cycles"]
                                                       for n in SIMULATED])


# ---------------------------------------------------------------------------- compare

def test_compare_groups_each_report_per_layer_and_total(reports):
    dense, sparse = reports["dense"], reports["sparse"]
    fig = plot_compare([dense["json"], sparse["csv"]])
    e_ax, e_tot, l_ax, l_tot = fig.axes
    labels = ["eyeriss_v1 · dense.json", "sparse.csv"]
    for ax, tot, key, scale in ((e_ax, e_tot, "energy_pj", 1e-6), (l_ax, l_tot, "latency_s",
                                                                    1e3)):
        bars, totals = _containers(ax), _containers(tot)
        assert list(bars) == labels
        for label, rep in zip(labels, (dense, sparse)):
            rows = _rows(rep["dict"])

            def value(name):
                v = rows[name][key]
                return (v["total"] if isinstance(v, dict) else v) * scale

            assert _heights(bars[label]) == pytest.approx([value(n) for n in SIMULATED])
            assert _heights(totals[label]) == pytest.approx([value("total")])
    assert _tick_labels(e_ax.xaxis) == SIMULATED
    assert "µJ" in e_ax.get_ylabel() and "ms" in l_ax.get_ylabel()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == labels


def test_compare_title_names_every_architecture_and_series_wear_no_level_colour(reports,
                                                                             tmp_path):
    dense = load_report(reports["dense"]["json"])
    other = dense.copy()
    other.attrs.update(arch="eyeriss_v2", source="v2.json", label="eyeriss_v2 · v2.json")
    fig = plot_compare([dense, other, reports["sparse"]["csv"]])
    # the CSV has no provenance: it is named by its file, not said to run on eyeriss_v1
    assert fig.get_suptitle() == ("Energy and latency — test on eyeriss_v1 vs eyeriss_v2 vs "
                                  "sparse.csv")
    taken = {c.lower() for c in (*LEVEL_COLORS.values(), *TENSOR_COLORS.values())}
    styles = []
    for container in _containers(fig.axes[0]).values():
        patch = container.patches[0]
        face = "#{:02x}{:02x}{:02x}".format(*(round(255 * v) for v in patch.get_facecolor()[:3]))
        assert face not in taken
        styles.append((face, patch.get_hatch()))
    assert len(set(styles)) == 3


def test_compare_labels_csv_reports_by_folder_or_as_told(reports, tmp_path):
    for run in ("run1", "run2"):
        (tmp_path / run).mkdir()
        (tmp_path / run / "r.csv").write_bytes(reports["sparse"]["csv"].read_bytes())
    fig = plot_compare([tmp_path / "run1" / "r.csv", tmp_path / "run2" / "r.csv"])
    assert list(_containers(fig.axes[0])) == ["run1/r.csv", "run2/r.csv"]
    assert fig.get_suptitle() == "Energy and latency — run1/r.csv vs run2/r.csv"
    fig = plot_compare([reports["dense"]["csv"], reports["sparse"]["csv"]],
                       labels=["dense", "half-zero ifmaps"])
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["dense", "half-zero ifmaps"]
    with pytest.raises(AccelsimError, match=r"compare: 1 label\(s\) for 2 reports"):
        plot_compare([reports["dense"]["csv"], reports["sparse"]["csv"]], labels=["dense"])


def test_cli_compare_takes_a_label_per_report(reports, tmp_path, capsys):
    import accelsim.plot

    drawn = []

    def spy(*args, **kwargs):
        drawn.append(plot_compare(*args, **kwargs))
        return drawn[-1]

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(accelsim.plot, "plot_compare", spy)
    try:
        code, _, err = _cli(capsys, "plot", reports["dense"]["csv"], reports["sparse"]["csv"],
                            "--kind", "compare", "--label", "dense", "--label", "sparse",
                            "-o", tmp_path / "c.png")
    finally:
        monkeypatch.undo()
    assert (code, err) == (0, "")
    assert [t.get_text() for t in drawn[0].legends[0].get_texts()] == ["dense", "sparse"]
    code, _, err = _cli(capsys, "plot", reports["dense"]["json"], "--label", "x",
                        "-o", tmp_path / "b.png")
    assert code == 2 and err == ("accelsim: error: --label applies to --kind compare only "
                                 "(got --kind breakdown)\n")


def test_compare_matches_layers_by_name(reports):
    dense = load_report(reports["dense"]["json"])
    fewer = dense[dense["name"] != "conv2"].copy()
    fewer.attrs.update(source="fewer.json", label="fewer")
    fig = plot_compare([reports["sparse"]["json"], fewer])
    heights = _heights(_containers(fig.axes[0])["fewer"])
    assert np.isnan(heights[1]) and np.isfinite(heights[[0, 2]]).all()


def test_compare_totals_are_over_the_layers_every_report_simulated(reports, unmapped):
    """A report that could not map conv1 and conv2 is compared over fc, the common layer."""
    fig = plot_compare([reports["sparse"]["json"], unmapped["json"]])
    e_ax, e_tot, l_ax, l_tot = fig.axes
    full, part = _rows(reports["sparse"]["dict"]), _rows(unmapped["dict"])
    labels = ["eyeriss_v1 · sparse.json", "eyeriss_v1 · unmapped.json"]
    assert _tick_labels(e_ax.xaxis) == SIMULATED      # the bars per layer show every layer
    assert np.isnan(_heights(_containers(e_ax)[labels[1]])[:2]).all()
    for tot, key, scale in ((e_tot, "energy_pj", 1e-6), (l_tot, "latency_s", 1e3)):
        def value(rows, name):
            v = rows[name][key]
            return (v["total"] if isinstance(v, dict) else v) * scale

        totals = [_heights(_containers(tot)[lab])[0] for lab in labels]
        assert totals == pytest.approx([value(full, "fc"), value(part, "fc")])
        assert totals[0] < value(full, "total")        # not the report's own total
        assert _tick_labels(tot.xaxis) == ["total over\n1 common\nlayer"]
        change = (totals[1] / totals[0] - 1) * 100
        assert [t.get_text() for t in tot.texts][1] == f"{change:+.1f}%"
    assert figure_note(fig) == (
        "Totals are over the layer every report simulated, so that they compare the same "
        "work; the bars per layer show all. eyeriss_v1 · unmapped.json did not simulate "
        f"conv1, conv2 ({UNMAPPED_REASON}).")


def test_compare_of_reports_that_simulated_the_same_layers_keeps_their_totals(reports,
                                                                            unmapped):
    fig = plot_compare([reports["dense"]["json"], reports["sparse"]["json"]])
    assert figure_note(fig) == "" and _tick_labels(fig.axes[1].xaxis) == ["total"]
    fig = plot_compare([unmapped["json"], unmapped["csv"]])
    part = _rows(unmapped["dict"])
    assert _heights(_containers(fig.axes[1])["unmapped.csv"]) == pytest.approx(
        [part["total"]["energy_pj"]["total"] / 1e6])
    assert _tick_labels(fig.axes[1].xaxis) == ["total"]
    assert figure_note(fig) == ("No report simulated, so no total includes: conv1, conv2 "
                                f"({UNMAPPED_REASON}).")


def test_compare_without_a_common_layer_says_its_totals_cover_different_layers(reports):
    convs = load_report(reports["sparse"]["json"])
    convs.loc[convs["name"] == "fc", "simulated"] = False
    fc = load_report(reports["dense"]["json"])
    fc.loc[fc["name"].isin(["conv1", "conv2"]), "simulated"] = False
    fig = plot_compare([convs, fc], labels=["convs", "fc"])
    assert _heights(_containers(fig.axes[1])["fc"]) == pytest.approx(
        [_rows(reports["dense"]["dict"])["total"]["energy_pj"]["total"] / 1e6])
    assert figure_note(fig).startswith(
        "No layer was simulated by every report: each total is over its own layers, and the "
        "changes between totals compare different work. convs did not simulate fc. fc did "
        "not simulate conv1, conv2.")
    gone = fc[fc["name"] != "conv2"].copy()
    fig = plot_compare([convs, gone], labels=["convs", "gone"])
    assert figure_note(fig).endswith("gone did not simulate conv1; conv2 (not in the report).")


def test_compare_needs_two_reports_with_energy_and_latency(reports):
    with pytest.raises(AccelsimError, match=r"compare needs two or more reports \(got 1\)"):
        plot_compare([reports["dense"]["json"]])
    df = load_report(reports["dense"]["csv"]).drop(columns=["latency_s"])
    with pytest.raises(AccelsimError, match=r"dense\.csv: the comparison needs column "
                                            r"latency_s"):
        plot_compare([reports["sparse"]["json"], df])


# ---------------------------------------------------------------------------- sweep layers

@pytest.fixture(scope="session")
def swept(tmp_path_factory, eyeriss_dict):
    """A ``keep: layers`` sweep: ifmap spads of 2 values (3x3 convs do not fit) and
    of 12, on two traces."""
    import yaml
    from conftest import write_sweep_inputs

    folder = write_sweep_inputs(tmp_path_factory.mktemp("swept"), eyeriss_dict, TINY_LAYERS)
    (folder / "sweep.yaml").write_text(yaml.safe_dump({
        "version": 1, "base": "tiny.yaml", "traces": ["a.npz", "b.npz"],
        "axes": {"scratchpads.ifmap.entries": [2, 12]}, "keep": "layers"}))
    accelsim.sweep(folder / "sweep.yaml", folder / "s.parquet", jobs=1)
    table = pd.read_parquet(folder / "s.layers.parquet")
    table.to_csv(folder / "s.layers.csv", index=False)
    return {"folder": folder, "layers": folder / "s.layers.parquet", "table": table,
            "csv": folder / "s.layers.csv", "totals": folder / "s.parquet"}


def _run_rows(table, point, trace):
    return table[(table["point_id"] == point) & (table["trace"] == trace)]


def test_a_sweeps_layer_table_is_plotted_one_run_at_a_time(swept):
    # the Parquet table keeps the sweep's provenance (its base arch file); a CSV does not
    for src, base in ((swept["layers"], "tiny "), (swept["csv"], "")):
        rows = _run_rows(swept["table"], 1, "a.npz")
        sim = rows[rows["simulated"]]
        assert sim["layer"].tolist() == SIMULATED
        df = load_report(src, point=1, trace="a.npz")
        arch = f"{base}point 1 (scratchpads.ifmap.entries=12)"
        assert df.attrs["network"] == "a" and df.attrs["arch"] == arch
        fig = plot_breakdown(df)
        ax, ax_total = fig.axes[:2]
        assert _tick_labels(ax.xaxis) == SIMULATED
        bars = _containers(ax)
        for lv, label in zip(LEVELS, bars):
            assert _heights(bars[label]) == pytest.approx(sim[f"energy_pj_{lv}"] / 1e6)
        assert sum(_heights(c) for c in _containers(ax_total).values()) == pytest.approx(
            [sim["energy_pj_total"].sum() / 1e6])       # a run's total: its simulated layers
        assert fig.get_suptitle() == f"Energy by level — a on {arch}"
        assert figure_note(fig) == ""
        lat = _containers(plot_latency(df).axes[0])
        assert sum(_heights(c) for c in lat.values()) == pytest.approx(sim["cycles"])
        assert plot_sparsity(load_report(src, point=1, trace="b")).axes  # by stem too


def test_a_sweep_point_that_could_not_map_a_layer_names_it(swept):
    rows = _run_rows(swept["table"], 0, "a.npz")
    reason = "filter width 3 exceeds the ifmap scratchpad's 2 16-bit values"
    assert rows["status"].iloc[0] == "infeasible"
    assert rows.set_index("layer")["layer_reason"][["conv1", "conv2"]].tolist() == [reason] * 2
    fig = plot_breakdown(load_report(swept["layers"], point=0, trace="a.npz"))
    assert _tick_labels(fig.axes[0].xaxis) == ["fc"]
    assert figure_note(fig) == ("Not simulated, so neither drawn nor in the total: "
                                f"conv1, conv2 ({reason}).")


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"s\.layers\.parquet: a sweep's per-layer table of 4 runs; choose one with --point ID "
         r"and --trace NAME \(points 0-1; traces a\.npz, b\.npz\)"),
    ({"point": 1}, r"table of 2 runs; choose one with --trace NAME \(points 0-1; "),
    ({"trace": "b.npz"}, r"table of 2 runs; choose one with --point ID \("),
    ({"point": 5}, r"no rows for point 5 in this sweep's per-layer table \(points 0-1; "
                   r"traces a\.npz, b\.npz\)"),
    ({"point": 1, "trace": "c.npz"}, r"no rows for point 1 and trace 'c\.npz'"),
    ({"point": "1"}, r"--point '1': must be a point_id, an integer"),
])
def test_a_sweeps_layer_table_needs_a_run_chosen(swept, kwargs, message):
    with pytest.raises(AccelsimError, match=message):
        load_report(swept["layers"], **kwargs)


def test_other_tables_say_how_to_plot_a_sweeps_layers(swept, sparse):
    with pytest.raises(AccelsimError, match=r"s\.parquet: a sweep's totals table \(one row per "
                                            r"point and trace, no layers\): plot it with --kind "
                                            r"pareto; for a point's layers, sweep with 'keep: "
                                            r"layers' and plot the <stem>\.layers table"):
        plot_breakdown(swept["totals"])
    with pytest.raises(AccelsimError, match=r"sparse\.json: --point/--trace choose a run of a "
                                            r"sweep's per-layer table; this is a report of one "
                                            r"run"):
        load_report(sparse["json"], point=0)


def test_cli_plots_a_sweep_point(swept, tmp_path, capsys):
    out = tmp_path / "f.png"
    for kind in ("breakdown", "latency", "sparsity"):
        code, stdout, err = _cli(capsys, "plot", swept["layers"], "--kind", kind, "--point", 1,
                                 "--trace", "a.npz", "-o", out)
        assert (code, stdout, err) == (0, f"wrote {out}\n", "")
    code, stdout, err = _cli(capsys, "plot", swept["layers"], swept["layers"], "--kind",
                             "compare", "--point", 0, "--point", 1, "--trace", "a", "-o", out)
    assert (code, err) == (0, "")
    code, stdout, err = _cli(capsys, "plot", swept["layers"], "-o", out)
    assert code == 2 and err.startswith("accelsim: error: ") and err.count("\n") == 1
    assert "choose one with --point ID and --trace NAME" in err


@pytest.mark.parametrize("args, message", [
    (["{layers}", "--kind", "pareto", "--point", "1"],
     r"--point chooses a run of a sweep's per-layer table; it does not apply to --kind pareto"),
    (["{layers}", "{layers}", "--kind", "compare", "--trace", "a", "--trace", "a", "--trace",
      "b"], r"--trace: given 3 times for 2 reports \(give it once, or once per report\)"),
])
def test_cli_point_options_are_checked(swept, tmp_path, capsys, args, message):
    argv = [a.format(layers=swept["layers"]) for a in args] + ["-o", str(tmp_path / "f.png")]
    code, out, err = _cli(capsys, "plot", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.search(message, err), err
    assert not (tmp_path / "f.png").exists()


# ---------------------------------------------------------------------------- pareto

def _sweep(n_rows: int = 12, *, traces=("a.npz",), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for trace, i in itertools.product(traces, range(n_rows)):
        status = ("ok", "ok", "ok", "infeasible", "error")[i % 5]
        lat = float(rng.integers(1, 6)) * 1e-3
        rows.append({"point_id": i, "trace": trace, "status": status,
                     "reason": "" if status == "ok" else "does not fit",
                     "pe_array.rows": (8, 12, 16)[i % 3], "glb.bank_size_bytes": 256 * (i + 1),
                     "latency_s": lat if status != "error" else np.nan,
                     "energy_pj_total": float(rng.integers(1, 6)) * 1e9,
                     "cycles": lat * 2e8, "edp_pj_s": 0.0})
    return pd.DataFrame(rows)


def _dominated(p, q) -> bool:
    """q dominates p (both minimized)."""
    return q[0] <= p[0] and q[1] <= p[1] and (q[0] < p[0] or q[1] < p[1])


def test_the_plotted_front_is_the_non_dominated_ok_rows():
    """The figure's front is accelsim.pareto's: one implementation for CLI, API and plot."""
    from accelsim.plot import pareto as plot_pareto_module

    assert plot_pareto_module.pareto is accelsim.pareto
    assert not hasattr(plot_pareto_module, "pareto_front")
    for seed in range(20):
        df = _sweep(40, seed=seed)             # small integers: many ties and duplicates
        front = accelsim.pareto(df, "latency_s", "energy_pj_total")
        ok = df[(df["status"] == "ok") & df["latency_s"].notna()]
        pts = list(zip(ok["latency_s"], ok["energy_pj_total"]))
        expected = {i for i, p in zip(ok["point_id"], pts)
                    if not any(_dominated(p, q) for q in pts)}
        assert set(front["point_id"]) == expected
        assert (front["status"] == "ok").all()
        assert front["latency_s"].is_monotonic_increasing
        assert front["energy_pj_total"].is_monotonic_decreasing
        if seed < 3:
            (line,) = [ln for ln in plot_pareto(df).axes[0].get_lines()
                       if ln.get_label() == "Pareto front"]
            assert list(line.get_xdata()) == front["latency_s"].tolist()


def test_pareto_plot_draws_ok_points_and_the_front(tmp_path):
    df = _sweep(15)
    df.to_parquet(tmp_path / "sweep.parquet")
    fig = plot_pareto(tmp_path / "sweep.parquet")  # colour: the first parameter that varies
    ax = fig.axes[0]
    ok = df[df["status"] == "ok"]
    points = [c for c in ax.collections if not c.get_label().startswith("_")]
    assert [c.get_label() for c in points] == [f"pe_array.rows = {r}" for r in (8, 12, 16)]
    drawn = np.concatenate([c.get_offsets() for c in points])
    expected = ok[["latency_s", "energy_pj_total"]].to_numpy()
    assert sorted(map(tuple, drawn)) == sorted(map(tuple, expected))  # only ok rows
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "Pareto front"]
    front = accelsim.pareto(df, "latency_s", "energy_pj_total")
    assert list(line.get_xdata()) == front["latency_s"].tolist()
    assert list(line.get_ydata()) == front["energy_pj_total"].tolist()
    assert line.get_drawstyle() == "steps-post"
    # the labels carry the unit the ticks are in, prefix included
    assert ax.get_xlabel() == "latency (ms)" and ax.get_ylabel() == "total energy (mJ)"
    fig.draw_without_rendering()
    for axis, col, scale in ((ax.xaxis, "latency_s", 1e3), (ax.yaxis, "energy_pj_total",
                                                            1e-9)):
        # each axis plots its own column: the data lie within its view
        lo, hi = sorted(axis.get_view_interval())
        assert lo <= ok[col].min() and ok[col].max() <= hi
        ticks = [t for t in axis.get_majorticklocs()]
        texts = [t.get_text() for t in axis.get_ticklabels()]
        assert [float(t) for t in texts] == pytest.approx([v * scale for v in ticks])
        assert len({len(t.partition(".")[2]) for t in texts}) == 1   # one number of decimals


@pytest.mark.parametrize("column, values, label, locs, texts", [
    ("latency_s", [4.0e-4, 8.1e-4], "latency (µs)", [4e-4, 6e-4, 8e-4], ["400", "600", "800"]),
    ("energy_pj_total", [3.98e7, 4.12e7], "total energy (µJ)", [3.98e7, 4.0e7, 4.02e7],
     ["39.8", "40.0", "40.2"]),
    ("energy_pj_total", [1.722e10, 1.758e10], "total energy (mJ)", [1.722e10, 1.728e10],
     ["17.22", "17.28"]),
    ("cycles", [2e6, 7.5e6], "cycles (millions)", [2e6, 4.5e6, 7e6], ["2.0", "4.5", "7.0"]),
    ("edp_pj_s", [3e6, 9e6], "energy x delay (µJ·s)", [4e6, 6e6], ["4", "6"]),
    ("dram_bytes", [1.5e6, 9e6], "dram traffic (MB)", [2e6, 4e6], ["2", "4"]),
    ("macs", [10.0, 900.0], "MACs", [0, 500], ["0", "500"]),
])
def test_pareto_axis_label_carries_the_unit_of_its_ticks(column, values, label, locs, texts):
    text, fmt = metric_axis(column, np.asarray(values))
    assert text == label
    fmt.set_locs(locs)
    assert [fmt(v) for v in locs] == texts


def test_pareto_log_axis_ticks_are_each_as_short_as_they_go():
    fmt = ScaledFormatter(1e3, log=True)
    fmt.set_locs([1e-4, 1e-3, 1e-2])
    assert [fmt(v) for v in (1e-4, 1e-3, 1e-2)] == ["0.1", "1", "10"]


def test_pareto_plot_of_a_real_sweep_draws_its_points_and_front(tmp_path, eyeriss_dict):
    """accelsim.sweep on a tiny arch and two traces, then its figure, read back."""
    import yaml
    from conftest import tiny_arch_dict

    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(tiny_arch_dict(eyeriss_dict)))
    make_trace(tmp_path / "a.npz", TINY_LAYERS[:1], seed=1)
    make_trace(tmp_path / "b.npz", TINY_LAYERS[:1], seed=2, ifmap_zeros=0.5)
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({
        "version": 1, "base": "tiny.yaml", "traces": ["a.npz", "b.npz"],
        "axes": {"scratchpads.ifmap.entries": [2, 12], "pe_array.cols": [2, 4],
                 "dram.link_clock_mhz": [30, 120]}}))
    table = accelsim.sweep(tmp_path / "sweep.yaml", tmp_path / "sweep.parquet", jobs=1)
    assert set(table["status"]) == {"ok", "infeasible"}  # 3x3 filters need 3 ifmap values
    fig = plot_pareto(tmp_path / "sweep.parquet", color="pe_array.cols")
    panels = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in panels] == ["trace = a.npz", "trace = b.npz"]
    fronts = accelsim.pareto(table, "latency_s", "energy_pj_total", by="trace")
    for ax, trace in zip(panels, ("a.npz", "b.npz")):
        ok = table[(table["trace"] == trace) & (table["status"] == "ok")]
        points = [c for c in ax.collections if not c.get_label().startswith("_")]
        assert [c.get_label() for c in points] == ["pe_array.cols = 2", "pe_array.cols = 4"]
        drawn = sorted(map(tuple, np.concatenate([c.get_offsets() for c in points])))
        assert drawn == sorted(map(tuple, ok[["latency_s", "energy_pj_total"]].to_numpy()))
        front = fronts[fronts["trace"] == trace]
        assert len(front) >= 1
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == "Pareto front"]
        assert list(line.get_xdata()) == front["latency_s"].tolist()
        assert list(line.get_ydata()) == front["energy_pj_total"].tolist()
        (rings,) = [c for c in ax.collections if c.get_label() == "_front points"]
        assert rings.get_offsets().tolist() == front[["latency_s",
                                                      "energy_pj_total"]].values.tolist()


def test_pareto_colour_bar_for_many_values_and_panels_per_trace(tmp_path):
    df = _sweep(30, traces=("a.npz", "b.npz"))
    df.to_csv(tmp_path / "sweep.csv", index=False)
    fig = plot_pareto(tmp_path / "sweep.csv", x="cycles", y="energy_pj_total",
                      color="glb.bank_size_bytes")
    panels = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in panels] == ["trace = a.npz", "trace = b.npz"]
    for ax, trace in zip(panels, ("a.npz", "b.npz")):
        ok = df[(df["status"] == "ok") & (df["trace"] == trace)]
        (points,) = [c for c in ax.collections if c.get_label() == "design point"]
        assert points.get_offsets().tolist() == ok[["cycles", "energy_pj_total"]].values.tolist()
        # more than 8 values: a colour scale rather than a legend entry per value
        assert points.get_array().tolist() == ok["glb.bank_size_bytes"].tolist()
    colorbar = [a for a in fig.axes if a.get_ylabel() == "glb.bank_size_bytes"]
    assert len(colorbar) == 1


def test_pareto_panels_far_apart_each_keep_a_linear_axis():
    """AlexNet and LeNet-5 differ 400x in energy: each panel is read on its own scale."""
    small = _sweep(12, traces=("lenet.npz",))
    big = _sweep(12, traces=("alexnet.npz",)).assign(energy_pj_total=lambda d:
                                                      d["energy_pj_total"] * 400)
    fig = plot_pareto(pd.concat([small, big], ignore_index=True))
    panels = [a for a in fig.axes if a.get_title()]
    assert len(panels) == 2
    assert [a.get_yscale() for a in panels] == ["linear", "linear"]
    spread = _sweep(12).assign(latency_s=lambda d: d["latency_s"] * 10.0 ** d["point_id"])
    ax = plot_pareto(spread).axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "linear"
    assert all(t.get_text() == "" for t in ax.xaxis.get_minorticklabels())


def test_pareto_plot_of_a_run_report_is_an_error(sparse, tmp_path, capsys):
    code, out, err = _cli(capsys, "plot", sparse["csv"], "--kind", "pareto", "-o",
                          tmp_path / "f.png")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert re.search(r"sparse\.csv: not a sweep table \(no point_id or trace column; a run's "
                     r"report \(one row per layer\): plot it with --kind breakdown, latency or "
                     r"sparsity\)$", err.strip()), err
    assert not (tmp_path / "f.png").exists()


def test_pareto_names_what_is_missing(tmp_path):
    df = _sweep(6)
    df.attrs["source"] = "sweep.csv"
    with pytest.raises(AccelsimError, match=r"sweep\.csv: the Pareto plot needs column "
                                            r"edp_s \(not in this table\)"):
        plot_pareto(df, y="edp_s")
    with pytest.raises(AccelsimError, match=r"sweep\.csv: no rows with status 'ok'"):
        plot_pareto(df.assign(status="infeasible"))
    with pytest.raises(AccelsimError, match=r"no such file"):
        load_sweep(tmp_path / "none.csv")
    with pytest.raises(AccelsimError, match=r"unknown sweep table format '\.json'"):
        (tmp_path / "s.json").write_text("{}")
        load_sweep(tmp_path / "s.json")


# ---------------------------------------------------------------------------- sparsity

def _masked_frame() -> pd.DataFrame:
    """A report with the sparsity issue's future columns."""
    df = pd.DataFrame({
        "name": ["conv1", "pool1", "conv2", "total"],
        "simulated": [True, False, True, True],
        "ifmap_density_before_mask": [0.9, np.nan, 0.6, np.nan],
        "ifmap_density": [0.5, np.nan, 0.3, np.nan],
        "weight_density": [1.0, np.nan, 0.7, np.nan],
        "ifmap_sporadic_degree_before_mask": [0.8, np.nan, 0.4, np.nan],
        "ifmap_sporadic_degree": [0.6, np.nan, 0.2, np.nan]})
    df.attrs.update(network="net", arch="chip")
    return df


def test_sparsity_draws_before_and_after_mask_side_by_side():
    fig = plot_sparsity(_masked_frame())
    dens, spor = fig.axes[0], fig.axes[1]
    bars = _containers(dens)
    assert list(bars) == ["ifmap density (before mask)", "ifmap density (after mask)",
                          "weight density"]
    assert _heights(bars["ifmap density (before mask)"]) == pytest.approx([0.9, 0.6])
    assert _heights(bars["ifmap density (after mask)"]) == pytest.approx([0.5, 0.3])
    assert _heights(bars["weight density"]) == pytest.approx([1.0, 0.7])
    before, after = (bars[k].patches[0] for k in list(bars)[:2])
    assert after.get_x() == pytest.approx(before.get_x() + before.get_width())  # adjacent
    spor_bars = _containers(spor)
    assert _heights(spor_bars["ifmap sporadic degree (before mask)"]) == pytest.approx(
        [0.8, 0.4])
    assert _heights(spor_bars["ifmap sporadic degree (after mask)"]) == pytest.approx(
        [0.6, 0.2])
    assert _tick_labels(spor.xaxis) == ["conv1", "conv2"]


def test_sparsity_of_a_real_report_shows_what_it_has(sparse):
    fig = plot_sparsity(sparse["json"])
    assert len(fig.axes) == 2                              # densities, sporadic degree
    bars = _containers(fig.axes[0])
    rows = _rows(sparse["dict"])
    assert list(bars) == ["ifmap density", "weight density"]
    assert _heights(bars["ifmap density"]) == pytest.approx(
        [rows[n]["ifmap_density"] for n in SIMULATED])
    assert 0.3 < rows["conv1"]["ifmap_density"] < 0.7     # the trace is half zeros
    spor = _heights(_containers(fig.axes[1])["ifmap sporadic degree"])
    # a linear layer's input has no spatial neighbourhood: no sporadic degree
    assert rows["fc"]["ifmap_sporadic_degree"] is None and np.isnan(spor[-1])  # JSON null
    assert spor[:-1] == pytest.approx([rows[n]["ifmap_sporadic_degree"] for n in SIMULATED[:-1]])
    # nothing drawn for it, not a bar of 0, and "n/a" where the bar would be
    (mark,) = fig.axes[1].texts
    assert mark.get_text() == "n/a" and mark.xy == (SIMULATED.index("fc"), 0)
    assert not fig.axes[0].texts                       # every density is defined
    assert figure_note(fig) == ("n/a: the sporadic degree of fc is undefined: the input has "
                                "no spatial neighbourhood (1x1, as a linear layer's).")


def test_sparsity_legend_sits_under_the_panels_so_they_fill_the_width(sparse):
    fig = plot_sparsity(sparse["json"])
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["ifmap", "weight"]
    fig.draw_without_rendering()
    for ax in fig.axes:
        assert ax.get_position().x1 > 0.95            # no empty margin on the right
    masked = plot_sparsity(_masked_frame())
    assert [t.get_text() for t in masked.legends[0].get_texts()] == [
        "ifmap (before mask)", "ifmap (after mask)", "weight"]
    assert figure_note(masked) == ""
    # conv2 unmasked: no "before" bar and no n/a for it
    df = _masked_frame()
    df.loc[2, ["ifmap_density_before_mask", "ifmap_sporadic_degree_before_mask"]] = np.nan
    fig = plot_sparsity(df)
    assert not fig.axes[0].texts and not fig.axes[1].texts and figure_note(fig) == ""


def test_fraction_axes_start_at_zero_even_when_every_value_is_zero():
    df = _masked_frame().drop(columns=["ifmap_sporadic_degree_before_mask"])
    df["ifmap_sporadic_degree"] = [0.0, np.nan, 0.0, np.nan]
    dens, spor = plot_sparsity(df).axes[:2]
    assert dens.get_ylim() == pytest.approx((0, 1.04))
    assert spor.get_ylim() == pytest.approx((0, 1))   # not -0.04..0.04 around a flat 0
    assert [t.get_text() for t in spor.texts] == ["every value is 0"]
    assert len(dens.texts) == 0
    df["ifmap_sporadic_degree"] = [0.004, np.nan, 0.014, np.nan]
    spor = plot_sparsity(df).axes[1]
    assert spor.get_ylim() == pytest.approx((0, 0.014 * 1.12)) and len(spor.texts) == 0


def test_sparsity_needs_a_density_column(sparse):
    df = load_report(sparse["csv"]).drop(columns=["ifmap_density", "weight_density"])
    with pytest.raises(AccelsimError, match=r"sparse\.csv: the sparsity plot needs at least "
                                            r"one of the columns ifmap_density_before_mask, "
                                            r"ifmap_density, weight_density"):
        plot_sparsity(df)


# ---------------------------------------------------------------------------- files and CLI

@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"),
                                        ("pdf", b"%PDF")])
def test_save_figure_format_follows_the_extension(sparse, tmp_path, ext, magic):
    out = tmp_path / f"fig.{ext}"
    save_figure(plot_breakdown(sparse["json"]), out)
    assert out.read_bytes().startswith(magic)


def test_save_figure_rejects_other_extensions(sparse, tmp_path):
    with pytest.raises(AccelsimError, match=r"-o \S*fig\.jpg: unsupported figure format '\.jpg' "
                                            r"\(use \.png, \.svg or \.pdf\)"):
        save_figure(plot_breakdown(sparse["json"]), tmp_path / "fig.jpg", option="-o")
    assert not (tmp_path / "fig.jpg").exists()


def _cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_cli_draws_every_kind(reports, tmp_path, capsys, kind):
    inputs = [reports["sparse"]["json"]]
    extra = []
    if kind == "compare":
        inputs.append(reports["dense"]["json"])
    if kind == "pareto":
        _sweep(10).to_csv(tmp_path / "sweep.csv", index=False)
        inputs = [tmp_path / "sweep.csv"]
        extra = ["--color", "pe_array.rows"]
    out = tmp_path / f"{kind}.png"
    code, stdout, err = _cli(capsys, "plot", *inputs, "--kind", kind, "-o", out, *extra)
    assert (code, err) == (0, "")
    assert stdout == f"wrote {out}\n"
    assert out.stat().st_size > 5000 and out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("args, message", [
    (["{missing}"], r"missing\.json: no such file"),
    (["{json}", "-o", "{tmp}/f.gif"], r"-o .*f\.gif: unsupported figure format '\.gif'"),
    (["{json}", "--kind", "latency", "--by", "tensor"],
     r"--by applies to --kind breakdown only \(got --kind latency\)"),
    (["{json}", "--kind", "sparsity", "--normalize"], r"--normalize applies to --kind breakdown"),
    (["{json}", "--x", "cycles", "--by-group", "trace"],
     r"--x, --by-group: applies to --kind pareto only"),
    (["{json}", "{json}"], r"--kind breakdown takes one input file \(got 2\); use --kind "
                           r"compare"),
    (["{json}", "--kind", "latency", "--dpi", "0"], r"--dpi 0: must be from 10 to 1200"),
])
def test_cli_bad_input_is_one_line_and_exit_2(sparse, tmp_path, capsys, args, message):
    subs = {"json": sparse["json"], "missing": tmp_path / "missing.json", "tmp": tmp_path}
    argv = [a.format(**subs) for a in args]
    if "-o" not in argv:
        argv += ["-o", str(tmp_path / "f.png")]
    code, out, err = _cli(capsys, "plot", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("accelsim: error: ")
    assert re.search(message, err), err
    assert not (tmp_path / "f.png").exists()


def test_cli_unknown_kind_is_a_usage_error(sparse, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli_main(["plot", str(sparse["json"]), "--kind", "pie", "-o", str(tmp_path / "f.png")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "invalid choice: 'pie'" in err


def test_run_plot_draws_the_breakdown_of_the_run(reports, tmp_path, capsys):
    out, fig = tmp_path / "r.json", tmp_path / "fig.svg"
    code, stdout, err = _cli(capsys, "run", EYERISS_YAML, reports["trace"], "--format", "json",
                             "--out", out, "--plot", fig)
    assert (code, err) == (0, "")
    assert stdout == f"wrote {out}\nwrote {fig}\n"
    assert fig.read_bytes().startswith(b"<?xml") and b"conv2" in fig.read_bytes()
    assert json.loads(out.read_text())["total"]["energy_pj"]["total"] == pytest.approx(
        reports["sparse"]["dict"]["total"]["energy_pj"]["total"])


def test_run_plot_with_a_bad_name_fails_before_simulating(tmp_path, capsys):
    # the trace does not exist: the figure name is checked first
    code, out, err = _cli(capsys, "run", EYERISS_YAML, tmp_path / "none.npz",
                          "--plot", tmp_path / "fig.bmp")
    assert code == 2 and out == ""
    assert err.strip().endswith("unsupported figure format '.bmp' (use .png, .svg or .pdf)")
    assert "--plot" in err


# ---------------------------------------------------------------------------- structure

def test_plot_package_never_imports_the_engine():
    forbidden = ("accelsim.engine", "accelsim.run", "accelsim.report.report",
                 "accelsim.mapping", "matplotlib.pyplot")
    for path in (ROOT / "accelsim" / "plot").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"


def test_cli_kinds_match_the_plot_registry():
    from accelsim.commands import plot as plot_command

    assert set(plot_command.KINDS) == set(KINDS)


def test_latency_segments_add_up_with_psum_accumulation(tmp_path, eyeriss_dict):
    """On a PE that spends cycles adding incoming psums, they count as compute."""
    from accelsim.spec.load import arch_from_dict
    from conftest import tiny_arch_dict

    arch = arch_from_dict(tiny_arch_dict(eyeriss_dict, accumulate=1), "<tiny>")
    tr = make_trace(tmp_path / "t.npz", [conv_header("c", 1, 2, 6, 6, 3, 3, 3, pad=1)],
                    ifmap_zeros=0.3)
    report = accelsim.report_dict(accelsim.run(arch, tr))
    row = report["layers"][0]
    assert row["accumulate_cycles"] > 0
    bars = _containers(plot_latency(report).axes[0])
    assert sum(_heights(c) for c in bars.values()) == pytest.approx([row["cycles"]])
    assert _heights(bars["compute"]) == pytest.approx(
        [row["compute_cycles"] + row["accumulate_cycles"] - row["compute_gated_cycles"]])
