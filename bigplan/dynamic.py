"""The dynamic Leontief model: multi-year plans with capital, balanced growth,
and the choice between consumption now and growth.

Notation
--------
``A`` (n x n) technical coefficients; ``B`` (n x n, ``Economy.capital``) capital
coefficients: ``B[i, j]`` units of equipment ``i`` per unit of extra yearly
capacity of product ``j``; ``delta`` (n,) yearly replacement (depreciation)
rates of each product's equipment; ``K_t`` (n,) productive capacity available
in period ``t``; ``x_t`` gross output; ``c_t`` final consumption (private and
public) targets; ``N_t`` new capacity installed in period ``t`` (available from
``t + 1``).  Periods are numbered ``1 .. T`` in reports and ``0 .. T-1`` in
arrays.

The balance of every period is

    x_t = A x_t + B N_t + c_t,        K_{t+1} = (1 - delta) K_t + N_t,   N_t >= 0,

and a plan is adequate when ``x_t <= K_t``.  With capacity fully used
(``K_t = x_t``) this is Leontief's ``x_t = A x_t + B (x_{t+1} - x_t) +
B diag(delta) x_t + c_t``: expansion ``B (x_{t+1} - x_t)`` plus replacement.

Three ways to compute a plan (``plan(..., method=...)``):

``"capacity"`` (default; every backend; millions of products)
    Duchin and Szyld (1985) style: investment only where capacity must grow,
    idle capacity allowed, non-negative by construction, and only static
    solves (batched over the periods) with ``I - A`` or a shifted ``I - A -
    B diag(s)``.  (1) Capacity targets: the output that would sustain each
    period's consumption on a balanced continuation, ``xhat_t = (I - A - B
    diag(g + delta))^{-1} c_t``, all periods as one block.  ``g`` is the
    consumption growth rate; for targets growing at per-product rates it is
    re-estimated per product from the requirements of the first and last
    periods (two-column solves), and per period by a short fixed-point
    correction.  (2) Capacity is built forward, ``N_t = max(0, xhat_{t+1} -
    (1 - delta) K_t)``.  (3) Outputs ``x_t = (I - A)^{-1} (c_t + B N_t)``: one
    block solve, so the balance holds to the solver tolerance.  (4) Where an
    output exceeds the capacity built for it, that target is raised and the
    investment re-planned, in damped sweeps that account for the capacity
    offset (a full raise would cascade backwards by ``rho((I - A)^{-1} B)``
    per period, the instability of the dynamic model).  What cannot be met
    from the initial capacity or the labour supply is reported as a
    bottleneck.  On a balanced consumption path (a level and one growth rate)
    the expectations and outputs are rank-one solves and the plan is exactly
    the closed-form balanced path, with no sweep.
``"exact"`` (small economies, dense)
    Leontief's backward recursion ("dynamic inverse") with capacity fully
    used, ``(I - A + B diag(1 - delta)) x_t = c_t + B x_{t+1}``.  It is the
    exact solution of the balance equations, but it is stable only while
    every eigenvalue ``lambda`` of ``(I - A)^{-1} B`` satisfies
    ``|lambda| < |1 + (1 - delta) lambda|`` (for ``delta = 0``: real part above
    -1/2), which realistic capital-output ratios violate; it then turns
    negative.  Negative outputs or disinvestment raise
    :class:`NegativePlanError`, which says why.
``"lp"`` (small and medium economies)
    The inequality form of Dorfman, Samuelson and Solow (1958) solved with
    HiGHS: the plan meeting the targets with the least total labour, idle
    capacity allowed; shortfalls of capacity or labour are minimised first
    and reported when they cannot be avoided.

Balanced growth: :func:`max_growth_rate` finds the largest ``g`` with
``x = A x + B (g + delta) x``, ``x >= 0`` (``g*``: ``rho(A + B diag(delta) + g B)
= 1``; without replacement the Perron root of ``(I - A)^{-1} B`` is ``1/g*``)
with certified Collatz-Wielandt bounds from mat-vecs only, on every backend.
:func:`balanced_plan`, :func:`frontier`, :func:`compare` and
:func:`plot_frontier` lay out the fundamental decision: the share of the net
product invested, the growth rate it implies, and consumption now against
consumption growth.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .backend import Backend, get_backend
from .economy import Economy
from .errors import (
    ConvergenceError,
    InfeasiblePlanError,
    InvalidDemandError,
    InvalidPlanError,
    LabelError,
    NegativePlanError,
    NoCapitalError,
    NotProductiveError,
    ShapeError,
    UnsustainableGrowthError,
)
from .static import labour_values, solve_output
from .synthetic import capital_matrix

__all__ = [
    "BalancedProposal",
    "DynamicPlan",
    "GrowthRate",
    "InvalidPlanError",
    "NegativePlanError",
    "NoCapitalError",
    "PlanReport",
    "UnsustainableGrowthError",
    "balanced_plan",
    "capital_matrix",
    "compare",
    "frontier",
    "max_growth_rate",
    "plan",
    "plot_frontier",
    "require_capital",
]

_METHODS = ("capacity", "exact", "lp")
_TERMINALS = ("growth", "replace", "none")


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _host(x: Any) -> Any:
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("cupy", "cupyx"):
        return x.get()
    if mod in ("jax", "jaxlib"):
        return np.asarray(x)
    return x


def _check_economy(economy) -> None:
    if not isinstance(economy, Economy):
        raise TypeError(
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
    _check_economy(economy)
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


def _delta(economy: Economy) -> np.ndarray:
    d = economy.depreciation
    return np.zeros(economy.n) if d is None else np.asarray(d, dtype=np.float64)


def _scale_columns(B: sp.csr_matrix, s: np.ndarray) -> sp.csr_matrix:
    """``B @ diag(s)`` for CSR ``B`` (column ``j`` times ``s[j]``), without a product."""
    out = sp.csr_matrix((B.data * s[B.indices], B.indices.copy(), B.indptr.copy()), shape=B.shape)
    if not out.data.all():
        out.eliminate_zeros()
    return out


def _shifted_economy(economy: Economy, s: np.ndarray, cache: dict | None = None) -> Economy:
    """``Economy(A + B diag(s))`` (certified productive), or the economy itself when ``s == 0``.

    Raises NotProductiveError when ``rho(A + B diag(s)) >= 1``.
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
    As = (A64 + _scale_columns(B64, np.ascontiguousarray(s))).tocsr()
    e = Economy(As, dtype=economy.dtype, check=True)
    if cache is not None:
        cache[key] = e
    return e


