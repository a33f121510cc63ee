"""Stored plans: final-demand targets, their last outputs, the sector mapping, and re-planning.

Each plan's final demand is an array object (one column per file); its last
output is a column of the block object its re-plan wrote (``digest:j`` in the
``plans`` table; older stores hold one file per column), and the table records
the version the output solves and its residual.  Re-planning groups the plans
by that version and hands each group to :func:`bigplan._replan.replan` with the
ledger's net coefficient change since then (a warm-started correction), keeps
the outputs of plans whose coefficients did not change, or solves cold.

The blocks of final demands and outputs stay in memory (``States.plan_cache``)
under the references the ledger holds, so a re-plan in the same process reads
and stacks nothing; the new block is written on a thread while the report
(labour, values, capacity: :mod:`bigplan._store.impact`) is built.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace as dc_replace
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import plan_block
from .._options import check_int, check_real, check_rtol
from .._replan import ReplanReport, sector_codes
from .._replan import replan as replan_block
from .._sparse import csr_set
from ..errors import CorruptStoreError, LabelError, StoreError
from ..backend import get_backend
from ..cpu import NumpyBackend
from ..static import labour_values
from . import updates
from .history import net
from .impact import capacity_short, kinds_and_units, labour_table, values_bound, values_moved
from .ledger import BLOCK_FORMAT, Ledger, loads
from .objects import now, parallel_map, pause, read_npy, write_columns, write_npy
from .snapshots import States


def _index(st) -> pd.Index:
    return st.labels if st.labels is not None else pd.RangeIndex(st.n)


def add(states: States, final_demand: Any, *, names: Sequence[str] | None, author: str, note: str | None,
        replace: bool) -> list[str]:
    """Keep plans in the store (see :meth:`Store.add_plans`); their names."""
    led = states.led
    with led.read() as con:
        st = states.latest(con)
    if isinstance(final_demand, Mapping) and not isinstance(final_demand, pd.Series) and names is not None:
        raise StoreError("plans given as a mapping are named by its keys; drop names=")
    pb = plan_block(st, final_demand, "final demand", host=True)
    if names is not None:
        plan_names = [str(s) for s in names]
    elif pb.names is not None:
        plan_names = [str(s) for s in pb.names]
    else:
        raise StoreError("give names=[...] for plans passed as arrays (or pass a DataFrame)")
    if len(plan_names) != pb.k or len(set(plan_names)) != len(plan_names):
        raise LabelError(f"need {pb.k} unique plan names, got {plan_names[:10]}")
    Y = np.asarray(pb.values, dtype=np.float64)
    with led.write("add_plans") as con:
        # files are written under the write lock, so gc() (which takes it too) never sees them unregistered
        infos = write_columns(states.path, Y, states.threads)
        seq0 = int(con.execute("SELECT COALESCE(MAX(seq), 0) FROM plans").fetchone()[0])
        for j, (name, info) in enumerate(zip(plan_names, infos)):
            led.register(con, info)
            exists = con.execute("SELECT 1 FROM plans WHERE name=?", (name,)).fetchone()
            if exists and not replace:
                raise StoreError(f"a plan named {name!r} exists; pass replace=True or choose another name")
            if exists:
                con.execute("UPDATE plans SET demand=?, author=?, note=? WHERE name=?", (info.digest, author, note, name))
            else:
                con.execute("INSERT INTO plans(name, seq, demand, created, author, note) VALUES (?, ?, ?, ?, ?, ?)",
                            (name, seq0 + j + 1, info.digest, now(), author, note))
    return plan_names


def remove(led: Ledger, names: Sequence[str]) -> None:
    """Forget plans (their arrays go at the next gc)."""
    with led.write("remove_plans") as con:
        for nm in names:
            if con.execute("DELETE FROM plans WHERE name=?", (nm,)).rowcount == 0:
                raise StoreError(f"no plan named {nm!r}")


def table(led: Ledger) -> pd.DataFrame:
    """The stored plans (see :meth:`Store.plans`)."""
    with led.read() as con:
        rows = con.execute(
            "SELECT name, author, note, created, output_version, residual, solved FROM plans ORDER BY seq"
        ).fetchall()
    df = pd.DataFrame(rows, columns=["plan", "author", "note", "created", "output_version", "residual", "solved"])
    df["output_version"] = df["output_version"].astype("Int64")
    return df.set_index("plan")


def _rows(con, names) -> list:
    rows = con.execute("SELECT name, demand, output, output_version, residual FROM plans ORDER BY seq").fetchall()
    if names is not None:
        if isinstance(names, str):
            names = [names]
        names = list(names)
        dup = sorted({str(nm) for nm in names if names.count(nm) > 1})
        if dup:
            raise LabelError(f"plans {dup} are named more than once; name each plan once")
        by = {r[0]: r for r in rows}
        missing = [nm for nm in names if nm not in by]
        if missing:
            raise StoreError(f"no plans named {missing}; stored plans are {list(by)[:10]}")
        rows = [by[nm] for nm in names]
    return rows


def _split(ref: str) -> tuple[str, int | None]:
    """An output reference: ``digest`` (one column per file) or ``digest:j`` (column ``j`` of a block)."""
    d, sep, j = str(ref).partition(":")
    return d, (int(j) if sep else None)


def _read_refs(states: States, con, refs: list, what: str, n: int) -> np.ndarray:
    """The columns ``refs`` name, as one ``(n, len(refs))`` block (a whole stored block is returned as is).

    A reference ``@uid:i`` is column ``i`` of a low-rank update record, formed
    from its bases and factors (:func:`bigplan._store.updates.resolve`).
    """
    if not refs:
        return np.zeros((n, 0))
    parts = [_split(r) for r in refs]
    keys = list(dict.fromkeys(d for d, _ in parts))
    digests = [d for d in keys if not updates.is_update(d)]
    infos = states.led.objects(con, digests)
    arrs = dict(zip(digests, parallel_map(lambda d: read_npy(states.path, infos[d], what), digests, states.threads)))
    cache = states.plan_cache.setdefault("updates", {})
    for d in keys:
        if updates.is_update(d):
            arrs[d] = updates.resolve(
                con, d[1:], n, what, lambda base: _read_refs(states, con, base, what, n),
                lambda dg: read_npy(states.path, states.led.objects(con, [dg])[dg], what), cache)
    for d, j in parts:
        a = arrs[d]
        if (j is None and a.shape != (n,)) or (j is not None and (a.ndim != 2 or a.shape[0] != n or j >= a.shape[1])):
            raise CorruptStoreError(f"{what}: array {d[:12]}... has shape {a.shape}, not {n} products "
                                    f"(column {j}); restore the store from a backup")
    if len(digests) == 1 and parts[0][1] is not None and [j for _, j in parts] == list(range(arrs[digests[0]].shape[1])):
        return arrs[digests[0]]  # a whole block, in order: no copy
    return np.column_stack([arrs[d] if j is None else arrs[d][:, j] for d, j in parts])


def _cached(states: States, rows: list, which: str) -> np.ndarray | None:
    """The plans' final demands (``"Y"``) or outputs (``"X"``) from memory, when the ledger names the same arrays."""
    cache = states.plan_cache
    cols, block = cache.get("cols"), cache.get(which)
    if cols is None or block is None:
        return None
    idx = []
    for r in rows:
        e = cols.get(r[0])
        if e is None or e[0] != r[1] or (which == "X" and e[1] != r[2]):
            return None
        idx.append(e[2])
    return block if idx == list(range(block.shape[1])) else block[:, idx]


