"""Decomposed weights: a basis times sparse power-of-two coefficients, as two MAC layers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from accelsim.cli import main
from accelsim.errors import AccelsimError
from accelsim.run import run
from accelsim.spec.load import arch_from_dict
from accelsim.spec.yamlio import read_yaml
from accelsim.workload.decompose import (decompose_trace, decompose_weight, shift_code_bits,
                                         shift_levels)
from accelsim.workload.layer import layer_from_header
from accelsim.workload.reference import layer_output
from accelsim.workload.synth import random_tensor
from accelsim.workload.trace import HEADER_KEY, read_trace, write_trace
from accelsim.workload.values import tensor_problem, value_problems

ROOT = Path(__file__).resolve().parents[1]
RECONF_YAML = ROOT / "arch_configs" / "reconfigurable.yaml"


def _low_rank(rng, k, d, r, noise=0.02):
    """A weight of rank about r plus a little noise (real weights are far from random)."""
    return rng.standard_normal((k, r)) @ rng.standard_normal((r, d)) \
        + noise * rng.standard_normal((k, d))


def _int_codes(w, bits=8):
    q = np.rint(w / np.abs(w).max() * (2 ** (bits - 1) - 1))
    return q.astype(np.int8 if bits <= 8 else np.int16)


def _is_pow2_codes(codes, span):
    nz = codes[codes != 0].astype(np.int64)
    mag = np.abs(nz)
    if not (mag & (mag - 1) == 0).all():
        return False
    e = np.log2(mag)
    return e.min() >= 0 and e.max() - e.min() <= span


def _headers():
    conv = {"name": "conv", "kind": "conv2d", "input_shape": [2, 8, 9, 9], "out_channels": 12,
            "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1], "dilation": [1, 1],
            "groups": 2, "weight_bits": 8, "act_bits": 8, "operator": "int",
            "activation": "relu"}
    pool = {"name": "flat", "kind": "flatten", "input_shape": [2, 12, 5, 5],
            "output_shape": [2, 300], "act_bits": 8}
    fc = {"name": "fc", "kind": "linear", "input_shape": [2, 300], "out_features": 48,
          "weight_bits": 8, "act_bits": 8, "operator": "int", "activation": "relu"}
    return [conv, pool, fc]


def _write_small_trace(path, seed=0):
    """conv (groups 2, stride 2, padding 1) -> flatten -> fc, 8-bit, low-rank weights."""
    rng = np.random.default_rng(seed)
    heads = _headers()
    arrays = {}
    for head in heads:
        layer, probs = layer_from_header(head, 0)
        assert not probs
        if not layer.is_mac:
            continue
        g, k, d = layer.groups, layer.k, layer.c * layer.r * layer.s
        w = np.concatenate([_low_rank(rng, k, d, 3) for _ in range(g)])
        x = random_tensor(rng, layer.input_shape, 8, 0.3, signed=False)
        arrays[f"{layer.name}.weight"] = _int_codes(w).reshape(layer.weight_shape)
        arrays[f"{layer.name}.input"] = x
        head["tensors"] = {"input": f"{layer.name}.input", "weight": f"{layer.name}.weight"}
    write_trace(path, network="small", batch=2, layers=heads, arrays=arrays)
    return read_trace(path)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return _write_small_trace(tmp_path_factory.mktemp("dec") / "small.npz")


# ---- the factorization ----------------------------------------------------------------

def test_factors_have_the_declared_shapes_and_values():
    rng = np.random.default_rng(1)
    w = np.stack([_low_rank(rng, 10, 27, 4) for _ in range(3)])  # [G, K, D]
    dec = decompose_weight(w, rank=5, nonzeros=2, exponent_range=(-7, 0), weight_bits=6)
    assert dec.a_codes.shape == (3, 10, 5) and dec.b_codes.shape == (3, 5, 27)
    assert (np.count_nonzero(dec.a_codes, axis=2) <= 2).all()
    assert _is_pow2_codes(dec.a_codes, span=7)
    # the real coefficients are +-2**e with e in the range the decomposition reports
    a = dec.a[dec.a != 0]
    e = np.log2(np.abs(a))
    assert (e == np.rint(e)).all() and dec.exponents[0] <= e.min() and e.max() <= 0
    assert dec.exponents == (-6, 0)  # 4-bit codes: zero and 7 exponents
    assert np.abs(dec.b_codes).max() <= 2 ** 5 - 1  # 6-bit symmetric
    assert tensor_problem(_linear_layer(10, 5, "shift", 4), "weight",
                          dec.a_codes[0]) is None
    err = np.linalg.norm(w - dec.reconstruction) / np.linalg.norm(w)
    assert dec.relative_error == pytest.approx(err)


def _linear_layer(k, c, operator, wbits):
    layer, probs = layer_from_header({"name": "l", "kind": "linear", "input_shape": [1, c],
                                      "out_features": k, "weight_bits": wbits,
                                      "act_bits": 8, "operator": operator}, 0)
    assert not probs
    return layer


def test_error_falls_with_rank_and_vanishes_at_full_rank():
    rng = np.random.default_rng(2)
    w = _low_rank(rng, 16, 40, 12, noise=0.1)
    errors = [decompose_weight(w, rank=r, nonzeros=r, weight_bits=8).relative_error
              for r in (1, 2, 4, 8, 12)]
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    # full rank, dense coefficients: A is invertible, A x B = W up to B's quantization
    full = [decompose_weight(w, rank=16, nonzeros=16, weight_bits=bits).relative_error
            for bits in (8, 16)]
    assert full[0] < 0.05 and full[1] < 1e-3, full


def test_fewer_nonzeros_cost_accuracy_and_the_method_is_deterministic():
    w = _low_rank(np.random.default_rng(3), 24, 50, 8)
    dense = decompose_weight(w, rank=8, nonzeros=8)
    sparse = decompose_weight(w, rank=8, nonzeros=2)
    again = decompose_weight(w, rank=8, nonzeros=2)
    assert sparse.relative_error > dense.relative_error
    assert np.array_equal(sparse.a_codes, again.a_codes)
    assert np.array_equal(sparse.b_codes, again.b_codes)


def test_a_large_weight_takes_the_randomized_svd(monkeypatch):
    import accelsim.workload.decompose as dm

    w = _low_rank(np.random.default_rng(4), 30, 60, 5)
    exact = dm.decompose_weight(w, rank=5, nonzeros=5)
    monkeypatch.setattr(dm, "EXACT_SVD_MAX", 10)  # forces the randomized range finder
    approx = dm.decompose_weight(w, rank=5, nonzeros=5)
    assert approx.relative_error == pytest.approx(exact.relative_error, rel=0.05, abs=1e-3)


@pytest.mark.parametrize("exponents, bits, levels", [((-7, 0), 4, 7), ((-3, 0), 3, 3),
                                                     ((-1, 0), 2, 1), ((-15, 0), 5, 15),
                                                     ((-6, 0), 4, 7)])
def test_shift_code_width_follows_the_arch_loader(exponents, bits, levels):
    assert shift_code_bits(exponents) == bits
    assert shift_levels(exponents) == levels


@pytest.mark.parametrize("kwargs, message", [
    ({"rank": 0, "nonzeros": 1}, "rank: must be an integer in 1..min(K, D) = 6 (got 0)"),
    ({"rank": 7, "nonzeros": 1}, "rank: must be an integer in 1..min(K, D) = 6 (got 7)"),
    ({"rank": 3, "nonzeros": 4}, "nonzeros: must be an integer in 1..rank = 3 (got 4)"),
    ({"rank": 3, "nonzeros": 1, "exponent_range": (0, 0)},
     "exponent_range: must be two integers min < max (got (0, 0))"),
    ({"rank": 3, "nonzeros": 1, "exponent_range": (True, 3)},  # a bool is no exponent
     "exponent_range: must be two integers min < max (got (True, 3))"),
    ({"rank": 3, "nonzeros": 1, "weight_bits": 1}, "weight_bits: the basis needs >= 2 bits"),
    ({"rank": 3, "nonzeros": 1, "exponent_range": (-40, 0)},
     "exponent_range: spans at most 30 exponents, so that the codes +-2**k and the rescaled "
     "biases fit 32-bit integers (got -40..0)"),
    ({"rank": 3, "nonzeros": 1, "exponent_range": (-1100, -1090)},
     "exponent_range: must lie within -64..64, the exponents a MAC core's shift operator can "
     "declare (got -1100..-1090)"),
])
def test_decompose_weight_rejects_bad_arguments(kwargs, message):
    with pytest.raises(AccelsimError) as exc:
        decompose_weight(np.ones((6, 9)), **kwargs)
    assert str(exc.value).startswith(message)


# ---- the trace ------------------------------------------------------------------------

def test_decomposed_trace_reads_back_and_passes_the_value_checks(small, tmp_path):
    dec = decompose_trace(small, ["conv", "fc"], rank=3, nonzeros=2)
    out = tmp_path / "dec.npz"
    dec.write(out)
    t = read_trace(out)
    assert [layer.name for layer in t.layers] == ["conv.basis", "conv.coefficients", "flat",
                                                   "fc.basis", "fc.coefficients"]
    assert value_problems(t) == []
    by = {layer.name: layer for layer in t.layers}
    for name in ("conv", "fc"):
        basis, coeff = by[f"{name}.basis"], by[f"{name}.coefficients"]
        assert (basis.decomposed_from, basis.part, basis.rank) == (name, "basis", 3)
        assert (coeff.decomposed_from, coeff.part, coeff.rank) == (name, "coefficients", 3)
        assert (basis.operator, basis.weight_bits, basis.act_bits) == ("int", 8, 8)
        assert (coeff.operator, coeff.weight_bits, coeff.act_bits) == ("shift", 4, 8)
        assert basis.activation == "none" and coeff.activation == "relu"
        assert coeff.tensors["input"] == basis.tensors["output"]
        assert basis.tensors["input"] == small.layers[0 if name == "conv" else 2].tensors["input"]
        # each layer's output is what its own input and weights give
        y = layer_output(basis, t.tensor(basis, "input"), t.tensor(basis, "weight"))
        scale = np.abs(y).max() / 127
        assert np.abs(np.rint(y / scale) - t.tensor(basis, "output")).max() <= 1
        z = layer_output(coeff, t.tensor(coeff, "input"), t.tensor(coeff, "weight"))
        scale = np.abs(z).max() / 127
        assert np.abs(np.rint(z / scale) - t.tensor(coeff, "output")).max() <= 1
    # the untouched layer and the header keys round-trip
    header = json.loads(str(np.load(out)[HEADER_KEY][()]))
    assert header["layers"][0]["decomposed_from"] == "conv"
    assert header["layers"][1]["part"] == "coefficients" and header["layers"][1]["rank"] == 3
    assert "part" not in header["layers"][2]


def test_geometry_of_the_two_layers(small):
    dec = decompose_trace(small, ["conv", "fc"], rank=3, nonzeros=2)
    by = {layer.name: layer for layer in dec.trace.layers}
    conv, basis, coeff = small.layers[0], by["conv.basis"], by["conv.coefficients"]
    # the basis takes L's geometry; the coefficients are 1x1, stride 1, on its output
    for attr in ("r", "s", "stride_h", "stride_w", "pad_h", "pad_w", "dilation_h",
                 "dilation_w", "groups", "c", "h", "w", "p", "q"):
        assert getattr(basis, attr) == getattr(conv, attr), attr
    assert basis.k == 3 and basis.output_shape == (2, 6, 5, 5)
    assert (coeff.r, coeff.s, coeff.stride_h, coeff.pad_h, coeff.groups) == (1, 1, 1, 0, 2)
    assert coeff.input_shape == (2, 6, 5, 5) and coeff.c == 3
    assert coeff.output_shape == conv.output_shape
    fc, fb, fcf = small.layers[2], by["fc.basis"], by["fc.coefficients"]
    assert fb.output_shape == (2, 3) and fcf.input_shape == (2, 3)
    assert fcf.output_shape == fc.output_shape and fcf.kind.value == "linear"


def test_macs_of_the_pair(small):
    dec = decompose_trace(small, ["conv", "fc"], rank=3, nonzeros=2)
    by = {layer.name: layer for layer in dec.trace.layers}
    conv = small.layers[0]
    n, g, c, k, p, q = conv.n, conv.groups, conv.c, conv.k, conv.p, conv.q
    rank = 3
    # padding taps are not work: the basis does L's MACs with rank outputs per group ...
    assert by["conv.basis"].macs == conv.macs * rank // k
    assert by["conv.basis"].macs_padded == n * p * q * (g * rank) * c * conv.r * conv.s
    # ... and the coefficients one MAC per output, per basis map of its group
    assert by["conv.coefficients"].macs == n * p * q * (g * k) * rank
    fc = small.layers[2]
    assert by["fc.basis"].macs + by["fc.coefficients"].macs == fc.n * rank * (fc.c + fc.k)


def test_macs_without_padding_follow_the_formula(tmp_path):
    rng = np.random.default_rng(5)
    head = {"name": "c", "kind": "conv2d", "input_shape": [2, 6, 8, 8], "out_channels": 9,
            "kernel": [3, 3], "stride": [1, 1], "padding": [0, 0], "groups": 3,
            "weight_bits": 8, "act_bits": 8, "operator": "int",
            "tensors": {"input": "x", "weight": "w"}}
    write_trace(tmp_path / "c.npz", network="c", batch=2, layers=[head], arrays={
        "x": random_tensor(rng, (2, 6, 8, 8), 8, 0.0, signed=False),
        "w": random_tensor(rng, (9, 2, 3, 3), 8, 0.0, signed=True)})
    t = read_trace(tmp_path / "c.npz")
    dec = decompose_trace(t, ["c"], rank=2, nonzeros=1)
    basis, coeff = dec.trace.layers
    n, p, q, k_total, crs_per_group, g = 2, 6, 6, 9, 2 * 9, 3
    # basis: G*rank outputs, each C/g*R*S taps; coefficients: K outputs, rank inputs each
    assert basis.macs + coeff.macs == n * p * q * g * 2 * crs_per_group + n * p * q * k_total * 2


def test_coefficient_density_is_nonzeros_over_rank(small, tmp_path):
    dec = decompose_trace(small, ["fc"], rank=4, nonzeros=2)
    coeff = next(layer for layer in dec.trace.layers if layer.name == "fc.coefficients")
    a = dec.trace.tensor(coeff, "weight")
    per_row = np.count_nonzero(a, axis=1)
    assert (per_row <= 2).all()
    assert np.count_nonzero(a) / a.size == pytest.approx(2 / 4)  # no coefficient rounded to 0
    arch = _reconfigurable()
    res = run(arch, dec.trace)
    row = next(r for r in res.layers if r.layer.name == "fc.coefficients")
    assert row.weight_density == pytest.approx(2 / 4)


def test_a_bridge_trace_keeps_its_scales_and_bias(tmp_path):
    """Real units: the factorized weight is codes x weight_scale (per channel), each new
    layer's output is its own input and weights at the scales the header gives."""
    rng = np.random.default_rng(6)
    k, c = 16, 40
    w_real = _low_rank(rng, k, c, 3)
    ws = np.abs(w_real).max(axis=1) / 127
    x_real = np.abs(rng.standard_normal((2, c)))
    xs = x_real.max() / 127
    bias_real = rng.standard_normal(k)
    out_real = np.maximum(x_real @ w_real.T + bias_real, 0)
    os_ = out_real.max() / 127
    head = {"name": "fc", "kind": "linear", "input_shape": [2, c], "out_features": k,
            "weight_bits": 8, "act_bits": 8, "operator": "int", "activation": "relu",
            "tensors": {"input": "x", "weight": "fc.weight", "output": "fc.output"},
            "act_scale": xs, "weight_scale": ws.tolist(), "output_scale": os_,
            "bias": "fc.bias", "inputs": ["@input"], "fused": ["relu"]}
    nxt = {"name": "fc2", "kind": "linear", "input_shape": [2, k], "out_features": 4,
           "weight_bits": 8, "act_bits": 8, "operator": "int",
           "tensors": {"input": "fc.output", "weight": "fc2.weight"},
           "act_scale": os_, "weight_scale": 0.01, "output_scale": 1.0, "inputs": ["fc"],
           "fused": []}
    arrays = {"x": np.rint(x_real / xs).astype(np.int8),
              "fc.weight": np.rint(w_real / ws[:, None]).astype(np.int8),
              "fc.output": np.rint(out_real / os_).astype(np.int8),
              "fc.bias": np.rint(bias_real / (xs * ws)).astype(np.int64),
              "fc2.weight": random_tensor(rng, (4, k), 8, 0.0, signed=True)}
    src = tmp_path / "bridge.npz"
    write_trace(src, network="b", batch=2, layers=[head, nxt], arrays=arrays)
    dec = decompose_trace(read_trace(src), ["fc"], rank=6, nonzeros=6)
    out = tmp_path / "dec.npz"
    dec.write(out)
    t = read_trace(out)
    assert value_problems(t) == []
    with np.load(out) as npz:
        entries = {e["name"]: e for e in json.loads(str(npz[HEADER_KEY][()]))["layers"]}
        arr = {key: npz[key] for key in npz.files if key != HEADER_KEY}
    basis, coeff, after = entries["fc.basis"], entries["fc.coefficients"], entries["fc2"]
    assert basis["inputs"] == ["@input"] and coeff["inputs"] == ["fc.basis"]
    assert after["inputs"] == ["fc.coefficients"] and after["tensors"]["input"] == "fc.output"
    assert coeff["fused"] == ["relu"] and basis["act_scale"] == xs
    assert coeff["output_scale"] == os_ and "fc.output" in arr  # fc2 still reads it
    # the basis map: x * B at the header's scales, within half an output step
    y = (arr["x"] * xs) @ (arr["fc.basis.weight"] * basis["weight_scale"]).T
    assert np.abs(y - arr["fc.basis.output"] * basis["output_scale"]).max() \
        <= basis["output_scale"] / 2 + 1e-12
    # the output: relu(y * A + bias) at the coefficient layer's scales
    y_q = arr["fc.basis.output"] * coeff["act_scale"]
    b = arr[coeff["bias"]] * coeff["act_scale"] * coeff["weight_scale"]
    z = np.maximum(y_q @ (arr["fc.coefficients.weight"] * coeff["weight_scale"]).T + b, 0)
    assert np.abs(z - arr["fc.coefficients.output"] * os_).max() <= os_ / 2 + 1e-9
    # and it is close to the original layer's output (rank 6 of a rank-3 weight)
    assert np.linalg.norm(z - out_real) / np.linalg.norm(out_real) < 0.1


