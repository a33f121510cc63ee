"""Balanced proposals: one growth rate, or one investment share, on a balanced path.

On a balanced path growing at ``g`` the outputs are ``x(g) = (I - A - B
diag(g + delta))^{-1} f`` for the final use ``f``; :class:`Balanced` holds what
the proposals of one economy share (bundles, prices, shifted economies, the
labour scale) so that a frontier or a comparison builds it once.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import product_vector
from .._options import check_real, check_rtol
from ..backend import Backend
from ..economy import Economy
from ..errors import (
    InfeasiblePlanError,
    InvalidDemandError,
    InvalidPlanError,
    NotProductiveError,
    ShapeError,
    UnsustainableGrowthError,
)
from ..static import labour_values
from .common import (
    check_economy,
    depreciation_of,
    plan_option,
    require_capital,
    shifted_economy,
    solve,
)
from .growth import GrowthRate, max_growth_rate, unsustainable
from .labour import labour_supply_path
from .problem import horizon_periods

__all__ = ["BAL_DOC_PARAMS", "Balanced", "BalancedProposal", "balanced_plan"]


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


class Balanced:
    """Shared state for balanced proposals of one economy (bundles, prices, shifted economies)."""

    def __init__(self, economy: Economy, consumption, public, public_share, prices, labour_supply, workers,
                 horizon, backend, solver, rtol, growth_bounds):
        self.economy = economy
        self.B = require_capital(economy).astype(np.float64)
        n = economy.n
        self.n = n
        self.delta = depreciation_of(economy)
        self.backend, self.solver, self.rtol = backend, solver, plan_option(check_rtol, rtol)
        self.cache: dict = {}
        self.horizon = horizon_periods(horizon)
        c = np.ones(n) if consumption is None else product_vector(economy, consumption, "consumption bundle")
        if not (c > 0).any():
            raise InvalidDemandError("the consumption bundle is all zero; give the composition of consumption")
        q = c if public is None else product_vector(economy, public, "public consumption bundle")
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
            sup = labour_supply_path(economy, sup, 1)[0]  # one number per kind; a Series aligned by kind name
        self.supply = sup
        self.workers = plan_option(check_real, workers, "workers", lo=0.0, lo_open=True, allow_none=True)
        self.growth_bounds = growth_bounds

    def set_public(self, public_share) -> None:
        """Set the share of the net product for public consumption (bundles and prices are kept)."""
        public_share = plan_option(check_real, public_share, "public_share", lo=0.0, hi=1.0, hi_open=True)
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
        return product_vector(self.economy, prices, "prices"), "given"

    def shifted(self, s) -> Economy:
        while len(self.cache) > 8:  # a root-finding visits many shifts: keep the latest few (each a copy of A + B)
            self.cache.pop(next(iter(self.cache)))
        try:
            return shifted_economy(self.economy, np.maximum(s, 0.0), self.cache)
        except NotProductiveError:
            if not np.any(np.asarray(s) - self.delta):
                raise InfeasiblePlanError(
                    "replacement alone cannot be sustained (spectral radius of A + B diag(depreciation) >= 1)"
                ) from None
            g = float(np.max(np.asarray(s) - self.delta))
            raise unsustainable(self.economy, g, "a balanced growth rate") from None

    @property
    def growth(self) -> GrowthRate:
        """``g*`` (computed on first use unless given as ``growth_bounds``)."""
        if self.growth_bounds is None:
            self.growth_bounds = max_growth_rate(self.economy, backend=self.backend)
        return self.growth_bounds

    def evaluate(self, g: float):
        """(sigma_I(g), z_u, z_c) per unit of net product."""
        E = self.shifted(g + self.delta)
        R = self.u[:, None] if self.same else np.stack([self.u, self.cbar], axis=1)
        Z = solve(E, R, backend=self.backend, method=self.solver, rtol=self.rtol, reduce=False)
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


BAL_DOC_PARAMS = """
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
    check_economy(economy)
    bal = Balanced(economy, consumption, public, public_share, prices, labour_supply, workers, horizon,
                    backend, solver, rtol, growth_bounds)
    return bal.proposal(name, growth=growth, investment_share=investment_share)


balanced_plan.__doc__ = balanced_plan.__doc__.replace("    %(params)s", BAL_DOC_PARAMS.strip("\n"))
