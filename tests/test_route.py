"""Run-time routing between pruned variants: routed traces, their cost, their errors."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

import accelsim
from accelsim.cli import main
from accelsim.errors import AccelsimError, TraceError
from accelsim.report.report import report_dict, report_rows, routing_sums
from accelsim.run import run
from accelsim.workload.reference import layer_output
from accelsim.workload.route import route_traces, write_routed_trace
from accelsim.workload.trace import read_trace, trace_to_headers, write_trace
from conftest import EYERISS_YAML, ROOT, conv_header, make_trace, run_cli

V2_YAML = ROOT / "arch_configs" / "eyeriss_v2.yaml"
MIXED = ["mild", "aggressive", "aggressive"]


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """The recipe of the README: two synth calls, same seed, different --weight-zeros
    (8-bit, so that Eyeriss v2 runs them)."""
    d = tmp_path_factory.mktemp("route")
    out = {}
    for name, zeros in (("mild", "0.3"), ("aggressive", "0.8")):
        out[name] = d / f"{name}.npz"
        assert main(["synth", "lenet5", "--batch", "3", "--seed", "1", "--weight-bits", "8",
                     "--act-bits", "8", "--ifmap-zeros", "0.5", "--weight-zeros", zeros,
                     "-o", str(out[name])]) == 0
    return out


@pytest.fixture(scope="module")
def variants(paths):
    return {name: read_trace(p) for name, p in paths.items()}


@pytest.fixture(scope="module")
def v1():
    return accelsim.load_arch(EYERISS_YAML)


@pytest.fixture(scope="module")
def v2():
    return accelsim.load_arch(V2_YAML)


def _rows(arch, trace):
    return {r["name"]: r for r in report_rows(run(arch, trace))}


def _sub_trace(tmp_path, trace, images, name):
    """``trace`` restricted to ``images``, built here by slicing (not by route.py):
    every leading dimension of lenet5 is the batch."""
    idx = list(images)
    headers = []
    for head in trace_to_headers(trace):
        for key in ("input_shape", "output_shape"):
            if key in head:
                head[key] = [len(idx), *head[key][1:]]
        headers.append(head)
    arrays = {k: v if k.endswith(".weight") else v[idx] for k, v in trace.arrays.items()}
    path = tmp_path / name
    write_trace(path, network=trace.network, batch=len(idx), layers=headers, arrays=arrays)
    return read_trace(path)


# ---- the routed trace ---------------------------------------------------------------

def test_instances_hold_each_variants_weights_and_its_images(variants, tmp_path, capsys):
    routed = route_traces(variants, MIXED)
    base = variants["mild"].layers
    assert [layer.name for layer in routed.layers] == [
        f"{layer.name}@{v}" for layer in base for v in ("mild", "aggressive")]
    assert routed.batch == 3 and routed.routing.route == tuple(MIXED)
    for layer in routed.layers:
        images = {"mild": (0,), "aggressive": (1, 2)}[layer.variant]
        assert layer.images == images and layer.input_shape[0] == len(images)
        assert layer.base_name == layer.name.partition("@")[0]
        src_trace = variants[layer.variant]
        src = next(s for s in src_trace.layers if s.name == layer.base_name)
        assert layer.output_shape == (len(images), *src.output_shape[1:])
        if layer.is_mac:
            assert (layer.c, layer.k, layer.r, layer.s) == (src.c, src.k, src.r, src.s)
            assert layer.n == len(images) and layer.macs * 3 == src.macs * len(images)
            assert np.array_equal(routed.tensor(layer, "weight"), src_trace.tensor(src, "weight"))
            for role in ("input", "output"):
                assert np.array_equal(routed.tensor(layer, role),
                                      src_trace.tensor(src, role)[list(images)])
    # the command writes the same trace, and it reads back with its routing
    out = tmp_path / "routed.npz"
    code, text, _ = run_cli(["route", f"mild={variants['mild'].path}",
                          f"aggressive={variants['aggressive'].path}", "--route",
                          ",".join(MIXED), "-o", str(out)], capsys)
    assert code == 0
    assert text == f"wrote {out}: batch 3, mild 1 image, aggressive 2 images; 16 layer instances\n"
    back = read_trace(out)
    assert back.routing == routed.routing and back.layers == routed.layers
    assert back.arrays.keys() == routed.arrays.keys()
    assert all(np.array_equal(back.arrays[k], v) for k, v in routed.arrays.items())
    head = json.loads(str(np.load(out)["__header__"][()]))
    assert head["routing"] == {"variants": ["mild", "aggressive"], "route": MIXED}
    assert head["layers"][1]["variant"] == "aggressive" and head["layers"][1]["images"] == [1, 2]


def test_route_file_and_an_unused_variant(variants, tmp_path, capsys):
    rf = tmp_path / "route.txt"
    rf.write_text("mild\n\nmild\n  mild  \n")
    out = tmp_path / "r.npz"
    code, text, _ = run_cli(["route", f"mild={variants['mild'].path}",
                          f"aggressive={variants['aggressive'].path}", "--route-file", str(rf),
                          "-o", str(out)], capsys)
    assert code == 0
    assert "mild 3 images, aggressive 0 images; 8 layer instances" in text
    assert ("note: variant 'aggressive' has no image in the route, so none of its layers is in "
            "the trace") in text
    back = read_trace(out)
    assert back.routing.variants == ("mild", "aggressive")
    assert {layer.variant for layer in back.layers} == {"mild"}


def test_a_linear_with_folded_tokens_and_other_layers_keep_their_rows_per_image(tmp_path):
    """N = batch x tokens: each image keeps its T rows; a non-MAC op's shapes and
    MACs scale with its images."""
    def trace(name, seed):
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 5, (6, 4)).astype(np.int16)  # batch 2 x 3 tokens
        w = rng.integers(-3, 4, (5, 4)).astype(np.int16)
        y = rng.integers(0, 9, (2, 3, 7)).astype(np.int16)
        headers = [{"name": "fc", "kind": "linear", "input_shape": [6, 4], "out_features": 5,
                    "weight_bits": 16, "act_bits": 16,
                    "tensors": {"input": "fc.x", "weight": "fc.w"}},
                   {"name": "mm", "kind": "matmul", "input_shape": [2, 3, 5],
                    "output_shape": [2, 3, 7], "input_shapes": [[2, 3, 5], [6, 2]],
                    "macs": 210, "tensors": {"output": "mm.y"}}]
        write_trace(tmp_path / name, network="t", batch=2, layers=headers,
                    arrays={"fc.x": x, "fc.w": w, "mm.y": y})
        return read_trace(tmp_path / name)

    a, b = trace("a.npz", 0), trace("b.npz", 1)
    routed = route_traces({"a": a, "b": b}, ["b", "a"])
    fc_a, fc_b, mm_a, mm_b = routed.layers
    assert fc_b.images == (0,) and fc_b.input_shape == (3, 4)
    assert np.array_equal(routed.tensor(fc_b, "input"), b.arrays["fc.x"][:3])
    assert np.array_equal(routed.tensor(fc_a, "input"), a.arrays["fc.x"][3:])
    assert mm_a.input_shapes == ((1, 3, 5), (3, 2)) and mm_a.op_macs == 105
    assert np.array_equal(routed.tensor(mm_a, "output"), a.arrays["mm.y"][1:])


# ---- what a routed batch costs --------------------------------------------------------

def test_dense_and_performed_macs_are_each_images_variant_macs(variants, v2):
    """Dense MACs do not depend on the weights; performed MACs under Eyeriss v2's
    skipping (both operands) are each image's nonzero pairs in its variant."""
    routed = route_traces(variants, MIXED)
    rows = _rows(v2, routed)

    def performed(trace, layer, i):  # nonzero (input, weight) pairs of image i, no padding
        one = dataclasses.replace(layer, n=1, activation="none",
                                  input_shape=(1, *layer.input_shape[1:]))
        x = (trace.tensor(layer, "input")[i:i + 1] != 0).astype(np.int64)
        return int(layer_output(one, x, (trace.tensor(layer, "weight") != 0)).sum())

    total = 0
    for layer in routed.layers:
        if not layer.is_mac:
            continue
        src_trace = variants[layer.variant]
        src = next(s for s in src_trace.layers if s.name == layer.base_name)
        want = sum(performed(src_trace, src, i) for i in layer.images)
        assert rows[layer.name]["macs_performed"] == want
        assert rows[layer.name]["macs"] == src.macs // 3 * len(layer.images)
        total += want
    assert rows["total"]["macs_performed"] == total
    assert rows["total"]["macs"] == sum(layer.macs for layer in variants["mild"].mac_layers)
    assert rows["total"]["macs"] == sum(layer.macs for layer in variants["aggressive"].mac_layers)
    # the aggressive variant performs fewer MACs on the same images
    sums = routing_sums(run(v2, route_traces(variants, ["aggressive"] * 3)))
    assert sums["variants"]["aggressive"]["macs_performed"] < _rows(
        v2, variants["mild"])["total"]["macs_performed"]


