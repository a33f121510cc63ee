"""The in-memory state of one version, and applying a version's changes to it.

A state holds what an :class:`~bigplan.Economy` holds, in the form the store
edits cheaply: ``A`` and ``B`` as read-only CSR matrices edited through
:mod:`bigplan._sparse`, stocks and capacities as sparse vectors keyed by
``unit * n + product`` (one record per reporting unit), and the column sums of
``A`` kept up to date so most commits are certified productive without a power
iteration.  Coefficient changes are first kept aside as a keyed vector
(``A_over``), so a commit costs O(changes), not O(nnz); they are merged into
``A`` once per state when it is read, and for good beyond ``_FOLD_ROWS``.
The state has ``n`` and ``labels``, so :mod:`bigplan._inputs` takes it for an
economy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._inputs import product_labels
from .._sparse import csr_get, csr_set, keyed_get, keyed_set
from ..economy import Economy, Productivity
from ..errors import InvalidEconomyError, NegativeStockError, StoreError
from .objects import labels_array

_MARGIN = 1e-9  # column sums this close to 1 are re-certified from scratch
_FOLD_ROWS = 2_000_000  # pending coefficient changes merged into the CSR arrays beyond this many


def frozen_csr(m: Any) -> sp.csr_matrix:
    """``m`` as a canonical CSR matrix with read-only arrays (no copy when it already is one)."""
    m = m if isinstance(m, sp.csr_matrix) else sp.csr_matrix(m)
    if not m.has_canonical_format:
        m = m.copy()
        m.sum_duplicates()
    for a in (m.indptr, m.indices, m.data):
        a.flags.writeable = False
    return m


def csr_from_arrays(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n: int) -> sp.csr_matrix:
    """An ``n x n`` CSR matrix over stored (canonical) arrays."""
    m = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    m.has_canonical_format = True
    return frozen_csr(m)


@dataclass(frozen=True)
class Keyed:
    """A sparse vector over sorted ``int64`` keys (``unit * n + product``), for stocks and capacities."""

    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls) -> Keyed:
        return cls(np.zeros(0, np.int64), np.zeros(0, np.float64))

    def get(self, keys: np.ndarray) -> np.ndarray:
        """Values at ``keys``; NaN where absent."""
        return keyed_get(self.keys, self.values, keys)

    def set(self, keys: np.ndarray, values: np.ndarray) -> Keyed:
        """Values set at unique ``keys`` (NaN deletes)."""
        return Keyed(*keyed_set(self.keys, self.values, keys, values))


@dataclass(frozen=True)
class State:
    """Everything one version holds."""

    version: int
    n: int
    dtype: np.dtype
    labels: pd.Index | None
    labour_names: tuple | None
    A: sp.csr_matrix
    colsum: np.ndarray
    capital: sp.csr_matrix | None
    labour: np.ndarray | None
    depreciation: np.ndarray | None
    labour_supply: np.ndarray | None
    stocks: Keyed
    capacity: Keyed
    has_stocks: bool  # the economy itself had a stocks vector
    has_capacity: bool
    productivity: Productivity
    # name -> (digest, array): arrays already stored as objects (a snapshot reuses them)
    digests: dict = field(default_factory=dict, compare=False)
    # coefficient changes not yet merged into ``A`` (keys row * n + col; 0 removes an entry)
    A_over: Keyed = field(default_factory=Keyed.empty, compare=False)
    memo: dict = field(default_factory=dict, compare=False)
    labour_units: tuple | None = None  # one unit per labour kind (hours, persons, money), when stated

    def A_csr(self) -> sp.csr_matrix:
        """``A`` with the pending changes merged (computed once per state)."""
        if self.A_over.keys.size == 0:
            return self.A
        m = self.memo.get("A")
        if m is None:
            keys = self.A_over.keys
            m = csr_set(self.A, keys // self.n, keys % self.n, self.A_over.values)
            self.memo["A"] = m
        return m

    def A_get(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Current coefficients at ``(rows, cols)``."""
        out = csr_get(self.A, rows, cols)
        if self.A_over.keys.size:
            over = self.A_over.get(rows * self.n + cols)
            has = ~np.isnan(over)
            out[has] = over[has]
        return out

    def rollup(self, kind: str) -> np.ndarray | None:
        """Stocks or capacities summed over the reporting units (None when the economy has none)."""
        kv: Keyed = getattr(self, kind)
        base = self.has_stocks if kind == "stocks" else self.has_capacity
        if not base and kv.keys.size == 0:
            return None
        return np.bincount(kv.keys % self.n, weights=kv.values, minlength=self.n).astype(np.float64)

    def economy(self) -> Economy:
        """The :class:`~bigplan.Economy` of this version, with the certificate recorded at commit time."""
        kwargs = dict(
            labels=self.labels,
            labour_names=self.labour_names,
            capital=self.capital,
            depreciation=self.depreciation,
            capacity=self.rollup("capacity"),
            stocks=self.rollup("stocks"),
            labour_supply=self.labour_supply,
            dtype=self.dtype,
        )
        units = self.labour_units
        if units is not None and self.labour is not None and len(units) == np.atleast_2d(self.labour).shape[0]:
            kwargs["labour_units"] = units  # (dropped when labour kinds were added since: the unit is unknown)
        cert = self.productivity
        if not (cert.upper < 1.0):  # pragma: no cover - every stored version is certified
            return Economy(self.A_csr(), self.labour, check=True, **kwargs)
        # The arrays were checked against their SHA-256 on the way in: attach the ledger's
        # certificate instead of recomputing it.
        return Economy(self.A_csr(), self.labour, certificate=cert, **kwargs)


