"""Built-in network shapes for `accelsim synth` (workload stage of the pipeline).

Each network is a function ``batch -> list of layer header dicts`` in the trace
format v1 schema of :mod:`accelsim.workload.layer` (no ``tensors`` key: these are
shapes only). The lists are in execution order and every shape is computed here
with integer arithmetic, so the entries chain: a layer's ``input_shape`` is the
output shape of the layer that produces its input.

Conventions shared by every network:

* Batch norm is folded into the convolution before it and is not emitted.
  A ReLU (or ReLU6) that directly follows a conv / linear layer (after its batch
  norm) is fused into it as ``activation: "relu"``; otherwise ``"none"``.
  A ReLU that follows a residual ``add`` is recorded on the ``add`` entry.
* Dropout and local response normalisation are not emitted (no MACs, and the
  ``kind`` vocabulary below has no entry for them); no final softmax is emitted
  (the torchvision models end at the logits).
* Non-MAC ops are entries of their own, with ``kind`` one of :data:`OTHER_KINDS`
  and ``input_shape`` / ``output_shape``. ``add`` and ``concat`` carry
  ``inputs``, the names of the producing layers, and their ``input_shape`` is
  the shape of ONE input (the first). ``channel_split`` has the shape of one
  half as its ``output_shape``; both halves are consumed by name.
* Output sizes are ``(H + 2*pad - k) // stride + 1`` (floor). Pools in
  ``ceil_mode`` (SqueezeNet) use PyTorch's rule: ``ceil((H + 2*pad - k) / stride)
  + 1``, minus one if the last window would start in the right padding.
* All layers are 16-bit integer (``weight_bits``, ``act_bits`` 16, ``operator``
  ``int``); dilation is omitted (default [1, 1]).
"""

from __future__ import annotations

from typing import Callable

from accelsim.workload.layer import pool_out_size

OTHER_KINDS = ("maxpool", "avgpool", "adaptive_avgpool", "add", "concat",
               "channel_shuffle", "channel_split", "flatten", "softmax")

Shape = list[int]
Entry = dict


# ---- entry builders -----------------------------------------------------------
# Each returns ``(entry, output_shape)``; :func:`_emit` appends the entry to a
# network's list and hands back the output shape.

def _mac_keys(act: str) -> dict:
    return {"weight_bits": 16, "act_bits": 16, "operator": "int", "activation": act}


def _conv(name: str, in_shape: Shape, out_ch: int, k: int, stride: int = 1,
          pad: int = 0, groups: int = 1, act: str = "relu") -> tuple[Entry, Shape]:
    """A square ``k`` x ``k`` conv2d entry and its output shape [N, K, P, Q]."""
    n, c, h, w = in_shape
    if c % groups or out_ch % groups:
        raise ValueError(f"{name}: groups {groups} must divide {c} and {out_ch}")
    entry = {"name": name, "kind": "conv2d", "input_shape": list(in_shape),
             "out_channels": out_ch, "kernel": [k, k], "stride": [stride, stride],
             "padding": [pad, pad], "groups": groups, **_mac_keys(act)}
    p = (h + 2 * pad - k) // stride + 1
    q = (w + 2 * pad - k) // stride + 1
    return entry, [n, out_ch, p, q]


def _linear(name: str, in_shape: Shape, out_features: int,
            act: str = "relu") -> tuple[Entry, Shape]:
    """A fully connected entry on [N, C] and its output shape [N, out_features]."""
    n, _ = in_shape
    entry = {"name": name, "kind": "linear", "input_shape": list(in_shape),
             "out_features": out_features, **_mac_keys(act)}
    return entry, [n, out_features]


def _op(name: str, kind: str, in_shape: Shape, out_shape: Shape,
        inputs: list[str] | None = None, act: str | None = None) -> tuple[Entry, Shape]:
    """A non-MAC entry (``kind`` in :data:`OTHER_KINDS`)."""
    assert kind in OTHER_KINDS, kind
    entry = {"name": name, "kind": kind, "input_shape": list(in_shape),
             "output_shape": list(out_shape)}
    if inputs is not None:
        entry["inputs"] = list(inputs)
    if act is not None:
        entry["activation"] = act
    return entry, list(out_shape)