def _remember(states: States, names: list, demand: list, output: list, Y: np.ndarray, X: np.ndarray) -> None:
    """Keep the plans' blocks in memory (read-only) under the references the ledger now holds."""
    for a in (Y, X):
        a.flags.writeable = False
    states.plan_cache.update(cols={nm: (d, o, j) for j, (nm, d, o) in enumerate(zip(names, demand, output))},
                             Y=Y, X=X)


def final_demand(states: States, names) -> pd.DataFrame:
    """The stored plans' final demands: products x plans."""
    with states.led.read() as con:
        rows = _rows(con, names)
        st = states.latest(con)
        Y = _cached(states, rows, "Y")
        if Y is None:
            Y = _read_refs(states, con, [r[1] for r in rows], "plan final demand", st.n)
    return pd.DataFrame(np.array(Y), index=_index(st), columns=pd.Index([r[0] for r in rows], name="plan"))


def outputs(states: States, names) -> pd.DataFrame:
    """The stored plans' last gross outputs (NaN columns for plans never solved)."""
    with states.led.read() as con:
        rows = _rows(con, names)
        st = states.latest(con)
        have = [j for j, r in enumerate(rows) if r[2] is not None]
        X = _cached(states, rows, "X") if len(have) == len(rows) else None
        if X is None:
            X = _read_refs(states, con, [rows[j][2] for j in have], "plan output", st.n)
    out = np.full((st.n, len(rows)), np.nan)
    out[:, have] = X
    return pd.DataFrame(out, index=_index(st), columns=pd.Index([r[0] for r in rows], name="plan"))