def test_routing_every_image_to_one_variant_is_that_variant(variants, v2):
    """Same layers, same data, same mapping search: cycles and energy exactly."""
    mild = run(v2, variants["mild"])
    routed = run(v2, route_traces(variants, ["mild"] * 3))
    assert len(routed.layers) == len(mild.layers)
    for a, b in zip(mild.layers, routed.layers):
        assert b.layer.name == f"{a.layer.name}@mild"
        assert b.mapping.mapping == a.mapping.mapping
        if a.simulated:
            assert np.array_equal(a.counts.cycles, b.counts.cycles)
            assert np.array_equal(a.counts.words, b.counts.words)
            assert a.energy_pj == b.energy_pj
    ta, tb = report_rows(mild)[-1], report_rows(routed)[-1]
    assert (ta["cycles"], ta["energy_pj_total"]) == (tb["cycles"], tb["energy_pj_total"])


def test_a_mixed_batch_costs_each_variant_run_on_its_images(variants, v1, tmp_path):
    """The schedule modeled: each layer runs once per variant on that variant's
    sub-batch, so a mixed route costs exactly the sum of each variant's trace run
    on its own images (the aggressive instance of conv1 reads the raw image too)."""
    rows = _rows(v1, route_traces(variants, MIXED))
    for name, images in (("mild", [0]), ("aggressive", [1, 2])):
        alone = _rows(v1, _sub_trace(tmp_path, variants[name], images, f"{name}.npz"))
        for layer in variants[name].mac_layers:
            got, want = rows[f"{layer.name}@{name}"], alone[layer.name]
            for col in ("cycles", "energy_pj_total", "dram_bytes", "dram_ifmap_bytes",
                        "dram_weight_bytes", "macs_performed"):
                assert got[col] == want[col], (layer.name, name, col)


