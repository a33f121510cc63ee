"""Proposals from the present: the fundamental decision planned from today's capacity, stocks and working time.

A proposal splits the net product between private consumption, public
consumption and investment (``investment_share`` or ``growth``, and
``public_share``) and sets the society's working time (``labour_supply``, or
``hours_per_worker`` with the number of ``workers``, optionally growing at
``labour_growth``).  From the balanced path of that split (the long-run
reference) it takes the composition of final consumption and its growth rate
``g``; the consumption path ``lambda * f * (1 + g)^t`` is then planned over the
horizon with the multi-period planner (:func:`bigplan.dynamic.plan`), starting
from the economy's recorded capacity and stocks.  The level ``lambda`` is the
largest at which the plan's labour fits the working time in every period (a
few re-plans; the plan is homogeneous up to the fixed capacity and stocks).
Capacity that is short is reported as the proposal's bottleneck, not raised.

Stocks: the recorded stocks of every product may be drawn in the first
period, for its private and public consumption ``d``, its investment goods
``B N_1`` and the intermediate inputs of both, directly or indirectly
(:mod:`.stocks`): the first period makes the least output ``x*`` with ``x* + u
= A x* + d + B N_1``, ``0 <= u <= s``, which is also the output needing the
least labour, and the plan's first period has the final demand ``d - u``
(negative where stocks replace intermediate inputs or investment goods; the
plan's ``consumption[0]``).  A product is made only once its stock is used up;
stocks no part of the first period needs are left (``stocks_unused``).  With
today's capacity known, the capacity and exact methods set ``N_1`` by the
capacity targets of later periods, independently of the first period's
targets, so ``x*`` is exact; with ``method="lp"`` or without a capacity,
``N_1`` is first planned net of what the stocks give consumption (see
``Present._plan``).
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._inputs import product_vector
from .._options import check_real
from ..economy import Economy
from ..errors import InfeasiblePlanError, InvalidPlanError
from .balanced import Balanced, BalancedProposal
from .common import plan_option
from .labour import kind_vector, labour_supply_path, labour_units
from .planner import solve_problem
from .problem import PlanProblem, horizon_periods
from .result import assemble
from .stocks import StockDraw, draw_stocks

__all__ = ["PROPOSAL_KEYS", "Present", "Proposal", "proposal_items"]

PROPOSAL_KEYS = ("investment_share", "growth", "public_share", "labour_supply", "hours_per_worker", "workers",
                 "labour_growth")


def proposal_items(proposals) -> list:
    """``[(name, spec), ...]`` from a mapping or a sequence of dicts, every key checked."""
    if isinstance(proposals, Mapping):
        items = [(str(k), v) for k, v in proposals.items()]
    elif isinstance(proposals, Sequence) and not isinstance(proposals, (str, bytes)):
        items = [(f"proposal {i + 1}", p) for i, p in enumerate(proposals)]
    else:
        raise InvalidPlanError(f"proposals must be a dict name -> dict or a list of dicts, got {type(proposals).__name__}")
    if not items:
        raise InvalidPlanError("no proposals to compare; give at least one, e.g. {'grow': {'investment_share': 0.2}}")
    for name, spec in items:
        if not isinstance(spec, Mapping):
            raise InvalidPlanError(f"proposal {name!r} must be a dict with investment_share or growth, got {spec!r}")
        unknown = sorted(map(str, set(spec) - set(PROPOSAL_KEYS)))
        if unknown:
            raise InvalidPlanError(
                f"proposal {name!r} has unknown keys {unknown}; valid keys are {list(PROPOSAL_KEYS)}"
            )
        if ("investment_share" in spec) == ("growth" in spec):
            raise InvalidPlanError(f"proposal {name!r} must give exactly one of 'investment_share' and 'growth'")
        if "labour_supply" in spec and "hours_per_worker" in spec:
            raise InvalidPlanError(
                f"proposal {name!r} gives both 'labour_supply' and 'hours_per_worker'; give one (the labour "
                "supply is hours_per_worker * workers)"
            )
    return items


@dataclass(frozen=True, eq=False, repr=False)
class Proposal:
    """One proposal planned from the present over the horizon.

    Attributes
    ----------
    name : str
    feasible : bool
        The plan meets every target within capacity and labour.
    reason : str
        Why not (the binding capacity or labour), or ``""``.
    binding : str
        What sets the level of consumption (the labour kind and period where
        labour is fully used), or why there is no level.
    growth_rate : float
        Growth of consumption per period (the path's rate).
    public_share : float
    plan : DynamicPlan or None
        The multi-period plan (None when the split cannot be sustained at all).
    reference : BalancedProposal or None
        The balanced path of the same split (the long-run reference line).
    level : float
        ``lambda``: first-period final consumption as a multiple of the split's
        final-use bundle (per unit of net product of the balanced reference).
    private, public : numpy.ndarray (n,)
        Private and public consumption in the first period, per product.
    stocks_used : numpy.ndarray (n,)
        Recorded stocks drawn in the first period: for private and public
        consumption, as investment goods, and in place of intermediate inputs
        (:attr:`stocks_final` + :attr:`stocks_investment` +
        :attr:`stocks_intermediate`; :attr:`stocks_unused` is what is left).
    labour_supply : numpy.ndarray (T, m) or None
    workers : numpy.ndarray (m,) or None
        Workers per labour kind (the same number for every kind when given as one number).
    prices : numpy.ndarray (n,)
        The valuation of the report.
    bundle_value : float
        Value of one unit of the private consumption bundle.
    plans : int
        Multi-period plans computed to fit the level to the working time.
    notes : tuple of str
    stocks : StockDraw or None
        The first period's draw on the stocks (least output, stocks used and
        left, labour saved, with evidence); None without a plan or without stocks.
    stocks_recorded : numpy.ndarray (n,) or None
        The stocks the proposal started from.

    The plan's first period is planned for the final demand ``private +
    public - stocks_used`` (``plan.consumption[0]``; negative where stocks
    replace intermediate inputs or investment goods), and its output is the
    least one for that period's consumption and investment with the stocks
    drawn (``stocks.output``; ``stocks.demand`` is consumption plus
    investment).
    """

    name: str
    feasible: bool
    reason: str
    binding: str
    growth_rate: float
    public_share: float
    plan: Any
    reference: BalancedProposal | None
    level: float
    private: np.ndarray
    public: np.ndarray
    stocks_used: np.ndarray
    labour_supply: np.ndarray | None
    workers: np.ndarray | None
    prices: np.ndarray
    bundle_value: float = math.nan
    plans: int = 0
    notes: tuple = field(default_factory=tuple)
    stocks: StockDraw | None = None
    stocks_recorded: np.ndarray | None = None

    # the first period's stocks
    @property
    def stocks_final(self) -> np.ndarray:
        """Stocks that meet the product's own private and public consumption (first period), per product."""
        return np.minimum(self.stocks_used, self.private + self.public)

    @property
    def stocks_investment(self) -> np.ndarray:
        """Stocks delivered as the first period's investment goods (equipment), per product."""
        return np.zeros_like(self.stocks_used) if self.stocks is None else self.stocks.final - self.stocks_final

    @property
    def stocks_intermediate(self) -> np.ndarray:
        """Stocks drawn in place of intermediate inputs (first period), per product."""
        return np.zeros_like(self.stocks_used) if self.stocks is None else self.stocks.intermediate

    @property
    def stocks_unused(self) -> np.ndarray:
        """Stocks left after the first period (all of them when nothing was planned), per product."""
        return (np.zeros_like(self.stocks_used) if self.stocks_recorded is None else
                self.stocks_recorded - self.stocks_used)

    @property
    def output_saved(self) -> np.ndarray:
        """Output the stocks make unnecessary in the first period, ``(I - A)^{-1} stocks_used``."""
        return np.zeros_like(self.stocks_used) if self.stocks is None else self.stocks.output_saved

    @property
    def labour_saved(self) -> np.ndarray | None:
        """Labour per kind the stocks save in the first period, ``l (I - A)^{-1} stocks_used``."""
        if self.stocks is None:
            return None if self.labour_now is None else np.zeros_like(self.labour_now)
        return self.stocks.labour_saved

    # first-period values, at the report's prices
    @property
    def consumption_now(self) -> float:
        return float(self.prices @ self.private)

    @property
    def public_consumption(self) -> float:
        return float(self.prices @ self.public)

    @property
    def investment(self) -> float:
        """Investment goods delivered in the first period (gross: expansion and replacement), valued."""
        return math.nan if self.plan is None else float(self.prices @ self.plan.investment[0])

    @property
    def replacement(self) -> float:
        """Investment goods that replace worn capacity in the first period (part of :attr:`investment`)."""
        return math.nan if self.plan is None else float(self.prices @ self.plan.replacement[0])

    @property
    def net_product(self) -> float:
        """Consumption, public consumption and net investment (gross investment less replacement), period 1."""
        if self.plan is None:
            return self.consumption_now + self.public_consumption
        return self.consumption_now + self.public_consumption + self.investment - self.replacement

    @property
    def output(self) -> np.ndarray:
        """Gross output per product in the first period (zeros when there is no plan)."""
        return np.zeros(self.private.size) if self.plan is None else self.plan.output[0]

    @property
    def labour(self) -> np.ndarray | None:
        """Labour needed per kind in the first period (as :attr:`labour_now`)."""
        return self.labour_now

    @property
    def labour_now(self) -> np.ndarray | None:
        return None if self.plan is None or self.plan.labour is None else self.plan.labour[0]

    def __repr__(self) -> str:
        state = "feasible" if self.feasible else f"NOT feasible ({self.reason})"
        return (f"<Proposal {self.name!r}: consumption grows {self.growth_rate:.4g}/period, now "
                f"{self.consumption_now:.6g}; {state}>")