def _stored_sectors(states: States, con, st, sectors: Any):
    """``sectors`` as given, else the stored mapping as ``(codes, names)`` (kept in memory), else None."""
    if sectors is not None:
        return sectors
    r = con.execute("SELECT value FROM meta WHERE key='sectors'").fetchone()
    if r is None:
        return None
    cached = states.plan_cache.get("sectors")
    if cached is not None and cached[0] == r[0]:
        return cached[1]
    d = loads(r[0], "the sector mapping")
    infos = states.led.objects(con, [d["codes"], d["names"]])
    codes = np.asarray(read_npy(states.path, infos[d["codes"]], "sector mapping"), np.int64)
    names = pd.Index(np.asarray(read_npy(states.path, infos[d["names"]], "sector names")))
    if codes.shape != (st.n,):
        return None
    states.plan_cache["sectors"] = (r[0], (codes, names))
    return codes, names


def _values_base(states: States, con, v: int) -> tuple[int, np.ndarray] | None:
    """The last labour values computed at or before ``v`` (memory first, then the ledger's record)."""
    mem = states.plan_cache.get("values")
    if mem is not None and mem[0] <= v:
        return mem
    r = con.execute("SELECT value FROM meta WHERE key='values'").fetchone()
    if r is None:
        return None
    d = loads(r[0], "the labour values")
    if int(d["version"]) > v:
        return None
    info = states.led.objects(con, [d["ref"]])[d["ref"]]
    return int(d["version"]), read_npy(states.path, info, "labour values")


def _coefficients_same(con, led: Ledger, a: int, b: int, kinds: tuple) -> bool:
    """Whether none of ``kinds`` changed between versions ``a`` and ``b`` (net of the ledger)."""
    if a == b:
        return True
    if led.replace_between(con, a, b):
        return False
    ch = net(con, min(a, b), max(a, b))
    return all(k not in ch or ch[k][0].size == 0 for k in kinds)


