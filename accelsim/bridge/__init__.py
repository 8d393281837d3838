"""Bridges from model frameworks to traces: PyTorch (and ONNX) models -> ``trace.npz``.

Place in the pipeline: a producer of ``trace.npz`` (beside :mod:`accelsim.workload.synth`),
upstream of ``workload``.

- :mod:`accelsim.bridge.torch`: ``export_trace(model, inputs, path, ...)`` runs a
  PyTorch model and captures every conv2d / linear with its real tensors and
  every other op as a non-MAC layer (needs the ``torch`` extra).
- :mod:`accelsim.bridge.onnx`: ``import_onnx(path, inputs, out, ...)`` does the
  same for an ONNX model with onnxruntime (needs the ``onnx`` extra).
- :mod:`accelsim.bridge.graph`: what both share: batch-norm folding, ReLU
  fusion, layout-op merging, quantization and the header keys they add.
- :mod:`accelsim.bridge.quantize`: the symmetric integer quantization.
- :mod:`accelsim.bridge.inputs`: input tensors for the CLI (seeded random, or
  scikit-learn's digits).

Importing this package imports neither torch nor onnx: import the submodule
you need.
"""
