"""The fundamental decision laid out: the frontier, proposals side by side, the plot.

Consumption now against consumption growth: :func:`frontier` sweeps growth
rates (or investment shares), :func:`compare` puts named proposals side by
side in a :class:`PlanReport`, :func:`plot_frontier` draws both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._inputs import product_vector
from .._options import check_int
from ..backend import Backend
from ..economy import Economy
from ..errors import InvalidPlanError, ShapeError
from .balanced import BAL_DOC_PARAMS, Balanced
from .common import check_economy, plan_option, vector_option
from .growth import GrowthRate

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
    check_economy(economy)
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
        for g in rates:
            if bal.evaluate(float(g))[0] + bal.public_share >= 1:
                continue  # nothing left for private consumption at this rate
            rows.append(bal.proposal(f"g {g:.4g}", growth=float(g)).metrics())
    df = pd.DataFrame(rows)
    gr = bal.growth_bounds
    if gr is not None:
        df.attrs.update(max_growth_rate=gr.rate, lower=gr.lower, upper=gr.upper)
    df.attrs.update(prices=bal.price_kind, horizon=bal.horizon)
    return df


frontier.__doc__ = frontier.__doc__.replace("    %(params)s", BAL_DOC_PARAMS.strip("\n"))


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
    check_economy(economy)
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
    sec = None if sectors is None else _sector_of(economy, sectors)
    bal = Balanced(economy, consumption, public, 0.0, prices, labour_supply, workers, horizon, backend, solver,
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
    if sec is not None:
        valued = pd.DataFrame(np.stack([p.output * p.prices for p in out], axis=1), columns=names)
        valued["sector"] = sec
        sector_output = valued.groupby("sector", sort=True).sum()
    return PlanReport(tuple(out), summary, output, sector_output, labour)


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
