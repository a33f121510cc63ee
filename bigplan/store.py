"""The coefficient memory: a durable, versioned store for an economy and its plans.

A store is a directory::

    store/
        bigplan-store.json     marker: format version, written once the ledger exists
        ledger.sqlite          the ledger (SQLite, WAL mode): versions, changes,
                               snapshots, objects, units, plans
        objects/ab/abcd....npy immutable arrays (.npy, never pickled), named by the
                               SHA-256 of their dtype, shape and bytes

**The ledger** is append-only.  Version 1 holds a whole economy; every later
version records what changed (kind, row, column, old value, new value), who
reported it, when and why.  Kinds are ``"A"`` (technical coefficients),
``"capital"``, ``"labour"``, ``"depreciation"``, ``"labour_supply"``,
``"stocks"`` and ``"capacity"`` (the last two per reporting unit and product).
A roll-back is a new version that restores an old state; nothing is ever
deleted from the history.

**Snapshots** of the full state are written every ``snapshot_every`` versions
(or ``snapshot_changes`` changed entries), so reading any version is: load the
nearest snapshot (or a state already in memory) and replay the ledger rows in
between, vectorized (the ledger keeps old values, so replay runs forwards or
backwards).  A commit writes only its changed entries, never the matrix.

**Crash safety.**  Every write is one SQLite transaction begun with
``BEGIN IMMEDIATE`` (so two writers serialize; a writer that cannot get the
lock within ``timeout`` seconds gets :class:`StoreBusyError`), in WAL mode with
``synchronous=FULL``.  Array files are written to a temporary name, fsynced,
renamed and the directory fsynced *before* the transaction that references
them commits; their SHA-256 is kept in the ledger and checked on every load.
A process killed at any point leaves the store at its last committed version
(the uncommitted WAL frames are ignored; stray files are harmless and removed by
:meth:`Store.gc`).  Readers run in their own read transaction and see one
consistent version while a writer commits.

No pickles anywhere: labels are stored as a unicode or integer array, every
``.npy`` file is written and read with ``allow_pickle=False`` semantics (object
dtypes are refused).

The public entry points are re-exported by :mod:`bigplan.inventory`.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .economy import Economy, Productivity
from .errors import (
    CorruptStoreError,
    InvalidEconomyError,
    LabelError,
    NegativeStockError,
    ShapeError,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    UnknownProductError,
)

__all__ = [
    "FORMAT_VERSION",
    "DEFAULT_UNIT",
    "KINDS",
    "Store",
    "StoreBusyError",
    "NegativeStockError",
    "open_store",
]

#: Newest store format this module reads and the one it writes.
FORMAT_VERSION = 1
#: Reporting unit of stocks and capacities given without one (and of an economy's own).
DEFAULT_UNIT = "default"
#: Kinds of change the ledger records.
KINDS = ("A", "capital", "labour", "depreciation", "labour_supply", "stocks", "capacity")

_LEDGER = "ledger.sqlite"
_MARKER = "bigplan-store.json"
_OBJECTS = "objects"
_CHUNK = 1 << 24
_SNAPSHOT_COST_ROWS = 300_000  # reading a snapshot costs about as much as replaying this many rows
_MARGIN = 1e-9  # column sums this close to 1 are re-certified from scratch
_FOLD_ROWS = 2_000_000  # pending coefficient changes merged into the CSR arrays beyond this many

# test hooks: pause at a named point inside a write (see tests/test_store.py)
_PAUSE_ENV = "BIGPLAN_STORE_PAUSE_AT"
_PAUSE_DIR_ENV = "BIGPLAN_STORE_PAUSE_DIR"




def _pause(point: str) -> None:
    """Test hook: when ``BIGPLAN_STORE_PAUSE_AT`` names ``point``, signal and wait.

    Writes ``$BIGPLAN_STORE_PAUSE_DIR/paused-<point>`` and waits (at most
    ``BIGPLAN_STORE_PAUSE_SECONDS``, default 120) for ``release-<point>`` to
    appear.  Lets a test kill a writer at a known point of a commit.
    """
    want = os.environ.get(_PAUSE_ENV)
    if not want or point not in want.split(","):
        return
    d = Path(os.environ.get(_PAUSE_DIR_ENV, "."))
    (d / f"paused-{point}").write_text(str(os.getpid()))
    deadline = time.monotonic() + float(os.environ.get("BIGPLAN_STORE_PAUSE_SECONDS", "120"))
    while time.monotonic() < deadline and not (d / f"release-{point}").exists():
        time.sleep(0.005)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(str(path), os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# immutable array objects
# ---------------------------------------------------------------------------
def _prefix(dtype: np.dtype, shape: tuple) -> bytes:
    return f"{dtype.str};{','.join(str(int(s)) for s in shape)}\n".encode()


def _bytes_view(arr: np.ndarray) -> memoryview:
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")


def _digest(arr: np.ndarray) -> str:
    h = hashlib.sha256(_prefix(arr.dtype, arr.shape))
    mv = _bytes_view(arr)
    for i in range(0, len(mv), _CHUNK):
        h.update(mv[i : i + _CHUNK])
    return h.hexdigest()


@dataclass(frozen=True)
class _ObjectInfo:
    digest: str
    path: str
    dtype: str
    shape: tuple
    nbytes: int


def _write_npy(root: Path, arr: np.ndarray) -> _ObjectInfo:
    """Write ``arr`` as an immutable, content-named ``.npy`` file (durable on return)."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype.hasobject:
        raise StoreError("refusing to store an object array (it would need pickle)")
    tmpdir = root / _OBJECTS
    tmpdir.mkdir(exist_ok=True)
    tmp = tmpdir / f".tmp-{uuid.uuid4().hex}.npy"
    h = hashlib.sha256(_prefix(arr.dtype, arr.shape))
    header = np.lib.format.header_data_from_array_1_0(arr)
    try:
        with open(tmp, "wb") as f:
            np.lib.format.write_array_header_2_0(f, header)
            mv = _bytes_view(arr)
            for i in range(0, len(mv), _CHUNK):
                part = mv[i : i + _CHUNK]
                h.update(part)
                f.write(part)
                if i == 0:
                    _pause("object_write")
            f.flush()
            os.fsync(f.fileno())
        digest = h.hexdigest()
        sub = tmpdir / digest[:2]
        sub.mkdir(exist_ok=True)
        final = sub / f"{digest}.npy"
        os.replace(tmp, final)
        _fsync_dir(sub)
        _fsync_dir(tmpdir)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    rel = f"{_OBJECTS}/{digest[:2]}/{digest}.npy"
    return _ObjectInfo(digest, rel, arr.dtype.str, tuple(int(s) for s in arr.shape), int(arr.nbytes))


def _read_npy(root: Path, info: _ObjectInfo, what: str) -> np.ndarray:
    """Read and verify one object; any mismatch is a :class:`CorruptStoreError`."""
    path = root / info.path
    fix = (
        "the store cannot be read there; restore the store directory from a backup "
        "(or read another version, or run Store.verify() to list every damaged file)"
    )
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise CorruptStoreError(f"{what}: array file {info.path} is missing; {fix}") from None
    with f:
        try:
            ver = np.lib.format.read_magic(f)
            if ver == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            elif ver == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy version {ver}")
        except (ValueError, OSError, SyntaxError, EOFError) as exc:
            raise CorruptStoreError(f"{what}: array file {info.path} has a damaged header ({exc}); {fix}") from None
        if dtype.hasobject or fortran or dtype.str != info.dtype or tuple(shape) != tuple(info.shape):
            raise CorruptStoreError(
                f"{what}: array file {info.path} holds {dtype.str}{tuple(shape)}, the ledger expects "
                f"{info.dtype}{tuple(info.shape)}; {fix}"
            )
        arr = np.empty(shape, dtype=dtype)
        mv = _bytes_view(arr)
        h = hashlib.sha256(_prefix(dtype, tuple(shape)))
        off = 0
        while off < len(mv):
            got = f.readinto(mv[off : off + _CHUNK])
            if not got:
                raise CorruptStoreError(
                    f"{what}: array file {info.path} is truncated ({off} of {len(mv)} data bytes); {fix}"
                )
            h.update(mv[off : off + got])
            off += got
        if f.read(1):
            raise CorruptStoreError(f"{what}: array file {info.path} has trailing bytes; {fix}")
    if h.hexdigest() != info.digest:
        raise CorruptStoreError(f"{what}: array file {info.path} fails its SHA-256 check (damaged); {fix}")
    arr.flags.writeable = False
    return arr


# ---------------------------------------------------------------------------
# the in-memory state of one version
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Csr:
    """A canonical CSR matrix as three read-only arrays."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @classmethod
    def of(cls, m: sp.csr_matrix) -> "_Csr":
        m = sp.csr_matrix(m)
        if not m.has_canonical_format:
            m = m.copy()
            m.sum_duplicates()
        for a in (m.indptr, m.indices, m.data):
            a.flags.writeable = False
        return cls(m.indptr, m.indices, m.data)

    def matrix(self, n: int) -> sp.csr_matrix:
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=(n, n))

    @property
    def nnz(self) -> int:
        return int(self.data.size)


@dataclass(frozen=True)
class _Keyed:
    """A sparse vector over ``unit * n + product`` keys (sorted), for stocks and capacities."""

    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls) -> "_Keyed":
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64))


@dataclass(frozen=True)
class _State:
    version: int
    n: int
    dtype: np.dtype
    labels: pd.Index | None
    labour_names: tuple | None
    A: _Csr
    colsum: np.ndarray
    capital: _Csr | None
    labour: np.ndarray | None
    depreciation: np.ndarray | None
    labour_supply: np.ndarray | None
    stocks: _Keyed
    capacity: _Keyed
    has_stocks: bool  # the economy itself had a stocks vector
    has_capacity: bool
    productivity: Productivity
    digests: dict = field(default_factory=dict, compare=False)
    # coefficient changes not yet merged into ``A`` (keys row * n + col; 0 removes an entry):
    # a commit touches only these, so it costs O(changes), not O(nnz)
    A_over: _Keyed = field(default_factory=lambda: _Keyed.empty(), compare=False)
    memo: dict = field(default_factory=dict, compare=False)

    def A_csr(self) -> _Csr:
        """``A`` with the pending changes merged (computed once per state)."""
        if self.A_over.keys.size == 0:
            return self.A
        m = self.memo.get("A")
        if m is None:
            keys = self.A_over.keys
            m = _csr_set(self.A, self.n, keys // self.n, keys % self.n, self.A_over.values)
            self.memo["A"] = m
        return m

    def A_get(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Current coefficients at ``(rows, cols)``."""
        out = _csr_get(self.A, rows, cols)
        if self.A_over.keys.size:
            over = _keyed_get(self.A_over, rows * self.n + cols)
            has = ~np.isnan(over)
            out[has] = over[has]
        return out

    # -- lookups ---------------------------------------------------------
    def product_positions(self, items: Sequence) -> np.ndarray:
        return _positions(self.labels, self.n, items)

    def product_label(self, pos: np.ndarray) -> list:
        if self.labels is None:
            return [int(p) for p in pos]
        return list(self.labels[np.asarray(pos, dtype=np.int64)])

    def rollup(self, kind: str) -> np.ndarray | None:
        kv: _Keyed = getattr(self, kind)
        base = self.has_stocks if kind == "stocks" else self.has_capacity
        if not base and kv.keys.size == 0:
            return None
        return np.bincount(kv.keys % self.n, weights=kv.values, minlength=self.n).astype(np.float64)