def _column_basis(R: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
class _SolveStats:
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


def _solve(economy: Economy, R: np.ndarray, *, backend, method, rtol: float, x0: np.ndarray | None = None,
           stats: _SolveStats | None = None, reduce: bool = True) -> np.ndarray:
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
        basis, dep, coef, _ = _column_basis(R, tol=0.01 * rtol)
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
        if stats is not None:
            stats.add(sol, k, basis.size, time.perf_counter() - t0)
    return X


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


def _product_names(economy: Economy, idx: np.ndarray) -> list:
    if economy.labels is not None:
        return list(economy.labels[idx])
    return [int(i) for i in idx]


# ---------------------------------------------------------------------------
# synthetic capital coefficients
# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# balanced growth: the maximal rate g*
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class GrowthRate:
    """The maximal balanced growth rate ``g*`` and its evidence.

    Attributes
    ----------
    rate : float
        Point estimate of ``g*`` (``inf`` when capital never limits growth).
    lower, upper : float
        Certified bounds: ``rho(A + B diag(delta) + lower B) < 1 <= rho(A +
        B diag(delta) + upper B)`` by Collatz-Wielandt bounds (up to rounding),
        so ``lower <= g* <= upper``.  ``upper`` is ``inf`` when it could not be
        certified.
    proportions : numpy.ndarray, shape (n,)
        Output proportions on the balanced path (the Perron vector of ``A + B
        diag(delta) + g* B``), non-negative, summing to 1.  Products outside
        the dominant part of the economy (e.g. consumer goods that no
        industry uses) get 0: they are not needed to grow.
    spectral_radius : tuple of float
        The evidence: ``rho(A + B diag(delta) + lower B) <= spectral_radius[0] < 1 <=
        spectral_radius[1] <= rho(A + B diag(delta) + upper B)`` (Collatz-Wielandt bounds at
        the two ends of the bracket).
    depreciation : bool
        Whether replacement (``B diag(delta)``) was included: then ``rate`` is
        net of replacement.
    converged : bool
        ``upper - lower <= rtol * rate``.
    iterations, matvecs : int
        Power iterations and products with ``A`` (and with ``B``), per column.
    backend : str
    seconds : float
    notes : list of str

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), capital=np.array([[0.0, 0.0], [1.0, 1.0]]))
    >>> r = bigplan.dynamic.max_growth_rate(e)
    >>> r.converged, round(r.rate, 6), r.proportions.round(3).tolist()
    (True, 0.409091, [0.273, 0.727])
    """

    rate: float
    lower: float
    upper: float
    proportions: np.ndarray
    spectral_radius: tuple
    depreciation: bool
    converged: bool
    iterations: int
    matvecs: int
    backend: str
    seconds: float
    labels: pd.Index | None = None
    notes: list = field(default_factory=list)

    @property
    def max_rate(self) -> float:
        """Alias of :attr:`rate`."""
        return self.rate

    def to_series(self) -> pd.Series:
        """Balanced output proportions as a Series indexed by product."""
        return pd.Series(self.proportions, index=self.labels, name="proportion")

    def __repr__(self) -> str:
        state = "certified" if self.converged else "NOT converged"
        dep = "net of replacement" if self.depreciation else "no replacement"
        return (
            f"<GrowthRate g*={self.rate:.8g} in [{self.lower:.8g}, {self.upper:.8g}] ({state}, {dep}), "
            f"{self.iterations} iterations, backend={self.backend}, {self.seconds:.3g} s>"
        )


class _Pencil:
    """Products with ``A_eff + g B`` on a backend, for blocks of vectors with one ``g`` per column."""

    # support thresholds tried for the lower Collatz-Wielandt bound (relative to the column max)
    _THRESHOLDS = (1e-3, 1e-7, 1e-12, 1e-20, 1e-40, 1e-100)

    def __init__(self, bk: Backend, Aeff: sp.csr_matrix, B: sp.csr_matrix):
        self.bk = bk
        xp = bk.xp
        self.opA = bk.operator(Aeff.astype(np.float64), np.float64)
        self.opB = bk.operator(B.astype(np.float64), np.float64)
        self.rA = xp.asarray(np.asarray(Aeff.sum(axis=1), dtype=np.float64).ravel())
        self.rB = xp.asarray(np.asarray(B.sum(axis=1), dtype=np.float64).ravel())
        self.matvecs = 0

    def apply(self, X, g):
        """``(A_eff X, B X)`` ... combined: ``A_eff X + (B X) * g``."""
        bk = self.bk
        self.matvecs += X.shape[1]
        AX = bk.matmat(self.opA, X)
        BX = bk.matmat(self.opB, X)
        return AX, BX

    def bounds(self, X, Y, g, need_lo: bool = True):
        """Collatz-Wielandt bounds per column: ``hi`` needs X > 0; ``lo`` on a support, rigorously.

        ``lo`` is ``-inf`` when not asked for.
        """
        xp = self.bk.xp
        R = Y / X
        hi = xp.max(R, axis=0)
        if not need_lo:
            return hi, xp.full_like(hi, -xp.inf)
        m = xp.max(X, axis=0)
        # (A_eff + g B) X' >= Y - r * max(excluded X) with X' = X on the support S, 0 elsewhere,
        # so min_{i in S} (R_i - cut * r_i / X_i) bounds rho from below (cut = th * max X)
        q = (self.rA[:, None] + self.rB[:, None] * g[None, :]) / X
        best = xp.zeros_like(m)
        for th in self._THRESHOLDS:
            cut = (th * m)[None, :]
            val = xp.where(X > cut, R - cut * q, xp.inf)
            best = xp.maximum(best, xp.min(val, axis=0))
        return hi, best


def max_growth_rate(
    economy: Economy,
    *,
    depreciation: bool = True,
    rtol: float = 1e-6,
    maxiter: int = 5000,
    backend: str | Backend = "auto",
    shift: float = 1.0,
    g_max: float = 1e6,
) -> GrowthRate:
    """Maximal balanced growth rate ``g*`` with certified bounds, and its output proportions.

    ``g*`` is the largest ``g`` for which ``x = A x + B (g + delta) x`` has a
    solution ``x >= 0, x != 0``; equivalently ``rho(A + B diag(delta) + g B) =
    1``.  Without replacement (``delta = 0`` or ``depreciation=False``) the
    Perron root of ``(I - A)^{-1} B`` is ``1/g*``.

    Only mat-vecs with ``A`` and ``B`` are used, so it runs on every backend and
    scales to millions of products:

    1. A joint iteration on ``(g, x)``: one power step with ``A_eff + g B +
       shift I`` (``A_eff = A + B diag(delta)``), then ``g`` updated so that
       ``1^T (A_eff + g B) x = 1^T x`` (exact in one step when ``1^T`` is a
       left eigenvector, as in equal-column-sum economies).
    2. Certification: the power iteration is run at ``g (1 - eps)`` and ``g
       (1 + eps)`` (``eps = rtol / 2``) until the Collatz-Wielandt bounds
       decide both: ``max_i (M x)_i / x_i < 1`` certifies ``rho < 1``, so
       ``g (1 - eps) <= g*``; ``min_{i in S} ((M x)_i - r_i max_{j not in S}
       x_j) / x_i >= 1`` over a support ``S`` of ``x`` (``r`` the row sums of
       ``M``; a valid bound for the non-negative vector ``x`` cut to ``S``)
       certifies ``rho >= 1``, so ``g (1 + eps) >= g*``.  If undecided,
       ``eps`` is widened.

    The lower bound on ``rho`` works for reducible economies (singular ``B``,
    products nobody uses): it only needs the part of the Perron vector above
    the support threshold.  The bounds are exact statements about the
    floating-point products, not about rounding in them.

    Parameters
    ----------
    economy : Economy
        With capital coefficients (and optionally depreciation).
    depreciation : bool, default True
        Include replacement of worn equipment (``B diag(delta)``); ``g*`` is
        then net of replacement.  ``False`` gives the textbook ``g*`` with
        ``x = A x + g B x``.
    rtol : float, default 1e-6
        Target relative width of the certified bracket.
    maxiter : int
        Power-iteration limit of each phase.
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
    shift : float, default 1.0
        Power iteration on ``M + shift I`` (same Perron vector, no periodicity).
    g_max : float
        Growth rates above this are reported as unbounded (``rate = inf``):
        capital never limits growth (no cycle of capital requirements).

    Returns
    -------
    GrowthRate

    Raises
    ------
    NoCapitalError
        No capital coefficients, or ``B = 0``.
    InfeasiblePlanError
        Replacement alone cannot be sustained: ``rho(A + B diag(delta)) >= 1``.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import max_growth_rate
    >>> A = np.array([[0.2, 0.3], [0.1, 0.4]])
    >>> B = np.array([[0.0, 0.0], [1.0, 1.0]])      # product 1 is the only equipment
    >>> r = max_growth_rate(bigplan.Economy(A, capital=B))
    >>> M = np.linalg.solve(np.eye(2) - A, B)
    >>> bool(abs(r.rate - 1 / max(np.linalg.eigvals(M).real)) < 1e-6)
    True
    >>> bool(r.lower <= r.rate <= r.upper)
    True
    """
    t0 = time.perf_counter()
    B = require_capital(economy)
    if not (rtol > 0 and rtol < 1):
        raise ValueError(f"rtol must be in (0, 1), got {rtol}")
    if not _is_int(maxiter) or maxiter < 1:
        raise ValueError(f"maxiter must be an integer >= 1, got {maxiter!r}")
    delta = _delta(economy) if depreciation else np.zeros(economy.n)
    notes: list[str] = []
    if np.any(delta):
        Aeff = (economy.A.astype(np.float64) + _scale_columns(B.astype(np.float64), delta)).tocsr()
        try:
            base = Economy(Aeff, check=True)
        except NotProductiveError as exc:
            raise InfeasiblePlanError(
                "replacement alone cannot be sustained: the spectral radius of A + B diag(depreciation) is "
                f">= 1 (about {exc.spectral_radius:.6g}), so the economy cannot even keep its capacity, let "
                "alone grow (g* < 0). Lower the depreciation rates or capital coefficients of the sectors "
                f"{exc.sectors}"
            ) from None
        rho0 = base.productivity.upper
    else:
        Aeff = economy.A.astype(np.float64)
        rho0 = economy.productivity.upper
        if not (rho0 < 1):
            # unchecked economy: certify here
            lo_, hi_, _, _ = _cw_single(Aeff, stop_below=1.0)
            rho0 = hi_
            if not rho0 < 1:
                raise InfeasiblePlanError("A is not certified productive (spectral radius >= 1): no growth is possible")
    bk = get_backend(backend)
    xp = bk.xp
    pen = _Pencil(bk, Aeff, B)
    n = economy.n

    def col(v):
        return bk.block(np.asarray(v, dtype=np.float64).reshape(n, -1), np.float64)

    # ---- phase 1: joint iteration on (g, x) ------------------------------------
    gap_target = 0.25 * (1.0 - min(rho0, 1.0 - 1e-12)) * rtol  # CW gap that lets phase 2 decide at once
    X = col(np.ones(n))
    g = 0.0
    it_total = 0
    unbounded = False
    rho_at = (0.0, math.inf)
    for it1 in range(1, maxiter + 1):
        it_total = it1
        AX, BX = pen.apply(X, None)
        sx = float(bk.to_numpy(xp.sum(X)))
        sa = float(bk.to_numpy(xp.sum(AX)))
        sb = float(bk.to_numpy(xp.sum(BX)))
        g_new = max(0.0, (sx - sa) / sb) if sb > 0 else math.inf
        if not math.isfinite(g_new) or g_new > g_max:
            unbounded = True
            break
        Y = AX + BX * g_new
        dg = abs(g_new - g)
        g = g_new
        # the lower bound costs a few passes more: only when the rate has settled, every few steps
        need_lo = it1 > 2 and dg <= 0.1 * rtol * g and it1 % 4 == 0
        hi, lo = pen.bounds(X, Y, xp.asarray([g_new]), need_lo=need_lo)
        hi_f, lo_f = float(bk.to_numpy(hi)[0]), float(bk.to_numpy(lo)[0])
        if need_lo:
            rho_at = (lo_f, hi_f)
            if hi_f - lo_f <= gap_target:
                break
        X = Y + shift * X
        X = X / xp.max(X)
        X = xp.maximum(X, 1e-300)

    if unbounded:
        lo_, hi_, _, its = _power_bounds(pen, bk, col(np.ones(n)), g_max, maxiter, shift, decide_below=True)
        it_total += its
        if hi_ < 1:
            notes.append(
                f"capital never limits growth: rho(A + {g_max:g} B) <= {hi_:.6g} < 1 (no cycle of capital "
                "requirements: the equipment can be produced without equipment); g* is unbounded"
            )
            return GrowthRate(math.inf, g_max, math.inf, np.zeros(n), (lo_, hi_), bool(np.any(delta)),
                              True, it_total, pen.matvecs, bk.name, time.perf_counter() - t0,
                              economy.labels, notes)
        g = g_max / 2
        notes.append("growth-rate estimate diverged; restarted from a bracket search")

    # ---- phase 2: certify a bracket [g (1 - eps), g (1 + eps)] -----------------
    eps = rtol / 2
    x_host = bk.to_numpy(X).reshape(n)
    lower, upper = 0.0, math.inf
    Xc = col(np.stack([x_host, x_host], axis=1))
    budget = maxiter
    widen = 0
    while budget > 0:
        gl, gh = g * (1 - eps), g * (1 + eps)
        gs = xp.asarray(np.array([gl, gh]))
        best_hi = np.full(2, np.inf)
        best_lo = np.zeros(2)
        chunk = min(budget, max(60, int(8 * math.log(1 / eps))))
        moved = False
        for _ in range(chunk):
            AX, BX = pen.apply(Xc, None)
            Y = AX + BX * gs[None, :]
            hi, lo = pen.bounds(Xc, Y, gs)
            best_hi = np.minimum(best_hi, bk.to_numpy(hi))
            best_lo = np.maximum(best_lo, bk.to_numpy(lo))
            it_total += 1
            budget -= 1
            if best_hi[0] < 1:
                lower = max(lower, gl)
            if best_lo[1] >= 1:
                upper = min(upper, gh)
            if best_lo[0] >= 1:  # rho(gl) >= 1: the estimate was too high
                upper = min(upper, gl)
                moved = True
            if best_hi[1] < 1:  # rho(gh) < 1: the estimate was too low
                lower = max(lower, gh)
                moved = True
            if moved or (best_hi[0] < 1 and best_lo[1] >= 1):
                break
            Xc = Y + shift * Xc
            Xc = Xc / xp.max(Xc, axis=0)[None, :]
            Xc = xp.maximum(Xc, 1e-300)
        rho_at = (float(best_hi[0]), float(best_lo[1]))
        if math.isfinite(upper) and upper - lower <= 1.0000001 * rtol * max(lower, 1e-300) + 1e-300:
            break
        if moved:
            g = 0.5 * (lower + upper) if math.isfinite(upper) else max(2 * lower, g * (1 + 10 * eps))
            continue
        if best_hi[0] < 1 and best_lo[1] >= 1:
            break
        widen += 1
        eps = min(0.5, eps * 10)
    if widen:
        notes.append(f"bracket widened {widen} time(s) to be certified within maxiter={maxiter}")
    if not math.isfinite(upper):
        notes.append("no upper bound could be certified within maxiter; raise maxiter")
    rate = g if lower <= g <= upper else (0.5 * (lower + upper) if math.isfinite(upper) else lower)
    prop = bk.to_numpy(Xc)[:, 0].astype(np.float64)
    prop[prop <= 1e-290] = 0.0
    prop = prop / prop.sum()
    converged = math.isfinite(upper) and lower > 0 and (upper - lower) <= 1.0000001 * rtol * rate + 1e-300
    return GrowthRate(
        rate=float(rate),
        lower=float(lower),
        upper=float(upper),
        proportions=prop,
        spectral_radius=rho_at,
        depreciation=bool(np.any(delta)),
        converged=bool(converged),
        iterations=int(it_total),
        matvecs=int(pen.matvecs),
        backend=bk.name,
        seconds=time.perf_counter() - t0,
        labels=economy.labels,
        notes=notes,
    )


def _power_bounds(pen: _Pencil, bk: Backend, X, g: float, maxiter: int, shift: float, decide_below: bool):
    xp = bk.xp
    gs = xp.asarray([g])
    best_hi, best_lo = math.inf, 0.0
    it = 0
    for it in range(1, maxiter + 1):
        AX, BX = pen.apply(X, None)
        Y = AX + BX * gs[None, :]
        hi, lo = pen.bounds(X, Y, gs)
        best_hi = min(best_hi, float(bk.to_numpy(hi)[0]))
        best_lo = max(best_lo, float(bk.to_numpy(lo)[0]))
        if (decide_below and best_hi < 1) or best_lo >= 1:
            break
        X = Y + shift * X
        X = X / xp.max(X)
        X = xp.maximum(X, 1e-300)
    return best_lo, best_hi, X, it


def _cw_single(A: sp.csr_matrix, stop_below: float):
    from .economy import spectral_radius_bounds

    return spectral_radius_bounds(A, stop_below=stop_below, maxiter=max(2000, 4 * A.shape[0]))


def _growth_message(economy: Economy, rate: float, what: str, *, depreciation: bool = True) -> UnsustainableGrowthError:
    try:
        gr = max_growth_rate(economy, depreciation=depreciation)
        mx, lo, hi = gr.rate, gr.lower, gr.upper
        tail = (
            f"the maximal balanced growth rate is g* = {mx:.6g} per period (certified in [{lo:.6g}, {hi:.6g}]"
            f"{', net of replacement' if gr.depreciation else ''})"
        )
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - the message itself must not fail
        mx = lo = hi = math.nan
        tail = f"the maximal balanced growth rate could not be computed ({exc})"
    return UnsustainableGrowthError(
        f"{what} of {rate:.6g} per period cannot be sustained: {tail}. No non-negative balanced path grows "
        "faster; lower the growth rate (or the investment share), or plan over a finite horizon with "
        "terminal='replace' or 'none'",
        rate=rate, max_rate=mx, lower=lo, upper=hi,
    )


# ---------------------------------------------------------------------------
# multi-period plans
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class DynamicPlan:
    """A multi-period plan: outputs, investment, capacity, labour and bottlenecks.

    Arrays are ``(T, n)`` (periods x products) on the host; period ``t`` of
    the reports is row ``t - 1``.

    Attributes
    ----------
    output : numpy.ndarray, (T, n)
        Gross output ``x_t``.
    consumption : numpy.ndarray, (T, n)
        The final-consumption targets ``c_t`` the plan meets.
    new_capacity : numpy.ndarray, (T, n)
        Capacity installed in period ``t`` (available from ``t + 1``), ``N_t >= 0``.
    capacity : numpy.ndarray, (T, n)
        Capacity available in period ``t``, ``K_t``.
    final_capacity : numpy.ndarray, (n,)
        ``K_{T+1}``, the capacity left for the period after the horizon.
    labour : numpy.ndarray (T, m) or None
        Labour needed per period and kind.
    labour_supply : numpy.ndarray (T, m) or None
        Labour available per period and kind.
    method, terminal : str
    terminal_growth : float or numpy.ndarray (n,)
        Growth rate assumed beyond the horizon (``terminal="growth"``), per
        product when the targets grow at per-product rates.
    expected_growth : float or numpy.ndarray (n,)
        Growth rates of the balanced capacity expectations (``"capacity"``).
    converged : bool
        Every solve reached its tolerance and the capacity sweep settled.
    sweeps : int
        Capacity sweeps (``"capacity"``) or 1.
    solver_residual : float
        Largest relative residual reported by the static solves.
    matvecs, solves : int
        Sparse products (per column) and block solves the plan took.
    capacity_given : bool
        Whether initial capacity was given (else it is taken as the first
        period's requirement).
    notes : list of str

    Methods
    -------
    residual()
        Relative residual of the balance of every period (recomputed).
    summary()
        One row per period: totals of consumption, investment, output,
        capacity, idle capacity, shortfalls, labour.
    explain()
        The bottleneck report as text.
    to_frame(what)
        Any ``(T, n)`` attribute as a DataFrame.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), depreciation=0.05, capacity=[2.0, 2.0])
    >>> p = bigplan.dynamic.plan(e, [1.0, 1.0], horizon=3, growth=0.02)
    >>> p.feasible, p.bottlenecks[["period", "product"]].values.tolist()
    (False, [[1, 'tools'], [1, 'food']])
    >>> print(p.explain().splitlines()[1][:60])
      period 1: 2 products short of capacity (initial capacity i
    """

    output: np.ndarray
    consumption: np.ndarray
    new_capacity: np.ndarray
    capacity: np.ndarray
    final_capacity: np.ndarray
    labour: np.ndarray | None
    labour_supply: np.ndarray | None
    method: str
    terminal: str
    terminal_growth: Any
    expected_growth: Any
    converged: bool
    sweeps: int
    solver_residual: float
    capacity_given: bool
    backend: str
    seconds: float
    economy: Economy
    shortfall_tol: float = 1e-9
    matvecs: int = 0
    solves: int = 0
    notes: list = field(default_factory=list)

    # -- derived quantities ---------------------------------------------------
    @property
    def horizon(self) -> int:
        return self.output.shape[0]

    @property
    def n(self) -> int:
        return self.output.shape[1]

    @property
    def labels(self) -> pd.Index | None:
        return self.economy.labels

    @cached_property
    def investment(self) -> np.ndarray:
        """Investment goods delivered per period, ``B N_t`` (T, n): expansion plus replacement."""
        B = self.economy.capital
        return np.ascontiguousarray((B @ self.new_capacity.T).T)

    @cached_property
    def replacement_capacity(self) -> np.ndarray:
        """The part of ``N_t`` that replaces worn capacity, ``min(N_t, delta K_t)`` (T, n)."""
        d = _delta(self.economy)
        return np.minimum(self.new_capacity, d[None, :] * self.capacity)

    @cached_property
    def replacement(self) -> np.ndarray:
        """Investment goods for replacement, ``B min(N_t, delta K_t)`` (T, n)."""
        return np.ascontiguousarray((self.economy.capital @ self.replacement_capacity.T).T)

    @cached_property
    def expansion(self) -> np.ndarray:
        """Investment goods for capacity growth, ``B max(0, K_{t+1} - K_t)`` (T, n)."""
        return self.investment - self.replacement

    @cached_property
    def idle(self) -> np.ndarray:
        """Idle capacity ``max(0, K_t - x_t)`` (T, n)."""
        return np.maximum(self.capacity - self.output, 0.0)

    @cached_property
    def capacity_shortfall(self) -> np.ndarray:
        """Required output above capacity, ``max(0, x_t - K_t)`` beyond the tolerance (T, n)."""
        short = self.output - self.capacity
        thr = self._thresholds()
        return np.where(short > thr[:, None], short, 0.0)

    def _thresholds(self) -> np.ndarray:
        scale = np.maximum(np.abs(self.output).max(axis=1), np.abs(self.capacity).max(axis=1))
        return self.shortfall_tol * np.maximum(scale, np.finfo(float).tiny)

    @cached_property
    def labour_shortfall(self) -> np.ndarray | None:
        """Labour needed above labour available, per period and kind (T, m), or None."""
        if self.labour is None or self.labour_supply is None:
            return None
        short = self.labour - self.labour_supply
        thr = self.shortfall_tol * np.maximum(np.abs(self.labour), 1.0)
        return np.where(short > thr, short, 0.0)

    @property
    def feasible(self) -> bool:
        """No product needs more than its capacity and no labour kind more than its supply."""
        ok = not self.capacity_shortfall.any()
        ls = self.labour_shortfall
        return bool(ok and (ls is None or not ls.any()))

    @cached_property
    def bottlenecks(self) -> pd.DataFrame:
        """Products whose required output exceeds capacity: one row per (period, product).

        Columns: ``period`` (1-based), ``product``, ``required``, ``capacity``,
        ``shortfall``, ``relative`` (shortfall / required); largest shortfall
        first within each period.
        """
        short = self.capacity_shortfall
        t, j = np.nonzero(short)
        df = pd.DataFrame(
            {
                "period": t + 1,
                "product": _product_names(self.economy, j),
                "required": self.output[t, j],
                "capacity": self.capacity[t, j],
                "shortfall": short[t, j],
            }
        )
        df["relative"] = df["shortfall"] / df["required"].where(df["required"] > 0, np.nan)
        return df.sort_values(["period", "shortfall"], ascending=[True, False], ignore_index=True)

    @cached_property
    def labour_bottlenecks(self) -> pd.DataFrame:
        """Labour shortfalls: one row per (period, labour kind) short of supply."""
        cols = ["period", "labour", "required", "available", "shortfall"]
        ls = self.labour_shortfall
        if ls is None:
            return pd.DataFrame(columns=cols)
        t, k = np.nonzero(ls)
        names = list(self.economy.labour_names)
        return pd.DataFrame(
            {
                "period": t + 1,
                "labour": [names[i] for i in k],
                "required": self.labour[t, k],
                "available": self.labour_supply[t, k],
                "shortfall": ls[t, k],
            },
            columns=cols,
        )

    def residual(self) -> np.ndarray:
        """Relative residual of each period's balance, recomputed from the plan.

        ``||x_t - A x_t - B N_t - c_t|| / max(||c_t + B N_t||, ||x_t||)`` (2-norms).

        Returns
        -------
        numpy.ndarray, shape (T,)
        """
        A = self.economy.A
        X = self.output.T
        R = X - A @ X - self.investment.T - self.consumption.T
        den = np.maximum(np.linalg.norm(self.consumption.T + self.investment.T, axis=0), np.linalg.norm(X, axis=0))
        den = np.where(den > 0, den, 1.0)
        return np.linalg.norm(R, axis=0) / den

    def summary(self) -> pd.DataFrame:
        """Totals per period (sums over products, in mixed physical units, and labour)."""
        T = self.horizon
        idx = pd.RangeIndex(1, T + 1, name="period")
        df = pd.DataFrame(
            {
                "consumption": self.consumption.sum(axis=1),
                "investment": self.investment.sum(axis=1),
                "replacement": self.replacement.sum(axis=1),
                "expansion": self.expansion.sum(axis=1),
                "output": self.output.sum(axis=1),
                "capacity": self.capacity.sum(axis=1),
                "idle_capacity": self.idle.sum(axis=1),
                "capacity_shortfall": self.capacity_shortfall.sum(axis=1),
                "products_short": (self.capacity_shortfall > 0).sum(axis=1),
            },
            index=idx,
        )
        if self.labour is not None:
            for k, name in enumerate(self.economy.labour_names):
                df[f"{name}"] = self.labour[:, k]
                if self.labour_supply is not None:
                    df[f"{name}_supply"] = self.labour_supply[:, k]
                    df[f"{name}_shortfall"] = self.labour_shortfall[:, k]
        return df

    def explain(self, top: int = 5) -> str:
        """The bottleneck report, as readable text."""
        lines = [
            f"{self.horizon}-period plan for {self.n} products (method={self.method}, terminal={self.terminal}"
            + (f" at {float(np.mean(self.terminal_growth)):.4g}/period" if self.terminal == "growth" else "")
            + f"): {'feasible' if self.feasible else 'NOT feasible'}."
        ]
        bn = self.bottlenecks
        lb = self.labour_bottlenecks
        for t in range(1, self.horizon + 1):
            parts = []
            sub = bn[bn["period"] == t]
            if len(sub):
                worst = ", ".join(
                    f"{p!r} needs {r:.6g} with capacity {c:.6g}"
                    for p, r, c in zip(sub["product"][:top], sub["required"][:top], sub["capacity"][:top])
                )
                why = (
                    "initial capacity is too small" if t == 1 and self.capacity_given
                    else "capacity could not be built in time"
                )
                parts.append(f"{len(sub)} products short of capacity ({why}; largest: {worst})")
            lsub = lb[lb["period"] == t]
            for _, row in lsub.iterrows():
                parts.append(
                    f"labour {row['labour']!r}: needs {row['required']:.6g}, {row['available']:.6g} available "
                    f"(short {row['shortfall']:.6g})"
                )
            if parts:
                lines.append(f"  period {t}: " + "; ".join(parts))
        if len(lines) == 1:
            lines.append("  no bottlenecks: every output within capacity and labour within supply.")
        for note in self.notes:
            lines.append(f"  note: {note}")
        return "\n".join(lines)

    def to_frame(self, what: str = "output") -> pd.DataFrame:
        """A ``(T, n)`` attribute (``"output"``, ``"investment"``, ``"capacity"``...) as periods x products."""
        arr = getattr(self, what)
        if not (isinstance(arr, np.ndarray) and arr.shape == self.output.shape):
            raise ValueError(f"{what!r} is not a (periods x products) attribute of the plan")
        return pd.DataFrame(arr, index=pd.RangeIndex(1, self.horizon + 1, name="period"), columns=self.labels)

    def __repr__(self) -> str:
        res = float(np.max(self.residual())) if self.n <= 2_000_000 else float("nan")
        return (
            f"<DynamicPlan T={self.horizon} n={self.n} method={self.method} terminal={self.terminal} "
            f"{'feasible' if self.feasible else 'NOT feasible'}, {len(self.bottlenecks)} bottlenecks, "
            f"max balance residual {res:.3g}, {self.seconds:.3g} s>"
        )


# -- argument handling --------------------------------------------------------
def _horizon(horizon) -> int:
    if not _is_int(horizon):
        raise InvalidPlanError(f"horizon must be a whole number of periods >= 1, got {horizon!r}")
    if horizon < 1:
        raise InvalidPlanError(f"horizon must be >= 1 period, got {horizon}; a plan needs at least one period")
    return int(horizon)


def _vector_arg(v, n: int, what: str, *, allow_scalar: bool = True, lo: float | None = 0.0) -> np.ndarray:
    arr = np.asarray(_host(v), dtype=np.float64) if not isinstance(v, pd.Series) else v.to_numpy(np.float64)
    if arr.ndim == 0 and allow_scalar:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise ShapeError(f"{what} must have shape ({n},) (one number per product){' or be a number' if allow_scalar else ''}, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidDemandError(f"{what} has NaN or infinite entries")
    if lo is not None and (arr < lo).any():
        raise InvalidDemandError(f"{what} must be >= {lo:g}, got a minimum of {arr.min():.6g}")
    return arr


def _align_series(economy: Economy, s: pd.Series, what: str) -> np.ndarray:
    if economy.labels is not None:
        extra = s.index.difference(economy.labels)
        missing = economy.labels.difference(s.index)
        if len(extra):
            raise LabelError(f"{what} names {len(extra)} products the economy does not have, e.g. {list(extra[:5])}")
        if len(missing):
            raise LabelError(f"{what} lacks {len(missing)} products, e.g. {list(missing[:5])}; give 0 for none")
        s = s.reindex(economy.labels)
    return s.to_numpy(np.float64)


def _consumption_path(economy: Economy, consumption, horizon, growth) -> tuple[np.ndarray, str, Any]:
    """Return ``(C (n, T), kind, growth)``; kind is ``"level"`` or ``"path"``."""
    n = economy.n
    if isinstance(consumption, pd.DataFrame):
        df = consumption
        if economy.labels is not None:
            extra = df.columns.difference(economy.labels)
            missing = economy.labels.difference(df.columns)
            if len(extra) or len(missing):
                raise LabelError(
                    "consumption path columns must be exactly the economy's products "
                    f"({len(missing)} missing, {len(extra)} unknown)"
                )
            df = df.reindex(columns=economy.labels)
        arr = df.to_numpy(np.float64)
    elif isinstance(consumption, pd.Series):
        arr = _align_series(economy, consumption, "consumption")
    else:
        arr = np.asarray(_host(consumption))
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise InvalidDemandError(f"consumption must be numeric, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        if arr.shape != (n,):
            raise ShapeError(
                f"a starting consumption level must have shape ({n},) (one number per product), got {arr.shape}"
            )
        if horizon is None:
            raise InvalidPlanError("give horizon=T with a starting consumption level (or a (T, n) consumption path)")
        T = _horizon(horizon)
        if growth is None:
            g = 0.0
        else:
            garr = np.asarray(growth, dtype=np.float64)
            if garr.ndim == 0:
                g = float(garr)
                if not (math.isfinite(g) and g > -1):
                    raise InvalidPlanError(f"growth must be a finite rate > -1 per period, got {growth!r}")
            else:
                if garr.shape != (n,):
                    raise ShapeError(f"growth must be a number or have shape ({n},), got {garr.shape}")
                if not (np.isfinite(garr).all() and (garr > -1).all()):
                    raise InvalidPlanError("growth rates must be finite and > -1")
                g = garr
        factors = (1.0 + np.asarray(g))[..., None] ** np.arange(T)[None, :] if np.ndim(g) else (1.0 + g) ** np.arange(T)
        C = arr[:, None] * factors
        kind = "level"
    elif arr.ndim == 2:
        if arr.shape[1] != n:
            hint = " (periods are rows: transpose it)" if arr.shape[0] == n else ""
            raise ShapeError(f"a consumption path must have shape (T, {n}), got {arr.shape}{hint}")
        if growth is not None:
            raise InvalidPlanError(
                "growth= applies to a starting consumption level; a (T, n) path already says how consumption "
                "grows (use terminal_growth= for the rate after the horizon)"
            )
        T = arr.shape[0]
        if T < 1:
            raise InvalidPlanError("the consumption path has no periods (0 rows)")
        if horizon is not None and _horizon(horizon) != T:
            raise ShapeError(f"horizon={horizon} but the consumption path has {T} periods (rows)")
        C = np.ascontiguousarray(arr.T)
        g = None
        kind = "path"
    else:
        raise ShapeError(f"consumption must be a level ({n},) or a path (T, {n}), got shape {arr.shape}")
    if not np.isfinite(C).all():
        raise InvalidDemandError("consumption targets have NaN or infinite entries; use 0 for none")
    if (C < 0).any():
        raise InvalidDemandError(
            f"consumption targets must be >= 0 (smallest {C.min():.6g}); a dynamic plan cannot run on negative "
            "final demand"
        )
    return np.ascontiguousarray(C), kind, g


def _labour_supply_path(economy: Economy, labour_supply, T: int) -> np.ndarray | None:
    if economy.labour is None:
        if labour_supply is not None:
            raise ShapeError("labour_supply given but the economy has no labour coefficients")
        return None
    m = economy.labour.shape[0]
    ls = economy.labour_supply if labour_supply is None else labour_supply
    if ls is None:
        return None
    arr = np.asarray(_host(ls), dtype=np.float64)
    if arr.ndim == 0:
        if m != 1:
            raise ShapeError(f"labour_supply needs one number per labour kind ({m})")
        arr = np.full((T, 1), float(arr))
    elif arr.ndim == 1:
        if arr.shape == (m,):
            arr = np.broadcast_to(arr, (T, m)).copy()
        elif m == 1 and arr.shape == (T,):
            arr = arr[:, None].copy()
        else:
            raise ShapeError(f"labour_supply must have shape ({m},) or (T={T}, {m}), got {arr.shape}")
    elif arr.shape != (T, m):
        raise ShapeError(f"labour_supply must have shape ({m},) or (T={T}, {m}), got {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InvalidDemandError("labour_supply must be finite and >= 0")
    return arr


def _aggregate_growth(C: np.ndarray) -> tuple[float, float]:
    """(mean growth over the path, growth of the last period) of total consumption."""
    tot = C.sum(axis=0)
    T = C.shape[1]
    if T < 2 or tot[0] <= 0:
        return 0.0, 0.0
    mean = (tot[-1] / tot[0]) ** (1.0 / (T - 1)) - 1.0 if tot[-1] > 0 else -1.0
    last = tot[-1] / tot[-2] - 1.0 if tot[-2] > 0 else mean
    return float(mean), float(last)


def plan(
    economy: Economy,
    consumption: Any,
    *,
    horizon: int | None = None,
    growth: Any = None,
    capacity: Any = None,
    labour_supply: Any = None,
    method: str = "auto",
    terminal: str = "growth",
    terminal_growth: float | None = None,
    backend: str | Backend = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    expectation_rtol: float | None = None,
    max_sweeps: int | None = None,
    shortfall_tol: float | None = None,
    max_n_exact: int = 2000,
    max_lp_variables: int = 2_000_000,
) -> DynamicPlan:
    """A multi-period plan: output, investment, capacity and labour for every period.

    Parameters
    ----------
    economy : Economy
        With capital coefficients ``B``; depreciation, initial capacity, labour
        and labour supply are used when present.
    consumption : array_like or pandas object
        Final consumption targets (private and public): a path ``(T, n)``
        (periods x products; a DataFrame's columns are aligned to the labels),
        or a starting level ``(n,)`` with ``horizon`` and ``growth``.
    horizon : int, optional
        Number of periods ``T >= 1`` (required with a starting level).
    growth : float or array_like (n,), optional
        Growth rate of consumption per period for a starting level (default 0).
    capacity : array_like (n,), optional
        Initial capacity ``K_1`` (default: the economy's).  Without one, the
        first period's capacity is taken as what the first period needs
        (``"capacity"``, ``"exact"``) or as the balanced requirement of the
        first period (``"lp"``, which could otherwise buy later capacity by
        over-producing in period 1).
    labour_supply : float, (m,) or (T, m), optional
        Labour available per period (default: the economy's, constant).
    method : {"auto", "capacity", "exact", "lp"}
        See the module docstring; ``"auto"`` is ``"capacity"``.
    terminal : {"growth", "replace", "none"}
        What happens after the horizon: capacity keeps growing at
        ``terminal_growth`` (default), is kept (replacement only), or no
        investment is made in the last period.
    terminal_growth : float, optional
        Growth beyond the horizon; default ``growth`` for a scalar rate, else
        the last period's growth of total consumption.  Must be below ``g*``.
    backend : {"auto", "numpy", "cupy", "jax"} or Backend
        Where the static solves run (``"capacity"``); ``"exact"`` and ``"lp"``
        run on the host.
    solver : str or method object
        Static solver (``"auto"``, ``"bicgstab"``, ``"neumann"``, ``"direct"``).
    rtol : float, default 1e-10
        Relative tolerance of every static solve; the balance residual of
        each period is of this order.
    expectation_rtol : float, optional
        Tolerance of the expectation solve (default ``rtol``).
    max_sweeps : int, optional
        Capacity sweeps allowed (``"capacity"``; default ``max(20, 4 T)``).  A
        balanced path needs none; a shortfall found in period ``t`` moves the
        investment back one period per sweep, so irregular paths take about
        ``T`` sweeps (each one block solve of the periods that changed).
        Shortfalls left when the limit is reached are reported as bottlenecks.
    shortfall_tol : float, optional
        Shortfalls below ``shortfall_tol * max(output of the period)`` are
        rounding, not bottlenecks (default ``100 * rtol``; ``1e-6`` for ``"lp"``).
    max_n_exact : int
        Largest economy for the dense ``"exact"`` method.
    max_lp_variables : int
        Largest LP (``4 n T`` variables) for ``"lp"``.

    Returns
    -------
    DynamicPlan

    Raises
    ------
    NoCapitalError
        The economy has no capital goods.
    ShapeError, InvalidDemandError, LabelError
        Targets of the wrong shape, negative or not finite.
    InvalidPlanError
        ``horizon < 1``, unknown ``method`` or ``terminal``.
    UnsustainableGrowthError
        Consumption growth (or terminal growth) at or above ``g*``; the
        message gives ``g*`` and its bounds.
    NegativePlanError
        ``method="exact"`` and the dynamic inverse gives negative outputs or
        disinvestment.

    Notes
    -----
    Infeasible targets (initial capacity or labour too small) do not raise:
    the plan is returned with ``feasible=False`` and the bottlenecks of every
    period in :attr:`DynamicPlan.bottlenecks`, :attr:`DynamicPlan.labour_bottlenecks`
    and :meth:`DynamicPlan.explain`.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> A = np.array([[0.2, 0.3], [0.1, 0.4]])
    >>> B = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> e = bigplan.Economy(A, labour=[1.0, 1.0], capital=B, depreciation=0.05)
    >>> p = bigplan.dynamic.plan(e, np.array([1.0, 1.0]), horizon=5, growth=0.03)
    >>> p.output.shape, p.feasible, bool(p.residual().max() < 1e-9)
    ((5, 2), True, True)
    >>> bool(np.allclose(p.output[1:] / p.output[:-1], 1.03))   # the balanced path
    True
    """
    t0 = time.perf_counter()
    B = require_capital(economy)
    n = economy.n
    if not isinstance(method, str) or method.lower() not in ("auto",) + _METHODS:
        raise InvalidPlanError(f"unknown method {method!r}; choose one of {('auto',) + _METHODS}")
    method = "capacity" if method.lower() == "auto" else method.lower()
    if not isinstance(terminal, str) or terminal.lower() not in _TERMINALS:
        raise InvalidPlanError(f"unknown terminal rule {terminal!r}; choose one of {_TERMINALS}")
    terminal = terminal.lower()
    if not (rtol > 0):
        raise ValueError(f"rtol must be > 0, got {rtol}")
    C, kind, g_given = _consumption_path(economy, consumption, horizon, growth)
    T = C.shape[1]
    if capacity is None:
        K1 = None if economy.capacity is None else np.asarray(economy.capacity, dtype=np.float64)
    else:
        K1 = _vector_arg(capacity, n, "capacity", allow_scalar=False)
    supply = _labour_supply_path(economy, labour_supply, T)
    delta = _delta(economy)
    g_mean, g_last = _aggregate_growth(C)
    if kind == "level" and g_given is not None:
        g_expect = g_given if np.ndim(g_given) else float(g_given)
    elif kind == "path" and T > 1:
        # per-product mean growth where a product is consumed at both ends, else the aggregate
        first, last = C[:, 0], C[:, -1]
        both = (first > 0) & (last > 0)
        g_expect = np.full(n, g_mean)
        g_expect[both] = (last[both] / first[both]) ** (1.0 / (T - 1)) - 1.0
        if np.allclose(g_expect, g_expect[0], rtol=0, atol=1e-13):
            g_expect = float(g_expect[0])
    else:
        g_expect = 0.0
    if terminal == "growth":
        if terminal_growth is None:
            g_term = g_expect
            g_term_default = True
        else:
            g_term = float(terminal_growth)
            if not (math.isfinite(g_term) and g_term > -1):
                raise InvalidPlanError(f"terminal_growth must be a finite rate > -1, got {terminal_growth!r}")
    else:
        if terminal_growth is not None:
            raise InvalidPlanError(f"terminal_growth applies to terminal='growth', not {terminal!r}")
        g_term = 0.0
    g_term_default = terminal == "growth" and terminal_growth is None
    notes: list[str] = []
    stol = shortfall_tol if shortfall_tol is not None else (1e-6 if method == "lp" else max(100 * rtol, 1e-12))
    ctx = {
        "economy": economy, "B": B, "C": C, "K1": K1, "delta": delta, "T": T, "n": n, "terminal": terminal,
        "g_term": g_term, "g_expect": g_expect, "g_mean": g_mean, "g_last": g_last, "backend": backend,
        "solver": solver, "rtol": rtol, "notes": notes, "supply": supply, "stol": stol,
        "g_term_default": g_term_default,
    }
    if method == "capacity":
        ctx["expectation_rtol"] = rtol if expectation_rtol is None else float(expectation_rtol)
        ctx["max_sweeps"] = max(20, 4 * T) if max_sweeps is None else int(max_sweeps)
        if ctx["max_sweeps"] < 1:
            raise InvalidPlanError(f"max_sweeps must be >= 1, got {max_sweeps}")
        X, N, K, sweeps, conv, stats = _plan_capacity(ctx)
    elif method == "exact":
        if n > max_n_exact:
            raise InvalidPlanError(
                f"method='exact' factorizes dense n x n matrices; n={n} > max_n_exact={max_n_exact}. Use "
                "method='capacity' (scales to millions of products) or raise max_n_exact"
            )
        X, N, K, sweeps, conv, stats = _plan_exact(ctx)
    else:
        if 4 * n * T > max_lp_variables:
            raise InvalidPlanError(
                f"method='lp' needs about {4 * n * T:,} variables (> max_lp_variables={max_lp_variables:,}); "
                "use method='capacity' for large economies, or raise max_lp_variables"
            )
        X, N, K, sweeps, conv, stats = _plan_lp(ctx)
    lab = None
    if economy.labour is not None:
        lab = np.ascontiguousarray((economy.labour.astype(np.float64) @ X).T)
    return DynamicPlan(
        output=np.ascontiguousarray(X.T),
        consumption=np.ascontiguousarray(C.T),
        new_capacity=np.ascontiguousarray(N.T),
        capacity=np.ascontiguousarray(K[:, :T].T),
        final_capacity=np.ascontiguousarray(K[:, T]),
        labour=lab,
        labour_supply=supply,
        method=method,
        terminal=terminal,
        terminal_growth=ctx.get("g_term_used", g_term),
        expected_growth=ctx.get("g_expect_used", g_expect),
        converged=bool(conv),
        sweeps=int(sweeps),
        solver_residual=float(stats.residual),
        capacity_given=K1 is not None,
        backend=stats.backend or "numpy",
        seconds=time.perf_counter() - t0,
        economy=economy,
        shortfall_tol=stol,
        matvecs=int(stats.matvecs),
        solves=int(stats.solves),
        notes=notes,
    )


def _expectation_shift(ctx):
    """Shifted economies for the balanced expectations and the terminal rule.

    Returns ``(E, g_exp, Et, g_term)``: ``E = A + B diag(g_exp + delta)`` and the
    terminal one (``None`` unless ``terminal="growth"``).  Per-product rates that
    cannot be sustained fall back to the aggregate rate; an aggregate growth at
    or above ``g*`` continuing beyond the horizon raises.
    """
    economy, delta, notes = ctx["economy"], ctx["delta"], ctx["notes"]
    cache = ctx.setdefault("shift_cache", {})
    terminal, g_term, g_exp = ctx["terminal"], ctx["g_term"], ctx["g_expect"]

    def shifted(g):
        return _shifted_economy(economy, np.maximum(g + delta, 0.0), cache)

    Et = None
    if terminal == "growth":
        try:
            Et = shifted(g_term)
        except NotProductiveError:
            if np.ndim(g_term) == 0:
                raise _growth_message(economy, float(g_term), "consumption growth continuing beyond the horizon") from None
            fallback = ctx["g_last"]
            notes.append("per-product growth beyond the horizon cannot be sustained; the aggregate rate is assumed")
            try:
                Et = shifted(fallback)
            except NotProductiveError:
                raise _growth_message(economy, fallback, "consumption growth continuing beyond the horizon") from None
            g_term = fallback
    try:
        E = shifted(g_exp)
    except NotProductiveError:
        E = None
        if np.ndim(g_exp):
            g_exp = ctx["g_mean"]
            notes.append("per-product expectation rates cannot all be sustained; the aggregate rate is used")
            try:
                E = shifted(g_exp)
            except NotProductiveError:
                E = None
        if E is None:
            if ctx["T"] > 1 and terminal == "growth":
                raise _growth_message(economy, float(g_exp), "average consumption growth") from None
            gr = max_growth_rate(economy)
            g_cap = 0.9 * gr.lower
            notes.append(
                f"consumption grows by {float(g_exp):.4g}/period on average, above g* = {gr.rate:.4g}: capacity "
                f"targets assume {g_cap:.4g}/period; expect bottlenecks"
            )
            g_exp = g_cap
            E = shifted(g_exp)
    ctx["g_expect_used"] = g_exp
    ctx["g_term_used"] = g_term
    return E, g_exp, Et, g_term


def _plan_capacity(ctx):
    economy, B, C, K1, delta = ctx["economy"], ctx["B"], ctx["C"], ctx["K1"], ctx["delta"]
    T, n, rtol, notes = ctx["T"], ctx["n"], ctx["rtol"], ctx["notes"]
    backend, solver = ctx["backend"], ctx["solver"]
    stats = _SolveStats()
    keep = 1.0 - delta
    # 1. balanced expectations of the capacity each period needs
    E, g_exp, Et, g_term = _expectation_shift(ctx)
    if np.ndim(g_exp) and T > 1:
        # Outputs grow like a blend of their customers' consumption, not like the product's own
        # consumption: re-estimate each product's rate from its requirement in the first and last
        # period (a two-column solve), then use those rates for the expectations.
        for _ in range(ctx.get("rate_passes", 1)):
            Z = _solve(E, C[:, [0, T - 1]], backend=backend, method=solver, rtol=1e-6, stats=stats)
            z1, zT = Z[:, 0], Z[:, 1]
            tiny = 1e-12 * max(float(np.abs(Z).max()), np.finfo(float).tiny)
            ok = (z1 > tiny) & (zT > tiny)
            gam = np.full(n, float(ctx["g_mean"]))
            gam[ok] = (zT[ok] / z1[ok]) ** (1.0 / (T - 1)) - 1.0
            try:
                E_new = _shifted_economy(economy, np.maximum(gam + delta, 0.0), ctx["shift_cache"])
            except NotProductiveError:
                break
            if ctx["terminal"] == "growth" and Et is E and ctx.get("g_term_default", False):
                Et, g_term = E_new, gam
            E, g_exp = E_new, gam
        ctx["g_expect_used"], ctx["g_term_used"] = g_exp, g_term
    Xh = np.empty((n, T + 1))
    Xh[:, :T] = _solve(E, C, backend=backend, method=solver, rtol=ctx["expectation_rtol"], stats=stats)
    np.maximum(Xh[:, :T], 0.0, out=Xh[:, :T])
    if np.ndim(g_exp) and T > 2 and ctx.get("period_passes", 1):
        # Per-period rates: requirements of fast-growing customers gain weight over time, so a product's
        # growth is not constant.  Take each period's rate from these requirements, d_t = z_{t+1} / z_t - 1,
        # and solve (I - A - B diag(d_t + delta)) xhat_t = c_t as (I - A - B diag(g + delta)) xhat_t = c_t +
        # B ((d_t - g) xhat_t), a contraction for small rate differences (a few block solves).
        Z = Xh[:, :T]
        tiny = 1e-12 * max(float(Z.max()), np.finfo(float).tiny)
        ok = (Z[:, :-1] > tiny) & (Z[:, 1:] > tiny)
        dev = np.zeros((n, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            dev[:, :-1] = np.where(ok, Z[:, 1:] / np.where(ok, Z[:, :-1], 1.0) - 1.0, g_exp[:, None]) - g_exp[:, None]
        dev[:, -1] = dev[:, -2]
        dev = np.maximum(dev, -(g_exp + delta)[:, None])  # keep the shifted coefficients >= 0
        for _ in range(ctx.get("period_passes", 1)):
            Xn = _solve(E, C + B @ (dev * Xh[:, :T]), backend=backend, method=solver,
                        rtol=ctx["expectation_rtol"], x0=Xh[:, :T], stats=stats)
            if not np.isfinite(Xn).all():
                break
            Xh[:, :T] = np.maximum(Xn, 0.0)
    term = ctx["terminal"]
    if term == "growth":
        if Et is E:
            xT = Xh[:, T - 1]
        else:
            xT = _solve(Et, C[:, T - 1 : T], backend=backend, method=solver, rtol=ctx["expectation_rtol"],
                        stats=stats)[:, 0]
        Xh[:, T] = (1.0 + np.asarray(g_term)) * np.maximum(xT, 0.0)
    elif term == "replace":
        Xh[:, T] = Xh[:, T - 1]
    else:
        Xh[:, T] = 0.0
    # 2. build capacity forward; 3. outputs in one block solve
    K = np.empty((n, T + 1))
    K[:, 0] = Xh[:, 0] if K1 is None else K1
    N = np.empty((n, T))
    for t in range(T):
        N[:, t] = np.maximum(Xh[:, t + 1] - keep * K[:, t], 0.0)
        K[:, t + 1] = keep * K[:, t] + N[:, t]
    X = _solve(economy, C + B @ N, backend=backend, method=solver, rtol=rtol, x0=Xh[:, :T], stats=stats)
    np.maximum(X, 0.0, out=X)
    # 4. capacity sweep: where an output exceeds the capacity built for it, raise that period's
    #    target (targets only rise) by theta * shortfall and re-plan investment.  Raising K_t by d
    #    also lowers N_t by (1 - delta) d, so x_t falls by (1 - delta) M d (M = (I - A)^-1 B): the
    #    shortfall closes for d = (I + (1 - delta) M)^-1 s, which theta = 1 / (1 + (1 - delta) / g)
    #    gives exactly along the Perron direction (g: balanced growth rate without replacement);
    #    the extra investment before t is then M d, about lambda / (1 + (1 - delta) lambda) < 1 / (1 -
    #    delta) times the shortfall, instead of M s (which would cascade by rho(M) per period).
    stol = ctx["stol"]
    sweeps = 1
    settled = False
    theta = None
    while True:
        scale = np.maximum(X.max(axis=0), K[:, :T].max(axis=0))
        excess = X - K[:, :T]
        short = excess > stol * np.maximum(scale, np.finfo(float).tiny)[None, :]
        if K1 is not None:
            short[:, 0] = False  # initial capacity is given: a period-1 shortfall is a bottleneck
        if not short.any():
            settled = True
            break
        if sweeps >= ctx["max_sweeps"]:
            break
        sweeps += 1
        if theta is None:
            theta = _sweep_damping(economy, delta)
            step = np.full((n, T), theta)
            last_raise = np.zeros((n, T))
            last_excess = np.zeros((n, T))
        else:
            # per product and period, learn how much of a raise closes the shortfall (secant):
            # closure r = (s_old - s_new) / d; the next step is s / r, within [theta, 1]
            raised = last_raise > 0
            with np.errstate(divide="ignore", invalid="ignore"):
                r = (last_excess - excess) / np.where(raised, last_raise, 1.0)
            upd = raised & (r > 0)
            step = np.where(upd, np.clip(1.0 / np.where(upd, r, 1.0), theta, 1.0), step)
        if K1 is None:
            Xh[:, 0] = np.maximum(Xh[:, 0], X[:, 0])  # initial capacity is free: just enough for period 1
        raise_ = np.where(short, step * excess, 0.0)
        raise_[:, 0] = 0.0
        Xh[:, :T] += raise_
        last_raise, last_excess = raise_, excess
        N_old = N.copy()
        K[:, 0] = Xh[:, 0] if K1 is None else K1
        for t in range(T):
            K[:, t + 1] = np.maximum(Xh[:, t + 1], keep * K[:, t])
            N[:, t] = K[:, t + 1] - keep * K[:, t]
        changed = np.flatnonzero((N != N_old).any(axis=0))
        if changed.size == 0:
            continue
        Xc = _solve(economy, C[:, changed] + B @ N[:, changed], backend=backend, method=solver, rtol=rtol,
                    x0=X[:, changed], stats=stats)
        X[:, changed] = np.maximum(Xc, 0.0)
    if not settled:
        notes.append(
            f"capacity sweep stopped after {sweeps} sweeps with outputs above the capacity built for them; "
            "they are reported as bottlenecks (raise max_sweeps)"
        )
    if K1 is None:
        notes.append("no initial capacity given: period 1 capacity taken as what period 1 needs")
    return X, N, K, sweeps, settled, stats


def _sweep_damping(economy: Economy, delta: np.ndarray) -> float:
    """``1 / (1 + (1 - delta) rho(M))``, ``rho(M) = 1/g`` estimated (g: growth without replacement)."""
    try:
        gr = max_growth_rate(economy, depreciation=False, rtol=1e-3, maxiter=300)
        g = gr.rate if math.isfinite(gr.rate) and gr.rate > 0 else 1.0
    except Exception:  # noqa: BLE001 - a rough estimate is enough here; fall back to g = 1
        g = 1.0
    keep = float(np.mean(1.0 - delta))
    return 1.0 / (1.0 + keep / g)


def _plan_exact(ctx):
    """Leontief's dynamic inverse (backward recursion), dense, capacity fully used."""
    economy, Bs, C, K1, delta = ctx["economy"], ctx["B"], ctx["C"], ctx["K1"], ctx["delta"]
    T, n, notes = ctx["T"], ctx["n"], ctx["notes"]
    import scipy.linalg as sla

    A = economy.A.toarray().astype(np.float64)
    B = Bs.toarray().astype(np.float64)
    I = np.eye(n)
    keep = 1.0 - delta
    term, g = ctx["terminal"], ctx["g_term"]
    s_T = {"growth": g + delta, "replace": delta, "none": np.zeros(n)}[term]
    if term == "growth":
        try:
            _shifted_economy(economy, np.maximum(s_T, 0), ctx.setdefault("shift_cache", {}))
        except NotProductiveError:
            raise _growth_message(economy, float(np.max(g)), "consumption growth continuing beyond the horizon") from None
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
    scale = max(float(np.abs(X).max()), 1e-300)
    tol = 1e-9 * scale
    bad_x = X < -tol
    bad_n = N < -tol
    if bad_x.any() or bad_n.any():
        badcols = np.flatnonzero(bad_x.any(axis=0) | bad_n.any(axis=0))
        t = int(badcols.max())  # the recursion runs backward: the first failure is the latest period
        worst = np.minimum(X[:, t], N[:, t])
        order = np.argsort(worst)[: min(5, n)]
        names = _product_names(economy, order[worst[order] < -tol])
        M = sla.lu_solve(L, B)
        lam = np.linalg.eigvals(M)
        kbar = float(np.mean(keep))
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = np.abs(lam / (1 + kbar * lam))
        amp_max = float(np.nanmax(np.where(np.isfinite(amp), amp, np.inf))) if lam.size else math.nan
        min_re = float(lam.real.min())
        what = "negative outputs" if bad_x[:, t].any() else "disinvestment (negative new capacity)"
        raise NegativePlanError(
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
    np.maximum(X, 0.0, out=X)
    np.maximum(N, 0.0, out=N)
    stats = _SolveStats(backend="numpy", method="dense LU")
    R = X - A @ X - B @ N - C
    den = np.maximum(np.linalg.norm(X, axis=0), 1e-300)
    stats.residual = float((np.linalg.norm(R, axis=0) / den).max())
    if ctx["backend"] not in ("auto", "numpy"):
        notes.append("method='exact' runs dense on the host; backend ignored")
    return X, N, K, 1, True, stats


def _plan_lp(ctx):
    """Dorfman-Samuelson-Solow inequality form, solved with HiGHS (two phases)."""
    from scipy.optimize import linprog

    economy, B, C, K1, delta = ctx["economy"], ctx["B"], ctx["C"], ctx["K1"], ctx["delta"]
    T, n, notes, supply = ctx["T"], ctx["n"], ctx["notes"], ctx["supply"]
    if K1 is None:
        # start on the balanced path: K_1 = (I - A - B diag(g + delta))^-1 c_1.  (Taking K_1 = x_1 would let
        # the LP buy capacity for later periods by over-producing in period 1, without investment.)
        E, _, _, _ = _expectation_shift(ctx)
        K1 = np.maximum(_solve(E, C[:, :1], backend="numpy", method=ctx["solver"], rtol=ctx["rtol"])[:, 0], 0.0)
        ctx["K1_assumed"] = True
        notes.append("no initial capacity given: K_1 taken as the balanced requirement of period 1")
    A = economy.A.astype(np.float64)
    B = B.astype(np.float64)
    Lab = economy.labour
    m = 0 if (Lab is None or supply is None) else Lab.shape[0]
    keep = 1.0 - delta
    term, g = ctx["terminal"], ctx["g_term"]
    nx, nN, nK, ns, nu = n * T, n * T, n * (T + 1), n * T, m * T
    ox, oN, oK, os_, ou = 0, nx, nx + nN, nx + nN + nK, nx + nN + nK + ns
    nv = ou + nu
    I_n = sp.identity(n, format="csr")
    I_T = sp.identity(T, format="csr")
    S0 = sp.csr_matrix((np.ones(T), (np.arange(T), np.arange(T))), shape=(T, T + 1))
    S1 = sp.csr_matrix((np.ones(T), (np.arange(T), np.arange(1, T + 1))), shape=(T, T + 1))

    widths = [(off, w) for off, w in ((ox, nx), (oN, nN), (oK, nK), (os_, ns), (ou, nu)) if w > 0]

    def row(blocks):
        """Place blocks ``{offset: matrix}`` side by side in a row of ``nv`` columns."""
        rows = next(iter(blocks.values())).shape[0]
        parts = [sp.csr_matrix(blocks[off]) if off in blocks else sp.csr_matrix((rows, w)) for off, w in widths]
        return sp.hstack(parts, format="csr")

    # equalities: balance; capacity accumulation; (free K_1) K_1 = x_1
    eq = [
        row({ox: sp.kron(I_T, I_n - A), oN: sp.kron(I_T, -B)}),
        row({oK: sp.kron(S1, I_n) - sp.kron(S0, sp.diags(keep)), oN: sp.kron(I_T, -I_n)}),
    ]
    beq = [C.T.ravel(), np.zeros(n * T)]
    if K1 is None:
        e1 = sp.csr_matrix((np.ones(1), ([0], [0])), shape=(1, T))
        e1K = sp.csr_matrix((np.ones(1), ([0], [0])), shape=(1, T + 1))
        eq.append(row({ox: sp.kron(e1, I_n), oK: -sp.kron(e1K, I_n)}))
        beq.append(np.zeros(n))
    # inequalities: x_t - K_t - s_t <= 0; terminal; labour
    ub = [row({ox: sp.kron(I_T, I_n), oK: -sp.kron(S0, I_n), os_: -sp.kron(I_T, I_n)})]
    bub = [np.zeros(n * T)]
    if term in ("growth", "replace"):
        eT = sp.csr_matrix((np.ones(1), ([0], [T - 1])), shape=(1, T))
        eK = sp.csr_matrix((np.ones(1), ([0], [T])), shape=(1, T + 1))
        gg = np.broadcast_to(np.asarray(g if term == "growth" else 0.0, dtype=np.float64), (n,))
        ub.append(row({ox: sp.kron(eT, sp.diags(1.0 + gg)), oK: -sp.kron(eK, I_n)}))
        bub.append(np.zeros(n))
    if m:
        ub.append(row({ox: sp.kron(I_T, sp.csr_matrix(Lab.astype(np.float64))), ou: -sp.identity(nu)}))
        bub.append(supply.ravel())
    A_eq, b_eq = sp.vstack(eq, format="csr"), np.concatenate(beq)
    A_ub, b_ub = sp.vstack(ub, format="csr"), np.concatenate(bub)
    bounds = np.zeros((nv, 2))
    bounds[:, 1] = np.inf
    if K1 is not None:
        bounds[oK : oK + n, 0] = K1
        bounds[oK : oK + n, 1] = K1
    if term == "none":
        bounds[oN + n * (T - 1) : oN + n * T, 1] = 0.0
    # phase 1: least total shortfall
    c1 = np.zeros(nv)
    c1[os_:] = 1.0
    r1 = linprog(c1, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if r1.status != 0:
        raise ConvergenceError(f"method='lp': HiGHS failed in phase 1 (status {r1.status}: {r1.message})")
    short = float(r1.fun)
    # phase 2: least labour (or least gross output) with that shortfall
    w = np.ones(n) if Lab is None else Lab.astype(np.float64).sum(axis=0)
    w = w + 1e-6 * max(float(w.mean()), 1e-300)
    c2 = np.zeros(nv)
    c2[ox:oN] = np.tile(w, T)
    A_ub2 = sp.vstack([A_ub, sp.csr_matrix(c1[None, :])], format="csr")
    b_ub2 = np.concatenate([b_ub, [short * (1 + 1e-7) + 1e-9]])
    r2 = linprog(c2, A_ub=A_ub2, b_ub=b_ub2, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    res = r2 if r2.status == 0 else r1
    if r2.status != 0:
        notes.append(f"phase 2 (least labour) failed ({r2.message}); returning the least-shortfall plan")
    v = res.x
    N = np.maximum(v[oN : oN + nN].reshape(T, n).T, 0.0)
    if short > 1e-7:
        notes.append(f"the targets cannot be met with the capacity and labour given (least total shortfall {short:.6g})")
    # polish: exact outputs for the LP's investment, capacity rebuilt from it
    stats = _SolveStats()
    X = _solve(economy, C + B @ N, backend="numpy", method=ctx["solver"], rtol=ctx["rtol"],
               x0=v[ox : ox + nx].reshape(T, n).T.copy(), stats=stats)
    np.maximum(X, 0.0, out=X)
    K = np.empty((n, T + 1))
    K[:, 0] = np.maximum(X[:, 0], v[oK : oK + n]) if K1 is None else K1
    for t in range(T):
        K[:, t + 1] = keep * K[:, t] + N[:, t]
    return X, N, K, 1, True, stats


# ---------------------------------------------------------------------------
# the fundamental decision: balanced proposals, frontier, report
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class BalancedProposal:
    """One proposal on a balanced growth path, scaled to the labour available.

    Net product (after replacement), valued at ``prices``, is split into net
    investment (share ``investment_share``), public consumption
    (``public_share``) and private consumption (the rest).  On the balanced
    path ``x = A x + B (g + delta) x + f`` everything grows at ``growth_rate``.

    Attributes
    ----------
    name : str
    growth_rate : float
        Yearly rate of increase of consumption (and of everything else).
    investment_share, public_share, consumption_share : float
        Shares of the net product.
    net_product : float
        Value of the net product ``p (I - A - B diag(delta)) x``.
    consumption_now, public_consumption, investment : float
        Values in the first period (investment is net of replacement).
    replacement, gross_investment : float
        ``p B diag(delta) x`` and ``p B diag(g + delta) x``.
    consumption_level : float
        First-period private consumption as a multiple of the bundle ``c``.
    output : numpy.ndarray (n,)
        Gross output per product in the first period.
    output_value : float
        ``p x``.
    labour : numpy.ndarray (m,) or None
        Labour needed in the first period, per kind (it grows at ``growth_rate``).
    total_labour, workers, labour_per_worker, consumption_per_worker : float
    consumption_path : numpy.ndarray (T,)
        Value of private consumption in periods ``1 .. T``.
    prices : numpy.ndarray (n,)
        The valuation used (labour values including replacement by default).
    scale : str
        What fixed the scale (``"labour supply"`` or ``"one unit of labour"``...).

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> p = bigplan.dynamic.balanced_plan(e, [1.0, 1.0], growth=0.1)
    >>> round(p.investment_share, 4), round(p.total_labour, 6)
    (0.2444, 100.0)
    """

    name: str
    growth_rate: float
    investment_share: float
    public_share: float
    consumption_share: float
    net_product: float
    consumption_now: float
    public_consumption: float
    investment: float
    replacement: float
    gross_investment: float
    consumption_level: float
    output: np.ndarray
    output_value: float
    labour: np.ndarray | None
    total_labour: float
    workers: float
    labour_per_worker: float
    consumption_per_worker: float
    consumption_path: np.ndarray
    prices: np.ndarray
    scale: str
    labels: pd.Index | None = None
    notes: list = field(default_factory=list)

    @property
    def horizon(self) -> int:
        return int(self.consumption_path.size)

    @property
    def consumption_end(self) -> float:
        return float(self.consumption_path[-1])

    @property
    def consumption_total(self) -> float:
        return float(self.consumption_path.sum())

    def metrics(self) -> dict:
        """The scalar figures of the proposal (the rows of a plan report)."""
        return {
            "growth_rate": self.growth_rate,
            "investment_share": self.investment_share,
            "public_share": self.public_share,
            "consumption_share": self.consumption_share,
            "net_product": self.net_product,
            "consumption_now": self.consumption_now,
            "consumption_level": self.consumption_level,
            "public_consumption": self.public_consumption,
            "investment": self.investment,
            "replacement": self.replacement,
            "gross_investment": self.gross_investment,
            "output_value": self.output_value,
            "total_labour": self.total_labour,
            "labour_per_worker": self.labour_per_worker,
            "consumption_per_worker": self.consumption_per_worker,
            "consumption_end": self.consumption_end,
            "consumption_total": self.consumption_total,
        }

    def __repr__(self) -> str:
        return (
            f"<BalancedProposal {self.name!r}: invest {self.investment_share:.3g} of net product -> growth "
            f"{self.growth_rate:.4g}/yr, consumption now {self.consumption_now:.6g}>"
        )


class _Balanced:
    """Shared state for balanced proposals of one economy (bundles, prices, shifted economies)."""

    def __init__(self, economy: Economy, consumption, public, public_share, prices, labour_supply, workers,
                 horizon, backend, solver, rtol, growth_bounds):
        self.economy = economy
        self.B = require_capital(economy).astype(np.float64)
        n = economy.n
        self.n = n
        self.delta = _delta(economy)
        self.backend, self.solver, self.rtol = backend, solver, rtol
        self.cache: dict = {}
        self.horizon = _horizon(horizon)
        c = np.ones(n) if consumption is None else (
            _align_series(economy, consumption, "consumption") if isinstance(consumption, pd.Series)
            else _vector_arg(consumption, n, "consumption bundle", allow_scalar=False))
        if not (c > 0).any():
            raise InvalidDemandError("the consumption bundle is all zero; give the composition of consumption")
        q = c if public is None else (
            _align_series(economy, public, "public") if isinstance(public, pd.Series)
            else _vector_arg(public, n, "public consumption bundle", allow_scalar=False))
        self.p, self.price_kind = self._prices(prices)
        pc, pq = float(self.p @ c), float(self.p @ q)
        if pc <= 0:
            raise InvalidDemandError("the consumption bundle has zero value at these prices; check prices")
        self.c = c
        self.cbar = c / pc
        self.qbar = q / pq if pq > 0 else None
        self.same = public is None or (self.qbar is not None and np.array_equal(self.cbar, self.qbar))
        self.set_public(public_share)
        # scale
        L = economy.labour
        self.L = None if L is None else L.astype(np.float64)
        sup = economy.labour_supply if labour_supply is None else labour_supply
        if sup is not None and L is None:
            raise ShapeError("labour_supply given but the economy has no labour coefficients")
        if sup is not None:
            sup = np.atleast_1d(np.asarray(_host(sup), dtype=np.float64))
            if sup.shape != (L.shape[0],):
                raise ShapeError(f"labour_supply must have shape ({L.shape[0]},), got {sup.shape}")
            if not np.isfinite(sup).all() or (sup < 0).any():
                raise InvalidDemandError("labour_supply must be finite and >= 0")
        self.supply = sup
        if workers is not None and not (isinstance(workers, numbers.Real) and workers > 0):
            raise InvalidPlanError(f"workers must be a number > 0, got {workers!r}")
        self.workers = workers
        self._growth = growth_bounds

    def set_public(self, public_share) -> None:
        """Set the share of the net product for public consumption (bundles and prices are kept)."""
        if not (isinstance(public_share, numbers.Real) and 0 <= public_share < 1):
            raise InvalidPlanError(f"public_share must be in [0, 1), got {public_share!r}")
        if public_share > 0 and self.qbar is None:
            raise InvalidDemandError("the public consumption bundle is zero (or has zero value at these prices)")
        self.public_share = float(public_share)
        qbar = self.cbar if self.same else self.qbar
        self.u = (1 - self.public_share) * self.cbar + self.public_share * qbar

    def _prices(self, prices):
        e = self.economy
        if prices is None or (isinstance(prices, str) and prices == "auto"):
            prices = "labour" if e.labour is not None else "unit"
        if isinstance(prices, str):
            if prices == "unit":
                return np.ones(self.n), "unit"
            if prices == "labour":
                if e.labour is None:
                    raise ShapeError("prices='labour' needs labour coefficients")
                Ed = self.shifted(self.delta)
                v = labour_values(Ed, labour=e.labour.astype(np.float64).sum(axis=0), backend=self.backend,
                                  method=self.solver, rtol=self.rtol, keep_on_device=False).values
                return np.maximum(np.asarray(v, dtype=np.float64), 0.0), "labour values (with replacement)"
            raise InvalidPlanError(f"prices must be 'auto', 'labour', 'unit' or an array, got {prices!r}")
        return _vector_arg(prices, self.n, "prices", allow_scalar=False), "given"

    def shifted(self, s) -> Economy:
        try:
            return _shifted_economy(self.economy, np.maximum(s, 0.0), self.cache)
        except NotProductiveError:
            if not np.any(np.asarray(s) - self.delta):
                raise InfeasiblePlanError(
                    "replacement alone cannot be sustained (spectral radius of A + B diag(depreciation) >= 1)"
                ) from None
            g = float(np.max(np.asarray(s) - self.delta))
            raise _growth_message(self.economy, g, "a balanced growth rate") from None

    @property
    def growth(self) -> GrowthRate:
        if self._growth is None:
            self._growth = max_growth_rate(self.economy, backend=self.backend)
        return self._growth

    def evaluate(self, g: float):
        """(sigma_I(g), z_u, z_c) per unit of net product."""
        E = self.shifted(g + self.delta)
        R = self.u[:, None] if self.same else np.stack([self.u, self.cbar], axis=1)
        Z = _solve(E, R, backend=self.backend, method=self.solver, rtol=self.rtol, reduce=False)
        zu = Z[:, 0]
        zc = zu if self.same else Z[:, 1]
        a = float(self.p @ (self.B @ zu))
        b = a if self.same else float(self.p @ (self.B @ zc))
        if self.same:
            # u = c̄ here: f = (1 - sigma_I) c̄, x = (1 - sigma_I) z
            sig = g * a / (1.0 + g * a)
        else:
            sig = g * a / (1.0 + g * b)
        return sig, zu, zc

    def growth_for_share(self, share: float) -> float:
        from scipy.optimize import brentq

        if share == 0:
            return 0.0
        gr = self.growth
        if not math.isfinite(gr.upper) and not math.isfinite(gr.rate):
            hi = 1e3
        else:
            hi = gr.lower * (1 - 1e-4)
        f_hi = self.evaluate(hi)[0] - share
        if f_hi < 0:
            raise UnsustainableGrowthError(
                f"an investment share of {share:.6g} of the net product would need growth above the maximal "
                f"balanced rate g* = {gr.rate:.6g} (certified in [{gr.lower:.6g}, {gr.upper:.6g}]); at most "
                f"{f_hi + share:.6g} of the net product can be invested productively on a balanced path",
                rate=math.nan, max_rate=gr.rate, lower=gr.lower, upper=gr.upper,
            )
        return float(brentq(lambda g: self.evaluate(g)[0] - share, 0.0, hi, xtol=1e-14, rtol=1e-12, maxiter=200))

    def proposal(self, name: str, *, growth: float | None = None, investment_share: float | None = None):
        notes = []
        if (growth is None) == (investment_share is None):
            raise InvalidPlanError("give exactly one of growth= and investment_share=")
        if investment_share is not None:
            if not (isinstance(investment_share, numbers.Real) and 0 <= investment_share < 1):
                raise InvalidPlanError(f"investment_share must be in [0, 1), got {investment_share!r}")
            if investment_share + self.public_share >= 1:
                raise InvalidPlanError(
                    f"investment_share + public_share = {investment_share + self.public_share:.6g} >= 1 leaves "
                    "nothing for private consumption"
                )
            g = self.growth_for_share(float(investment_share))
        else:
            if not (isinstance(growth, numbers.Real) and math.isfinite(growth) and growth >= 0):
                raise InvalidPlanError(f"growth must be a finite rate >= 0, got {growth!r}")
            g = float(growth)
        sig, zu, zc = self.evaluate(g)
        if sig + self.public_share >= 1:
            raise InvalidPlanError(
                f"growth {g:.6g} needs {sig:.6g} of the net product for investment, which with public_share "
                f"{self.public_share:.6g} leaves nothing for private consumption"
            )
        x1 = zu - sig * zc  # per unit of net product
        sc = 1.0 - sig - self.public_share
        # scale by labour
        if self.L is not None:
            lab1 = self.L @ x1
            if self.supply is not None:
                with np.errstate(divide="ignore"):
                    ratios = np.where(lab1 > 0, self.supply / np.where(lab1 > 0, lab1, 1), np.inf)
                Y = float(ratios.min())
                names = self.economy.labour_names
                scale = f"labour supply ({names[int(np.argmin(ratios))]} binding)"
                if not math.isfinite(Y):
                    Y, scale = 1.0, "one unit of net product (no labour needed)"
            else:
                tot = float(lab1.sum())
                Y = 1.0 / tot if tot > 0 else 1.0
                scale = "one unit of labour (no labour supply given)"
        else:
            Y, scale = 1.0, "one unit of net product (no labour coefficients)"
        x = Y * x1
        lab = None if self.L is None else self.L @ x
        total_lab = float(lab.sum()) if lab is not None else math.nan
        if self.workers is not None:
            workers = float(self.workers)
        elif self.supply is not None:
            workers = float(self.supply.sum())
        else:
            workers = total_lab if lab is not None else math.nan
        cons = sc * Y
        path = cons * (1.0 + g) ** np.arange(self.horizon)
        Bx = self.B @ x
        return BalancedProposal(
            name=str(name),
            growth_rate=g,
            investment_share=float(sig),
            public_share=self.public_share,
            consumption_share=float(sc),
            net_product=float(Y),
            consumption_now=float(cons),
            public_consumption=float(self.public_share * Y),
            investment=float(g * (self.p @ Bx)),
            replacement=float(self.p @ (self.B @ (self.delta * x))),
            gross_investment=float(self.p @ (self.B @ ((g + self.delta) * x))),
            consumption_level=float(cons / float(self.p @ self.c)),
            output=x,
            output_value=float(self.p @ x),
            labour=lab,
            total_labour=total_lab,
            workers=workers,
            labour_per_worker=total_lab / workers if workers and math.isfinite(total_lab) else math.nan,
            consumption_per_worker=cons / workers if workers and math.isfinite(workers) else math.nan,
            consumption_path=path,
            prices=self.p,
            scale=scale,
            labels=self.economy.labels,
            notes=notes,
        )


_BAL_DOC_PARAMS = """
    consumption : array_like (n,) or pandas.Series, optional
        Composition of private consumption (the bundle ``c``; its level is set
        by the labour available).  Default: one unit of every product.
    public_share : float, default 0
        Share of the net product for public consumption, in ``[0, 1)``.
    public : array_like (n,), optional
        Composition of public consumption (default: like ``consumption``).
    prices : "auto", "labour", "unit" or array_like (n,)
        Valuation of the net product and its shares: labour values including
        replacement (``v (I - A - B diag(delta)) = l``; then the net product
        equals total labour and the shares are shares of working time) when
        the economy has labour, else one per unit.
    labour_supply : float or array_like (m,), optional
        Labour available in the first period (default: the economy's); it
        fixes the scale.  Without it, figures are per unit of labour.
    workers : float, optional
        Number of workers, for the per-worker figures (default: the labour
        supply, so labour per worker is the share of it in use).
    horizon : int, default 10
        Periods of the consumption path reported.
    backend, solver, rtol
        Where and how the static solves run.
    growth_bounds : GrowthRate, optional
        A result of :func:`max_growth_rate` to reuse."""


def balanced_plan(
    economy: Economy,
    consumption: Any = None,
    *,
    investment_share: float | None = None,
    growth: float | None = None,
    public_share: float = 0.0,
    public: Any = None,
    prices: Any = "auto",
    labour_supply: Any = None,
    workers: float | None = None,
    horizon: int = 10,
    backend: str | Backend = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    growth_bounds: GrowthRate | None = None,
    name: str = "proposal",
) -> BalancedProposal:
    """One proposal on a balanced path: the growth an investment share implies, or the share a growth rate needs.

    On a balanced path growing at ``g`` the outputs are ``x(g) = (I - A - B
    diag(g + delta))^{-1} f`` for the final use ``f`` (private plus public
    consumption), the net investment is ``g B x``, and the labour available in
    the first period bounds the scale.  Investing a larger share of the net
    product buys faster growth of consumption at the price of less
    consumption now.

    Parameters
    ----------
    economy : Economy
    investment_share : float, optional
        Share of the net product for net investment, in ``[0, 1)``; the
        implied growth rate is found by root-finding (each step one static
        solve of the shifted system).
    growth : float, optional
        Alternatively the growth rate (``0 <= g < g*``); give exactly one.
    name : str
        Label of the proposal in reports.
    %(params)s

    Returns
    -------
    BalancedProposal

    Raises
    ------
    UnsustainableGrowthError
        ``growth >= g*``, or a share that would need it.
    InvalidPlanError
        Shares out of range, or both/neither of ``growth`` and ``investment_share``.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import balanced_plan
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> slow = balanced_plan(e, [1.0, 1.0], investment_share=0.1)
    >>> fast = balanced_plan(e, [1.0, 1.0], investment_share=0.3)
    >>> fast.growth_rate > slow.growth_rate and fast.consumption_now < slow.consumption_now
    True
    """
    _check_economy(economy)
    bal = _Balanced(economy, consumption, public, public_share, prices, labour_supply, workers, horizon,
                    backend, solver, rtol, growth_bounds)
    return bal.proposal(name, growth=growth, investment_share=investment_share)


balanced_plan.__doc__ = balanced_plan.__doc__.replace("    %(params)s", _BAL_DOC_PARAMS.strip("\n"))


def frontier(
    economy: Economy,
    consumption: Any = None,
    *,
    investment_shares: Any = None,
    growth_rates: Any = None,
    points: int = 11,
    public_share: float = 0.0,
    public: Any = None,
    prices: Any = "auto",
    labour_supply: Any = None,
    workers: float | None = None,
    horizon: int = 10,
    backend: str | Backend = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    growth_bounds: GrowthRate | None = None,
) -> pd.DataFrame:
    """The frontier of consumption now against consumption growth per year.

    One row per point, for a range of investment shares (each needs a
    root-finding over ``g``) or of growth rates (one solve each; the default
    is ``points`` rates from 0 to 95 % of the certified lower bound of
    ``g*``).

    Parameters
    ----------
    economy : Economy
    investment_shares : array_like, optional
        Shares of the net product invested.
    growth_rates : array_like, optional
        Growth rates (give at most one of the two).
    points : int, default 11
        Number of growth rates when neither is given.
    %(params)s

    Returns
    -------
    pandas.DataFrame
        Columns ``growth_rate``, ``investment_share``, ``public_share``,
        ``consumption_share``, ``net_product``, ``consumption_now``,
        ``consumption_level``, ``public_consumption``, ``investment``,
        ``replacement``, ``gross_investment``, ``output_value``,
        ``total_labour``, ``labour_per_worker``, ``consumption_per_worker``,
        ``consumption_end`` (period ``horizon``), ``consumption_total``.
        ``df.attrs`` holds ``max_growth_rate`` and its bounds.

    Notes
    -----
    The default grid ends at 95 % of the certified lower bound of ``g*``, or
    earlier where net investment and public consumption would leave less than
    5 % of the net product for private consumption.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import frontier
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> df = frontier(e, [1.0, 1.0], points=5)
    >>> bool(df["consumption_now"].is_monotonic_decreasing and df["growth_rate"].is_monotonic_increasing)
    True
    """
    _check_economy(economy)
    if investment_shares is not None and growth_rates is not None:
        raise InvalidPlanError("give investment_shares or growth_rates, not both")
    bal = _Balanced(economy, consumption, public, public_share, prices, labour_supply, workers, horizon,
                    backend, solver, rtol, growth_bounds)
    rows = []
    if investment_shares is not None:
        shares = np.atleast_1d(np.asarray(investment_shares, dtype=np.float64))
        for s in shares:
            rows.append(bal.proposal(f"share {s:.4g}", investment_share=float(s)).metrics())
    else:
        if growth_rates is None:
            if not _is_int(points) or points < 2:
                raise InvalidPlanError(f"points must be an integer >= 2, got {points!r}")
            gr = bal.growth
            top = 0.95 * gr.lower if math.isfinite(gr.lower) and gr.lower > 0 else 0.0
            if top > 0 and bal.public_share < 0.9 and bal.evaluate(top)[0] + bal.public_share >= 0.95:
                # stop where investment and public consumption leave 5 % of the net product
                top = min(top, bal.growth_for_share(0.95 - bal.public_share))
            rates = np.linspace(0.0, top, points)
        else:
            rates = np.atleast_1d(np.asarray(growth_rates, dtype=np.float64))
        for g in rates:
            if bal.evaluate(float(g))[0] + bal.public_share >= 1:
                continue  # nothing left for private consumption at this rate
            rows.append(bal.proposal(f"g {g:.4g}", growth=float(g)).metrics())
    df = pd.DataFrame(rows)
    if bal._growth is not None:
        df.attrs.update(max_growth_rate=bal._growth.rate, lower=bal._growth.lower, upper=bal._growth.upper)
    df.attrs.update(prices=bal.price_kind, horizon=bal.horizon)
    return df


frontier.__doc__ = frontier.__doc__.replace("    %(params)s", _BAL_DOC_PARAMS.strip("\n"))


@dataclass(frozen=True, eq=False, repr=False)
class PlanReport:
    """Proposals side by side.

    Attributes
    ----------
    proposals : tuple of BalancedProposal
    summary : pandas.DataFrame
        Metrics (rows) x proposals (columns): growth rate, shares, net
        product, consumption now and its level, public consumption,
        investment, total labour and per worker, consumption at the end of the
        horizon and over it.
    output : pandas.DataFrame
        Gross output per product (rows) x proposals, first period.
    sector_output : pandas.DataFrame or None
        Output valued at the report's prices, summed by sector (when
        ``sectors`` was given).
    labour : pandas.DataFrame or None
        Labour needed per kind (rows) x proposals.

    Examples
    --------
    See :func:`compare`.
    """

    proposals: tuple
    summary: pd.DataFrame
    output: pd.DataFrame
    sector_output: pd.DataFrame | None
    labour: pd.DataFrame | None

    def to_frame(self) -> pd.DataFrame:
        """The summary table."""
        return self.summary

    def plot(self, frontier_frame: pd.DataFrame | None = None, ax=None):
        """Plot the proposals (and a frontier, if given); see :func:`plot_frontier`."""
        return plot_frontier(frontier_frame, report=self, ax=ax)

    def __repr__(self) -> str:
        return f"<PlanReport of {len(self.proposals)} proposals>\n{self.summary.to_string()}"


def compare(
    economy: Economy,
    proposals: Mapping[str, Mapping] | Sequence[Mapping],
    consumption: Any = None,
    *,
    sectors: Any = None,
    public: Any = None,
    prices: Any = "auto",
    labour_supply: Any = None,
    workers: float | None = None,
    horizon: int = 10,
    backend: str | Backend = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    growth_bounds: GrowthRate | None = None,
) -> PlanReport:
    """The plan report: proposals for the fundamental decision laid out side by side.

    Parameters
    ----------
    economy : Economy
    proposals : mapping name -> dict, or sequence of dicts
        Each dict has ``investment_share`` or ``growth``, and optionally
        ``public_share`` (default 0).
    consumption : array_like (n,), optional
        Composition of private consumption (see :func:`balanced_plan`).
    sectors : array_like (n,) or pandas.Series, optional
        Sector of each product, for output per sector (valued at ``prices``).
    public, prices, labour_supply, workers, horizon, backend, solver, rtol, growth_bounds
        As in :func:`balanced_plan`.

    Returns
    -------
    PlanReport

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import compare
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)
    >>> rep = compare(e, {"consume": {"investment_share": 0.05}, "grow": {"investment_share": 0.3,
    ...               "public_share": 0.1}}, [1.0, 0.5])
    >>> list(rep.summary.columns), rep.output.shape
    (['consume', 'grow'], (2, 2))
    """
    _check_economy(economy)
    if isinstance(proposals, Mapping):
        items = list(proposals.items())
    else:
        items = [(f"proposal {i + 1}", p) for i, p in enumerate(proposals)]
    if not items:
        raise InvalidPlanError("no proposals to compare")
    for name, spec in items:
        if not isinstance(spec, Mapping):
            raise InvalidPlanError(f"proposal {name!r} must be a dict with investment_share or growth, got {spec!r}")
        unknown = set(spec) - {"investment_share", "growth", "public_share"}
        if unknown:
            raise InvalidPlanError(f"proposal {name!r} has unknown keys {sorted(unknown)}")
    bal = _Balanced(economy, consumption, public, 0.0, prices, labour_supply, workers, horizon, backend, solver,
                    rtol, growth_bounds)
    out = []
    for name, spec in items:
        bal.set_public(spec.get("public_share", 0.0))
        out.append(bal.proposal(str(name), growth=spec.get("growth"), investment_share=spec.get("investment_share")))
    names = [p.name for p in out]
    summary = pd.DataFrame({p.name: p.metrics() for p in out})
    summary.index.name = "metric"
    output = pd.DataFrame(np.stack([p.output for p in out], axis=1), index=economy.labels, columns=names)
    labour = None
    if economy.labour is not None:
        labour = pd.DataFrame(np.stack([p.labour for p in out], axis=1), index=list(economy.labour_names),
                              columns=names)
    sector_output = None
    if sectors is not None:
        if isinstance(sectors, pd.Series) and economy.labels is not None:
            sec = sectors.reindex(economy.labels).to_numpy()
        else:
            sec = np.asarray(sectors)
        if sec.shape != (economy.n,):
            raise ShapeError(f"sectors must give one sector per product ({economy.n}), got shape {sec.shape}")
        valued = pd.DataFrame(np.stack([p.output * p.prices for p in out], axis=1), columns=names)
        valued["sector"] = sec
        sector_output = valued.groupby("sector", sort=True).sum()
    return PlanReport(tuple(out), summary, output, sector_output, labour)


def plot_frontier(frontier_frame: pd.DataFrame | None = None, *, report: PlanReport | None = None, ax=None,
                  annotate: bool = True):
    """Plot consumption now against the yearly growth of consumption (matplotlib).

    Parameters
    ----------
    frontier_frame : pandas.DataFrame, optional
        A result of :func:`frontier`.
    report : PlanReport, optional
        Proposals to mark on the plot.
    ax : matplotlib Axes, optional
        Draw into these axes (default: a new figure).
    annotate : bool
        Label frontier points with their investment shares.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ImportError
        matplotlib is not installed (``pip install 'bigplan[plot]'``).

    Examples
    --------
    Needs matplotlib (the ``plot`` extra), so this example is not run by the
    test suite; ``tests/test_dynamic.py`` runs it when matplotlib is present.

    >>> import numpy as np, bigplan, matplotlib  # doctest: +SKIP
    >>> matplotlib.use("Agg")  # doctest: +SKIP
    >>> from bigplan.dynamic import frontier, plot_frontier  # doctest: +SKIP
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)  # doctest: +SKIP
    >>> fig = plot_frontier(frontier(e, points=4))  # doctest: +SKIP
    >>> len(fig.axes)  # doctest: +SKIP
    1
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plot_frontier needs matplotlib: pip install 'bigplan[plot]'") from exc
    if frontier_frame is None and report is None:
        raise ValueError("give a frontier DataFrame, a PlanReport, or both")
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    if frontier_frame is not None and len(frontier_frame):
        df = frontier_frame.sort_values("growth_rate")
        ax.plot(100 * df["growth_rate"], df["consumption_now"], "o-", color="C0", label="frontier")
        if annotate:
            for g, c, s in zip(df["growth_rate"], df["consumption_now"], df["investment_share"]):
                ax.annotate(f"{100 * s:.0f}%", (100 * g, c), textcoords="offset points", xytext=(4, 4), fontsize=7)
        gmax = frontier_frame.attrs.get("max_growth_rate")
        if gmax is not None and math.isfinite(gmax):
            ax.axvline(100 * gmax, color="grey", ls="--", lw=1, label=f"g* = {100 * gmax:.3g}%")
    if report is not None:
        for i, p in enumerate(report.proposals):
            ax.plot(100 * p.growth_rate, p.consumption_now, "s", color=f"C{i + 1}", ms=8, label=p.name)
    ax.set_xlabel("growth of consumption per year (%)")
    ax.set_ylabel("consumption in the first year")
    ax.set_title("Consumption now against consumption growth")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    return fig
