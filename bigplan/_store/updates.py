"""Plan outputs kept as low-rank updates of earlier ones (store format 3).

A re-plan by correction (:func:`bigplan._replan.replan`) finds the new outputs
as ``X' = X + W C``: ``W`` has one column per changed row or column of ``A``
(``r`` of them, often one) and ``C`` one column per plan.  Writing ``W`` and
``C`` costs ``O(n r)`` bytes where the whole outputs cost ``O(n k)`` (at
``10^6`` products and 64 plans, 8 MB instead of 512 MB for a one-row revision),
so the store keeps those plans' outputs as an *update record*: a ``meta`` row
``update:<uid>`` holding the references of the base outputs, the digests of
``W`` and ``C`` and the columns of ``C`` it covers.  A plan's output reference
is then ``@<uid>:<i>``.

Reading a record reads its bases (themselves blocks, columns or records),
then forms ``(W @ C)[:, cols] + base`` in the order the re-plan formed it, so
the columns read back are the ones the re-plan certified.  A chain of records
is at most :data:`MAX_DEPTH` long: the next re-plan writes whole outputs again.
:meth:`~bigplan._store.ledger.Ledger.gc` keeps every array a live record
reaches and drops records no plan reaches.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backend import get_backend
from ..errors import CorruptStoreError

__all__ = ["MAX_DEPTH", "PREFIX", "UPDATE_FORMAT", "depth", "is_update", "live", "put", "resolve"]

#: Key prefix of an update record in the ``meta`` table.
PREFIX = "update:"
#: The first store format whose plans table may hold update references ``"@uid:i"``.
UPDATE_FORMAT = 3
#: The longest chain of records; past it a re-plan writes whole outputs.
MAX_DEPTH = 8


def is_update(ref: Any) -> bool:
    """Whether an output reference names a column of an update record (``"@uid:i"``)."""
    return isinstance(ref, str) and ref.startswith("@")


def _record(con, uid: str, cache: dict) -> dict:
    rec = cache.get(uid)
    if rec is not None:
        return rec
    row = con.execute("SELECT value FROM meta WHERE key=?", (PREFIX + uid,)).fetchone()
    if row is None:
        raise CorruptStoreError(f"plan outputs refer to update record {uid[:12]}..., which the ledger lacks; "
                                "restore the store from a backup, or re-plan with store.replan(method='cold')")
    try:
        rec = json.loads(row[0])
    except (TypeError, ValueError):
        rec = None
    if not isinstance(rec, dict) or not {"base", "W", "C", "cols", "depth"} <= set(rec):
        raise CorruptStoreError(f"update record {uid[:12]}... is damaged; restore the store from a backup")
    cache[uid] = rec
    return rec


def depth(con, refs: list, cache: dict) -> int:
    """The longest chain of records behind any of ``refs`` (0: none is an update)."""
    d = 0
    for ref in refs:
        if is_update(ref):
            d = max(d, int(_record(con, ref[1:].partition(":")[0], cache)["depth"]))
    return d


def put(con, base: list, w_digest: str, c_digest: str, cols: list, cache: dict) -> str:
    """Write an update record (inside the caller's write transaction); its uid."""
    rec = {"base": [str(b) for b in base], "W": w_digest, "C": c_digest, "cols": [int(c) for c in cols],
           "depth": 1 + depth(con, base, cache)}
    text = json.dumps(rec, sort_keys=True)
    uid = hashlib.sha256(text.encode()).hexdigest()[:32]
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (PREFIX + uid, text))
    cache[uid] = rec
    return uid


def resolve(con, uid: str, n: int, what: str, read_refs: Callable, read_object: Callable, cache: dict) -> np.ndarray:
    """The ``(n, len(cols))`` outputs record ``uid`` stands for.

    ``read_refs(refs)`` reads base references (any kind) as one block;
    ``read_object(digest)`` reads one array object.
    """
    rec = _record(con, uid, cache)
    W = np.asarray(read_object(rec["W"]), np.float64)
    C = np.asarray(read_object(rec["C"]), np.float64)
    cols = np.asarray(rec["cols"], np.int64)
    if W.ndim != 2 or C.ndim != 2 or W.shape[0] != n or W.shape[1] != C.shape[0] or len(rec["base"]) != cols.size \
            or (cols.size and (cols.min() < 0 or cols.max() >= C.shape[1])):
        raise CorruptStoreError(f"{what}: update record {uid[:12]}... has factors of shapes {W.shape} and {C.shape} "
                                f"for {n} products; restore the store from a backup")
    base = read_refs(rec["base"])
    if cols.size == C.shape[1] and np.array_equal(cols, np.arange(C.shape[1])):
        return get_backend("numpy").plus_product(np.ascontiguousarray(base), W, C)  # as the re-plan formed it
    X = W @ C  # each column of a product is the product with that column: the same numbers
    X = X[:, cols]
    X += base
    return X


def live(con, outputs: list) -> tuple[set, set]:
    """Digests of the arrays and uids of the records that plan outputs ``outputs`` reach."""
    arrays: set = set()
    uids: set = set()
    cache: dict = {}
    todo = [o for o in outputs if is_update(o)]
    while todo:
        uid = todo.pop()[1:].partition(":")[0]
        if uid in uids:
            continue
        uids.add(uid)
        rec = _record(con, uid, cache)
        arrays.update([rec["W"], rec["C"]])
        for b in rec["base"]:
            if is_update(b):
                todo.append(b)
            else:
                arrays.add(str(b).partition(":")[0])
    return arrays, uids
