"""Input tensors for exporting a model: seeded random, or real digits images.

Place in the pipeline: feeds ``model -> bridge -> trace.npz`` (the ``export``
and ``import-onnx`` commands, and the workloads' training). NumPy only; the
digits need scikit-learn (the ``workloads`` extra).

The digits are scikit-learn's ``load_digits`` (1,797 8x8 grey images of
handwritten digits, values 0..16, shipped inside the package: no download).
Pixels are scaled to [0, 1], split into train and test sets by a seeded
permutation (:func:`digits_split`), resized bilinearly with half-pixel centres
(PyTorch's ``interpolate(mode="bilinear", align_corners=False)`` rule) and
repeated over the channels. Random inputs are uniform in [0, 1), like images.
"""

from __future__ import annotations

import numpy as np

from accelsim.errors import AccelsimError

DATASETS = ("digits",)
TEST_FRACTION = 0.2


def parse_shape(text: str, option: str = "--input-shape") -> tuple[int, ...]:
    """``"1,3,32,32"`` -> ``(1, 3, 32, 32)``; raises AccelsimError naming ``option``."""
    try:
        shape = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise AccelsimError(f"{option}: expected comma-separated positive integers like "
                            f"1,3,32,32 (got {text!r})")
    return shape


def _bilinear_matrix(out_size: int, in_size: int) -> np.ndarray:
    """[out_size, in_size] weights of 1-d linear interpolation, half-pixel centres."""
    m = np.zeros((out_size, in_size))
    src = np.maximum((np.arange(out_size) + 0.5) * in_size / out_size - 0.5, 0.0)
    lo = np.minimum(np.floor(src).astype(int), in_size - 1)
    hi = np.minimum(lo + 1, in_size - 1)
    frac = src - lo
    np.add.at(m, (np.arange(out_size), lo), 1.0 - frac)
    np.add.at(m, (np.arange(out_size), hi), frac)
    return m


def resize(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of [N, h, w] images to [N, height, width] (float32)."""
    a = _bilinear_matrix(height, images.shape[1])
    b = _bilinear_matrix(width, images.shape[2])
    return np.einsum("Hh,nhw,Ww->nHW", a, images.astype(np.float64), b).astype(np.float32)


def digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: 8x8 digits in [0, 1], labels 0..9.

    A seeded permutation puts the last :data:`TEST_FRACTION` of the images in
    the test set.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise AccelsimError("--data digits needs scikit-learn (pip install "
                            "'accelsim[workloads]')") from None
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)
    y = data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(TEST_FRACTION * len(x)))
    tr, te = order[:-n_test], order[-n_test:]
    return x[tr], y[tr], x[te], y[te]


def digits_images(shape: tuple[int, ...], *, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """The first ``shape[0]`` digits of ``split`` as float32 ``shape`` [N, C, H, W], and labels."""
    if len(shape) != 4:
        raise AccelsimError(f"--data digits: the input shape must be N,C,H,W (got "
                            f"{','.join(map(str, shape))})")
    n, c, h, w = shape
    x_tr, y_tr, x_te, y_te = digits_split()
    x, y = (x_te, y_te) if split == "test" else (x_tr, y_tr)
    if n > len(x):
        raise AccelsimError(f"--data digits: the {split} set has {len(x)} images (asked for "
                            f"a batch of {n})")
    imgs = resize(x[:n], h, w)
    return np.ascontiguousarray(np.repeat(imgs[:, None], c, axis=1)), y[:n]


def make_inputs(shape: tuple[int, ...], *, data: str | None = None, seed: int = 0) -> np.ndarray:
    """Inputs of ``shape``: digits test images (``data="digits"``) or seeded uniform [0, 1)."""
    if data is None:
        return np.random.default_rng(seed).random(shape, dtype=np.float32)
    if data not in DATASETS:
        raise AccelsimError(f"--data: unknown data set {data!r} (known: {', '.join(DATASETS)})")
    return digits_images(shape)[0]


__all__ = ["parse_shape", "resize", "digits_split", "digits_images", "make_inputs", "DATASETS"]