def test_mixing_fetches_both_variants_weights(variants, v1):
    """Not guaranteed: that a mixed route's energy lies between all-mild and
    all-aggressive (each used variant's weights are fetched, and each is reused
    over fewer images). What holds: per layer, every used variant fetches its
    whole weight tensor from DRAM at least once (Eyeriss v1 keeps filters
    uncompressed in DRAM), so the mixed route pays at least both tensors; on
    lenet5's FC layers, whose weights either pure route fetches exactly once, it
    pays exactly both: twice what either pure route pays."""
    routed = route_traces(variants, MIXED)
    mixed = _rows(v1, routed)
    pure = {name: _rows(v1, variants[name]) for name in variants}
    for layer in variants["mild"].mac_layers:
        dense_bytes = layer.weight_count * layer.weight_bits // 8
        instances = [mixed[f"{layer.name}@{v}"]["dram_weight_bytes"] for v in variants]
        assert all(b >= dense_bytes for b in instances), layer.name
        if layer.kind.value == "linear":
            for name in variants:  # precondition: one fetch per batch in a pure route
                assert pure[name][layer.name]["dram_weight_bytes"] == dense_bytes
            assert sum(instances) == 2 * dense_bytes == sum(
                pure[name][layer.name]["dram_weight_bytes"] for name in variants)


