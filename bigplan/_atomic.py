"""Durable, atomic file writes: the one home for "temporary file beside it, fsync, rename, fsync the folder".

A process killed at any moment leaves either the old file or the new one, never a torn one; on any failure the
temporary file is removed.  Used by the one-file economy format, the readers' writers, the command line's outputs,
the store's objects and ledger marker, and the Dask path's per-block parquet files.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import MissingFileError

__all__ = ["atomic_write", "fsync_dir"]


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make a rename or a new file in ``folder`` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory descriptors
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Any], Any], *, mode: str = "wb") -> Path:
    """Write ``path`` atomically: ``write(fh)`` into a temporary file beside it, fsync, rename, fsync the folder.

    On any failure (an exception, ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left as it
    was.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bigplan._atomic import atomic_write
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(p, lambda fh: fh.write(b"plan")).read_bytes()
    b'plan'
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MissingFileError(f"cannot write {path}: the folder {folder} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(folder)
    return path
