"""The ledger: SQLite schema, the connection, read and write transactions, the marker file.

Every write is one SQLite transaction begun with ``BEGIN IMMEDIATE`` (two
writers serialize; one that cannot get the lock within ``timeout`` seconds gets
:class:`~bigplan.StoreBusyError`), in WAL mode with ``synchronous=FULL``.
Readers run in their own read transaction and see one consistent version while
a writer commits.  Array files are referenced from the ``objects`` table; they
are written (durably) before the transaction that refers to them commits.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .._atomic import fsync_dir
from .._options import check_int
from ..economy import Productivity
from ..errors import (
    CorruptStoreError,
    InvalidOptionError,
    LabelError,
    ReadOnlyStoreError,
    StoreBusyError,
    StoreError,
    StoreVersionError,
    UnknownProductError,
    UnknownVersionError,
)
from . import updates
from .objects import OBJECTS, ObjectInfo, now, read_npy

#: Newest store format this module reads and the one it writes.  Format 2: a re-plan may store all
#: plans' outputs as one block object, referenced as ``"digest:j"`` in the plans table (format 1:
#: one object per plan).  Format 3: outputs may be low-rank updates of earlier ones, ``"@uid:i"``
#: (:mod:`bigplan._store.updates`).  Formats 1..FORMAT_VERSION are read; an older store is marked
#: 2 or 3 by the first write that needs it (:meth:`Ledger.require_format`), so an older bigplan
#: refuses it cleanly.
FORMAT_VERSION = 3
#: The oldest store format this module reads.
OLDEST_FORMAT = 1
#: The first format whose plans table may hold block references ``"digest:j"``.
BLOCK_FORMAT = 2
#: Reporting unit of stocks and capacities given without one (and of an economy's own).
DEFAULT_UNIT = "default"
#: Kinds of change the ledger records.
KINDS = ("A", "capital", "labour", "depreciation", "labour_supply", "stocks", "capacity")

LEDGER = "ledger.sqlite"
MARKER = "bigplan-store.json"

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


def cert_json(p: Productivity) -> str:
    """A productivity certificate as the ledger keeps it."""

    def f(x):
        return None if x is None or not math.isfinite(x) else float(x)

    return json.dumps({"lower": f(p.lower), "upper": f(p.upper), "method": p.method, "iterations": int(p.iterations)})


def loads(text: Any, what: str) -> Any:
    """JSON kept in a ledger row; a :class:`CorruptStoreError` when it is damaged."""
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise CorruptStoreError(
            f"the ledger's record of {what} is damaged ({exc}); restore the store from a backup"
        ) from None


def cert_from(s: str) -> Productivity:
    """The certificate :func:`cert_json` wrote."""
    d = loads(s, "a productivity certificate")
    try:
        up = d["upper"]
        return Productivity(
            float(d["lower"] or 0.0), float("nan") if up is None else float(up), str(d["method"]), int(d["iterations"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStoreError(
            f"the ledger's record of a productivity certificate is damaged ({exc!r}); restore the store from a backup"
        ) from None


def store_path(path: Any) -> Path:
    """A store's folder path, checked: a str or os.PathLike (None, a number, an empty name refused)."""
    if not isinstance(path, (str, os.PathLike)) or (isinstance(path, str) and not path.strip()):
        raise InvalidOptionError(
            f"path must be a folder path (str or os.PathLike), got {type(path).__name__} {path!r}")
    return Path(path)