def test_run_prints_and_reports_each_variants_sums(paths, v2, tmp_path, capsys):
    out = tmp_path / "r.npz"
    assert main(["route", f"mild={paths['mild']}", f"aggressive={paths['aggressive']}",
                 "--route", ",".join(MIXED), "-o", str(out)]) == 0
    capsys.readouterr()
    code, text, _ = run_cli(["run", str(V2_YAML), str(out)], capsys)
    assert code == 0
    lines = text.splitlines()
    result = run(v2, read_trace(out))
    rows = report_rows(result)
    sums = routing_sums(result, rows)
    for name, want_images in (("mild", 1), ("aggressive", 2)):
        mine = [r for r in rows if r.get("variant") == name]
        assert all(r["variant_images"] == want_images for r in mine)
        v = sums["variants"][name]
        assert v["images"] == want_images and v["layers"] == len(mine) == 8
        assert v["cycles"] == sum(r["cycles"] for r in mine if r["simulated"])
        assert v["energy_pj_total"] == pytest.approx(
            sum(r["energy_pj_total"] for r in mine if r["simulated"]), rel=1e-12)
        s = "s" if want_images > 1 else ""
        assert (f"variant {name}: {want_images} image{s}, 8 layer instances, "
                f"{v['cycles']:,.0f} cycles, {v['energy_pj_total'] * 1e-6:.2f} uJ") in lines
    assert lines[-2].startswith("variant mild:") and lines[-1].startswith("variant aggressive:")
    total = rows[-1]
    assert sum(v["cycles"] for v in sums["variants"].values()) == total["cycles"]
    assert sum(v["energy_pj_total"] for v in sums["variants"].values()) == pytest.approx(
        total["energy_pj_total"], rel=1e-12)
    doc = report_dict(result, rows)
    assert doc["routing"]["route"] == MIXED
    assert doc["routing"]["variants"]["aggressive"]["cycles"] == sums["variants"]["aggressive"][
        "cycles"]
    assert doc["layers"][0]["variant"] == "mild" and doc["layers"][0]["variant_images"] == 1
    code, js, _ = run_cli(["run", str(V2_YAML), str(out), "--format", "json"], capsys)
    assert code == 0 and json.loads(js)["routing"]["variants"]["mild"]["images"] == 1
    code, csv_text, _ = run_cli(["run", str(V2_YAML), str(out), "--format", "csv"], capsys)
    assert code == 0 and "variant_images" in csv_text.splitlines()[0]
    assert "variant mild:" not in csv_text  # the lines never mix into CSV on stdout
    # an unrouted trace has no routing object
    assert "routing" not in report_dict(run(v2, read_trace(paths["mild"])))


# ---- errors ------------------------------------------------------------------------------

def _tiny(tmp_path, name, *heads, seed=0):
    return make_trace(tmp_path / name, list(heads), seed=seed)


def test_route_traces_errors(variants, tmp_path):
    a = _tiny(tmp_path, "a.npz", conv_header("c1", 2, 2, 5, 5, 4, 3, 3))
    b = _tiny(tmp_path, "b.npz", conv_header("c1", 2, 2, 5, 5, 6, 3, 3))
    c = _tiny(tmp_path, "c.npz", conv_header("c1", 2, 2, 5, 5, 4, 3, 3),
              conv_header("c2", 2, 4, 3, 3, 4, 3, 3))
    d = _tiny(tmp_path, "d.npz", conv_header("c1", 3, 2, 5, 5, 4, 3, 3))
    cases = [
        ({"a": a}, ["a", "a"], "variants: routing needs at least two variants (got 1: a)"),
        ({"a": a, "x@y": a}, ["a", "a"],
         f"variants: variant 'x@y' of {a.path}: must not contain '@' (it joins a layer and its "
         "variant in instance names)"),
        ({"a": a, "x,y": a}, ["a", "a"],
         f"variants: variant 'x,y' of {a.path}: must not contain ',' (it separates --route "
         "entries)"),
        ({"a": a, "b": b}, ["a", "b"],
         "variant 'b': layers[0](c1).out_channels: 6 differs from variant 'a''s 4 (the "
         "variants must be one architecture)"),
        ({"a": a, "c": c}, ["a", "c"],
         "variant 'c': layers[1]: only variant 'c' has a layer here (c2; 2 layers against 1)"),
        ({"a": a, "d": d}, ["a", "d"], "variant 'd': batch 3 differs from variant 'a''s 2"),
        ({"a": a, "a2": a}, ["a", "x"],
         "route[1]: unknown variant 'x' (variants: a, a2)"),
        ({"a": a, "a2": a}, ["a"],
         "route: 1 entries, but the traces' batch is 2 (one variant name per image)"),
    ]
    for given, route, message in cases:
        with pytest.raises(AccelsimError) as exc:
            route_traces(given, route)
        assert str(exc.value) == message
    routed = route_traces({"a": a, "a2": a}, ["a", "a2"])
    with pytest.raises(AccelsimError, match=r"variant 'r': <memory> is already a routed trace"):
        route_traces({"a": a, "r": routed}, ["a", "r"])


