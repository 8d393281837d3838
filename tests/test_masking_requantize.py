"""A dropping mask on an 8-bit bridge trace with per-channel weight scales
(accelsim.workload.masking): the output values the mask reaches are the
bridge's arithmetic on the masked input, each output channel at its own weight
scale and bias, rounded to nearest; every other value keeps its recorded code.

The committed digit traces cannot tell these apart: they are per-tensor and 16
bits wide (no requantized value lands in [0.5, 1), where rounding and
truncation differ), and their tests mask either everything or nothing of an
output. The recompute here is written out with torch, independent of
accelsim's arithmetic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

torch = pytest.importorskip("torch")  # CI installs torch; this only guards a bare checkout
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from accelsim.bridge.torch import export_trace  # noqa: E402
from accelsim.workload.layer import LayerKind  # noqa: E402
from accelsim.workload.masking import output_nonzero, quantized_output  # noqa: E402
from accelsim.workload.trace import read_trace  # noqa: E402

BATCH = 8
MASKED_IMAGES = 4
"""The mask drops values of the first 4 images only: the outputs of the other
4 are not reached (a conv2d's or linear's output reads one image's input)."""


class Small(nn.Module):
    """conv-relu, conv-relu-pool, linear-relu, linear: every MAC layer with a bias."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 4 * 4, 12)
        self.fc2 = nn.Linear(12, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def _export(path):
    """Small, seeded and untrained, on 8 digits images, exported at 8 bits with
    one weight scale per output channel. Each output channel's weights are
    scaled by its own power of two (2**-3 .. 2**3), so the channels' scales
    differ 64-fold and their mean is no channel's scale."""
    from sklearn.datasets import load_digits

    torch.manual_seed(0)
    net = Small().eval()
    with torch.no_grad():
        for m in (net.conv1, net.conv2, net.fc1, net.fc2):
            k = m.weight.shape[0]
            spread = 2.0 ** torch.linspace(-3, 3, k)[torch.randperm(k)]
            m.weight.mul_(spread.reshape((-1,) + (1,) * (m.weight.ndim - 1)))
            m.bias.uniform_(-0.3, 0.3)
    images = load_digits().images[:BATCH] / 16.0
    export_trace(net, torch.tensor(images, dtype=torch.float32).unsqueeze(1), path,
                 weight_bits=8, act_bits=8, per_channel=True)
    return read_trace(path)


@pytest.fixture(scope="module")
def trace(tmp_path_factory):
    return _export(tmp_path_factory.mktemp("bridge8") / "small.npz")


def _tensors(trace, name):
    layer = next(lay for lay in trace.mac_layers if lay.name == name)
    q = layer.quantization
    x, w, y = (trace.tensor(layer, role) for role in ("input", "weight", "output"))
    return layer, x, w, y, q, trace.arrays[q.bias]


def _mac(layer, x, w, b=None):
    """The layer's conv2d / linear in float64 (torch), ``b`` added per channel."""
    x, w = torch.from_numpy(np.asarray(x, np.float64)), torch.from_numpy(np.asarray(w, np.float64))
    b = None if b is None else torch.from_numpy(np.asarray(b, np.float64))
    if layer.kind is LayerKind.LINEAR:
        return F.linear(x, w, b).numpy()
    return F.conv2d(x, w, b, stride=(layer.stride_h, layer.stride_w),
                    padding=(layer.pad_h, layer.pad_w),
                    dilation=(layer.dilation_h, layer.dilation_w), groups=layer.groups).numpy()


def _unrounded(layer, x, w, q, bias, *, activation=True):
    """The bridge's output over ``output_scale``, before rounding: input codes x
    act_scale, weight codes x their channel's scale, bias codes x act_scale x
    that scale, the conv2d / linear, the activation (unless not ``activation``)."""
    ws = np.asarray(q.weight_scale, np.float64)
    assert ws.shape == (w.shape[0],)
    y = _mac(layer, x * q.act_scale, w * ws.reshape((-1,) + (1,) * (w.ndim - 1)),
             bias * (q.act_scale * ws))
    if activation and layer.activation == "relu":
        y = np.maximum(y, 0)
    return y / q.output_scale


def _with_a_half(layer, x, w, q, bias, at):
    """``bias`` with the code of the channel of output position ``at`` moved so
    that the value there, before rounding, lands near 0.75: rounding gives 1,
    truncation 0 (a bias step of that channel is act_scale x weight_scale /
    output_scale, far below 0.25 here)."""
    k = at[1]
    step = q.act_scale * q.weight_scale[k] / q.output_scale
    assert step < 0.25
    pre = _unrounded(layer, x, w, q, bias, activation=False)[at]
    moved = bias.copy()
    moved[k] += int(np.rint((0.75 - pre) / step))
    return moved


def _mask(x, seed):
    """Drops 40% of the values of the first MASKED_IMAGES images, none of the others."""
    mask = (np.random.default_rng(seed).random(x.shape) >= 0.4).astype(np.uint8)
    mask[MASKED_IMAGES:] = 1
    return mask


def _reached(layer, x, w, mask):
    """Output values whose accumulator the dropped values change (their codes
    convolved with the weight codes: a nonzero sum)."""
    return _mac(layer, np.where(mask != 0, 0, x), w) != 0


@pytest.mark.parametrize("name", ["conv2", "fc1"])
def test_reached_values_are_the_bridge_arithmetic_per_channel(trace, name):
    """Where the mask reaches, the output is the masked input through the
    bridge's arithmetic, at each channel's weight scale and bias and rounded to
    nearest: codes alike, and so the zeros output_nonzero gives. One value is
    put in [0.5, 1) (the bias of its channel moved): it must be nonzero."""
    layer, x, w, y, q, bias = _tensors(trace, name)
    ws = np.asarray(q.weight_scale)
    assert ws.max() / ws.min() > 8 and np.ptp(bias) > 0  # per channel, far from their mean
    mask = _mask(x, seed=3)
    kept = np.where(mask != 0, x, 0).astype(x.dtype)
    reached = _reached(layer, x, w, mask)
    assert reached[:MASKED_IMAGES].any() and not reached[MASKED_IMAGES:].any()
    at = tuple(np.argwhere(reached)[0])
    bias = _with_a_half(layer, kept, w, q, bias, at)
    u = _unrounded(layer, kept, w, q, bias)
    assert 0.5 <= u[at] < 1
    assert np.array_equal(quantized_output(layer, kept, w, q, bias), np.rint(u))
    nonzero, recomputed = output_nonzero(layer, x, w, y, mask, q, bias)
    assert recomputed and nonzero[at]
    assert np.array_equal(nonzero[reached], np.rint(u[reached]) != 0)
    # what the check can tell: the zeros one mean weight scale or one mean bias
    # would give instead
    mean_scale = dataclasses.replace(q, weight_scale=(float(ws.mean()),) * len(ws))
    mean_bias = np.full_like(bias, np.rint(bias.mean()))
    for u_other in (_unrounded(layer, kept, w, mean_scale, bias),
                    _unrounded(layer, kept, w, q, mean_bias)):
        assert ((np.rint(u_other) != 0) != (np.rint(u) != 0))[reached].any()


def test_values_the_mask_does_not_reach_keep_their_recorded_code(trace):
    """Outside what the mask reaches the recorded zeros stay, though a
    recompute from the codes disagrees with some of them: the recorded output
    is the float model's, quantized (accelsim.workload.masking, "Why 1
    recomputes only what the mask reaches")."""
    layer, x, w, y, q, bias = _tensors(trace, "conv2")
    full = np.rint(_unrounded(layer, x, w, q, bias))
    mask = _mask(x, seed=3)
    reached = _reached(layer, x, w, mask)
    unreached = ~reached
    disagree = (full != 0) != (y != 0)
    assert (disagree & unreached).any()  # so recomputing everything would show
    nonzero, recomputed = output_nonzero(layer, x, w, y, mask, q, bias)
    assert recomputed
    assert np.array_equal(nonzero[unreached], y[unreached] != 0)
    kept = np.where(mask != 0, x, 0).astype(x.dtype)
    assert np.array_equal(nonzero[reached], np.rint(_unrounded(layer, kept, w, q, bias))[reached]
                          != 0)
