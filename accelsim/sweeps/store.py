"""The result store of a sweep: every finished (point, trace) on disk, as it arrives.

Place in the pipeline: ``sweeps.worker -> sweeps.store`` (this module) ``->
sweeps.runner``, which assembles the final table from the store.

A result is keyed by :func:`result_key`: the SHA-256 of the canonical JSON of
the point's arch document, the trace file's SHA-256, the accelsim version and
the mapping constraints when the sweep has some (``--mapping``), so a result
is reused exactly when its inputs are the same, whatever its point_id in this
or another sweep file (a constrained result never serves an unconstrained
sweep, nor the other way round).

On disk (:class:`DirStore`, by default ``<output>.d/`` next to the output)::

    results.parquet.d/
      .lock                      # held while a sweep writes here
      3f/3f9c...e1.totals.json   # status, reason, totals (and the arch) of one result
      a0/a07b...42.layers.json   # the same plus per-layer rows (``keep: layers``)

Every file is written whole through :mod:`accelsim.fileio` (temporary file,
fsync, rename), so a sweep killed at any moment, SIGKILL included, leaves every
finished result readable and no partial file under a result's name; temporary
files left by a kill are removed by the next sweep on the same store; a store
folder that a sweep made and stored no result in is removed when it stops. A
``layers`` file serves a ``keep: totals`` sweep too; a ``totals`` file does not
serve ``keep: layers``, which recomputes that result.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from accelsim.errors import AccelsimError
from accelsim.fileio import atomic_write_text
from accelsim.version import MODEL_VERSION

KINDS = ("totals", "layers")


def canonical_json(doc: Any) -> str:
    """JSON with sorted keys and no spaces: equal documents give equal text."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def result_key(arch: dict, trace_sha256: str, version: str | None = None,
               mapping_constraints: dict | None = None) -> str:
    """The store key of (arch document, trace, accelsim and model version[, mapping
    constraints]).

    The version includes the model revision (``accelsim.version``), so results
    an older model computed are never reused. Without constraints the key has
    no constraint entry.
    """
    doc = {"arch": arch, "trace_sha256": trace_sha256,
           "accelsim_version": MODEL_VERSION if version is None else version}
    if mapping_constraints:
        doc["mapping_constraints"] = mapping_constraints
    return hashlib.sha256(canonical_json(doc).encode("ascii")).hexdigest()


STATUSES = ("ok", "infeasible", "error")


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def record_problem(record: Any, kind: str) -> str | None:
    """What makes ``record`` not a stored result of ``kind`` (see :mod:`sweeps.worker`), or None.

    The keys the sweep table is assembled from: ``status`` (one of
    :data:`STATUSES`), ``reason`` (a string), ``totals`` (an object of numbers
    or nulls; an ``ok`` result has it) and, in a ``layers`` file, ``layers``
    (a list of objects; a result whose arch is not valid has none).
    """
    if not isinstance(record, dict):
        return f"not a JSON object (got {type(record).__name__})"
    status = record.get("status")
    if status not in STATUSES:
        return f"status: must be one of {', '.join(STATUSES)} (got {_short(status)})"
    if not isinstance(record.get("reason"), str):
        return f"reason: must be a string (got {_short(record.get('reason'))})"
    totals = record.get("totals")
    if totals is None and status == "ok":
        return "totals: missing from an ok result"
    if totals is not None:
        if not isinstance(totals, dict):
            return f"totals: must be an object (got {_short(totals)})"
        for name, value in totals.items():
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float))):
                return f"totals.{name}: must be a number (got {_short(value)})"
    if kind == "layers" and "layers" in record:  # an arch that is not valid has no layers
        layers = record["layers"]
        if not isinstance(layers, list) or not all(isinstance(r, dict) for r in layers):
            return f"layers: must be a list of objects (got {_short(layers)})"
    return None


class MemoryStore:
    """A store in memory, for sweeps with nowhere to write (nothing survives the run)."""

    def __init__(self) -> None:
        self._texts: dict[str, tuple[str, str]] = {}

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(self, *exc) -> None:
        return None

    def has(self, key: str, *, layers: bool) -> bool:
        kind = self._texts.get(key, (None,))[0]
        return kind == "layers" or (kind == "totals" and not layers)

    def put(self, key: str, kind: str, text: str) -> None:
        if self._texts.get(key, (None,))[0] != "layers":
            self._texts[key] = (kind, text)

    def get(self, key: str) -> dict:
        return json.loads(self._texts[key][1])

    def __len__(self) -> int:
        return len(self._texts)


class DirStore:
    """A folder of one small JSON file per result (see the module docstring).

    Use as a context manager: entering takes an exclusive lock (a second sweep
    writing to the same store is an error), removes temporary files left by a
    killed sweep and indexes the results already there.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._kinds: dict[str, str] = {}
        self._lock_fh = None
        self._created = False

    def __enter__(self) -> "DirStore":
        if self.path.exists() and not self.path.is_dir():
            raise AccelsimError(f"{self.path}: the sweep store must be a folder, a file is in "
                                "the way")
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            self._scan()
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._unlock()
        if self._created and not self._kinds:
            self._remove_empty()

    def _remove_empty(self) -> None:
        """Take away the folder this store made and never stored a result in.

        A sweep that stops before its first result (its executor could not
        start, or it was interrupted) then leaves nothing behind. Only the lock
        and empty folders are removed: anything else keeps the folder.
        """
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path / ".lock")
        for shard in self.path.iterdir():
            with contextlib.suppress(OSError):
                shard.rmdir()
        with contextlib.suppress(OSError):
            self.path.rmdir()

    def _lock(self) -> None:
        fh = open(self.path / ".lock", "a+b")
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: single writer assumed
            self._lock_fh = fh
            return
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise AccelsimError(f"{self.path}: another sweep is writing to this store") from None
        self._lock_fh = fh

    def _unlock(self) -> None:
        if self._lock_fh is not None:
            self._lock_fh.close()  # closing releases the flock
            self._lock_fh = None

    def _scan(self) -> None:
        for shard in os.scandir(self.path):
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in os.scandir(shard.path):
                name = entry.name
                if name.startswith(".") and name.endswith(".tmp"):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)  # left by a sweep killed mid-write
                    continue
                parts = name.split(".")
                if len(parts) == 3 and parts[1] in KINDS and parts[2] == "json":
                    if self._kinds.get(parts[0]) != "layers":
                        self._kinds[parts[0]] = parts[1]

    def _file(self, key: str, kind: str) -> Path:
        return self.path / key[:2] / f"{key}.{kind}.json"

    def has(self, key: str, *, layers: bool) -> bool:
        kind = self._kinds.get(key)
        return kind == "layers" or (kind == "totals" and not layers)

    def put(self, key: str, kind: str, text: str) -> None:
        if self._kinds.get(key) == "layers" and kind == "totals":
            return
        atomic_write_text(self._file(key, kind), text, make_parents=True)  # shard folder
        self._kinds[key] = kind

    def get(self, key: str) -> dict:
        kind = self._kinds[key]
        path = self._file(key, kind)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problem = str(exc)
        except RecursionError:
            problem = "nested too deeply to read"
        else:
            problem = record_problem(record, kind)
            if problem is None:
                return record
        raise AccelsimError(f"{path}: unreadable sweep result ({problem}); delete the file to "
                            "compute it again")

    def __len__(self) -> int:
        return len(self._kinds)