def _pool(name: str, in_shape: Shape, k: int, stride: int, pad: int = 0,
          kind: str = "maxpool", ceil: bool = False) -> tuple[Entry, Shape]:
    """A square max (or average) pool; ``ceil`` selects PyTorch's ceil_mode.
    The entry records its window (kernel, stride, padding, ceil_mode)."""
    n, c, h, w = in_shape
    out = [n, c, pool_out_size(h, k, stride, pad, ceil), pool_out_size(w, k, stride, pad, ceil)]
    entry, out = _op(name, kind, in_shape, out)
    entry.update(kernel=[k, k], stride=[stride, stride], padding=[pad, pad], ceil_mode=ceil)
    return entry, out


def _global_pool(name: str, in_shape: Shape) -> tuple[Entry, Shape]:
    """Adaptive average pool to 1x1."""
    n, c, _, _ = in_shape
    return _op(name, "adaptive_avgpool", in_shape, [n, c, 1, 1])


def _flatten(name: str, in_shape: Shape) -> tuple[Entry, Shape]:
    n, *rest = in_shape
    size = 1
    for d in rest:
        size *= d
    return _op(name, "flatten", in_shape, [n, size])


def _add(name: str, in_shape: Shape, inputs: list[str],
         act: str = "none") -> tuple[Entry, Shape]:
    """Element-wise sum of equally shaped inputs (``act``: a ReLU after the sum)."""
    return _op(name, "add", in_shape, in_shape, inputs=inputs, act=act)


def _concat(name: str, shapes: list[Shape], inputs: list[str]) -> tuple[Entry, Shape]:
    """Channel concatenation; ``input_shape`` is the first input's shape."""
    first = shapes[0]
    out = [first[0], sum(s[1] for s in shapes), *first[2:]]
    return _op(name, "concat", first, out, inputs=inputs)


def _emit(layers: list[Entry], built: tuple[Entry, Shape]) -> Shape:
    entry, out_shape = built
    layers.append(entry)
    return out_shape


# ---- networks -----------------------------------------------------------------

def lenet5(batch: int) -> list[Entry]:
    """LeNet-5, the common variant (max pooling, ReLU, 32x32x1 input).

    Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, "Gradient-based learning applied
    to document recognition," Proc. IEEE 86(11), 1998. The paper's C3 partial
    connection table, subsampling layers and RBF output are replaced, as usual,
    by a full 6->16 conv, max pools and a linear fc3.
    """
    layers: list[Entry] = []
    x = [batch, 1, 32, 32]
    x = _emit(layers, _conv("conv1", x, 6, 5))            # 28x28
    x = _emit(layers, _pool("pool1", x, 2, 2))            # 14x14
    x = _emit(layers, _conv("conv2", x, 16, 5))           # 10x10
    x = _emit(layers, _pool("pool2", x, 2, 2))            # 5x5
    x = _emit(layers, _flatten("flatten", x))             # 400
    x = _emit(layers, _linear("fc1", x, 120))
    x = _emit(layers, _linear("fc2", x, 84))
    _emit(layers, _linear("fc3", x, 10, act="none"))
    return layers


