"""Sparse ``A`` in Matrix Market and in parquet triplets, for economies of millions of products.

Parquet triplets
----------------
A parquet file with columns ``row`` and ``col`` (0-based integer positions) and ``value`` (the
coefficient ``A[row, col]``), one row per stored entry, and the key ``bigplan`` in the schema metadata
holding ``{"format": "bigplan-triplets", "version": 1, "n": n}`` (``n`` may be omitted: the largest
position + 1 is used, or the number of labels).  Product labels live beside it in
``<stem>.labels.parquet`` (:func:`bigplan.io.tables.read_labels`).  The reader preallocates the CSR
arrays from the file's metadata and fills them batch by batch (page checksums, which
:func:`write_triplets` writes, are verified): no dense copy, no Python loop per
entry; a file sorted by row (as :func:`write_triplets` writes it) is read in one pass with a peak of
about the CSR itself, an unsorted one in two passes (the second scatters each batch into place).

Matrix Market
-------------
``.mtx`` or ``.mtx.gz`` read and written by :func:`scipy.io.mmread` / :func:`scipy.io.mmwrite` (the
multi-threaded fast_matrix_market parser in SciPy >= 1.12); labels beside it in ``<stem>.labels.csv``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import DataFileError, InsufficientMemoryError, LabelError, ShapeError
from ._common import (
    PathLike,
    atomic_write,
    existing_file,
    output_path,
    require_final_newline,
    stem,
    suffix,
)

__all__ = ["read_triplets", "write_triplets", "read_matrix_market", "write_matrix_market", "sidecar_labels"]

TRIPLETS_FORMAT = "bigplan-triplets"
TRIPLETS_VERSION = 1
_INT32_MAX = np.iinfo(np.int32).max


def sidecar_labels(path: PathLike, kinds=(".labels.parquet", ".labels.csv")) -> Path | None:
    """The labels file written beside a matrix file (``<stem>.labels.parquet`` or ``.csv``), if present."""
    p = Path(path)
    for k in kinds:
        cand = p.with_name(stem(p) + k)
        if cand.is_file():
            return cand
    return None


def _matrix_of(obj: Any) -> tuple[sp.csr_matrix, Any]:
    if hasattr(obj, "A") and hasattr(obj, "labels"):
        return obj.A, obj.labels
    if sp.issparse(obj):
        return sp.csr_matrix(obj), None
    return sp.csr_matrix(np.asarray(obj)), None


# --------------------------------------------------------------------------- parquet triplets


def _arrow_error(p: Path, exc: Exception) -> DataFileError:
    return DataFileError(
        f"{p}: not a readable parquet file ({type(exc).__name__}: {str(exc)[:200]}); it may be truncated "
        "or damaged: write it again", path=p)


def read_triplets(path: PathLike, *, n: int | None = None, dtype: Any = np.float64,
                  batch_size: int = 1 << 20) -> sp.csr_matrix:
    """``A`` from a parquet triplet file (columns ``row``, ``col``, ``value``), as CSR.

    Parameters
    ----------
    path : str or os.PathLike
    n : int, optional
        Number of products (e.g. the number of labels).  Default: the file's metadata, else the largest
        position + 1.
    dtype : numpy dtype
        float64 (default) or float32 values.
    batch_size : int
        Entries per batch read.

    Returns
    -------
    scipy.sparse.csr_matrix
        Entries in file order within each row (duplicates not yet summed; :class:`Economy` sums them).

    Raises
    ------
    MissingFileError, DataFileError
        Missing, truncated or damaged file; missing columns; NULL, non-finite or negative values;
        positions outside ``0..n-1`` (the entry number is named).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = existing_file(path, "parquet triplets")
    try:
        pf = pq.ParquetFile(p, page_checksum_verification=True)
        meta = pf.metadata
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        raise _arrow_error(p, exc) from exc
    names = [f.name for f in schema]
    for c in ("row", "col", "value"):
        if c not in names:
            raise DataFileError(f"{p}: parquet triplets need columns row, col, value; column {c!r} is missing "
                                f"(found {names})", path=p)
    for c in ("row", "col"):
        if not pa.types.is_integer(schema.field(c).type):
            raise DataFileError(
                f"{p}: column {c!r} holds {schema.field(c).type}, not integer positions; for labels in the "
                "row/col columns read the file as a long table (bigplan.io.read_economy(..., layout='long'))",
                path=p)
    vtype = schema.field("value").type
    if not (pa.types.is_floating(vtype) or pa.types.is_integer(vtype)):
        raise DataFileError(f"{p}: column 'value' holds {vtype}, not numbers", path=p)
    info = {}
    raw = (schema.metadata or {}).get(b"bigplan")
    if raw is not None:
        try:
            info = json.loads(raw)
        except ValueError as exc:
            raise DataFileError(f"{p}: the 'bigplan' schema metadata is not JSON; the file is damaged",
                                path=p) from exc
        if not isinstance(info, dict) or info.get("format") != TRIPLETS_FORMAT:
            raise DataFileError(f"{p}: schema metadata 'bigplan' is not {TRIPLETS_FORMAT!r}", path=p)
        if not isinstance(info.get("version", 0), int) or info.get("version", 0) > TRIPLETS_VERSION:
            raise DataFileError(f"{p}: triplets format version {info.get('version')!r}; this bigplan reads "
                                f"1..{TRIPLETS_VERSION}: upgrade bigplan", path=p)
    file_n = info.get("n")
    if n is None:
        n = file_n
    elif file_n is not None and int(file_n) != n:
        raise ShapeError(f"{p}: the file is for {file_n} products, {n} were expected (labels); use matching files")
    nnz = meta.num_rows
    if n is None:
        n = _max_position(pf, p) + 1
    n = int(n)
    if n < 1:
        raise ShapeError(f"{p}: no products (n = {n})")
    if nnz * 12 > p.stat().st_size * 1100:  # even zstd does not pack an entry into 1/1100 of a byte
        raise DataFileError(f"{p}: the metadata promises {nnz} entries, more than the file can hold; it is "
                            "damaged", path=p)
    return fill_csr(lambda: _batches(pf, p, batch_size), n, nnz, dtype, p)


