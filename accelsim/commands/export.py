"""``accelsim export MODULE_OR_FILE:FACTORY``: trace a PyTorch model on real or random inputs.

``MODULE_OR_FILE`` is a dotted module name (``workloads.models``, importable
from the current directory or the environment) or a path to a ``.py`` file (its
folder is importable while it loads); ``FACTORY`` a callable in it, called
with no arguments, returning a ``torch.nn.Module``. The model is put in eval
mode before it runs. The trace is written by
:func:`accelsim.bridge.torch.export_trace`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

NAME = "export"
HELP = "trace a PyTorch model (MODULE_OR_FILE:FACTORY) into a trace file"


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (the CLI prints errors on one line)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def add_quant_arguments(p) -> None:
    """Options shared with ``import-onnx``: inputs, bits, operators, output."""
    p.add_argument("--input-shape", required=True,
                   help="the model input's shape, e.g. 1,3,32,32 (first: batch)")
    p.add_argument("--data", choices=("digits",), default=None,
                   help="real inputs: scikit-learn's digits test images, resized "
                        "(default: seeded uniform random in [0, 1))")
    p.add_argument("--batch", type=int, default=None, help="batch size (replaces the "
                                                           "first entry of --input-shape)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--weight-bits", type=int, default=16,
                   help="integer weight width, 2 to 32 (layers of --operators shift, "
                        "binary_weight or binary take their operator's width)")
    p.add_argument("--act-bits", type=int, default=16,
                   help="integer activation width, 2 to 32 (binary layers: 1)")
    p.add_argument("--per-channel", action="store_true",
                   help="one weight scale per output channel")
    p.add_argument("--operators", default=None,
                   help="per-layer operators: name=operator,... (e.g. fc=binary); shift, "
                        "binary_weight and binary layers are quantized for the operator "
                        "(power-of-two, +-1, 1-bit weights and inputs)")
    p.add_argument("--network", default=None, help="network name written in the trace")
    p.add_argument("-o", "--output", required=True, help="trace file to write (.npz)")


def add_arguments(p) -> None:
    p.add_argument("model", help="MODULE_OR_FILE:FACTORY, e.g. workloads/models.py:lenet5")
    add_quant_arguments(p)


def parse_operators(text: str | None) -> dict[str, str]:
    """``"conv1=binary,fc=fp"`` -> dict; raises AccelsimError on a malformed part."""
    from accelsim.errors import AccelsimError

    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, op = part.strip().partition("=")
        if not sep or not name or not op:
            raise AccelsimError(f"--operators: expected name=operator (got {part.strip()!r})")
        out[name] = op
    return out


def input_array(args):
    """The input array the options ask for (shape, batch, data, seed)."""
    from accelsim.bridge.inputs import make_inputs, parse_shape
    from accelsim.errors import AccelsimError

    if args.seed < 0:
        raise AccelsimError(f"--seed: must be >= 0 (got {args.seed})")
    shape = parse_shape(args.input_shape)
    if args.batch is not None:
        if args.batch < 1:
            raise AccelsimError(f"--batch: must be >= 1 (got {args.batch})")
        shape = (args.batch, *shape[1:])
    return make_inputs(shape, data=args.data, seed=args.seed)


def load_factory(spec: str):
    """Resolve ``MODULE_OR_FILE:FACTORY`` to the callable; AccelsimError if it cannot."""
    from accelsim.errors import AccelsimError

    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise AccelsimError(f"model: expected MODULE_OR_FILE:FACTORY (got {spec!r})")
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
        if not path.is_file():
            raise AccelsimError(f"model: file {where!r} not found")
        name = f"_accelsim_model_{abs(hash(str(path.resolve())))}"
        sys.path.insert(0, str(path.resolve().parent))  # so the file can import its siblings
        try:
            mspec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(mspec)
            mspec.loader.exec_module(module)
        except Exception as exc:
            raise AccelsimError(f"model: importing {where!r} failed "
                                f"({one_line(exc)})") from exc
        finally:
            sys.path.remove(str(path.resolve().parent))
    else:  # as with python -m: modules under the current directory are importable
        cwd = os.getcwd()
        sys.path.insert(0, cwd)
        try:
            module = importlib.import_module(where)
        except Exception as exc:
            raise AccelsimError(f"model: cannot import module {where!r} "
                                f"({one_line(exc)})") from exc
        finally:
            sys.path.remove(cwd)
    factory = getattr(module, attr, None)
    if not callable(factory):
        found = sorted(k for k, v in vars(module).items()
                       if callable(v) and not k.startswith("_")
                       and getattr(v, "__module__", None) == module.__name__)
        raise AccelsimError(f"model: {where!r} has no callable {attr!r} (callables: "
                            f"{', '.join(found) or 'none'})")
    return factory


def main(args) -> int:
    from accelsim.errors import AccelsimError
    from accelsim.fileio import check_output_path
    from accelsim.workload.trace import check_trace_output

    check_output_path(args.output, "-o")
    check_trace_output(args.output, "-o")
    try:
        import torch
    except ImportError:
        raise AccelsimError("export needs PyTorch (pip install 'accelsim[torch]')") from None
    from accelsim.bridge.torch import export_trace

    factory = load_factory(args.model)
    operators = parse_operators(args.operators)
    x = input_array(args)
    try:
        model = factory()
    except Exception as exc:
        raise AccelsimError(f"model: calling {args.model!r} failed "
                            f"({one_line(exc)})") from exc
    if not isinstance(model, torch.nn.Module):
        raise AccelsimError(f"model: {args.model!r} returned {type(model).__name__}, "
                            "not a torch.nn.Module")
    model.eval()
    network = args.network or args.model.rpartition(":")[2]
    headers = export_trace(model, torch.from_numpy(x), args.output,
                           weight_bits=args.weight_bits, act_bits=args.act_bits,
                           operators=operators, per_channel=args.per_channel, network=network)
    macs = sum(1 for h in headers if h["kind"] in ("conv2d", "linear"))
    print(f"wrote {args.output} ({len(headers)} layers, {macs} MAC layers, "
          f"input {list(x.shape)})")
    return 0
