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

__all__ = ["capacity_short", "kinds_and_units", "labour_table", "values_moved"]


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
                   plans: pd.Index, codes: np.ndarray, sectors: pd.Index, rtol: float) -> pd.DataFrame:
    """Products whose recorded capacity is below some plan's output (by more than ``rtol`` of it), one row each.

    Columns ``sector``, ``product``, ``capacity``, ``output`` (the largest output
    any plan asks), ``shortfall`` (output - capacity), ``plans`` (how many plans
    ask more than the capacity) and ``worst_plan``; sorted by shortfall.
    """
    cols = ["sector", "product", "capacity", "output", "shortfall", "plans", "worst_plan"]
    if capacity is None or recorded is None or not recorded.any() or X.shape[1] == 0:
        return pd.DataFrame({c: [] for c in cols})
    lim = np.where(recorded, capacity + rtol * np.abs(capacity), np.inf)
    R, W, C, T = [], [], [], []
    step = max(256, (1 << 17) // X.shape[1])  # blocks of rows that stay in the cache: one pass over X
    for i0 in range(0, X.shape[0], step):
        blk = X[i0:i0 + step]
        lb = lim[i0:i0 + step]
        top = blk.max(axis=1)
        (r,) = np.nonzero(top > lb)
        if r.size:
            sub = blk[r]
            R.append(r + i0)
            T.append(top[r])
            W.append(np.argmax(sub, axis=1))
            C.append((sub > lb[r, None]).sum(axis=1))
    cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt))
    r, worst, count, top = cat(R, np.int64), cat(W, np.int64), cat(C, np.int64), cat(T, np.float64)
    short = top - capacity[r]
    order = np.argsort(-short, kind="stable")
    r, worst, count, short, top = r[order], worst[order], count[order], short[order], top[order]
    return pd.DataFrame({
        "sector": sectors[codes[r]] if len(sectors) else codes[r],
        "product": labels[r] if labels is not None else r,
        "capacity": capacity[r], "output": top, "shortfall": short, "plans": count,
        "worst_plan": np.asarray(plans, dtype=object)[worst] if len(r) else np.zeros(0, object),
    })
