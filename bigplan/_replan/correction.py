"""The correction: solve for the change through its changed rows or columns, and certify the result.

See :mod:`bigplan._replan` for the method and the residual bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._evidence import Evidence, Status
from .._inputs import plan_block
from .._krylov_ops import krylov_backend
from ..backend import get_backend
from ..economy import Economy
from ..errors import InvalidOptionError, ShapeError
from ..solvers import operator
from ..static import solve_output
from .report import Correction

__all__ = ["BOUND_NOTE", "CERTIFY_SHARE", "certify", "delta_matrix", "factor_change", "host_block", "solve_correction"]

STAGE_RTOL = 3e-6  # what a float32 Krylov solve reliably reaches (inner_dtype=float32)
NO_RTOL = 1e-300  # the correction stages stop on atol (the scaled budget) alone; rtol must be > 0
CERTIFY_SHARE = 0.1  # the share of rtol one correction may add to a plan's certified residual


# ---------------------------------------------------------------------------
# the update
# ---------------------------------------------------------------------------
def host_block(economy: Economy, data: Any, what: str) -> tuple[np.ndarray, pd.Index | None]:
    """Plans as a float64 host block aligned to the economy, and their names."""
    pb = plan_block(economy, data, what, host=True)
    return np.asarray(pb.values, dtype=np.float64), pb.names


def delta_matrix(economy: Economy, delta: Any, old_economy: Economy | None) -> sp.csr_matrix | None:
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
        try:
            r, c, d = (np.asarray(a) for a in delta)
            D = sp.csr_matrix((d.astype(np.float64), (r.astype(np.int64), c.astype(np.int64))), shape=(n, n))
        except (TypeError, ValueError, IndexError) as exc:
            raise InvalidOptionError(
                f"delta must be a scipy.sparse matrix or (rows, cols, change) arrays of positions < {n} ({exc})"
            ) from None
    D.sum_duplicates()
    D.eliminate_zeros()
    if D.shape != (n, n):
        raise ShapeError(f"delta must be {n} x {n}, got {D.shape}")
    return D


def f64_residual(bk, economy: Economy, B: np.ndarray, X: np.ndarray) -> np.ndarray:
    """``B - (I - A) X`` in the economy's precision on backend ``bk``, returned on the host."""
    dt = np.dtype(economy.dtype)
    op = operator(bk, economy, dtype=dt)  # the same cached operator the solvers use
    R, _ = krylov_backend(bk).residual(op, bk.as_block(B, dt), bk.as_block(X, dt))  # fused where bk has it
    return np.asarray(bk.to_numpy(R), dtype=np.float64)


def factor_change(D: sp.csr_matrix, k: int) -> tuple[Correction, np.ndarray, np.ndarray]:
    """How ``D X`` factors through the fewest columns: the correction, changed rows, changed columns."""
    P = np.flatnonzero(np.diff(D.indptr))  # rows holding a change
    Q = np.unique(D.indices)  # columns holding a change
    if len(Q) < min(len(P), k):
        return Correction("columns", len(Q)), P, Q
    if len(P) < k:
        return Correction("rows", len(P)), P, Q
    return Correction("plans", k), P, Q


