"""Atomic file writing (a reader never sees a half-written result), and the
content hash that records a file as an input of a result.

Every file accelsim writes (traces, reports, figures, sweep results) goes
through here: the content is written to a temporary file in the target's
folder and renamed over the target, so a crash or a kill leaves either the old
file or the new one, never a partial one.

A path the user names is checked with :func:`check_output_path` before any
work starts, so a typo costs nothing; the folder it goes in must exist already
(accelsim does not create folders the user did not ask for).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

from accelsim.errors import AccelsimError


TEXT_LIMIT_BYTES = 1 << 20
"""The largest text input accelsim reads (YAML files, route files): 1 MiB. Real
ones are a few kB; PyYAML parses about 100 kB a second, and a device such as
/dev/zero never ends."""


ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
"""How a zip archive starts (its first entry, or an empty zip); every .npz is one."""
NPY_MAGIC = b"\x93NUMPY"
"""How a single NumPy array file (.npy) starts."""


def sniff(path: str | Path, probe_bytes: int = 4096) -> str | None:
    """What the file at ``path`` holds, from its first bytes, to tell a user who
    gave one input for another (a trace for an arch file) what they gave.

    Returns ``"zip"`` (a zip archive, as every .npz trace is), ``"npy"``,
    ``"text"`` (UTF-8 without NUL bytes: YAML, CSV, ...), ``"binary"``, or
    None when there is nothing to tell (no such file, a folder, unreadable,
    empty) or nothing may be read twice: a pipe or a device (``<(cat a.yaml)``,
    ``/dev/stdin``) gives its bytes once, and they belong to the loader.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as fh:
            head = fh.read(probe_bytes)
    except OSError:
        return None
    if not head:
        return None
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(NPY_MAGIC):
        return "npy"
    if b"\0" in head:
        return "binary"
    try:  # final=False: a character cut at the probe's end is not an error
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "binary"
    return "text"


def read_text_limited(path: str | Path, limit_bytes: int = TEXT_LIMIT_BYTES) -> str:
    """The UTF-8 text of ``path``, reading at most ``limit_bytes`` (+1 to tell).

    Raises OSError, UnicodeDecodeError, or ValueError when the file is larger.
    """
    with open(path, "rb") as fh:
        data = fh.read(limit_bytes + 1)
    if len(data) > limit_bytes:
        raise ValueError(f"larger than the {limit_bytes // 1024} kB accelsim reads")
    return data.decode("utf-8")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, as hex (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _chmod_default(path: str) -> None:
    """Give a mkstemp file the permissions a plain open() would (umask applied)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (an existing one, or the same path)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        return False
    return a.resolve() == b.resolve()


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _target_problem(path: Path) -> str | None:
    """Why ``path`` cannot be replaced by a renamed file (None if it can)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be inspected ({_why(exc)})"
    if stat.S_ISDIR(mode):
        return "is a directory (name a file to write)"
    if not stat.S_ISREG(mode):
        # renaming over a device or a pipe (e.g. /dev/null) would replace it
        return "is not a regular file (accelsim replaces its outputs by renaming)"
    return None


def check_output_path(path: str | Path, option: str, inputs: Iterable = ()) -> None:
    """Raise :class:`AccelsimError` unless an output file can be written at ``path``.

    Checks, in order: the target is not one of ``inputs`` (the command's input
    files: writing over one would replace it), the parent folder exists and is
    a folder, the target is not a folder (nor a device or a pipe), and a file
    can be created in the parent (a temporary one is created and removed, which
    also catches read-only and virtual file systems where permission bits say
    yes). ``option`` names the argument in the message, e.g. ``--out``.
    """
    where = f"{option} {path}"
    text = os.fspath(path)
    if not text:
        raise AccelsimError(f"{option}: must name a file (got an empty path)")
    p = Path(text)
    for src in inputs:
        if src is not None and os.fspath(src) and _same_file(p, Path(os.fspath(src))):
            raise AccelsimError(f"{where}: is also an input of this command ({src}); "
                                "write the output elsewhere")
    parent = p.parent
    if not parent.exists():
        raise AccelsimError(f"{where}: parent directory {parent} does not exist")
    if not parent.is_dir():
        raise AccelsimError(f"{where}: parent {parent} is not a directory")
    problem = _target_problem(p)
    if problem is not None:
        raise AccelsimError(f"{where}: {problem}")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise AccelsimError(f"{where}: cannot create a file in {parent} ({_why(exc)})") from None
    os.close(fd)
    os.unlink(probe)


@contextlib.contextmanager
def atomic_open(path: str | Path, *, make_parents: bool = False) -> Iterator[BinaryIO]:
    """Open a binary file handle whose content replaces ``path`` on success.

    The parent folder must exist unless ``make_parents`` (for folders accelsim
    owns, such as a sweep's result store). Any :class:`OSError` (no such
    folder, no permission, disk full) becomes an :class:`AccelsimError` naming
    ``path``; the temporary file is removed.
    """
    path = Path(path)
    problem = _target_problem(path)
    if problem is not None:
        raise AccelsimError(f"{path}: {problem}")
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise AccelsimError(f"{path}: cannot write ({_why(exc)})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        _chmod_default(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise AccelsimError(f"{path}: cannot write ({_why(exc)})") from exc
        raise


def atomic_write_text(path: str | Path, text: str, *, make_parents: bool = False) -> None:
    with atomic_open(path, make_parents=make_parents) as fh:
        fh.write(text.encode("utf-8"))