def replan(states: States, *, plans, version, save: bool, values: bool = True, capacity: bool = True,
           **options: Any) -> ReplanReport:
    """Re-solve the stored plans on a version, warm-started, with labour, values and capacity (see :meth:`Store.replan`).

    The plans' blocks are kept in memory under the references the ledger holds
    (content digests), so a re-plan in the same process reads and stacks nothing;
    their new outputs are written as one block object in one transaction.
    """
    rtol = options["rtol"] = check_rtol(options.get("rtol", 1e-10))
    if version is not None:
        version = check_int(version, "version", lo=None)
    threshold = check_real(options.get("threshold", 0.01), "threshold", lo=0.0)
    abs_threshold = check_real(options.get("abs_threshold", 0.0), "abs_threshold", lo=0.0)
    led = states.led
    with led.read() as con:
        v = led.check_version(con, version)
        rows = _rows(con, plans)
        if not rows:
            raise StoreError("no plans stored; add some with store.add_plans(...)")
        st = states.state(con, v)
        n, k = st.n, len(rows)
        names = [r[0] for r in rows]
        Y = _cached(states, rows, "Y")
        if Y is None:
            Y = _read_refs(states, con, [r[1] for r in rows], "plan final demand", n)
        solved = [j for j, r in enumerate(rows) if r[2] is not None]
        X_old = _cached(states, rows, "X") if len(solved) == k else None
        if X_old is None and solved:
            Xs = _read_refs(states, con, [rows[j][2] for j in solved], "plan output", n)
            X_old = Xs if len(solved) == k else np.zeros((n, k))
            if len(solved) < k:
                X_old[:, solved] = Xs
        res_old = np.array([np.nan if r[2] is None or r[4] is None else float(r[4]) for r in rows])
        groups: dict = {}  # the version a plan's output solves (None: never solved) -> its columns
        for j, r in enumerate(rows):
            groups.setdefault(r[3] if r[2] is not None else None, []).append(j)
        how: dict = {}
        labour_before: dict = {}
        seed = None  # (u, rows, cols, A_v there): A_v's transpose from u's by the same edit
        for u, cols in groups.items():
            if u is None:
                how[u] = {"method": "cold"}
                continue
            labour_before[u] = st.labour if u == v else states.state(con, u).labour
            if u == v:
                how[u] = {"method": "verify", "residual": res_old[cols]}
            elif led.replace_between(con, u, v):  # no ledger to replay across a whole economy
                how[u] = {"method": "warm"}
            else:
                change = net(con, min(u, v), max(u, v)).get("A")
                if (change is None or change[0].size == 0) and bool((res_old[cols] <= rtol).all()):
                    how[u] = {"method": "unchanged", "residual": res_old[cols]}
                elif change is None or change[0].size == 0:  # asked for a tighter rtol than they were solved to
                    how[u] = {"method": "warm"}
                else:
                    r, c, a, b = change
                    how[u] = {"method": options.get("method", "auto"), "delta": (r, c, (b - a) if u < v else (a - b)),
                              "residual": res_old[cols]}
                    seed = seed or (u, r, c, b if u < v else a)
        sec = _stored_sectors(states, con, st, options.get("sectors"))
        base = _values_base(states, con, v) if values and st.labour is not None else None
        moved_at_most = None  # a certified bound on the values' relative moves since the base, when one holds
        if base is not None and not _coefficients_same(con, led, base[0], v, ("A", "labour")):
            base = (base[0], base[1], False)
            lo, hi = min(base[0], v), max(base[0], v)
            if _coefficients_same(con, led, lo, hi, ("labour",)) and not led.replace_between(con, lo, hi):
                change = net(con, lo, hi).get("A")
                if change is not None and change[0].size:
                    moved_at_most = values_bound(base[1], st.labour, change)
        elif base is not None:
            base = (base[0], base[1], True)
        recorded = None
        if capacity and (st.has_capacity or st.capacity.keys.size):
            recorded = np.zeros(n, bool)
            recorded[st.capacity.keys % n] = True
    # A stock-taking (no coefficient changed since the plans' outputs or the last values) needs no new
    # Economy: any economy of the same products in memory aligns the blocks; labour and capacity come
    # from the state of ``v``.
    solves = any(how[u]["method"] != "unchanged" for u in groups)
    valuing = values and st.labour is not None and (base is None or not base[2])
    certain = valuing and moved_at_most is not None and moved_at_most < _BOUND_SHARE * threshold
    valuing = valuing and not certain
    eco = None
    if not (solves or valuing):
        eco = next((e for e in (states.cached_economy(u) for u in groups if u is not None) if e is not None), None)
    if eco is None:
        eco = states.economy(v)
        if seed is not None:
            _seed_transpose(eco, states.cached_economy(seed[0]), *seed[1:])
    codes, sec_names = sector_codes(eco, sec)
    kw = {key: val for key, val in options.items() if key not in ("method", "sectors")}
    kinds = units = None
    if st.labour is not None:
        kinds, units = kinds_and_units(st.labour_names, st, np.atleast_2d(st.labour).shape[0])
    valued = None  # the labour values solve needs nothing of the outputs: it runs beside the plans' solve
    if values and st.labour is not None:
        args = (eco, base, v, codes, sec_names, kinds, units, threshold, abs_threshold, rtol,
                options.get("backend", "auto"))
        if certain:  # no value can have moved by the threshold: no solve, the last values stay the base
            none = np.atleast_2d(base[1])[:, :0]
            valued = _Done((None, values_moved(none, none, None, codes[:0], sec_names, kinds, units, threshold,
                                               abs_threshold, rtol)))
        else:
            valued = _beside(_values, *args) if valuing else _Done(_values(*args))
    cap_arr = None if recorded is None else np.where(recorded, st.rollup("capacity"), np.inf)
    parts = []
    for u, cols in groups.items():
        whole = len(cols) == k
        previous = None if u is None else (X_old if whole else X_old[:, cols])
        rep = replan_block(eco, Y if whole else Y[:, cols], previous, plans=[names[j] for j in cols], version=v,
                           sectors=(codes, sec_names), capacity=cap_arr if len(groups) == 1 else None, **how[u], **kw)
        parts.append((cols, rep))
    report = parts[0][1] if len(parts) == 1 else ReplanReport.combine(parts, k)
    X = report.output
    pending = _start_save(states, rows, k, groups, how, report) if save else None  # written while the report is built
    extra: dict = {}
    V_new = None
    if st.labour is not None:
        lab = np.atleast_2d(st.labour)
        m = lab.shape[0]
        before = np.full((m, k), np.nan)
        for u, cols in groups.items():
            lu = labour_before.get(u)
            if u is not None and lu is not None and np.atleast_2d(lu).shape == lab.shape:
                lu = np.atleast_2d(lu)
                before[:, cols] = lu @ X_old if len(cols) == k else lu @ X_old[:, cols]
        extra["labour"] = labour_table(report.plans, kinds, units, before, lab @ X)
    if recorded is not None and report.capacity is None:  # found in the re-plan's own pass when one group
        extra["capacity"] = capacity_short(X, st.rollup("capacity"), recorded, st.labels, report.plans, codes, sec_names,
                                           rtol, top=report.peak)
    if valued is not None:
        V_new, extra["values"] = valued.result()
    if certain:
        extra["evidence"] = dc_replace(report.evidence, notes=report.evidence.notes + (
            f"labour values not re-solved: none can have moved by {threshold:g} since version {base[0]} (certified "
            f"bound on every relative move: {moved_at_most:.3g}, from the changed coefficients alone)",))
    report = dc_replace(report, **extra)
    if V_new is not None and save:  # the values the next re-plan compares with: those of the plans' version
        states.plan_cache["values"] = (v, V_new)
    if save:
        _save(states, rows, pending, report, v, V_new, Y)
    return report


