"""The plan problem: :func:`bigplan.dynamic.plan`'s arguments, validated once, frozen.

:meth:`PlanProblem.from_arguments` turns the user's consumption targets,
capacity, labour supply, growth rates and options into one immutable object
(arrays read-only); the three methods (``capacity.py``, ``exact.py``,
``lp.py``) read it and return a :class:`PlanOutcome`.  What changes while a
method runs (the solve tally, the shifted economies built, notes) lives in a
:class:`Run`, never in the problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .._arrays import is_int, to_host
from .._evidence import Evidence
from .._inputs import check_finite, plan_block, product_vector
from .._options import check_int, check_real, check_rtol
from ..economy import Economy
from ..errors import InvalidDemandError, InvalidPlanError, ShapeError
from .common import SolveTally, depreciation_of, plan_option, require_capital
from .labour import labour_supply_path

__all__ = ["METHODS", "TERMINALS", "PlanOutcome", "PlanProblem", "Run", "horizon_periods"]

METHODS = ("capacity", "exact", "lp")
TERMINALS = ("growth", "replace", "none")


@dataclass(frozen=True, eq=False)
class PlanProblem:
    """A multi-period plan problem, validated (build it with :meth:`from_arguments`).

    Attributes
    ----------
    economy : Economy
        With capital coefficients.
    consumption : numpy.ndarray, (n, T)
        Final-consumption targets, one column per period (read-only).
    kind : {"level", "path"}
        A starting level grown at ``growth``, or a path given period by period.
    initial_capacity : numpy.ndarray (n,) or None
        ``K_1``; None when neither the caller nor the economy gave one.
    labour_supply : numpy.ndarray (T, m) or None
    depreciation : numpy.ndarray (n,)
        Replacement rates ``delta`` (zeros when the economy has none).
    method : {"capacity", "exact", "lp"}
    terminal : {"growth", "replace", "none"}
    terminal_growth : float or numpy.ndarray (n,)
        Growth beyond the horizon (0 unless ``terminal="growth"``).
    terminal_growth_default : bool
        ``terminal_growth`` was not given: it follows the expectations.
    expected_growth : float or numpy.ndarray (n,)
        Growth rates of the balanced capacity expectations.
    mean_growth, last_growth : float
        Mean growth of total consumption over the path, and its last period's.
    backend, solver
        Where and how the static solves run.
    rtol, expectation_rtol : float
        Tolerances of the output and expectation solves.
    max_sweeps : int
        Capacity sweeps allowed (``"capacity"``).
    time_limit : float
        Seconds HiGHS may run per phase (``"lp"``).
    shift_cache : dict or None
        Shifted economies ``A + B diag(s)`` shared between plans of one
        economy (the proposals of a report re-plan the same shifts; a shifted
        economy keeps its factorisation); None: one per run.
    shortfall_tol : float
        Shortfalls below ``shortfall_tol * max(output of the period)`` are rounding.
    """

    economy: Economy
    consumption: np.ndarray
    kind: str
    initial_capacity: np.ndarray | None
    labour_supply: np.ndarray | None
    depreciation: np.ndarray
    method: str
    terminal: str
    terminal_growth: Any
    terminal_growth_default: bool
    expected_growth: Any
    mean_growth: float
    last_growth: float
    backend: Any
    solver: Any
    rtol: float
    expectation_rtol: float
    max_sweeps: int
    shortfall_tol: float
    time_limit: float = 600.0
    shift_cache: dict | None = None

    def __post_init__(self):
        if self.method not in METHODS:
            raise InvalidPlanError(f"unknown method {self.method!r}; choose one of {METHODS}")
        if self.terminal not in TERMINALS:
            raise InvalidPlanError(f"unknown terminal rule {self.terminal!r}; choose one of {TERMINALS}")
        n, T = self.consumption.shape
        if n != self.economy.n or T < 1:
            raise ShapeError(f"consumption must be ({self.economy.n}, T >= 1), got {self.consumption.shape}")
        # the problem owns its arrays: read-only from here on (no copy of the (n, T) targets)
        for name in ("consumption", "initial_capacity", "labour_supply", "depreciation"):
            arr = getattr(self, name)
            if arr is not None:
                arr.flags.writeable = False

    @property
    def n(self) -> int:
        return self.consumption.shape[0]

    @property
    def horizon(self) -> int:
        return self.consumption.shape[1]

    @property
    def capital(self):
        """``B`` (CSR)."""
        return self.economy.capital

    def scaled(self, s: float) -> PlanProblem:
        """The same problem with targets, capacity and labour supply divided by ``s`` (a power of two: exact)."""
        def div(a):
            return None if a is None else a / s
        return replace(self, consumption=div(self.consumption), initial_capacity=div(self.initial_capacity),
                       labour_supply=div(self.labour_supply))

    @classmethod
    def from_arguments(
        cls,
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
        backend: Any = "auto",
        solver: Any = "auto",
        rtol: float = 1e-10,
        expectation_rtol: float | None = None,
        max_sweeps: int | None = None,
        shortfall_tol: float | None = None,
        max_n_exact: int = 2000,
        max_lp_variables: int = 2_000_000,
        time_limit: float = 600.0,
        shift_cache: dict | None = None,
    ) -> PlanProblem:
        """Validate :func:`bigplan.dynamic.plan`'s arguments (same names, same meaning)."""
        require_capital(economy)
        n = economy.n
        method = _choice(method, ("auto",) + METHODS, "method")
        method = "capacity" if method == "auto" else method
        terminal = _choice(terminal, TERMINALS, "terminal rule")
        rtol = plan_option(check_rtol, rtol)
        max_n_exact = plan_option(check_int, max_n_exact, "max_n_exact", lo=1)
        max_lp_variables = plan_option(check_int, max_lp_variables, "max_lp_variables", lo=1)
        time_limit = plan_option(check_real, time_limit, "time_limit (seconds)", lo=0.0, lo_open=True,
                                 allow_inf=True)
        C, kind, g_given = _consumption_path(economy, consumption, horizon, growth)
        T = C.shape[1]
        if capacity is None:
            K1 = None if economy.capacity is None else np.asarray(economy.capacity, dtype=np.float64)
        else:
            K1 = product_vector(economy, capacity, "capacity")
        supply = _labour_supply_path(economy, labour_supply, T)
        g_mean, g_last = _aggregate_growth(C)
        g_expect = _expected_growth(C, kind, g_given, g_mean)
        if terminal == "growth":
            if terminal_growth is None:
                g_term = g_expect
            else:
                g_term = plan_option(check_real, terminal_growth, "terminal_growth", lo=-1.0, lo_open=True)
        else:
            if terminal_growth is not None:
                raise InvalidPlanError(f"terminal_growth applies to terminal='growth', not {terminal!r}")
            g_term = 0.0
        if shortfall_tol is None:
            stol = 1e-6 if method == "lp" else max(100 * rtol, 1e-12)
        else:
            stol = plan_option(check_real, shortfall_tol, "shortfall_tol", lo=0.0, hi=1.0, hi_open=True)
        exp_rtol = rtol if expectation_rtol is None else plan_option(check_rtol, expectation_rtol,
                                                                     "expectation_rtol")
        sweeps = max(20, 4 * T) if max_sweeps is None else plan_option(check_int, max_sweeps, "max_sweeps", lo=1)
        if method == "exact" and n > max_n_exact:
            raise InvalidPlanError(
                f"method='exact' factorizes dense n x n matrices; n={n} > max_n_exact={max_n_exact}. Use "
                "method='capacity' (scales to millions of products) or raise max_n_exact"
            )
        elif method == "lp" and 4 * n * T > max_lp_variables:
            raise InvalidPlanError(
                f"method='lp' needs about {4 * n * T:,} variables (> max_lp_variables={max_lp_variables:,}); "
                "use method='capacity' for large economies, or raise max_lp_variables"
            )
        return cls(
            economy=economy, consumption=C, kind=kind, initial_capacity=K1, labour_supply=supply,
            depreciation=depreciation_of(economy), method=method, terminal=terminal, terminal_growth=g_term,
            terminal_growth_default=terminal == "growth" and terminal_growth is None, expected_growth=g_expect,
            mean_growth=g_mean, last_growth=g_last, backend=backend, solver=solver, rtol=float(rtol),
            expectation_rtol=exp_rtol, max_sweeps=int(sweeps), shortfall_tol=stol, time_limit=time_limit,
            shift_cache=shift_cache,
        )