def state_of_economy(eco: Economy, version: int) -> State:
    """The state of a whole economy committed as ``version``."""
    n = eco.n
    labels_array(eco.labels)  # refuse labels a store cannot keep, before anything is written
    colsum = np.asarray(eco.column_sums, np.float64).copy()
    colsum.flags.writeable = False

    def dense_keyed(v):
        if v is None:
            return Keyed.empty()
        keys = np.arange(n, dtype=np.int64)  # the default unit has id 0
        vals = np.asarray(v, np.float64).copy()
        keys.flags.writeable = False
        vals.flags.writeable = False
        return Keyed(keys, vals)

    return State(
        version=version, n=n, dtype=eco.dtype, labels=eco.labels, labour_names=eco.labour_names,
        labour_units=getattr(eco, "labour_units", None),
        A=frozen_csr(eco.A), colsum=colsum, capital=None if eco.capital is None else frozen_csr(eco.capital),
        labour=eco.labour, depreciation=eco.depreciation, labour_supply=eco.labour_supply,
        stocks=dense_keyed(eco.stocks), capacity=dense_keyed(eco.capacity),
        has_stocks=eco.stocks is not None, has_capacity=eco.capacity is not None, productivity=eco.productivity,
    )


# ---------------------------------------------------------------------------
# deltas
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Delta:
    """Changes of one kind as unique (row, col) positions and new values (NaN = remove).

    ``row``/``col`` are (product in, product out) for ``A`` and ``capital``,
    (labour kind, product) for ``labour``, (product, -1) for ``depreciation``,
    (labour kind, -1) for ``labour_supply`` and (product, unit id) for
    ``stocks`` and ``capacity``.
    """

    kind: str
    rows: np.ndarray
    cols: np.ndarray
    new: np.ndarray
    old: np.ndarray | None = None


def _dense_set(arr: np.ndarray, idx: tuple, vals: np.ndarray) -> np.ndarray:
    out = arr.copy()
    out[idx] = vals.astype(out.dtype)
    out.flags.writeable = False
    return out


def with_old(st: State, d: Delta) -> Delta:
    """``d`` with the values it replaces in ``st`` (what the ledger keeps, for replay backwards)."""
    if d.kind == "A":
        old = st.A_get(d.rows, d.cols)
    elif d.kind == "capital":
        old = csr_get(st.capital, d.rows, d.cols)
    elif d.kind == "labour":
        old = st.labour[d.rows, d.cols].astype(np.float64)
    elif d.kind in ("depreciation", "labour_supply"):
        old = getattr(st, d.kind)[d.rows].astype(np.float64)
    else:
        old = getattr(st, d.kind).get(d.cols * st.n + d.rows)
    return replace(d, old=old)


