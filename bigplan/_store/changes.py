"""Change sets: the public formats of :meth:`Store.commit` as validated, de-duplicated deltas.

Coefficient changes (``A`` and ``capital``) are read by
:func:`bigplan._sparse.parse_changes`, exactly as :meth:`Economy.with_changes
<bigplan.Economy.with_changes>` reads them: ``{(i, j): v}`` or ``(i, j, v)``
triples, labels (positions when unlabelled), finite and non-negative values, 0
removes an entry, the last value given for a position wins.  Products
everywhere go through :func:`bigplan._inputs.product_positions`, so a product
the economy lacks is an :class:`~bigplan.UnknownProductError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import is_int
from .._inputs import product_positions
from .._sparse import dedupe_last, parse_changes
from ..errors import (
    InvalidEconomyError,
    InvalidOptionError,
    LabelError,
    ShapeError,
    StoreError,
)
from .ledger import DEFAULT_UNIT, KINDS, Ledger
from .state import Delta, State, check_values

_NEEDS = {
    "capital": ("capital", "capital coefficients", "Economy(..., capital=B)"),
    "labour": ("labour", "labour coefficients", "Economy(A, labour)"),
    "depreciation": ("depreciation", "depreciation rates", "Economy(..., depreciation=...)"),
    "labour_supply": ("labour_supply", "labour supply", "Economy(..., labour_supply=...)"),
}


def parse(con, st: State, changes: Any) -> list[Delta]:
    """Deltas of a public change set: ``{kind: changes}`` or coefficient changes of ``A``."""
    if isinstance(changes, Mapping) and changes and all(isinstance(k, str) for k in changes):
        unknown = [k for k in changes if k not in KINDS]
        if unknown:
            raise StoreError(f"unknown change kinds {unknown}; kinds are {list(KINDS)}")
        parts = dict(changes)
    else:
        parts = {"A": changes}
    deltas = []
    for kind, ch in parts.items():
        d = parse_kind(con, st, kind, ch)
        if d is not None:
            deltas.append(d)
    return deltas


def parse_kind(con, st: State, kind: str, ch: Any) -> Delta | None:
    """The delta of one kind of change (None when it changes nothing)."""
    if ch is None:
        return None
    if kind in _NEEDS and getattr(st, _NEEDS[kind][0]) is None:
        _, what, how = _NEEDS[kind]
        raise InvalidEconomyError(f"this economy has no {what}; commit a whole {how} first")
    if kind in ("A", "capital"):
        if not isinstance(ch, (Mapping, list, tuple, np.ndarray, pd.Series, pd.DataFrame)):
            raise InvalidOptionError(
                f"{kind} changes are {{(product_in, product_out): value}} or (product_in, product_out, value) "
                f"triples, got a {type(ch).__name__}"
            )
        rows, cols, v = parse_changes(st, ch, what=f"{kind} changes")
        if rows.size == 0:
            return None
        return Delta(kind, *dedupe_last(rows, cols, v))
    if kind in ("labour", "depreciation") and not isinstance(ch, (Mapping, pd.Series)):
        raise InvalidOptionError(f"{kind} changes are a mapping {{product: value}} (or a Series), "
                                 f"got a {type(ch).__name__}")
    if kind == "labour":
        items = list(ch.items())
        m = st.labour.shape[0]
        kinds_l, prods = [], []
        for k, _ in items:
            if isinstance(k, tuple) and len(k) == 2 and (st.labels is None or k not in st.labels):
                kinds_l.append(k[0])
                prods.append(k[1])
            elif m == 1:
                kinds_l.append(0)
                prods.append(k)
            else:
                raise LabelError(f"this economy has {m} kinds of labour: key labour changes by (kind, product)")
        rows, cols = labour_rows(st, kinds_l), product_positions(st, prods)
        vals = [v for _, v in items]
    elif kind == "depreciation":
        items = list(ch.items())
        rows = product_positions(st, [k for k, _ in items])
        cols = np.full(rows.size, -1, np.int64)
        vals = [v for _, v in items]
    elif kind == "labour_supply":
        items = list(ch.items()) if isinstance(ch, Mapping) else list(enumerate(np.atleast_1d(ch)))
        rows = labour_rows(st, [k for k, _ in items])
        cols = np.full(rows.size, -1, np.int64)
        vals = [v for _, v in items]
    elif kind in ("stocks", "capacity"):
        units, prods, vals = unit_items(ch, DEFAULT_UNIT)
        if not prods:
            return None
        rows = product_positions(st, prods)
        cols = Ledger.unit_ids(con, units, create=True)
    else:  # pragma: no cover - kinds are checked by parse
        raise StoreError(f"unknown change kind {kind!r}")
    try:
        v = np.asarray(vals, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidEconomyError(f"{kind} changes must be numbers") from None
    rows = np.asarray(rows, np.int64).reshape(-1)
    cols = np.asarray(cols, np.int64).reshape(-1)
    if not (rows.size == cols.size == v.size):
        raise ShapeError(f"{kind} changes: {rows.size} positions for {v.size} values")
    check_values(kind, v, rows, st)
    return Delta(kind, *dedupe_last(rows, cols, v))


def labour_rows(st: State, kinds: Sequence) -> np.ndarray:
    """Rows of labour kinds given by name (or by position)."""
    names = list(st.labour_names or ())
    out = []
    for k in kinds:
        if is_int(k) and 0 <= int(k) < len(names):
            out.append(int(k))
        elif k in names:
            out.append(names.index(k))
        else:
            raise LabelError(f"unknown labour kind {k!r}; this economy's are {names}")
    return np.asarray(out, np.int64)


def unit_items(data: Any, unit: str) -> tuple[list, list, Any]:
    """Stock-taking input (mapping, Series, or (units, products, values)) as unit, product and value lists."""
    if isinstance(data, tuple) and len(data) == 3:
        units, prods, vals = data
        return list(units), list(prods), vals
    if isinstance(data, pd.Series):
        if not data.index.is_unique:
            dup = sorted({str(p) for p in data.index[data.index.duplicated()]})
            raise LabelError(f"products {dup} appear more than once in the Series; give each product once "
                             "(sum or pick the counts first)")
        return [unit] * len(data), data.index.tolist(), data.to_numpy(dtype=np.float64)
    if isinstance(data, Mapping):
        units, prods, vals = [], [], []
        for k, v in data.items():
            if isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], str):
                units.append(k[0])
                prods.append(k[1])
            else:
                units.append(unit)
                prods.append(k)
            vals.append(v)
        return units, prods, vals
    raise ShapeError("stocks and capacities are given as {product: value}, {(unit, product): value} or a Series")
