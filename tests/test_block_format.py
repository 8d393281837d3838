"""The ``block`` DRAM format: consecutive blocks of ``block_elems`` values in
storage order, one flag bit per block, the values of every block holding a
nonzero (the last block of a stream as long as the values left).

Dense data under ``block`` costs what it costs plain plus the flag bits (and
the bursts they spill into); more zeros never cost more.
"""

from __future__ import annotations

import numpy as np
import pytest

from accelsim.engine import kernels as K
from accelsim.engine.formats import FORMAT_CODES, encoded_bits, format_params
from accelsim.enums import Level, Tensor
from accelsim.run import run_layer
from accelsim.spec.load import arch_from_dict
from accelsim.workload.trace import read_trace, write_trace
from conftest import conv_header, tiny_arch_dict

BLOCK = 8
BIG_BURST_BYTES = 1 << 20  # larger than any transfer here: one burst per transfer


def _arch(base, fmt, burst, block=BLOCK):
    d = tiny_arch_dict(base, rows=6, cols=8, banks=8, bank=1024, filter_bank=2048)
    d["dram"].update(ifmap_compression=fmt, ofmap_compression=fmt, weight_compression=fmt,
                     compress_first_layer_input=True, burst_bytes=burst)
    d["formats"] = {**d.get("formats", {}), "block": {"block_elems": block}}
    return arch_from_dict(d, "<block test>")


def _linear(n, c, k):
    return {"name": "fc", "kind": "linear", "input_shape": [n, c], "out_features": k,
            "weight_bits": 16, "act_bits": 16, "operator": "int", "activation": "none"}


def _trace(path, head, x, w):
    write_trace(path, network="t", batch=x.shape[0],
                layers=[dict(head, tensors={"input": "x", "weight": "w"})],
                arrays={"x": x, "w": w})
    return read_trace(path)


LAYERS = {
    # a linear layer: its filter rows are one value long
    "linear": (_linear(2, 120, 24), (2, 120), (24, 120)),
    # small filters: rows of 5 and of 3 taps, shorter than a block
    "conv5x5": (conv_header("c", 1, 3, 12, 12, 6, 5, 5, act="none"), (1, 3, 12, 12),
                (6, 3, 5, 5)),
    "conv3x3": (conv_header("c", 2, 4, 7, 7, 8, 3, 3, pad=1, act="none"), (2, 4, 7, 7),
                (8, 4, 3, 3)),
}
TENSORS = ((Tensor.WEIGHT, 0), (Tensor.IFMAP, 0), (Tensor.PSUM, 1))  # (tensor, rw) from DRAM


