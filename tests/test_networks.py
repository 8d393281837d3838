"""Tests of the built-in network shapes (accelsim.workload.networks)."""

from __future__ import annotations

import pytest

from accelsim.workload.layer import LayerKind, layer_from_header
from accelsim.workload.networks import NETWORKS, OTHER_KINDS, network_layers

NAMES = ("lenet5", "alexnet", "vgg16", "resnet18", "resnet50", "mobilenet_v2",
         "squeezenet1_1", "shufflenet_v2")
BATCHES = (1, 3)

# Padded MAC totals (N*G*K*C*P*Q*R*S summed over conv2d and linear) at batch 1,
# exactly as built; the comments give the reference each was checked against.
PADDED_MACS = {
    "lenet5": 416_520,
    "alexnet": 724_406_816,
    "vgg16": 15_470_264_320,        # 15.47 G
    "resnet18": 1_814_073_344,      # 1.814 G, fc included
    "resnet50": 4_089_184_256,      # 4.089 G, fc included
    "mobilenet_v2": 300_774_272,    # 300.8 M
    "squeezenet1_1": 349_151_936,   # 349-352 M
    "shufflenet_v2": 144_907_992,   # within 2% of 146 M
}
REFERENCE = {  # name -> (reference total, relative tolerance)
    "vgg16": (15_470_264_320, 0.0),
    "resnet18": (1_814_073_344, 0.01),
    "resnet50": (4_089_184_256, 0.01),
    "mobilenet_v2": (300_774_272, 0.01),
    "shufflenet_v2": (146_000_000, 0.02),
}

ALEXNET_BATCH4 = {"conv1": 421_660_800, "conv2": 895_795_200, "conv3": 598_081_536,
                  "conv4": 448_561_152, "conv5": 299_040_768}

MAC_KEYS = {"weight_bits": 16, "act_bits": 16, "operator": "int"}


def parsed(name: str, batch: int):
    entries = network_layers(name, batch)
    layers = []
    for i, entry in enumerate(entries):
        layer, problems = layer_from_header(entry, i)
        assert problems == [], problems
        layers.append(layer)
    return entries, layers


def padded_total(name: str, batch: int) -> int:
    _, layers = parsed(name, batch)
    return sum(l.macs_padded for l in layers if l.is_mac)


def producers(entries: list[dict], index: int) -> list[str]:
    """Names of the layers whose outputs entry ``index`` reads.

    The previous entry, except: ``add`` / ``concat`` name theirs in ``inputs``;
    a block's shortcut / first branch reads the block input, the output of the
    entry just before the block's first entry (ResNet ``downsample``,
    ShuffleNet ``branch2.pw1`` of a downsampling unit); a fire module's
    ``expand3x3`` reads its ``squeeze``.
    """
    entry = entries[index]
    name = entry["name"]
    if "inputs" in entry:
        return list(entry["inputs"])
    block, _, leaf = name.rpartition(".")
    is_block_input = (
        leaf == "downsample"
        or (name.endswith(".branch2.pw1")
            and any(e["name"] == name.replace("branch2.pw1", "branch1.dw") for e in entries)))
    if is_block_input:
        prefix = name.split(".")[0] + "." + name.split(".")[1] + "."
        first = next(i for i, e in enumerate(entries) if e["name"].startswith(prefix))
        return [entries[first - 1]["name"]]
    if leaf == "expand3x3":
        return [f"{block}.squeeze"]
    return [entries[index - 1]["name"]]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", NAMES)
def test_entries_parse_and_follow_schema(name, batch):
    entries, layers = parsed(name, batch)
    assert entries and entries[0]["input_shape"][0] == batch
    for entry, layer in zip(entries, layers):
        assert "tensors" not in entry and "dilation" not in entry
        assert layer.output_shape[0] == batch
        if layer.is_mac:
            for key, value in MAC_KEYS.items():
                assert entry[key] == value, (entry["name"], key)
            assert entry["activation"] in ("relu", "none")
            if layer.kind is LayerKind.CONV2D:
                assert set(entry) >= {"out_channels", "kernel", "stride", "padding",
                                      "groups"}
        else:
            assert entry["kind"] in OTHER_KINDS, entry
            assert ("inputs" in entry) == (entry["kind"] in ("add", "concat"))
        assert entry["kind"] not in ("relu", "batchnorm", "batch_norm")


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", NAMES)
def test_names_unique(name, batch):
    names = [e["name"] for e in network_layers(name, batch)]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", NAMES)