def test_a_mask_on_the_input_stays_with_the_basis(tmp_path):
    rng = np.random.default_rng(7)
    head = {"name": "fc", "kind": "linear", "input_shape": [1, 20], "out_features": 10,
            "weight_bits": 8, "act_bits": 8, "operator": "int",
            "tensors": {"input": "x", "weight": "w", "input_mask": "m"}}
    mask = np.ones((1, 20), np.int8)
    mask[0, :10] = 0
    write_trace(tmp_path / "m.npz", network="m", batch=1, layers=[head], arrays={
        "x": random_tensor(rng, (1, 20), 8, 0.0, signed=False), "m": mask,
        "w": random_tensor(rng, (10, 20), 8, 0.0, signed=True)})
    t = read_trace(tmp_path / "m.npz")
    basis, coeff = decompose_trace(t, ["fc"], rank=3, nonzeros=2).trace.layers
    assert basis.tensors["input_mask"] == "m" and "input_mask" not in coeff.tensors
    b = decompose_trace(t, ["fc"], rank=3, nonzeros=2).trace
    y = layer_output(basis, np.where(mask != 0, b.tensor(basis, "input"), 0),
                     b.tensor(basis, "weight"))
    assert np.array_equal(np.sign(np.rint(y / (np.abs(y).max() / 127))),
                          np.sign(b.tensor(basis, "output")))


