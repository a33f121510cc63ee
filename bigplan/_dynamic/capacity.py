"""``method="capacity"``: investment only where capacity must grow, by static solves only.

Duchin and Szyld (1985) style, in four steps (see :mod:`bigplan.dynamic`):

1. capacity targets from balanced expectations, all periods as one block
   (per-product rates re-estimated from the requirements, then corrected per
   period);
2. capacity built forward, ``N_t = max(0, xhat_{t+1} - (1 - delta) K_t)``;
3. outputs ``x_t = (I - A)^{-1} (c_t + B N_t)`` in one block solve;
4. damped capacity sweeps where an output exceeds the capacity built for it.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..economy import Economy
from ..errors import NotProductiveError
from .common import shifted_economy, solve
from .expectations import Expectations, expectation_shift
from .growth import max_growth_rate
from .problem import PlanOutcome, PlanProblem, Run

__all__ = ["solve_capacity"]


def solve_capacity(problem: PlanProblem) -> PlanOutcome:
    """The ``"capacity"`` plan of ``problem``: outputs, new capacity and capacity, with evidence."""
    t0 = time.perf_counter()
    run = Run.of(problem)
    p = problem
    T = p.horizon
    keep = 1.0 - p.depreciation
    K1 = p.initial_capacity
    Xh, g_exp, g_term = _capacity_targets(p, run, expectation_shift(p, run))
    K, N = _build_forward(Xh, K1, keep)
    X = solve(p.economy, p.consumption + p.capital @ N, backend=p.backend, method=p.solver, rtol=p.rtol,
              x0=Xh[:, :T], tally=run.tally)
    np.maximum(X, 0.0, out=X)
    sweeps, settled = _sweep(p, run, Xh, X, N, K)
    if not settled:
        run.notes.append(
            f"capacity sweep stopped after {sweeps} sweeps with outputs above the capacity built for them; "
            "they are reported as bottlenecks (raise max_sweeps)"
        )
    if K1 is None:
        run.notes.append("no initial capacity given: period 1 capacity taken as what period 1 needs")
    ev = run.tally.evidence(converged=settled, method="capacity", seconds=time.perf_counter() - t0, notes=run.notes)
    return PlanOutcome(X, N, K, sweeps=sweeps, solves=run.tally.solves, terminal_growth=g_term,
                       expected_growth=g_exp, evidence=ev)


# -- 1. capacity targets -------------------------------------------------------
def _capacity_targets(p: PlanProblem, run: Run, ex: Expectations):
    """``(Xh (n, T + 1), expectation rates, terminal rates)``: balanced targets, the last column beyond T."""
    n, T = p.n, p.horizon
    E, g_exp, Et, g_term = ex.economy, ex.growth, ex.terminal_economy, ex.terminal_growth
    if np.ndim(g_exp) and T > 1:
        E, g_exp, Et, g_term = _reestimate_rates(p, run, E, g_exp, Et, g_term)
    Xh = np.empty((n, T + 1))
    Xh[:, :T] = solve(E, p.consumption, backend=p.backend, method=p.solver, rtol=p.expectation_rtol,
                      tally=run.tally)
    np.maximum(Xh[:, :T], 0.0, out=Xh[:, :T])
    if np.ndim(g_exp) and T > 2:
        _per_period_correction(p, run, E, g_exp, Xh)
    if p.terminal == "growth":
        if Et is E:
            xT = Xh[:, T - 1]
        else:
            xT = solve(Et, p.consumption[:, T - 1 : T], backend=p.backend, method=p.solver,
                       rtol=p.expectation_rtol, tally=run.tally)[:, 0]
        Xh[:, T] = (1.0 + np.asarray(g_term)) * np.maximum(xT, 0.0)
    elif p.terminal == "replace":
        Xh[:, T] = Xh[:, T - 1]
    else:
        Xh[:, T] = 0.0
    return Xh, g_exp, g_term


def _reestimate_rates(p: PlanProblem, run: Run, E: Economy, g_exp, Et, g_term):
    """Per-product rates from the requirements of the first and last period (one two-column solve).

    Outputs grow like a blend of their customers' consumption, not like the
    product's own consumption.  A default terminal rule follows the new rates.
    """
    n, T = p.n, p.horizon
    Z = solve(E, p.consumption[:, [0, T - 1]], backend=p.backend, method=p.solver, rtol=1e-6, tally=run.tally)
    z1, zT = Z[:, 0], Z[:, 1]
    tiny = 1e-12 * max(float(np.abs(Z).max()), np.finfo(float).tiny)
    ok = (z1 > tiny) & (zT > tiny)
    gam = np.full(n, float(p.mean_growth))
    gam[ok] = (zT[ok] / z1[ok]) ** (1.0 / (T - 1)) - 1.0
    try:
        E_new = shifted_economy(p.economy, np.maximum(gam + p.depreciation, 0.0), run.shifted)
    except NotProductiveError:
        return E, g_exp, Et, g_term
    if p.terminal == "growth" and Et is E and p.terminal_growth_default:
        Et, g_term = E_new, gam
    return E_new, gam, Et, g_term


def _per_period_correction(p: PlanProblem, run: Run, E: Economy, g_exp: np.ndarray, Xh: np.ndarray) -> None:
    """Per-period rates ``d_t = z_{t+1} / z_t - 1`` from the targets themselves (updates ``Xh`` in place).

    Requirements of fast-growing customers gain weight over time, so a
    product's growth is not constant.  ``(I - A - B diag(d_t + delta)) xhat_t =
    c_t`` is solved as ``(I - A - B diag(g + delta)) xhat_t = c_t + B ((d_t - g)
    xhat_t)``, one block solve from the current targets (a contraction for
    small rate differences).
    """
    n, T = p.n, p.horizon
    Z = Xh[:, :T]
    tiny = 1e-12 * max(float(Z.max()), np.finfo(float).tiny)
    ok = (Z[:, :-1] > tiny) & (Z[:, 1:] > tiny)
    dev = np.zeros((n, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        dev[:, :-1] = np.where(ok, Z[:, 1:] / np.where(ok, Z[:, :-1], 1.0) - 1.0, g_exp[:, None]) - g_exp[:, None]
    dev[:, -1] = dev[:, -2]
    dev = np.maximum(dev, -(g_exp + p.depreciation)[:, None])  # keep the shifted coefficients >= 0
    Xn = solve(E, p.consumption + p.capital @ (dev * Xh[:, :T]), backend=p.backend, method=p.solver,
               rtol=p.expectation_rtol, x0=Xh[:, :T], tally=run.tally)
    if np.isfinite(Xn).all():
        Xh[:, :T] = np.maximum(Xn, 0.0)


# -- 2. capacity built forward ---------------------------------------------------
def _build_forward(Xh: np.ndarray, K1: np.ndarray | None, keep: np.ndarray):
    """``(K (n, T + 1), N (n, T))``: new capacity only where a target exceeds what is kept."""
    n, T = Xh.shape[0], Xh.shape[1] - 1
    K = np.empty((n, T + 1))
    K[:, 0] = Xh[:, 0] if K1 is None else K1
    N = np.empty((n, T))
    for t in range(T):
        N[:, t] = np.maximum(Xh[:, t + 1] - keep * K[:, t], 0.0)
        K[:, t + 1] = keep * K[:, t] + N[:, t]
    return K, N


# -- 4. capacity sweeps ------------------------------------------------------------
def _sweep(p: PlanProblem, run: Run, Xh, X, N, K) -> tuple[int, bool]:
    """Raise targets where outputs exceed capacity and re-plan investment; ``(sweeps, settled)``.

    Where an output exceeds the capacity built for it, that period's target
    rises (targets only rise) by ``step * shortfall``.  Raising ``K_t`` by ``d``
    also lowers ``N_t`` by ``(1 - delta) d``, so ``x_t`` falls by ``(1 - delta)
    M d`` (``M = (I - A)^-1 B``): the shortfall closes for ``d = (I + (1 -
    delta) M)^-1 s``, which ``theta = 1 / (1 + (1 - delta) / g)`` gives exactly
    along the Perron direction (``g``: balanced growth rate without
    replacement); the extra investment before ``t`` is then ``M d``, about
    ``lambda / (1 + (1 - delta) lambda) < 1 / (1 - delta)`` times the
    shortfall, instead of ``M s`` (which would cascade by ``rho(M)`` per
    period).  After the first sweep each product and period learns its own
    step (secant), within ``[theta, 1]``.  ``Xh``, ``X``, ``N`` and ``K`` are
    updated in place.
    """
    n, T = p.n, p.horizon
    K1, B, C = p.initial_capacity, p.capital, p.consumption
    keep = 1.0 - p.depreciation
    sweeps = 1
    theta = None
    step = last_raise = last_excess = None
    while True:
        scale = np.maximum(X.max(axis=0), K[:, :T].max(axis=0))
        excess = X - K[:, :T]
        short = excess > p.shortfall_tol * np.maximum(scale, np.finfo(float).tiny)[None, :]
        if K1 is not None:
            short[:, 0] = False  # initial capacity is given: a period-1 shortfall is a bottleneck
        if not short.any():
            return sweeps, True
        if sweeps >= p.max_sweeps:
            return sweeps, False
        sweeps += 1
        if theta is None:
            theta = _sweep_damping(p.economy, p.depreciation)
            step = np.full((n, T), theta)
        else:
            # closure r = (s_old - s_new) / d of the last raise; the next step is s / r, within [theta, 1]
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
        Xc = solve(p.economy, C[:, changed] + B @ N[:, changed], backend=p.backend, method=p.solver, rtol=p.rtol,
                   x0=X[:, changed], tally=run.tally)
        X[:, changed] = np.maximum(Xc, 0.0)


def _sweep_damping(economy: Economy, delta: np.ndarray) -> float:
    """``1 / (1 + (1 - delta) rho(M))``, ``rho(M) = 1/g`` estimated (g: growth without replacement)."""
    try:
        gr = max_growth_rate(economy, depreciation=False, rtol=1e-3, maxiter=300)
        g = gr.rate if math.isfinite(gr.rate) and gr.rate > 0 else 1.0
    except Exception:  # noqa: BLE001 - a rough estimate is enough here; fall back to g = 1
        g = 1.0
    keep = float(np.mean(1.0 - delta))
    return 1.0 / (1.0 + keep / g)
