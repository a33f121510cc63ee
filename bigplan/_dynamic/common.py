"""Pieces every part of the dynamic model uses: capital checks, shifted economies, block solves.

``solve`` is ``(I - A)^{-1} R`` for a host block, solving only the independent
columns (a consumption path growing at one rate is a rank-one block), and
:class:`SolveTally` is the mutable per-run record of those solves, kept apart
from the (frozen) plan problem.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .._evidence import Evidence, Status
from ..economy import Economy
from ..errors import InvalidOptionError, InvalidPlanOptionError, NoCapitalError
from ..static import solve_output

__all__ = [
    "SolveTally",
    "check_economy",
    "column_basis",
    "depreciation_of",
    "plan_option",
    "require_capital",
    "scale_columns",
    "shifted_economy",
    "solve",
    "vector_option",
]


def check_economy(economy) -> None:
    """Refuse anything but an :class:`~bigplan.Economy`, saying how to build one."""
    if not isinstance(economy, Economy):
        raise InvalidOptionError(
            f"economy must be a bigplan.Economy, got {type(economy).__name__}; build one with "
            "Economy(A, labour, capital=B, depreciation=..., capacity=...)"
        )


def require_capital(economy: Economy) -> sp.csr_matrix:
    """The capital coefficients ``B`` of an economy, or a clear error when it has none.

    Parameters
    ----------
    economy : Economy

    Returns
    -------
    scipy.sparse.csr_matrix
        ``B`` (read-only).

    Raises
    ------
    NoCapitalError
        No ``capital=`` was given, or ``B`` has no non-zero coefficient: no
        product needs equipment, so nothing can be invested and the dynamic
        model has nothing to say about growth.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import require_capital
    >>> e = bigplan.Economy(np.array([[0.1, 0.2], [0.3, 0.1]]), capital=np.array([[0.0, 0.0], [1.0, 2.0]]))
    >>> require_capital(e).nnz
    2
    """
    check_economy(economy)
    B = economy.capital
    if B is None:
        raise NoCapitalError(
            "this economy has no capital coefficients; the dynamic model needs B (units of equipment per "
            "unit of extra yearly capacity): build it with Economy(A, ..., capital=B)"
        )
    if B.nnz == 0:
        raise NoCapitalError(
            "this economy has no capital goods at all: every capital coefficient B is 0, so nothing can be "
            "invested and capacity cannot be built; growth is impossible to plan (the balanced growth rate "
            "is undefined). Give the equipment each product needs per unit of extra capacity in capital=B"
        )
    return B


def depreciation_of(economy: Economy) -> np.ndarray:
    """The replacement rates ``delta`` (n,), zeros when the economy has none."""
    d = economy.depreciation
    return np.zeros(economy.n) if d is None else np.asarray(d, dtype=np.float64)


def scale_columns(B: sp.csr_matrix, s: np.ndarray) -> sp.csr_matrix:
    """``B @ diag(s)`` for CSR ``B`` (column ``j`` times ``s[j]``), without a product."""
    out = sp.csr_matrix((B.data * s[B.indices], B.indices.copy(), B.indptr.copy()), shape=B.shape)
    if not out.data.all():
        out.eliminate_zeros()
    return out


def shifted_economy(economy: Economy, s, cache: dict | None = None) -> Economy:
    """``Economy(A + B diag(s))`` (certified productive), or the economy itself when ``s == 0``.

    ``cache`` (a dict owned by the caller's run) keeps the economies built, by ``s``.

    Raises
    ------
    NotProductiveError
        ``rho(A + B diag(s)) >= 1``.
    """
    s = np.broadcast_to(np.asarray(s, dtype=np.float64), (economy.n,))
    if not np.any(s):
        return economy
    key = s.tobytes()
    if cache is not None and key in cache:
        return cache[key]
    B = economy.capital
    A64 = economy.A if economy.A.dtype == np.float64 else economy.A.astype(np.float64)
    B64 = B if B.dtype == np.float64 else B.astype(np.float64)
    As = (A64 + scale_columns(B64, np.ascontiguousarray(s))).tocsr()
    e = Economy(As, dtype=economy.dtype, check=True)
    if cache is not None:
        cache[key] = e
    return e


def column_basis(R: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split the columns of ``R`` into an independent set and combinations of it.

    Returns ``(basis, dep, coef, zero)``: ``R[:, dep] = R[:, basis] @ coef`` to
    relative accuracy ``tol`` (checked), ``zero`` the all-zero columns.
    """
    import scipy.linalg as sla

    norms = np.linalg.norm(R, axis=0)
    zero = np.flatnonzero(norms == 0)
    live = np.flatnonzero(norms > 0)
    if live.size <= 1:
        return live, np.empty(0, np.int64), np.zeros((live.size, 0)), zero
    Rl = R[:, live] / norms[live]
    Rr, piv = sla.qr(Rl, mode="r", pivoting=True, check_finite=False)
    Rr = Rr[: live.size]
    d = np.abs(np.diag(Rr))
    r = int(np.sum(d > 1e-12 * d[0]))
    if r == live.size:
        return live, np.empty(0, np.int64), np.zeros((live.size, 0)), zero
    basis_loc = piv[:r]
    dep_loc = piv[r:]
    coef = sla.solve_triangular(Rr[:r, :r], Rr[:r, r:], check_finite=False)
    # verify on the data (not only on R factors), move failures into the basis
    fit = Rl[:, basis_loc] @ coef - Rl[:, dep_loc]
    ok = np.linalg.norm(fit, axis=0) <= tol
    if not ok.all():
        basis_loc = np.concatenate([basis_loc, dep_loc[~ok]])
        dep_loc = dep_loc[ok]
        if dep_loc.size == 0:
            return live[np.sort(basis_loc)], np.empty(0, np.int64), np.zeros((basis_loc.size, 0)), zero
        coef = np.linalg.lstsq(Rl[:, basis_loc], Rl[:, dep_loc], rcond=None)[0]
    # undo the column normalisation: R_dep = R_basis @ (diag(1/nb) coef diag(nd))
    nb = norms[live[basis_loc]]
    nd = norms[live[dep_loc]]
    coef = coef / nb[:, None] * nd[None, :]
    return live[basis_loc], live[dep_loc], coef, zero


@dataclass
class SolveTally:
    """What the static solves of one run cost and achieved (mutable, one per run)."""

    solves: int = 0
    columns: int = 0
    columns_solved: int = 0
    iterations: int = 0
    matvecs: int = 0
    residual: float = 0.0
    seconds: float = 0.0
    method: str = ""
    backend: str = ""

    def add(self, sol, k: int, kb: int, secs: float) -> None:
        self.solves += 1
        self.columns += k
        self.columns_solved += kb
        self.iterations += int(sol.iterations)
        self.matvecs += int(sol.matvecs)
        self.residual = max(self.residual, float(np.max(np.atleast_1d(sol.residual))))
        self.seconds += secs
        self.method = sol.method
        self.backend = sol.backend

    def evidence(self, *, converged: bool, method: str, seconds: float, notes=(), backend: str | None = None,
                 status: Status | None = None) -> Evidence:
        """The evidence block of a plan computed with these solves (one plan: residual shape (1,))."""
        if status is None:
            status = Status.CONVERGED if converged else Status.MAX_ITERATIONS
        return Evidence(
            converged=converged,
            status=np.array([int(status)], dtype=np.int8),
            iterations=self.iterations,
            residual=np.array([self.residual]),
            backend=backend or self.backend or "numpy",
            method=method,
            matvecs=self.matvecs,
            seconds=seconds,
            notes=tuple(notes),
        )


def solve(economy: Economy, R: np.ndarray, *, backend, method, rtol: float, x0: np.ndarray | None = None,
          tally: SolveTally | None = None, reduce: bool = True) -> np.ndarray:
    """``(I - A)^{-1} R`` for a host block ``R`` (n, k), solving only independent columns.

    Columns that are linear combinations of others (a consumption path that
    grows at one rate is a rank-one block) are combined from the solved ones.
    """
    t0 = time.perf_counter()
    n, k = R.shape
    X = np.zeros((n, k))
    if k == 0:
        return X
    if reduce and k > 1:
        basis, dep, coef, _ = column_basis(R, tol=0.01 * rtol)
    else:
        norms = np.abs(R).max(axis=0)
        basis, dep, coef = np.flatnonzero(norms > 0), np.empty(0, np.int64), None
    if basis.size:
        Rb = np.ascontiguousarray(R[:, basis])
        x0b = None if x0 is None else np.ascontiguousarray(x0[:, basis])
        sol = solve_output(economy, Rb, backend=backend, method=method, rtol=rtol, x0=x0b, keep_on_device=False)
        Xb = np.asarray(sol.output, dtype=np.float64)
        X[:, basis] = Xb
        if dep.size:
            X[:, dep] = Xb @ coef
        if tally is not None:
            tally.add(sol, k, basis.size, time.perf_counter() - t0)
    return X


def vector_option(values, name: str) -> np.ndarray:
    """A 1-D array of finite real options (rates, shares), refused with :class:`InvalidOptionError` naming ``name``."""
    try:
        arr = np.atleast_1d(np.asarray(values))
    except (TypeError, ValueError) as exc:
        raise InvalidPlanOptionError(f"{name} must be a sequence of finite numbers, got {values!r}") from exc
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iuf":
        raise InvalidPlanOptionError(f"{name} must be a non-empty 1-D sequence of real numbers, got {values!r}")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise InvalidPlanOptionError(f"{name} must be finite numbers, got {values!r}")
    return arr


def plan_option(check, *args, **kwargs):
    """Run an option check of :mod:`bigplan._options`, raising :class:`~bigplan.errors.InvalidPlanOptionError`.

    The dynamic model refused bad options with ``InvalidPlanError``; the error
    is now both that and an ``InvalidOptionError``.

    Examples
    --------
    >>> from bigplan._options import check_rtol
    >>> plan_option(check_rtol, 1e-8)
    1e-08
    """
    try:
        return check(*args, **kwargs)
    except InvalidOptionError as exc:
        if isinstance(exc, InvalidPlanOptionError):
            raise
        raise InvalidPlanOptionError(str(exc)) from None
