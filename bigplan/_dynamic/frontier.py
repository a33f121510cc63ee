"""The fundamental decision laid out: the frontier, proposals side by side, the plot.

Consumption now against consumption growth: :func:`frontier` sweeps growth
rates (or investment shares), :func:`compare` puts named proposals side by
side in a :class:`PlanReport`, :func:`plot_frontier` draws both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import product_vector
from .._options import check_bool, check_int
from ..backend import Backend
from ..economy import Economy
from ..errors import InfeasiblePlanError, InvalidPlanError, ShapeError
from .balanced import BAL_DOC_PARAMS, Balanced
from .common import check_economy, plan_option, vector_option
from .growth import GrowthRate
from .proposals import Present, proposal_items
from .report import PlanReport, build_report

__all__ = ["PlanReport", "compare", "frontier", "plot_frontier"]


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
    present: bool = True,
    capacity: Any = None,
    stocks: Any = None,
    method: str = "auto",
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
        Growth rates >= 0 (give at most one of the two).  A rate that leaves
        nothing for private consumption is left out of the frame; when every
        rate is, :class:`~bigplan.InfeasiblePlanError` names them and ``g*``.
    points : int, default 11
        Number of growth rates when neither is given.
    present : bool, default True
        Also plan every point from the present (the economy's capacity and
        stocks, or ``capacity=`` / ``stocks=``) over ``horizon`` with the
        multi-period planner, as :func:`compare` does: columns
        ``present_consumption_now``, ``present_public_consumption``,
        ``present_investment``, ``present_total_labour``,
        ``present_consumption_end``, ``present_feasible``, ``present_binding``
        (the binding capacity or labour when not feasible).  The balanced
        columns are the long-run reference.
    capacity, stocks, method
        Today's capacity and stocks, and the planner's method (see :func:`compare`).
    %(params)s

    Returns
    -------
    pandas.DataFrame
        Columns ``growth_rate``, ``investment_share``, ``public_share``,
        ``consumption_share``, ``net_product``, ``consumption_now``,
        ``consumption_level``, ``public_consumption``, ``investment``,
        ``replacement``, ``gross_investment``, ``output_value``,
        ``total_labour``, ``labour_per_worker``, ``consumption_per_worker``,
        ``consumption_end`` (period ``horizon``), ``consumption_total``, and
        the ``present_*`` columns (``present=True``).
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
    check_economy(economy)
    present = plan_option(check_bool, present, "present")
    if investment_shares is not None and growth_rates is not None:
        raise InvalidPlanError("give investment_shares or growth_rates, not both")
    bal = Balanced(economy, consumption, public, public_share, prices, labour_supply, workers, horizon,
                    backend, solver, rtol, growth_bounds)
    rows = []
    if investment_shares is not None:
        shares = vector_option(investment_shares, "investment_shares")
        for s in shares:
            rows.append(bal.proposal(f"share {s:.4g}", investment_share=float(s)).metrics())
    else:
        if growth_rates is None:
            points = plan_option(check_int, points, "points", lo=2)
            gr = bal.growth
            top = 0.95 * gr.lower if math.isfinite(gr.lower) and gr.lower > 0 else 0.0
            if top > 0 and bal.public_share < 0.9 and bal.evaluate(top)[0] + bal.public_share >= 0.95:
                # stop where investment and public consumption leave 5 % of the net product
                top = min(top, bal.growth_for_share(0.95 - bal.public_share))
            rates = np.linspace(0.0, top, points)
        else:
            rates = vector_option(growth_rates, "growth_rates")
            if (rates < 0).any():  # checked before the sweep below skips rates, so none vanishes silently
                raise InvalidPlanError(f"growth_rates must be finite rates >= 0, got {rates[rates < 0].tolist()}")
        for g in rates:
            if bal.evaluate(float(g))[0] + bal.public_share >= 1:
                continue  # nothing left for private consumption at this rate
            rows.append(bal.proposal(f"g {g:.4g}", growth=float(g)).metrics())
        if not rows:
            gr = bal.growth
            raise InfeasiblePlanError(
                f"none of the growth rates {rates.tolist()} leaves anything for private consumption (with "
                f"public_share {bal.public_share:.6g}); the maximal balanced growth rate g* is {gr.rate:.6g} "
                f"(certified in [{gr.lower:.6g}, {gr.upper:.6g}]): give lower rates")
    df = pd.DataFrame(rows)
    if present and len(df):
        now = Present(economy, consumption, public, prices, labour_supply, workers, horizon, capacity, stocks,
                      method, backend, solver, rtol, bal.growth_bounds)
        cols: dict = {k: [] for k in ("present_consumption_now", "present_public_consumption", "present_investment",
                                      "present_total_labour", "present_consumption_end", "present_feasible",
                                      "present_binding")}
        for g in df["growth_rate"]:
            p = now.proposal(f"g {g:.4g}", {"growth": float(g), "public_share": bal.public_share})
            lab = p.labour_now
            cols["present_consumption_now"].append(p.consumption_now)
            cols["present_public_consumption"].append(p.public_consumption)
            cols["present_investment"].append(p.investment)
            cols["present_total_labour"].append(math.nan if lab is None else float(lab.sum()))
            cols["present_consumption_end"].append(p.consumption_now * (1.0 + p.growth_rate) ** (now.T - 1))
            cols["present_feasible"].append(bool(p.feasible))
            cols["present_binding"].append(p.reason or p.binding)
        for k, v in cols.items():
            df[k] = v
    gr = bal.growth_bounds
    if gr is not None:
        df.attrs.update(max_growth_rate=gr.rate, lower=gr.lower, upper=gr.upper)
    df.attrs.update(prices=bal.price_kind, horizon=bal.horizon)
    return df


frontier.__doc__ = frontier.__doc__.replace("    %(params)s", BAL_DOC_PARAMS.strip("\n"))


def compare(
    economy: Economy,
    proposals: Mapping[str, Mapping] | Sequence[Mapping],
    consumption: Any = None,
    *,
    sectors: Any = None,
    public: Any = None,
    prices: Any = "auto",
    labour_supply: Any = None,
    workers: Any = None,
    horizon: int = 10,
    capacity: Any = None,
    stocks: Any = None,
    current_output: Any = None,
    method: str = "auto",
    backend: str | Backend = "auto",
    solver: Any = "auto",
    rtol: float = 1e-10,
    growth_bounds: GrowthRate | None = None,
) -> PlanReport:
    """The plan report: proposals for the fundamental decision, planned from the present, side by side.

    Each proposal is planned over ``horizon`` periods with the multi-period
    planner (:func:`plan`) from the economy's recorded capacity and stocks (or
    ``capacity=`` / ``stocks=``): the composition and growth of consumption come
    from the proposal's split of the net product on its balanced path (kept as
    the long-run reference line), the level is the largest the proposal's
    working time allows in every period.  The report gives the seed's five items
    (a)-(e) for every proposal (:class:`PlanReport`: tables, ``to_frame()``,
    ``text()``).  Infeasible proposals (capacity too small, a split that cannot
    be sustained) are reported with the binding constraint, not raised.

    Parameters
    ----------
    economy : Economy
        With capital coefficients; its capacity, stocks, labour supply and
        ``labour_units`` are used when present.  A store version's economy
        works the same.
    proposals : mapping name -> dict, or sequence of dicts
        Keys: ``investment_share`` (share of the net product invested) or
        ``growth`` (growth of consumption per period), exactly one;
        ``public_share`` (default 0); working time: ``labour_supply`` (labour
        available per period: one number per kind, a Series by kind name, or a
        ``(T, m)`` path) or ``hours_per_worker`` (times ``workers``); ``workers``
        (overrides the argument); ``labour_growth`` (growth of the labour supply
        per period).  Unknown keys are refused, listing the valid ones.
    consumption : array_like (n,), optional
        Composition of private consumption (default one unit of everything).
    sectors : array_like (n,) or pandas.Series, optional
        Sector of each product, for item (a) by sector (default: each product).
    public, prices
        Composition of public consumption, valuation (see :func:`balanced_plan`).
    labour_supply : float, array_like, pandas.Series, optional
        Labour available per period for proposals that do not set their own
        (default: the economy's).  Without any, levels are per unit of labour.
    workers : float or array_like (m,), optional
        Number of workers (per kind), for the per-worker figures and
        ``hours_per_worker``.
    horizon : int, default 10
        Periods planned (>= 1).
    capacity, stocks : array_like (n,) or pandas.Series, optional
        Today's capacity and stocks (default: the economy's records); finite, >= 0.  The stocks of every
        product are drawn in the first period, for consumption, as investment goods and in place of
        intermediate inputs (the least first-period output; see :class:`PlanReport` ``stocks`` and the
        ``stocks_*`` / ``labour_saved`` metrics).
    current_output : array_like (n,) or pandas.Series, optional
        Today's output, for the growth of item (a) (default: the recorded capacity).
    method : {"auto", "capacity", "lp", "exact"}
        The planner's method (see :func:`plan`).
    backend, solver, rtol, growth_bounds
        As in :func:`balanced_plan`.

    Returns
    -------
    PlanReport

    Raises
    ------
    InvalidPlanError
        No proposals, unknown keys, both or neither of ``investment_share`` and
        ``growth``, ``horizon < 1``.
    InvalidDemandError
        A working time, capacity or stocks that is negative, zero (working time)
        or not finite.
    LabelError, ShapeError
        Labelled input that does not match the products or labour kinds.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan.dynamic import compare
    >>> e = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0], labels=["food", "tools"],
    ...                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0,
    ...                     capacity=[60.0, 60.0], depreciation=0.05)
    >>> rep = compare(e, {"consume": {"investment_share": 0.05}, "grow": {"investment_share": 0.3,
    ...               "public_share": 0.1, "hours_per_worker": 35.0}}, [1.0, 0.5], workers=2.0, horizon=5)
    >>> list(rep.summary.columns), rep.output.shape
    (['consume', 'grow'], (2, 2))
    >>> print(rep.text().splitlines()[2])
    Proposal 'consume': feasible.
    """
    check_economy(economy)
    items = proposal_items(proposals)
    sec = None if sectors is None else _sector_of(economy, sectors)
    present = Present(economy, consumption, public, prices, labour_supply, workers, horizon, capacity, stocks,
                      method, backend, solver, rtol, growth_bounds)
    if current_output is not None:
        current, kind = product_vector(economy, current_output, "current_output"), "given"
    elif present.capacity is not None:
        current, kind = present.capacity, "the recorded capacity (give current_output= for today's output)"
    else:
        current, kind = None, "not known: no capacity recorded and no current_output= given"
    props = [present.proposal(name, spec) for name, spec in items]
    return build_report(economy, props, sectors=sec, current=current, current_kind=kind, horizon=present.T)


def _sector_of(economy: Economy, sectors) -> np.ndarray:
    """The sector of each product, ``(n,)``; a Series or mapping is aligned by product label.

    Sector names are not numbers, so their codes go through the input layer
    (:func:`~bigplan._inputs.product_vector`): a product the economy lacks is an
    ``UnknownProductError``, a missing one a ``LabelError``, as everywhere.
    """
    if isinstance(sectors, (pd.Series, Mapping)):
        s = sectors if isinstance(sectors, pd.Series) else pd.Series(dict(sectors), dtype=object)
        codes, names = pd.factorize(s)
        aligned = product_vector(economy, pd.Series(codes, index=s.index), "sectors", lo=None).astype(np.int64)
        names = np.asarray(names, dtype=object)
        if names.size == 0:
            return np.full(economy.n, None, dtype=object)
        return np.where(aligned >= 0, names[np.maximum(aligned, 0)], None)
    sec = np.asarray(sectors)
    if sec.shape != (economy.n,):
        raise ShapeError(f"sectors must give one sector per product ({economy.n}), got shape {sec.shape}")
    return sec


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
        raise InvalidPlanError("give a frontier DataFrame, a PlanReport, or both")
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