def _seed_transpose(eco, old, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray) -> None:
    """Give ``eco`` its ``A^T`` (for the labour values) as ``old``'s with the changed entries, not a new transpose."""
    if old is None or not old.is_cached("AT") or eco.is_cached("AT") or eco.dtype != np.float64:
        return
    AT = csr_set(old.AT, cols, rows, np.nan_to_num(vals, nan=0.0))
    if AT.indices.dtype == eco.A.indices.dtype and AT.nnz == eco.A.nnz:
        eco.cached("AT", lambda: AT)


_BESIDE: list = []
_BOUND_SHARE = 0.99  # a bound this far under the threshold skips the values solve (the base values' own error is ~rtol)


def _beside_backend():
    """A one-thread NumPy backend for the solve that runs beside the plans' (made once)."""
    if not _BESIDE:
        _BESIDE.append(NumpyBackend(threads=1))
    return _BESIDE[0]


def _values(eco, base, v: int, codes, sec_names, kinds, units, threshold, abs_threshold, rtol, backend):
    """Labour values at ``v`` (warm-started from the last ones) and those that moved since."""
    m = np.atleast_2d(eco.labour).shape[0]
    old = None if base is None else np.atleast_2d(base[1])
    if old is not None and old.shape != (m, eco.n):
        old = None
    if old is not None and base[2]:
        new = old  # neither A nor labour changed since: the values stand
    else:
        x0 = None if old is None else (old[0] if m == 1 else old)
        if isinstance(backend, str) and backend in ("auto", "numpy") and get_backend(backend).name == "numpy":
            backend = _beside_backend()  # the plans' solve has the shared pool's threads: this thread is one
        new = np.atleast_2d(np.asarray(labour_values(eco, x0=x0, rtol=rtol, backend=backend, keep_on_device=False).values,
                                       np.float64))
    new.flags.writeable = False
    if old is None:
        return new, values_moved(new[:, :0], new[:, :0], None, codes[:0], sec_names, kinds, units, threshold,
                                 abs_threshold, rtol)
    return new, values_moved(old, new, eco.labels, codes, sec_names, kinds, units, threshold, abs_threshold, rtol)


class _Done:
    """A result already at hand, read like a future."""

    def __init__(self, value: Any):
        self._value = value

    def result(self) -> Any:
        return self._value