def fill_csr(batches, n: int, nnz: int, dtype, p, *, line_of=lambda k: f"entry {k}", base: int = 0
             ) -> sp.csr_matrix:
    """CSR arrays preallocated for ``nnz`` entries, filled from ``batches()`` of (row, col, value) arrays.

    One pass when the rows come in order (counting entries per row as they come), a second pass that
    scatters each batch into its rows' slots when they do not.  Peak: the CSR plus one batch.
    """
    idx_dtype = np.int32 if max(n, nnz) <= _INT32_MAX else np.int64
    try:
        data = np.empty(nnz, dtype=dtype)
        indices = np.empty(nnz, dtype=idx_dtype)
        counts = np.zeros(n + 1, dtype=np.int64)
    except MemoryError as exc:
        raise InsufficientMemoryError(f"{p}: {n} products with {nnz} entries need more memory than is "
                                      "available (or the file's header is damaged)") from exc
    ordered, pos, last = True, 0, -1
    for r, c, v in batches():
        k = len(r)
        if pos + k > nnz:
            raise DataFileError(f"{p}: more entries than the {nnz} announced; the file is damaged", path=p)
        _check_batch(r, c, v, n, pos, p, line_of, base)
        if ordered and k:
            ordered = bool(r[0] >= last and (k == 1 or np.all(r[1:] >= r[:-1])))
            last = int(r[-1])
        indices[pos: pos + k] = c
        data[pos: pos + k] = v
        if k:
            lo, hi = int(r.min()), int(r.max())
            counts[lo + 1: hi + 2] += np.bincount(r - lo, minlength=hi - lo + 1)
        pos += k
    if pos != nnz:
        raise DataFileError(f"{p}: read {pos} entries, {nnz} were announced; the file is truncated", path=p)
    indptr = np.cumsum(counts).astype(idx_dtype)
    if not ordered:  # second pass: scatter each batch to its rows' slots
        nxt = indptr[:-1].astype(np.int64)
        for r, c, v in batches():
            order = np.argsort(r, kind="stable")
            sr = r[order]
            uniq, first, cnt = np.unique(sr, return_index=True, return_counts=True)
            dest = nxt[sr] + (np.arange(len(sr)) - np.repeat(first, cnt))
            indices[dest] = c[order]
            data[dest] = v[order]
            nxt[uniq] += cnt
    A = sp.csr_matrix((n, n), dtype=dtype)
    A.data, A.indices, A.indptr = data, indices, indptr
    return A