def test_bad_decomposition_headers_are_refused():
    base = _headers()[2]
    cases = [({"decomposed_from": "fc", "part": "basis"},
              "layers[0](fc).decomposed_from: decomposed_from, part and rank go together "
              "(missing: rank)"),
             ({"decomposed_from": "fc", "part": "middle", "rank": 48},
              "layers[0](fc).part: must be one of ['basis', 'coefficients'] (got 'middle')"),
             ({"decomposed_from": "fc", "part": "basis", "rank": 4},
              "layers[0](fc).rank: must equal the basis layer's outputs per group 48 (got 4)"),
             ({"decomposed_from": "fc", "part": "coefficients", "rank": 4},
              "layers[0](fc).rank: must equal the coefficient layer's inputs per group 300 "
              "(got 4)"),
             ({"decomposed_from": "", "part": "basis", "rank": 48},
              "layers[0](fc).decomposed_from: must name the decomposed layer (got '')")]
    for extra, message in cases:
        layer, problems = layer_from_header({**base, **extra}, 0)
        assert layer is None and problems == [message]


# ---- the command ----------------------------------------------------------------------

def _cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_command_prints_error_and_storage(small, tmp_path, capsys):
    out = tmp_path / "o.npz"
    code, text, err = _cli(["decompose", str(small.path), "--layers", "fc,conv", "--rank", "3",
                            "--nonzeros", "2", "--exponents", "-7..0", "-o", str(out)], capsys)
    assert code == 0 and err == ""
    lines = text.splitlines()
    assert lines[0].startswith("conv: rank 3 per group, <= 2 nonzeros per row (mean ")
    assert "coefficients +-2**e with e in -6..0 (4-bit shift codes), relative reconstruction " \
           "error 0." in lines[0]
    # conv: 12 x 4 x 3 x 3 weights at 8 bits -> basis 2 x 3 x 36 at 8 bits + sparse A
    assert lines[1].startswith("  weight bits 3,456 -> ")
    assert "basis 1,728 (dense at 8 bits) + coefficients " in lines[1]
    assert "x (4-bit code + 2-bit column index) + 12 rows x 2-bit nonzero count)" in lines[1]
    assert lines[-1] == f"wrote {out}"
    assert [layer.name for layer in read_trace(out).layers][:2] == ["conv.basis",
                                                                    "conv.coefficients"]


