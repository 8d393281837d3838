"""Shared fixtures: the shipped arch, a tiny arch, and tiny traces built on the fly."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from accelsim.spec.load import arch_from_dict
from accelsim.spec.yamlio import read_yaml
from accelsim.workload.synth import random_tensor
from accelsim.workload.trace import read_trace, write_trace

ROOT = Path(__file__).resolve().parents[1]
EYERISS_YAML = ROOT / "arch_configs" / "eyeriss_v1.yaml"


def validate_eyeriss():
    """benchmarks/validate_eyeriss.py as a module (it is a script, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("validate_eyeriss",
                                                  ROOT / "benchmarks" / "validate_eyeriss.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def eyeriss_dict() -> dict:
    return read_yaml(EYERISS_YAML)


@pytest.fixture(scope="session")
def eyeriss(eyeriss_dict):
    return arch_from_dict(copy.deepcopy(eyeriss_dict), str(EYERISS_YAML))


def tiny_arch_dict(base: dict, *, rows=3, cols=4, ifmap=12, filt=48, psum=8, banks=6,
                   bank=256, filter_bank=512, objective="energy", accumulate=0,
                   double_buffering=True, stores_padding=False) -> dict:
    """A small Eyeriss-like array for exhaustive and reference-model tests."""
    d = copy.deepcopy(base)
    d["pe_array"].update(rows=rows, cols=cols, psum_accumulate_cycles=accumulate)
    d["scratchpads"]["ifmap"]["entries"] = ifmap
    d["scratchpads"]["filter"]["entries"] = filt
    d["scratchpads"]["psum"]["entries"] = psum
    d["glb"].update(banks=banks, bank_size_bytes=bank, filter_bank_size_bytes=filter_bank,
                    ifmap_double_buffering=double_buffering,
                    psum_double_buffering=double_buffering, stores_padding=stores_padding)
    d["mapper"] = {"objective": objective, "top_k": 4}
    return d


@pytest.fixture(scope="session")
def tiny_arch(eyeriss_dict):
    return arch_from_dict(tiny_arch_dict(eyeriss_dict), "<tiny>")


def run_cli(argv, capsys):
    """``accelsim argv`` in this process: (exit status, stdout, stderr)."""
    from accelsim.cli import main

    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def conv_header(name, n, c, h, w, k, r, s, stride=1, pad=0, groups=1, act="relu"):
    return {"name": name, "kind": "conv2d", "input_shape": [n, c, h, w], "out_channels": k,
            "kernel": [r, s], "stride": [stride, stride], "padding": [pad, pad],
            "groups": groups, "weight_bits": 16, "act_bits": 16, "operator": "int",
            "activation": act}


def make_trace(path, headers, *, seed=0, ifmap_zeros=0.0, weight_zeros=0.0, with_output=True):
    """Write a trace of the given layer headers with random tensors; return it read back."""
    from accelsim.workload.layer import layer_from_header
    from accelsim.workload.reference import layer_output

    rng = np.random.default_rng(seed)
    arrays = {}
    out_headers = []
    for i, head in enumerate(headers):
        head = dict(head)
        layer, probs = layer_from_header(head, i)
        assert not probs, probs
        if layer.is_mac:
            x = random_tensor(rng, layer.input_shape, 16, ifmap_zeros, signed=False)
            wt = random_tensor(rng, layer.weight_shape, 16, weight_zeros, signed=True)
            arrays[f"t{i}.input"] = x
            arrays[f"t{i}.weight"] = wt
            head["tensors"] = {"input": f"t{i}.input", "weight": f"t{i}.weight"}
            if with_output:
                arrays[f"t{i}.output"] = layer_output(layer, x, wt)
                head["tensors"]["output"] = f"t{i}.output"
        out_headers.append(head)
    write_trace(path, network="test", batch=headers[0]["input_shape"][0], layers=out_headers,
                arrays=arrays)
    return read_trace(path)


def write_sweep_inputs(folder: Path, eyeriss_dict: dict, layers: list[dict]) -> Path:
    """A tiny arch file (tiny.yaml) and two tiny traces in ``folder``: a.npz with
    ``layers`` and b.npz with the first of them, its input half zeros."""
    import yaml

    (folder / "tiny.yaml").write_text(yaml.safe_dump(tiny_arch_dict(eyeriss_dict)))
    make_trace(folder / "a.npz", layers, seed=1)
    make_trace(folder / "b.npz", layers[:1], seed=2, ifmap_zeros=0.5)
    return folder
