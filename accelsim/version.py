"""The accelsim version, recorded in every result, and the model revision.

``MODEL_REVISION`` counts changes of the model itself: bump it in any commit
after which the same inputs (arch, trace, options) give different numbers,
as a regenerated golden file shows (tests/golden/regenerate.py). Sweep stores
key their results on ``MODEL_VERSION``, so a store never hands back numbers an
older model computed, and a sweep refuses workers that run another revision.

Revisions: 1, up to 2026-11-25; 2, the DMA serves each transfer when its
buffer frees (``engine.kernels._timeline``); 3, a filter taller than the PE
array is folded across passes (``mapping.kernels.filter_rows_per_set``), so
layers that had no mapping now have one; every mapping records ``r_rows``;
4, the search's cycle estimate counts the first pass's filter load and the
last pass after the link (``mapping.kernels._estimate_rows``), so DRAM-bound
layers under ``edp`` or ``delay`` may map differently;
5, the ``block`` format cuts each transfer into blocks in storage order
across row ends, the last block as long as the data left
(``engine.kernels._tile_bits``): it had charged every row holding a nonzero
whole blocks, so dense data cost up to ``block_elems`` times plain;
6, a layer's input mask changes its output only where it reaches, by the
bridge's arithmetic when the trace records the layer's scales, and not at all
on a synthetic trace (``workload.masking``; the output was recomputed as raw
sums without bias or requantization);
7, the search's cycle estimate (``mapping.kernels``) double-buffers the ifmap
tile and the psum region only when the mapping's two copies fit the GLB, as
the engine does; streams ifmaps and loads filters at the GLB's coded size and
adds the first ifmap tile and the last results of a double-buffered GLB; and
counts the array's waits on DRAM without double buffering (every ifmap tile,
and only the write-back a group's other filter blocks do not hide) beside the
passes instead of after the link's bound. Layers under ``delay`` or ``edp``
may map differently, on Eyeriss v1 and v2 (not the AlexNet b4 golden's);
8, a ``mult_free`` layer gates and skips nothing on an arch that gates or
skips zeros (``run.operator_sparsity``: AdderNet's -sum |x - w| still adds
|w| for a zero x), so its cycles and energy on such an arch change.
"""

__version__ = "0.1.0"
MODEL_REVISION = 8
MODEL_VERSION = f"{__version__}+model.{MODEL_REVISION}"
