"""Immutable array objects: content-named ``.npy`` files, durable writes, verified reads.

An object is one array written as ``objects/ab/abcd....npy``, named by the
SHA-256 of its dtype, shape and bytes.  It is written to a temporary name,
fsynced, renamed and its directory fsynced before anything refers to it; on
every read its header is checked against the ledger's record and its bytes
against the digest.  Object dtypes are refused both ways: no pickles.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from .._atomic import fsync_dir
from ..errors import CorruptStoreError, StoreError, UnstorableLabelError

OBJECTS = "objects"
_CHUNK = 1 << 24

# test hooks: pause at a named point inside a write (see tests/test_store.py)
_PAUSE_ENV = "BIGPLAN_STORE_PAUSE_AT"
_PAUSE_DIR_ENV = "BIGPLAN_STORE_PAUSE_DIR"


def pause(point: str) -> None:
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


def now() -> str:
    """The current UTC time as ISO text (the ledger's timestamps)."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _prefix(dtype: np.dtype, shape: tuple) -> bytes:
    return f"{dtype.str};{','.join(str(int(s)) for s in shape)}\n".encode()


def _bytes_view(arr: np.ndarray) -> memoryview:
    return memoryview(arr.reshape(-1).view(np.uint8)) if arr.size else memoryview(b"")


@dataclass(frozen=True)
class ObjectInfo:
    """The ledger's record of one array file."""

    digest: str
    path: str
    dtype: str
    shape: tuple
    nbytes: int

    @classmethod
    def from_row(cls, row) -> ObjectInfo:
        """From an ``objects`` table row ``(digest, path, dtype, shape, nbytes)``."""
        return cls(row[0], row[1], row[2], tuple(int(s) for s in row[3].split(",") if s != ""), int(row[4]))

    def row(self) -> tuple:
        return (self.digest, self.path, self.dtype, ",".join(map(str, self.shape)), self.nbytes)


def write_npy(root: Path, arr: np.ndarray) -> ObjectInfo:
    """Write ``arr`` as an immutable, content-named ``.npy`` file (durable on return)."""
    arr = np.ascontiguousarray(arr)
    if arr.dtype.hasobject:
        raise StoreError("refusing to store an object array (it would need pickle)")
    tmpdir = root / OBJECTS
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
                    pause("object_write")
            f.flush()
            os.fsync(f.fileno())
        digest = h.hexdigest()
        sub = tmpdir / digest[:2]
        sub.mkdir(exist_ok=True)
        os.replace(tmp, sub / f"{digest}.npy")
        fsync_dir(sub)
        fsync_dir(tmpdir)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    rel = f"{OBJECTS}/{digest[:2]}/{digest}.npy"
    return ObjectInfo(digest, rel, arr.dtype.str, tuple(int(s) for s in arr.shape), int(arr.nbytes))


def read_npy(root: Path, info: ObjectInfo, what: str) -> np.ndarray:
    """Read and verify one object (read-only); any mismatch is a :class:`CorruptStoreError`."""
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
                raise OSError(f"unsupported .npy version {ver}")
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


def parallel_map(fn: Callable, items: Iterable, threads: int) -> list:
    """``[fn(x) for x in items]``, on ``threads`` threads when there is more than one item."""
    items = list(items)
    if threads > 1 and len(items) > 1:
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(fn, items))
    return [fn(x) for x in items]


def write_columns(root: Path, X: np.ndarray, threads: int) -> list[ObjectInfo]:
    """Each column of ``X`` as its own object (plans are stored one per file)."""
    X = np.asarray(X)
    return parallel_map(lambda j: write_npy(root, np.ascontiguousarray(X[:, j])), range(X.shape[1]), threads)


# ---------------------------------------------------------------------------
# labels as arrays (no pickles)
# ---------------------------------------------------------------------------
def labels_array(labels: pd.Index | None) -> np.ndarray | None:
    """Product labels as a unicode or int64 array; anything else is refused."""
    if labels is None:
        return None
    if isinstance(labels, pd.MultiIndex):
        raise UnstorableLabelError("a store keeps labels as strings or integers; join MultiIndex levels into strings first")
    vals = labels.tolist()
    if pd.api.types.is_integer_dtype(labels.dtype):
        big = [v for v in vals if not -(2**63) <= int(v) < 2**63]
        if big:
            raise UnstorableLabelError(
                f"a store keeps integer product labels as 64-bit signed integers; label {big[0]!r} is out of "
                "range. Convert the labels with labels.astype(str)"
            )
        return np.asarray(vals, dtype=np.int64)
    if all(isinstance(v, str) for v in vals):
        arr = np.array(vals, dtype=str) if vals else np.zeros(0, dtype="<U1")
        back = arr.tolist()
        for v, w in zip(vals, back):
            if v != w:
                raise UnstorableLabelError(
                    f"the product label {v!r} cannot be kept in a store (it would read back as {w!r}: trailing "
                    "NUL characters are lost); rename it"
                )
        return arr
    bad = next(v for v in vals if not isinstance(v, str))
    raise UnstorableLabelError(
        f"a store keeps product labels as strings or integers (never pickled); got a {type(bad).__name__} "
        f"label {bad!r}. Convert the labels with labels.astype(str)"
    )


def labels_index(arr: np.ndarray | None) -> pd.Index | None:
    """The labels an array from :func:`labels_array` stands for."""
    if arr is None:
        return None
    if arr.dtype.kind == "U":
        return pd.Index(arr.tolist(), dtype=object)
    return pd.Index(np.asarray(arr))