class Present:
    """What the proposals of one report share: the economy today, the balanced machinery, the plan options."""

    def __init__(self, economy: Economy, consumption, public, prices, labour_supply, workers, horizon, capacity,
                 stocks, method, backend, solver, rtol, growth_bounds):
        self.economy = economy
        self.T = horizon_periods(horizon)
        self.bal = Balanced(economy, consumption, public, 0.0, prices, None, None, self.T, backend, solver, rtol,
                            growth_bounds)
        n = economy.n
        self.capacity = (None if capacity is None and economy.capacity is None else
                         product_vector(economy, economy.capacity if capacity is None else capacity, "capacity"))
        self.stocks = (np.zeros(n) if stocks is None and economy.stocks is None else
                       product_vector(economy, economy.stocks if stocks is None else stocks, "stocks"))
        self.labour_supply = labour_supply
        self.workers = workers
        self.method = method
        self.backend, self.solver, self.rtol = backend, solver, rtol
        self.units = labour_units(economy)
        self.shifts: dict = {}  # shifted economies (and their factorisations), shared by every plan of the report
        self.restricted: dict = {}  # economies restricted to the products made (stocks), shared likewise
        # validate the plan options once (method name, rtol...), with a tiny stand-in problem
        PlanProblem.from_arguments(economy, np.zeros(n), horizon=1, method=method, rtol=rtol)

    # -- working time ------------------------------------------------------------
    def _workers(self, name: str, spec: Mapping):
        w = spec.get("workers", self.workers)
        if w is None:
            return None
        what = f"workers of proposal {name!r}" if "workers" in spec else "workers"
        return kind_vector(self.economy, w, what, positive=True)

    def _supply(self, name: str, spec: Mapping, workers):
        e, T = self.economy, self.T
        if e.labour is None:
            for key in ("labour_supply", "hours_per_worker"):
                if key in spec:
                    raise InvalidPlanError(f"proposal {name!r} sets {key!r} but the economy has no labour "
                                           "coefficients; give Economy(A, labour=...)")
            return None
        if "hours_per_worker" in spec:
            if workers is None:
                raise InvalidPlanError(
                    f"proposal {name!r} sets 'hours_per_worker' without a number of workers; give workers= to "
                    "compare (or 'workers' in the proposal)"
                )
            hours = kind_vector(e, spec["hours_per_worker"], f"hours_per_worker of proposal {name!r}", positive=True)
            supply = np.broadcast_to(hours * workers, (T, hours.size)).copy()
        elif "labour_supply" in spec:
            supply = labour_supply_path(e, spec["labour_supply"], T, what=f"labour_supply of proposal {name!r}",
                                        positive=True)
        else:
            supply = labour_supply_path(e, self.labour_supply, T, positive=True)
        if supply is not None and "labour_growth" in spec:
            lg = plan_option(check_real, spec["labour_growth"], f"labour_growth of proposal {name!r}", lo=-1.0,
                             lo_open=True)
            supply = supply * (1.0 + lg) ** np.arange(T)[:, None]
        elif "labour_growth" in spec:
            raise InvalidPlanError(f"proposal {name!r} sets 'labour_growth' but no labour supply is given or recorded")
        return supply

    # -- one proposal --------------------------------------------------------------
    def proposal(self, name: str, spec: Mapping) -> Proposal:
        bal, e, T = self.bal, self.economy, self.T
        workers = self._workers(name, spec)
        supply = self._supply(name, spec, workers)
        bal.set_public(spec.get("public_share", 0.0))
        bal.supply = None if supply is None else supply[0]
        bal.workers = None if workers is None else float(workers.max())
        g_spec, s_spec = spec.get("growth"), spec.get("investment_share")
        try:
            if g_spec is not None and isinstance(g_spec, numbers.Real) and math.isfinite(g_spec) and g_spec >= 0:
                sig = bal.evaluate(float(g_spec))[0]
                if sig + bal.public_share >= 1:
                    return self._impossible(name, spec, supply, workers, (
                        f"growth {g_spec:.6g} needs {sig:.6g} of the net product for investment, which with "
                        f"public_share {bal.public_share:.6g} leaves nothing for private consumption"))
            ref = bal.proposal(name, growth=g_spec, investment_share=s_spec)
        except InfeasiblePlanError as exc:  # the split itself cannot be sustained (growth above g*...)
            return self._impossible(name, spec, supply, workers, str(exc))
        g = ref.growth_rate
        qbar = bal.cbar if bal.same else bal.qbar
        priv_u = ref.consumption_share * bal.cbar  # per unit of net product
        pub_u = bal.public_share * qbar
        factors = (1.0 + g) ** np.arange(T)
        level = ref.net_product  # the balanced level: labour fully used in period 1 at the reference's shares
        if supply is not None and e.labour is not None:
            # along the balanced path labour grows like consumption: start where it would fit every period
            level *= float(np.min(supply.sum(axis=1) / (supply[0].sum() * factors)))
        binding = ref.scale
        notes = []
        target = 1.0 - _LEVEL_TOL  # labour use aimed just below the supply: rounding never reads as a shortfall
        seen = []  # (level, utilisation) of the plans so far
        plans = 0
        for _ in range(_MAX_REPLANS):
            plans += 1
            planned = level
            plan, draw = self._plan(priv_u + pub_u, level, factors, supply, g)
            if supply is None or plan.labour is None:
                break
            lab = plan.labour
            with np.errstate(divide="ignore", invalid="ignore"):
                use = np.where(supply > 0, lab / np.where(supply > 0, supply, 1.0), np.inf)
            u = float(use.max())
            t, k = np.unravel_index(int(np.argmax(use)), use.shape)
            binding = f"labour {e.labour_names[k]!r} fully used in period {t + 1}"
            if u <= 0:
                binding = "no labour needed"
                break
            if abs(u - target) <= _LEVEL_TOL:
                break
            seen.append((level, u))
            level = _next_level(seen, target)
        else:
            notes.append(f"the level of consumption did not settle in {_MAX_REPLANS} plans (labour use "
                         f"{u:.9g} of the supply)")
        level = planned  # the level of the plan kept (the loop may have proposed another after the last one)
        if draw is not None and not draw.converged:
            notes.append("the first period's draw on the stocks is not certified: "
                         + "; ".join(draw.evidence.notes or ("a solve missed its tolerance",)))
        private = priv_u * level
        public = pub_u * level
        reason = _reason(plan)
        return Proposal(
            name=name, feasible=plan.feasible, reason=reason, binding=binding, growth_rate=float(g),
            public_share=bal.public_share, plan=plan, reference=ref, level=float(level), private=private,
            public=public, stocks_used=np.zeros(e.n) if draw is None else draw.used, labour_supply=supply,
            workers=workers, prices=bal.p, bundle_value=float(bal.p @ bal.c), plans=plans, notes=tuple(notes),
            stocks=draw, stocks_recorded=self.stocks,
        )

    def _plan(self, f: np.ndarray, level: float, factors: np.ndarray, supply, g: float):
        """``(plan, draw)``: the plan of final consumption ``level * f * factors``, first period drawing on stocks.

        The first period's output is the least one for its consumption ``d``
        and investment ``B N_1`` with the stocks drawn,
        :func:`.stocks.draw_stocks` of ``d + B N_1``, and the plan is made for
        the final demand ``d - u`` (negative where stocks replace intermediate
        inputs or investment goods); expectations (the growth of the path)
        come from the gross path.  With today's capacity given, the capacity
        and exact methods fix ``N_1`` by the capacity targets of later periods,
        whatever the first period's targets: the draw is then exact.  Without
        it, or with ``method="lp"``, ``N_1`` is planned for ``d`` net of what
        the stocks give consumption, and the draw then also covers what it
        can of that investment (a feasible plan, at most the labour of the
        plan without, not a joint optimum).
        """
        t0 = time.perf_counter()
        C = f[:, None] * level * factors[None, :]
        while len(self.shifts) > 6:  # keep the latest few (each is a copy of A + B): memory stays bounded
            self.shifts.pop(next(iter(self.shifts)))
        problem = PlanProblem.from_arguments(
            self.economy, C.T, capacity=self.capacity, labour_supply=supply, method=self.method,
            backend=self.backend, solver=self.solver, rtol=self.rtol, terminal_growth=g if g > 0 else None,
            shift_cache=self.shifts)
        if not self.stocks.any():
            return assemble(problem, solve_problem(problem), t0), None
        d = C[:, 0].copy()
        if self.capacity is None or problem.method == "lp":  # N_1 depends on the first period's targets
            pre = self._draw(d)
            C[:, 0] = pre.net_demand
            problem = replace(problem, consumption=C.copy())
        outcome = solve_problem(problem)
        inv = np.asarray(problem.capital @ outcome.new_capacity[:, 0], dtype=np.float64)
        draw = self._draw(d + inv)
        X = outcome.output.copy()
        X[:, 0] = draw.output  # (I - A) x* = d + B N_1 - u: the plan's balance with final demand d - u
        C[:, 0] = d - draw.used
        problem = replace(problem, consumption=C)
        ev = outcome.evidence
        note = (f"period 1: the least output with the stocks drawn ({draw.steps} active-set steps, "
                f"complementarity {draw.complementarity:.3g})")
        ev = replace(ev, converged=ev.converged and draw.converged, residual=np.maximum(ev.residual, draw.residual),
                     notes=(*ev.notes, note, *draw.evidence.notes))
        return assemble(problem, replace(outcome, output=X, evidence=ev), t0), draw

    def _draw(self, demand: np.ndarray) -> StockDraw:
        return draw_stocks(self.economy, demand, self.stocks, backend=self.backend, method=self.solver,
                           rtol=self.rtol, cache=self.restricted)

    def _impossible(self, name, spec, supply, workers, why: str) -> Proposal:
        n = self.economy.n
        g = spec.get("growth")
        return Proposal(
            name=name, feasible=False, reason=why, binding="the split cannot be sustained",
            growth_rate=math.nan if g is None else float(g), public_share=self.bal.public_share, plan=None,
            reference=None, level=0.0, private=np.zeros(n), public=np.zeros(n), stocks_used=np.zeros(n),
            labour_supply=supply, workers=workers, prices=self.bal.p, stocks_recorded=self.stocks,
        )