@pytest.mark.parametrize("args, message", [
    (["--layers", "fc9"], "small.npz: layers: no layer named 'fc9' (MAC layers: conv, fc)"),
    (["--layers", "flat"], "small.npz: layers: 'flat' is a flatten layer, not a MAC layer "
                           "(conv2d or linear): it has no weight to decompose"),
    (["--layers", "fc,fc"], "small.npz: layers: 'fc' is named twice"),
    (["--layers", "fc,"], "--layers: must be comma-separated layer names (got 'fc,')"),
    (["--rank", "0"], "rank: must be an integer >= 1 (got 0)"),
    (["--rank", "6", "--nonzeros", "2"],
     "small.npz: layers: 'conv': rank must be below min(K, C*R*S) = min(6, 36) = 6 per "
     "group, or the basis is no smaller than the weight (got 6)"),
    (["--layers", "fc", "--rank", "48", "--nonzeros", "2"],
     "small.npz: layers: 'fc': rank must be below min(K, C*R*S) = min(48, 300) = 48"),
    (["--nonzeros", "0"], "nonzeros: must be between 1 and the rank 3 (got 0)"),
    (["--nonzeros", "4"], "nonzeros: must be between 1 and the rank 3 (got 4)"),
    (["--exponents", "0..-7"], "--exponents: must be MIN..MAX with integers MIN < MAX, e.g. "
                               "-7..0 (got '0..-7')"),
    (["--exponents", "-7:0"], "--exponents: must be MIN..MAX"),
    (["--exponents=-1000..1000"], "--exponents: spans at most 30 exponents, so that the codes "
                                  "+-2**k and the rescaled biases fit 32-bit integers (got "
                                  "'-1000..1000')"),
    (["--exponents", "100..120"], "--exponents: must lie within -64..64, the exponents a MAC "
                                  "core's shift operator can declare (got '100..120')"),
    (["--exponents=-1100..-1090"], "--exponents: must lie within -64..64"),
])
def test_command_errors_are_one_line(small, tmp_path, capsys, args, message):
    argv = {"--layers": "conv,fc", "--rank": "3", "--nonzeros": "2"}
    flags = [a for a in args if "=" in a]  # --opt=value, kept whole
    it = iter([a for a in args if "=" not in a])
    argv.update(dict(zip(it, it)))
    out = tmp_path / "o.npz"
    code, _, err = _cli(["decompose", str(small.path), *[x for kv in argv.items() for x in kv],
                         *flags, "-o", str(out)], capsys)
    assert code == 2
    assert err.startswith("accelsim: error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()


def test_command_refuses_a_layer_that_is_not_int(tmp_path, capsys):
    rng = np.random.default_rng(8)
    head = {"name": "s", "kind": "linear", "input_shape": [1, 8], "out_features": 8,
            "weight_bits": 4, "act_bits": 8, "operator": "shift",
            "tensors": {"input": "x", "weight": "w"}}
    write_trace(tmp_path / "s.npz", network="s", batch=1, layers=[head], arrays={
        "x": random_tensor(rng, (1, 8), 8, 0.0, signed=False),
        "w": np.full((8, 8), 2, np.int8)})
    code, _, err = _cli(["decompose", str(tmp_path / "s.npz"), "--layers", "s", "--rank", "2",
                         "--nonzeros", "1", "-o", str(tmp_path / "o.npz")], capsys)
    assert code == 2 and "layers: 's' is a shift layer; only int layers are decomposed" in err


def test_command_checks_the_output_path_first(tmp_path, capsys):
    code, _, err = _cli(["decompose", str(tmp_path / "missing.npz"), "--layers", "fc",
                         "--rank", "2", "--nonzeros", "1", "-o",
                         str(tmp_path / "nodir" / "o.npz")], capsys)
    assert code == 2
    assert err.startswith(f"accelsim: error: -o {tmp_path / 'nodir' / 'o.npz'}: parent "
                          "directory")


# ---- end to end -----------------------------------------------------------------------

def _reconfigurable(**dram) -> object:
    d = copy.deepcopy(read_yaml(RECONF_YAML))
    d["dram"].update(dram)
    return arch_from_dict(d, str(RECONF_YAML))


def test_end_to_end_on_the_reconfigurable_core_saves_weight_bytes(small, tmp_path, capsys):
    out = tmp_path / "dec.npz"
    assert main(["decompose", str(small.path), "--layers", "conv,fc", "--rank", "4",
                 "--nonzeros", "1", "-o", str(out)]) == 0
    capsys.readouterr()
    arch = _reconfigurable(weight_compression="csc")
    before = {r.layer.name: r for r in run(arch, small).layers}
    after = {r.layer.name: r for r in run(arch, read_trace(out)).layers}
    assert after["fc.basis"].layer.operator == "int"
    assert after["fc.coefficients"].layer.operator == "shift"
    assert after["conv.coefficients"].layer.operator == "shift"
    assert all(r.simulated for r in after.values() if r.layer.is_mac)

    from accelsim.enums import Level, Tensor

    def weight_bytes(res):
        return res.counts.bytes_at(Level.DRAM, Tensor.WEIGHT)

    pair = weight_bytes(after["fc.basis"]) + weight_bytes(after["fc.coefficients"])
    assert pair < weight_bytes(before["fc"])
    # the sparse coefficients shrink under CSC once a row of A is long enough to pay for
    # the format's per-filter address (at rank 4, 48 x 16-bit addresses outweigh it)
    wide = decompose_trace(small, ["fc"], rank=16, nonzeros=2).trace
    coeff_csc = {r.layer.name: r for r in run(arch, wide).layers}["fc.coefficients"]
    coeff_dense = {r.layer.name: r for r in run(_reconfigurable(), wide).layers}[
        "fc.coefficients"]
    assert weight_bytes(coeff_csc) < weight_bytes(coeff_dense)
    # the report names the parts so that they can be summed
    code = main(["run", str(RECONF_YAML), str(out), "--format", "json", "--out",
                 str(tmp_path / "r.json")])
    assert code == 0
    rows = {r["name"]: r for r in json.loads((tmp_path / "r.json").read_text())["layers"]}
    assert rows["fc.basis"]["decomposed_from"] == "fc" and rows["fc.basis"]["part"] == "basis"
    assert rows["fc.coefficients"]["part"] == "coefficients"
    assert rows["conv.basis"]["decomposed_from"] == "conv"
    assert "part" not in rows["flat"] and "decomposed_from" not in rows["flat"]


def test_adjacent_decomposed_layers_read_each_others_coefficients(tmp_path):
    """A bridge trace's ``inputs`` name producers: when fc1 and fc2 are both
    decomposed, fc2.basis reads fc1.coefficients, not the fc1 that is gone."""
    src = Path(__file__).resolve().parents[1] / "workloads" / "lenet5_digits.npz"
    dec = decompose_trace(read_trace(src), ["fc1", "fc2"], rank=4, nonzeros=2,
                          exponent_range=(-7, 0))
    out = tmp_path / "d.npz"
    dec.write(out)
    with np.load(out) as npz:
        entries = {e["name"]: e for e in json.loads(str(npz[HEADER_KEY][()]))["layers"]}
    assert entries["fc2.basis"]["inputs"] == ["fc1.coefficients"]
    names = set(entries)
    for entry in entries.values():
        assert set(entry.get("inputs", [])) - {"@input"} <= names, entry["name"]


def test_a_routed_trace_is_refused(tmp_path):
    from accelsim.workload.route import route_traces

    a = _write_small_trace(tmp_path / "a.npz", seed=0)
    b = _write_small_trace(tmp_path / "b.npz", seed=1)
    routed = route_traces({"m": a, "g": b}, ["m"] * a.batch)
    with pytest.raises(AccelsimError, match="a routed trace; decompose each variant's trace "
                                            "first, then route them"):
        decompose_trace(routed, ["fc@m"], rank=3, nonzeros=2, exponent_range=(-7, 0))