@dataclass
class Run:
    """What changes while one method runs: the solve tally, shifted economies built, notes."""

    tally: SolveTally = field(default_factory=SolveTally)
    shifted: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @classmethod
    def of(cls, problem: PlanProblem, **kw) -> Run:
        """A run of ``problem``: its shifted economies go to the problem's shared cache when it has one."""
        return cls(shifted=problem.shift_cache if problem.shift_cache is not None else {}, **kw)


@dataclass(frozen=True, eq=False)
class PlanOutcome:
    """What a method returns: the plan's arrays (products x periods) and its evidence.

    Attributes
    ----------
    output : numpy.ndarray (n, T)
        Gross outputs ``x_t``.
    new_capacity : numpy.ndarray (n, T)
        ``N_t``, available from ``t + 1``.
    capacity : numpy.ndarray (n, T + 1)
        ``K_1 .. K_{T+1}``.
    sweeps, solves : int
        Capacity sweeps (1 for the other methods) and block solves.
    terminal_growth, expected_growth : float or numpy.ndarray (n,)
        The rates the method used (they may differ from the problem's when a
        rate cannot be sustained and falls back to the aggregate one).
    evidence : Evidence
    """

    output: np.ndarray
    new_capacity: np.ndarray
    capacity: np.ndarray
    sweeps: int
    solves: int
    terminal_growth: Any
    expected_growth: Any
    evidence: Evidence