def _batches(pf, p, batch_size):
    """(row, col, value) NumPy arrays, one parquet row group at a time (split when a group is large).

    Row groups are read one by one: pyarrow's ``iter_batches`` over the whole file buffers far more
    than a batch, which would break the memory bound.
    """
    import pyarrow as pa

    cols = ["row", "col", "value"]
    try:
        for g in range(pf.metadata.num_row_groups):
            if pf.metadata.row_group(g).num_rows <= 4 * batch_size:
                parts = [pf.read_row_group(g, columns=cols, use_threads=False)]
            else:
                parts = pf.iter_batches(batch_size=int(batch_size), row_groups=[g], columns=cols, use_threads=False)
            for part in parts:
                out = []
                for i, name in enumerate(cols):
                    col = part.column(i)
                    if col.null_count:
                        raise DataFileError(f"{p}: column {name!r} has {col.null_count} empty (NULL) entries; "
                                            "every entry needs a row, a column and a value", path=p)
                    out.append(np.asarray(col.to_numpy()) if isinstance(col, pa.ChunkedArray)
                               else col.to_numpy(zero_copy_only=False))
                yield out[0], out[1], out[2]
    except (pa.ArrowException, OSError, ValueError, EOFError) as exc:
        if isinstance(exc, DataFileError):
            raise
        raise _arrow_error(p, exc) from exc


def _max_position(pf, p) -> int:
    top = -1
    for r, c, _ in _batches(pf, p, 1 << 20):
        if len(r):
            top = max(top, int(r.max()), int(c.max()))
    return top