def _beside(fn, *args):
    """Run ``fn(*args)`` on a thread of its own now; ``.result()`` waits (and raises what it raised)."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="bigplan-values")
    fut = pool.submit(fn, *args)
    pool.shutdown(wait=False)
    return fut


def _start_save(states: States, rows: list, k: int, groups: dict, how: dict, report: ReplanReport) -> tuple:
    """Start writing the converged, re-solved plans' outputs, on a thread.

    Plans whose outputs were kept (method ``"unchanged"``) are only re-dated; a plan
    that missed its tolerance keeps its stored output.  Plans the correction
    certified are written as a low-rank update of their stored outputs (its
    factors ``W`` and ``C``: :mod:`bigplan._store.updates`) while the chain of
    updates behind them is short; the others as one block object.  Returns the
    columns written whole, the columns written as an update, and the future of
    the objects' records.
    """
    ok = np.asarray(report.status) == 0
    kept = {j for u, cols in groups.items() if how[u]["method"] == "unchanged" for j in cols}
    write = [j for j in range(k) if ok[j] and j not in kept]
    if not write:
        return write, [], None
    low: list = []
    fac = report.factors
    if fac is not None and len(groups) == 1 and next(iter(groups)) is not None and fac[1].shape[1] == k:
        exact = np.asarray(fac[2], bool)
        low = [j for j in write if exact[j] and rows[j][2] is not None]
        if low:
            with states.led.read() as con:
                if updates.depth(con, [rows[j][2] for j in low], states.plan_cache.setdefault("updates", {})) \
                        >= updates.MAX_DEPTH:
                    low = []
    whole = [j for j in write if j not in set(low)]
    X = report.output
    block = None if not whole else (X if len(whole) == k else X[:, whole])

    def run():
        out = {}
        if low:
            out["W"], out["C"] = write_npy(states.path, fac[0]), write_npy(states.path, fac[1])
        if block is not None:
            out["block"] = write_npy(states.path, block)
        return out

    pool = ThreadPoolExecutor(1)
    fut = pool.submit(run)
    pool.shutdown(wait=False)
    return whole, low, fut


def _save(states: States, rows: list, pending: tuple, report: ReplanReport, v: int, V: np.ndarray | None,
          Y: np.ndarray) -> None:
    """Record the new outputs (the objects :func:`_start_save` wrote) and the values, in one transaction."""
    names = [r[0] for r in rows]
    X = report.output
    res = np.atleast_1d(np.asarray(report.residual, np.float64))
    ok = np.asarray(report.status) == 0
    whole, low, fut = pending
    infos = {} if fut is None else fut.result()  # an error writing them is raised here, before the ledger changes
    refs = [r[2] for r in rows]
    cache = states.plan_cache.setdefault("updates", {})
    with states.led.write("save plan outputs") as con:
        for info in infos.values():
            states.led.register(con, info)
        if "block" in infos:
            states.led.require_format(con, BLOCK_FORMAT)  # "digest:j" references: an older bigplan must refuse
            for i, j in enumerate(whole):
                refs[j] = f"{infos['block'].digest}:{i}"
        if low:
            states.led.require_format(con, updates.UPDATE_FORMAT)  # "@uid:i" references
            uid = updates.put(con, [rows[j][2] for j in low], infos["W"].digest, infos["C"].digest, low, cache)
            for i, j in enumerate(low):
                refs[j] = f"@{uid}:{i}"
        stamp = now()
        for j, name in enumerate(names):
            if ok[j]:
                con.execute("UPDATE plans SET output=?, output_version=?, residual=?, solved=? WHERE name=?",
                            (refs[j], int(v), float(res[j]), stamp, name))
        if V is not None:
            vi = write_npy(states.path, V)
            states.led.register(con, vi)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('values', ?)",
                        (json.dumps({"version": int(v), "ref": vi.digest}),))
        pause("plans_saved")
    if ok.all():
        _remember(states, names, [r[1] for r in rows], refs, Y, X)


def set_sectors(states: States, sectors: Any, author: str) -> None:
    """Keep a product -> sector mapping (see :meth:`Store.set_sectors`)."""
    codes, names = sector_codes(states.economy(None), sectors)
    arr_names = np.array([str(s) for s in names], dtype=str)
    with states.led.write("set_sectors") as con:
        i1 = write_npy(states.path, codes.astype(np.int64))
        i2 = write_npy(states.path, arr_names)
        states.led.register(con, i1)
        states.led.register(con, i2)
        con.execute("INSERT OR REPLACE INTO meta VALUES ('sectors', ?)",
                    (json.dumps({"codes": i1.digest, "names": i2.digest, "author": author}),))


def sectors(states: States) -> pd.Series | None:
    """The stored product -> sector mapping, or None."""
    with states.led.read() as con:
        r = con.execute("SELECT value FROM meta WHERE key='sectors'").fetchone()
        if r is None:
            return None
        d = loads(r[0], "the sector mapping")
        infos = states.led.objects(con, [d["codes"], d["names"]])
        codes = read_npy(states.path, infos[d["codes"]], "sector mapping")
        names = read_npy(states.path, infos[d["names"]], "sector names")
        st = states.latest(con)
    return pd.Series(np.asarray(names)[codes], index=_index(st), name="sector")
