"""Regenerate the golden expected counts (run by hand; review the diff before committing).

Usage: python tests/golden/regenerate.py [--workload-changed]

Golden case: AlexNet at batch 4 with the Eyeriss v1 paper's ifmap zero
fractions, synthesized with seed 0, run on arch_configs/eyeriss_v1.yaml. The
expected counts are exact integers: any change to them is a change of the
model and must be explained in the commit that regenerates this file. Such a
change also needs ``MODEL_REVISION`` in accelsim/version.py bumped (sweep
stores key results on it): the script refuses to write changed counts under
the revision the file was written with, unless the workload itself changed
(``accelsim synth`` writes another trace: its ``trace_digest``, recorded in
the file, differs) and ``--workload-changed`` says that this is all that
changed: a commit that changes synth and the model together still needs the
bump, which the digest alone cannot tell. Sweep stores key on the trace's
bytes, so a changed workload needs no bump.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GOLDEN = HERE / "eyeriss_v1_alexnet_b4.json"
ZEROS = "conv1=0.0001,conv2=0.387,conv3=0.725,conv4=0.793,conv5=0.776"


def trace_digest(trace_path: str) -> str:
    """sha256 of a trace's content (every array's name, dtype, shape and bytes,
    in name order), independent of how the .npz was zipped."""
    import hashlib

    import numpy as np

    h = hashlib.sha256()
    with np.load(trace_path, allow_pickle=False) as z:
        for name in sorted(z.files):
            a = np.ascontiguousarray(z[name])
            h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
            h.update(a.tobytes())
    return h.hexdigest()


def golden_counts(trace_path: str) -> dict:
    import accelsim
    from accelsim.enums import Cycle

    arch = accelsim.load_arch(ROOT / "arch_configs" / "eyeriss_v1.yaml")
    result = accelsim.run(arch, accelsim.read_trace(trace_path))
    layers = {}
    for res in result.layers:
        if not res.simulated:
            continue
        c = res.counts
        layers[res.layer.name] = {
            "mapping": res.mapping.mapping.as_dict(),
            "cycles": {cause.name.lower(): int(c.cycles[cause]) for cause in Cycle},
            "words": c.words.tolist(),
            "bits": c.bits.tolist(),
            "macs": c.macs, "macs_performed": c.macs_performed, "macs_gated": c.macs_gated,
        }
    from accelsim.version import MODEL_REVISION

    return {"workload": f"accelsim synth alexnet --batch 4 --seed 0 --ifmap-zeros {ZEROS}",
            "trace_digest": trace_digest(trace_path),
            "arch": "arch_configs/eyeriss_v1.yaml", "model_revision": MODEL_REVISION,
            "layers": layers}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from accelsim.workload.synth import synth_trace

    with tempfile.TemporaryDirectory() as tmp:
        trace = str(Path(tmp) / "alexnet_b4.npz")
        synth_trace("alexnet", trace, batch=4, seed=0, ifmap_zeros=ZEROS)
        data = golden_counts(trace)
    old = json.loads(GOLDEN.read_text()) if GOLDEN.exists() else None
    workload_only = "--workload-changed" in sys.argv[1:]
    if (old is not None and old["layers"] != data["layers"]
            and data["model_revision"] <= old.get("model_revision", 1)):
        if data["trace_digest"] != old.get("trace_digest") and not workload_only:
            sys.exit("regenerate: the counts and the synthesized workload changed; if the "
                     "model did not, rerun with --workload-changed, else bump "
                     "MODEL_REVISION in accelsim/version.py")
    if (old is not None and old["layers"] != data["layers"]
            and data["model_revision"] <= old.get("model_revision", 1)
            and data["trace_digest"] == old.get("trace_digest", data["trace_digest"])):
        sys.exit(f"regenerate: the counts changed but MODEL_REVISION is still "
                 f"{data['model_revision']} (the file's: {old.get('model_revision', 1)}); "
                 "bump it in accelsim/version.py")
    GOLDEN.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
