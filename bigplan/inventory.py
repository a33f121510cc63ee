"""Inventory and the coefficient memory: stock-taking, versioned updates, instant re-planning.

The plan factory's two departments that never stop, stock-taking and the
revision of technical coefficients, write into a durable, versioned store
(:func:`open_store`, implemented in :mod:`bigplan.store`).  After every
revision the stored plans are re-solved at once, warm-started from their
previous solutions, and the products whose intermediate targets moved are
reported sector by sector (:func:`replan`, :meth:`Store.replan`).

When actual consumer demand differs from the plan, stocks fall or rise, prices
move away from labour values for a while and output is readjusted (with
everything upstream) until stocks are back on target and prices equal values
again: :func:`simulate_consumer_demand`.

Entry points
------------
open_store, Store, replan, Replanner, ReplanReport, sector_codes,
stock_change, simulate_consumer_demand, ConsumerCorrection, and the errors
StoreBusyError and NegativeStockError.

How re-planning is fast
-----------------------
After a change ``A -> A' = A + dA`` the old outputs ``X`` leave the residual
``Y - (I - A') X = E + dA X`` (``E`` is the old, already tiny residual).  A
Krylov solve started there needs about ``log(rtol ||y|| / ||dA X||) /
log(rate)`` iterations instead of ``log(rtol) / log(rate)``: for 1,000 changed
coefficients of a 10^6-product economy ``||dA X|| / ||y||`` is about 1e-4, so a
warm start saves only a third to a half of the iterations.  The large savings
come from the *structure* of the change.  The correction ``dX`` solves
``(I - A') dX = dA X``, and ``dA X`` factors through the changed columns
(``dA X = dA[:, Q] X[Q, :]``) or rows (``dA X = I[:, P] (dA[P, :] X)``).  When
a revision touches fewer columns or rows than there are plans (new methods for
a few products; one input saved by many products), :func:`replan`

1. solves ``(I - A') W = U`` for only those ``r`` columns ``U``, to an absolute
   tolerance derived from every plan's ``rtol * ||y||`` (optionally in float32
   stages, with float64 residuals in between);
2. sets ``X' = X + W C`` and hands it to :func:`bigplan.solve_output` as the
   warm start, which computes the true residual of every plan and finishes any
   plan not yet within ``rtol`` (usually none).

Otherwise (``r > k / 2``) it warm-starts :func:`bigplan.solve_output` from the
previous outputs.  Either way the answer carries exactly the guarantee of a
cold solve (every plan's relative residual is at most ``rtol``), on any backend.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .backend import get_backend
from .economy import Economy
from .errors import InvalidDemandError, InvalidEconomyError, ShapeError
from .solvers import _operator
from .static import labour_values, solve_output
from .store import (
    DEFAULT_UNIT,
    FORMAT_VERSION,
    KINDS,
    NegativeStockError,
    Store,
    StoreBusyError,
    open_store,
)

__all__ = [
    "open_store",
    "Store",
    "StoreBusyError",
    "NegativeStockError",
    "DEFAULT_UNIT",
    "FORMAT_VERSION",
    "KINDS",
    "replan",
    "Replanner",
    "ReplanReport",
    "sector_codes",
    "stock_change",
    "simulate_consumer_demand",
    "ConsumerCorrection",
]

_DENSE_BELOW = 2000  # like Auto: below this a dense LU re-solve is exact and cheap
_STAGE_RTOL = 3e-6  # what a float32 Krylov solve reliably reaches (inner_dtype=float32)


# ---------------------------------------------------------------------------
# sectors
# ---------------------------------------------------------------------------
def sector_codes(economy: Economy, sectors: Any = None, *, block: int = 1000) -> tuple[np.ndarray, pd.Index]:
    """Sector of every product as integer codes and sector names.

    Parameters
    ----------
    economy : Economy
    sectors : pandas.Series, array_like, callable, int or None
        - Series: product label (or position) -> sector; products it lacks go to
          ``"unassigned"``;
        - array_like of length ``n``: the sector of each product, by position;
        - callable: ``sector = f(label)`` (``f(position)`` when unlabelled);
        - int: blocks of that many consecutive products;
        - None: blocks of ``block`` consecutive products.

    Returns
    -------
    codes : numpy.ndarray of int64, shape (n,)
    names : pandas.Index
        ``names[codes[i]]`` is the sector of product ``i``.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.zeros((4, 4)), labels=["a.1", "a.2", "b.1", "b.2"])
    >>> codes, names = sector_codes(e, lambda label: label.split(".")[0])
    >>> codes.tolist(), names.tolist()
    ([0, 0, 1, 1], ['a', 'b'])
    """
    n = economy.n
    if sectors is None or isinstance(sectors, (int, np.integer)) and not isinstance(sectors, bool):
        size = int(block if sectors is None else sectors)
        if size < 1:
            raise ValueError(f"sector block size must be >= 1, got {size}")
        codes = np.arange(n, dtype=np.int64) // size
        names = pd.Index([f"products {i * size}-{min(n, (i + 1) * size) - 1}" for i in range(int(codes[-1]) + 1)])
        return codes, names
    if isinstance(sectors, pd.Series):
        idx = economy.labels if economy.labels is not None else pd.RangeIndex(n)
        vals = sectors.reindex(idx)
        vals = vals.astype(object).where(vals.notna(), "unassigned")
        values = vals.to_numpy()
    elif callable(sectors):
        idx = economy.labels if economy.labels is not None else range(n)
        values = np.asarray([sectors(x) for x in idx], dtype=object)
    else:
        values = np.asarray(sectors, dtype=object)
        if values.shape != (n,):
            raise ShapeError(f"sectors must give one sector per product ({n}), got shape {values.shape}")
    codes, uniq = pd.factorize(pd.Series(values, dtype=object), sort=True)
    return codes.astype(np.int64), pd.Index(uniq)


# ---------------------------------------------------------------------------
# re-planning
# ---------------------------------------------------------------------------
@dataclass(eq=False, repr=False)
class ReplanReport:
    """New outputs of the stored plans after a revision, and what moved.

    Attributes
    ----------
    output : numpy.ndarray, shape (n, k)
        Gross outputs (intermediate targets) solving the new economy.
    previous : numpy.ndarray, shape (n, k), or None
        The outputs before the revision.
    plans : pandas.Index
    residual : numpy.ndarray, shape (k,)
        Certified relative residual of each plan on the new economy.
    converged : bool
    method : str
        ``"correction"``, ``"warm"``, ``"cold"`` or ``"verify"`` (nothing changed).
    rank : int
        Columns solved: the changed columns or rows for a correction, the plans
        for a warm or cold solve, 0 for a check.
    moved : pandas.DataFrame
        One row per (product, plan) whose output moved by more than the threshold:
        ``sector``, ``product``, ``plan``, ``old``, ``new``, ``change``, ``relative``;
        sorted by sector, then by the size of the relative move.
    seconds : float
        Wall time of the re-solve (without building the report).
    matvecs : int
        Sparse products (per plan column) of the whole update, float32 ones included.
    """

    output: np.ndarray
    previous: np.ndarray | None
    plans: pd.Index
    labels: pd.Index | None
    residual: np.ndarray
    converged: bool
    method: str
    rank: int
    moved: pd.DataFrame
    seconds: float
    matvecs: int
    iterations: int
    backend: str
    threshold: float
    abs_threshold: float
    version: int | None = None
    inner_dtype: str = "float64"
    mode: str = ""
    notes: list = field(default_factory=list)
    report_seconds: float = 0.0

    def by_sector(self) -> pd.DataFrame:
        """Moves grouped by sector: products moved, entries, plans, largest relative move, total change."""
        m = self.moved
        if m.empty:
            return pd.DataFrame(columns=["products", "entries", "plans", "max_relative", "total_change"])
        g = m.groupby("sector", sort=True, observed=True)
        out = pd.DataFrame(
            {
                "products": g["product"].nunique(),
                "entries": g.size(),
                "plans": g["plan"].nunique(),
                "max_relative": g["relative"].apply(lambda s: float(np.max(np.abs(s)))),
                "total_change": g["change"].sum(),
            }
        )
        return out.sort_values("max_relative", ascending=False)

    def sector(self, name: Any) -> pd.DataFrame:
        """The moves in one sector."""
        return self.moved[self.moved["sector"] == name]

    def to_frame(self) -> pd.DataFrame:
        """New gross outputs: products x plans."""
        return pd.DataFrame(self.output, index=self.labels, columns=self.plans)

    @classmethod
    def combine(cls, parts: list, k: int) -> "ReplanReport":
        """Join the reports of groups of plans (columns ``cols`` of ``k``) into one."""
        first = parts[0][1]
        n = first.output.shape[0]
        X = np.empty((n, k))
        P = np.full((n, k), np.nan)
        res = np.empty(k)
        plans = [None] * k
        for cols, r in parts:
            X[:, cols] = r.output
            if r.previous is not None:
                P[:, cols] = r.previous
            res[cols] = r.residual
            for j, c in enumerate(cols):
                plans[c] = r.plans[j]
        return cls(
            output=X,
            previous=P,
            plans=pd.Index(plans, name="plan"),
            labels=first.labels,
            residual=res,
            converged=all(r.converged for _, r in parts),
            method="+".join(sorted({r.method for _, r in parts})),
            rank=sum(r.rank for _, r in parts),
            moved=pd.concat([r.moved for _, r in parts], ignore_index=True),
            seconds=sum(r.seconds for _, r in parts),
            matvecs=sum(r.matvecs for _, r in parts),
            iterations=max(r.iterations for _, r in parts),
            backend=first.backend,
            threshold=first.threshold,
            abs_threshold=first.abs_threshold,
            version=first.version,
            notes=[x for _, r in parts for x in r.notes],
        )

    def __repr__(self) -> str:
        k = self.output.shape[1]
        nprod = self.moved["product"].nunique() if not self.moved.empty else 0
        nsec = self.moved["sector"].nunique() if not self.moved.empty else 0
        return (
            f"<ReplanReport {k} plans, method={self.method} (rank {self.rank}, {self.inner_dtype}), "
            f"{'converged' if self.converged else 'NOT converged'}, max residual {float(np.max(self.residual)):.3g}, "
            f"{self.seconds:.3g} s; {nprod} products in {nsec} sectors moved by more than "
            f"{self.threshold:g} (relative)>"
        )


def _as_block(economy: Economy, data: Any, what: str) -> tuple[np.ndarray, pd.Index | None]:
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        if economy.labels is not None:
            data = data.reindex(economy.labels)
            if data.isna().any().any():
                raise InvalidDemandError(f"{what} lacks some of the economy's products (or has NaN)")
        return data.to_numpy(dtype=np.float64), data.columns
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != economy.n:
        raise ShapeError(f"{what} must have shape ({economy.n},) or ({economy.n}, k), got {np.shape(data)}")
    if not np.isfinite(arr).all():
        raise InvalidDemandError(f"{what} has NaN or infinite entries")
    return arr, None


def _delta_matrix(economy: Economy, delta: Any, old_economy: Economy | None) -> sp.csr_matrix | None:
    n = economy.n
    if delta is None and old_economy is None:
        return None
    if delta is None:
        if old_economy.n != n:
            raise ShapeError(f"old economy has {old_economy.n} products, the new one {n}")
        D = (economy.A.astype(np.float64) - old_economy.A.astype(np.float64)).tocsr()
    elif sp.issparse(delta):
        D = sp.csr_matrix(delta, dtype=np.float64)
    else:
        r, c, d = (np.asarray(a) for a in delta)
        D = sp.csr_matrix((d.astype(np.float64), (r.astype(np.int64), c.astype(np.int64))), shape=(n, n))
    D.sum_duplicates()
    D.eliminate_zeros()
    if D.shape != (n, n):
        raise ShapeError(f"delta must be {n} x {n}, got {D.shape}")
    return D


def _f64_residual(bk, economy: Economy, B: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``B - (I - A) X`` in the economy's precision on backend ``bk``, returned on the host."""
    dt = np.dtype(economy.dtype)
    op = _operator(bk, economy, False, dt)  # the same cached operator the solvers use
    R, _ = bk.residual(op, bk.as_block(B, dt), bk.as_block(X, dt))
    return np.asarray(bk.to_numpy(R), dtype=np.float64)


