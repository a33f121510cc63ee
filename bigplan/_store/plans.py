"""Stored plans: final-demand targets, their last outputs, the sector mapping, and re-planning.

Each plan's final demand and last output are array objects (one column per
file); the ``plans`` table names them and records the version the output
solves and its residual.  Re-planning groups the plans by that version and
hands each group to :func:`bigplan._replan.replan` with the ledger's net
coefficient change since then (a warm-started correction), or solves cold.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import plan_block
from .._options import check_int, check_rtol
from .._replan import ReplanReport, sector_codes
from .._replan import replan as replan_block
from ..errors import LabelError, StoreError
from .history import net
from .ledger import Ledger, loads
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


def _columns(states: States, con, digests: list, what: str) -> np.ndarray:
    infos = states.led.objects(con, [d for d in digests if d is not None])
    cols = parallel_map(lambda d: read_npy(states.path, infos[d], what), digests, states.threads)
    return np.column_stack(cols) if cols else np.zeros((0, 0))


def final_demand(states: States, names) -> pd.DataFrame:
    """The stored plans' final demands: products x plans."""
    with states.led.read() as con:
        rows = _rows(con, names)
        st = states.latest(con)
        Y = _columns(states, con, [r[1] for r in rows], "plan final demand")
    return pd.DataFrame(Y, index=_index(st), columns=pd.Index([r[0] for r in rows], name="plan"))


def outputs(states: States, names) -> pd.DataFrame:
    """The stored plans' last gross outputs (NaN columns for plans never solved)."""
    with states.led.read() as con:
        rows = _rows(con, names)
        st = states.latest(con)
        have = [r for r in rows if r[2] is not None]
        X = _columns(states, con, [r[2] for r in have], "plan output")
    out = pd.DataFrame(np.nan, index=_index(st), columns=pd.Index([r[0] for r in rows], name="plan"))
    for j, r in enumerate(have):
        out[r[0]] = X[:, j]
    return out


def replan(states: States, *, plans, version, save: bool, **options: Any) -> ReplanReport:
    """Re-solve the stored plans on a version, warm-started (see :meth:`Store.replan`)."""
    options["rtol"] = check_rtol(options.get("rtol", 1e-10))
    if version is not None:
        version = check_int(version, "version", lo=None)
    led = states.led
    with led.read() as con:
        v = led.check_version(con, version)
        rows = _rows(con, plans)
        if not rows:
            raise StoreError("no plans stored; add some with store.add_plans(...)")
        names = [r[0] for r in rows]
        Y = _columns(states, con, [r[1] for r in rows], "plan final demand")
        groups: dict = {}  # the version a plan's output solves (None: never solved) -> its columns
        for j, r in enumerate(rows):
            groups.setdefault(r[3] if r[2] is not None else None, []).append(j)
        X_old = np.zeros_like(Y)
        res_old = np.full(len(rows), np.nan)
        how: dict = {}
        for u, cols in groups.items():
            if u is None:
                how[u] = {"method": "cold"}
                continue
            X_old[:, cols] = _columns(states, con, [rows[j][2] for j in cols], "plan output")
            res_old[cols] = [rows[j][4] for j in cols]
            if u == v:
                how[u] = {"method": "verify", "residual": res_old[cols]}
            elif led.replace_between(con, u, v):  # no ledger to replay across a whole economy
                how[u] = {"method": "warm"}
            else:
                change = net(con, min(u, v), max(u, v)).get("A")
                if change is None:
                    delta = (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
                else:
                    r, c, a, b = change
                    delta = (r, c, (b - a) if u < v else (a - b))
                how[u] = {"method": options.get("method", "auto"), "delta": delta, "residual": res_old[cols]}
    eco = states.economy(v)
    kw = {k: val for k, val in options.items() if k != "method"}
    parts = []
    for u, cols in groups.items():
        previous = None if u is None else X_old[:, cols]
        rep = replan_block(eco, Y[:, cols], previous, plans=[names[j] for j in cols], version=v, **how[u], **kw)
        parts.append((cols, rep))
    report = parts[0][1] if len(parts) == 1 else ReplanReport.combine(parts, len(names))
    if save:
        _save_outputs(states, names, report.output, report.residual, v)
    return report


def _save_outputs(states: States, names: list, X: np.ndarray, residual: np.ndarray, version: int) -> None:
    res = np.atleast_1d(np.asarray(residual, np.float64))
    with states.led.write("save plan outputs") as con:
        infos = write_columns(states.path, X, states.threads)
        for name, info, r in zip(names, infos, res):
            states.led.register(con, info)
            con.execute("UPDATE plans SET output=?, output_version=?, residual=?, solved=? WHERE name=?",
                        (info.digest, int(version), float(r), now(), name))
        pause("plans_saved")


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
