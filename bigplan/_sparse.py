"""Sparse edits, once: set, read and remove coefficients; keyed sparse vectors.

:meth:`Economy.with_changes <bigplan.Economy.with_changes>` and the store's
versions both edit coefficients through these functions.  A matrix is never
modified: an edit returns a new CSR that shares the index arrays of the old one
when no entry appears or disappears (a new ``data`` array only), and costs one
O(nnz) pass otherwise.  Keyed vectors are sorted ``int64`` keys with their
values (the store keeps per-unit stocks and capacities this way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from ._inputs import check_finite, product_positions
from .errors import InvalidEconomyError, ShapeError

__all__ = [
    "parse_changes",
    "dedupe_last",
    "find_entries",
    "csr_get",
    "csr_set",
    "keyed_get",
    "keyed_set",
]

_INT32_MAX = np.iinfo(np.int32).max


def parse_changes(economy: Any, changes: Any, *, what: str = "changed coefficients"):
    """Rows, columns and values of a change set ``{(i, j): v}`` or an iterable of ``(i, j, v)``.

    ``i`` and ``j`` are labels (positions when the economy is unlabelled) and go
    through :func:`bigplan._inputs.product_positions`; values must be finite and
    non-negative.

    Returns
    -------
    rows, cols : numpy.ndarray of int64
    vals : numpy.ndarray of float64

    Raises
    ------
    ShapeError
        An item that is not a pair key with a value, or a triple.
    UnknownProductError
        A product the economy lacks (or a non-integer position).
    InvalidEconomyError
        A NaN, infinite or negative value.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan._sparse import parse_changes
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> r, c, v = parse_changes(e, {("iron", "grain"): 0.25})
    >>> r.tolist(), c.tolist(), v.tolist()
    ([1], [0], [0.25])
    """
    if changes is None:
        items: list = []
    elif isinstance(changes, Mapping):
        items = []
        for key, v in changes.items():
            if not isinstance(key, tuple) or len(key) != 2:
                raise ShapeError(f"{what}: keys must be (product_in, product_out) pairs, got {key!r}")
            items.append((key[0], key[1], v))
    else:
        items = list(changes)
        for it in items:
            if not isinstance(it, (tuple, list)) or len(it) != 3:
                raise ShapeError(f"{what} must be (product_in, product_out, value) triples, got {it!r}")
    if not items:
        z = np.zeros(0, dtype=np.int64)
        return z, z.copy(), np.zeros(0, dtype=np.float64)
    rows_l, cols_l, vals_l = zip(*items)
    try:
        vals = np.asarray(vals_l, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidEconomyError(f"{what} must be numbers, got {list(vals_l)[:5]}") from None
    if np.iscomplexobj(np.asarray(vals_l)):
        raise InvalidEconomyError(f"{what} are complex; coefficients are real numbers")
    rows = product_positions(economy, rows_l, what="products (rows)")
    cols = product_positions(economy, cols_l, what="products (columns)")
    check_finite(vals, what, lo=0.0, error=InvalidEconomyError)
    return rows, cols, vals


def dedupe_last(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray):
    """Keep the last value given for each repeated ``(row, col)``; sorted by row, then column."""
    if rows.size < 2:
        return rows, cols, vals
    order = np.lexsort((np.arange(rows.size), cols, rows))
    r, c, v = rows[order], cols[order], vals[order]
    last = np.ones(r.size, dtype=bool)
    last[:-1] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return r[last], c[last], v[last]


def find_entries(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, cols: np.ndarray):
    """Where entries ``(rows, cols)`` sit in a CSR with sorted indices.

    Returns
    -------
    pos : numpy.ndarray of int64
        Position in ``data`` (the insertion point when absent).
    found : numpy.ndarray of bool
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    lo = indptr[rows].astype(np.int64)
    end = indptr[rows + 1].astype(np.int64)
    if indices.size == 0 or rows.size == 0:
        return lo, np.zeros(rows.size, bool)
    hi = end.copy()
    act = np.flatnonzero(lo < hi)
    while act.size:  # vectorised binary search, all entries at once
        mid = (lo[act] + hi[act]) >> 1
        right = indices[mid] < cols[act]
        lo[act[right]] = mid[right] + 1
        hi[act[~right]] = mid[~right]
        act = act[lo[act] < hi[act]]
    found = lo < end
    found[found] = indices[lo[found]] == cols[found]
    return lo, found


def csr_get(A: sp.csr_matrix, rows, cols) -> np.ndarray:
    """``A[rows, cols]`` as float64 (0 where no entry is stored); ``A`` must have sorted indices."""
    pos, found = find_entries(A.indptr, A.indices, rows, cols)
    out = np.zeros(pos.size, np.float64)
    out[found] = A.data[pos[found]]
    return out


def _readonly(*arrays):
    for a in arrays:
        a.flags.writeable = False


def _csr(data, indices, indptr, shape) -> sp.csr_matrix:
    out = sp.csr_matrix(shape, dtype=data.dtype)
    out.data, out.indices, out.indptr = data, indices, indptr
    out.has_sorted_indices = True
    return out