def _positions(labels: pd.Index | None, n: int, items: Sequence) -> np.ndarray:
    items = list(items)
    if labels is None:
        try:
            pos = np.asarray(items, dtype=np.int64).reshape(-1)
        except (TypeError, ValueError):
            raise UnknownProductError(
                f"this economy has no labels; name products by position 0..{n - 1}"
            ) from None
        bad = pos[(pos < 0) | (pos >= n)]
        if bad.size:
            raise UnknownProductError(
                f"unknown product positions {bad[:5].tolist()}; valid are 0..{n - 1}. Nothing was written"
            )
        return pos
    pos = labels.get_indexer(items)
    if (pos < 0).any():
        missing = [items[i] for i in np.flatnonzero(pos < 0)[:5]]
        raise UnknownProductError(
            f"unknown products {missing}; they are not among this economy's labels. Nothing was written"
        )
    return pos.astype(np.int64)


def _find_in_csr(m: _Csr, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``m.data`` of entries ``(rows, cols)``: (lower-bound position, found)."""
    lo = m.indptr[rows].astype(np.int64)
    end = m.indptr[rows + 1].astype(np.int64)
    if m.nnz == 0 or rows.size == 0:
        return lo, np.zeros(rows.size, bool)
    hi = end.copy()
    act = np.flatnonzero(lo < hi)
    while act.size:
        mid = (lo[act] + hi[act]) >> 1
        right = m.indices[mid] < cols[act]
        lo[act[right]] = mid[right] + 1
        hi[act[~right]] = mid[~right]
        act = act[lo[act] < hi[act]]
    found = lo < end
    found[found] = m.indices[lo[found]] == cols[found]
    return lo, found


def _csr_get(m: _Csr, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    pos, found = _find_in_csr(m, rows, cols)
    out = np.zeros(rows.size, np.float64)
    out[found] = m.data[pos[found]]
    return out


def _csr_set(m: _Csr, n: int, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> _Csr:
    """``m`` with ``m[rows, cols] = vals`` (unique positions; 0 removes an entry).

    Existing entries are overwritten in a copy of ``data``; the index arrays are
    shared unless entries appear or disappear, which costs one O(nnz) pass.
    """
    if rows.size == 0:
        return m
    order = np.lexsort((cols, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    pos, found = _find_in_csr(m, rows, cols)
    dtype = m.data.dtype
    upd = found & (vals != 0)
    dele = found & (vals == 0)
    ins = ~found & (vals != 0)
    if not dele.any() and not ins.any():
        data = m.data.copy()
        data[pos[upd]] = vals[upd].astype(dtype)
        data.flags.writeable = False
        return _Csr(m.indptr, m.indices, data)
    data = m.data.copy()
    data[pos[upd]] = vals[upd].astype(dtype)
    indices = m.indices
    dpos = pos[dele]
    if dpos.size:
        data = np.delete(data, dpos)
        indices = np.delete(indices, dpos)
    ipos = pos[ins] - np.searchsorted(dpos, pos[ins], side="left") if dpos.size else pos[ins]
    if ipos.size:
        data = np.insert(data, ipos, vals[ins].astype(dtype))
        indices = np.insert(indices, ipos, cols[ins].astype(indices.dtype))
    counts = np.bincount(rows[ins], minlength=n) - np.bincount(rows[dele], minlength=n)
    indptr = m.indptr.astype(np.int64).copy()
    indptr[1:] += np.cumsum(counts)
    idx_dtype = np.int32 if max(indptr[-1], n) < np.iinfo(np.int32).max else np.int64
    indptr = indptr.astype(idx_dtype)
    indices = indices.astype(idx_dtype, copy=False)
    for a in (indptr, indices, data):
        a.flags.writeable = False
    return _Csr(indptr, indices, data)


def _keyed_get(kv: _Keyed, keys: np.ndarray) -> np.ndarray:
    """Values at ``keys``; NaN where absent."""
    pos = np.searchsorted(kv.keys, keys)
    out = np.full(keys.size, np.nan)
    ok = pos < kv.keys.size
    ok[ok] = kv.keys[pos[ok]] == keys[ok]
    out[ok] = kv.values[pos[ok]]
    return out


def _keyed_set(kv: _Keyed, keys: np.ndarray, vals: np.ndarray) -> _Keyed:
    """Set values at unique ``keys``; NaN deletes an entry."""
    if keys.size == 0:
        return kv
    pos = np.searchsorted(kv.keys, keys)
    found = pos < kv.keys.size
    found[found] = kv.keys[pos[found]] == keys[found]
    values = kv.values.copy()
    keep = ~np.isnan(vals)
    values[pos[found & keep]] = vals[found & keep]
    k2, v2 = kv.keys, values
    gone = found & ~keep
    if gone.any():
        k2 = np.delete(k2, pos[gone])
        v2 = np.delete(v2, pos[gone])
    new = ~found & keep
    if new.any():
        order = np.argsort(keys[new], kind="stable")
        nk, nv = keys[new][order], vals[new][order]
        ip = np.searchsorted(k2, nk)
        k2 = np.insert(k2, ip, nk)
        v2 = np.insert(v2, ip, nv)
    for a in (k2, v2):
        a.flags.writeable = False
    return _Keyed(k2, v2)


def _dense_set(arr: np.ndarray, idx: tuple, vals: np.ndarray) -> np.ndarray:
    out = arr.copy()
    out[idx] = vals.astype(out.dtype)
    out.flags.writeable = False
    return out


# ---------------------------------------------------------------------------
# change sets
# ---------------------------------------------------------------------------
@dataclass
class _Delta:
    """Changes of one kind as unique (row, col) positions and new values (NaN = remove)."""

    kind: str
    rows: np.ndarray
    cols: np.ndarray
    new: np.ndarray
    old: np.ndarray | None = None


def _dedupe_last(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> tuple:
    """Keep the last value given for each (row, col); sort by (row, col)."""
    if rows.size == 0:
        return rows, cols, vals
    key = np.stack([rows, cols])
    rev = key[:, ::-1]
    uniq, idx = np.unique(rev, axis=1, return_index=True)
    return uniq[0].copy(), uniq[1].copy(), vals[::-1][idx]


def _apply(state: _State, deltas: Iterable[_Delta], version: int, productivity: Productivity) -> _State:
    """A new state with the deltas' new values applied (vectorized; inputs untouched)."""
    kw: dict[str, Any] = {}
    digests = dict(state.digests)
    n = state.n
    for d in deltas:
        if d.rows.size == 0:
            continue
        if d.kind == "A":
            over = kw.get("A_over", state.A_over)
            old = d.old if d.old is not None else state.A_get(d.rows, d.cols)
            new = np.nan_to_num(d.new, nan=0.0)
            over = _keyed_set(over, d.rows * n + d.cols, new)
            colsum = kw.get("colsum", state.colsum).copy()
            colsum += np.bincount(d.cols, weights=new - old, minlength=n)
            colsum.flags.writeable = False
            kw["A_over"], kw["colsum"] = over, colsum
        elif d.kind == "capital":
            B = kw.get("capital", state.capital) or _Csr.of(sp.csr_matrix((n, n), dtype=state.dtype))
            kw["capital"] = _csr_set(B, n, d.rows, d.cols, np.nan_to_num(d.new, nan=0.0))
        elif d.kind == "labour":
            kw["labour"] = _dense_set(kw.get("labour", state.labour), (d.rows, d.cols), d.new)
        elif d.kind in ("depreciation", "labour_supply"):
            kw[d.kind] = _dense_set(kw.get(d.kind, getattr(state, d.kind)), (d.rows,), d.new)
        elif d.kind in ("stocks", "capacity"):
            keys = d.cols.astype(np.int64) * n + d.rows
            kw[d.kind] = _keyed_set(kw.get(d.kind, getattr(state, d.kind)), keys, d.new)
        else:  # pragma: no cover - kinds are validated on the way in
            raise StoreError(f"unknown change kind {d.kind!r}")
    new_state = replace(state, version=version, productivity=productivity, digests=digests, memo={}, **kw)
    if new_state.A_over.keys.size > _FOLD_ROWS:  # too many pending changes: merge them into A
        new_state = replace(new_state, A=new_state.A_csr(), A_over=_Keyed.empty(), memo={})
    return new_state


# ---------------------------------------------------------------------------
# labels as arrays (no pickles)
# ---------------------------------------------------------------------------
def _labels_array(labels: pd.Index | None) -> np.ndarray | None:
    if labels is None:
        return None
    if isinstance(labels, pd.MultiIndex):
        raise StoreError("a store keeps labels as strings or integers; join MultiIndex levels into strings first")
    if pd.api.types.is_integer_dtype(labels.dtype):
        return np.asarray(labels, dtype=np.int64)
    vals = labels.tolist()
    if all(isinstance(v, str) for v in vals):
        return np.array(vals, dtype=str) if vals else np.zeros(0, dtype="<U1")
    bad = next(v for v in vals if not isinstance(v, str))
    raise StoreError(
        f"a store keeps product labels as strings or integers (never pickled); got a {type(bad).__name__} "
        f"label {bad!r}. Convert the labels with labels.astype(str)"
    )


def _labels_index(arr: np.ndarray | None) -> pd.Index | None:
    if arr is None:
        return None
    if arr.dtype.kind == "U":
        return pd.Index(arr.tolist(), dtype=object)
    return pd.Index(np.asarray(arr))


# ---------------------------------------------------------------------------
# SQLite schema
# ---------------------------------------------------------------------------
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS versions(
    version INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    created TEXT NOT NULL,
    n_changes INTEGER NOT NULL,
    target INTEGER,
    certificate TEXT NOT NULL,
    info TEXT,
    full INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS changes(
    version INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    row INTEGER NOT NULL,
    col INTEGER NOT NULL,
    old REAL,
    new REAL,
    PRIMARY KEY(version, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects(
    digest TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    nbytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots(version INTEGER PRIMARY KEY, manifest TEXT NOT NULL, meta TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS units(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS plans(
    name TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    demand TEXT NOT NULL,
    created TEXT NOT NULL,
    author TEXT NOT NULL,
    note TEXT,
    output TEXT,
    output_version INTEGER,
    residual REAL,
    solved TEXT
);
"""


def _is_busy(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return "locked" in msg or "busy" in msg


def _cert_json(p: Productivity) -> str:
    def f(x):
        return None if x is None or not math.isfinite(x) else float(x)

    return json.dumps({"lower": f(p.lower), "upper": f(p.upper), "method": p.method, "iterations": int(p.iterations)})


def _cert_from(s: str) -> Productivity:
    d = json.loads(s)
    up = d["upper"]
    return Productivity(
        float(d["lower"] or 0.0), float("nan") if up is None else float(up), str(d["method"]), int(d["iterations"])
    )


# ---------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------
class Store:
    """A durable, versioned economy with its plans.  Open one with :func:`open_store`.

    Versions are numbered 1, 2, ...; version 1 is the first economy committed.
    Every method that writes is atomic: it either commits a whole new version or
    leaves the store as it was.

    Examples
    --------
    >>> import tempfile, numpy as np, bigplan
    >>> from bigplan.inventory import open_store
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
    >>> with open_store(tempfile.mkdtemp()) as store:
    ...     v1 = store.commit(e, author="office", reason="first table")
    ...     v2 = store.commit({("iron", "grain"): 0.25}, author="steel council", reason="new furnace")
    ...     float(store.economy(v2).A[1, 0]), float(store.economy(v1).A[1, 0]), len(store.diff(v1, v2))
    (0.25, 0.2, 1)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        timeout: float = 30.0,
        snapshot_every: int = 64,
        snapshot_changes: int = 200_000,
        cache: int = 2,
        threads: int | None = None,
    ):
        self.path = Path(path)
        self.timeout = float(timeout)
        if snapshot_every < 1 or snapshot_changes < 1:
            raise ValueError("snapshot_every and snapshot_changes must be >= 1")
        self.snapshot_every = int(snapshot_every)
        self.snapshot_changes = int(snapshot_changes)
        self._cache_size = max(1, int(cache))
        self._threads = threads or min(4, os.cpu_count() or 1)
        self._lock = threading.RLock()
        self._states: OrderedDict[int, _State] = OrderedDict()
        self._economies: OrderedDict[int, Economy] = OrderedDict()
        self._con: sqlite3.Connection | None = None
        self._open()

    # -- opening -----------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(
                str(self.path / _LEDGER), timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            con.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise self._wrap(exc, "open") from None
        return con

    def _open(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise StoreError(f"{p} is a file, not a store directory; give a directory path (it is created if missing)")
        p.mkdir(parents=True, exist_ok=True)
        ledger = p / _LEDGER
        marker = p / _MARKER
        if not ledger.exists():
            if marker.exists():
                raise CorruptStoreError(
                    f"{p} is a bigplan store but its ledger {_LEDGER} is missing; nothing can be read. "
                    "Restore the directory from a backup"
                )
            stray = [c.name for c in p.iterdir() if c.name not in (_OBJECTS,) and not c.name.startswith(_LEDGER)]
            if stray:
                raise StoreError(
                    f"{p} is not a bigplan store (no {_LEDGER}) and is not empty ({stray[:3]}); "
                    "give a new or empty directory"
                )
        elif ledger.stat().st_size == 0 and marker.exists():
            raise CorruptStoreError(f"the ledger {ledger} is empty (truncated); restore the store from a backup")
        con = self._connect()
        self._con = con
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                con.execute("PRAGMA journal_mode = WAL")
            has_meta = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            if not has_meta:
                if marker.exists():
                    raise CorruptStoreError(
                        f"the ledger {ledger} has lost its tables (truncated or overwritten); "
                        "restore the store from a backup"
                    )
                self._create()
            ok = con.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise CorruptStoreError(f"the ledger {ledger} is damaged ({ok}); restore the store from a backup")
            row = con.execute("SELECT value FROM meta WHERE key='format_version'").fetchone()
            if row is None:
                raise CorruptStoreError(f"the ledger {ledger} has no format version; it is not a complete store")
            fmt = int(row[0])
            if fmt > FORMAT_VERSION:
                raise StoreVersionError(
                    f"{p} was written by store format version {fmt}; this bigplan reads formats up to "
                    f"{FORMAT_VERSION}. Upgrade bigplan to open it (the store was not modified)"
                )
            if not marker.exists():
                self._write_marker()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self._wrap(exc, "open") from None
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        con = self._con
        (self.path / _OBJECTS).mkdir(exist_ok=True)
        con.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (_now(),))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            con.execute("INSERT OR IGNORE INTO units(id, name) VALUES (0, ?)", (DEFAULT_UNIT,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._write_marker()

    def _write_marker(self) -> None:
        marker = self.path / _MARKER
        tmp = self.path / f".{_MARKER}.{uuid.uuid4().hex}"
        with open(tmp, "w") as f:
            json.dump({"format": "bigplan-store", "format_version": FORMAT_VERSION}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, marker)
        _fsync_dir(self.path)

    def _wrap(self, exc: BaseException, what: str) -> StoreError:
        if _is_busy(exc):
            return StoreBusyError(
                f"{what}: the store {self.path} is locked by another writer and stayed locked for "
                f"{self.timeout:g} s; nothing was written. Retry, or open it with a larger timeout"
            )
        return CorruptStoreError(
            f"{what}: the ledger {self.path / _LEDGER} cannot be read ({exc}); it is damaged or not a "
            "bigplan store. Restore it from a backup"
        )

    def close(self) -> None:
        """Close the ledger connection (the store stays on disk)."""
        with self._lock:
            if self._con is not None:
                try:
                    self._con.close()
                finally:
                    self._con = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        try:
            head = self.head
        except StoreError:
            head = "?"
        return f"<bigplan Store {str(self.path)!r} head={head}>"

    # -- transactions ------------------------------------------------------
    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreError("this store is closed; open it again with open_store(path)")
        return self._con

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = self.con
            if con.in_transaction:
                yield con
                return
            try:
                con.execute("BEGIN")
            except sqlite3.DatabaseError as exc:
                raise self._wrap(exc, "read") from None
            try:
                yield con
            except sqlite3.DatabaseError as exc:
                con.execute("ROLLBACK")
                raise self._wrap(exc, "read") from None
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            con = self.con
            if con.in_transaction:
                raise StoreError(f"{what}: a write is already in progress on this store object")
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self._wrap(exc, what) from None
            try:
                yield con
            except sqlite3.DatabaseError as exc:
                con.execute("ROLLBACK")
                raise self._wrap(exc, what) from None
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
            else:
                try:
                    con.execute("COMMIT")
                except sqlite3.DatabaseError as exc:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise self._wrap(exc, what) from None

    # -- versions ------------------------------------------------------------
    @property
    def head(self) -> int:
        """The latest committed version (0 for an empty store)."""
        with self._read() as con:
            return self._head(con)

    @staticmethod
    def _head(con) -> int:
        return int(con.execute("SELECT COALESCE(MAX(version), 0) FROM versions").fetchone()[0])

    def versions(self) -> pd.DataFrame:
        """The ledger's versions: who, when, why, how many changes, which have snapshots.

        Returns
        -------
        pandas.DataFrame
            Indexed by version; columns ``kind``, ``author``, ``reason``, ``created``
            (UTC ISO time), ``changes``, ``snapshot``, ``target`` (of a roll-back) and
            ``spectral_radius_upper`` (the certified bound).
        """
        with self._read() as con:
            rows = con.execute(
                "SELECT v.version, v.kind, v.author, v.reason, v.created, v.n_changes, v.target, v.certificate, "
                "s.version IS NOT NULL FROM versions v LEFT JOIN snapshots s ON s.version = v.version "
                "ORDER BY v.version"
            ).fetchall()
        df = pd.DataFrame(
            [
                (r[0], r[1], r[2], r[3], r[4], r[5], bool(r[8]), r[6], _cert_from(r[7]).upper)
                for r in rows
            ],
            columns=["version", "kind", "author", "reason", "created", "changes", "snapshot", "target",
                     "spectral_radius_upper"],
        )
        df["target"] = df["target"].astype("Int64")
        return df.set_index("version")

    def _check_version(self, con, version: int | None) -> int:
        head = self._head(con)
        if head == 0:
            raise StoreError(f"the store {self.path} is empty; commit an Economy first (store.commit(economy, ...))")
        if version is None:
            return head
        v = int(version)
        if v < 0:
            v = head + 1 + v
        if not 1 <= v <= head:
            raise StoreError(f"no version {version} in this store; versions are 1..{head}")
        return v

    # -- reading states ------------------------------------------------------
    def _objects(self, con, digests: Iterable[str]) -> dict[str, _ObjectInfo]:
        out = {}
        for d in set(digests):
            r = con.execute("SELECT digest, path, dtype, shape, nbytes FROM objects WHERE digest=?", (d,)).fetchone()
            if r is None:
                raise CorruptStoreError(f"the ledger refers to array {d[:12]}... but does not list it; the store is damaged")
            shape = tuple(int(s) for s in r[3].split(",") if s != "")
            out[d] = _ObjectInfo(r[0], r[1], r[2], shape, int(r[4]))
        return out

    def _load_snapshot(self, con, version: int) -> _State:
        r = con.execute("SELECT manifest, meta FROM snapshots WHERE version=?", (version,)).fetchone()
        if r is None:
            raise CorruptStoreError(f"snapshot of version {version} is listed but missing from the ledger")
        manifest: dict = json.loads(r[0])
        meta: dict = json.loads(r[1])
        infos = self._objects(con, manifest.values())
        what = f"snapshot of version {version}"

        def load(name):
            return name, _read_npy(self.path, infos[manifest[name]], f"{what}, array {name!r}")

        if self._threads > 1 and len(manifest) > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                arrays = dict(pool.map(load, sorted(manifest, key=lambda k: -infos[manifest[k]].nbytes)))
        else:
            arrays = dict(load(k) for k in manifest)
        n = int(meta["n"])

        def csr(prefix):
            if f"{prefix}.data" not in arrays:
                return None
            m = _Csr(arrays[f"{prefix}.indptr"], arrays[f"{prefix}.indices"], arrays[f"{prefix}.data"])
            if m.indptr.shape != (n + 1,) or m.indices.shape != m.data.shape or int(m.indptr[-1]) != m.nnz:
                raise CorruptStoreError(f"{what}: the arrays of {prefix} do not form an {n} x {n} CSR matrix")
            return m

        def keyed(kind):
            if f"{kind}.keys" not in arrays:
                return _Keyed.empty()
            return _Keyed(arrays[f"{kind}.keys"], arrays[f"{kind}.values"])

        cert = con.execute("SELECT certificate FROM versions WHERE version=?", (version,)).fetchone()
        return _State(
            version=version,
            n=n,
            dtype=np.dtype(meta["dtype"]),
            labels=_labels_index(arrays.get("labels")),
            labour_names=tuple(meta["labour_names"]) if meta.get("labour_names") is not None else None,
            A=csr("A"),
            colsum=arrays["colsum"],
            capital=csr("capital"),
            labour=arrays.get("labour"),
            depreciation=arrays.get("depreciation"),
            labour_supply=arrays.get("labour_supply"),
            stocks=keyed("stocks"),
            capacity=keyed("capacity"),
            has_stocks=bool(meta["has_stocks"]),
            has_capacity=bool(meta["has_capacity"]),
            productivity=_cert_from(cert[0]),
            digests={k: (d, arrays[k]) for k, d in manifest.items()},
        )

    def _rows_between(self, con, a: int, b: int) -> int:
        lo, hi = min(a, b), max(a, b)
        return int(
            con.execute(
                "SELECT COALESCE(SUM(n_changes), 0) FROM versions WHERE version > ? AND version <= ?", (lo, hi)
            ).fetchone()[0]
        )

    def _replace_between(self, con, a: int, b: int) -> bool:
        """Whether a version in (min, max] holds a whole economy (the ledger cannot be replayed across it)."""
        lo, hi = min(a, b), max(a, b)
        r = con.execute(
            "SELECT 1 FROM versions WHERE version > ? AND version <= ? AND full = 1 LIMIT 1", (lo, hi)
        ).fetchone()
        return r is not None

    def _ledger_rows(self, con, a: int, b: int) -> dict[str, tuple]:
        """Ledger rows of versions in (a, b], by kind: (version, rows, cols, old, new) arrays in order."""
        cur = con.execute(
            "SELECT kind, version, row, col, old, new FROM changes WHERE version > ? AND version <= ? "
            "ORDER BY version, seq",
            (a, b),
        )
        rows = cur.fetchall()
        if not rows:
            return {}
        kinds = np.array([r[0] for r in rows])
        num = np.array([r[1:4] for r in rows], dtype=np.int64).reshape(-1, 3)
        old = np.array([np.nan if r[4] is None else r[4] for r in rows], dtype=np.float64)
        new = np.array([np.nan if r[5] is None else r[5] for r in rows], dtype=np.float64)
        out = {}
        for k in np.unique(kinds):
            m = kinds == k
            out[str(k)] = (num[m, 0], num[m, 1], num[m, 2], old[m], new[m])
        return out

    def _replay(self, con, state: _State, target: int) -> _State:
        """The state at ``target`` from ``state`` by replaying the ledger forwards or backwards."""
        if target == state.version:
            return state
        forward = target > state.version
        a, b = (state.version, target) if forward else (target, state.version)
        led = self._ledger_rows(con, a, b)
        deltas = []
        for kind, (_, r, c, old, new) in led.items():
            key = np.stack([r, c])
            if forward:  # the last new value of each position
                uniq, idx = np.unique(key[:, ::-1], axis=1, return_index=True)
                vals = new[::-1][idx]
            else:  # the first old value of each position
                uniq, idx = np.unique(key, axis=1, return_index=True)
                vals = old[idx]
            d = _Delta(kind, uniq[0], uniq[1], vals)
            if kind == "A":
                # old value of each unique position in ``state`` (for the column sums)
                d.old = state.A_get(uniq[0], uniq[1])
            deltas.append(d)
        cert = con.execute("SELECT certificate FROM versions WHERE version=?", (target,)).fetchone()
        return _apply(state, deltas, target, _cert_from(cert[0]))

    def _state(self, con, version: int) -> _State:
        """The state at ``version`` (cached states, snapshots and the ledger, cheapest first)."""
        with self._lock:
            if version in self._states:
                self._states.move_to_end(version)
                return self._states[version]
            best = None  # (cost, kind, source)
            for v, st in self._states.items():
                if not self._replace_between(con, v, version):
                    cost = self._rows_between(con, v, version)
                    if best is None or cost < best[0]:
                        best = (cost, "state", st)
            before = con.execute(
                "SELECT MAX(version) FROM snapshots WHERE version <= ?", (version,)
            ).fetchone()[0]
            after = con.execute("SELECT MIN(version) FROM snapshots WHERE version > ?", (version,)).fetchone()[0]
            for s in (before, after):
                # whole-economy versions always have a snapshot, so ``before`` is never across one
                if s is None or self._replace_between(con, s, version):
                    continue
                cost = _SNAPSHOT_COST_ROWS + self._rows_between(con, s, version)
                if best is None or cost < best[0]:
                    best = (cost, "snapshot", s)
            if best is None:
                raise CorruptStoreError(f"no snapshot from which version {version} can be rebuilt; the store is damaged")
            base = best[2] if best[1] == "state" else self._load_snapshot(con, best[2])
            st = self._replay(con, base, version)
            self._remember(st)
            return st

    def _any_state(self, con, version: int) -> _State:
        """A state for labels and names only (the products never change between versions)."""
        with self._lock:
            if self._states:
                return next(reversed(self._states.values()))
        return self._state(con, version)

    def _remember(self, st: _State) -> None:
        self._states[st.version] = st
        self._states.move_to_end(st.version)
        while len(self._states) > self._cache_size:
            self._states.popitem(last=False)

    def _economy_from(self, st: _State) -> Economy:
        kwargs = dict(
            labels=st.labels,
            labour_names=st.labour_names,
            capital=None if st.capital is None else st.capital.matrix(st.n),
            depreciation=st.depreciation,
            capacity=st.rollup("capacity"),
            stocks=st.rollup("stocks"),
            labour_supply=st.labour_supply,
            dtype=st.dtype,
        )
        A = st.A_csr().matrix(st.n)
        cert = st.productivity
        if not (cert.upper < 1.0):  # pragma: no cover - every stored version is certified
            return Economy(A, st.labour, check=True, **kwargs)
        # The ledger holds the certificate computed when this version was committed (the arrays
        # were checked against their SHA-256 on the way in): attach it instead of recomputing.
        return Economy(A, st.labour, certificate=cert, **kwargs)

    def economy(self, version: int | None = None) -> Economy:
        """The economy at ``version`` (default: the latest).

        Parameters
        ----------
        version : int, optional
            A version number; negative numbers count from the latest (-1 = latest).

        Returns
        -------
        Economy
            With its stocks and capacities rolled up over the reporting units and
            the productivity certificate recorded at commit time.

        Raises
        ------
        StoreError
            Empty store or unknown version.
        CorruptStoreError
            A snapshot file is missing, truncated or fails its checksum (nothing is returned).
        """
        with self._read() as con:
            v = self._check_version(con, version)
            with self._lock:
                if v in self._economies:
                    self._economies.move_to_end(v)
                    return self._economies[v]
                eco = self._economy_from(self._state(con, v))
                self._economies[v] = eco
                while len(self._economies) > self._cache_size:
                    self._economies.popitem(last=False)
                return eco

    # -- parsing changes ------------------------------------------------------
    def _unit_ids(self, con, names: Sequence, *, create: bool) -> np.ndarray:
        out = np.empty(len(names), np.int64)
        cache: dict = {}
        for i, nm in enumerate(names):
            if not isinstance(nm, str) or not nm:
                raise LabelError(f"reporting units are named by non-empty strings, got {nm!r}")
            if nm not in cache:
                r = con.execute("SELECT id FROM units WHERE name=?", (nm,)).fetchone()
                if r is None:
                    if not create:
                        raise UnknownProductError(f"unknown reporting unit {nm!r}")
                    cur = con.execute("INSERT INTO units(name) VALUES (?)", (nm,))
                    cache[nm] = int(cur.lastrowid)
                else:
                    cache[nm] = int(r[0])
            out[i] = cache[nm]
        return out

    def _unit_names(self, con) -> dict[int, str]:
        return {int(i): str(nm) for i, nm in con.execute("SELECT id, name FROM units")}

    def _parse(self, con, st: _State, changes: Any) -> list[_Delta]:
        """Turn the public change formats into validated, de-duplicated deltas."""
        if isinstance(changes, Mapping) and changes and all(isinstance(k, str) for k in changes):
            unknown = [k for k in changes if k not in KINDS]
            if unknown:
                raise StoreError(f"unknown change kinds {unknown}; kinds are {list(KINDS)}")
            parts = dict(changes)
        else:
            parts = {"A": changes}
        deltas = []
        for kind, ch in parts.items():
            d = self._parse_kind(con, st, kind, ch)
            if d is not None:
                deltas.append(d)
        return deltas

    def _parse_kind(self, con, st: _State, kind: str, ch: Any) -> _Delta | None:
        if ch is None:
            return None
        if isinstance(ch, _Delta):
            return ch
        if kind in ("A", "capital"):
            if kind == "capital" and st.capital is None:
                raise InvalidEconomyError(
                    "this economy has no capital coefficients; commit a whole Economy(..., capital=B) first"
                )
            items = list(ch.items()) if isinstance(ch, Mapping) else list(ch)
            if not items:
                return None
            try:
                if isinstance(ch, Mapping):
                    ri = [k[0] for k, _ in items]
                    ci = [k[1] for k, _ in items]
                    vals = [v for _, v in items]
                else:
                    ri, ci, vals = zip(*items)
            except (TypeError, ValueError, IndexError):
                raise ShapeError(
                    f"{kind} changes must be {{(product_in, product_out): value}} or (product_in, product_out, value) "
                    "triples"
                ) from None
            rows, cols = st.product_positions(ri), st.product_positions(ci)
        elif kind == "labour":
            if st.labour is None:
                raise InvalidEconomyError("this economy has no labour coefficients; commit a whole Economy(A, labour) first")
            items = list(ch.items())
            m = st.labour.shape[0]
            kinds_l, prods = [], []
            for k, _ in items:
                if isinstance(k, tuple) and len(k) == 2 and (st.labels is None or k not in st.labels):
                    kinds_l.append(k[0])
                    prods.append(k[1])
                elif m == 1:
                    kinds_l.append(0)
                    prods.append(k)
                else:
                    raise LabelError(f"this economy has {m} kinds of labour: key labour changes by (kind, product)")
            rows = self._labour_rows(st, kinds_l)
            cols = st.product_positions(prods)
            vals = [v for _, v in items]
        elif kind in ("depreciation",):
            if st.depreciation is None:
                raise InvalidEconomyError(
                    "this economy has no depreciation rates; commit a whole Economy(..., depreciation=...) first"
                )
            items = list(ch.items())
            rows = st.product_positions([k for k, _ in items])
            cols = np.full(rows.size, -1, np.int64)
            vals = [v for _, v in items]
        elif kind == "labour_supply":
            if st.labour_supply is None:
                raise InvalidEconomyError(
                    "this economy has no labour supply; commit a whole Economy(..., labour_supply=...) first"
                )
            items = list(ch.items()) if isinstance(ch, Mapping) else list(enumerate(np.atleast_1d(ch)))
            rows = self._labour_rows(st, [k for k, _ in items])
            cols = np.full(rows.size, -1, np.int64)
            vals = [v for _, v in items]
        elif kind in ("stocks", "capacity"):
            units, prods, vals = _unit_items(ch, st)
            if not prods:
                return None
            rows = st.product_positions(prods)
            cols = self._unit_ids(con, units, create=True)
        else:  # pragma: no cover
            raise StoreError(f"unknown change kind {kind!r}")
        try:
            v = np.asarray(vals, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InvalidEconomyError(f"{kind} changes must be numbers") from None
        rows = np.asarray(rows, np.int64).reshape(-1)
        cols = np.asarray(cols, np.int64).reshape(-1)
        if not (rows.size == cols.size == v.size):
            raise ShapeError(f"{kind} changes: {rows.size} positions for {v.size} values")
        _validate_values(kind, v, rows, cols, st)
        rows, cols, v = _dedupe_last(rows, cols, v)
        return _Delta(kind, rows, cols, v)

    def _labour_rows(self, st: _State, kinds: Sequence) -> np.ndarray:
        names = list(st.labour_names or ())
        out = []
        for k in kinds:
            if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and 0 <= int(k) < len(names):
                out.append(int(k))
            elif k in names:
                out.append(names.index(k))
            else:
                raise LabelError(f"unknown labour kind {k!r}; this economy's are {names}")
        return np.asarray(out, np.int64)

    def _with_old(self, st: _State, d: _Delta) -> _Delta:
        if d.kind == "A":
            old = st.A_get(d.rows, d.cols)
        elif d.kind == "capital":
            old = _csr_get(st.capital, d.rows, d.cols)
        elif d.kind == "labour":
            old = st.labour[d.rows, d.cols].astype(np.float64)
        elif d.kind in ("depreciation", "labour_supply"):
            old = getattr(st, d.kind)[d.rows].astype(np.float64)
        else:
            old = _keyed_get(getattr(st, d.kind), d.cols * st.n + d.rows)
        return _Delta(d.kind, d.rows, d.cols, d.new, old)

    # -- certifying -------------------------------------------------------------
    def _certify(self, st: _State, deltas: list[_Delta], new_state: _State) -> Productivity:
        if not any(d.kind == "A" and d.rows.size for d in deltas):
            return st.productivity
        cmax = float(new_state.colsum.max()) if new_state.n else 0.0
        if cmax < 1.0 - _MARGIN:
            return Productivity(0.0, cmax, "column sums")
        # column sums do not settle it: build the economy and let it certify (or refuse)
        eco = Economy(new_state.A_csr().matrix(new_state.n), labels=new_state.labels, dtype=new_state.dtype,
                      check=True)
        return eco.productivity

    # -- writing --------------------------------------------------------------
    def commit(
        self,
        changes: Any,
        *,
        author: str,
        reason: str,
        when: str | None = None,
    ) -> int:
        """Commit a change set (or a whole economy) as a new version.

        Parameters
        ----------
        changes : Economy, mapping, or iterable of triples
            - an :class:`~bigplan.Economy`: the first version of an empty store, or
              a replacement of the whole economy (same products);
            - ``{(product_in, product_out): value}`` or ``(product_in, product_out,
              value)`` triples: new technical coefficients ``A[i, j]`` (0 removes an entry);
            - ``{kind: changes}`` with kinds ``"A"``, ``"capital"`` (as for ``A``),
              ``"labour"`` (``{(kind, product): v}``, or ``{product: v}`` for one kind),
              ``"depreciation"`` (``{product: rate}``), ``"labour_supply"``
              (``{kind: v}``), ``"stocks"`` and ``"capacity"`` (``{product: v}`` for
              the default unit or ``{(unit, product): v}``).
            Products are named by label (by position for an unlabelled economy).
        author : str
            Who reported the change.
        reason : str
            Why.
        when : str, optional
            When it was reported (ISO time; default now, UTC).

        Returns
        -------
        int
            The new version number.

        Raises
        ------
        UnknownProductError
            A change names a product (or unit) the economy does not have.
        NotProductiveError
            The new coefficients would make the economy non-productive.
        InvalidEconomyError, NegativeStockError
            NaN, infinite or negative values, depreciation outside [0, 1].
        StoreBusyError
            Another writer held the lock for longer than ``timeout``.

        In every error case nothing is written: the store stays at its last version.

        Examples
        --------
        >>> import tempfile, numpy as np, bigplan
        >>> from bigplan.inventory import open_store
        >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
        >>> s = open_store(tempfile.mkdtemp())
        >>> s.commit(e, author="office", reason="first table")
        1
        >>> s.commit({("grain", "iron"): 0.35}, author="iron works", reason="new method")
        2
        """
        return self._commit(changes, author=author, reason=reason, when=when, label="changes")

    def _commit(
        self,
        changes: Any,
        *,
        author: str,
        reason: str,
        when: str | None,
        label: str,
        target: int | None = None,
        info: dict | None = None,
        state_fn=None,
    ) -> int:
        for nm, val in (("author", author), ("reason", reason)):
            if not isinstance(val, str) or not val.strip():
                raise StoreError(f"{nm} must be a non-empty string (the ledger records who changed what, and why)")
        when = when or _now()
        with self._write("commit") as con:
            head = self._head(con)
            if isinstance(changes, Economy):
                v, new_state = self._commit_economy(con, head, changes, author, reason, when, label, target, info)
            else:
                if head == 0:
                    raise StoreError(
                        f"the store {self.path} is empty; commit a whole Economy first (store.commit(economy, ...))"
                    )
                st = self._state(con, head)
                deltas = state_fn(con, st) if state_fn is not None else self._parse(con, st, changes)
                deltas = [self._with_old(st, d) for d in deltas]
                probe = _apply(st, deltas, head + 1, st.productivity)
                _check_stock_results(probe, deltas)
                cert = self._certify(st, deltas, probe)
                new_state = replace(probe, productivity=cert)
                v = head + 1
                total = sum(int(d.rows.size) for d in deltas)
                con.execute(
                    "INSERT INTO versions(version, kind, author, reason, created, n_changes, target, certificate, info) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (v, label, author, reason, when, total, target, _cert_json(cert), json.dumps(info or {})),
                )
                seq = 0
                for d in deltas:
                    k = d.rows.size
                    old = [None if np.isnan(x) else float(x) for x in d.old.tolist()]
                    new = [None if np.isnan(x) else float(x) for x in d.new.tolist()]
                    con.executemany(
                        "INSERT INTO changes(version, seq, kind, row, col, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        zip(
                            [v] * k,
                            range(seq, seq + k),
                            [d.kind] * k,
                            d.rows.tolist(),
                            d.cols.tolist(),
                            old,
                            new,
                        ),
                    )
                    seq += k
                _pause("after_changes")
                if self._snapshot_due(con, v):
                    new_state = self._write_snapshot(con, new_state)
            _pause("before_commit")
        # only now, committed, may the new state serve later reads
        with self._lock:
            self._remember(new_state)
        return v

    def _snapshot_due(self, con, v: int) -> bool:
        last = con.execute("SELECT MAX(version) FROM snapshots WHERE version < ?", (v,)).fetchone()[0] or 0
        if v - last >= self.snapshot_every:
            return True
        return self._rows_between(con, last, v) >= self.snapshot_changes

    def _commit_economy(self, con, head, eco: Economy, author, reason, when, label, target, info):
        if eco.productivity.method == "unchecked":
            eco = eco.with_changes(None, check=True)
        if head > 0:
            cur = self._state(con, head)
            same = cur.n == eco.n and (
                (cur.labels is None and eco.labels is None)
                or (cur.labels is not None and eco.labels is not None and cur.labels.equals(eco.labels))
            )
            if not same:
                raise StoreError(
                    "a replacement economy must have the same products (labels) as the store's; "
                    "start a new store for a different product list"
                )
        v = head + 1
        st = _state_of_economy(eco, v)
        kind = "init" if head == 0 else ("rollback" if label == "rollback" else "replace")
        con.execute(
            "INSERT INTO versions(version, kind, author, reason, created, n_changes, target, certificate, info, full) "
            "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, 1)",
            (v, kind, author, reason, when, target, _cert_json(st.productivity), json.dumps(info or {})),
        )
        return v, self._write_snapshot(con, st)

    def _write_snapshot(self, con, st: _State) -> _State:
        A = st.A_csr()
        arrays: dict[str, np.ndarray] = {"A.data": A.data, "A.indices": A.indices, "A.indptr": A.indptr,
                                         "colsum": st.colsum}
        if st.capital is not None:
            arrays.update({"capital.data": st.capital.data, "capital.indices": st.capital.indices,
                           "capital.indptr": st.capital.indptr})
        for name in ("labour", "depreciation", "labour_supply"):
            a = getattr(st, name)
            if a is not None:
                arrays[name] = a
        for kind in ("stocks", "capacity"):
            kv = getattr(st, kind)
            if kv.keys.size:
                arrays[f"{kind}.keys"] = kv.keys
                arrays[f"{kind}.values"] = kv.values
        lab = st.digests.get("labels")
        if st.labels is not None and lab is None:
            arrays["labels"] = _labels_array(st.labels)
        manifest = {}
        todo = {}
        for name, arr in arrays.items():
            known = st.digests.get(name)
            if known is not None and known[1] is arr:  # unchanged since it was last read or written
                manifest[name] = known[0]
            else:
                todo[name] = arr
        if lab is not None:
            manifest["labels"] = lab[0]

        def write(item):
            return item[0], _write_npy(self.path, item[1])

        if self._threads > 1 and len(todo) > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                written = list(pool.map(write, todo.items()))
        else:
            written = [write(it) for it in todo.items()]
        for name, info in written:
            con.execute(
                "INSERT OR IGNORE INTO objects(digest, path, dtype, shape, nbytes) VALUES (?, ?, ?, ?, ?)",
                (info.digest, info.path, info.dtype, ",".join(map(str, info.shape)), info.nbytes),
            )
            manifest[name] = info.digest
        _pause("after_snapshot")
        meta = {
            "n": st.n,
            "dtype": st.dtype.str,
            "labour_names": list(st.labour_names) if st.labour_names is not None else None,
            "has_stocks": st.has_stocks,
            "has_capacity": st.has_capacity,
        }
        con.execute("INSERT INTO snapshots(version, manifest, meta) VALUES (?, ?, ?)",
                    (st.version, json.dumps(manifest, sort_keys=True), json.dumps(meta)))
        arrays_all = dict(arrays)
        digests = {k: (d, arrays_all[k]) for k, d in manifest.items() if k in arrays_all}
        if lab is not None:
            digests["labels"] = lab
        return replace(st, A=A, A_over=_Keyed.empty(), memo={}, digests=digests)

    # -- reading the ledger -----------------------------------------------------
    def _label_cols(self, con, st: _State, kinds, rows, cols) -> tuple[list, list]:
        units = self._unit_names(con)
        names = list(st.labour_names or ())
        rl, cl = [], []
        labels = st.labels
        for k, r, c in zip(kinds, rows, cols):
            if k in ("A", "capital"):
                rl.append(r if labels is None else labels[r])
                cl.append(c if labels is None else labels[c])
            elif k == "labour":
                rl.append(names[r] if r < len(names) else r)
                cl.append(c if labels is None else labels[c])
            elif k == "labour_supply":
                rl.append(names[r] if r < len(names) else r)
                cl.append(None)
            elif k == "depreciation":
                rl.append(r if labels is None else labels[r])
                cl.append(None)
            else:
                rl.append(r if labels is None else labels[r])
                cl.append(units.get(int(c), c))
        return rl, cl

    def changes(self, version: int) -> pd.DataFrame:
        """The ledger rows of one version: what changed, old and new value, who, when, why.

        Returns
        -------
        pandas.DataFrame
            Columns ``kind``, ``product``/``row`` label (``row``), ``col`` (the
            product using the input for ``A``; the unit for stocks and capacity),
            ``old``, ``new``, ``author``, ``reason``, ``created``.
        """
        with self._read() as con:
            v = self._check_version(con, version)
            st = self._any_state(con, v)
            meta = con.execute("SELECT author, reason, created FROM versions WHERE version=?", (v,)).fetchone()
            rows = con.execute(
                "SELECT kind, row, col, old, new FROM changes WHERE version=? ORDER BY seq", (v,)
            ).fetchall()
            kinds = [r[0] for r in rows]
            rl, cl = self._label_cols(con, st, kinds, [r[1] for r in rows], [r[2] for r in rows])
        df = pd.DataFrame(
            {
                "kind": kinds,
                "row": rl,
                "col": cl,
                "old": [np.nan if r[3] is None else r[3] for r in rows],
                "new": [np.nan if r[4] is None else r[4] for r in rows],
            }
        )
        df["author"], df["reason"], df["created"] = meta
        return df

    def _net(self, con, a: int, b: int) -> dict[str, tuple]:
        """Net change of every position between versions ``a < b``: rows, cols, value at a, value at b."""
        led = self._ledger_rows(con, a, b)
        out = {}
        for kind, (_, r, c, old, new) in led.items():
            key = np.stack([r, c])
            uniq, first = np.unique(key, axis=1, return_index=True)
            _, last = np.unique(key[:, ::-1], axis=1, return_index=True)
            va, vb = old[first], new[::-1][last]
            same = (va == vb) | (np.isnan(va) & np.isnan(vb))
            out[kind] = (uniq[0][~same], uniq[1][~same], va[~same], vb[~same])
        return out

    def diff(self, a: int, b: int) -> pd.DataFrame:
        """What differs between versions ``a`` and ``b``.

        Parameters
        ----------
        a, b : int
            Two versions, in either order.

        Returns
        -------
        pandas.DataFrame
            One row per changed position: ``kind``, ``row``, ``col`` (labels, as in
            :meth:`changes`), ``old`` (value at ``a``), ``new`` (value at ``b``);
            NaN marks a stock or capacity record that does not exist at that version.

        Examples
        --------
        >>> import tempfile, numpy as np, bigplan
        >>> from bigplan.inventory import open_store
        >>> s = open_store(tempfile.mkdtemp())
        >>> _ = s.commit(bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]])), author="a", reason="b")
        >>> _ = s.commit({(0, 1): 0.4}, author="a", reason="b")
        >>> s.diff(1, 2)[["kind", "row", "col", "old", "new"]].values.tolist()
        [['A', 0, 1, 0.3, 0.4]]
        """
        with self._read() as con:
            va, vb = self._check_version(con, a), self._check_version(con, b)
            lo, hi = min(va, vb), max(va, vb)
            if self._replace_between(con, lo, hi):
                net = self._net_from_states(self._state(con, lo), self._state(con, hi))
            else:
                net = self._net(con, lo, hi)
            st = self._any_state(con, hi)
            kinds, rows, cols, old, new = [], [], [], [], []
            for kind in KINDS:
                if kind not in net:
                    continue
                r, c, x, y = net[kind]
                kinds += [kind] * r.size
                rows.append(r)
                cols.append(c)
                old.append(x)
                new.append(y)
            cat = (lambda xs, dt: np.concatenate(xs) if xs else np.zeros(0, dt))
            R, C = cat(rows, np.int64), cat(cols, np.int64)
            X, Y = cat(old, np.float64), cat(new, np.float64)
            if va > vb:
                X, Y = Y, X
            rl, cl = self._label_cols(con, st, kinds, R.tolist(), C.tolist())
        return pd.DataFrame({"kind": kinds, "row": rl, "col": cl, "old": X, "new": Y, "row_pos": R, "col_pos": C})

    def _net_from_states(self, sa: _State, sb: _State) -> dict[str, tuple]:
        """Differences between two whole states (used across a replacement)."""
        out = {}
        n = sa.n
        for kind in ("A", "capital"):
            ma, mb = (sa.A_csr(), sb.A_csr()) if kind == "A" else (sa.capital, sb.capital)
            if ma is None and mb is None:
                continue
            Ma = ma.matrix(n) if ma is not None else sp.csr_matrix((n, n))
            Mb = mb.matrix(n) if mb is not None else sp.csr_matrix((n, n))
            D = (Mb - Ma).tocoo()
            D.sum_duplicates()
            nz = D.data != 0
            r, c = D.row[nz].astype(np.int64), D.col[nz].astype(np.int64)
            out[kind] = (r, c, _csr_get(_Csr.of(Ma), r, c), _csr_get(_Csr.of(Mb), r, c))
        if sa.labour is not None and sb.labour is not None:
            r, c = np.nonzero(sa.labour != sb.labour)
            out["labour"] = (r, c, sa.labour[r, c].astype(float), sb.labour[r, c].astype(float))
        for kind in ("depreciation", "labour_supply"):
            x, y = getattr(sa, kind), getattr(sb, kind)
            if x is not None and y is not None:
                (r,) = np.nonzero(x != y)
                out[kind] = (r, np.full(r.size, -1, np.int64), x[r].astype(float), y[r].astype(float))
        for kind in ("stocks", "capacity"):
            ka, kb = getattr(sa, kind), getattr(sb, kind)
            keys = np.union1d(ka.keys, kb.keys)
            x, y = _keyed_get(ka, keys), _keyed_get(kb, keys)
            diff = ~((x == y) | (np.isnan(x) & np.isnan(y)))
            keys = keys[diff]
            out[kind] = (keys % n, keys // n, x[diff], y[diff])
        return out

    def rollback(self, version: int, *, author: str, reason: str | None = None) -> int:
        """Restore the state of an earlier version as a new version (history is kept).

        Parameters
        ----------
        version : int
            The version whose state to restore.
        author : str
        reason : str, optional
            Default ``"roll back to version <version>"``.

        Returns
        -------
        int
            The new version number; its state equals that of ``version``.
        """
        reason = reason or f"roll back to version {version}"
        with self._read() as con:
            target = self._check_version(con, version)
        def deltas(con, st):
            if self._replace_between(con, target, st.version):
                raise _UseEconomy()
            net = self._net(con, target, st.version)
            return [_Delta(k, r, c, x) for k, (r, c, x, _) in net.items()]

        try:
            return self._commit(None, author=author, reason=reason, when=None, label="rollback", target=target,
                                state_fn=deltas)
        except _UseEconomy:
            return self._commit(self.economy(target), author=author, reason=reason, when=None, label="rollback",
                                target=target)

    # -- stock-taking -------------------------------------------------------------
    def record_counts(
        self, counts: Any, *, unit: str = DEFAULT_UNIT, author: str, reason: str, when: str | None = None
    ) -> int:
        """Record a stock-taking: counted stocks by product (and reporting unit).

        Parameters
        ----------
        counts : mapping, pandas.Series or DataFrame
            ``{product: count}`` or a Series indexed by product for ``unit``; or a
            DataFrame with columns ``unit``, ``product``, ``stock`` (and optionally
            ``capacity``) for many units at once.
        unit : str
            The reporting unit (a local council, a depot) when ``counts`` names none.
        author, reason, when
            As in :meth:`commit`.

        Returns
        -------
        int
            The new version.  The economy's ``stocks`` are the sum over units.

        Raises
        ------
        NegativeStockError, InvalidEconomyError, UnknownProductError
        """
        return self._stocktaking(counts, "stocks", unit, author, reason, when, "count")

    def record_capacity(
        self, capacity: Any, *, unit: str = DEFAULT_UNIT, author: str, reason: str, when: str | None = None
    ) -> int:
        """Record productive capacities by product (and reporting unit); as :meth:`record_counts`."""
        return self._stocktaking(capacity, "capacity", unit, author, reason, when, "capacity")

    def _stocktaking(self, data, kind, unit, author, reason, when, op) -> int:
        if isinstance(data, pd.DataFrame):
            cols = set(data.columns)
            if not {"product"} <= cols:
                raise ShapeError("a stock-taking DataFrame needs columns 'product' and 'stock' and/or 'capacity' "
                                 "(and 'unit')")
            units = data["unit"].tolist() if "unit" in cols else [unit] * len(data)
            ch = {}
            for k in ("stocks", "capacity"):
                col = "stock" if k == "stocks" else "capacity"
                if col in cols:
                    ch[k] = (units, data["product"].tolist(), data[col].to_numpy(dtype=np.float64))
            if not ch:
                raise ShapeError("a stock-taking DataFrame needs a 'stock' or 'capacity' column")
        else:
            ch = {kind: _as_unit_items(data, unit)}
        return self._commit(ch, author=author, reason=reason, when=when, label="stocktaking", info={"operation": op})

    def record_flows(
        self,
        production: Any = None,
        use: Any = None,
        *,
        unit: str = DEFAULT_UNIT,
        period: str | None = None,
        author: str,
        reason: str,
        when: str | None = None,
    ) -> int:
        """Record the stock change of a period: ``stock += production - use`` for one unit.

        Parameters
        ----------
        production, use : mapping or pandas.Series, optional
            Quantities by product added to and taken from the unit's stocks over the
            period (use = intermediate use + final use; see :func:`bigplan.inventory.stock_change`).
        unit : str
        period : str, optional
            The period's name, kept in the ledger.

        Raises
        ------
        NegativeStockError
            A product would end the period with a negative stock; nothing is written.
        """
        net: dict = {}
        for data, sign in ((production, 1.0), (use, -1.0)):
            if data is None:
                continue
            units, prods, vals = _unit_items(_as_unit_items(data, unit), None)
            for u, p, v in zip(units, prods, np.asarray(vals, np.float64).tolist()):
                if v < 0:
                    raise NegativeStockError(
                        f"{'production' if sign > 0 else 'use'} of {p!r} is negative ({v:g}); report production "
                        "and use as non-negative quantities. Nothing was written",
                        products=[p],
                    )
                net[(u, p)] = net.get((u, p), 0.0) + sign * v
        if not net:
            raise StoreError("record_flows needs production and/or use")
        keys = list(net)
        flows = np.asarray([net[k] for k in keys], np.float64)
        if not np.isfinite(flows).all():
            raise InvalidEconomyError("production and use must be finite numbers (no NaN or infinity)")

        def deltas(con, st):
            rows = st.product_positions([k[1] for k in keys])
            uids = self._unit_ids(con, [k[0] for k in keys], create=True)
            cur = _keyed_get(st.stocks, uids * st.n + rows)
            new = np.where(np.isnan(cur), 0.0, cur) + flows
            r, c, v = _dedupe_last(rows, uids, new)
            return [_Delta("stocks", r, c, v)]

        return self._commit(None, author=author, reason=reason, when=when, label="stocktaking",
                            info={"operation": "flows", "period": period, "unit": unit}, state_fn=deltas)

    def depreciate(
        self, years: float = 1.0, *, rates: Any = None, author: str, reason: str | None = None, when: str | None = None
    ) -> int:
        """Wear capacities down: ``capacity *= (1 - rate) ** years`` in every unit.

        Parameters
        ----------
        years : float
            Length of the period in years (>= 0).
        rates : array_like or mapping, optional
            Yearly depreciation rate per product in [0, 1]; default the economy's.
        """
        years = float(years)
        if not (math.isfinite(years) and years >= 0):
            raise InvalidEconomyError(f"years must be a finite number >= 0, got {years}")

        def deltas(con, st):
            if rates is None:
                if st.depreciation is None:
                    raise InvalidEconomyError("this economy has no depreciation rates; pass rates=...")
                r = np.asarray(st.depreciation, np.float64)
            elif isinstance(rates, (Mapping, pd.Series)):
                items = list(rates.items())
                r = np.zeros(st.n)
                r[st.product_positions([k for k, _ in items])] = [v for _, v in items]
            else:
                r = np.broadcast_to(np.asarray(rates, np.float64), (st.n,))
            if not np.isfinite(r).all() or (r < 0).any() or (r > 1).any():
                raise InvalidEconomyError("depreciation rates must lie in [0, 1]")
            kv = st.capacity
            if kv.keys.size == 0:
                raise InvalidEconomyError("no capacities recorded: record_capacity(...) first")
            prod = kv.keys % st.n
            newv = kv.values * (1.0 - r[prod]) ** years
            return [_Delta("capacity", prod, kv.keys // st.n, newv)]

        return self._commit(None, author=author, reason=reason or f"depreciation over {years:g} years", when=when,
                            label="stocktaking", info={"operation": "depreciation", "years": years}, state_fn=deltas)

    def inventory(self, version: int | None = None, *, by: str = "unit") -> pd.DataFrame:
        """Stocks and capacities at a version.

        Parameters
        ----------
        version : int, optional
        by : {"unit", "product"}
            ``"unit"``: one row per (unit, product) record; ``"product"``: rolled up
            over the units, one row per product.

        Returns
        -------
        pandas.DataFrame
            Columns ``stock`` and ``capacity`` (NaN where nothing was recorded).
        """
        with self._read() as con:
            v = self._check_version(con, version)
            st = self._state(con, v)
            units = self._unit_names(con)
        if by == "product":
            s, c = st.rollup("stocks"), st.rollup("capacity")
            idx = st.labels if st.labels is not None else pd.RangeIndex(st.n)
            nan = np.full(st.n, np.nan)
            return pd.DataFrame({"stock": nan if s is None else s, "capacity": nan if c is None else c},
                                index=idx.rename("product"))
        if by != "unit":
            raise ValueError(f"by must be 'unit' or 'product', got {by!r}")
        keys = np.union1d(st.stocks.keys, st.capacity.keys)
        prod = keys % st.n
        idx = pd.MultiIndex.from_arrays(
            [[units.get(int(u), str(u)) for u in (keys // st.n).tolist()], st.product_label(prod)],
            names=["unit", "product"],
        )
        return pd.DataFrame({"stock": _keyed_get(st.stocks, keys), "capacity": _keyed_get(st.capacity, keys)},
                            index=idx)

    def units(self) -> list[str]:
        """Names of the reporting units known to the store."""
        with self._read() as con:
            return [r[0] for r in con.execute("SELECT name FROM units ORDER BY id")]

    # -- plans -------------------------------------------------------------------
    def add_plans(
        self,
        final_demand: Any,
        *,
        names: Sequence[str] | None = None,
        author: str,
        note: str | None = None,
        replace: bool = False,
    ) -> list[str]:
        """Keep final-demand targets (plans) in the store.

        Parameters
        ----------
        final_demand : pandas.DataFrame, pandas.Series or array, shape (n,) or (n, k)
            A DataFrame's columns name the plans (its index must be the products);
            for arrays give ``names``.
        names : sequence of str, optional
        author : str
        note : str, optional
        replace : bool
            Replace plans of the same name (their last solution is kept as a warm start).

        Returns
        -------
        list of str
            The plan names.
        """
        with self._read() as con:
            head = self._check_version(con, None)
            st = self._state(con, head)
        Y, plan_names = _demand_matrix(st, final_demand, names)
        with self._write("add_plans") as con:
            # files are written under the write lock, so gc() (which takes it too) never sees them unregistered
            infos = self._write_columns(Y)
            seq0 = int(con.execute("SELECT COALESCE(MAX(seq), 0) FROM plans").fetchone()[0])
            for j, (name, info) in enumerate(zip(plan_names, infos)):
                self._register(con, info)
                exists = con.execute("SELECT 1 FROM plans WHERE name=?", (name,)).fetchone()
                if exists and not replace:
                    raise StoreError(f"a plan named {name!r} exists; pass replace=True or choose another name")
                if exists:
                    con.execute("UPDATE plans SET demand=?, author=?, note=? WHERE name=?",
                                (info.digest, author, note, name))
                else:
                    con.execute(
                        "INSERT INTO plans(name, seq, demand, created, author, note) VALUES (?, ?, ?, ?, ?, ?)",
                        (name, seq0 + j + 1, info.digest, _now(), author, note),
                    )
        return list(plan_names)

    def _register(self, con, info: _ObjectInfo) -> None:
        con.execute(
            "INSERT OR IGNORE INTO objects(digest, path, dtype, shape, nbytes) VALUES (?, ?, ?, ?, ?)",
            (info.digest, info.path, info.dtype, ",".join(map(str, info.shape)), info.nbytes),
        )

    def remove_plans(self, names: Sequence[str]) -> None:
        """Forget plans (their arrays go at the next :meth:`gc`)."""
        with self._write("remove_plans") as con:
            for nm in names:
                if con.execute("DELETE FROM plans WHERE name=?", (nm,)).rowcount == 0:
                    raise StoreError(f"no plan named {nm!r}")

    def plans(self) -> pd.DataFrame:
        """The stored plans: author, note, the version their output solves and its residual."""
        with self._read() as con:
            rows = con.execute(
                "SELECT name, author, note, created, output_version, residual, solved FROM plans ORDER BY seq"
            ).fetchall()
        df = pd.DataFrame(rows, columns=["plan", "author", "note", "created", "output_version", "residual", "solved"])
        df["output_version"] = df["output_version"].astype("Int64")
        return df.set_index("plan")

    def _plan_rows(self, con, names):
        rows = con.execute("SELECT name, demand, output, output_version, residual FROM plans ORDER BY seq").fetchall()
        if names is not None:
            by = {r[0]: r for r in rows}
            missing = [nm for nm in names if nm not in by]
            if missing:
                raise StoreError(f"no plans named {missing}; stored plans are {list(by)[:10]}")
            rows = [by[nm] for nm in names]
        return rows

    def _load_columns(self, con, digests: list, what: str) -> np.ndarray:
        infos = self._objects(con, [d for d in digests if d is not None])

        def load(d):
            return _read_npy(self.path, infos[d], what)

        if self._threads > 1 and len(digests) > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                cols = list(pool.map(load, digests))
        else:
            cols = [load(d) for d in digests]
        return np.column_stack(cols) if cols else np.zeros((0, 0))

    def final_demand(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored plans' final demands: products x plans."""
        with self._read() as con:
            rows = self._plan_rows(con, names)
            st = self._state(con, self._check_version(con, None))
            Y = self._load_columns(con, [r[1] for r in rows], "plan final demand")
        idx = st.labels if st.labels is not None else pd.RangeIndex(st.n)
        return pd.DataFrame(Y, index=idx, columns=pd.Index([r[0] for r in rows], name="plan"))

    def outputs(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The stored plans' last gross outputs (NaN columns for plans never solved)."""
        with self._read() as con:
            rows = self._plan_rows(con, names)
            st = self._state(con, self._check_version(con, None))
            have = [r for r in rows if r[2] is not None]
            X = self._load_columns(con, [r[2] for r in have], "plan output")
        idx = st.labels if st.labels is not None else pd.RangeIndex(st.n)
        out = pd.DataFrame(np.nan, index=idx, columns=pd.Index([r[0] for r in rows], name="plan"))
        for j, r in enumerate(have):
            out[r[0]] = X[:, j]
        return out

    def replan(
        self,
        *,
        plans: Sequence[str] | None = None,
        version: int | None = None,
        threshold: float = 0.01,
        abs_threshold: float = 0.0,
        sectors: Any = None,
        backend: Any = "auto",
        method: str = "auto",
        rtol: float = 1e-10,
        save: bool = True,
    ):
        """Re-solve the stored plans on a version (default: the latest), warm-started.

        Each plan's last output and the ledger's coefficient changes since the
        version it solves give the correction to solve (see
        :func:`bigplan.inventory.replan`); plans never solved are solved cold.

        Parameters
        ----------
        plans : sequence of str, optional
            Which plans (default all).
        version : int, optional
        threshold, abs_threshold, sectors, backend, method, rtol
            As in :func:`bigplan.inventory.replan`.
        save : bool
            Store the new outputs (one atomic write).

        Returns
        -------
        bigplan.inventory.ReplanReport
        """
        from .inventory import ReplanReport
        from .inventory import replan as _replan

        with self._read() as con:
            v = self._check_version(con, version)
            rows = self._plan_rows(con, plans)
            if not rows:
                raise StoreError("no plans stored; add some with store.add_plans(...)")
            names = [r[0] for r in rows]
            Y = self._load_columns(con, [r[1] for r in rows], "plan final demand")
            groups: dict = {}
            for j, r in enumerate(rows):
                groups.setdefault(r[3] if r[2] is not None else None, []).append(j)
            X_old = np.zeros_like(Y)
            res_old = np.full(len(rows), np.nan)
            deltas = {}
            for u, cols in groups.items():
                if u is None:
                    continue
                X_old[:, cols] = self._load_columns(con, [rows[j][2] for j in cols], "plan output")
                res_old[cols] = [rows[j][4] for j in cols]
                if u == v:
                    deltas[u] = "same"
                elif self._replace_between(con, u, v):
                    deltas[u] = None
                else:
                    net = self._net(con, min(u, v), max(u, v)).get("A")
                    if net is None:
                        deltas[u] = (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
                    else:
                        r, c, a, b = net
                        d = (b - a) if u < v else (a - b)
                        deltas[u] = (r, c, d)
        eco = self.economy(v)
        parts = []
        for u, cols in groups.items():
            kw = dict(threshold=threshold, abs_threshold=abs_threshold, sectors=sectors, backend=backend,
                      rtol=rtol, plans=[names[j] for j in cols], version=v)
            if u is None:
                rep = _replan(eco, Y[:, cols], None, method="cold", **kw)
            elif deltas[u] == "same":
                rep = _replan(eco, Y[:, cols], X_old[:, cols], method="verify", residual=res_old[cols], **kw)
            elif deltas[u] is None:
                rep = _replan(eco, Y[:, cols], X_old[:, cols], method="warm", **kw)
            else:
                rep = _replan(eco, Y[:, cols], X_old[:, cols], delta=deltas[u], method=method,
                              residual=res_old[cols], **kw)
            parts.append((cols, rep))
        report = parts[0][1] if len(parts) == 1 else ReplanReport.combine(parts, len(names))
        if save:
            self._save_outputs(names, report.output, report.residual, v)
        return report

    def _write_columns(self, X: np.ndarray) -> list:
        X = np.asarray(X)

        def write(j):
            return _write_npy(self.path, np.ascontiguousarray(X[:, j]))

        if self._threads > 1 and X.shape[1] > 1:
            with ThreadPoolExecutor(self._threads) as pool:
                return list(pool.map(write, range(X.shape[1])))
        return [write(j) for j in range(X.shape[1])]

    def _save_outputs(self, names: list, X: np.ndarray, residual: np.ndarray, version: int) -> None:
        res = np.atleast_1d(np.asarray(residual, np.float64))
        with self._write("save plan outputs") as con:
            infos = self._write_columns(X)
            for name, info, r in zip(names, infos, res):
                self._register(con, info)
                con.execute("UPDATE plans SET output=?, output_version=?, residual=?, solved=? WHERE name=?",
                            (info.digest, int(version), float(r), _now(), name))
            _pause("plans_saved")

    # -- sectors -----------------------------------------------------------------
    def set_sectors(self, sectors: Any, *, author: str = "store") -> None:
        """Keep a product -> sector mapping (used by :meth:`replan` when none is given).

        Parameters
        ----------
        sectors : pandas.Series (label -> sector) or array_like, shape (n,)
            Sector names are kept as strings.
        """
        eco = self.economy()
        from .inventory import sector_codes

        codes, names = sector_codes(eco, sectors)
        arr_names = np.array([str(s) for s in names], dtype=str)
        with self._write("set_sectors") as con:
            i1 = _write_npy(self.path, codes.astype(np.int64))
            i2 = _write_npy(self.path, arr_names)
            self._register(con, i1)
            self._register(con, i2)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('sectors', ?)",
                        (json.dumps({"codes": i1.digest, "names": i2.digest, "author": author}),))

    def sectors(self) -> pd.Series | None:
        """The stored product -> sector mapping, or None."""
        with self._read() as con:
            r = con.execute("SELECT value FROM meta WHERE key='sectors'").fetchone()
            if r is None:
                return None
            d = json.loads(r[0])
            infos = self._objects(con, [d["codes"], d["names"]])
            codes = _read_npy(self.path, infos[d["codes"]], "sector mapping")
            names = _read_npy(self.path, infos[d["names"]], "sector names")
            st = self._state(con, self._check_version(con, None))
        idx = st.labels if st.labels is not None else pd.RangeIndex(st.n)
        return pd.Series(np.asarray(names)[codes], index=idx, name="sector")

    # -- maintenance ---------------------------------------------------------------
    def verify(self) -> list[str]:
        """Check every array the ledger refers to; return the problems found (empty: all good)."""
        problems = []
        with self._read() as con:
            rows = con.execute("SELECT digest, path, dtype, shape, nbytes FROM objects").fetchall()
        for r in rows:
            info = _ObjectInfo(r[0], r[1], r[2], tuple(int(s) for s in r[3].split(",") if s), int(r[4]))
            try:
                _read_npy(self.path, info, "verify")
            except CorruptStoreError as exc:
                problems.append(str(exc))
        return problems

    def gc(self) -> int:
        """Delete array files nothing refers to (left by interrupted writes or old plan outputs).

        Runs under the write lock, so no commit is writing files meanwhile.

        Returns
        -------
        int
            Files removed.
        """
        removed = 0
        with self._write("gc") as con:
            used = set()
            for (m,) in con.execute("SELECT manifest FROM snapshots"):
                used.update(json.loads(m).values())
            for d, o in con.execute("SELECT demand, output FROM plans"):
                used.add(d)
                if o:
                    used.add(o)
            r = con.execute("SELECT value FROM meta WHERE key='sectors'").fetchone()
            if r:
                d = json.loads(r[0])
                used.update([d["codes"], d["names"]])
            stale = [row for row in con.execute("SELECT digest, path FROM objects") if row[0] not in used]
            for d, _ in stale:
                con.execute("DELETE FROM objects WHERE digest=?", (d,))
            known = {row[1] for row in con.execute("SELECT digest, path FROM objects")}
            root = self.path / _OBJECTS
            if root.exists():
                for f in root.rglob("*"):
                    if f.is_file():
                        rel = f.relative_to(self.path).as_posix()
                        if rel not in known:
                            f.unlink()
                            removed += 1
        return removed


class _UseEconomy(Exception):
    """Internal: a roll-back across a replacement restores a whole economy."""


def _state_of_economy(eco: Economy, version: int) -> _State:
    n = eco.n
    labels = eco.labels
    _labels_array(labels)  # refuse labels a store cannot keep, before anything is written
    A = _Csr.of(eco.A)
    colsum = np.asarray(eco.column_sums, np.float64).copy()
    colsum.flags.writeable = False

    def dense_keyed(v):
        if v is None:
            return _Keyed.empty()
        keys = np.arange(n, dtype=np.int64)  # default unit has id 0
        vals = np.asarray(v, np.float64).copy()
        keys.flags.writeable = False
        vals.flags.writeable = False
        return _Keyed(keys, vals)

    return _State(
        version=version,
        n=n,
        dtype=eco.dtype,
        labels=labels,
        labour_names=eco.labour_names,
        A=A,
        colsum=colsum,
        capital=None if eco.capital is None else _Csr.of(eco.capital),
        labour=eco.labour,
        depreciation=eco.depreciation,
        labour_supply=eco.labour_supply,
        stocks=dense_keyed(eco.stocks),
        capacity=dense_keyed(eco.capacity),
        has_stocks=eco.stocks is not None,
        has_capacity=eco.capacity is not None,
        productivity=eco.productivity,
    )


def _as_unit_items(data: Any, unit: str):
    """Stock-taking input (mapping, Series, or (units, products, values)) as unit/product/value lists."""
    if isinstance(data, tuple) and len(data) == 3:
        return data
    if isinstance(data, pd.Series):
        return ([unit] * len(data), data.index.tolist(), data.to_numpy(dtype=np.float64))
    if isinstance(data, Mapping):
        units, prods, vals = [], [], []
        for k, v in data.items():
            if isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], str):
                units.append(k[0])
                prods.append(k[1])
            else:
                units.append(unit)
                prods.append(k)
            vals.append(v)
        return (units, prods, vals)
    raise ShapeError("stocks and capacities are given as {product: value}, {(unit, product): value} or a Series")


def _unit_items(ch: Any, st: _State | None):
    units, prods, vals = _as_unit_items(ch, DEFAULT_UNIT)
    return list(units), list(prods), vals


def _validate_values(kind: str, v: np.ndarray, rows: np.ndarray, cols: np.ndarray, st: _State) -> None:
    finite = np.isfinite(v)
    if not finite.all():
        bad = st.product_label(rows[~finite][:5]) if kind not in ("labour_supply",) else rows[~finite][:5].tolist()
        raise InvalidEconomyError(
            f"{kind} changes hold {int((~finite).sum())} NaN or infinite values (at {bad}); every value must be a "
            "finite number. Nothing was written"
        )
    neg = v < 0
    if neg.any():
        where = st.product_label(rows[neg][:10]) if kind != "labour_supply" else rows[neg][:10].tolist()
        cls = NegativeStockError if kind in ("stocks", "capacity") else InvalidEconomyError
        extra = {"products": where} if cls is NegativeStockError else {}
        raise cls(
            f"{kind} changes hold {int(neg.sum())} negative values (at {where}, smallest {v.min():.6g}); "
            f"{kind} must be >= 0. Nothing was written",
            **extra,
        )
    if kind == "depreciation" and (v > 1).any():
        raise InvalidEconomyError(f"depreciation rates must lie in [0, 1], got {v.max():.6g}. Nothing was written")


def _check_stock_results(st: _State, deltas: list[_Delta]) -> None:
    for d in deltas:
        if d.kind in ("stocks", "capacity"):
            vals = d.new[~np.isnan(d.new)]
            if (vals < 0).any() or not np.isfinite(vals).all():
                bad = d.rows[~np.isnan(d.new)][(vals < 0) | ~np.isfinite(vals)]
                raise NegativeStockError(
                    f"{d.kind} would become negative or non-finite for products {st.product_label(bad[:10])}: "
                    "more was used than was there. Check the reported use; nothing was written",
                    products=st.product_label(bad[:10]),
                )


def _demand_matrix(st: _State, final_demand: Any, names) -> tuple[np.ndarray, list[str]]:
    n = st.n
    if isinstance(final_demand, Mapping):  # {plan name: vector}
        if names is not None:
            raise StoreError("plans given as a mapping are named by its keys; drop names=")
        names = [str(k) for k in final_demand]
        cols = [np.asarray(v.to_numpy() if isinstance(v, pd.Series) else v, dtype=np.float64) for v in final_demand.values()]
        if any(c.shape != (n,) for c in cols):
            raise ShapeError(f"each plan in the mapping must have shape ({n},)")
        final_demand = np.column_stack(cols) if cols else np.zeros((n, 0))
    if isinstance(final_demand, pd.Series):
        final_demand = final_demand.to_frame(final_demand.name if final_demand.name is not None else None)
    if isinstance(final_demand, pd.DataFrame):
        fd = final_demand
        if st.labels is not None:
            extra = fd.index.difference(st.labels)
            if len(extra):
                raise UnknownProductError(f"final demand names unknown products {list(extra[:5])}")
            fd = fd.reindex(st.labels)
            if fd.isna().any().any():
                missing = fd.index[fd.isna().any(axis=1)][:5].tolist()
                raise LabelError(f"final demand lacks products {missing}; give 0 for products with no final demand")
        Y = fd.to_numpy(dtype=np.float64)
        plan_names = [str(c) for c in fd.columns] if names is None else list(names)
    else:
        Y = np.asarray(final_demand, dtype=np.float64)
        if Y.ndim == 1:
            Y = Y[:, None]
        if names is None:
            raise StoreError("give names=[...] for plans passed as arrays (or pass a DataFrame)")
        plan_names = [str(s) for s in names]
    if Y.ndim != 2 or Y.shape[0] != n:
        raise ShapeError(f"final demand must have shape ({n},) or ({n}, k), got {Y.shape}")
    if len(plan_names) != Y.shape[1] or len(set(plan_names)) != len(plan_names):
        raise LabelError(f"need {Y.shape[1]} unique plan names, got {plan_names[:10]}")
    if not np.isfinite(Y).all():
        from .errors import InvalidDemandError

        raise InvalidDemandError("final demand has NaN or infinite entries; use 0 for none")
    return Y, plan_names


def open_store(
    path: str | os.PathLike,
    *,
    timeout: float = 30.0,
    snapshot_every: int = 64,
    snapshot_changes: int = 200_000,
) -> Store:
    """Open the store at ``path``, creating an empty one if there is none.

    Parameters
    ----------
    path : str or os.PathLike
        A directory (created if missing).
    timeout : float
        Seconds a writer waits for another writer's lock before :class:`StoreBusyError`.
    snapshot_every : int
        Write a full snapshot every this many versions...
    snapshot_changes : int
        ...or once this many changed entries have accumulated since the last one.

    Returns
    -------
    Store

    Raises
    ------
    StoreError
        ``path`` is a file, or a non-empty directory that is not a store.
    CorruptStoreError
        The ledger is truncated or damaged.
    StoreVersionError
        The store was written by a newer format version.

    Examples
    --------
    >>> import tempfile
    >>> from bigplan.inventory import open_store
    >>> store = open_store(tempfile.mkdtemp())
    >>> store.head
    0
    """
    return Store(path, timeout=timeout, snapshot_every=snapshot_every, snapshot_changes=snapshot_changes)
