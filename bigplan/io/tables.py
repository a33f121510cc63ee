"""Labelled tables in CSV or parquet: ``A`` dense or long, labels, labour, capital, capacity, stocks and plans.

Layouts
-------
*dense*
    The first column holds the row labels; the header holds the column labels (every product once, in
    any order); cells are numbers.  For ``A`` and ``B`` this is products x products, for plans products x
    plans, for labour products x kinds.
*long*
    One row per entry: ``row, col, value`` for a matrix, ``product, plan, value`` (or ``product, value``
    for one plan) for plans, ``product, kind, value`` for labour, ``product, value`` for a vector.
    Products absent from a long table are 0.

In CSV every label is read as text (``"001"`` stays ``"001"``); parquet keeps the column's type.  Labels
are matched to an economy's labels by their text, so an economy labelled by integers reads plans whose
product column holds ``1, 2, 3``.  A MultiIndex economy (regions x sectors, as from pymrio) takes one
label column per level.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..errors import DataFileError, LabelError, ShapeError
from ._common import (
    CSV_SUFFIXES,
    PARQUET_SUFFIXES,
    PathLike,
    atomic_write,
    check_unique,
    existing_file,
    file_keys,
    label_keys,
    numeric_column,
    output_path,
    positions_in,
    read_frame,
    require_final_newline,
    suffix,
)

__all__ = [
    "read_table", "read_labels", "read_square", "read_vector", "read_labour", "read_plans",
    "write_table", "write_plans", "write_labels",
]

_LONG_MATRIX = ("row", "col", "value")


def read_table(path: PathLike, what: str = "table") -> pd.DataFrame:
    """A CSV (labels as text) or parquet file as a DataFrame; typed errors name the file.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.csv.gz``, ``.tsv`` or ``.parquet``.
    what : str
        What the file holds, for messages.

    Returns
    -------
    pandas.DataFrame
    """
    p = existing_file(path, what)
    if suffix(p) in CSV_SUFFIXES:
        return _read_csv_text(p, what)
    return read_frame(p, what)


def _read_csv_text(p: Path, what: str) -> pd.DataFrame:
    require_final_newline(p, f"{what} file")
    try:
        df = pd.read_csv(p, sep="\t" if suffix(p) == ".tsv" else ",", dtype=str, keep_default_na=False,
                         na_filter=False, low_memory=False)
    except pd.errors.EmptyDataError as exc:
        raise DataFileError(f"{p}: the {what} file is empty; write the header and one line per entry",
                            path=p) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"{p}: cannot read the {what} file as CSV ({type(exc).__name__}: {str(exc)[:200]}); "
                            "it may be truncated: write it again", path=p) from exc
    if df.shape[1] == 0:
        raise DataFileError(f"{p}: the {what} file has no columns", path=p)
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:")]
    if unnamed and df.columns.get_loc(unnamed[0]) != 0:
        raise LabelError(f"{p}: the {what} file has a column without a header ({unnamed[0]}); name every column")
    return df


def _lower(df: pd.DataFrame) -> list[str]:
    return [str(c).strip().lower() for c in df.columns]


def _level_columns(df: pd.DataFrame, nlevels: int) -> list:
    if df.shape[1] < nlevels:
        raise ShapeError(f"need {nlevels} label column(s), the file has {df.shape[1]} columns")
    return list(df.columns[:nlevels])


# --------------------------------------------------------------------------- labels


def read_labels(path: PathLike) -> pd.Index:
    """Product labels from a CSV/parquet file: one column (an Index), or one column per level (a MultiIndex).

    A column named ``label`` gives an unnamed Index; other column names become the index (level) names.
    Duplicated or missing labels raise :class:`~bigplan.errors.LabelError` naming the line.
    """
    df = read_table(path, "labels")
    if len(df) == 0:
        raise LabelError(f"{path}: the labels file has no labels; write one line per product")
    cols = [c for c in df.columns if str(c).lower() != "position"]
    for c in cols:
        col = df[c]
        empty = col.isna()
        if not pd.api.types.is_numeric_dtype(col.dtype):
            text = col if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object else col.astype(str)
            empty |= text.str.strip().eq("")
        if empty.any():
            raise LabelError(f"{path}: missing label on line {int(np.argmax(empty.to_numpy())) + 2} (column {c!r}); "
                             "give every product a label")
    if len(cols) == 1:
        c = cols[0]
        idx = pd.Index(df[c], name=None if str(c) == "label" else str(c))
    else:
        idx = pd.MultiIndex.from_arrays([df[c] for c in cols], names=[str(c) for c in cols])
    if not idx.is_unique:
        dup = np.flatnonzero(idx.duplicated())
        show = ", ".join(f"{idx[i]!r} (line {i + 2})" for i in dup[:3])
        raise LabelError(f"{path}: duplicated product label(s): {show}; each product needs its own label")
    return idx


def write_labels(labels: pd.Index, path: PathLike, *, overwrite: bool = True) -> Path:
    """Write product labels as read by :func:`read_labels` (one column per level)."""
    if isinstance(labels, pd.MultiIndex):
        df = pd.DataFrame({(n if n is not None else f"level_{k}"): labels.get_level_values(k)
                           for k, n in enumerate(labels.names)})
    else:
        df = pd.DataFrame({labels.name if labels.name is not None else "label": labels})
    return write_table(df, path, overwrite=overwrite, index=False)


# --------------------------------------------------------------------------- matrices


def read_square(path: PathLike, *, layout: str | None = None, labels: pd.Index | None = None,
                what: str = "A") -> tuple[sp.csr_matrix, pd.Index]:
    """A products x products matrix from a dense or long CSV/parquet table.

    Parameters
    ----------
    path : str or os.PathLike
    layout : {None, "dense", "long"}
        None: long when the columns are ``row, col, value``, dense otherwise.
    labels : pandas.Index, optional
        The products, in order.  Default: the dense table's row labels, or for a long table the labels in
        order of first appearance.
    what : str
        The matrix's name, for messages.

    Returns
    -------
    (scipy.sparse.csr_matrix, pandas.Index)

    Raises
    ------
    DataFileError, LabelError, ShapeError
    """
    df = read_table(path, f"{what} matrix")
    if layout not in (None, "dense", "long"):
        raise ValueError(f"layout must be 'dense', 'long' or None, got {layout!r}")
    if layout is None:
        layout = "long" if _lower(df)[:3] == list(_LONG_MATRIX) and df.shape[1] == 3 else "dense"
    if layout == "long":
        return _square_long(df, path, labels, what)
    return _square_dense(df, path, labels, what)


def _square_dense(df: pd.DataFrame, path, labels, what) -> tuple[sp.csr_matrix, pd.Index]:
    nl = labels.nlevels if labels is not None else 1
    lab_cols = _level_columns(df, nl)
    row_keys = file_keys(df, lab_cols)
    check_unique(row_keys, path, f"{what} row")
    col_names = df.columns[nl:]
    n = len(df)
    if len(col_names) != n:
        raise ShapeError(f"{path}: {what} must be square, got {n} rows and {len(col_names)} columns of numbers; "
                         "a dense table has one column per product after the label column")
    if n == 0:
        raise ShapeError(f"{path}: {what} has no products")
    col_keys = pd.Index([str(c).strip() for c in col_names], dtype=object)
    if nl > 1:
        raise DataFileError(f"{path}: a dense {what} cannot carry MultiIndex column labels; use the long layout "
                            "(row, col, value) or a one-file economy", path=path)
    check_unique(col_keys, path, f"{what} column", offset=1)
    if labels is None:
        labels = pd.Index(df[lab_cols[0]].to_numpy(), name=None)
    keys = label_keys(labels)
    rpos = positions_in(keys, row_keys, path, f"{what} row")
    cpos = positions_in(keys, col_keys, path, f"{what} column", offset=1)
    if len(labels) != n:
        raise LabelError(f"{path}: {n} products in the {what} table, {len(labels)} labels; they must match")
    vals = np.empty((n, n))
    for j, c in enumerate(col_names):
        vals[:, j] = numeric_column(df[c].to_numpy(), path, f"{what} column {c!r}")
    dense = np.zeros((n, n))
    dense[np.ix_(rpos, cpos)] = vals
    return sp.csr_matrix(dense), labels


def _square_long(df: pd.DataFrame, path, labels, what) -> tuple[sp.csr_matrix, pd.Index]:
    r, c, v = df.columns[:3]
    rk, ck = file_keys(df, [r]), file_keys(df, [c])
    if labels is None:
        order = pd.unique(np.concatenate([rk.to_numpy(), ck.to_numpy()]))
        labels = pd.Index(order)
    if labels.nlevels > 1:
        raise DataFileError(f"{path}: a long {what} table names products by one label; for a MultiIndex "
                            "economy use a one-file economy (.npz) or parquet triplets with a labels file",
                            path=path)
    keys = label_keys(labels)
    rows = positions_in(keys, rk, path, f"{what} row")
    cols = positions_in(keys, ck, path, f"{what} col")
    vals = numeric_column(df[v].to_numpy(), path, f"{what} value")
    n = len(labels)
    pairs = pd.Index(rows.astype(np.int64) * n + cols)
    if not pairs.is_unique:
        i = int(np.flatnonzero(pairs.duplicated())[0])
        raise LabelError(f"{path}: entry ({rk[i]!r}, {ck[i]!r}) on line {i + 2} appears twice; give each entry once")
    A = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    return A, labels


# --------------------------------------------------------------------------- vectors, labour


def read_vector(path: PathLike, economy: Any, what: str = "vector") -> np.ndarray:
    """A per-product vector (capacity, stocks, depreciation) from a ``product, value`` table; absent products 0."""
    df = read_table(path, what)
    nl = 1 if economy.labels is None else economy.labels.nlevels
    if df.shape[1] != nl + 1:
        raise ShapeError(f"{path}: a {what} table has {nl} label column(s) and one value column, got "
                         f"{df.shape[1]} columns")
    keys = _economy_keys(economy)
    fk = file_keys(df, list(df.columns[:nl]))
    check_unique(fk, path, what)
    pos = positions_in(keys, fk, path, what)
    out = np.zeros(economy.n)
    out[pos] = numeric_column(df[df.columns[nl]].to_numpy(), path, f"{what} value")
    return out


def read_labour(path: PathLike, economy: Any) -> tuple[np.ndarray, list[str]]:
    """Labour coefficients ``(m, n)`` and kind names from a wide (products x kinds) or long table."""
    df = read_table(path, "labour")
    nl = 1 if economy.labels is None else economy.labels.nlevels
    low = _lower(df)
    if low[nl: nl + 2] == ["kind", "value"] and df.shape[1] == nl + 2:
        frame = _long_to_wide(df, path, nl, "kind", "labour")
    else:
        frame = df
    names, block = _wide_block(frame, path, economy, nl, "labour", missing="error")
    return block.T.copy(), names


def _economy_keys(economy) -> pd.Index:
    labels = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n)
    return label_keys(labels)


def _long_to_wide(df, path, nl, col_name, what) -> pd.DataFrame:
    lab = list(df.columns[:nl])
    kind_col, val_col = df.columns[nl], df.columns[nl + 1]
    vals = numeric_column(df[val_col].to_numpy(), path, f"{what} value")
    frame = df[lab + [kind_col]].astype(str).assign(_v=vals)
    dup = frame.duplicated(subset=lab + [kind_col])
    if dup.any():
        i = int(np.argmax(dup.to_numpy()))
        raise LabelError(f"{path}: line {i + 2} repeats the entry {tuple(frame.iloc[i][lab + [kind_col]])}; "
                         f"give each product and {col_name} once")
    wide = frame.pivot(index=lab, columns=kind_col, values="_v").fillna(0.0)
    order = pd.unique(frame[kind_col])
    wide = wide[order].reset_index()
    return wide


def _wide_block(frame, path, economy, nl, what, *, missing) -> tuple[list[str], np.ndarray]:
    keys = _economy_keys(economy)
    fk = file_keys(frame, list(frame.columns[:nl]))
    check_unique(fk, path, what)
    pos = positions_in(keys, fk, path, what)
    names = [str(c) for c in frame.columns[nl:]]
    if not names:
        raise ShapeError(f"{path}: the {what} table has label column(s) but no value column")
    if missing == "error" and len(np.unique(pos)) != economy.n:
        gone = np.setdiff1d(np.arange(economy.n), pos)
        show = [keys[i] for i in gone[:3]]
        raise LabelError(f"{path}: {len(gone)} product(s) of the economy are missing from the {what} table, "
                         f"e.g. {show}; add them (0 for none), or use the long layout where absent means 0")
    block = np.zeros((economy.n, len(names)))
    for j, c in enumerate(frame.columns[nl:]):
        block[pos, j] = numeric_column(frame[c].to_numpy(), path, f"{what} column {str(c)!r}")
    return names, block


# --------------------------------------------------------------------------- plans


def read_plans(path: PathLike, economy: Any, *, layout: str | None = None, missing: str | None = None
               ) -> pd.DataFrame:
    """Plans (final demand) from CSV/parquet, products x plans aligned to ``economy``.

    Parameters
    ----------
    path : str or os.PathLike
        ``.csv``, ``.tsv``, ``.csv.gz`` or ``.parquet``.
    economy : Economy
    layout : {None, "wide", "long"}
        ``wide``: label column(s) then one column per plan.  ``long``: label column(s), ``plan``, ``value``
        (or label column(s) and ``value`` for one plan named ``"plan"``).  None: long when the columns after
        the labels are ``plan, value`` or just ``value``.
    missing : {None, "error", "zero"}
        Products of the economy absent from the file: an error, or 0.  None: error for wide, 0 for long.

    Returns
    -------
    pandas.DataFrame
        ``economy.n`` rows indexed by ``economy.labels`` (a RangeIndex when unlabelled), one float64 column
        per plan (column names as text).

    Raises
    ------
    MissingFileError, DataFileError, LabelError, ShapeError

    Examples
    --------
    >>> import numpy as np, tempfile, os, bigplan
    >>> from bigplan.io import read_plans
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> f = os.path.join(tempfile.mkdtemp(), "p.csv")
    >>> _ = open(f, "w").write("product,plan,value\\niron,more,2\\ngrain,base,1\\n")
    >>> read_plans(f, e).to_dict()
    {'more': {'grain': 0.0, 'iron': 2.0}, 'base': {'grain': 1.0, 'iron': 0.0}}
    """
    if layout not in (None, "wide", "long"):
        raise ValueError(f"layout must be 'wide', 'long' or None, got {layout!r}")
    if missing not in (None, "error", "zero"):
        raise ValueError(f"missing must be 'error', 'zero' or None, got {missing!r}")
    df = read_table(path, "plans")
    nl = 1 if economy.labels is None else economy.labels.nlevels
    _level_columns(df, nl)
    rest = _lower(df)[nl:]
    if layout is None:
        layout = "long" if rest in (["plan", "value"], ["value"]) else "wide"
    if layout == "long":
        if rest == ["value"]:
            df = df.assign(plan="plan")[list(df.columns[:nl]) + ["plan", df.columns[nl]]]
        elif len(rest) != 2:
            raise ShapeError(f"{path}: long plans need columns <product>, plan, value; got {list(df.columns)}")
        frame = _long_to_wide(df, path, nl, "plan", "plans")
        missing = missing or "zero"
    else:
        frame = df
        missing = missing or "error"
    names, block = _wide_block(frame, path, economy, nl, "plans", missing=missing)
    index = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n)
    return pd.DataFrame(block, index=index, columns=pd.Index(names, dtype=object))


# --------------------------------------------------------------------------- writers


def _flat(name) -> str:
    """A column name as one header cell: tuples (MultiIndex columns) joined by `` / ``."""
    return " / ".join(map(str, name)) if isinstance(name, tuple) else str(name)


def write_table(frame: pd.DataFrame, path: PathLike, *, overwrite: bool = False, index: bool = True) -> Path:
    """Write a DataFrame to CSV or parquet (by suffix), atomically; an existing file needs ``overwrite``.

    MultiIndex columns (e.g. pymrio's ``(region, category)`` plans) become one header row, the levels
    joined by `` / ``; the index (one column per level) is written as the first column(s).
    """
    p = output_path(path, overwrite)
    s = suffix(p)
    df = frame.copy(deep=False)
    df.columns = pd.Index([_flat(c) for c in df.columns], dtype=object)
    if index:
        names = [n if n is not None else ("product" if df.index.nlevels == 1 else f"level_{k}")
                 for k, n in enumerate(df.index.names)]
        df = df.rename_axis(names).reset_index()
    if s in PARQUET_SUFFIXES:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(df, preserve_index=False)
        return atomic_write(p, lambda fh: pq.write_table(table, fh))
    if s in CSV_SUFFIXES:
        sep = "\t" if s == ".tsv" else ","
        comp = "gzip" if s == ".csv.gz" else None
        return atomic_write(p, lambda fh: df.to_csv(fh, index=False, sep=sep, compression=comp, mode="wb",
                                                   lineterminator="\n"))
    raise ValueError(f"{p}: unknown table suffix {s!r}; use .csv, .tsv, .csv.gz or .parquet")


def write_plans(frame: pd.DataFrame, path: PathLike, *, overwrite: bool = False) -> Path:
    """Write plans (products x plans) as read by :func:`read_plans`: CSV/parquet (wide), or ``.npy`` (values)."""
    if suffix(path) == ".npy":
        p = output_path(path, overwrite)
        values = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
        return atomic_write(p, lambda fh: np.save(fh, values, allow_pickle=False))
    return write_table(frame, path, overwrite=overwrite)