def solve_correction(economy: Economy, Y: np.ndarray, X_old: np.ndarray, D: sp.csr_matrix, budget: np.ndarray, *,
                backend: Any, solver: Any, inner: np.dtype) -> tuple:
    """``X_old + dX`` with ``(I - A') dX = D X_old`` solved to absolute residual ``budget`` per plan.

    Also returns, per plan, a bound on ``||R_W c_j||``, the correction's share of the
    new residual: ``Y - (I - A') (X_old + W C) = R_old + R_W C`` exactly, where
    ``R_W = U - (I - A') W`` is what the solves for ``W`` left (their true float64
    residuals).  None when the solves ran in float32 stages (their residuals are not
    float64 ones); the caller then measures.  Last, ``(W, C)`` when the update
    factors through fewer columns than plans (else None).
    """
    n, k = Y.shape
    corr, P, Q = factor_change(D, k)
    active = budget > 0
    if corr.kind == "columns":
        U = D.tocsc()[:, Q].toarray()  # n x q
        C = X_old[Q, :]
    elif corr.kind == "rows":
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
            return X_old.copy(), 0, 0, Correction(corr.kind, 0), np.zeros(k), None
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
    left = None  # float64 runs: the absolute residual each column of W leaves (scaled units)
    for stage in range(stages):
        norms = np.sqrt(get_backend("numpy").coldot(Rk, Rk)) if Rk.flags.c_contiguous else np.linalg.norm(Rk, axis=0)
        live = np.flatnonzero(norms > 1.0)
        if not mixed and np.dtype(inner) == np.float64:
            left = norms.copy()  # a column not solved leaves itself
        if live.size == 0:
            break
        whole = live.size == r
        sol = solve_output(
            economy, Rk if whole else Rk[:, live], backend=bk, method=solver,
            rtol=STAGE_RTOL if mixed and stage == 0 else NO_RTOL, atol=1.0, dtype=inner, raise_on_failure=False,
            keep_on_device=False,
        )
        if left is not None:  # the solver's residuals are true ones, relative to the right-hand sides
            left[live] = np.asarray(sol.residual, np.float64).reshape(-1) * norms[live]
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
            Rk = f64_residual(bk, economy, Us, W)
            matvecs += r
    corr = Correction(corr.kind, r)
    unscale = np.where(scale > 0, 1.0 / np.where(scale > 0, scale, 1.0), 0.0)
    growth = None
    if left is not None and np.isfinite(left).all():
        lw = left * unscale  # ||R_W e_i||, in the change's own units
        growth = lw.copy() if C is None else lw @ np.abs(C)  # ||R_W c_j|| <= sum_i ||R_W e_i|| |c_ij|
        growth[~active] = np.inf  # plans given no budget are measured
    if W is None:
        return X_old.copy(), matvecs, iters, corr, growth, None
    W *= unscale[None, :]
    if C is None:
        dX = W
        dX += X_old
    else:  # the store reads back (W @ C) + X_old the same way (bigplan._store.updates): keep them in step
        dX = get_backend("numpy").plus_product(X_old, W, C)
    return dX, matvecs, iters, corr, growth, (None if C is None else (W, np.ascontiguousarray(C)))



BOUND_NOTE = ("residuals certified without a product of A' with the outputs: each is at most the previous "
               "residual plus what the correction's own solve left (R' = R + R_W C exactly)")


class _Certified:
    """The corrected outputs with residuals certified by the bound; plans it does not certify measured."""

    def __init__(self, X: np.ndarray, residual: np.ndarray, status: np.ndarray, iterations: int, matvecs: int,
                 backend: str, notes: tuple):
        self.output, self.iterations, self.matvecs = X, iterations, matvecs
        self.evidence = Evidence(converged=bool((status == Status.CONVERGED).all()), status=status,
                                 iterations=iterations, residual=residual, backend=backend, method="correction",
                                 matvecs=matvecs, notes=notes)


def certify(economy: Economy, Y: np.ndarray, X: np.ndarray, bound: np.ndarray, certified: np.ndarray, *,
               backend: Any, solver: Any, rtol: float, raise_on_failure: bool) -> _Certified:
    """Accept the plans whose bound meets ``rtol``; check (and finish) the others with :func:`solve_output`."""
    k = Y.shape[1]
    res = np.where(certified, bound, np.nan)
    status = np.full(k, Status.CONVERGED, dtype=np.int8)
    its = mv = 0
    notes = [BOUND_NOTE]
    bk_name = get_backend(backend).name
    rest = np.flatnonzero(~certified)
    if rest.size:
        sol = solve_output(economy, Y[:, rest], backend=backend, method=solver, rtol=rtol, x0=X[:, rest],
                           raise_on_failure=raise_on_failure, keep_on_device=False)
        X[:, rest] = np.asarray(sol.output, np.float64).reshape(-1, rest.size)
        res[rest] = sol.residual
        status[rest] = sol.evidence.status
        its, mv = sol.iterations, sol.matvecs
        bk_name = sol.evidence.backend
        notes.append(f"{rest.size} plans measured (their bound exceeded rtol)")
        notes.extend(sol.evidence.notes)
    return _Certified(X, res, status, its, mv, bk_name, tuple(notes))