def _other_trace(tmp_path, name, head, arrays=None):
    """Written with np.savez: write_trace would turn a 0-d array into a 1-d one."""
    header = {"format": "accelsim-trace", "version": 1, "network": "t", "batch": 2,
              "layers": [head]}
    np.savez(tmp_path / name, __header__=np.array(json.dumps(header)), **(arrays or {}))
    return read_trace(tmp_path / name)


@pytest.mark.parametrize("head, arrays, message", [
    ({"name": "r", "kind": "reshape", "input_shape": [3, 4], "output_shape": [2, 6]}, None,
     "layers(r).input_shape: leading dimension 3 is not a multiple of the batch 2, so it "
     "cannot be split by image"),
    ({"name": "r", "kind": "cat", "input_shape": [2, 4], "output_shape": [2, 4],
      "input_shapes": [[2, 4], []]}, None,
     "layers(r).input_shapes: a scalar shape cannot be split by image"),
    ({"name": "r", "kind": "op", "input_shape": [2, 4], "output_shape": [2, 4], "macs": 3},
     None, "layers(r).macs: 3 MACs do not split evenly over the batch of 2"),
    ({"name": "r", "kind": "op", "input_shape": [2, 4], "output_shape": [2, 4],
      "tensors": {"input": "r.x"}}, {"r.x": np.array(5)},
     "layers(r).tensors.input: a scalar tensor cannot be split by image"),
])
def test_what_cannot_be_split_by_image(tmp_path, head, arrays, message):
    t = _other_trace(tmp_path, "o.npz", head, arrays)
    with pytest.raises(AccelsimError) as exc:
        route_traces({"a": t, "b": t}, ["a", "b"])
    assert str(exc.value).startswith(f"{tmp_path / 'o.npz'}: {message}")


def test_route_command_errors(paths, tmp_path, capsys):
    m, a = f"mild={paths['mild']}", f"aggressive={paths['aggressive']}"
    out = str(tmp_path / "r.npz")
    rf = tmp_path / "rf.txt"
    rf.write_text("mild\nwild\n")
    short = tmp_path / "short.txt"
    short.write_text("mild\n")
    other = tmp_path / "other.npz"
    assert main(["synth", "lenet5", "--batch", "2", "-o", str(other)]) == 0
    cases = [
        ([m, a, "--route", "mild,mild,mild", "-o", str(tmp_path / "no" / "r.npz")],
         f"-o {tmp_path / 'no' / 'r.npz'}: parent directory {tmp_path / 'no'} does not exist"),
        (["mild", a, "--route", "mild", "-o", out], "variants: expected NAME=TRACE (got 'mild')"),
        ([m, m, "--route", "mild", "-o", out], "variants: variant 'mild' is given twice"),
        ([m, "--route", "mild,mild,mild", "-o", out],
         "variants: routing needs at least two variants (got 1: mild)"),
        ([m, a, "--route", "mild,wild,mild", "-o", out],
         "--route: entry 2 'wild' is not a variant (variants: mild, aggressive)"),
        ([m, a, "--route", "mild,mild", "-o", out],
         "--route: 2 entries, but the traces' batch is 3 (one variant name per image)"),
        ([m, a, "--route-file", str(rf), "-o", out],
         f"--route-file {rf}: line 2: 'wild' is not a variant (variants: mild, aggressive)"),
        ([m, a, "--route-file", str(short), "-o", out],
         f"--route-file {short}: 1 entries, but the traces' batch is 3"),
        ([m, a, "--route-file", str(tmp_path / "none.txt"), "-o", out],
         f"--route-file {tmp_path / 'none.txt'}: cannot read (No such file or directory)"),
        ([m, f"other={other}", "--route", "mild,other,mild", "-o", out],
         "variant 'other': batch 2 differs from variant 'mild''s 3"),
    ]
    for argv, message in cases:
        code, _, err = run_cli(["route", *argv], capsys)
        assert code == 2 and err.startswith(f"accelsim: error: {message}"), (argv, err)
        assert err.count("\n") == 1
    assert not (tmp_path / "r.npz").exists()
    with pytest.raises(SystemExit) as exc:
        main(["route", m, a, "-o", out])
    assert exc.value.code == 2
    assert capsys.readouterr().err == ("accelsim route: error: one of the arguments --route "
                                       "--route-file is required\n")