def _check_batch(r, c, v, n, pos, p, line_of=lambda k: f"entry {k}", base: int = 0) -> None:
    for arr, name in ((r, "row"), (c, "col")):
        bad = (arr < 0) | (arr >= n)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataFileError(f"{p}: {line_of(pos + i)} has {name} {int(arr[i]) + base}, outside "
                                f"{base}..{n - 1 + base}; positions are {base}-based and at most the number of "
                                "products (labels)", path=p)
    bad = ~np.isfinite(v) | (v < 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataFileError(f"{p}: {line_of(pos + i)} (row {int(r[i])}, col {int(c[i])}) has value "
                            f"{float(v[i])!r}; coefficients must be finite and >= 0", path=p)


def write_triplets(economy_or_matrix: Any, path: PathLike, *, labels: bool = True, overwrite: bool = False,
                   row_group_size: int = 1 << 20, compression: str = "none") -> Path:
    """Write ``A`` as parquet triplets sorted by row (and its labels as ``<stem>.labels.parquet``); atomic.

    Parameters
    ----------
    economy_or_matrix : Economy or sparse/dense matrix
    path : str or os.PathLike
    labels : bool
        Also write the economy's labels beside the file.
    overwrite : bool
        Replace existing files.
    row_group_size : int
        Entries per parquet row group (and per write).
    compression : str
        Parquet codec.  Default ``"none"`` (plain encoding, no dictionary): about 15 bytes per entry and
        the fastest read (5x faster than snappy with dictionaries at 10^6 products); ``"zstd"`` is a
        quarter smaller and reads slower.

    Returns
    -------
    pathlib.Path
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    A, labs = _matrix_of(economy_or_matrix)
    p = output_path(path, overwrite)
    n = A.shape[0]
    if A.shape[0] != A.shape[1]:
        raise ShapeError(f"A must be square to be written as an economy, got {A.shape}")
    itype = pa.int32() if n <= _INT32_MAX else pa.int64()
    vtype = pa.from_numpy_dtype(A.dtype)
    meta = {b"bigplan": json.dumps({"format": TRIPLETS_FORMAT, "version": TRIPLETS_VERSION, "n": n}).encode()}
    schema = pa.schema([("row", itype), ("col", itype), ("value", vtype)], metadata=meta)
    lab_path = p.with_name(stem(p) + ".labels.parquet")
    if labels and labs is not None:
        output_path(lab_path, overwrite)
    indptr = A.indptr.astype(np.int64)
    npdt = np.int32 if n <= _INT32_MAX else np.int64

    def write(fh):
        with pq.ParquetWriter(fh, schema, write_page_checksum=True, use_dictionary=False,
                              compression=compression) as w:
            r0 = 0
            while r0 < n:
                r1 = int(np.searchsorted(indptr, indptr[r0] + row_group_size, side="right")) - 1
                r1 = min(max(r1, r0 + 1), n)
                a, b = indptr[r0], indptr[r1]
                rows = np.repeat(np.arange(r0, r1, dtype=npdt), np.diff(indptr[r0: r1 + 1]))
                w.write_table(pa.table([rows, A.indices[a:b].astype(npdt, copy=False), A.data[a:b]],
                                       schema=schema), row_group_size=max(int(b - a), 1))
                r0 = r1
            if n and A.nnz == 0:
                w.write_table(pa.table([np.zeros(0, npdt), np.zeros(0, npdt), np.zeros(0, A.dtype)], schema=schema))

    out = atomic_write(p, write)
    if labels and labs is not None:
        from .tables import write_labels

        write_labels(labs, lab_path, overwrite=True)
    return out


# --------------------------------------------------------------------------- Matrix Market


def read_matrix_market(path: PathLike, *, dtype: Any = np.float64, batch_size: int = 1 << 20,
                       chunked: bool = True) -> sp.csr_matrix:
    """``A`` from a Matrix Market file (``.mtx`` or ``.mtx.gz``), as CSR.

    A ``coordinate ... general`` file (what :func:`write_matrix_market` and most tools write) is read in
    chunks of ``batch_size`` entries by pandas' C parser into preallocated CSR arrays (peak about the CSR
    plus a chunk); other kinds (symmetric, dense ``array``), or ``chunked=False``, go through
    :func:`scipy.io.mmread` (SciPy's multi-threaded fast_matrix_market: about twice as fast, but its COO
    result and the CSR built from it peak at about 2.3x the CSR).

    Raises
    ------
    MissingFileError, DataFileError, ShapeError
        Missing, truncated or malformed file (the parser's line is named); a pattern, complex or
        non-square matrix.
    """
    import scipy.io

    p = existing_file(path, "Matrix Market file")
    require_final_newline(p, "Matrix Market file")
    try:
        rows, cols, entries, fmt, field, symmetry = scipy.io.mminfo(str(p))
    except (ValueError, OSError, EOFError, IndexError, TypeError, RuntimeError, UnicodeDecodeError) as exc:
        raise DataFileError(f"{p}: not a Matrix Market file ({str(exc)[:200]}); it must begin with a "
                            "'%%MatrixMarket matrix coordinate real general' header", path=p) from exc
    if field not in ("real", "integer", "double"):
        raise DataFileError(f"{p}: Matrix Market field {field!r}; technical coefficients need 'real' or "
                            "'integer' values", path=p)
    if rows != cols:
        raise ShapeError(f"{p}: A must be square (products x products), the file holds {rows} x {cols}")
    # each entry takes at least 6 characters ("1 1 1\n"); gzip compresses at most ~1000:1
    room = p.stat().st_size * (1100 if suffix(p).endswith(".gz") else 1)
    if fmt == "coordinate" and entries * 6 > room:
        raise DataFileError(f"{p}: the header promises {entries} entries, more than the file can hold; it is "
                            "truncated or the header is wrong", path=p)
    if chunked and fmt == "coordinate" and symmetry == "general":  # the common case: chunks into preallocated CSR
        skip = _mtx_header_lines(p)
        return fill_csr(lambda: _mtx_batches(p, skip, batch_size), int(rows), int(entries), dtype, p,
                        line_of=lambda k: f"line {skip + k + 1}", base=1)
    try:
        M = scipy.io.mmread(str(p))
    except MemoryError as exc:
        raise InsufficientMemoryError(f"{p}: reading {rows} x {cols} with {entries} entries needs more memory "
                                      "than is available (or the header is damaged)") from exc
    except (ValueError, OSError, EOFError, IndexError, TypeError, RuntimeError, UnicodeDecodeError,
            OverflowError) as exc:
        raise DataFileError(f"{p}: cannot read the Matrix Market data ({str(exc)[:200]}); the file may be "
                            "truncated: write it again", path=p) from exc
    if M.shape != (rows, rows):
        raise DataFileError(f"{p}: read shape {M.shape}, the header says {rows} x {cols}", path=p)
    A = sp.csr_matrix(M, dtype=dtype) if sp.issparse(M) else sp.csr_matrix(np.asarray(M, dtype=dtype))
    del M
    if A.nnz and not np.all(np.isfinite(A.data)):
        raise DataFileError(f"{p}: A has NaN or infinite entries; every coefficient must be a finite number",
                            path=p)
    return A


def _mtx_header_lines(p: Path) -> int:
    """Lines before the first entry: the banner, comments and the size line."""
    opener = gzip.open if suffix(p).endswith(".gz") else open
    count = 0
    with opener(p, "rb") as fh:
        for line in fh:
            count += 1
            text = line.strip()
            if count > 1 and text and not text.startswith(b"%"):
                return count  # the size line
    raise DataFileError(f"{p}: no size line after the Matrix Market banner", path=p)


def _mtx_batches(p: Path, skip: int, batch_size: int):
    import pandas as pd

    try:
        chunks = pd.read_csv(p, sep=r"\s+", header=None, skiprows=skip, names=["r", "c", "v"], comment="%",
                             dtype={"r": np.int64, "c": np.int64, "v": np.float64}, chunksize=int(batch_size),
                             engine="c")
        for ch in chunks:
            yield ch["r"].to_numpy() - 1, ch["c"].to_numpy() - 1, ch["v"].to_numpy()
    except (ValueError, OSError, EOFError, UnicodeDecodeError, pd.errors.ParserError, OverflowError) as exc:
        raise DataFileError(f"{p}: cannot read the Matrix Market entries ({str(exc)[:200]}); every entry line "
                            "is 'row col value' (1-based): fix the file or write it again", path=p) from exc


def write_matrix_market(economy_or_matrix: Any, path: PathLike, *, labels: bool = True,
                        overwrite: bool = False) -> Path:
    """Write ``A`` as Matrix Market (gzip when the name ends in ``.gz``), labels as ``<stem>.labels.csv``; atomic."""
    import scipy.io

    A, labs = _matrix_of(economy_or_matrix)
    p = output_path(path, overwrite)
    lab_path = p.with_name(stem(p) + ".labels.csv")
    if labels and labs is not None:
        if labs.nlevels > 1 or labs.dtype.kind not in "OUiuT" and str(labs.dtype) not in ("str", "string"):
            raise LabelError("Matrix Market labels are written as one CSV column of text or integers; use "
                             "parquet triplets or Economy.save for a MultiIndex")
        output_path(lab_path, overwrite)

    def write(fh):
        if suffix(p) == ".mtx.gz":
            with gzip.GzipFile(fileobj=fh, mode="wb", mtime=0) as gz:
                scipy.io.mmwrite(gz, sp.coo_matrix(A))
        else:
            scipy.io.mmwrite(fh, sp.coo_matrix(A))

    out = atomic_write(p, write)
    if labels and labs is not None:
        from .tables import write_labels

        write_labels(labs, lab_path, overwrite=True)
    return out
