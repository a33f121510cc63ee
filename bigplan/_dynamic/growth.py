"""The maximal balanced growth rate ``g*``: bracketing on certified Collatz-Wielandt bounds.

``g*`` is where ``rho(A_eff + g B) = 1`` (``A_eff = A + B diag(delta)``).  The
bounds on ``rho`` come from :mod:`bigplan.spectral` (``cw_bounds`` for one
iterate, ``perron_bounds`` for a power iteration); this module only moves
``g``: a joint iteration on ``(g, x)`` for the estimate, then a bracket
``[g (1 - eps), g (1 + eps)]`` certified from both ends.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .._evidence import Evidence, Status, WithEvidence
from .._options import check_bool, check_int, check_real, check_rtol
from ..backend import Backend, get_backend
from ..economy import Economy
from ..errors import InfeasiblePlanError, NotProductiveError, UnsustainableGrowthError
from ..spectral import cw_bounds, perron_bounds, spectral_radius_bounds
from .common import depreciation_of, plan_option, require_capital, scale_columns

__all__ = ["GrowthRate", "max_growth_rate", "unsustainable"]

_FLOOR = 1e-300  # iterates stay positive (the Collatz-Wielandt upper bound divides by them)


@dataclass(frozen=True, eq=False, repr=False)
class GrowthRate(WithEvidence):
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
    evidence : Evidence
        The shared evidence block; ``residual`` is the relative width of the
        bracket, ``(upper - lower) / rate`` (shape ``(1,)``).
    converged : bool
        ``upper - lower <= rtol * rate``.
    iterations, matvecs : int
        Power iterations and products with ``A`` (and with ``B``), per column.
    backend, method : str
    seconds : float
    notes : tuple of str

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
    evidence: Evidence
    labels: pd.Index | None = None

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


class Pencil:
    """Products with ``A_eff + g B`` on a backend, for blocks of vectors with one ``g`` per column."""

    def __init__(self, bk: Backend, Aeff: sp.csr_matrix, B: sp.csr_matrix):
        self.bk = bk
        xp = bk.xp
        self.n = Aeff.shape[0]
        self.opA = bk.operator(Aeff.astype(np.float64), np.float64)
        self.opB = bk.operator(B.astype(np.float64), np.float64)
        self.rA = xp.asarray(np.asarray(Aeff.sum(axis=1), dtype=np.float64).ravel())
        self.rB = xp.asarray(np.asarray(B.sum(axis=1), dtype=np.float64).ravel())
        self.matvecs = 0

    def block(self, v):
        """A host vector or ``(n, c)`` array as a backend block."""
        return self.bk.block(np.asarray(v, dtype=np.float64).reshape(self.n, -1), np.float64)

    def rates(self, gs):
        """One growth rate per column, on the backend."""
        return self.bk.xp.asarray(np.asarray(gs, dtype=np.float64).reshape(-1))

    def products(self, X):
        """``(A_eff X, B X)``."""
        self.matvecs += X.shape[1]
        return self.bk.matmat(self.opA, X), self.bk.matmat(self.opB, X)

    def apply(self, X, gs):
        """``(A_eff + g_j B) X[:, j]`` for every column ``j`` (``gs`` from :meth:`rates`)."""
        AX, BX = self.products(X)
        return AX + BX * gs[None, :]

    def row_sums(self, gs):
        """Row sums of ``A_eff + g_j B``, one column per rate: ``(n, c)``."""
        return self.rA[:, None] + self.rB[:, None] * gs[None, :]

    def step(self, X, Y, shift: float):
        """One power step with ``M + shift I``, each column scaled to max 1 and kept positive."""
        xp = self.bk.xp
        X = Y + shift * X
        X = X / xp.max(X, axis=0)[None, :]
        return xp.maximum(X, _FLOOR)


def _replacement_operator(economy: Economy, B: sp.csr_matrix, depreciation: bool):
    """``(A_eff, delta, rho0)``: ``A_eff = A + B diag(delta)`` and a certified ``rho(A_eff) <= rho0 < 1``."""
    delta = depreciation_of(economy) if depreciation else np.zeros(economy.n)
    if np.any(delta):
        Aeff = (economy.A.astype(np.float64) + scale_columns(B.astype(np.float64), delta)).tocsr()
        try:
            base = Economy(Aeff, check=True)
        except NotProductiveError as exc:
            raise InfeasiblePlanError(
                "replacement alone cannot be sustained: the spectral radius of A + B diag(depreciation) is "
                f">= 1 (about {exc.spectral_radius:.6g}), so the economy cannot even keep its capacity, let "
                "alone grow (g* < 0). Lower the depreciation rates or capital coefficients of the sectors "
                f"{exc.sectors}"
            ) from None
        return Aeff, delta, base.productivity.upper
    Aeff = economy.A.astype(np.float64)
    rho0 = economy.productivity.upper
    if not (rho0 < 1):  # an unchecked economy: certify here
        rho0 = spectral_radius_bounds(Aeff, stop_below=1.0, maxiter=max(2000, 4 * economy.n))[1]
        if not rho0 < 1:
            raise InfeasiblePlanError("A is not certified productive (spectral radius >= 1): no growth is possible")
    return Aeff, delta, rho0


def _joint_iteration(pen: Pencil, rho0: float, rtol: float, maxiter: int, shift: float, g_max: float):
    """Phase 1: power steps with ``A_eff + g B``, ``g`` re-fitted each step so that ``1^T M x = 1^T x``.

    Returns ``(g, X, iterations, unbounded)``; stops once the Collatz-Wielandt gap at ``g`` is small
    enough for phase 2 to decide at once (checked every few steps after ``g`` has settled).
    """
    bk = pen.bk
    xp = bk.xp
    gap_target = 0.25 * (1.0 - min(rho0, 1.0 - 1e-12)) * rtol
    X = pen.block(np.ones(pen.n))
    g = 0.0
    it = 0
    for it in range(1, maxiter + 1):
        AX, BX = pen.products(X)
        sx = float(bk.to_numpy(xp.sum(X)))
        sa = float(bk.to_numpy(xp.sum(AX)))
        sb = float(bk.to_numpy(xp.sum(BX)))
        g_new = max(0.0, (sx - sa) / sb) if sb > 0 else math.inf
        if not math.isfinite(g_new) or g_new > g_max:
            return g, X, it, True
        Y = AX + BX * g_new
        settled = abs(g_new - g) <= 0.1 * rtol * g_new
        g = g_new
        # the lower bound costs a few passes: only once the rate has settled, every few steps
        if it > 2 and settled and it % 4 == 0:
            gs = pen.rates([g])
            hi, lo = cw_bounds(bk, X, Y, pen.row_sums(gs))
            if float(bk.to_numpy(hi)[0]) - float(bk.to_numpy(lo)[0]) <= gap_target:
                break
        X = pen.step(X, Y, shift)
    return g, X, it, False


def _bracket(pen: Pencil, X, g: float, rtol: float, maxiter: int, shift: float):
    """Phase 2: certify ``[g (1 - eps), g (1 + eps)]`` by power iterations at both ends.

    ``rho < 1`` at the low end (upper Collatz-Wielandt bound below 1) certifies it
    below ``g*``; ``rho >= 1`` at the high end (lower bound at least 1) above.  A
    decision the other way moves the estimate (bisection); no decision within a
    chunk of iterations widens ``eps``.  Returns ``(lower, upper, g, vectors,
    iterations, rho_at, widened)``.
    """
    bk = pen.bk
    eps = rtol / 2
    x_host = bk.to_numpy(X).reshape(pen.n)
    Xc = pen.block(np.stack([x_host, x_host], axis=1))
    lower, upper = 0.0, math.inf
    rho_at = (math.inf, 0.0)
    budget, iterations, widen = maxiter, 0, 0
    while budget > 0:
        gl, gh = g * (1 - eps), g * (1 + eps)
        gs = pen.rates([gl, gh])
        chunk = min(budget, max(60, int(8 * math.log(1 / eps))))
        pb = perron_bounds(
            bk, lambda Z, gs=gs: pen.apply(Z, gs), Xc, row_sums=pen.row_sums(gs), maxiter=chunk, rtol=0.0, shift=shift,
            stop_below=1.0, stop_above=1.0,
        )
        Xc = pb.vectors
        iterations += pb.iterations
        budget -= pb.iterations
        hi, lo = pb.upper, pb.lower
        moved = False
        if hi[0] < 1:
            lower = max(lower, gl)
        if lo[1] >= 1:
            upper = min(upper, gh)
        if lo[0] >= 1:  # rho(gl) >= 1: the estimate was too high
            upper = min(upper, gl)
            moved = True
        if hi[1] < 1:  # rho(gh) < 1: the estimate was too low
            lower = max(lower, gh)
            moved = True
        rho_at = (float(hi[0]), float(lo[1]))
        if math.isfinite(upper) and upper - lower <= 1.0000001 * rtol * max(lower, 1e-300) + 1e-300:
            break
        if moved:
            g = 0.5 * (lower + upper) if math.isfinite(upper) else max(2 * lower, g * (1 + 10 * eps))
            continue
        if hi[0] < 1 and lo[1] >= 1:
            break
        widen += 1
        eps = min(0.5, eps * 10)
    return lower, upper, g, Xc, iterations, rho_at, widen


def _evidence(*, converged: bool, width: float, iterations: int, pen: Pencil, seconds: float, notes) -> Evidence:
    return Evidence(
        converged=converged,
        status=np.array([Status.CONVERGED if converged else Status.MAX_ITERATIONS], dtype=np.int8),
        iterations=iterations,
        residual=np.array([width]),
        backend=pen.bk.name,
        method="certified power iteration",
        matvecs=pen.matvecs,
        seconds=seconds,
        notes=tuple(notes),
    )


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
       (1 + eps)`` (``eps = rtol / 2``) until the Collatz-Wielandt bounds of
       :func:`bigplan.spectral.perron_bounds` decide both: ``max_i (M x)_i /
       x_i < 1`` certifies ``rho < 1``, so ``g (1 - eps) <= g*``; ``min_{i in
       S} ((M x)_i - r_i max_{j not in S} x_j) / x_i >= 1`` over a support
       ``S`` of ``x`` (``r`` the row sums of ``M``; a valid bound for the
       non-negative vector ``x`` cut to ``S``) certifies ``rho >= 1``, so ``g
       (1 + eps) >= g*``.  If undecided, ``eps`` is widened.

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
        A finite number > 0.  When ``g* > g_max`` is certified the result has
        ``rate = inf`` and ``lower = g_max`` (capital does not limit growth in
        the range searched; truly unbounded without a cycle of capital
        requirements).

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
    rtol = plan_option(check_rtol, rtol)
    maxiter = plan_option(check_int, maxiter, "maxiter", lo=1)
    shift = plan_option(check_real, shift, "shift (the power iteration runs on M + shift I)", lo=0.0, lo_open=True)
    g_max = plan_option(check_real, g_max, "g_max (the largest growth rate searched)", lo=0.0, lo_open=True)
    depreciation = plan_option(check_bool, depreciation, "depreciation")
    Aeff, delta, rho0 = _replacement_operator(economy, B, depreciation)
    pen = Pencil(get_backend(backend), Aeff, B)
    n = economy.n
    notes: list[str] = []
    g, X, iterations, unbounded = _joint_iteration(pen, rho0, rtol, maxiter, shift, g_max)
    if unbounded:
        gs = pen.rates([g_max])
        pb = perron_bounds(pen.bk, lambda Z: pen.apply(Z, gs), pen.block(np.ones(n)), row_sums=pen.row_sums(gs),
                           maxiter=maxiter, rtol=0.0, shift=shift, stop_below=1.0, stop_above=1.0)
        iterations += pb.iterations
        lo_, hi_ = float(pb.lower[0]), float(pb.upper[0])
        if hi_ < 1:
            notes.append(
                f"capital does not limit growth up to g_max={g_max:g}: rho(A + {g_max:g} B) <= {hi_:.6g} < 1, so "
                f"g* > {g_max:g} (certified lower bound); g* is unbounded when there is no cycle of capital "
                "requirements (the equipment can be produced without equipment); raise g_max to search further"
            )
            ev = _evidence(converged=True, width=0.0, iterations=iterations, pen=pen,
                           seconds=time.perf_counter() - t0, notes=notes)
            return GrowthRate(math.inf, g_max, math.inf, np.zeros(n), (lo_, hi_), bool(np.any(delta)), ev,
                              economy.labels)
        g = g_max / 2
        notes.append("growth-rate estimate diverged; restarted from a bracket search")
    lower, upper, g, Xc, its2, rho_at, widen = _bracket(pen, X, g, rtol, maxiter, shift)
    iterations += its2
    if widen:
        notes.append(f"bracket widened {widen} time(s) to be certified within maxiter={maxiter}")
    if not math.isfinite(upper):
        notes.append("no upper bound could be certified within maxiter; raise maxiter")
    rate = g if lower <= g <= upper else (0.5 * (lower + upper) if math.isfinite(upper) else lower)
    prop = pen.bk.to_numpy(Xc)[:, 0].astype(np.float64)
    prop[prop <= 1e-290] = 0.0
    prop = prop / prop.sum()
    converged = math.isfinite(upper) and lower > 0 and (upper - lower) <= 1.0000001 * rtol * rate + 1e-300
    width = (upper - lower) / rate if rate > 0 else math.inf
    ev = _evidence(converged=bool(converged), width=width, iterations=iterations, pen=pen,
                   seconds=time.perf_counter() - t0, notes=notes)
    return GrowthRate(
        rate=float(rate),
        lower=float(lower),
        upper=float(upper),
        proportions=prop,
        spectral_radius=rho_at,
        depreciation=bool(np.any(delta)),
        evidence=ev,
        labels=economy.labels,
    )


def unsustainable(economy: Economy, rate: float, what: str, *, depreciation: bool = True) -> UnsustainableGrowthError:
    """The error for a growth rate at or above ``g*``, naming ``g*`` and its certified bracket."""
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