def test_different_architectures_name_the_layer_and_field(tmp_path, capsys):
    a = _tiny(tmp_path, "a.npz", conv_header("c1", 2, 2, 5, 5, 4, 3, 3))
    b = _tiny(tmp_path, "b.npz", conv_header("c1", 2, 2, 5, 5, 4, 3, 3, pad=1))
    code, _, err = run_cli(["route", f"m={a.path}", f"g={b.path}", "--route", "m,g", "-o",
                         str(tmp_path / "r.npz")], capsys)
    assert code == 2
    assert err == ("accelsim: error: variant 'g': layers[0](c1).padding: [1, 1] differs from "
                   "variant 'm''s [0, 0] (the variants must be one architecture)\n")


# ---- the format: new keys are checked and round-trip ------------------------------------

def _routed_header(tmp_path):
    a = _tiny(tmp_path, "a.npz", conv_header("c1", 2, 2, 5, 5, 4, 3, 3),
              {"name": "fl", "kind": "flatten", "input_shape": [2, 4, 3, 3],
               "output_shape": [2, 36]},
              {"name": "fc", "kind": "linear", "input_shape": [2, 36], "out_features": 3,
               "weight_bits": 16, "act_bits": 16})
    routed = route_traces({"m": a, "g": a}, ["g", "m"])
    return trace_to_headers(routed), routed.arrays, routed.routing.as_dict()


@pytest.mark.parametrize("edit, message", [
    (lambda h, r: r.update(variants=["m", "m"]),
     "__header__.routing.variants: names must be distinct (got ['m', 'm'])"),
    (lambda h, r: r.update(variants=[]),
     "__header__.routing.variants: must be a non-empty list of names (got [])"),
    (lambda h, r: r.pop("route"),
     "__header__.routing: must be an object with keys variants and route"),
    (lambda h, r: r.update(route=["g"]),
     "__header__.routing.route: must be a list of one variant name per image, 2 (got ['g'])"),
    (lambda h, r: r.update(route=["g", "x"]),
     "__header__.routing.route[1]: unknown variant 'x' (variants: m, g)"),
    (lambda h, r: h[0].update(variant="x"),
     "layers[0](c1@m).variant: not one of routing.variants (m, g) (got 'x')"),
    (lambda h, r: h[0].update(images=[5]),
     "layers[0](c1@m).images: image 5 out of range for batch 2"),
    (lambda h, r: h[0].update(images=[0]),
     "layers[0](c1@m).images: not the images routing.route sends to 'm' ([1]) (got [0])"),
    (lambda h, r: h[0].update(images=[1, 1]), "layers[0](c1@m).images: must be distinct"),
    (lambda h, r: h[0].update(images=[1, 0]),
     "layers[0](c1@m).images: must be in increasing order (image order)"),
    (lambda h, r: h[0].update(images=[-1]),
     "layers[0](c1@m).images: must be a non-empty list of image indices (integers >= 0)"),
    (lambda h, r: h[0].update(images=[]),
     "layers[0](c1@m).images: must be a non-empty list of image indices"),
    (lambda h, r: h[0].update(variant=""), "layers[0](c1@m).variant: must be a non-empty string"),
    (lambda h, r: h[0].pop("variant"),
     "layers[0](c1@m).variant: missing (a routed layer instance has both variant and images)"),
    (lambda h, r: h[0].pop("images"),
     "layers[0](c1@m).images: missing (a routed layer instance has both variant and images)"),
    (lambda h, r: [h[0].pop("variant"), h[0].pop("images")],
     "layers[0](c1@m).variant: missing (every layer of a routed trace is one variant's "
     "instance)"),
    (lambda h, r: [h[0].update(images=[0, 1]), r.update(route=["m", "m"])],
     "layers[0](c1@m).images: 2 images but the layer's N is 1"),
    (lambda h, r: [h[4].update(images=[0, 1], input_shape=[3, 36]), r.update(route=["m", "m"])],
     "layers[4](fc@m).images: 2 images do not divide the layer's N 3"),
])
def test_routing_keys_are_checked(tmp_path, edit, message):
    headers, arrays, routing = _routed_header(tmp_path)
    arrays = {k: v for k, v in arrays.items()}
    if message.startswith("layers[4](fc@m)"):  # the fc instance with a 3-row input
        arrays[headers[4]["tensors"]["input"]] = np.zeros((3, 36), np.int16)
        headers[4]["tensors"].pop("output", None)
    edit(headers, routing)
    import accelsim.workload.trace as tr
    header = {"format": tr.FORMAT_NAME, "version": 1, "network": "t", "batch": 2,
              "layers": headers, "routing": routing}
    path = tmp_path / "bad.npz"
    np.savez(path, __header__=np.array(json.dumps(header)), **arrays)
    with pytest.raises(TraceError) as exc:
        read_trace(path)
    assert message in str(exc.value)
    assert str(exc.value).startswith(f"{path}: ")