# -- argument handling --------------------------------------------------------
def _choice(value, options: tuple, what: str) -> str:
    if not isinstance(value, str) or value.lower() not in options:
        raise InvalidPlanError(f"unknown {what} {value!r}; choose one of {options}")
    return value.lower()


def horizon_periods(horizon) -> int:
    if not is_int(horizon):
        raise InvalidPlanError(f"horizon must be a whole number of periods >= 1, got {horizon!r}")
    if horizon < 1:
        raise InvalidPlanError(f"horizon must be >= 1 period, got {horizon}; a plan needs at least one period")
    return int(horizon)


def _growth_rates(economy: Economy, growth):
    """A scalar rate (float) or one rate per product ((n,) array), each finite and > -1."""
    if growth is None:
        return 0.0
    if isinstance(growth, (pd.Series, Mapping)) or np.ndim(to_host(growth)) > 0:
        g = product_vector(economy, growth, "growth", lo=None, error=InvalidPlanError)
        if not (g > -1).all():
            raise InvalidPlanError(f"growth rates must be finite and > -1, got a minimum of {g.min():.6g}")
        return g
    g = to_host(growth)
    g = g.item() if isinstance(g, np.ndarray) else g
    return plan_option(check_real, g, "growth (a rate per period)", lo=-1.0, lo_open=True)