def alexnet(batch: int) -> list[Entry]:
    """The original two-GPU AlexNet (grouped conv2, conv4, conv5), 227x227x3 input.

    A. Krizhevsky, I. Sutskever, G. E. Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks," NIPS 2012; shapes as used by Eyeriss:
    Y.-H. Chen, T. Krishna, J. S. Emer, V. Sze, "Eyeriss: An Energy-Efficient
    Reconfigurable Accelerator for Deep Convolutional Neural Networks," IEEE JSSC
    52(1), 2017 (227x227 input so that conv1 gives 55x55 without padding).
    Local response normalisation and dropout are not emitted.
    """
    layers: list[Entry] = []
    x = [batch, 3, 227, 227]
    x = _emit(layers, _conv("conv1", x, 96, 11, stride=4))             # 55x55
    x = _emit(layers, _pool("pool1", x, 3, 2))                         # 27x27
    x = _emit(layers, _conv("conv2", x, 256, 5, pad=2, groups=2))
    x = _emit(layers, _pool("pool2", x, 3, 2))                         # 13x13
    x = _emit(layers, _conv("conv3", x, 384, 3, pad=1))
    x = _emit(layers, _conv("conv4", x, 384, 3, pad=1, groups=2))
    x = _emit(layers, _conv("conv5", x, 256, 3, pad=1, groups=2))
    x = _emit(layers, _pool("pool5", x, 3, 2))                         # 6x6
    x = _emit(layers, _flatten("flatten", x))                          # 9216
    x = _emit(layers, _linear("fc6", x, 4096))
    x = _emit(layers, _linear("fc7", x, 4096))
    _emit(layers, _linear("fc8", x, 1000, act="none"))
    return layers


def vgg16(batch: int) -> list[Entry]:
    """VGG-16 (configuration D), 224x224x3 input, all convs 3x3 pad 1.

    K. Simonyan, A. Zisserman, "Very Deep Convolutional Networks for Large-Scale
    Image Recognition," ICLR 2015.
    """
    layers: list[Entry] = []
    x = [batch, 3, 224, 224]
    for stage, (channels, convs) in enumerate(
            ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)), start=1):
        for i in range(1, convs + 1):
            x = _emit(layers, _conv(f"conv{stage}_{i}", x, channels, 3, pad=1))
        x = _emit(layers, _pool(f"pool{stage}", x, 2, 2))
    x = _emit(layers, _flatten("flatten", x))                          # 25088
    x = _emit(layers, _linear("fc6", x, 4096))
    x = _emit(layers, _linear("fc7", x, 4096))
    _emit(layers, _linear("fc8", x, 1000, act="none"))
    return layers


def _resnet(batch: int, blocks: tuple[int, ...], bottleneck: bool) -> list[Entry]:
    """torchvision ResNet: stem, four stages (widths 64..512), avgpool, fc."""
    layers: list[Entry] = []
    x = [batch, 3, 224, 224]
    x = _emit(layers, _conv("conv1", x, 64, 7, stride=2, pad=3))      # 112x112
    x = _emit(layers, _pool("maxpool", x, 3, 2, pad=1))                # 56x56
    prev = "maxpool"
    expansion = 4 if bottleneck else 1
    for stage, count in enumerate(blocks, start=1):
        width = 64 * 2 ** (stage - 1)
        for b in range(count):
            stride = 2 if stage > 1 and b == 0 else 1
            pre = f"layer{stage}.{b}"
            block_in = x
            if bottleneck:  # v1.5: the stride is on the 3x3 conv
                y = _emit(layers, _conv(f"{pre}.conv1", x, width, 1))
                y = _emit(layers, _conv(f"{pre}.conv2", y, width, 3, stride=stride, pad=1))
                y = _emit(layers, _conv(f"{pre}.conv3", y, width * expansion, 1, act="none"))
                last = f"{pre}.conv3"
            else:
                y = _emit(layers, _conv(f"{pre}.conv1", x, width, 3, stride=stride, pad=1))
                y = _emit(layers, _conv(f"{pre}.conv2", y, width, 3, pad=1, act="none"))
                last = f"{pre}.conv2"
            identity = prev
            if stride != 1 or block_in[1] != width * expansion:
                _emit(layers, _conv(f"{pre}.downsample", block_in, width * expansion, 1,
                                    stride=stride, act="none"))
                identity = f"{pre}.downsample"
            x = _emit(layers, _add(f"{pre}.add", y, [last, identity], act="relu"))
            prev = f"{pre}.add"
    x = _emit(layers, _global_pool("avgpool", x))
    x = _emit(layers, _flatten("flatten", x))
    _emit(layers, _linear("fc", x, 1000, act="none"))
    return layers