def test_a_routed_layer_needs_the_routing_key(tmp_path):
    headers, arrays, _ = _routed_header(tmp_path)
    with pytest.raises(TraceError) as exc:
        write_trace(tmp_path / "x.npz", network="t", batch=2, layers=headers, arrays=arrays)
    assert ("layers(c1@g).variant: a routed layer instance needs the trace's routing key (got "
            "variant 'g')") in str(exc.value)
    assert not (tmp_path / "x.npz").exists()


def test_routed_trace_round_trips(tmp_path):
    headers, arrays, routing = _routed_header(tmp_path)
    a = read_trace(tmp_path / "a.npz")
    routed = route_traces({"m": a, "g": a}, ["g", "m"])
    write_routed_trace(tmp_path / "r.npz", routed, compress=True)
    back = read_trace(tmp_path / "r.npz")
    assert trace_to_headers(back) == headers and back.routing.as_dict() == routing
    assert [layer.variant for layer in back.layers] == ["m", "g"] * 3
    assert back.layers[1].images == (0,) and back.layers[0].images == (1,)


# ---- the PyTorch bridge -------------------------------------------------------------------

def test_export_routed_trace_of_a_model_and_its_pruned_copy(tmp_path):
    torch = pytest.importorskip("torch")
    from torch import nn
    from torch.nn.utils import prune

    from accelsim.bridge.torch import export_routed_trace, export_trace

    torch.manual_seed(0)
    mild = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 4 * 4, 10)).eval()
    aggressive = copy.deepcopy(mild)
    for module in (aggressive[0], aggressive[4]):
        prune.l1_unstructured(module, "weight", amount=0.8)  # weight_orig * weight_mask
    x = torch.rand(4, 3, 8, 8)
    route = ["aggressive", "mild", "aggressive", "aggressive"]
    routed = export_routed_trace({"mild": mild, "aggressive": aggressive}, x, route,
                                 tmp_path / "r.npz", weight_bits=8, act_bits=8)
    assert [layer.name for layer in routed.layers] == [
        f"{n}@{v}" for n in ("0", "2", "3", "4") for v in ("mild", "aggressive")]
    assert routed.routing.route == tuple(route)
    alone = {}
    for name, model in (("mild", mild), ("aggressive", aggressive)):
        export_trace(model, x, tmp_path / f"{name}.npz", weight_bits=8, act_bits=8)
        alone[name] = read_trace(tmp_path / f"{name}.npz")
    for layer in routed.mac_layers:
        src_trace = alone[layer.variant]
        src = next(s for s in src_trace.layers if s.name == layer.base_name)
        w = routed.tensor(layer, "weight")
        assert np.array_equal(w, src_trace.tensor(src, "weight"))
        assert np.array_equal(routed.tensor(layer, "input"),
                              src_trace.tensor(src, "input")[list(layer.images)])
        zeros = float((w == 0).mean())
        assert zeros >= 0.79 if layer.variant == "aggressive" else zeros < 0.1
        # each instance keeps its variant's scales and bias (a masked output is recomputed)
        q, src_q = layer.quantization, src.quantization
        assert q == dataclasses.replace(src_q, bias=q.bias) and q.bias == f"{layer.name}.bias"
        assert np.array_equal(routed.arrays[q.bias], src_trace.arrays[src_q.bias])
    scales = {lay.variant: lay.quantization.output_scale for lay in routed.mac_layers
              if lay.base_name == "4"}
    assert scales["mild"] != scales["aggressive"]  # calibrated apart, routed all the same
    with pytest.raises(AccelsimError, match=r"models: routing needs a dict of at least two "
                                            r"variants \(got 1\)"):
        export_routed_trace({"mild": mild}, x, route, tmp_path / "r2.npz")
    other = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1)).eval()
    with pytest.raises(AccelsimError, match=r"variant 'other': layers\[0\]\(0\)\.out_channels"):
        export_routed_trace({"mild": mild, "other": other}, x, route, tmp_path / "r3.npz")
    assert not (tmp_path / "r2.npz").exists() and not (tmp_path / "r3.npz").exists()
