"""Snapshots and replay: the state of any version, cheapest source first.

A snapshot is the full state of a version as array objects (a manifest of
digests) plus a little metadata; one is written every ``snapshot_every``
versions (or ``snapshot_changes`` changed entries) and for every whole economy
committed.  Reading a version is: take a state already in memory or the nearest
snapshot, whichever is cheaper, and replay the ledger rows in between,
vectorized (the ledger keeps old values, so replay runs forwards or backwards;
never across a whole-economy version).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import replace

import numpy as np

from .._options import check_int
from .._sparse import dedupe_last
from ..economy import Economy
from ..errors import CorruptStoreError
from .ledger import Ledger, loads
from .objects import (
    labels_array,
    labels_index,
    parallel_map,
    pause,
    read_npy,
    write_npy,
)
from .state import Delta, Keyed, State, apply, csr_from_arrays

_SNAPSHOT_COST_ROWS = 300_000  # reading a snapshot costs about as much as replaying this many rows


def last_new(rows: np.ndarray, cols: np.ndarray, new: np.ndarray):
    """The last new value of each position in ledger order, sorted by position."""
    return dedupe_last(rows, cols, new)


def first_old(rows: np.ndarray, cols: np.ndarray, old: np.ndarray):
    """The first old value of each position in ledger order, sorted by position."""
    return dedupe_last(rows[::-1], cols[::-1], old[::-1])


class States:
    """The states of a store's versions: kept in memory, rebuilt from snapshots and the ledger.

    Parameters
    ----------
    ledger : Ledger
    cache : int
        States (and economies) kept in memory.
    threads : int
        Threads reading and writing array files.
    snapshot_every, snapshot_changes : int
        When a commit also writes a snapshot.
    """

    def __init__(self, ledger: Ledger, *, cache: int, threads: int, snapshot_every: int, snapshot_changes: int):
        self.check(snapshot_every, snapshot_changes)
        self.led = ledger
        self.path = ledger.path
        self.lock = ledger.lock
        self.cache_size = max(1, int(cache))
        self.threads = int(threads)
        self.snapshot_every = int(snapshot_every)
        self.snapshot_changes = int(snapshot_changes)
        self._states: OrderedDict[int, State] = OrderedDict()
        self._economies: OrderedDict[int, Economy] = OrderedDict()
        self.plan_cache: dict = {}  # the stored plans' blocks in memory (see bigplan._store.plans)

    @staticmethod
    def check(snapshot_every: int, snapshot_changes: int) -> None:
        """Refuse a snapshot policy that would never write one."""
        check_int(snapshot_every, "snapshot_every", lo=1)
        check_int(snapshot_changes, "snapshot_changes", lo=1)

    # -- reading -------------------------------------------------------------
    def state(self, con, version: int) -> State:
        """The state at ``version`` (cached states, snapshots and the ledger, cheapest first)."""
        with self.lock:
            if version in self._states:
                self._states.move_to_end(version)
                return self._states[version]
            led = self.led
            best = None  # (cost, source)
            for v, st in self._states.items():
                if not led.replace_between(con, v, version):
                    cost = led.rows_between(con, v, version)
                    if best is None or cost < best[0]:
                        best = (cost, st)
            before = con.execute("SELECT MAX(version) FROM snapshots WHERE version <= ?", (version,)).fetchone()[0]
            after = con.execute("SELECT MIN(version) FROM snapshots WHERE version > ?", (version,)).fetchone()[0]
            for s in (before, after):
                # whole-economy versions always have a snapshot, so ``before`` is never across one
                if s is None or led.replace_between(con, s, version):
                    continue
                cost = _SNAPSHOT_COST_ROWS + led.rows_between(con, s, version)
                if best is None or cost < best[0]:
                    best = (cost, s)
            if best is None:
                raise CorruptStoreError(f"no snapshot from which version {version} can be rebuilt; the store is damaged")
            base = best[1] if isinstance(best[1], State) else self._load(con, best[1])
            st = self.replay(con, base, version)
            self.remember(st)
            return st

    def any_state(self, con, version: int) -> State:
        """A state for labels and names only (the products never change between versions)."""
        with self.lock:
            if self._states:
                return next(reversed(self._states.values()))
        return self.state(con, version)

    def remember(self, st: State) -> None:
        """Keep a (committed) state for later reads."""
        with self.lock:
            self._states[st.version] = st
            self._states.move_to_end(st.version)
            while len(self._states) > self.cache_size:
                self._states.popitem(last=False)

    def economy(self, version: int | None) -> Economy:
        """The economy at ``version`` (None: the latest), cached."""
        with self.led.read() as con:
            v = self.led.check_version(con, version)
            with self.lock:
                if v in self._economies:
                    self._economies.move_to_end(v)
                    return self._economies[v]
                eco = self.state(con, v).economy()
                self._economies[v] = eco
                while len(self._economies) > self.cache_size:
                    self._economies.popitem(last=False)
                return eco

    def cached_economy(self, version: int) -> Economy | None:
        """The economy of ``version`` when it is in memory (None otherwise; nothing is built)."""
        with self.lock:
            return self._economies.get(version)

    def latest(self, con) -> State:
        """The state of the head version (a :class:`StoreError` for an empty store)."""
        return self.state(con, self.led.check_version(con, None))

    # -- replay --------------------------------------------------------------
    def replay(self, con, state: State, target: int) -> State:
        """The state at ``target`` from ``state`` by replaying the ledger forwards or backwards."""
        if target == state.version:
            return state
        forward = target > state.version
        a, b = (state.version, target) if forward else (target, state.version)
        deltas = []
        for kind, (_, r, c, old, new) in self.led.rows(con, a, b).items():
            r, c, vals = last_new(r, c, new) if forward else first_old(r, c, old)
            # an ``A`` delta carries the values it replaces in ``state`` (for the column sums)
            deltas.append(Delta(kind, r, c, vals, state.A_get(r, c) if kind == "A" else None))
        return apply(state, deltas, target, self.led.certificate(con, target))

    # -- snapshots -----------------------------------------------------------
    def _load(self, con, version: int) -> State:
        r = con.execute("SELECT manifest, meta FROM snapshots WHERE version=?", (version,)).fetchone()
        if r is None:
            raise CorruptStoreError(f"snapshot of version {version} is listed but missing from the ledger")
        manifest: dict = loads(r[0], f"the snapshot of version {version}")
        meta: dict = loads(r[1], f"the snapshot of version {version}")
        if not isinstance(manifest, dict) or not isinstance(meta, dict) or "n" not in meta:
            raise CorruptStoreError(f"the ledger's record of the snapshot of version {version} is damaged; "
                                    "restore the store from a backup")
        infos = self.led.objects(con, manifest.values())
        what = f"snapshot of version {version}"
        order = sorted(manifest, key=lambda k: -infos[manifest[k]].nbytes)  # largest first
        arrays = dict(parallel_map(
            lambda name: (name, read_npy(self.path, infos[manifest[name]], f"{what}, array {name!r}")),
            order, self.threads))
        n = int(meta["n"])
        digests = {k: (d, arrays[k]) for k, d in manifest.items()}

        def csr(prefix):
            if f"{prefix}.data" not in arrays:
                return None
            p, i, d = (arrays[f"{prefix}.{x}"] for x in ("indptr", "indices", "data"))
            if p.shape != (n + 1,) or i.shape != d.shape or int(p[-1]) != d.size:
                raise CorruptStoreError(f"{what}: the arrays of {prefix} do not form an {n} x {n} CSR matrix")
            m = csr_from_arrays(p, i, d, n)
            for x in ("indptr", "indices", "data"):  # the matrix's own arrays hold the stored bytes
                digests[f"{prefix}.{x}"] = (manifest[f"{prefix}.{x}"], getattr(m, x))
            return m

        def keyed(kind):
            if f"{kind}.keys" not in arrays:
                return Keyed.empty()
            return Keyed(arrays[f"{kind}.keys"], arrays[f"{kind}.values"])

        return State(
            version=version,
            n=n,
            dtype=np.dtype(meta["dtype"]),
            labels=labels_index(arrays.get("labels")),
            labour_names=tuple(meta["labour_names"]) if meta.get("labour_names") is not None else None,
            labour_units=tuple(meta["labour_units"]) if meta.get("labour_units") is not None else None,
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
            productivity=self.led.certificate(con, version),
            digests=digests,
        )

    def snapshot_due(self, con, v: int) -> bool:
        """Whether committing version ``v`` should also write a snapshot."""
        last = con.execute("SELECT MAX(version) FROM snapshots WHERE version < ?", (v,)).fetchone()[0] or 0
        if v - last >= self.snapshot_every:
            return True
        return self.led.rows_between(con, last, v) >= self.snapshot_changes

    def write_snapshot(self, con, st: State) -> State:
        """Write ``st`` as a snapshot (arrays unchanged since stored are reused); the state, merged."""
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
            arrays["labels"] = labels_array(st.labels)
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
        written = parallel_map(lambda item: (item[0], write_npy(self.path, item[1])), todo.items(), self.threads)
        for name, info in written:
            self.led.register(con, info)
            manifest[name] = info.digest
        pause("after_snapshot")
        meta = {
            "n": st.n,
            "dtype": st.dtype.str,
            "labour_names": list(st.labour_names) if st.labour_names is not None else None,
            "labour_units": list(st.labour_units) if st.labour_units is not None else None,
            "has_stocks": st.has_stocks,
            "has_capacity": st.has_capacity,
        }
        con.execute("INSERT INTO snapshots(version, manifest, meta) VALUES (?, ?, ?)",
                    (st.version, json.dumps(manifest, sort_keys=True), json.dumps(meta)))
        digests = {k: (d, arrays[k]) for k, d in manifest.items() if k in arrays}
        if lab is not None:
            digests["labels"] = lab
        return replace(st, A=A, A_over=Keyed.empty(), memo={}, digests=digests)
