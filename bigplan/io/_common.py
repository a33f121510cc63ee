"""Shared helpers of the readers and writers: paths, typed errors, atomic writes, frames from CSV/parquet."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

import numpy as np
import pandas as pd

from .._atomic import atomic_write
from ..errors import DataFileError, LabelError, MissingFileError, OutputExistsError

PathLike = Union[str, "os.PathLike[str]"]

#: Suffixes of the tabular formats, by kind.
CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
MTX_SUFFIXES = (".mtx", ".mtx.gz")


def suffix(path: PathLike) -> str:
    """Lower-case suffix, compound for compressed files (``.mtx.gz``, ``.csv.gz``)."""
    name = Path(path).name.lower()
    for s in ("." + ".".join(name.split(".")[-2:]), "." + name.split(".")[-1]):
        if s in CSV_SUFFIXES + PARQUET_SUFFIXES + MTX_SUFFIXES + (".npz", ".npy", ".json"):
            return s
    return Path(path).suffix.lower()


def stem(path: PathLike) -> str:
    """File name without its (compound) suffix."""
    name = Path(path).name
    s = suffix(path)
    return name[: len(name) - len(s)] if s and name.lower().endswith(s) else name


def existing_file(path: PathLike, what: str) -> Path:
    """``path`` as a Path, or MissingFileError naming what was expected there."""
    p = Path(path)
    if not p.exists():
        raise MissingFileError(f"{what} not found: {p} (check the path)")
    if not p.is_file():
        raise DataFileError(f"{p}: expected a file holding {what}, found a folder", path=p)
    if not os.access(p, os.R_OK):
        raise MissingFileError(f"{what} {p} cannot be read (permission denied): fix its permissions")
    return p


def output_path(path: PathLike, overwrite: bool) -> Path:
    """A target path, refused when it exists and ``overwrite`` is false."""
    p = Path(path)
    if p.exists() and not overwrite:
        raise OutputExistsError(f"{p} exists; pass overwrite=True (CLI: --overwrite) to replace it")
    return p


def read_frame(path: PathLike, what: str, *, header: bool = True) -> pd.DataFrame:
    """A CSV or parquet file as a DataFrame of strings/numbers, every failure a typed error naming the file."""
    p = existing_file(path, what)
    s = suffix(p)
    try:
        if s in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq  # optional extra "parquet"

            df = pq.read_table(p).to_pandas()
            # DataFrame.to_parquet keeps the labels as the (pandas) index: make them the first column(s)
            if not (isinstance(df.index, pd.RangeIndex) and df.index.name is None and df.index.start == 0
                    and df.index.step == 1):
                df = df.reset_index()
            return df
        if s in CSV_SUFFIXES or s == "":
            return pd.read_csv(p, sep="\t" if s == ".tsv" else ",", header=0 if header else None,
                               keep_default_na=True, low_memory=False)
    except ImportError as exc:
        raise DataFileError(f"{p}: reading parquet needs pyarrow: pip install 'bigplan[parquet]'", path=p) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{p}: the {what} file is empty", path=p) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError, EOFError, RuntimeError,
            KeyError, IndexError, TypeError) as exc:
        raise DataFileError(
            f"{p}: cannot read the {what} file ({type(exc).__name__}: {str(exc)[:200]}); it may be truncated "
            "or not in the format its suffix says: write it again", path=p) from exc
    raise DataFileError(
        f"{p}: unknown suffix {s!r} for {what}; use .csv, .tsv, .csv.gz or .parquet", path=p)


def numeric_column(values, path: PathLike, what: str, *, offset: int = 2) -> np.ndarray:
    """A column as float64; a non-numeric or non-finite entry raises naming its line (CSV line numbers)."""
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raw = pd.Series(values).iloc[i]
        raise DataFileError(
            f"{path}: {what} on line {i + offset} is {raw!r}, not a finite number; every value must be a number "
            "(write 0 for none)", path=path)
    return arr


def label_keys(labels: pd.Index) -> pd.Index:
    """Product labels as text keys (tuples of text for a MultiIndex), the form labels take in a file."""
    if isinstance(labels, pd.MultiIndex):
        keys = pd.Index([tuple(str(v) for v in t) for t in labels], tupleize_cols=False, dtype=object)
    else:
        keys = pd.Index([str(v) for v in labels], dtype=object)
    if not keys.is_unique:
        dup = keys[keys.duplicated()][:3].tolist()
        raise LabelError(f"product labels {dup} are distinct but print the same; files cannot tell them apart")
    return keys


def file_keys(frame: pd.DataFrame, columns: list) -> pd.Index:
    """Text keys of the label columns of a file (one column, or one per MultiIndex level)."""
    cols = [frame[c].astype(str).str.strip() for c in columns]
    if len(cols) == 1:
        return pd.Index(cols[0].to_numpy(dtype=object), dtype=object)
    return pd.Index(list(zip(*(c.tolist() for c in cols))), tupleize_cols=False, dtype=object)


def positions_in(economy_keys: pd.Index, keys: pd.Index, path: PathLike, what: str, *, offset: int = 2) -> np.ndarray:
    """Positions of file label keys among the economy's; unknown labels raise, naming the line and the fix."""
    pos = economy_keys.get_indexer(keys)
    if (pos < 0).any():
        bad = np.flatnonzero(pos < 0)
        show = ", ".join(f"{keys[i]!r} (line {i + offset})" for i in bad[:3])
        raise LabelError(
            f"{path}: {len(bad)} {what} label(s) are not products of the economy: {show}; "
            "fix the labels or read the file against the economy it was written for")
    return pos


def check_unique(keys: pd.Index, path: PathLike, what: str, *, offset: int = 2) -> None:
    if not keys.is_unique:
        dup = np.flatnonzero(keys.duplicated())
        show = ", ".join(f"{keys[i]!r} (line {i + offset})" for i in dup[:3])
        raise LabelError(f"{path}: duplicated {what} label(s): {show}; each product may appear once")


def require_final_newline(p: Path, what: str) -> None:
    """Refuse an uncompressed text file whose last line is cut short (the mark of a truncated copy)."""
    if suffix(p).endswith(".gz"):
        return  # gzip carries its own length and CRC
    size = p.stat().st_size
    if size == 0:
        raise DataFileError(f"{p}: the {what} is empty", path=p)
    with open(p, "rb") as fh:
        fh.seek(size - 1)
        last = fh.read(1)
    if last not in (b"\n", b"\r"):
        raise DataFileError(
            f"{p}: the {what} does not end with a line break, so its last line may be cut short (a truncated "
            "copy); if the file is complete, add the final line break", path=p)


def named_error(exc: Exception, where) -> Exception:
    """The same typed error with the file's name in front (or the error itself if it cannot be rebuilt)."""
    try:
        return type(exc)(f"{where}: {exc}")
    except TypeError:
        return exc


__all__ = [
    "PathLike", "CSV_SUFFIXES", "PARQUET_SUFFIXES", "MTX_SUFFIXES", "suffix", "stem", "existing_file",
    "output_path", "read_frame", "numeric_column", "label_keys", "file_keys", "positions_in", "check_unique",
    "atomic_write", "named_error", "require_final_newline",
]