def _consumption_path(economy: Economy, consumption, horizon, growth) -> tuple[np.ndarray, str, Any]:
    """Return ``(C (n, T), kind, growth)``; kind is ``"level"`` or ``"path"``.

    Labelled input (a Series or mapping for a level, a DataFrame of periods x
    products for a path) is aligned through :mod:`bigplan._inputs`.
    """
    n = economy.n
    if isinstance(consumption, pd.DataFrame):
        if consumption.shape[0] == 0:
            raise InvalidPlanError("the consumption path has no periods (0 rows)")
        path = plan_block(economy, consumption.reset_index(drop=True).T, "consumption path").values
        level = None
    elif isinstance(consumption, (pd.Series, Mapping)):
        level = product_vector(economy, consumption, "consumption")
    else:
        arr = np.asarray(to_host(consumption))
        if arr.ndim == 1:
            level = product_vector(economy, arr, "consumption")
        elif arr.ndim == 2:
            if arr.shape[1] != n:
                hint = " (periods are rows: transpose it)" if arr.shape[0] == n else ""
                raise ShapeError(f"a consumption path must have shape (T, {n}), got {arr.shape}{hint}")
            if arr.shape[0] < 1:
                raise InvalidPlanError("the consumption path has no periods (0 rows)")
            path = plan_block(economy, arr.T, "consumption path", host=True).values
            level = None
        else:
            raise ShapeError(f"consumption must be a level ({n},) or a path (T, {n}), got shape {arr.shape}")
    if level is not None:
        if horizon is None:
            raise InvalidPlanError("give horizon=T with a starting consumption level (or a (T, n) consumption path)")
        T = horizon_periods(horizon)
        g = _growth_rates(economy, growth)
        factors = (1.0 + np.asarray(g))[..., None] ** np.arange(T)[None, :] if np.ndim(g) else (1.0 + g) ** np.arange(T)
        C = level[:, None] * factors
        kind = "level"
    else:
        if growth is not None:
            raise InvalidPlanError(
                "growth= applies to a starting consumption level; a (T, n) path already says how consumption "
                "grows (use terminal_growth= for the rate after the horizon)"
            )
        T = path.shape[1]
        if horizon is not None and horizon_periods(horizon) != T:
            raise ShapeError(f"horizon={horizon} but the consumption path has {T} periods (rows)")
        C, g, kind = np.array(path, dtype=np.float64, order="C"), None, "path"  # never the caller's array
    C = np.ascontiguousarray(C, dtype=np.float64)
    check_finite(C, "consumption targets", lo=0.0, error=InvalidDemandError)
    return C, kind, g


def _labour_supply_path(economy: Economy, labour_supply, T: int) -> np.ndarray | None:
    """Labour available per period and kind, ``(T, m)``, or None (aligned by kind name: see ``labour.py``)."""
    return labour_supply_path(economy, labour_supply, T)


def _aggregate_growth(C: np.ndarray) -> tuple[float, float]:
    """(mean growth over the path, growth of the last period) of total consumption."""
    big = float(C.max(initial=0.0))
    tot = (C / big if big > 0 else C).sum(axis=0)  # ratios only: scaled so the sums cannot overflow
    T = C.shape[1]
    if T < 2 or tot[0] <= 0:
        return 0.0, 0.0
    mean = (tot[-1] / tot[0]) ** (1.0 / (T - 1)) - 1.0 if tot[-1] > 0 else -1.0
    last = tot[-1] / tot[-2] - 1.0 if tot[-2] > 0 else mean
    return float(mean), float(last)


def _expected_growth(C: np.ndarray, kind: str, g_given, g_mean: float):
    """Growth of the balanced expectations: the given rate(s), or a path's per-product mean growth."""
    n, T = C.shape
    if kind == "level" and g_given is not None:
        return g_given if np.ndim(g_given) else float(g_given)
    if kind == "path" and T > 1:
        # per-product mean growth where a product is consumed at both ends, else the aggregate
        first, last = C[:, 0], C[:, -1]
        both = (first > 0) & (last > 0)
        g = np.full(n, g_mean)
        g[both] = (last[both] / first[both]) ** (1.0 / (T - 1)) - 1.0
        if np.allclose(g, g[0], rtol=0, atol=1e-13):
            return float(g[0])
        return g
    return 0.0
