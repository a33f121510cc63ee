"""Kept inputs of computations the store re-runs on every version: one ``meta`` row each.

Stored dynamic plans (:mod:`bigplan._store.dynamic_plans`, prefix ``dynamic:``)
and proposal sets (:mod:`bigplan._store.proposals`, prefix ``proposals:``) keep
what they were asked as a JSON record (author, note, created, the version it
was added on, scalar inputs, and the digests of array inputs kept as checksummed
``.npy`` objects, which :meth:`Ledger.gc <bigplan._store.ledger.Ledger.gc>`
keeps) and re-run on a version with the store's runner.  :class:`Kind` holds
what differs between them (prefix and wording); the rest is here once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import BigplanError, LabelError, StoreError
from .ledger import loads
from .objects import now, read_npy, write_npy
from .snapshots import States

__all__ = ["Kind"]


@dataclass(frozen=True)
class Kind:
    """One kind of kept record: its ``meta`` key prefix and how messages name it.

    Attributes
    ----------
    prefix : str
        Key prefix in the ``meta`` table (``"dynamic:"``).
    what : str
        One record, in messages (``"dynamic plan"``).
    plural : str
        Several, in messages (``"dynamic plans"``).
    fix : str
        Where to look when a name is unknown (appended to the message).
    """

    prefix: str
    what: str
    plural: str
    fix: str = ""

    def check_name(self, name: Any) -> None:
        """A record is named by a non-empty string (:class:`~bigplan.LabelError` otherwise)."""
        if not isinstance(name, str) or not name.strip():
            raise LabelError(f"a {self.what} is named by a non-empty string, got {name!r}")

    def exists(self, states: States, name: str) -> bool:
        """Whether a record of this name is stored."""
        with states.led.read() as con:
            return con.execute("SELECT 1 FROM meta WHERE key=?", (self.prefix + name,)).fetchone() is not None

    def add(self, states: States, name: str, arrays: dict, spec: dict, *, version: int, author: str,
            note: str | None, replace: bool, op: str) -> None:
        """Keep a record and its arrays (one transaction; ``op`` names it in the lock)."""
        self.check_name(name)
        led = states.led
        with led.write(op) as con:
            key = self.prefix + name
            if con.execute("SELECT 1 FROM meta WHERE key=?", (key,)).fetchone() and not replace:
                raise StoreError(f"a {self.what} named {name!r} exists; pass replace=True or choose another name")
            digests = {}
            for k, arr in arrays.items():
                info = write_npy(states.path, np.asarray(arr))
                led.register(con, info)
                digests[k] = info.digest
            rec = {"author": author, "note": note, "created": now(), "version": int(version), "arrays": digests,
                   **spec}
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(rec)))

    def rows(self, con) -> list:
        """``[(name, record)]`` of every stored record, by name."""
        rows = con.execute("SELECT key, value FROM meta WHERE key LIKE ? ORDER BY key", (self.prefix + "%",)).fetchall()
        n = len(self.prefix)
        return [(k[n:], loads(v, f"{self.what} {k[n:]!r}")) for k, v in rows]

    def load(self, states: States, con, names: Sequence[str] | None = None) -> dict:
        """Stored records by name: ``(arrays, record)`` (all, or those named; an unknown name is an error)."""
        recs = dict(self.rows(con))
        if names is not None:
            missing = [nm for nm in names if nm not in recs]
            if missing:
                raise StoreError(f"no {self.plural} named {missing}; stored are {sorted(recs)[:10]}{self.fix}")
            recs = {nm: recs[nm] for nm in names}
        out = {}
        for nm, rec in recs.items():
            infos = states.led.objects(con, rec["arrays"].values())
            arrays = {k: read_npy(states.path, infos[d], f"{self.what} {nm!r} {k}") for k, d in rec["arrays"].items()}
            out[nm] = (arrays, rec)
        return out

    def remove(self, states: States, names: Sequence[str], op: str) -> None:
        """Forget records (their arrays go at the next gc); an unknown name is a :class:`~bigplan.StoreError`."""
        with states.led.write(op) as con:
            for nm in names:
                if con.execute("DELETE FROM meta WHERE key=?", (self.prefix + str(nm),)).rowcount == 0:
                    raise StoreError(f"no {self.what} named {nm!r}{self.fix}")

    def run(self, states: States, runner: Any, v: int, names: Sequence[str] | None, call_args: Callable, *,
            strict: bool) -> dict:
        """The stored records re-run on version ``v``: ``runner(economy, **call_args(arrays, record))`` by name.

        With ``strict=False`` a record the runner refuses is kept as its
        :class:`~bigplan.BigplanError` instead.
        """
        with states.led.read() as con:
            stored = self.load(states, con, names)
        if not stored:
            return {}
        eco = states.economy(v)
        out = {}
        for nm, (arrays, rec) in stored.items():
            try:
                out[nm] = runner(eco, **call_args(arrays, rec))
            except BigplanError as exc:
                if strict:
                    raise
                out[nm] = exc
        return out