def _factor(D: sp.csr_matrix, k: int) -> tuple[str, np.ndarray, np.ndarray, int]:
    """How ``D X`` factors through the fewest columns: (mode, changed rows, changed columns, rank)."""
    P = np.flatnonzero(np.diff(D.indptr))  # rows holding a change
    Q = np.unique(D.indices)  # columns holding a change
    if len(Q) < min(len(P), k):
        return "columns", P, Q, len(Q)
    if len(P) < k:
        return "rows", P, Q, len(P)
    return "plans", P, Q, k


def _correction(
    economy: Economy,
    Y: np.ndarray,
    X_old: np.ndarray,
    D: sp.csr_matrix,
    budget: np.ndarray,
    *,
    backend: Any,
    solver: Any,
    inner: np.dtype,
) -> tuple[np.ndarray, int, int, str]:
    """``X_old + dX`` with ``(I - A') dX = D X_old`` solved to absolute residual ``budget`` per plan."""
    n, k = Y.shape
    mode, P, Q, _ = _factor(D, k)
    active = budget > 0
    if mode == "columns":
        U = D.tocsc()[:, Q].toarray()  # n x q
        C = X_old[Q, :]
    elif mode == "rows":
        U = np.zeros((n, len(P)))
        U[P, np.arange(len(P))] = 1.0
        C = np.asarray(D[P, :] @ X_old)  # p x k
    else:
        U = np.asarray(D @ X_old)  # n x k
        C = None
    if C is None:
        scale = np.where(active, 1.0 / np.where(active, budget, 1.0), 0.0)
    else:
        c1 = np.abs(C).sum(axis=0)  # ||R_W c_j|| <= tau ||c_j||_1 for a uniform column tolerance tau
        ok = active & (c1 > 0)
        if not ok.any():  # the changed coefficients meet no output of any plan
            return X_old.copy(), 0, 0, f"{mode} (0)"
        tau = float(np.min(budget[ok] / c1[ok]))
        scale = np.full(U.shape[1], 1.0 / tau)
    Us = U * scale[None, :]
    del U
    r = Us.shape[1]
    bk = get_backend(backend)
    mixed = np.dtype(inner) != np.dtype(economy.dtype)
    matvecs = iters = 0
    # Stage 0 solves in ``inner`` precision.  A float32 solve reaches a relative residual of about
    # 1e-6, so then the float64 residual of what it found is solved again in float32 down to the
    # absolute tolerance (stage 1).  Whatever is left the float64 check in ``replan`` finishes.
    stages = 2 if mixed else 1
    W = None
    Rk = Us
    for stage in range(stages):
        norms = np.linalg.norm(Rk, axis=0)
        live = np.flatnonzero(norms > 1.0)
        if live.size == 0:
            break
        whole = live.size == r
        sol = solve_output(
            economy, Rk if whole else Rk[:, live], backend=bk, method=solver,
            rtol=_STAGE_RTOL if mixed and stage == 0 else 0.0, atol=1.0, dtype=inner, raise_on_failure=False,
            keep_on_device=False,
        )
        part = np.asarray(sol.output).reshape(n, -1)
        if W is None and whole:
            W = part.astype(np.float64)
        else:
            if W is None:
                W = np.zeros((n, r))
            if whole:
                W += part
            else:
                W[:, live] += part
        matvecs += sol.matvecs
        iters += sol.iterations
        if stage + 1 < stages:
            Rk = _f64_residual(bk, economy, Us, W)
            matvecs += r
    if W is None:
        return X_old.copy(), matvecs, iters, f"{mode} ({r})"
    W *= np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)[None, :]
    dX = W if C is None else W @ C
    dX += X_old
    return dX, matvecs, iters, f"{mode} ({r})"


