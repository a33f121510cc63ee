"""One pass over the new outputs: the moves, each product's largest output, and capacity short.

The plans' outputs are the largest arrays a re-plan touches (``n x k``), so
everything the report needs from them is gathered in one blocked pass
(:func:`moved_pass`): the (product, plan) entries that moved, each plan's and
each product's largest output, and, against a capacity limit, the products
some plan asks more of than their capacity, with how many plans and which asks
most (:func:`capacity_table` lays those out).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import product_positions, product_vector
from ..backend import get_backend
from ..errors import InvalidOptionError

__all__ = ["CAPACITY_COLUMNS", "capacity_limit", "capacity_table", "moved_pass", "short_rows"]

#: Columns of the capacity table.
CAPACITY_COLUMNS = ["sector", "product", "capacity", "output", "shortfall", "plans", "worst_plan"]


def capacity_limit(economy: Any, capacity: Any, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    """``capacity`` aligned to the products (``inf``: none recorded) and the limit an output may reach.

    An array gives every product (``inf`` for no limit); a Series or mapping the
    products it names.  NaN or negative capacity is an
    :class:`~bigplan.InvalidOptionError`.  The limit allows ``rtol`` of the capacity
    (the solve's own precision).
    """
    if isinstance(capacity, (pd.Series, Mapping)):
        keys = list(capacity.index if isinstance(capacity, pd.Series) else capacity.keys())
        vals = _numbers(list(capacity.to_numpy() if isinstance(capacity, pd.Series) else capacity.values()))
        if np.isnan(vals).any() or (vals < 0).any():
            raise InvalidOptionError("capacity must be >= 0 (no NaN) for every product it names; "
                                     "leave out products with no recorded capacity")
        cap = np.full(economy.n, np.inf)
        cap[product_positions(economy, keys)] = vals
    else:
        arr = _numbers(capacity)
        if arr.shape == (economy.n,) and np.isposinf(arr).any():
            finite = np.isfinite(arr)
            cap = np.full(economy.n, np.inf)
            cap[finite] = product_vector(economy, np.where(finite, arr, 0.0), "capacity", error=InvalidOptionError)[finite]
        else:
            cap = product_vector(economy, capacity, "capacity", error=InvalidOptionError)
    lim = np.where(np.isfinite(cap), cap + rtol * np.abs(cap), np.inf)
    return cap, lim


def _numbers(values: Any) -> np.ndarray:
    """``values`` as float64, or an :class:`~bigplan.InvalidOptionError` naming ``capacity``."""
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidOptionError(f"capacity must be numbers, one per product (or a Series/mapping by product); "
                                 f"{exc}") from None


def short_rows(X: np.ndarray, rows: np.ndarray, lim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For products ``rows``: the plan asking most of each, and how many plans exceed ``lim``."""
    worst, count = np.zeros(rows.size, np.int64), np.zeros(rows.size, np.int64)
    if X.shape[1] == 0:
        return worst, count
    step = max(256, (1 << 17) // X.shape[1])  # only the short rows are read, a cache-sized piece at a time
    for i0 in range(0, rows.size, step):
        rr = rows[i0:i0 + step]
        sub = X[rr]
        worst[i0:i0 + step] = np.argmax(sub, axis=1)
        count[i0:i0 + step] = (sub > lim[rr, None]).sum(axis=1)
    return worst, count


def capacity_table(rows: np.ndarray, worst: np.ndarray, count: np.ndarray, top: np.ndarray, capacity: np.ndarray,
                   labels: pd.Index | None, plans: pd.Index, codes: np.ndarray, sectors: pd.Index) -> pd.DataFrame:
    """Products short of capacity, one row each, sorted by shortfall (``top``: their largest output)."""
    short = top - capacity[rows]
    order = np.argsort(-short, kind="stable")
    r, worst, count, short, top = rows[order], worst[order], count[order], short[order], top[order]
    plans = pd.Index(plans)
    return pd.DataFrame({  # Index.take and no copy: a table of every product costs a few ms, not tens
        "sector": sectors.take(codes[r]) if len(sectors) else codes[r],
        "product": labels.take(r) if labels is not None else r,
        "capacity": capacity[r], "output": top, "shortfall": short, "plans": count,
        "worst_plan": plans.take(worst) if len(r) else np.zeros(0, object),
    }, copy=False)


def moved_pass(X: np.ndarray, X_old: np.ndarray, labels: pd.Index | None, plans: pd.Index, codes: np.ndarray,
               names: pd.Index, threshold: float, abs_threshold: float, noise: float,
               cap_lim: np.ndarray | None = None) -> tuple[pd.DataFrame, np.ndarray, tuple | None]:
    """Entries with ``|new - old| > max(threshold |old|, abs_threshold, noise max_i |new_ij|)``, in one pass.

    The pass runs over blocks of rows small enough (about 1 MB) that the
    temporaries stay in the cache, and gathers each plan's largest output and
    each product's largest output over the plans (the ``peak`` the capacity check
    reads) on the way; the solve's noise floor (``noise`` times the former) is
    applied to the few candidates afterwards.  A capacity limit
    ``cap_lim`` also finds, in the same blocks, the products some plan asks more of: returns
    ``(moved, peak, short)`` with ``short = (rows, worst plan, plans over)`` or
    None.  Every output is read once.
    """
    n, k = X.shape
    cat = (lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64))
    scan = get_backend("numpy").moved_scan(X, X_old, threshold, abs_threshold, cap_lim) if n and k else None
    if scan is not None:  # the compiled pass on the backend's threads; the few hit rows are re-read below
        peak, hits, over, worst, top = scan
        rows = np.flatnonzero(hits)
        d = np.abs(X[rows] - X_old[rows])
        bar = np.maximum(np.abs(X_old[rows]) * threshold, abs_threshold)
        rr, c = np.nonzero(d > bar)
        r = rows[rr]
        short = None
        if cap_lim is not None:
            (srows,) = np.nonzero(peak > cap_lim)
            short = (srows, worst[srows], over[srows].astype(np.int64))
        return _moves(X, X_old, r, c, top, labels, plans, codes, names, noise), peak, short
    step = max(256, (1 << 17) // max(k, 1))
    R, Cc = [], []
    top = np.zeros(k)
    peak = np.empty(n)
    S, SW, SC = [], [], []
    for i0 in range(0, n, step):
        old, new = X_old[i0:i0 + step], X[i0:i0 + step]
        if k:
            np.max(new, axis=1, out=peak[i0:i0 + step])
        else:
            peak[i0:i0 + step] = -np.inf
        if cap_lim is not None:
            lb = cap_lim[i0:i0 + step]
            (rs,) = np.nonzero(peak[i0:i0 + step] > lb)
            if rs.size:
                sub = new[rs]
                S.append(rs + i0)
                SW.append(np.argmax(sub, axis=1))
                SC.append((sub > lb[rs, None]).sum(axis=1))
        d = np.subtract(new, old)
        np.abs(d, out=d)
        bar = np.abs(old)
        bar *= threshold
        np.maximum(bar, abs_threshold, out=bar)
        hit = d > bar
        np.maximum(top, np.abs(new).max(axis=0, initial=0.0), out=top)
        if hit.any():
            r, c = np.nonzero(hit)
            R.append(r + i0)
            Cc.append(c)
    r, c = cat(R), cat(Cc)
    short = None if cap_lim is None else (cat(S), cat(SW), cat(SC))
    return _moves(X, X_old, r, c, top, labels, plans, codes, names, noise), peak, short


def _moves(X, X_old, r, c, top, labels, plans, codes, names, noise) -> pd.DataFrame:
    """The candidate entries ``(r, c)`` above the noise floor, as the ``moved`` table (sorted)."""
    old, new = X_old[r, c], X[r, c]
    keep = np.abs(new - old) > noise * top[c]
    r, c, old, new = r[keep], c[keep], old[keep], new[keep]
    change = new - old
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(old != 0, change / np.abs(old), np.sign(change) * np.inf)
    sec = codes[r]
    order = np.lexsort((c, -np.abs(rel), sec))
    r, c, old, new, change, rel, sec = (a[order] for a in (r, c, old, new, change, rel, sec))
    prod = labels[r] if labels is not None else r
    return pd.DataFrame({"sector": names[sec] if len(names) else sec, "product": prod, "plan": plans[c],
                         "old": old, "new": new, "change": change, "relative": rel})