def csr_set(A: sp.csr_matrix, rows, cols, vals) -> sp.csr_matrix:
    """A new CSR with ``A[rows, cols] = vals``; ``A`` is left as it was.

    A repeated position takes the last value; a value of 0 removes the entry.
    The index arrays are shared with ``A`` when no entry appears or disappears;
    otherwise one O(nnz) pass builds new ones (int32 while they fit).  The
    result's arrays are read-only.  ``A`` must have sorted indices (as every
    :class:`~bigplan.Economy` matrix has).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from bigplan._sparse import csr_set
    >>> A = sp.csr_matrix(np.array([[0.0, 0.5], [0.2, 0.0]]))
    >>> csr_set(A, [0, 1], [1, 1], [0.0, 0.3]).toarray().tolist()
    [[0.0, 0.0], [0.2, 0.3]]
    """
    rows = np.asarray(rows, dtype=np.int64).reshape(-1)
    cols = np.asarray(cols, dtype=np.int64).reshape(-1)
    vals = np.asarray(vals, dtype=np.float64).reshape(-1)
    if not (rows.size == cols.size == vals.size):
        raise ShapeError(f"csr_set needs rows, cols and vals of one length, got {rows.size}, {cols.size}, {vals.size}")
    n0, n1 = A.shape
    if rows.size == 0:
        return A
    if rows.min() < 0 or rows.max() >= n0 or cols.min() < 0 or cols.max() >= n1:
        raise ShapeError(f"positions outside a {n0} x {n1} matrix")
    rows, cols, vals = dedupe_last(rows, cols, vals)
    pos, found = find_entries(A.indptr, A.indices, rows, cols)
    dtype = A.data.dtype
    upd = found & (vals != 0)
    dele = found & (vals == 0)
    ins = ~found & (vals != 0)
    data = A.data.copy()
    data[pos[upd]] = vals[upd].astype(dtype)
    if not dele.any() and not ins.any():
        _readonly(data)
        return _csr(data, A.indices, A.indptr, A.shape)
    indices = A.indices
    dpos = pos[dele]
    if dpos.size:
        data = np.delete(data, dpos)
        indices = np.delete(indices, dpos)
    ipos = pos[ins] - np.searchsorted(dpos, pos[ins], side="left") if dpos.size else pos[ins]
    if ipos.size:
        data = np.insert(data, ipos, vals[ins].astype(dtype))
        indices = np.insert(indices, ipos, cols[ins].astype(indices.dtype))
    counts = np.bincount(rows[ins], minlength=n0) - np.bincount(rows[dele], minlength=n0)
    indptr = A.indptr.astype(np.int64).copy()
    indptr[1:] += np.cumsum(counts)
    idx_dtype = np.int32 if max(int(indptr[-1]), n0, n1) <= _INT32_MAX else np.int64
    if A.indices.dtype == np.int64 and A.indptr.dtype == np.int64:
        idx_dtype = np.int64  # a matrix forced to int64 indices stays so
    indptr = indptr.astype(idx_dtype)
    indices = indices.astype(idx_dtype, copy=False)
    _readonly(indptr, indices, data)
    return _csr(data, indices, indptr, A.shape)


def keyed_get(keys: np.ndarray, values: np.ndarray, query) -> np.ndarray:
    """Values at ``query`` from a sorted-key sparse vector; NaN where absent."""
    query = np.asarray(query, dtype=np.int64)
    pos = np.searchsorted(keys, query)
    out = np.full(query.size, np.nan)
    ok = pos < keys.size
    ok[ok] = keys[pos[ok]] == query[ok]
    out[ok] = values[pos[ok]]
    return out


def keyed_set(keys: np.ndarray, values: np.ndarray, qkeys, qvals):
    """A sorted-key sparse vector with ``qkeys`` set to ``qvals`` (unique keys; NaN deletes).

    Returns new read-only ``(keys, values)``; the inputs are left as they were.
    """
    qkeys = np.asarray(qkeys, dtype=np.int64)
    qvals = np.asarray(qvals, dtype=np.float64)
    if qkeys.size == 0:
        return keys, values
    pos = np.searchsorted(keys, qkeys)
    found = pos < keys.size
    found[found] = keys[pos[found]] == qkeys[found]
    v2 = values.copy()
    keep = ~np.isnan(qvals)
    v2[pos[found & keep]] = qvals[found & keep]
    k2 = keys
    gone = found & ~keep
    if gone.any():
        k2 = np.delete(k2, pos[gone])
        v2 = np.delete(v2, pos[gone])
    new = ~found & keep
    if new.any():
        order = np.argsort(qkeys[new], kind="stable")
        nk, nv = qkeys[new][order], qvals[new][order]
        ip = np.searchsorted(k2, nk)
        k2 = np.insert(k2, ip, nk)
        v2 = np.insert(v2, ip, nv)
    if k2 is keys:
        k2 = keys.copy()
    _readonly(k2, v2)
    return k2, v2