_MAX_REPLANS = 12
_LEVEL_TOL = 5e-4  # labour use of the binding kind ends in [1 - 1e-3, 1]
def _next_level(seen: list, target: float) -> float:
    """The next level to try, from the plans so far ``[(level, labour use)]``.

    Labour use rises with the level, close to proportionally (exactly without
    fixed capacity or stocks) but piecewise, as the capacity sweep changes:
    a proportional step until the target is bracketed, then regula falsi with
    the Illinois weighting (always inside the bracket, superlinear).
    """
    lam1, u1 = seen[-1]
    below = [(lam, u) for lam, u in seen if u < target]
    above = [(lam, u) for lam, u in seen if u > target]
    if not below or not above:
        return lam1 * target / u1
    lo, ulo = max(below)
    hi, uhi = min(above)
    # Illinois: when the same end was kept twice, halve its weight
    if len(seen) >= 2 and (seen[-1][1] > target) == (seen[-2][1] > target):
        if u1 > target:
            ulo = target + (ulo - target) / 2
        else:
            uhi = target + (uhi - target) / 2
    nxt = lo + (target - ulo) * (hi - lo) / (uhi - ulo)
    return nxt if lo < nxt < hi else 0.5 * (lo + hi)


def _reason(plan) -> str:
    """The binding capacity or labour of an infeasible plan (first period it binds, largest shortfall)."""
    if plan.feasible:
        return ""
    parts = []
    bn = plan.bottlenecks
    if len(bn):
        r = bn.iloc[0]
        parts.append(
            f"capacity of {r['product']!r} in period {int(r['period'])}: needs {r['required']:.6g}, has "
            f"{r['capacity']:.6g}" + (f" (and {len(bn) - 1} more product-periods short)" if len(bn) > 1 else "")
        )
    lb = plan.labour_bottlenecks
    if len(lb):
        r = lb.iloc[0]
        parts.append(f"labour {r['labour']!r} in period {int(r['period'])}: needs {r['required']:.6g}, "
                     f"{r['available']:.6g} available")
    return "; ".join(parts) or "not feasible"