def apply(state: State, deltas: Iterable[Delta], version: int, productivity: Productivity) -> State:
    """A new state with the deltas' new values applied (vectorized; ``state`` untouched)."""
    kw: dict[str, Any] = {}
    n = state.n
    for d in deltas:
        if d.rows.size == 0:
            continue
        if d.kind == "A":
            new = np.nan_to_num(d.new, nan=0.0)
            over = kw.get("A_over", state.A_over).set(d.rows * n + d.cols, new)
            colsum = kw.get("colsum", state.colsum).copy()
            old = d.old if d.old is not None else state.A_get(d.rows, d.cols)
            colsum += np.bincount(d.cols, weights=new - old, minlength=n)
            colsum.flags.writeable = False
            kw["A_over"], kw["colsum"] = over, colsum
        elif d.kind == "capital":
            B = kw.get("capital", state.capital)
            B = frozen_csr(sp.csr_matrix((n, n), dtype=state.dtype)) if B is None else B
            kw["capital"] = csr_set(B, d.rows, d.cols, np.nan_to_num(d.new, nan=0.0))
        elif d.kind == "labour":
            kw["labour"] = _dense_set(kw.get("labour", state.labour), (d.rows, d.cols), d.new)
        elif d.kind in ("depreciation", "labour_supply"):
            kw[d.kind] = _dense_set(kw.get(d.kind, getattr(state, d.kind)), (d.rows,), d.new)
        elif d.kind in ("stocks", "capacity"):
            keys = d.cols.astype(np.int64) * n + d.rows
            kw[d.kind] = kw.get(d.kind, getattr(state, d.kind)).set(keys, d.new)
        else:  # pragma: no cover - kinds are validated on the way in
            raise StoreError(f"unknown change kind {d.kind!r}")
    new_state = replace(state, version=version, productivity=productivity, digests=dict(state.digests), memo={}, **kw)
    if new_state.A_over.keys.size > _FOLD_ROWS:  # too many pending changes: merge them into A
        new_state = replace(new_state, A=new_state.A_csr(), A_over=Keyed.empty(), memo={})
    return new_state


def certify(st: State, deltas: list[Delta], new_state: State) -> Productivity:
    """The productivity certificate of ``new_state`` (column sums when they settle it)."""
    if not any(d.kind == "A" and d.rows.size for d in deltas):
        return st.productivity
    cmax = float(new_state.colsum.max()) if new_state.n else 0.0
    if cmax < 1.0 - _MARGIN:
        return Productivity(0.0, cmax, "column sums")
    # column sums do not settle it: build the economy and let it certify (or refuse)
    return Economy(new_state.A_csr(), labels=new_state.labels, dtype=new_state.dtype, check=True).productivity


def check_values(kind: str, v: np.ndarray, rows: np.ndarray, st: State) -> None:
    """Refuse NaN, infinite and negative values (and depreciation above 1) before anything is written."""
    where = (lambda r: r.tolist()) if kind == "labour_supply" else (lambda r: product_labels(st, r))
    finite = np.isfinite(v)
    if not finite.all():
        raise InvalidEconomyError(
            f"{kind} changes hold {int((~finite).sum())} NaN or infinite values (at {where(rows[~finite][:5])}); "
            "every value must be a finite number. Nothing was written"
        )
    neg = v < 0
    if neg.any():
        at = where(rows[neg][:10])
        msg = (f"{kind} changes hold {int(neg.sum())} negative values (at {at}, smallest {v.min():.6g}); "
               f"{kind} must be >= 0. Nothing was written")
        if kind in ("stocks", "capacity"):
            raise NegativeStockError(msg, products=at)
        raise InvalidEconomyError(msg)
    if kind == "depreciation" and (v > 1).any():
        raise InvalidEconomyError(f"depreciation rates must lie in [0, 1], got {v.max():.6g}. Nothing was written")


def check_stock_results(st: State, deltas: list[Delta]) -> None:
    """Refuse a change that leaves a stock or capacity negative or non-finite."""
    for d in deltas:
        if d.kind in ("stocks", "capacity"):
            vals = d.new[~np.isnan(d.new)]
            if (vals < 0).any() or not np.isfinite(vals).all():
                bad = product_labels(st, d.rows[~np.isnan(d.new)][(vals < 0) | ~np.isfinite(vals)][:10])
                raise NegativeStockError(
                    f"{d.kind} would become negative or non-finite for products {bad}: more was used than "
                    "was there. Check the reported use; nothing was written",
                    products=bad,
                )
