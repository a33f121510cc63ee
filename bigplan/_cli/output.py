"""Safe output writing: atomic replace, kept permissions, ``-`` for standard output, ``--overwrite``.

Every file the command writes goes to a temporary file in the target's folder,
is flushed and ``fsync``-ed, and only then renamed over the target
(``os.replace``): a killed job leaves either the old file or the new one,
never half of one.  A target that exists but is not a regular file (a
symbolic link, a FIFO, a device) is refused, an overwritten file keeps its
permissions, and a new one gets ``0666 & ~umask``.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from .._atomic import fsync_dir
from ..errors import InvalidOptionError, MissingDependencyError, OutputExistsError

__all__ = ["FORMATS", "atomic_file", "check_picture", "check_target", "fsync_dir", "labour_path", "read_table",
           "save_figure", "table_format", "write_csv_atomic", "write_table"]

#: Suffixes the table writers understand.
FORMATS = (".parquet", ".csv", ".npy")


def table_format(path: str | os.PathLike, what: str = "--out") -> str:
    """The format of an output path by its suffix: ``"parquet"``, ``"csv"`` or ``"npy"``."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidOptionError(f"{what} {str(path)!r}: unknown format {suffix or '(no suffix)'!r}; "
                                 f"end the name with one of {', '.join(FORMATS)}")
    return suffix[1:]


def labour_path(path: str | os.PathLike) -> Path:
    """Where the labour table of an output goes: ``out.parquet`` -> ``out.labour.parquet``."""
    p = Path(path)
    return p.with_name(f"{p.stem}.labour{p.suffix}")