def _moved(
    X: np.ndarray,
    X_old: np.ndarray,
    labels: pd.Index | None,
    plans: pd.Index,
    codes: np.ndarray,
    names: pd.Index,
    threshold: float,
    abs_threshold: float,
    noise: np.ndarray,
) -> pd.DataFrame:
    n, k = X.shape
    step = max(1, (1 << 24) // max(n, 1))
    R, Cc, O, N = [], [], [], []
    for j0 in range(0, k, step):
        sl = slice(j0, min(k, j0 + step))
        old, new = X_old[:, sl], X[:, sl]
        lim = np.maximum(threshold * np.abs(old), abs_threshold)
        np.maximum(lim, noise[None, sl], out=lim)
        r, c = np.nonzero(np.abs(new - old) > lim)
        R.append(r)
        Cc.append(c + j0)
        O.append(old[r, c])
        N.append(new[r, c])
    r, c = np.concatenate(R), np.concatenate(Cc)
    old, new = np.concatenate(O), np.concatenate(N)
    change = new - old
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(old != 0, change / np.abs(old), np.sign(change) * np.inf)
    sec = codes[r]
    order = np.lexsort((c, -np.abs(rel), sec))
    r, c, old, new, change, rel, sec = (a[order] for a in (r, c, old, new, change, rel, sec))
    prod = labels[r] if labels is not None else r
    return pd.DataFrame(
        {
            "sector": names[sec] if len(names) else sec,
            "product": prod,
            "plan": plans[c],
            "old": old,
            "new": new,
            "change": change,
            "relative": rel,
        }
    )


def replan(
    economy: Economy,
    final_demand: Any,
    previous: Any = None,
    *,
    delta: Any = None,
    old_economy: Economy | None = None,
    residual: Any = None,
    method: str = "auto",
    threshold: float = 0.01,
    abs_threshold: float = 0.0,
    sectors: Any = None,
    backend: Any = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    inner_dtype: Any = "auto",
    plans: Sequence | None = None,
    version: int | None = None,
    raise_on_failure: bool = True,
) -> ReplanReport:
    """Re-solve plans after a revision of the coefficients, warm-started, and report what moved.

    Parameters
    ----------
    economy : Economy
        The revised economy.
    final_demand : array_like (n,) or (n, k), or pandas Series/DataFrame
        The plans' final-demand targets.
    previous : array_like, same shape, optional
        Their outputs before the revision (None: solve cold).
    delta : scipy.sparse matrix or (rows, cols, change) arrays, optional
        ``A_new - A_old`` (the store passes the ledger's changes).
    old_economy : Economy, optional
        The economy before the revision (``delta`` is then computed from it).
    residual : array_like (k,), optional
        The previous outputs' relative residuals on the old economy (tightens the budget).
    method : {"auto", "correction", "warm", "cold", "verify"}
        ``"correction"`` solves for the change through its changed columns or rows
        (see the module notes); ``"warm"`` calls :func:`~bigplan.solve_output` with
        ``x0=previous``; ``"cold"`` ignores the previous outputs; ``"verify"`` only
        checks them.  ``"auto"``: ``"cold"`` for small economies (dense LU is exact),
        ``"correction"`` when the change is known and has rank at most half the
        number of plans, else ``"warm"``.
    threshold : float
        Report a product of a plan when its output moved by more than this
        fraction of its old value...
    abs_threshold : float
        ...and by more than this amount.  Moves under ``10 * rtol * max|x|`` (the
        solve's own precision) are never reported.
    sectors : see :func:`sector_codes`
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
    solver : str or method object
        The method of :func:`~bigplan.solve_output` (``"auto"``, ``"bicgstab"``...).
    rtol : float
        Every plan ends with ``||y - (I - A') x|| <= rtol ||y||``, as a cold solve.
    inner_dtype : {"auto", numpy.float32, numpy.float64}
        Precision of the correction's inner solves (``"auto"``: the economy's).
        float32 halves the memory traffic (worth it on GPUs; about 1.4x per
        product on CPUs); the float64 check keeps the final guarantee.
    plans : sequence, optional
        Plan names (default the DataFrame's columns, or 0..k-1).
    version : int, optional
        Recorded in the report.
    raise_on_failure : bool
        Raise :class:`~bigplan.ConvergenceError` when a plan misses ``rtol``.

    Returns
    -------
    ReplanReport

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import replan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labels=["grain", "iron"])
    >>> Y = np.array([[10.0, 12.0], [5.0, 4.0]])
    >>> X = bigplan.solve_output(e, Y).output
    >>> e2 = e.with_changes({("iron", "grain"): 0.3})
    >>> rep = replan(e2, Y, X, old_economy=e, threshold=0.01)
    >>> sorted(set(rep.moved["product"])), bool(np.allclose(rep.output, bigplan.solve_output(e2, Y).output))
    (['grain', 'iron'], True)
    """
    t0 = time.perf_counter()
    if not isinstance(economy, Economy):
        raise TypeError(f"economy must be a bigplan.Economy, got {type(economy).__name__}")
    Y, cols = _as_block(economy, final_demand, "final demand")
    n, k = Y.shape
    if plans is None:
        plans = cols if cols is not None else pd.RangeIndex(k)
    plans = pd.Index(plans, name="plan")
    if len(plans) != k:
        raise ShapeError(f"{len(plans)} plan names for {k} plans")
    X_old = None
    if previous is not None:
        X_old, _ = _as_block(economy, previous, "previous outputs")
        if X_old.shape != Y.shape:
            raise ShapeError(f"previous outputs have shape {X_old.shape}; final demand {Y.shape}")
    if not (threshold >= 0 and abs_threshold >= 0):
        raise ValueError("threshold and abs_threshold must be >= 0")
    D = _delta_matrix(economy, delta, old_economy)
    meth = method
    if meth not in ("auto", "correction", "warm", "cold", "verify"):
        raise ValueError(f"method must be 'auto', 'correction', 'warm', 'cold' or 'verify', got {method!r}")
    notes: list[str] = []
    if X_old is None:
        meth = "cold"
    elif meth == "auto":
        if n <= _DENSE_BELOW:
            meth = "cold"
        elif D is None:
            meth = "warm"
        else:
            _, _, _, r = _factor(D, k)
            # solving for the correction pays when it needs at most half as many columns as there
            # are plans; otherwise its initial residual is the warm start's and a warm start is cheaper
            meth = "correction" if 2 * r <= k else "warm"
            if meth == "warm":
                notes.append(f"the change has rank {r} >= {k}/2 plans: warm start from the previous outputs")
    if meth == "correction" and D is None:
        raise ValueError("method='correction' needs delta= or old_economy= (what changed)")
    matvecs = 0
    iters = 0
    rank = 0
    mode = ""
    inner = np.dtype(economy.dtype)
    x0 = None if meth == "cold" else X_old
    if meth == "correction":
        inner = np.dtype(economy.dtype) if inner_dtype == "auto" else np.dtype(inner_dtype)
        if D.nnz == 0:
            mode = "nothing changed"
        else:
            ynorm = np.linalg.norm(Y, axis=0)
            res_old = np.full(k, np.nan) if residual is None else np.asarray(residual, np.float64).reshape(k)
            slack = np.where(np.isfinite(res_old), np.maximum(rtol - res_old, 0.25 * rtol), 0.5 * rtol)
            budget = 0.9 * slack * ynorm
            x0, mv, it, mode = _correction(
                economy, Y, X_old, D, budget, backend=backend, solver=solver, inner=inner
            )
            matvecs += mv
            iters += it
            rank = int(mode.split("(")[1].rstrip(")"))
    sol = solve_output(
        economy, Y, backend=backend, method=solver, rtol=rtol, x0=x0, raise_on_failure=raise_on_failure,
        keep_on_device=False,
    )
    X = np.asarray(sol.output, dtype=np.float64).reshape(n, k)
    if meth in ("warm", "cold"):
        rank = k
        mode = f"{meth} ({k} plans)"
    matvecs += sol.matvecs
    iters += sol.iterations
    if meth in ("correction", "verify") and sol.iterations > 0:
        notes.append(f"the float64 check needed {sol.iterations} more iterations for some plans")
    seconds = time.perf_counter() - t0
    t1 = time.perf_counter()
    codes, names = sector_codes(economy, sectors)
    noise = 10.0 * rtol * np.max(np.abs(X), axis=0)
    if X_old is None:  # a first solve: nothing to compare with
        notes.append("no previous outputs: every plan was solved from scratch and nothing is reported as moved")
        moved = _moved(X[:0], X[:0], None, plans, codes, names, threshold, abs_threshold, noise)
    else:
        moved = _moved(X, X_old, economy.labels, plans, codes, names, threshold, abs_threshold, noise)
    return ReplanReport(
        output=X,
        previous=X_old,
        plans=plans,
        labels=economy.labels,
        residual=np.atleast_1d(np.asarray(sol.residual, np.float64)),
        converged=bool(sol.converged),
        method=meth,
        rank=rank,
        moved=moved,
        seconds=seconds,
        matvecs=int(matvecs),
        iterations=int(iters),
        backend=sol.backend,
        threshold=float(threshold),
        abs_threshold=float(abs_threshold),
        version=version,
        inner_dtype=inner.name,
        mode=mode or meth,
        notes=notes + list(sol.notes),
        report_seconds=time.perf_counter() - t1,
    )


class Replanner:
    """Keeps plans and their outputs in memory and re-plans them after each revision.

    Parameters
    ----------
    economy : Economy
    final_demand : array_like (n,) or (n, k), or pandas Series/DataFrame
    outputs : array_like, optional
        Current outputs (solved now when omitted).
    **options
        Defaults for :func:`replan` (``threshold``, ``sectors``, ``backend``, ``rtol``...).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.inventory import Replanner
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> rp = Replanner(e, np.array([10.0, 5.0]))
    >>> report = rp.update(e.with_changes({(0, 1): 0.35}))
    >>> report.output.shape
    (2, 1)
    """

    def __init__(self, economy: Economy, final_demand: Any, outputs: Any = None, **options: Any):
        self.options = options
        self.economy = economy
        self.final_demand, cols = _as_block(economy, final_demand, "final demand")
        self.plans = pd.Index(cols if cols is not None else pd.RangeIndex(self.final_demand.shape[1]), name="plan")
        if outputs is None:
            rtol = options.get("rtol", 1e-10)
            sol = solve_output(economy, self.final_demand, backend=options.get("backend", "auto"),
                               method=options.get("solver", "auto"), rtol=rtol, keep_on_device=False)
            self.outputs = np.asarray(sol.output, np.float64).reshape(self.final_demand.shape)
            self.residual = np.atleast_1d(sol.residual)
        else:
            self.outputs, _ = _as_block(economy, outputs, "outputs")
            self.residual = None

    def update(self, economy: Economy, *, delta: Any = None, **options: Any) -> ReplanReport:
        """Re-plan on a revised economy; the new outputs become the current ones."""
        kw = {**self.options, **options}
        rep = replan(economy, self.final_demand, self.outputs, delta=delta,
                     old_economy=None if delta is not None else self.economy, residual=self.residual,
                     plans=self.plans, **kw)
        self.economy, self.outputs, self.residual = economy, rep.output, rep.residual
        return rep


# ---------------------------------------------------------------------------
# stock flows
# ---------------------------------------------------------------------------
def stock_change(economy: Economy, output: Any, final_use: Any = None) -> np.ndarray:
    """Change of stocks over a period: production - intermediate use - final use.

    Parameters
    ----------
    economy : Economy
    output : array_like, shape (n,)
        Gross output produced in the period.
    final_use : array_like, shape (n,), optional
        Consumption, investment and exports taken in the period.

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``output - A @ output - final_use``; pass its positive part as production
        and negative part as use to :meth:`Store.record_flows`.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> stock_change(e, [10.0, 5.0], [7.0, 2.0]).round(6).tolist()
    [0.5, 0.5]
    """
    x = np.asarray(output, dtype=np.float64)
    if x.shape != (economy.n,):
        raise ShapeError(f"output must have shape ({economy.n},), got {x.shape}")
    use = economy.A @ x
    f = np.zeros(economy.n) if final_use is None else np.asarray(final_use, dtype=np.float64)
    if f.shape != (economy.n,):
        raise ShapeError(f"final_use must have shape ({economy.n},), got {f.shape}")
    if not (np.isfinite(x).all() and np.isfinite(f).all()):
        raise InvalidDemandError("output and final use must be finite")
    return x - use - f


# ---------------------------------------------------------------------------
# the consumer-demand correction loop
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class ConsumerCorrection:
    """Periods of the consumer-demand correction loop (:func:`simulate_consumer_demand`).

    Arrays have one row per period (``stocks`` one more: the opening stocks) and
    one column per recorded product.

    Attributes
    ----------
    products : pandas.Index
        The recorded products.
    values : numpy.ndarray
        Their labour values.
    target : numpy.ndarray
        Their target stocks.
    stocks : numpy.ndarray, shape (T + 1, r)
        Opening stocks of every period, and the closing stocks.
    prices : numpy.ndarray, shape (T, r)
        Temporary prices (in labour time); ``prices / values`` is the signal.
    demand, sales, unmet : numpy.ndarray, shape (T, r)
        Quantity demanded at the period's price, sold, and not met.
    final_target : numpy.ndarray, shape (T, r)
        The net output planned for the period (final demand incl. stock rebuilding).
    output, output_adjustment, intermediate_use : numpy.ndarray, shape (T, r)
        Gross output, its change from the original plan, and its use as inputs.
    other_final_use : numpy.ndarray, shape (r,)
        Non-consumer final use per period (investment, exports...).
    stock_gap, price_gap : numpy.ndarray
        Over *all* products: ``max |S - S*| / S*`` at each opening (T + 1) and
        ``max |p / v - 1|`` in each period (T).
    converged : bool
        Stocks back on target (and prices at values) within ``tol`` at the end.
    converged_at : int or None
        First period from which the stocks stayed within ``tol`` of target.
    """

    products: pd.Index
    values: np.ndarray
    target: np.ndarray
    stocks: np.ndarray
    prices: np.ndarray
    demand: np.ndarray
    sales: np.ndarray
    unmet: np.ndarray
    final_target: np.ndarray
    output: np.ndarray
    output_adjustment: np.ndarray
    intermediate_use: np.ndarray
    other_final_use: np.ndarray
    stock_gap: np.ndarray
    price_gap: np.ndarray
    converged: bool
    converged_at: int | None
    tol: float

    @property
    def periods(self) -> int:
        return self.prices.shape[0]

    def frame(self, what: str = "stocks") -> pd.DataFrame:
        """One trajectory (``"stocks"``, ``"prices"``, ``"output_adjustment"``...) as periods x products."""
        arr = getattr(self, what)
        if not isinstance(arr, np.ndarray) or arr.ndim != 2:
            raise ValueError(f"{what!r} is not a per-period array of this result")
        return pd.DataFrame(arr, columns=self.products, index=pd.RangeIndex(arr.shape[0], name="period"))

    def __repr__(self) -> str:
        state = f"converged at period {self.converged_at}" if self.converged else "NOT converged"
        return (
            f"<ConsumerCorrection {self.periods} periods, {len(self.products)} products recorded: {state}; "
            f"final stock gap {self.stock_gap[-1]:.3g}, price gap {self.price_gap[-1]:.3g}>"
        )


def _vector(economy: Economy, v: Any, what: str, *, allow_none: bool = False) -> np.ndarray | None:
    if v is None:
        if allow_none:
            return None
        raise ValueError(f"{what} is required")
    if isinstance(v, pd.Series):
        if economy.labels is not None:
            v = v.reindex(economy.labels).fillna(0.0)
        v = v.to_numpy(dtype=np.float64)
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(economy.n, float(arr))
    if arr.shape != (economy.n,):
        raise ShapeError(f"{what} must have shape ({economy.n},), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidDemandError(f"{what} has NaN or infinite entries")
    if (arr < 0).any():
        raise InvalidDemandError(f"{what} has negative entries; quantities are >= 0")
    return arr


def simulate_consumer_demand(
    economy: Economy,
    planned: Any,
    actual: Any,
    *,
    periods: int = 30,
    other_final: Any = None,
    target_stocks: Any = None,
    initial_stocks: Any = None,
    values: Any = None,
    adjustment: float = 2.0,
    price_response: float = 0.5,
    elasticity: float = 0.5,
    min_price: float = 0.1,
    tol: float = 1e-6,
    backend: Any = "auto",
    rtol: float = 1e-12,
    record: Any = None,
) -> ConsumerCorrection:
    """Simulate the correction of consumer-goods output when actual demand differs from the plan.

    The model, per period ``t`` (vectors over products; ``v`` labour values,
    ``S*`` target stocks, ``y_o`` other final use, ``tau = adjustment``,
    ``kappa = price_response``, ``eps = elasticity``):

    1. **Price.**  Shops price each good at its labour value, marked up or down
       while its stock is off target:
       ``p_t = v * max(1 + kappa * (S* - S_t) / S*, min_price)``.
    2. **Demand** at that price: ``d_t = a_t * (p_t / v) ** -eps``, where ``a_t``
       is the actual demand at value prices (the ``actual`` argument).
    3. **Plan.**  The planners set the period's final-demand target from the
       demand they expect at value prices (``c_0`` = the plan, then the last
       observed demand at value prices ``d_{t-1} (p_{t-1} / v) ** eps``) plus a
       stock correction: ``f_t = max(y_o + c_t + (S* - S_t) / tau, 0)``.  Since
       ``(S* - S_t) / tau`` is proportional to ``p_t / v - 1``, output is
       expanded exactly where the price stands above the value.
    4. **Production** with everything upstream: ``x_t = (I - A)^-1 f_t``
       (:func:`~bigplan.solve_output`, warm-started from ``x_{t-1}``).
    5. **Sales and stocks.**  ``s_t = min(d_t, S_t + x_t - A x_t - y_o)`` and
       ``S_{t+1} = S_t + x_t - A x_t - y_o - s_t``: stocks change by production
       minus intermediate use minus final use, exactly.

    After a lasting change of demand the stock gap ``e = S - S*`` shrinks by
    about ``1 - 1/tau - eps * kappa * a / S*`` per period, so stocks return to
    target and prices to values (for ``tau >= 1`` and moderate ``eps * kappa``).

    Parameters
    ----------
    economy : Economy
    planned : array_like (n,) or pandas.Series
        Planned consumer demand per period.
    actual : array_like (n,), array (periods, n), or callable ``t -> (n,)``
        Actual consumer demand at value prices, constant or per period.
    periods : int
    other_final : array_like (n,), optional
        Other final use per period (investment, exports); default none.
    target_stocks : array_like (n,), optional
        Default: the economy's stocks, else one period of planned demand.
    initial_stocks : array_like (n,), optional
        Default: the target.
    values : array_like (n,), optional
        Labour values (default :func:`~bigplan.labour_values`, summed over labour kinds).
    adjustment : float
        ``tau >= 1``: periods over which a stock gap is made good.
    price_response : float
        ``kappa >= 0``: relative price change per relative stock gap.
    elasticity : float
        ``eps >= 0``: price elasticity of consumer demand.
    min_price : float
        Lowest price, as a fraction of the value (in (0, 1]).
    tol : float
        Convergence tolerance on ``max |S - S*| / S*``.
    backend : str
    rtol : float
        Tolerance of each period's solve.
    record : sequence, optional
        Products to record (labels or positions).  Default: all when ``n <=
        20000``, else those with planned or actual consumer demand.

    Returns
    -------
    ConsumerCorrection

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["bread", "iron"])
    >>> run = simulate_consumer_demand(e, planned=[10.0, 0.0], actual=[12.0, 0.0], periods=40)
    >>> run.converged, bool(abs(run.prices[-1, 0] / run.values[0] - 1) < 1e-5)
    (True, True)
    """
    n = economy.n
    periods = int(periods)
    if periods < 1:
        raise ValueError(f"periods must be >= 1, got {periods}")
    for nm, val, lo in (("adjustment", adjustment, 1.0), ("price_response", price_response, 0.0),
                        ("elasticity", elasticity, 0.0)):
        if not (math.isfinite(val) and val >= lo):
            raise ValueError(f"{nm} must be a finite number >= {lo}, got {val}")
    if not (0 < min_price <= 1):
        raise ValueError(f"min_price must lie in (0, 1], got {min_price}")
    c_plan = _vector(economy, planned, "planned demand")
    y_o = np.zeros(n) if other_final is None else _vector(economy, other_final, "other final use")
    if callable(actual):
        def act(t):
            return _vector(economy, actual(t), f"actual demand of period {t}")
    else:
        arr = np.asarray(actual.to_numpy() if isinstance(actual, pd.Series) else actual, dtype=np.float64)
        if arr.ndim == 2:
            if arr.shape != (periods, n):
                raise ShapeError(f"actual demand per period must have shape ({periods}, {n}), got {arr.shape}")
            if not np.isfinite(arr).all() or (arr < 0).any():
                raise InvalidDemandError("actual demand must be finite and >= 0")

            def act(t):
                return arr[t]
        else:
            a_const = _vector(economy, actual, "actual demand")

            def act(t):
                return a_const
    if target_stocks is None:
        target = economy.stocks.astype(np.float64) if economy.stocks is not None else c_plan.copy()
    else:
        target = _vector(economy, target_stocks, "target stocks")
    S = target.copy() if initial_stocks is None else _vector(economy, initial_stocks, "initial stocks").copy()
    if values is None:
        if economy.labour is None:
            raise InvalidEconomyError("this economy has no labour coefficients; pass values=... (labour values)")
        vv = np.asarray(labour_values(economy, backend=backend).values, np.float64)
        v = vv if vv.ndim == 1 else vv.sum(axis=0)
    else:
        v = _vector(economy, values, "values")
    if record is None:
        rec = np.arange(n) if n <= 20_000 else np.flatnonzero((c_plan > 0) | (act(0) > 0))
    else:
        rec = economy.positions(record)
    labels = economy.labels[rec] if economy.labels is not None else pd.Index(rec)
    denom = np.where(target > 0, target, 1.0)

    T, r = periods, rec.size
    out = {k: np.empty((T, r)) for k in ("prices", "demand", "sales", "unmet", "final_target", "output",
                                         "output_adjustment", "intermediate_use")}
    stocks = np.empty((T + 1, r))
    stock_gap = np.empty(T + 1)
    price_gap = np.empty(T)
    stocks[0] = S[rec]
    stock_gap[0] = float(np.max(np.abs(S - target) / denom))
    x_plan = np.asarray(solve_output(economy, y_o + c_plan, backend=backend, rtol=rtol).output, np.float64)
    x_prev = x_plan
    c_hat = c_plan.copy()
    A = economy.A
    for t in range(T):
        a_t = act(t)
        ratio = np.maximum(1.0 + price_response * (target - S) / denom, min_price)
        d = a_t * ratio ** (-elasticity)
        f = np.maximum(y_o + c_hat + (target - S) / adjustment, 0.0)
        x = np.asarray(solve_output(economy, f, x0=x_prev, backend=backend, rtol=rtol).output, np.float64)
        x = np.maximum(x, 0.0)
        inter = np.asarray(A @ x, dtype=np.float64)
        available = S + x - inter - y_o
        s = np.minimum(d, np.maximum(available, 0.0))
        S_next = S + x - inter - y_o - s
        for k_, val in (("prices", v * ratio), ("demand", d), ("sales", s), ("unmet", d - s), ("final_target", f),
                        ("output", x), ("output_adjustment", x - x_plan), ("intermediate_use", inter)):
            out[k_][t] = val[rec]
        price_gap[t] = float(np.max(np.abs(ratio - 1.0)))
        c_hat = d * ratio ** elasticity  # the demand observed, at value prices
        S = S_next
        x_prev = x
        stocks[t + 1] = S[rec]
        stock_gap[t + 1] = float(np.max(np.abs(S - target) / denom))
    within = stock_gap <= tol
    converged_at = None
    if within[-1]:
        bad = np.flatnonzero(~within)
        converged_at = int(bad[-1] + 1) if bad.size else 0
    return ConsumerCorrection(
        products=labels,
        values=v[rec],
        target=target[rec],
        stocks=stocks,
        other_final_use=y_o[rec],
        stock_gap=stock_gap,
        price_gap=price_gap,
        converged=bool(within[-1]),
        converged_at=converged_at,
        tol=float(tol),
        **out,
    )
