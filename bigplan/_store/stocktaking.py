"""Stock-taking: counted stocks and capacities by reporting unit, flows over a period, depreciation.

Stocks and capacities are kept per reporting unit (a local council, a depot)
and product; the economy of a version holds their sum over the units.  Every
operation here is one commit (label ``"stocktaking"``); products go through
:func:`bigplan._inputs.product_positions`, so a product the economy lacks is
an :class:`~bigplan.UnknownProductError` and nothing is written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import product_labels, product_positions, product_vector
from .._options import check_real
from .._sparse import dedupe_last
from ..errors import (
    InvalidEconomyError,
    InvalidOptionError,
    LabelError,
    NegativeStockError,
    ShapeError,
    StoreError,
)
from .changes import unit_items
from .history import commit
from .ledger import Ledger
from .snapshots import States
from .state import Delta, State


def record(states: States, data: Any, kind: str, unit: str, author: str, reason: str, when: str | None) -> int:
    """Record counted stocks (``kind="stocks"``) or capacities; a DataFrame may carry both, by unit."""
    if isinstance(data, pd.DataFrame):
        cols = set(data.columns)
        if "product" not in cols:
            raise ShapeError("a stock-taking DataFrame needs columns 'product' and 'stock' and/or 'capacity' "
                             "(and 'unit')")
        units = data["unit"].tolist() if "unit" in cols else [unit] * len(data)
        seen: set = set()
        dup: set = set()
        try:
            for pair in zip(units, data["product"].tolist()):
                (dup if pair in seen else seen).add(pair)
        except TypeError:  # an unhashable label: refused where the products are resolved
            dup = set()
        if dup:
            raise LabelError(f"(unit, product) pairs {sorted(f'{u}/{p}' for u, p in dup)} appear more than once in the stock-taking DataFrame; "
                             "give each pair once")
        ch = {}
        for k, col in (("stocks", "stock"), ("capacity", "capacity")):
            if col in cols:
                ch[k] = (units, data["product"].tolist(), data[col].to_numpy(dtype=np.float64))
        if not ch:
            raise ShapeError("a stock-taking DataFrame needs a 'stock' or 'capacity' column")
    else:
        ch = {kind: unit_items(data, unit)}
    op = "count" if kind == "stocks" else "capacity"
    return commit(states, ch, author=author, reason=reason, when=when, label="stocktaking", info={"operation": op})


def record_flows(states: States, production: Any, use: Any, *, unit: str, period: str | None, author: str,
                 reason: str, when: str | None) -> int:
    """``stock += production - use`` for one unit's products (see :meth:`Store.record_flows`)."""
    net: dict = {}
    for data, sign in ((production, 1.0), (use, -1.0)):
        if data is None:
            continue
        units, prods, vals = unit_items(data, unit)
        for u, p, v in zip(units, prods, np.asarray(vals, np.float64).tolist()):
            if v < 0:
                raise NegativeStockError(
                    f"{'production' if sign > 0 else 'use'} of {p!r} is negative ({v:g}); report production "
                    "and use as non-negative quantities. Nothing was written",
                    products=[p],
                )
            net[(u, p)] = net.get((u, p), 0.0) + sign * v
    if not net:
        raise StoreError("record_flows needs production and/or use")
    keys = list(net)
    flows = np.asarray([net[k] for k in keys], np.float64)
    if not np.isfinite(flows).all():
        raise InvalidEconomyError("production and use must be finite numbers (no NaN or infinity)")

    def compute(con, st: State) -> list[Delta]:
        rows = product_positions(st, [k[1] for k in keys])
        uids = Ledger.unit_ids(con, [k[0] for k in keys], create=True)
        cur = st.stocks.get(uids * st.n + rows)
        new = np.where(np.isnan(cur), 0.0, cur) + flows
        return [Delta("stocks", *dedupe_last(rows, uids, new))]

    return commit(states, None, author=author, reason=reason, when=when, label="stocktaking",
                  info={"operation": "flows", "period": period, "unit": unit}, compute=compute)


def depreciate(states: States, years: float, rates: Any, *, author: str, reason: str | None,
               when: str | None) -> int:
    """``capacity *= (1 - rate) ** years`` in every unit (see :meth:`Store.depreciate`)."""
    years = check_real(years, "years", allow_inf=True)
    if not (math.isfinite(years) and years >= 0):
        raise InvalidEconomyError(f"years must be a finite number >= 0, got {years}")

    def compute(con, st: State) -> list[Delta]:
        if rates is None:
            if st.depreciation is None:
                raise InvalidEconomyError("this economy has no depreciation rates; pass rates=...")
            r = np.asarray(st.depreciation, np.float64)
        else:
            # a mapping or Series names the products that depreciate; the others keep their capacity
            missing = "zero" if isinstance(rates, (Mapping, pd.Series)) else "error"
            r = product_vector(st, rates, "depreciation rates", scalar=True, missing=missing, lo=0.0, hi=1.0,
                               error=InvalidEconomyError)
        kv = st.capacity
        if kv.keys.size == 0:
            raise InvalidEconomyError("no capacities recorded: record_capacity(...) first")
        prod = kv.keys % st.n
        return [Delta("capacity", prod, kv.keys // st.n, kv.values * (1.0 - r[prod]) ** years)]

    return commit(states, None, author=author, reason=reason or f"depreciation over {years:g} years", when=when,
                  label="stocktaking", info={"operation": "depreciation", "years": years}, compute=compute)


def inventory(states: States, version: int | None, by: str) -> pd.DataFrame:
    """Stocks and capacities at a version, by unit or by product (see :meth:`Store.inventory`)."""
    if by not in ("unit", "product"):
        raise InvalidOptionError(f"by must be 'unit' or 'product', got {by!r}")
    with states.led.read() as con:
        v = states.led.check_version(con, version)
        st = states.state(con, v)
        units = Ledger.unit_names(con)
    if by == "product":
        s, c = st.rollup("stocks"), st.rollup("capacity")
        idx = st.labels if st.labels is not None else pd.RangeIndex(st.n)
        nan = np.full(st.n, np.nan)
        return pd.DataFrame({"stock": nan if s is None else s, "capacity": nan if c is None else c},
                            index=idx.rename("product"))
    keys = np.union1d(st.stocks.keys, st.capacity.keys)
    idx = pd.MultiIndex.from_arrays(
        [[units.get(int(u), str(u)) for u in (keys // st.n).tolist()], product_labels(st, keys % st.n)],
        names=["unit", "product"],
    )
    return pd.DataFrame({"stock": st.stocks.get(keys), "capacity": st.capacity.get(keys)}, index=idx)


def units(led) -> list[str]:
    """Names of the reporting units known to the store."""
    with led.read() as con:
        return [r[0] for r in con.execute("SELECT name FROM units ORDER BY id")]
