"""What a revision means for the stored plans: labour needed, labour values, capacity.

Three tables the store adds to a re-plan's report
(:class:`bigplan.inventory.ReplanReport`), each computed in one vectorised
pass over the plans' outputs:

``labour``    labour needed per plan and kind, before (the old coefficients
              times the old outputs) and after (new times new), with the unit
              of each kind when the economy states one (``labour_units``);
``values``    labour values ``v (I - A) = l`` that moved by more than the
              threshold between the version last valued and the new one;
``capacity``  products whose recorded capacity is below a plan's output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._replan.passes import CAPACITY_COLUMNS, capacity_table, short_rows

__all__ = ["capacity_short", "kinds_and_units", "labour_table", "values_bound", "values_moved"]


def kinds_and_units(labour_names, economy, m: int) -> tuple[list, list]:
    """Names and units of ``m`` labour kinds (``economy``: anything with ``labour_units``; ``""`` where none)."""
    names = list(labour_names) if labour_names is not None and len(labour_names) == m else (
        ["labour"] if m == 1 else [f"labour_{i}" for i in range(m)])
    units = getattr(economy, "labour_units", None)
    if isinstance(units, str):
        units = [units] * m
    units = [str(u) for u in units] if units is not None and len(units) == m else [""] * m
    return names, units


def labour_table(plans: pd.Index, kinds: list, units: list, before: np.ndarray, after: np.ndarray) -> pd.DataFrame:
    """Labour needed per plan and kind: ``before`` and ``after`` are ``(m, k)`` (NaN: never solved)."""
    m, k = after.shape
    before = np.asarray(before, np.float64)
    change = after - before
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(before != 0, change / np.abs(before), np.where(change == 0, 0.0, np.sign(change) * np.inf))
    return pd.DataFrame({
        "plan": np.tile(np.asarray(plans, dtype=object), m),
        "kind": np.repeat(np.asarray(kinds, dtype=object), k),
        "unit": np.repeat(np.asarray(units, dtype=object), k),
        "before": before.ravel(),
        "after": after.ravel(),
        "change": change.ravel(),
        "relative": rel.ravel(),
    })


def values_bound(values: np.ndarray, labour: np.ndarray, change: tuple) -> float:
    """A certified bound on every labour value's relative move after a change of ``A`` alone.

    With ``v (I - A) = l`` and ``v' (I - A') = l``, ``v' - v = v' D L`` exactly
    (``D = A' - A``, ``L = (I - A)^-1 >= 0``).  If ``v |D| <= c l`` entry by entry,
    then ``v |D| L <= c l L = c v``; and ``v' <= (1 + S) v`` with ``S`` the largest
    relative move gives ``|v' - v| <= (1 + S) c v``, so ``S <= c / (1 - c)``
    for ``c < 1``.  ``c`` costs one pass over the changed coefficients, no solve.
    Returns ``inf`` when it cannot bound (``c >= 1``, or a changed input used by a
    product without labour of some kind).

    ``values`` and ``labour`` are ``(m, n)`` (or ``(n,)``); ``change`` is the
    ledger's ``(rows, cols, old, new)``.
    """
    rows, cols, old, new = change
    d = np.abs(np.nan_to_num(np.asarray(new, np.float64)) - np.nan_to_num(np.asarray(old, np.float64)))
    V, L = np.atleast_2d(values), np.atleast_2d(labour)
    if V.shape != L.shape or (V < 0).any():
        return np.inf
    worst = 0.0
    for vk, lk in zip(V, L):
        w = np.bincount(cols, weights=vk[rows] * d, minlength=lk.size)  # (v |D|)_j
        hit = w > 0
        if not hit.any():
            continue
        if (lk[hit] <= 0).any():
            return np.inf
        c = float(np.max(w[hit] / lk[hit]))
        if c >= 1.0:
            return np.inf
        worst = max(worst, c / (1.0 - c))
    return worst


def values_moved(old: np.ndarray, new: np.ndarray, labels: pd.Index | None, codes: np.ndarray, sectors: pd.Index,
                 kinds: list, units: list, threshold: float, abs_threshold: float, rtol: float) -> pd.DataFrame:
    """Labour values (``(m, n)`` arrays) that moved by more than the threshold (and the solves' precision)."""
    old, new = np.atleast_2d(old), np.atleast_2d(new)
    noise = 10.0 * rtol * np.max(np.abs(new), axis=1, initial=0.0)
    d = np.abs(new - old)
    lim = np.maximum(np.maximum(threshold * np.abs(old), abs_threshold), noise[:, None])
    kk, r = np.nonzero(d > lim)
    o, nw = old[kk, r], new[kk, r]
    change = nw - o
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(o != 0, change / np.abs(o), np.sign(change) * np.inf)
    order = np.lexsort((-np.abs(rel), kk))
    kk, r, o, nw, change, rel = (a[order] for a in (kk, r, o, nw, change, rel))
    return pd.DataFrame({
        "kind": np.asarray(kinds, dtype=object)[kk] if len(kk) else np.zeros(0, object),
        "unit": np.asarray(units, dtype=object)[kk] if len(kk) else np.zeros(0, object),
        "sector": sectors[codes[r]] if len(sectors) else codes[r],
        "product": labels[r] if labels is not None else r,
        "old": o, "new": nw, "change": change, "relative": rel,
    })


def capacity_short(X: np.ndarray, capacity: np.ndarray | None, recorded: np.ndarray | None, labels: pd.Index | None,
                   plans: pd.Index, codes: np.ndarray, sectors: pd.Index, rtol: float,
                   top: np.ndarray | None = None) -> pd.DataFrame:
    """Products whose recorded capacity is below some plan's output (by more than ``rtol`` of it), one row each.

    Columns ``sector``, ``product``, ``capacity``, ``output`` (the largest output
    any plan asks), ``shortfall`` (output - capacity), ``plans`` (how many plans
    ask more than the capacity) and ``worst_plan``; sorted by shortfall.  ``top``
    (each product's largest output over the plans, when already at hand) spares
    the pass over ``X``: only the rows short of capacity are read.  (A re-plan
    that solves finds these in its own pass: ``replan(capacity=...)``.)
    """
    if capacity is None or recorded is None or not recorded.any() or X.shape[1] == 0:
        return pd.DataFrame({c: [] for c in CAPACITY_COLUMNS})
    lim = np.where(recorded, capacity + rtol * np.abs(capacity), np.inf)
    if top is None or np.shape(top) != (X.shape[0],):
        step = max(256, (1 << 17) // X.shape[1])  # blocks of rows that stay in the cache: one pass over X
        top = np.concatenate([X[i0:i0 + step].max(axis=1) for i0 in range(0, X.shape[0], step)])
    (r,) = np.nonzero(top > lim)
    worst, count = short_rows(X, r, lim)
    return capacity_table(r, worst, count, top[r], capacity, labels, plans, codes, sectors)