def resnet18(batch: int) -> list[Entry]:
    """ResNet-18 (basic blocks 2-2-2-2), torchvision layout, 224x224x3 input.

    K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
    Recognition," CVPR 2016. Downsampling blocks stride on conv1 and on the
    1x1 projection shortcut (``downsample``).
    """
    return _resnet(batch, (2, 2, 2, 2), bottleneck=False)


def resnet50(batch: int) -> list[Entry]:
    """ResNet-50 v1.5 (bottlenecks 3-4-6-3), torchvision layout, 224x224x3 input.

    K. He, X. Zhang, S. Ren, J. Sun, "Deep Residual Learning for Image
    Recognition," CVPR 2016. As in torchvision (v1.5) the stride of a
    downsampling bottleneck is on its 3x3 conv2 (the paper puts it on conv1).
    """
    return _resnet(batch, (3, 4, 6, 3), bottleneck=True)


def mobilenet_v2(batch: int) -> list[Entry]:
    """MobileNetV2, width 1.0, torchvision layout, 224x224x3 input.

    M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen, "MobileNetV2:
    Inverted Residuals and Linear Bottlenecks," CVPR 2018 (Table 2). ReLU6 is
    recorded as ``relu``; the projection conv is linear (``none``).
    """
    layers: list[Entry] = []
    x = [batch, 3, 224, 224]
    x = _emit(layers, _conv("features.0", x, 32, 3, stride=2, pad=1))  # 112x112
    prev = "features.0"
    # (expansion t, output channels c, repeats n, first stride s), paper Table 2
    settings = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
    i = 1
    for t, c, n, s in settings:
        for rep in range(n):
            stride = s if rep == 0 else 1
            pre = f"features.{i}"
            block_in = x
            hidden = block_in[1] * t
            y = x
            if t != 1:
                y = _emit(layers, _conv(f"{pre}.expand", y, hidden, 1))
            y = _emit(layers, _conv(f"{pre}.dw", y, hidden, 3, stride=stride, pad=1,
                                    groups=hidden))
            y = _emit(layers, _conv(f"{pre}.project", y, c, 1, act="none"))
            prev_block = prev
            prev = f"{pre}.project"
            if stride == 1 and block_in[1] == c:
                y = _emit(layers, _add(f"{pre}.add", y, [prev, prev_block]))
                prev = f"{pre}.add"
            x = y
            i += 1
    x = _emit(layers, _conv(f"features.{i}", x, 1280, 1))                # features.18
    x = _emit(layers, _global_pool("avgpool", x))
    x = _emit(layers, _flatten("flatten", x))
    _emit(layers, _linear("classifier", x, 1000, act="none"))
    return layers


def squeezenet1_1(batch: int) -> list[Entry]:
    """SqueezeNet v1.1 (torchvision), 224x224x3 input.

    F. N. Iandola, S. Han, M. W. Moskewicz, K. Ashraf, W. J. Dally, K. Keutzer,
    "SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB
    model size," arXiv:1602.07360, 2016 (v1.1 from the authors' repository:
    3x3/2 conv1 with 64 channels, pools moved earlier). Max pools use
    ``ceil_mode`` as in torchvision (at 224 input floor gives the same sizes).
    """
    layers: list[Entry] = []
    x = [batch, 3, 224, 224]
    x = _emit(layers, _conv("conv1", x, 64, 3, stride=2))              # 111x111
    x = _emit(layers, _pool("pool1", x, 3, 2, ceil=True))              # 55x55
    # fire index -> (squeeze, expand1x1 = expand3x3); a pool follows fire3, fire5
    fires = {2: (16, 64), 3: (16, 64), 4: (32, 128), 5: (32, 128),
             6: (48, 192), 7: (48, 192), 8: (64, 256), 9: (64, 256)}
    for f, (squeeze, expand) in fires.items():
        pre = f"fire{f}"
        sq = _emit(layers, _conv(f"{pre}.squeeze", x, squeeze, 1))
        e1 = _emit(layers, _conv(f"{pre}.expand1x1", sq, expand, 1))
        e3 = _emit(layers, _conv(f"{pre}.expand3x3", sq, expand, 3, pad=1))
        x = _emit(layers, _concat(f"{pre}.concat", [e1, e3],
                                  [f"{pre}.expand1x1", f"{pre}.expand3x3"]))
        if f in (3, 5):
            x = _emit(layers, _pool(f"pool{f}", x, 3, 2, ceil=True))    # 27, 13
    x = _emit(layers, _conv("conv10", x, 1000, 1))
    x = _emit(layers, _global_pool("avgpool", x))
    _emit(layers, _flatten("flatten", x))
    return layers


