"""Train the digits workloads and export their traces: ``python workloads/train.py --all``.

Place in the pipeline: models (``workloads/models.py``) -> training -> the
PyTorch bridge -> ``workloads/<name>_digits.npz`` traces, run by
``accelsim run arch_configs/eyeriss_v1.yaml workloads/lenet5_digits.npz``.

Data: scikit-learn's digits (1,797 8x8 images, shipped with the package),
scaled to [0, 1], split 80/20 by a seeded permutation and resized bilinearly
to 32x32 (:mod:`accelsim.bridge.inputs`). Training: Adam, cross entropy,
mini-batches of 64 in seeded order, a fixed number of epochs per model, two
CPU threads, no augmentation. Accuracy is measured on the 359 test images.

Each model writes, beside this file:

- ``<name>_digits.npz``: the trace of the trained model on the first ``--batch``
  (default 8) test images, 16-bit weights and activations, compressed;
- ``<name>_digits_weights.npz``: the trained state dict (float32 arrays);
- ``metrics.json``: test accuracy, training seconds, epochs, seed, versions.

``--export-only`` skips training: it re-exports the traces from the committed
weights (``<name>_digits_weights.npz`` beside ``models.py``) and updates only
the trace entries of ``metrics.json`` (``trace``, ``trace_bytes``,
``batch``). Use it when the bridge's trace header changes: retraining on
another CPU or torch build gives slightly different weights (test accuracy
moves by about half a point), while the weights file is what the tests check.

Needs ``pip install -e '.[torch,workloads]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import models  # noqa: E402

from accelsim.bridge.inputs import digits_split, resize  # noqa: E402
from accelsim.bridge.torch import export_trace  # noqa: E402
from accelsim.fileio import atomic_write_text  # noqa: E402
from accelsim.version import __version__  # noqa: E402

# name -> (epochs, learning rate)
SCHEDULE = {"lenet5": (15, 3e-3), "squeezenet": (20, 3e-3), "shufflenet": (15, 1e-2)}
SEED = 0
SIZE = 32


def load_data() -> tuple[torch.Tensor, ...]:
    x_tr, y_tr, x_te, y_te = digits_split(SEED)
    up = [torch.from_numpy(resize(x, SIZE, SIZE)[:, None]) for x in (x_tr, x_te)]
    return up[0], torch.from_numpy(y_tr), up[1], torch.from_numpy(y_te)


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(name: str, data) -> tuple[torch.nn.Module, dict]:
    x_tr, y_tr, x_te, y_te = data
    epochs, lr = SCHEDULE[name]
    model = models.build(name, SEED)
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(x_tr), generator=gen).split(64):
            opt.zero_grad()
            F.cross_entropy(model(x_tr[idx]), y_tr[idx]).backward()
            opt.step()
        sched.step()
    seconds = time.perf_counter() - start
    model.eval()
    return model, {"test_accuracy": round(accuracy(model, x_te, y_te), 4),
                   "train_accuracy": round(accuracy(model, x_tr, y_tr), 4),
                   "train_seconds": round(seconds, 1), "epochs": epochs, "lr": lr,
                   "test_images": len(x_te)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", default=[],
                    help=f"models to train: {', '.join(models.MODELS)}")
    ap.add_argument("--all", action="store_true", help="train and export every model")
    ap.add_argument("--batch", type=int, default=8, help="test images in each trace")
    ap.add_argument("--out-dir", default=str(HERE), help="where to write (default: here)")
    ap.add_argument("--export-only", action="store_true",
                    help="no training: re-export the traces from the committed weights")
    args = ap.parse_args(argv)
    names = list(models.MODELS) if args.all else args.names
    if not names:
        ap.error("name a model or pass --all")
    unknown = [n for n in names if n not in models.MODELS]
    if unknown:
        ap.error(f"unknown model {unknown[0]!r} (known: {', '.join(models.MODELS)})")
    torch.set_num_threads(2)
    torch.set_flush_denormal(True)  # denormals slow CPU training down many times over
    out = Path(args.out_dir)
    data = load_data()
    metrics_path = out / "metrics.json"
    metrics = json.loads(metrics_path.read_text()) if metrics_path.exists() else {}
    for name in names:
        trace = out / f"{name}_digits.npz"
        if args.export_only:
            model = models.load_trained(name)
            export_trace(model, data[2][:args.batch], trace, network=f"{name}_digits")
            metrics[name] = {**metrics.get(name, {}), "trace": trace.name,
                             "trace_bytes": trace.stat().st_size, "batch": args.batch}
            print(f"{name:<11} exported from {models.weights_path(name).name}  {trace.name} "
                  f"{trace.stat().st_size / 1e3:.0f} kB", flush=True)
            continue
        model, m = train(name, data)
        models.save_weights(model, out / f"{name}_digits_weights.npz")
        export_trace(model, data[2][:args.batch], trace, network=f"{name}_digits")
        m.update(trace=trace.name, trace_bytes=trace.stat().st_size, batch=args.batch,
                 seed=SEED, torch=torch.__version__, accelsim=__version__)
        metrics[name] = m
        print(f"{name:<11} test accuracy {m['test_accuracy']:.4f}  train "
              f"{m['train_seconds']:5.1f} s  {trace.name} {m['trace_bytes'] / 1e3:.0f} kB",
              flush=True)
    atomic_write_text(metrics_path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