def test_shapes_chain(name, batch):
    entries, layers = parsed(name, batch)
    out = {}  # name -> output shape
    for i, (entry, layer) in enumerate(zip(entries, layers)):
        if i == 0:
            out[entry["name"]] = layer.output_shape
            continue
        srcs = producers(entries, i)
        for src in srcs:
            assert src in out, f"{entry['name']}: producer {src} not emitted before it"
        shapes = [out[s] for s in srcs]
        if entry["kind"] == "add":
            assert len(srcs) == 2
            assert all(s == layer.input_shape == layer.output_shape for s in shapes), entry
        elif entry["kind"] == "concat":
            assert len(srcs) >= 2
            assert shapes[0] == layer.input_shape
            assert all(s[:1] + s[2:] == layer.output_shape[:1] + layer.output_shape[2:]
                       for s in shapes)
            assert sum(s[1] for s in shapes) == layer.output_shape[1]
        else:
            assert len(srcs) == 1
            assert shapes[0] == layer.input_shape, (entry["name"], srcs, shapes[0])
        out[entry["name"]] = layer.output_shape
    last = layers[-1]
    n_classes = {"lenet5": 10}.get(name, 1000)
    assert last.output_shape == (batch, n_classes)


@pytest.mark.parametrize("name", NAMES)
def test_padded_mac_totals_scale_with_batch(name):
    total = padded_total(name, 1)
    assert total == PADDED_MACS[name]
    assert padded_total(name, 3) == 3 * total
    if name in REFERENCE:
        ref, tol = REFERENCE[name]
        assert abs(total - ref) <= tol * ref
    if name == "squeezenet1_1":
        assert 349_000_000 <= total <= 352_000_000


def test_alexnet_per_layer_exact():
    entries, layers = parsed("alexnet", 4)
    assert [e["name"] for e in entries] == [
        "conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5",
        "flatten", "fc6", "fc7", "fc8"]
    got = {l.name: l.macs_padded for l in layers if l.kind is LayerKind.CONV2D}
    assert got == ALEXNET_BATCH4
    by_name = {l.name: l for l in layers}
    assert by_name["conv1"].output_shape == (4, 96, 55, 55)
    assert by_name["pool5"].output_shape == (4, 256, 6, 6)
    assert (by_name["fc6"].c, by_name["fc6"].k) == (9216, 4096)
    assert [by_name[f"conv{i}"].groups for i in range(1, 6)] == [1, 2, 1, 2, 2]
    assert by_name["fc8"].activation == "none"
    assert all(by_name[n].activation == "relu"
               for n in ("conv1", "conv2", "conv3", "conv4", "conv5", "fc6", "fc7"))


def test_layout_details():
    names = [e["name"] for e in network_layers("resnet50", 1)]
    assert names[:2] == ["conv1", "maxpool"] and names[-3:] == ["avgpool", "flatten", "fc"]
    assert "layer1.0.downsample" in names and "layer1.1.downsample" not in names
    r50 = {e["name"]: e for e in network_layers("resnet50", 1)}
    assert r50["layer2.0.conv2"]["stride"] == [2, 2] and r50["layer2.0.conv1"]["stride"] == [1, 1]
    r18 = {e["name"]: e for e in network_layers("resnet18", 1)}
    assert "layer1.0.downsample" not in r18 and r18["layer2.0.conv1"]["stride"] == [2, 2]
    mb = {e["name"]: e for e in network_layers("mobilenet_v2", 1)}
    assert mb["features.18"]["out_channels"] == 1280
    assert mb["features.2.dw"]["groups"] == 96 and mb["features.2.project"]["activation"] == "none"
    assert "features.1.expand" not in mb and "features.3.add" in mb and "features.2.add" not in mb
    sq = {e["name"]: e for e in network_layers("squeezenet1_1", 1)}
    assert sq["fire2.concat"]["output_shape"] == [1, 128, 55, 55]
    assert sq["fire9.concat"]["output_shape"] == [1, 512, 13, 13]
    sh = {e["name"]: e for e in network_layers("shufflenet_v2", 1)}
    assert sh["stage2.0.shuffle"]["output_shape"] == [1, 116, 28, 28]
    assert sh["stage4.3.shuffle"]["output_shape"] == [1, 464, 7, 7]
    assert sh["stage3.1.split"]["output_shape"] == [1, 116, 14, 14]
    assert sum(n.startswith("stage3.") and n.endswith(".concat") for n in sh) == 8


def test_unknown_network():
    with pytest.raises(KeyError) as info:
        network_layers("nope", 1)
    for known in NAMES:
        assert known in str(info.value)
    assert set(NETWORKS) == set(NAMES)
