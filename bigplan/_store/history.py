"""History: committing versions, and reading them back (versions, changes, diff, roll-back).

The ledger is append-only.  Version 1 holds a whole economy; every later
version records what changed (kind, row, column, old value, new value), who
reported it, when and why.  A roll-back is a new version that restores an old
state; nothing is ever deleted from the history.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._options import check_int
from .._sparse import csr_get
from ..economy import Economy
from ..errors import EmptyChangeError, StoreError
from .changes import parse
from .ledger import KINDS, Ledger, cert_from, cert_json
from .objects import now, pause
from .snapshots import States, first_old, last_new
from .state import (
    Delta,
    State,
    apply,
    certify,
    check_stock_results,
    state_of_economy,
    with_old,
)

#: What a computed commit returns: the deltas to apply to the head's state, or a whole economy.
Planned = list | Economy
#: A commit computed from the head's state inside the write transaction.
DeltaFn = Callable[[Any, State], Planned]


def commit(states: States, changes: Any, *, author: str, reason: str, when: str | None, label: str,
           target: int | None = None, info: dict | None = None, compute: DeltaFn | None = None) -> int:
    """Commit a new version atomically; the version number.

    ``changes`` is an :class:`~bigplan.Economy` or a public change set.  With
    ``compute``, the commit is ``compute(con, head_state)`` instead (deltas or a
    whole economy), run inside the write transaction so that what it reads
    cannot change before the commit.
    """
    for nm, val in (("author", author), ("reason", reason)):
        if not isinstance(val, str) or not val.strip():
            raise StoreError(f"{nm} must be a non-empty string (the ledger records who changed what, and why)")
    if compute is None and not isinstance(changes, Economy) and _empty(changes):
        raise EmptyChangeError(
            f"{label}: {changes!r} changes nothing; nothing was written. Pass at least one change, e.g. "
            "store.commit({(product_in, product_out): value}, ...)"
        )
    when = when or now()
    led = states.led
    with led.write("commit") as con:
        head = led.head(con)
        if (compute is not None or not isinstance(changes, Economy)) and head == 0:
            raise StoreError(
                f"the store {states.path} is empty; commit a whole Economy first (store.commit(economy, ...))"
            )
        planned: Planned = changes
        st = None
        if compute is not None or not isinstance(changes, Economy):
            st = states.state(con, head)
            planned = compute(con, st) if compute is not None else parse(con, st, changes)
            if not isinstance(planned, Economy) and not planned and compute is None:
                raise EmptyChangeError(f"{label}: the change set {changes!r} changes nothing; nothing was written")
        if isinstance(planned, Economy):
            v, new_state = _commit_economy(states, con, head, planned, author, reason, when, label, target, info)
        else:
            v, new_state = _commit_deltas(states, con, st, planned, author, reason, when, label, target, info)
        pause("before_commit")
    states.remember(new_state)  # only now, committed, may the new state serve later reads
    return v


def _commit_deltas(states: States, con, st: State, deltas: list, author, reason, when, label, target, info):
    deltas = [with_old(st, d) for d in deltas]
    v = st.version + 1
    probe = apply(st, deltas, v, st.productivity)
    check_stock_results(probe, deltas)
    cert = certify(st, deltas, probe)
    new_state = replace(probe, productivity=cert)
    total = sum(int(d.rows.size) for d in deltas)
    con.execute(
        "INSERT INTO versions(version, kind, author, reason, created, n_changes, target, certificate, info) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (v, label, author, reason, when, total, target, cert_json(cert), json.dumps(info or {})),
    )
    seq = 0
    for d in deltas:
        k = d.rows.size
        old = [None if np.isnan(x) else float(x) for x in d.old.tolist()]
        new = [None if np.isnan(x) else float(x) for x in d.new.tolist()]
        con.executemany(
            "INSERT INTO changes(version, seq, kind, row, col, old, new) VALUES (?, ?, ?, ?, ?, ?, ?)",
            zip([v] * k, range(seq, seq + k), [d.kind] * k, d.rows.tolist(), d.cols.tolist(), old, new),
        )
        seq += k
    pause("after_changes")
    if states.snapshot_due(con, v):
        new_state = states.write_snapshot(con, new_state)
    return v, new_state


def _commit_economy(states: States, con, head: int, eco: Economy, author, reason, when, label, target, info):
    if eco.productivity.method == "unchecked":
        eco = eco.with_changes(None, check=True)
    if head > 0:
        cur = states.state(con, head)
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
    st = state_of_economy(eco, v)
    kind = "init" if head == 0 else ("rollback" if label == "rollback" else "replace")
    if kind == "replace":
        gone = dropped(cur, st)
        if gone:
            info = {**(info or {}), "dropped": gone}
            warnings.warn(
                f"the replacement economy (version {v}) drops the store's {', '.join(gone)}; store.diff lists "
                "them. To keep them, build the new Economy with them (from store.economy() and "
                "store.inventory()) or record them again after this commit",
                UserWarning, stacklevel=4,
            )
    con.execute(
        "INSERT INTO versions(version, kind, author, reason, created, n_changes, target, certificate, info, full) "
        "VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, 1)",
        (v, kind, author, reason, when, target, cert_json(st.productivity), json.dumps(info or {})),
    )
    return v, states.write_snapshot(con, st)


def dropped(cur: State, new: State) -> list[str]:
    """What a replacement loses: kinds the current state has and the new one lacks, and per-unit records."""
    gone = [k for k in ("capital", "labour", "depreciation", "labour_supply")
            if getattr(cur, k) is not None and getattr(new, k) is None]
    for k in ("stocks", "capacity"):
        old, nw = getattr(cur, k), getattr(new, k)
        if old.keys.size and not nw.keys.size:
            gone.append(f"{k} records")
        elif np.any(old.keys >= cur.n):
            gone.append(f"per-unit {k} records (kept as one total per product)")
    return gone


def rollback(states: States, version: int, *, author: str, reason: str | None) -> int:
    """Restore the state of ``version`` as a new version: the net change back, or the whole economy."""
    version = check_int(version, "version", lo=None)
    reason = reason or f"roll back to version {version}"
    with states.led.read() as con:
        target = states.led.check_version(con, version)
        _check_not_head(target, states.led.head(con))

    def restore(con, st: State) -> Planned:
        _check_not_head(target, st.version)  # again under the write lock: another writer may have committed
        if Ledger.replace_between(con, target, st.version):  # the ledger cannot be replayed across a whole economy
            return states.state(con, target).economy()
        deltas = [Delta(k, r, c, x) for k, (r, c, x, _) in net(con, target, st.version).items()]
        if not any(len(d.rows) for d in deltas):
            raise EmptyChangeError(f"rolling back to version {target} changes nothing: its state equals the head's "
                                   f"(version {st.version}); nothing was written")
        return deltas

    return commit(states, None, author=author, reason=reason, when=None, label="rollback", target=target,
                  compute=restore)


def _check_not_head(target: int, head: int) -> None:
    """A roll-back to the head itself would record an empty version: refused."""
    if target == head:
        raise EmptyChangeError(f"version {target} is the head already: rolling back to it changes nothing; "
                               "nothing was written (give an older version, e.g. rollback(-2) for the one before)")


def _empty(changes: Any) -> bool:
    """Whether a public change set is empty (None, ``{}``, ``[]``, an empty Series)."""
    if changes is None:
        return True
    try:
        return len(changes) == 0
    except TypeError:
        return False


# ---------------------------------------------------------------------------
# reading the history
# ---------------------------------------------------------------------------
def versions(led: Ledger) -> pd.DataFrame:
    """The versions table (see :meth:`Store.versions`)."""
    with led.read() as con:
        rows = con.execute(
            "SELECT v.version, v.kind, v.author, v.reason, v.created, v.n_changes, v.target, v.certificate, "
            "s.version IS NOT NULL FROM versions v LEFT JOIN snapshots s ON s.version = v.version "
            "ORDER BY v.version"
        ).fetchall()
    df = pd.DataFrame(
        [(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[8]), r[6], cert_from(r[7]).upper) for r in rows],
        columns=["version", "kind", "author", "reason", "created", "changes", "snapshot", "target",
                 "spectral_radius_upper"],
    )
    df["target"] = df["target"].astype("Int64")
    return df.set_index("version")


def _label_cols(con, st: State, kinds, rows, cols) -> tuple[list, list]:
    """Row and column labels of ledger rows (products, labour kinds, units)."""
    units = Ledger.unit_names(con)
    names = list(st.labour_names or ())
    lab = (lambda i: i) if st.labels is None else (lambda i: st.labels[i])
    rl, cl = [], []
    for k, r, c in zip(kinds, rows, cols):
        if k in ("A", "capital"):
            rl.append(lab(r))
            cl.append(lab(c))
        elif k in ("labour", "labour_supply"):
            rl.append(names[r] if r < len(names) else r)
            cl.append(lab(c) if k == "labour" else None)
        elif k == "depreciation":
            rl.append(lab(r))
            cl.append(None)
        else:
            rl.append(lab(r))
            cl.append(units.get(int(c), c))
    return rl, cl


def changes(states: States, version: int) -> pd.DataFrame:
    """The ledger rows of one version (see :meth:`Store.changes`)."""
    with states.led.read() as con:
        v = states.led.check_version(con, version)
        st = states.any_state(con, v)
        meta = con.execute("SELECT author, reason, created FROM versions WHERE version=?", (v,)).fetchone()
        rows = con.execute("SELECT kind, row, col, old, new FROM changes WHERE version=? ORDER BY seq", (v,)).fetchall()
        kinds = [r[0] for r in rows]
        rl, cl = _label_cols(con, st, kinds, [r[1] for r in rows], [r[2] for r in rows])
    df = pd.DataFrame({
        "kind": kinds,
        "row": rl,
        "col": cl,
        "old": [np.nan if r[3] is None else r[3] for r in rows],
        "new": [np.nan if r[4] is None else r[4] for r in rows],
    })
    df["author"], df["reason"], df["created"] = meta
    return df


def net(con, a: int, b: int) -> dict[str, tuple]:
    """Net change of every position between versions ``a < b``: rows, cols, value at a, value at b."""
    out = {}
    for kind, (_, r, c, old, new) in Ledger.rows(con, a, b).items():
        r0, c0, va = first_old(r, c, old)
        _, _, vb = last_new(r, c, new)
        same = (va == vb) | (np.isnan(va) & np.isnan(vb))
        out[kind] = (r0[~same], c0[~same], va[~same], vb[~same])
    return out


def _padded(x: np.ndarray | None, shape: tuple) -> np.ndarray:
    """``x`` as float64 of ``shape``, NaN where it has no entry (or is None)."""
    out = np.full(shape, np.nan)
    if x is not None:
        x = np.asarray(x, np.float64)
        out[tuple(slice(0, s) for s in x.shape)] = x
    return out


def _net_from_states(sa: State, sb: State) -> dict[str, tuple]:
    """Differences between two whole states (used across a replacement)."""
    out = {}
    n = sa.n
    for kind in ("A", "capital"):
        ma, mb = (sa.A_csr(), sb.A_csr()) if kind == "A" else (sa.capital, sb.capital)
        if ma is None and mb is None:
            continue
        Ma = ma if ma is not None else sp.csr_matrix((n, n))
        Mb = mb if mb is not None else sp.csr_matrix((n, n))
        D = (Mb - Ma).tocoo()
        D.sum_duplicates()
        nz = D.data != 0
        r, c = D.row[nz].astype(np.int64), D.col[nz].astype(np.int64)
        out[kind] = (r, c, csr_get(Ma, r, c), csr_get(Mb, r, c))
    la, lb = sa.labour, sb.labour
    if la is not None or lb is not None:  # a side without labour reads as NaN (no record)
        shape = (la if la is not None else lb).shape
        if la is not None and lb is not None and la.shape != lb.shape:
            shape = (max(la.shape[0], lb.shape[0]), n)
        xa, xb = _padded(la, shape), _padded(lb, shape)
        r, c = np.nonzero(~((xa == xb) | (np.isnan(xa) & np.isnan(xb))))
        out["labour"] = (r.astype(np.int64), c.astype(np.int64), xa[r, c], xb[r, c])
    for kind in ("depreciation", "labour_supply"):
        x, y = getattr(sa, kind), getattr(sb, kind)
        if x is None and y is None:
            continue
        m = max(0 if x is None else x.size, 0 if y is None else y.size)
        xa, xb = _padded(x, (m,)), _padded(y, (m,))
        (r,) = np.nonzero(~((xa == xb) | (np.isnan(xa) & np.isnan(xb))))
        out[kind] = (r.astype(np.int64), np.full(r.size, -1, np.int64), xa[r], xb[r])
    for kind in ("stocks", "capacity"):
        ka, kb = getattr(sa, kind), getattr(sb, kind)
        keys = np.union1d(ka.keys, kb.keys)
        x, y = ka.get(keys), kb.get(keys)
        diff = ~((x == y) | (np.isnan(x) & np.isnan(y)))
        keys = keys[diff]
        out[kind] = (keys % n, keys // n, x[diff], y[diff])
    return out


def diff(states: States, a: int, b: int) -> pd.DataFrame:
    """What differs between versions ``a`` and ``b`` (see :meth:`Store.diff`)."""
    led = states.led
    with led.read() as con:
        va, vb = led.check_version(con, a), led.check_version(con, b)
        lo, hi = min(va, vb), max(va, vb)
        if led.replace_between(con, lo, hi):
            changed = _net_from_states(states.state(con, lo), states.state(con, hi))
        else:
            changed = net(con, lo, hi)
        st = states.any_state(con, hi)
        kinds, parts = [], []
        for kind in KINDS:
            if kind in changed:
                kinds += [kind] * changed[kind][0].size
                parts.append(changed[kind])
        cat = (lambda i, dt: np.concatenate([p[i] for p in parts]) if parts else np.zeros(0, dt))
        R, C = cat(0, np.int64), cat(1, np.int64)
        X, Y = cat(2, np.float64), cat(3, np.float64)
        if va > vb:
            X, Y = Y, X
        rl, cl = _label_cols(con, st, kinds, R.tolist(), C.tolist())
    return pd.DataFrame({"kind": kinds, "row": rl, "col": cl, "old": X, "new": Y, "row_pos": R, "col_pos": C})