def _mode_of(old: os.stat_result | None) -> int:
    if old is not None:
        return stat.S_IMODE(old.st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def check_target(path: str | os.PathLike, *, overwrite: bool = True, what: str = "output") -> os.stat_result | None:
    """Check that ``path`` can be written: its folder exists, it is a regular file or absent.

    Returns the target's ``lstat`` (None when absent).  Raises
    :class:`~bigplan.errors.OutputExistsError` when it exists and ``overwrite`` is
    false, :class:`~bigplan.errors.InvalidOptionError` when it is not a regular
    file, :class:`FileNotFoundError` when its folder is missing.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {target}: no folder {folder}")
    try:
        old = os.lstat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(old.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(old.st_mode) else "not a regular file (a FIFO, device or folder)"
        raise InvalidOptionError(
            f"cannot write the {what} to {target}: it is {kind}, which an atomic write would replace; "
            "give a regular file path, or '-' for standard output"
        )
    if not overwrite:
        raise OutputExistsError(f"{target} exists; pass --overwrite to replace it (nothing was written)")
    return old


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, *, overwrite: bool = True, what: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success fsync it and rename it over ``path``.

    On any error the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    old = check_target(target, overwrite=overwrite, what=what)
    folder = target.parent if str(target.parent) else Path(".")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, _mode_of(old))
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        fsync_dir(folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv_atomic(frame: pd.DataFrame, path: str | os.PathLike, *, stdout: TextIO | None = None) -> Path | str:
    """Write ``frame`` as CSV to ``path`` atomically (temporary file in the same folder, then ``os.replace``).

    ``"-"`` writes to standard output (or ``stdout``) instead.  A ``path`` that
    exists but is not a regular file (a symbolic link, a FIFO, a device such as
    ``/dev/stdout``) is refused with :class:`~bigplan.InvalidOptionError`: replacing
    it would destroy the link or node.  An overwritten file keeps its permissions;
    a new one gets the usual ``0666 & ~umask``.

    Examples
    --------
    >>> import io, pandas as pd
    >>> from bigplan.cli import write_csv_atomic
    >>> buf = io.StringIO()
    >>> write_csv_atomic(pd.DataFrame({"x": [1]}), "-", stdout=buf)
    '-'
    >>> buf.getvalue().splitlines()
    [',x', '0,1']
    """
    if str(path) == "-":
        frame.to_csv(stdout if stdout is not None else sys.stdout)
        return "-"
    target = Path(path)
    with atomic_file(target, what="CSV") as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        frame.to_csv(fh)
        fh.flush()
    return target


def _parquet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise MissingDependencyError("writing parquet needs pyarrow: pip install 'bigplan[parquet]', "
                                     "or write .csv / .npy") from None
    out = frame.copy(deep=False)
    out.columns = [str(c) for c in out.columns]
    # labels as ordinary leading columns (not pandas index metadata): any parquet reader sees them
    names = [n if n is not None else ("product" if out.index.nlevels == 1 else f"level_{i}")
             for i, n in enumerate(out.index.names)]
    out.index = out.index.set_names(names)
    return out.reset_index()


def write_table(frame: pd.DataFrame, path: str | os.PathLike, *, overwrite: bool = False,
                stdout: TextIO | None = None) -> Path | str:
    """Write a labelled table as parquet, CSV or ``.npy`` (values only) by the suffix of ``path``, atomically.

    ``"-"`` writes CSV to standard output.  Refuses an existing ``path`` unless ``overwrite``.

    Examples
    --------
    >>> import tempfile, os, pandas as pd, numpy as np
    >>> from bigplan._cli.output import write_table
    >>> p = os.path.join(tempfile.mkdtemp(), "t.npy")
    >>> _ = write_table(pd.DataFrame({"a": [1.0, 2.0]}), p)
    >>> np.load(p, allow_pickle=False).tolist()
    [[1.0], [2.0]]
    """
    if str(path) == "-":
        frame.to_csv(stdout if stdout is not None else sys.stdout)
        return "-"
    fmt = table_format(path)
    target = Path(path)
    if fmt == "parquet":
        ready = _parquet_ready(frame)
    with atomic_file(target, overwrite=overwrite) as tmp:
        if fmt == "parquet":
            ready.to_parquet(tmp, index=False)
        elif fmt == "csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                frame.to_csv(fh)
        else:
            with open(tmp, "wb") as fh:
                np.save(fh, frame.to_numpy(dtype=float), allow_pickle=False)  # C or Fortran order, no copy
    return target


def read_table(path: str | os.PathLike, index_levels: int = 1) -> pd.DataFrame:
    """Read back a table written by :func:`write_table` (``.npy``: an unlabelled frame)."""
    fmt = table_format(path, "input")
    if fmt == "parquet":
        table = pd.read_parquet(path)
        return table.set_index(list(table.columns[:index_levels]))
    if fmt == "csv":
        return pd.read_csv(path, index_col=list(range(index_levels)))
    return pd.DataFrame(np.load(path, allow_pickle=False))


def check_picture(path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Check a ``--plot`` target before any work: a format matplotlib writes, and the overwrite rule."""
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingDependencyError("--plot needs matplotlib: pip install 'bigplan[plot]'") from None
    formats = FigureCanvasAgg(Figure()).get_supported_filetypes()
    if fmt not in formats:
        raise InvalidOptionError(f"--plot {str(path)!r}: matplotlib cannot write {fmt or '(no suffix)'!r}; "
                                 f"end the name with one of {', '.join('.' + f for f in sorted(formats))}")
    check_target(target, overwrite=overwrite, what="picture")
    return target


def save_figure(fig, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Save a matplotlib figure atomically, in the format of the suffix (``.png``, ``.pdf``, ``.svg``...)."""
    target = Path(path)
    fmt = target.suffix.lower().lstrip(".")
    if not fmt:
        raise InvalidOptionError(f"--plot {str(path)!r}: give the picture's format as a suffix, e.g. plan.png")
    try:
        with atomic_file(target, overwrite=overwrite, what="picture") as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
    except ValueError as exc:
        if "format" in str(exc).lower():
            raise InvalidOptionError(f"--plot {str(path)!r}: matplotlib cannot write {fmt!r} ({exc})") from None
        raise
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return target