def shufflenet_v2(batch: int) -> list[Entry]:
    """ShuffleNet V2 1.0x (torchvision ``shufflenet_v2_x1_0``), 224x224x3 input.

    N. Ma, X. Zhang, H.-T. Zheng, J. Sun, "ShuffleNet V2: Practical Guidelines
    for Efficient CNN Architecture Design," ECCV 2018 (Table 5, 1x: stage
    channels 116, 232, 464; conv5 1024). The depthwise convs are followed by
    batch norm only (``none``); the 1x1 convs by ReLU. The channel shuffle has
    2 groups.
    """
    layers: list[Entry] = []
    x = [batch, 3, 224, 224]
    x = _emit(layers, _conv("conv1", x, 24, 3, stride=2, pad=1))      # 112x112
    x = _emit(layers, _pool("maxpool", x, 3, 2, pad=1))                # 56x56
    for stage, (channels, units) in zip((2, 3, 4), ((116, 4), (232, 8), (464, 4))):
        half = channels // 2
        for u in range(units):
            pre = f"stage{stage}.{u}"
            if u == 0:  # downsampling unit: both branches see the whole input
                cin = x[1]
                b1 = _emit(layers, _conv(f"{pre}.branch1.dw", x, cin, 3, stride=2, pad=1,
                                         groups=cin, act="none"))
                b1 = _emit(layers, _conv(f"{pre}.branch1.pw", b1, half, 1))
                left, left_name, b2_in = b1, f"{pre}.branch1.pw", x
                stride = 2
            else:       # basic unit: split channels, branch2 on the second half
                left = _emit(layers, _op(f"{pre}.split", "channel_split", x,
                                         [x[0], x[1] // 2, *x[2:]]))
                left_name, b2_in = f"{pre}.split", left
                stride = 1
            b2 = _emit(layers, _conv(f"{pre}.branch2.pw1", b2_in, half, 1))
            b2 = _emit(layers, _conv(f"{pre}.branch2.dw", b2, half, 3, stride=stride, pad=1,
                                     groups=half, act="none"))
            b2 = _emit(layers, _conv(f"{pre}.branch2.pw2", b2, half, 1))
            x = _emit(layers, _concat(f"{pre}.concat", [left, b2],
                                      [left_name, f"{pre}.branch2.pw2"]))
            x = _emit(layers, _op(f"{pre}.shuffle", "channel_shuffle", x, x))
    x = _emit(layers, _conv("conv5", x, 1024, 1))
    x = _emit(layers, _global_pool("avgpool", x))
    x = _emit(layers, _flatten("flatten", x))
    _emit(layers, _linear("fc", x, 1000, act="none"))
    return layers


NETWORKS: dict[str, Callable[[int], list[dict]]] = {
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
    "resnet18": resnet18,
    "resnet50": resnet50,
    "mobilenet_v2": mobilenet_v2,
    "squeezenet1_1": squeezenet1_1,
    "shufflenet_v2": shufflenet_v2,
}


def network_layers(name: str, batch: int) -> list[dict]:
    """The layer header dicts of built-in network ``name`` at batch size ``batch``."""
    if name not in NETWORKS:
        raise KeyError(f"unknown network {name!r}; known networks: {', '.join(NETWORKS)}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive integer (got {batch!r})")
    return NETWORKS[name](batch)


__all__ = ["NETWORKS", "OTHER_KINDS", "network_layers", "lenet5", "alexnet", "vgg16",
           "resnet18", "resnet50", "mobilenet_v2", "squeezenet1_1", "shufflenet_v2"]
