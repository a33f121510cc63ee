"""The plan report: the seed's five items for every proposal, as tables and as text.

(a) productive implications by sector and by product (output against current
output, investment by product, the equipment each sector gets, bottlenecks);
(b) the work required, per worker and in total, by kind of labour, with its
unit; (c) consumption in the first period; (d) public consumption and
investment; (e) the growth rate of consumption.  The balanced path of each
split is the long-run reference line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..economy import Economy
from .proposals import Proposal

__all__ = ["ITEMS", "PlanReport", "build_report"]

ITEMS = {
    "a": "(a) productive implications",
    "b": "(b) work required",
    "c": "(c) consumption in the first period",
    "d": "(d) public consumption and investment",
    "e": "(e) growth of consumption",
    "r": "long-run reference (balanced growth)",
}

# metric -> item, in the order of the report
_METRICS = [
    ("feasible", "a"), ("output_value", "a"), ("output_change_now", "a"), ("output_growth", "a"),
    ("products_short", "a"), ("capacity_shortfall", "a"),
    ("total_labour", "b"), ("labour_supply", "b"), ("labour_per_worker", "b"), ("peak_labour", "b"),
    ("labour_saved", "b"),
    ("consumption_now", "c"), ("consumption_level", "c"), ("consumption_per_worker", "c"), ("stocks_used", "c"),
    ("stocks_final", "c"), ("stocks_investment", "c"), ("stocks_intermediate", "c"), ("stocks_unused", "c"),
    ("public_consumption", "d"), ("investment", "d"), ("replacement", "d"), ("investment_share", "d"), ("public_share", "d"),
    ("consumption_share", "d"), ("net_product", "d"),
    ("growth_rate", "e"), ("consumption_end", "e"), ("consumption_total", "e"),
    ("balanced_growth_rate", "r"), ("balanced_investment_share", "r"), ("balanced_consumption_now", "r"),
    ("balanced_total_labour", "r"),
]


def _nan_div(a: float, b: float) -> float:
    return a / b if b and math.isfinite(b) else math.nan


def _metrics(p: Proposal, current: np.ndarray | None) -> dict:
    plan, pr = p.plan, p.prices
    m = {k: math.nan for k, _ in _METRICS}
    m["feasible"] = 1.0 if p.feasible else 0.0
    m["growth_rate"] = p.growth_rate
    m["public_share"] = p.public_share
    m["consumption_now"] = p.consumption_now
    m["public_consumption"] = p.public_consumption
    m["stocks_used"] = float(pr @ p.stocks_used)
    m["stocks_final"] = float(pr @ p.stocks_final)
    m["stocks_investment"] = float(pr @ p.stocks_investment)
    m["stocks_intermediate"] = float(pr @ p.stocks_intermediate)
    m["stocks_unused"] = float(pr @ p.stocks_unused)
    if p.labour_saved is not None:
        m["labour_saved"] = float(p.labour_saved.sum())
    if p.reference is not None:
        ref = p.reference
        m["consumption_level"] = _nan_div(p.consumption_now, p.bundle_value)
        m.update(balanced_growth_rate=ref.growth_rate, balanced_investment_share=ref.investment_share,
                 balanced_consumption_now=ref.consumption_now, balanced_total_labour=ref.total_labour)
    if plan is None:
        return m
    x1, xT = plan.output[0], plan.output[-1]
    m["output_value"] = float(pr @ x1)
    if current is not None:
        cur = float(pr @ current)
        m["output_change_now"] = _nan_div(float(pr @ x1), cur) - 1.0
        m["output_growth"] = _nan_div(float(pr @ xT), cur) ** (1.0 / plan.horizon) - 1.0
    m["products_short"] = int((plan.capacity_shortfall > 0).any(axis=0).sum())
    m["capacity_shortfall"] = float((plan.capacity_shortfall.sum(axis=0) * pr).sum())
    m["investment"] = p.investment
    m["replacement"] = p.replacement
    m["net_product"] = p.net_product
    m["investment_share"] = _nan_div(p.investment - p.replacement, p.net_product)  # net, as the reference
    m["consumption_share"] = _nan_div(p.consumption_now, p.net_product)
    path = p.consumption_now * (1.0 + p.growth_rate) ** np.arange(plan.horizon)
    m["consumption_end"] = float(path[-1])
    m["consumption_total"] = float(path.sum())
    if plan.labour is not None:
        m["total_labour"] = float(plan.labour[0].sum())
        m["peak_labour"] = float(plan.labour.sum(axis=1).max())
        if p.labour_supply is not None:
            m["labour_supply"] = float(p.labour_supply[0].sum())
        if p.workers is not None:
            w = float(p.workers.max()) if np.allclose(p.workers, p.workers[0]) else float(p.workers.sum())
            m["labour_per_worker"] = m["total_labour"] / w
            m["consumption_per_worker"] = p.consumption_now / w
    return m


@dataclass(frozen=True, eq=False, repr=False)
class PlanReport:
    """Proposals side by side: the five items of each, planned from the present, with the balanced reference.

    Attributes
    ----------
    proposals : tuple of Proposal
        Each with its multi-period plan (``.plan``, a :class:`DynamicPlan`) and
        its balanced reference (``.reference``, a :class:`BalancedProposal`).
    summary : pandas.DataFrame
        Metrics (rows) x proposals (columns), float64 (``feasible`` is 1 or
        0; figures a proposal does not have are NaN); :meth:`to_frame` gives the same
        with the item (a)-(e) of every metric as the first index level.
        Values are at the report's prices, first period unless named
        otherwise: ``investment`` is gross (``replacement`` included),
        ``net_product`` is consumption + public consumption + net investment,
        and ``investment_share`` is net investment over the net product (as
        the balanced reference's ``balanced_investment_share``).
        Stocks (first period): ``stocks_used`` = ``stocks_final`` (meeting
        the product's own private and public consumption) +
        ``stocks_investment`` (delivered as investment goods) +
        ``stocks_intermediate`` (in place of intermediate inputs),
        ``stocks_unused`` what is left, and
        ``labour_saved`` the labour (all kinds) the stocks save,
        ``l (I - A)^{-1} stocks_used``.
    products : pandas.DataFrame
        Item (a) by product: rows products, columns ``(proposal, quantity)``
        with quantities ``current`` (current output), ``output_now`` (period
        1), ``change_now`` (against current), ``output_end`` (period T),
        ``growth`` (per period from current to period T), ``investment_now``
        and ``investment_total`` (investment goods delivered: equipment made
        by the product), ``new_capacity_total`` (capacity installed for the
        product), ``shortfall`` (largest output above capacity).
    sectors : pandas.DataFrame
        The same valued at the report's prices and summed by sector (each
        product its own sector when ``sectors`` was not given), with
        ``equipment_total``: the value of the equipment installed for the
        sector's capacity over the horizon.
    bottlenecks : pandas.DataFrame
        Item (a)'s binding constraints: ``proposal, period, kind ("capacity"
        or "labour"), name, required, available, shortfall``.
    work : pandas.DataFrame
        Item (b): one row per (proposal, labour kind): ``required_now``,
        ``available_now``, ``required_peak``, ``workers``, ``per_worker``,
        ``unit`` ("unit not stated" when the economy does not say).
    consumption : pandas.DataFrame
        Items (c), (d): products x ``(proposal, private | public |
        investment)`` in the first period.
    stocks : pandas.DataFrame
        The first period's stocks: products x ``(proposal, quantity)`` with
        quantities ``recorded``, ``used_final``, ``used_investment``,
        ``used_intermediate``, ``unused`` and ``output_saved`` (output the
        stocks make unnecessary).
    output, labour, sector_output : pandas.DataFrame or None
        First-period gross output (products x proposals), labour needed per
        kind (kinds x proposals) and output value per sector (sectors x
        proposals, when ``sectors`` was given).
    current_kind : str
        What "current output" is (given, or the recorded capacity).

    Methods
    -------
    to_frame()
        The summary with the items as the first index level.
    text()
        The report as text (also ``str(report)``).
    """

    proposals: tuple
    summary: pd.DataFrame
    products: pd.DataFrame
    sectors: pd.DataFrame
    bottlenecks: pd.DataFrame
    work: pd.DataFrame
    consumption: pd.DataFrame
    output: pd.DataFrame
    labour: pd.DataFrame | None
    sector_output: pd.DataFrame | None
    current_kind: str
    horizon: int
    labour_units: tuple
    stocks: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        """The summary, indexed by ``(item, metric)``: items ``"(a) productive implications"`` ... ``(e)``."""
        items = dict(_METRICS)
        idx = pd.MultiIndex.from_tuples([(ITEMS[items[k]], k) for k in self.summary.index], names=["item", "metric"])
        return self.summary.set_axis(idx, axis=0)

    def plot(self, frontier_frame: pd.DataFrame | None = None, ax=None):
        """Plot the proposals (and a frontier, if given); see :func:`plot_frontier`."""
        from .frontier import plot_frontier

        return plot_frontier(frontier_frame, report=self, ax=ax)

    def text(self, top: int = 5) -> str:
        """The five items of every proposal as readable text (``top`` products or sectors per list)."""
        return _text(self, top)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return f"<PlanReport of {len(self.proposals)} proposals>\n{self.summary.to_string()}"


def build_report(economy: Economy, props: list, *, sectors: np.ndarray | None, current: np.ndarray | None,
                 current_kind: str, horizon: int) -> PlanReport:
    """Assemble the tables of a :class:`PlanReport` from planned proposals."""
    labels = economy.labels if economy.labels is not None else pd.RangeIndex(economy.n)
    units = _units(economy)
    summary = pd.DataFrame({p.name: _metrics(p, current) for p in props}, index=[k for k, _ in _METRICS],
                           dtype=np.float64)
    summary.index.name = "metric"
    prod_cols, sec_cols, cons_cols, stock_cols = {}, {}, {}, {}
    sec = np.asarray(labels, dtype=object) if sectors is None else sectors
    B = economy.capital
    for p in props:
        plan, pr = p.plan, p.prices
        n = economy.n
        zero = np.zeros(n)
        x1 = plan.output[0] if plan is not None else zero
        xT = plan.output[-1] if plan is not None else zero
        inv1 = plan.investment[0] if plan is not None else zero
        invT = plan.investment.sum(axis=0) if plan is not None else zero
        newc = plan.new_capacity.sum(axis=0) if plan is not None else zero
        short = plan.capacity_shortfall.max(axis=0) if plan is not None else zero
        cur = current if current is not None else np.full(n, np.nan)
        T = plan.horizon if plan is not None else horizon
        with np.errstate(divide="ignore", invalid="ignore"):
            change = np.where(cur > 0, x1 / cur - 1.0, np.nan)
            growth = np.where(cur > 0, (xT / cur) ** (1.0 / T) - 1.0, np.nan)
        for q, v in (("current", cur), ("output_now", x1), ("change_now", change), ("output_end", xT),
                     ("growth", growth), ("investment_now", inv1), ("investment_total", invT),
                     ("new_capacity_total", newc), ("shortfall", short)):
            prod_cols[(p.name, q)] = v
        equipment = (pr @ B) * newc  # value of the equipment installed for each product's capacity
        df = pd.DataFrame({"sector": sec, "current": pr * cur, "output_now": pr * x1, "output_end": pr * xT,
                           "investment_total": pr * invT, "equipment_total": equipment})
        g = df.groupby("sector", sort=True, dropna=False).sum(min_count=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            g["change_now"] = g["output_now"] / g["current"] - 1.0
            g["growth"] = (g["output_end"] / g["current"]) ** (1.0 / T) - 1.0
        for q in ("current", "output_now", "change_now", "output_end", "growth", "investment_total",
                  "equipment_total"):
            sec_cols[(p.name, q)] = g[q]
        for q, v in (("private", p.private), ("public", p.public), ("investment", inv1)):
            cons_cols[(p.name, q)] = v
        recorded = p.stocks_recorded if p.stocks_recorded is not None else zero
        for q, v in (("recorded", recorded), ("used_final", p.stocks_final), ("used_investment", p.stocks_investment),
                     ("used_intermediate", p.stocks_intermediate), ("unused", p.stocks_unused),
                     ("output_saved", p.output_saved)):
            stock_cols[(p.name, q)] = v
    products = pd.DataFrame(prod_cols, index=labels)
    products.columns.names = ["proposal", "quantity"]
    sectors_df = pd.DataFrame(sec_cols)
    sectors_df.columns.names = ["proposal", "quantity"]
    sectors_df.index.name = "sector"
    consumption = pd.DataFrame(cons_cols, index=labels)
    consumption.columns.names = ["proposal", "quantity"]
    stocks = pd.DataFrame(stock_cols, index=labels)
    stocks.columns.names = ["proposal", "quantity"]
    output = pd.DataFrame({p.name: (p.plan.output[0] if p.plan is not None else np.zeros(economy.n))
                           for p in props}, index=labels)
    labour = None
    if economy.labour is not None:
        labour = pd.DataFrame({p.name: (p.labour_now if p.labour_now is not None else np.full(len(units), np.nan))
                               for p in props}, index=list(economy.labour_names))
    sector_output = None
    if sectors is not None:
        sector_output = pd.DataFrame({p.name: sectors_df[(p.name, "output_now")] for p in props})
    return PlanReport(
        proposals=tuple(props), summary=summary, products=products, sectors=sectors_df,
        bottlenecks=_bottlenecks(props), work=_work(economy, props, units), consumption=consumption,
        output=output, labour=labour, sector_output=sector_output, current_kind=current_kind, horizon=horizon,
        labour_units=units, stocks=stocks,
    )


def _units(economy: Economy) -> tuple:
    m = 0 if economy.labour is None else economy.labour.shape[0]
    units = getattr(economy, "labour_units", None)
    return ("unit not stated",) * m if units is None else tuple(str(u) for u in units)


def _bottlenecks(props) -> pd.DataFrame:
    cols = ["proposal", "period", "kind", "name", "required", "available", "shortfall"]
    parts = []
    for p in props:
        if p.plan is None:
            parts.append(pd.DataFrame({"proposal": [p.name], "period": [0], "kind": ["growth"], "name": [p.reason],
                                       "required": [np.nan], "available": [np.nan], "shortfall": [np.nan]}))
            continue
        bn = p.plan.bottlenecks
        if len(bn):
            parts.append(pd.DataFrame({"proposal": p.name, "period": bn["period"].to_numpy(), "kind": "capacity",
                                       "name": bn["product"].to_numpy(), "required": bn["required"].to_numpy(),
                                       "available": bn["capacity"].to_numpy(),
                                       "shortfall": bn["shortfall"].to_numpy()}))
        lb = p.plan.labour_bottlenecks
        if len(lb):
            parts.append(pd.DataFrame({"proposal": p.name, "period": lb["period"].to_numpy(), "kind": "labour",
                                       "name": lb["labour"].to_numpy(), "required": lb["required"].to_numpy(),
                                       "available": lb["available"].to_numpy(),
                                       "shortfall": lb["shortfall"].to_numpy()}))
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)[cols]
    out["period"] = out["period"].astype(np.int64)
    return out


def _work(economy: Economy, props, units) -> pd.DataFrame:
    cols = ["proposal", "labour", "required_now", "available_now", "required_peak", "workers", "per_worker", "unit"]
    rows = []
    if economy.labour is None:
        return pd.DataFrame(rows, columns=cols)
    for p in props:
        for k, kind in enumerate(economy.labour_names):
            lab = p.plan.labour[:, k] if p.plan is not None and p.plan.labour is not None else np.array([np.nan])
            w = float(p.workers[k]) if p.workers is not None else math.nan
            rows.append({
                "proposal": p.name, "labour": kind, "required_now": float(lab[0]),
                "available_now": float(p.labour_supply[0, k]) if p.labour_supply is not None else math.nan,
                "required_peak": float(lab.max()), "workers": w, "per_worker": _nan_div(float(lab[0]), w),
                "unit": units[k],
            })
    return pd.DataFrame(rows, columns=cols)


def _fmt(v: float) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else f"{v:.6g}"


def _share(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{100 * v:.3g} %"


def _pct(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{100 * v:+.3g} %"


def _text(rep: PlanReport, top: int) -> str:
    s = rep.summary
    lines = [(f"Plan report: {len(rep.proposals)} proposals over {rep.horizon} periods, from the present "
              f"(current output: {rep.current_kind}).")]
    for p in rep.proposals:
        col = s[p.name]
        state = "feasible" if p.feasible else f"NOT feasible: {p.reason}"
        lines.append("")
        lines.append(f"Proposal {p.name!r}: {state}.")
        if p.plan is None:
            lines.append(f"  {ITEMS['a']}: none; the split cannot be sustained ({p.binding}).")
            continue
        # (a)
        lines.append(f"  {ITEMS['a']}: output {_fmt(col['output_value'])} in period 1 "
                     f"({_pct(col['output_change_now'])} against current output), "
                     f"{_pct(col['output_growth'])} per period to period {rep.horizon}.")
        sec = rep.sectors[p.name]
        fast = sec["growth"].dropna().sort_values(ascending=False).head(top)
        for name, gr in fast.items():
            lines.append(f"    sector {name!r} grows {_pct(gr)} per period with equipment "
                         f"{_fmt(float(sec.loc[name, 'equipment_total']))} installed over the horizon")
        inv = rep.products[(p.name, "investment_now")].sort_values(ascending=False)
        inv = inv[inv > 0].head(top)
        if len(inv):
            lines.append("    investment goods in period 1 by product: "
                         + ", ".join(f"{k!r} {_fmt(float(v))}" for k, v in inv.items()))
        bn = rep.bottlenecks[rep.bottlenecks["proposal"] == p.name]
        if len(bn):
            for r in bn.head(top).itertuples(index=False):
                lines.append(f"    bottleneck: {r.kind} {r.name!r} in period {r.period}: needs {_fmt(r.required)}, "
                             f"{_fmt(r.available)} available (short {_fmt(r.shortfall)})")
            if len(bn) > top:
                lines.append(f"    ... {len(bn) - top} more bottlenecks (report.bottlenecks)")
        else:
            lines.append("    bottlenecks: none; every output within capacity and labour within supply.")
        lines.append(f"    level of consumption set by: {p.binding}.")
        # (b)
        w = rep.work[rep.work["proposal"] == p.name]
        if len(w):
            parts = []
            for r in w.itertuples(index=False):
                per = "" if not math.isfinite(r.per_worker) else f", {_fmt(r.per_worker)} per worker"
                parts.append(f"{r.labour!r} {_fmt(r.required_now)} in total of {_fmt(r.available_now)} available"
                             f"{per} [{r.unit}]")
            lines.append(f"  {ITEMS['b']} (period 1): " + "; ".join(parts) + ".")
            if not w["workers"].notna().any():
                lines.append("    per worker: number of workers not given (workers=).")
        else:
            lines.append(f"  {ITEMS['b']}: the economy has no labour coefficients.")
        # (c) (d) (e)
        lines.append(f"  {ITEMS['c']}: {_fmt(col['consumption_now'])}"
                     + (f" ({_fmt(col['consumption_per_worker'])} per worker)"
                        if math.isfinite(col["consumption_per_worker"]) else "")
                     + (f"; {_fmt(col['stocks_final'])} of private and public consumption met from stocks"
                        if col["stocks_final"] > 0 else "") + ".")
        if col["stocks_used"] > 0:
            saved = (f", saving {_fmt(col['labour_saved'])} of labour in period 1"
                     if math.isfinite(col["labour_saved"]) else "")
            lines.append(f"    stocks drawn: {_fmt(col['stocks_used'])} ({_fmt(col['stocks_final'])} for consumption, "
                         f"{_fmt(col['stocks_investment'])} as investment goods, {_fmt(col['stocks_intermediate'])} in "
                         f"place of intermediate inputs){saved}; {_fmt(col['stocks_unused'])} left unused.")
        lines.append(f"  {ITEMS['d']}: public {_fmt(col['public_consumption'])}, investment "
                     f"{_fmt(col['investment'])} (gross, of which replacement {_fmt(col['replacement'])}; "
                     f"net investment {_share(col['investment_share'])} of the net product {_fmt(col['net_product'])}).")
        lines.append(f"  {ITEMS['e']}: {_share(p.growth_rate)} per period; {_fmt(col['consumption_end'])} in "
                     f"period {rep.horizon}.")
        if p.reference is not None:
            ref = p.reference
            lines.append(f"  {ITEMS['r']}: growth {_share(ref.growth_rate)}, net investment "
                         f"{_share(ref.investment_share)} of the net product, consumption now "
                         f"{_fmt(ref.consumption_now)}.")
        for note in p.notes:
            lines.append(f"  note: {note}")
    return "\n".join(lines)