class Ledger:
    """The SQLite ledger of a store directory and its one connection.

    Parameters
    ----------
    path : pathlib.Path
        The store directory (created if missing).
    timeout : float
        Seconds a writer waits for another writer's lock.
    """

    def __init__(self, path: Path, timeout: float):
        self.path = Path(path)
        self.timeout = float(timeout)
        self.lock = threading.RLock()
        self._con: sqlite3.Connection | None = None
        self.readonly = False
        self.format = FORMAT_VERSION  #: the format the ledger was marked with when opened
        self._open()

    # -- opening -------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            if self.readonly:  # no -shm can be created: read the file as it is (immutable unless a WAL is pending)
                ledger = self.path / LEDGER
                wal = self.path / f"{LEDGER}-wal"
                flag = "mode=ro" if wal.exists() and wal.stat().st_size > 0 else "immutable=1"
                con = sqlite3.connect(f"{ledger.absolute().as_uri()}?{flag}", uri=True, timeout=self.timeout,
                                      isolation_level=None, check_same_thread=False)
            else:
                con = sqlite3.connect(
                    str(self.path / LEDGER), timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            if not self.readonly:
                con.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise self.wrap(exc, "open") from None
        return con

    def _open(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise StoreError(f"{p} is a file, not a store directory; give a directory path (it is created if missing)")
        p.mkdir(parents=True, exist_ok=True)
        ledger, marker = p / LEDGER, p / MARKER
        if not ledger.exists():
            if marker.exists():
                raise CorruptStoreError(
                    f"{p} is a bigplan store but its ledger {LEDGER} is missing; nothing can be read. "
                    "Restore the directory from a backup"
                )
            stray = [c.name for c in p.iterdir() if c.name not in (OBJECTS,) and not c.name.startswith(LEDGER)]
            if stray:
                raise StoreError(
                    f"{p} is not a bigplan store (no {LEDGER}) and is not empty ({stray[:3]}); "
                    "give a new or empty directory"
                )
        elif ledger.stat().st_size == 0 and marker.exists():
            raise CorruptStoreError(f"the ledger {ledger} is empty (truncated); restore the store from a backup")
        if not (os.access(p, os.W_OK) and (not ledger.exists() or os.access(ledger, os.W_OK))):
            if not ledger.exists():
                raise self.read_only_error("create the store")
            self.readonly = True
        con = self._connect()
        self._con = con
        try:
            mode = con.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal" and not self.readonly:
                con.execute("PRAGMA journal_mode = WAL")
            has_meta = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
            if not has_meta:
                if self.readonly:
                    raise self.read_only_error("create the store")
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
            try:
                fmt = int(row[0])
            except (TypeError, ValueError):
                raise CorruptStoreError(f"the ledger {ledger} has a malformed format version {row[0]!r}; "
                                        "restore the store from a backup") from None
            if fmt < OLDEST_FORMAT:
                raise CorruptStoreError(f"the ledger {ledger} claims store format version {fmt}, which no "
                                        f"bigplan writes (formats start at {OLDEST_FORMAT}); restore it from a backup")
            if fmt > FORMAT_VERSION:
                raise StoreVersionError(
                    f"{p} was written by store format version {fmt}; this bigplan reads formats "
                    f"{OLDEST_FORMAT} to {FORMAT_VERSION}. Upgrade bigplan to open it (the store was not modified)"
                )
            self.format = fmt
            if not marker.exists() and not self.readonly:
                self._write_marker()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise self.wrap(exc, "open") from None
        except BaseException:
            self.close()
            raise

    def _create(self) -> None:
        con = self._con
        (self.path / OBJECTS).mkdir(exist_ok=True)
        con.execute("BEGIN IMMEDIATE")
        try:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            con.execute("INSERT OR IGNORE INTO meta VALUES ('format_version', ?)", (str(FORMAT_VERSION),))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)", (now(),))
            con.execute("INSERT OR IGNORE INTO meta VALUES ('store_id', ?)", (uuid.uuid4().hex,))
            con.execute("INSERT OR IGNORE INTO units(id, name) VALUES (0, ?)", (DEFAULT_UNIT,))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._write_marker()

    def _write_marker(self) -> None:
        tmp = self.path / f".{MARKER}.{uuid.uuid4().hex}"
        with open(tmp, "w") as f:
            json.dump({"format": "bigplan-store", "format_version": FORMAT_VERSION}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path / MARKER)
        fsync_dir(self.path)

    def wrap(self, exc: BaseException, what: str) -> StoreError:
        """The store error a SQLite error stands for: busy, or a damaged ledger."""
        msg = str(exc).lower()
        if "readonly" in msg or "read-only" in msg:
            return self.read_only_error(what)
        if "locked" in msg or "busy" in msg:
            return StoreBusyError(
                f"{what}: the store {self.path} is locked by another writer and stayed locked for "
                f"{self.timeout:g} s; nothing was written. Retry, or open it with a larger timeout"
            )
        return CorruptStoreError(
            f"{what}: the ledger {self.path / LEDGER} cannot be read ({exc}); it is damaged or not a "
            "bigplan store. Restore it from a backup"
        )

    def read_only_error(self, what: str) -> ReadOnlyStoreError:
        """The error of a write to a read-only store."""
        return ReadOnlyStoreError(
            f"{what}: the store {self.path} is read-only (its folder or {LEDGER} is not writable); it can be "
            "read but not changed. Make the folder and ledger writable (chmod u+w), or copy the store to a "
            "writable place, to write to it"
        )

    def close(self) -> None:
        with self.lock:
            if self._con is not None:
                try:
                    self._con.close()
                finally:
                    self._con = None

    # -- transactions --------------------------------------------------------
    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreError("this store is closed; open it again with open_store(path)")
        return self._con

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A read transaction (joins the current transaction when one is open)."""
        with self.lock:
            con = self.con
            if con.in_transaction:
                yield con
                return
            try:
                con.execute("BEGIN")
            except sqlite3.DatabaseError as exc:
                raise self.wrap(exc, "read") from None
            try:
                yield con
            except sqlite3.DatabaseError as exc:
                con.execute("ROLLBACK")
                raise self.wrap(exc, "read") from None
            except BaseException:
                con.execute("ROLLBACK")
                raise
            else:
                con.execute("COMMIT")

    @contextmanager
    def write(self, what: str) -> Iterator[sqlite3.Connection]:
        """A write transaction: all of it commits, or none of it (any error rolls back)."""
        with self.lock:
            con = self.con
            if con.in_transaction:
                raise StoreError(f"{what}: a write is already in progress on this store object")
            if self.readonly:
                raise self.read_only_error(what)
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.DatabaseError as exc:
                raise self.wrap(exc, what) from None
            try:
                yield con
            except sqlite3.DatabaseError as exc:
                con.execute("ROLLBACK")
                raise self.wrap(exc, what) from None
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
                    raise self.wrap(exc, what) from None

    # -- versions ------------------------------------------------------------
    @staticmethod
    def head(con) -> int:
        """The latest committed version (0 for an empty store)."""
        return int(con.execute("SELECT COALESCE(MAX(version), 0) FROM versions").fetchone()[0])

    def check_version(self, con, version: int | None) -> int:
        """``version`` as a number in 1..head (None: the head; negative: from the head)."""
        head = self.head(con)
        if head == 0:
            raise StoreError(f"the store {self.path} is empty; commit an Economy first (store.commit(economy, ...))")
        if version is None:
            return head
        v = check_int(version, "version", lo=None)
        if v < 0:
            v = head + 1 + v
        if not 1 <= v <= head:
            raise UnknownVersionError(f"no version {version} in this store; versions are 1..{head}")
        return v

    @staticmethod
    def certificate(con, version: int) -> Productivity:
        return cert_from(con.execute("SELECT certificate FROM versions WHERE version=?", (version,)).fetchone()[0])

    @staticmethod
    def rows_between(con, a: int, b: int) -> int:
        """Ledger rows of the versions in (min, max]."""
        lo, hi = min(a, b), max(a, b)
        return int(con.execute("SELECT COALESCE(SUM(n_changes), 0) FROM versions WHERE version > ? AND version <= ?",
                               (lo, hi)).fetchone()[0])

    @staticmethod
    def replace_between(con, a: int, b: int) -> bool:
        """Whether a version in (min, max] holds a whole economy (the ledger cannot be replayed across it)."""
        lo, hi = min(a, b), max(a, b)
        r = con.execute("SELECT 1 FROM versions WHERE version > ? AND version <= ? AND full = 1 LIMIT 1",
                        (lo, hi)).fetchone()
        return r is not None

    @staticmethod
    def rows(con, a: int, b: int) -> dict[str, tuple]:
        """Ledger rows of versions in (a, b], by kind: (version, rows, cols, old, new) arrays in order."""
        rows = con.execute(
            "SELECT kind, version, row, col, old, new FROM changes WHERE version > ? AND version <= ? "
            "ORDER BY version, seq",
            (a, b),
        ).fetchall()
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

    # -- objects -------------------------------------------------------------
    @staticmethod
    def objects(con, digests: Iterable[str]) -> dict[str, ObjectInfo]:
        """The records of array objects by digest."""
        out = {}
        for d in set(digests):
            r = con.execute("SELECT digest, path, dtype, shape, nbytes FROM objects WHERE digest=?", (d,)).fetchone()
            if r is None:
                raise CorruptStoreError(f"the ledger refers to array {d[:12]}... but does not list it; the store is damaged")
            out[d] = ObjectInfo.from_row(r)
        return out

    @staticmethod
    def require_format(con, fmt: int) -> None:
        """Mark the store (inside this write transaction) as needing format ``fmt`` at least to be read.

        Rolls back with the transaction; a no-op on a store marked ``fmt`` or newer already.
        """
        con.execute("UPDATE meta SET value=? WHERE key='format_version' AND CAST(value AS INTEGER) < ?",
                    (str(int(fmt)), int(fmt)))

    @staticmethod
    def register(con, info: ObjectInfo) -> None:
        """Record an array object written (durably) inside this transaction."""
        con.execute("INSERT OR IGNORE INTO objects(digest, path, dtype, shape, nbytes) VALUES (?, ?, ?, ?, ?)",
                    info.row())

    # -- reporting units -----------------------------------------------------
    @staticmethod
    def unit_ids(con, names: Sequence, *, create: bool) -> np.ndarray:
        """Ids of reporting units by name (new ones created in this transaction when ``create``)."""
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
                    cache[nm] = int(con.execute("INSERT INTO units(name) VALUES (?)", (nm,)).lastrowid)
                else:
                    cache[nm] = int(r[0])
            out[i] = cache[nm]
        return out

    @staticmethod
    def unit_names(con) -> dict[int, str]:
        return {int(i): str(nm) for i, nm in con.execute("SELECT id, name FROM units")}

    # -- maintenance ---------------------------------------------------------
    def verify(self) -> list[str]:
        """Check every array the ledger refers to; the problems found."""
        problems = []
        with self.read() as con:
            rows = con.execute("SELECT digest, path, dtype, shape, nbytes FROM objects").fetchall()
        for r in rows:
            try:
                read_npy(self.path, ObjectInfo.from_row(r), "verify")
            except CorruptStoreError as exc:
                problems.append(str(exc))
        return problems

    def gc(self) -> int:
        """Delete array files nothing refers to, under the write lock; the number removed."""
        removed = 0
        with self.write("gc") as con:
            used = set()
            for (m,) in con.execute("SELECT manifest FROM snapshots"):
                used.update(loads(m, "a snapshot manifest").values())
            outputs = []
            for d, o in con.execute("SELECT demand, output FROM plans"):
                used.add(d)
                if o:
                    outputs.append(str(o))
                    used.add(str(o).partition(":")[0])  # a column of a block object: "digest:j"
            arrays, uids = updates.live(con, outputs)  # what the low-rank update records reach
            used.update(arrays)
            for (key,) in con.execute("SELECT key FROM meta WHERE key LIKE ?", (updates.PREFIX + "%",)).fetchall():
                if key[len(updates.PREFIX):] not in uids:
                    con.execute("DELETE FROM meta WHERE key=?", (key,))
            r = con.execute("SELECT value FROM meta WHERE key='sectors'").fetchone()
            if r:
                d = loads(r[0], "the sector mapping")
                used.update([d["codes"], d["names"]])
            r = con.execute("SELECT value FROM meta WHERE key='values'").fetchone()
            if r:
                used.add(loads(r[0], "the labour values")["ref"])
            for (v,) in con.execute("SELECT value FROM meta WHERE key LIKE 'dynamic:%' OR key LIKE 'proposals:%'"):
                used.update(loads(v, "a dynamic plan or proposal set")["arrays"].values())
            stale = [row for row in con.execute("SELECT digest, path FROM objects") if row[0] not in used]
            for d, _ in stale:
                con.execute("DELETE FROM objects WHERE digest=?", (d,))
            known = {row[1] for row in con.execute("SELECT digest, path FROM objects")}
            root = self.path / OBJECTS
            if root.exists():
                for f in root.rglob("*"):
                    if f.is_file() and f.relative_to(self.path).as_posix() not in known:
                        f.unlink()
                        removed += 1
        return removed
