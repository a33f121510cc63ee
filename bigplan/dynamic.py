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

Proposals from the present: :func:`compare` plans every proposal (a split of
the net product between consumption, public consumption and investment, and a
working time) over a horizon from the economy's recorded capacity and stocks
with :func:`plan`, and reports the five items (a)-(e) of each in a
:class:`PlanReport` (tables and text); :func:`frontier` adds the same figures
to every point.  Balanced growth is the long-run reference line.  The stocks
of every product are drawn in the first period (:func:`draw_stocks`: the
least output that, with the stocks, meets a final demand, found exactly by an
active-set method without an LP; :class:`StockDraw`).

Balanced growth: :func:`max_growth_rate` finds the largest ``g`` with
``x = A x + B (g + delta) x``, ``x >= 0`` (``g*``: ``rho(A + B diag(delta) + g B)
= 1``; without replacement the Perron root of ``(I - A)^{-1} B`` is ``1/g*``)
with certified Collatz-Wielandt bounds from mat-vecs only, on every backend
(:mod:`bigplan.spectral` certifies, :func:`max_growth_rate` brackets ``g*`` on top).
:func:`balanced_plan`, :func:`frontier`, :func:`compare` and
:func:`plot_frontier` lay out the fundamental decision: the share of the net
product invested, the growth rate it implies, and consumption now against
consumption growth.

The implementation lives in the private package ``bigplan._dynamic`` (one
module per concern: the plan problem, one per method, the result, growth,
balanced proposals, the frontier); this module is its public face.
"""

from __future__ import annotations

from typing import Any

from ._dynamic.balanced import BalancedProposal, balanced_plan
from ._dynamic.common import require_capital
from ._dynamic.frontier import PlanReport, compare, frontier, plot_frontier
from ._dynamic.growth import GrowthRate, max_growth_rate
from ._dynamic.planner import run_plan
from ._dynamic.proposals import Proposal
from ._dynamic.result import DynamicPlan
from ._dynamic.stocks import StockDraw, draw_stocks
from .backend import Backend
from .economy import Economy
from .errors import (
    InvalidPlanError,
    InvalidPlanOptionError,
    NegativePlanError,
    NoCapitalError,
    UnsustainableGrowthError,
)

# ``capital_matrix`` is part of this module's documented API (synthetic capital coefficients with a known
# g*, used by the examples and benchmarks); it is generated in bigplan.synthetic and only re-exported here.
from .synthetic import capital_matrix

__all__ = [
    "BalancedProposal",
    "DynamicPlan",
    "GrowthRate",
    "InvalidPlanError",
    "InvalidPlanOptionError",
    "NegativePlanError",
    "NoCapitalError",
    "PlanReport",
    "Proposal",
    "StockDraw",
    "UnsustainableGrowthError",
    "balanced_plan",
    "capital_matrix",
    "compare",
    "draw_stocks",
    "frontier",
    "max_growth_rate",
    "plan",
    "plot_frontier",
    "require_capital",
]

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
    time_limit: float = 600.0,
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
        or a starting level ``(n,)`` with ``horizon`` and ``growth`` (a Series
        or a mapping ``{product: level}`` is aligned to the labels).
    horizon : int, optional
        Number of periods ``T >= 1`` (required with a starting level).
    growth : float, array_like (n,), pandas.Series or mapping, optional
        Growth rate of consumption per period for a starting level (default
        0), one for all products or one per product.
    capacity : array_like (n,), pandas.Series or mapping, optional
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
    time_limit : float, default 600
        Seconds HiGHS may spend on each phase of ``"lp"`` (``inf``: no limit).
        A solve stopped by it raises :class:`~bigplan.ConvergenceError` with
        HiGHS's status; Ctrl-C interrupts a running solve (``KeyboardInterrupt``).

    Returns
    -------
    DynamicPlan

    Raises
    ------
    NoCapitalError
        The economy has no capital goods.
    ShapeError, InvalidDemandError
        Targets of the wrong shape, negative or not finite.
    UnknownProductError, LabelError
        Labelled input (a Series, mapping or DataFrame) names a product the
        economy lacks (``UnknownProductError``, a ``LabelError``), or lacks one
        of its products (``LabelError``), as everywhere in bigplan.
    InvalidPlanError
        ``horizon < 1``, unknown ``method`` or ``terminal``; options out of
        range raise :class:`~bigplan.errors.InvalidPlanOptionError` (also an
        ``InvalidOptionError``).
    InvalidDemandError
        Also when the plan's outputs would overflow float64.
    UnsustainableGrowthError
        Consumption growth (or terminal growth) at or above ``g*``; the
        message gives ``g*`` and its bounds.
    NegativePlanError
        ``method="exact"`` and the dynamic inverse gives negative outputs or
        disinvestment.

    Notes
    -----
    Targets, capacity and labour supply of any finite magnitude are planned:
    the balance and the limits are homogeneous of degree one in them
    together, so a problem far from unit magnitude is solved scaled by a
    power of two (exactly) and scaled back.

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
    return run_plan(
        economy, consumption, horizon=horizon, growth=growth, capacity=capacity, labour_supply=labour_supply,
        method=method, terminal=terminal, terminal_growth=terminal_growth, backend=backend, solver=solver,
        rtol=rtol, expectation_rtol=expectation_rtol, max_sweeps=max_sweeps, shortfall_tol=shortfall_tol,
        max_n_exact=max_n_exact, max_lp_variables=max_lp_variables, time_limit=time_limit,
    )
