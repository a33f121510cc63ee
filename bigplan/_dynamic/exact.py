"""``method="exact"``: Leontief's dynamic inverse (backward recursion), dense, capacity fully used.

``(I - A + B diag(1 - delta)) x_t = c_t + B x_{t+1}`` solves the balance
equations exactly, but is stable only while every eigenvalue ``lambda`` of
``(I - A)^{-1} B`` satisfies ``|lambda| < |1 + (1 - delta) lambda|``; negative
outputs or disinvestment raise :class:`~bigplan.dynamic.NegativePlanError`,
which says why.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._inputs import product_labels
from ..errors import NegativePlanError, NotProductiveError
from .common import SolveTally, shifted_economy
from .growth import unsustainable
from .problem import PlanOutcome, PlanProblem, Run

__all__ = ["solve_exact"]


def solve_exact(problem: PlanProblem) -> PlanOutcome:
    """The ``"exact"`` plan of ``problem`` (dense, on the host)."""
    import scipy.linalg as sla

    t0 = time.perf_counter()
    p = problem
    run = Run.of(problem, tally=SolveTally(backend="numpy", method="dense LU"))
    n, T, C, K1 = p.n, p.horizon, p.consumption, p.initial_capacity
    A = p.economy.A.toarray().astype(np.float64)
    B = p.capital.toarray().astype(np.float64)
    I = np.eye(n)
    keep = 1.0 - p.depreciation
    g = p.terminal_growth
    s_T = {"growth": g + p.depreciation, "replace": p.depreciation, "none": np.zeros(n)}[p.terminal]
    if p.terminal == "growth":
        try:
            shifted_economy(p.economy, np.maximum(s_T, 0), run.shifted)
        except NotProductiveError:
            raise unsustainable(p.economy, float(np.max(g)), "consumption growth continuing beyond the horizon") from None
    L = sla.lu_factor(I - A)
    back = sla.lu_factor(I - A + B * keep[None, :])
    X = np.zeros((n, T))
    N = np.zeros((n, T))
    free1 = K1 is None
    if T == 1 and not free1:
        N[:, 0] = s_T * K1
        X[:, 0] = sla.lu_solve(L, C[:, 0] + B @ N[:, 0])
    else:
        X[:, T - 1] = sla.solve(I - A - B * s_T[None, :], C[:, T - 1])
        N[:, T - 1] = s_T * X[:, T - 1]
        for t in range(T - 2, -1, -1):
            if t == 0 and not free1:
                X[:, 0] = sla.lu_solve(L, C[:, 0] + B @ (X[:, 1] - keep * K1))
            else:
                X[:, t] = sla.lu_solve(back, C[:, t] + B @ X[:, t + 1])
        for t in range(T - 1):
            Kt = K1 if (t == 0 and not free1) else X[:, t]
            N[:, t] = X[:, t + 1] - keep * Kt
    K = np.empty((n, T + 1))
    K[:, 0] = X[:, 0] if free1 else K1
    K[:, 1:T] = X[:, 1:T]
    K[:, T] = keep * K[:, T - 1] + N[:, T - 1]
    tol = 1e-9 * max(float(np.abs(X).max()), 1e-300)
    if (X < -tol).any() or (N < -tol).any():
        raise _negative_plan(p, X, N, tol, L, keep)
    np.maximum(X, 0.0, out=X)
    np.maximum(N, 0.0, out=N)
    R = X - A @ X - B @ N - C
    den = np.maximum(np.linalg.norm(X, axis=0), 1e-300)
    run.tally.residual = float((np.linalg.norm(R, axis=0) / den).max())
    if p.backend not in ("auto", "numpy"):
        run.notes.append("method='exact' runs dense on the host; backend ignored")
    ev = run.tally.evidence(converged=True, method="exact", seconds=time.perf_counter() - t0, notes=run.notes)
    return PlanOutcome(X, N, K, sweeps=1, solves=0, terminal_growth=p.terminal_growth,
                       expected_growth=p.expected_growth, evidence=ev)


def _negative_plan(p: PlanProblem, X: np.ndarray, N: np.ndarray, tol: float, L, keep: np.ndarray) -> NegativePlanError:
    """Why the dynamic inverse is not a plan: the latest bad period, the products, the amplification."""
    import scipy.linalg as sla

    n = p.n
    bad_x = X < -tol
    bad_n = N < -tol
    badcols = np.flatnonzero(bad_x.any(axis=0) | bad_n.any(axis=0))
    t = int(badcols.max())  # the recursion runs backward: the first failure is the latest period
    worst = np.minimum(X[:, t], N[:, t])
    order = np.argsort(worst)[: min(5, n)]
    names = product_labels(p.economy, order[worst[order] < -tol])
    M = sla.lu_solve(L, p.capital.toarray().astype(np.float64))
    lam = np.linalg.eigvals(M)
    kbar = float(np.mean(keep))
    with np.errstate(divide="ignore", invalid="ignore"):
        amp = np.abs(lam / (1 + kbar * lam))
    amp_max = float(np.nanmax(np.where(np.isfinite(amp), amp, np.inf))) if lam.size else math.nan
    min_re = float(lam.real.min())
    what = "negative outputs" if bad_x[:, t].any() else "disinvestment (negative new capacity)"
    return NegativePlanError(
        f"the exact solution of the balance equations (Leontief's dynamic inverse) has {what} in period "
        f"{t + 1} for {int((bad_x[:, t] | bad_n[:, t]).sum())} products (e.g. {names}), so it is not a plan. "
        f"The backward recursion amplifies deviations by up to {amp_max:.3g} per period (eigenvalues of "
        f"(I - A)^-1 B down to real part {min_re:.3g}; stable only while |lambda| < |1 + (1 - delta) lambda|"
        ", i.e. real parts above -1/2 without replacement), and an exact plan cannot disinvest where "
        "targets fall. Use method='capacity' (investment only where capacity must grow, idle capacity "
        "allowed) or method='lp' (inequality form)",
        period=t + 1, products=names, amplification=amp_max, min_real=min_re,
        output=X.T.copy(), new_capacity=N.T.copy(),
    )