def _dram_bits(counts, tensor, rw):
    return int(counts.bits[Level.DRAM, tensor, rw])


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_dense_block_costs_plain_plus_flags_and_bursts(tmp_path, eyeriss_dict, name):
    """On 100%-dense data, per tensor: block <= none + (values moved / block
    + transfers) flag bits + one burst per transfer. The rows-cut model
    charged a whole block to every row (8x a linear layer's weights)."""
    head, xs, ws = LAYERS[name]
    x = np.arange(1, np.prod(xs) + 1, dtype=np.int64).reshape(xs) % 97 + 1
    w = np.arange(1, np.prod(ws) + 1, dtype=np.int64).reshape(ws) % 89 + 1
    tr = _trace(tmp_path / "t.npz", head, x.astype(np.int16), w.astype(np.int16))
    layer = tr.layers[0]
    burst = 8
    none = run_layer(layer, tr, _arch(eyeriss_dict, "none", burst), first_layer=False)
    mp = none.mapping.mapping
    assert mp is not None
    block = run_layer(layer, tr, _arch(eyeriss_dict, "block", burst), first_layer=False,
                      mapping=mp).counts
    # transfers: with a burst larger than any transfer each costs exactly one
    big = run_layer(layer, tr, _arch(eyeriss_dict, "none", BIG_BURST_BYTES),
                    first_layer=False, mapping=mp).counts
    for tensor, rw in TENSORS:
        values = int(none.counts.words[Level.DRAM, tensor, rw])
        none_bits = _dram_bits(none.counts, tensor, rw)
        assert none_bits >= values * 16
        transfers = _dram_bits(big, tensor, rw) // (BIG_BURST_BYTES * 8)
        assert values == 0 or transfers > 0
        got = _dram_bits(block, tensor, rw)
        flags_max = -(-values // BLOCK) + transfers
        assert none_bits < got or values == 0
        assert got <= none_bits + flags_max + transfers * burst * 8, (tensor, got, none_bits)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_dense_tiles_cost_plain_plus_one_flag_per_block(eyeriss_dict, name):
    """Tile by tile (no bursts), dense data: exactly none + ceil(values / block)."""
    from accelsim.engine.simulate import _fold_filter_bits
    from accelsim.mapping.rowstationary import Mapping, strip_table
    from accelsim.workload.layer import layer_from_header

    head, xs, ws = LAYERS[name]
    layer = layer_from_header(head, 0)[0]
    fp = format_params(_arch(eyeriss_dict, "block", 0))
    # the tiling only shapes the tiles (2 output rows, 4 filters a pass, 1 channel)
    mp = Mapping(e=min(2, layer.p), p=1, q=1, r=1, t=1, gp=1, m=min(4, layer.k), n=1,
                 segments=1, r_rows=layer.r)
    wnz = np.ones((layer.groups * layer.k, layer.c, layer.r, layer.s), np.uint8)
    plain = _fold_filter_bits(layer, mp, wnz, K.FMT_NONE, fp, 1)
    coded = _fold_filter_bits(layer, mp, wnz, FORMAT_CODES["block"], fp, 1)
    values = plain // layer.weight_bits
    assert np.array_equal(coded, plain + -(-values // BLOCK))
    st = strip_table(layer, mp.e)
    inz = np.ones((layer.n, layer.groups * layer.c, layer.h, layer.w), np.uint8)
    summ = K._row_summaries(inz, fp)
    args = (layer.groups, layer.c, mp.n, mp.gp, 1, st.row_ptr, st.row_idx, layer.w)
    plain = K._ifmap_tile_bits(summ, inz, *args, K.FMT_NONE, fp, 16, 1)
    coded = K._ifmap_tile_bits(summ, inz, *args, FORMAT_CODES["block"], fp, 16, 1)
    assert np.array_equal(coded, plain + -(-(plain // 16) // BLOCK))


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("seed", [0, 1])
def test_block_bytes_never_grow_with_more_zeros(tmp_path, eyeriss_dict, name, seed):
    """Zeroing values in a fixed random order (each zero set holds the last):
    DRAM bytes under block never increase."""
    head, xs, ws = LAYERS[name]
    rng = np.random.default_rng(seed)
    x0 = rng.integers(1, 100, xs).astype(np.int16)
    w0 = rng.integers(1, 100, ws).astype(np.int16)
    ox, ow = rng.permutation(x0.size), rng.permutation(w0.size)
    arch = _arch(eyeriss_dict, "block", 8)
    mp = None
    last = None
    for i, zeros in enumerate((0.0, 0.3, 0.6, 0.9, 0.97, 1.0)):
        x, w = x0.copy().ravel(), w0.copy().ravel()
        x[ox[:round(zeros * x.size)]] = 0
        w[ow[:round(zeros * w.size)]] = 0
        tr = _trace(tmp_path / f"t{i}.npz", head, x.reshape(xs), w.reshape(ws))
        res = run_layer(tr.layers[0], tr, arch, first_layer=False, mapping=mp)
        mp = res.mapping.mapping
        moved = [_dram_bits(res.counts, t, rw) for t, rw in TENSORS]
        if last is not None:
            assert all(a <= b for a, b in zip(moved, last)), (zeros, moved, last)
        last = moved


class _Arch:  # the one attribute format_params reads
    def __init__(self, block):
        from accelsim.spec.arch import BlockSpec, FormatsSpec
        self.formats = FormatsSpec(block=BlockSpec(block_elems=block))


def test_block_bits_by_hand():
    arch = _Arch(4)
    # 2 rows of 3, read as one stream of 6 = a block of 4 and a short block of 2
    one = np.array([[1, 0, 0], [0, 0, 0]], np.uint8).reshape(1, 1, 2, 3)
    assert encoded_bits(one, "block", arch, 8) == 2 + 4 * 8
    # the nonzero in the short last block pays its 2 values, not 4
    tail = np.array([[0, 0, 0], [0, 0, 1]], np.uint8).reshape(1, 1, 2, 3)
    assert encoded_bits(tail, "block", arch, 8) == 2 + 2 * 8
    # a block spanning a row end holds a nonzero of either row
    mid = np.array([[0, 0, 0], [1, 0, 0]], np.uint8).reshape(1, 1, 2, 3)
    assert encoded_bits(mid, "block", arch, 8) == 2 + 4 * 8
    # dense: 6 values plain plus 2 flags; all zero: the flags only
    assert encoded_bits(np.ones((1, 1, 2, 3), np.uint8), "block", arch, 8) == 2 + 6 * 8
    assert encoded_bits(np.zeros((1, 1, 2, 3), np.uint8), "block", arch, 8) == 2
    # a linear layer's filters [K=2, C=5, 1, 1], one pass, one stream of 10:
    # blocks (0-3) (4-7) (8-9); nonzeros at filter 0 c 4 and filter 1 c 4 (9)
    w = np.zeros((2, 5, 1, 1), np.uint8)
    w[0, 4] = w[1, 4] = 1
    fp = format_params(_Arch(4))
    bits = K._filter_tile_bits(w, 1, 2, 5, 2, 2, 1, 5, FORMAT_CODES["block"], fp, 16, 1)
    assert bits.ravel().tolist() == [3 + (4 + 2) * 16]
