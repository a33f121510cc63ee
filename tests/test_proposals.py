"""Proposals from the present (issue 11, item 1): capacity, stocks and working time shape the five-item report.

Every figure of the report is checked against an independent dense NumPy
computation on a small economy: the balance of each period, the labour values
used as prices, the balanced growth rate of the split, the labour fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bigplan import Economy
from bigplan.dynamic import compare, frontier, max_growth_rate, plan
from bigplan.errors import (
    BigplanError,
    InvalidDemandError,
    InvalidPlanError,
    LabelError,
    ShapeError,
    UnknownProductError,
)

A = np.array([[0.10, 0.20, 0.05], [0.15, 0.10, 0.20], [0.05, 0.10, 0.10]])
B = np.array([[0.0, 0.0, 0.0], [0.8, 1.0, 0.6], [0.2, 0.3, 0.4]])  # equipment made by "steel" and "tools"
LAB = np.array([[0.6, 0.4, 0.5], [0.1, 0.3, 0.2]])  # two kinds of labour
LABELS = ["food", "steel", "tools"]
DELTA = 0.05
SUPPLY = np.array([100.0, 40.0])
CAP = (110.0, 50.0, 40.0)  # a little above what the proposals need in period 1


def economy(capacity=CAP, stocks=None, units=True, **kw):
    extra = {"labour_units": ("hours", "hours")} if units else {}
    return Economy(A, labour=LAB, labour_names=["plain", "skilled"], labels=LABELS, capital=B, depreciation=DELTA,
                   capacity=None if capacity is None else np.asarray(capacity, dtype=float), stocks=stocks,
                   labour_supply=SUPPLY, **extra, **kw)


BUNDLE = [1.0, 0.2, 0.3]
PROPOSALS = {"consume": {"investment_share": 0.05}, "grow": {"investment_share": 0.25, "public_share": 0.1}}


def report(e, proposals=PROPOSALS, **kw):
    kw.setdefault("horizon", 4)
    return compare(e, proposals, BUNDLE, **kw)


# -- the five items against a dense computation ------------------------------------------------------------------
def test_five_items_match_a_dense_computation():
    e = economy(stocks=np.array([3.0, 0.0, 0.0]))
    rep = report(e, workers=[20.0, 8.0], sectors=["farm", "industry", "industry"])
    v = np.linalg.solve((np.eye(3) - A - B * DELTA).T, LAB.sum(axis=0))  # labour values with replacement
    for p in rep.proposals:
        pl, T = p.plan, 4
        col = rep.summary[p.name]
        np.testing.assert_allclose(p.prices, v, rtol=1e-9)
        # (e): the growth rate is the balanced rate of the split: sigma(g) = g v B x / v (I - A - B delta) x
        g = p.growth_rate
        f = (1 - p.public_share - p.reference.investment_share) * p.private / p.private.sum() + p.public
        x = np.linalg.solve(np.eye(3) - A - B * (g + DELTA), f / (v @ f) if f.any() else f)
        share = g * v @ B @ x / (v @ (np.eye(3) - A - B * DELTA) @ x)
        assert share == pytest.approx(PROPOSALS[p.name]["investment_share"], rel=1e-7)
        # consumption path: private + public grow at g; period 1 net of the stocks drawn
        C = np.outer((1 + g) ** np.arange(T), p.private + p.public)
        drawn = np.minimum([3.0, 0.0, 0.0], C[0])
        C[0] -= drawn
        np.testing.assert_allclose(pl.consumption, C, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(p.stocks_used, drawn)
        # (a): every period balances (dense solve for the plan's investment), capacity and growth by product
        for t in range(T):
            xt = np.linalg.solve(np.eye(3) - A, C[t] + B @ pl.new_capacity[t])
            np.testing.assert_allclose(pl.output[t], xt, rtol=1e-8)
        K = np.array(CAP)
        prod = rep.products[p.name]
        np.testing.assert_allclose(prod["output_now"], pl.output[0], rtol=1e-12)
        np.testing.assert_allclose(prod["change_now"], pl.output[0] / K - 1)
        np.testing.assert_allclose(prod["growth"], (pl.output[-1] / K) ** (1 / T) - 1)
        np.testing.assert_allclose(prod["investment_now"], B @ pl.new_capacity[0], atol=1e-12)
        sec = rep.sectors[p.name]
        ind = [1, 2]
        assert sec.loc["industry", "output_now"] == pytest.approx(v[ind] @ pl.output[0, ind])
        assert sec.loc["industry", "growth"] == pytest.approx(
            (v[ind] @ pl.output[-1, ind] / (v[ind] @ K[ind])) ** (1 / T) - 1)
        assert sec.loc["farm", "equipment_total"] == pytest.approx((v @ B)[0] * pl.new_capacity[:, 0].sum())
        # (b): labour per kind, in total and per worker, with the unit; it fits the supply, fully used somewhere
        lab = pl.output @ LAB.T
        w = rep.work[rep.work["proposal"] == p.name].set_index("labour")
        np.testing.assert_allclose(w["required_now"], lab[0])
        np.testing.assert_allclose(w["per_worker"], lab[0] / [20.0, 8.0])
        np.testing.assert_allclose(w["required_peak"], lab.max(axis=0))
        assert list(w["unit"]) == ["hours", "hours"]
        assert (lab <= SUPPLY * (1 + 1e-9)).all() and (lab / SUPPLY).max() > 1 - 1.1e-3
        assert col["total_labour"] == pytest.approx(lab[0].sum())
        # (c), (d): first-period values at the labour values
        assert col["consumption_now"] == pytest.approx(v @ p.private)
        assert col["public_consumption"] == pytest.approx(v @ p.public)
        assert col["investment"] == pytest.approx(v @ B @ pl.new_capacity[0])
        repl = B @ np.minimum(pl.new_capacity[0], DELTA * K)  # replacement of worn capacity, period 1
        assert col["replacement"] == pytest.approx(v @ repl)
        net = v @ (p.private + p.public + B @ pl.new_capacity[0] - repl)
        assert col["net_product"] == pytest.approx(net)
        assert col["investment_share"] == pytest.approx(v @ (B @ pl.new_capacity[0] - repl) / net)
        np.testing.assert_allclose(rep.consumption[(p.name, "private")], p.private)
        # private consumption has the bundle's composition; public / private as in the split
        np.testing.assert_allclose(p.private / p.private[0], np.array(BUNDLE) / BUNDLE[0], rtol=1e-12)
        ref = p.reference
        assert col["public_consumption"] / col["consumption_now"] == pytest.approx(
            ref.public_share / ref.consumption_share, rel=1e-9)
        assert p.feasible and col["feasible"] == 1.0
    # the items are labelled in the table and in the text
    frame = rep.to_frame()
    assert [i[:3] for i in frame.index.get_level_values("item").unique()[:5]] == ["(a)", "(b)", "(c)", "(d)", "(e)"]
    text = str(rep)
    for item in ["(a)", "(b)", "(c)", "(d)", "(e)", "long-run reference", "[hours]", "per worker"]:
        assert item in text
    assert rep.text() == text


# -- the present matters ---------------------------------------------------------------------------------------------
def test_halving_capacity_changes_the_report():
    full = report(economy())
    half = report(economy(capacity=np.array(CAP) / 2))
    assert all(p.feasible for p in full.proposals)
    assert not full.summary.equals(half.summary)
    for p in half.proposals:
        assert not p.feasible and p.reason.startswith("capacity of")
        first = p.plan.bottlenecks.iloc[0]
        assert first["required"] > first["capacity"]  # the binding capacity, with what it needs
    bn = half.bottlenecks
    assert set(bn["kind"]) == {"capacity"} and set(bn["proposal"]) == set(PROPOSALS)
    assert "NOT feasible: capacity of" in half.text()
    # less capacity also changes the investment needed
    assert not np.allclose(full.products.xs("investment_total", axis=1, level="quantity"),
                           half.products.xs("investment_total", axis=1, level="quantity"))


def test_a_shorter_working_week_lowers_work_and_what_the_proposal_reaches():
    e = economy()
    props = {"40h": {"investment_share": 0.1, "hours_per_worker": [4.0, 2.0]},
             "35h": {"investment_share": 0.1, "hours_per_worker": [3.5, 1.75]}}
    rep = report(e, props, workers=[20.0, 16.0])
    s = rep.summary
    assert s.loc["total_labour", "35h"] < s.loc["total_labour", "40h"]
    assert s.loc["labour_per_worker", "35h"] < s.loc["labour_per_worker", "40h"]
    assert s.loc["consumption_now", "35h"] < s.loc["consumption_now", "40h"]
    assert s.loc["consumption_end", "35h"] < s.loc["consumption_end", "40h"]
    np.testing.assert_allclose(s.loc["labour_supply"], [4.0 * 20 + 2.0 * 16, 3.5 * 20 + 1.75 * 16])
    w = rep.work.set_index(["proposal", "labour"])
    assert w.loc[("35h", "plain"), "available_now"] == pytest.approx(70.0)
    # the same working time given as labour_supply (a Series by kind name) is the same proposal
    same = report(e, {"35h": {"investment_share": 0.1, "labour_supply": pd.Series({"skilled": 28.0, "plain": 70.0})}},
                  workers=[20.0, 16.0])
    np.testing.assert_allclose(same.summary["35h"].to_numpy(), s["35h"].to_numpy(), rtol=1e-12, equal_nan=True)


def test_infeasible_proposals_are_reported_not_raised():
    e = economy()
    gstar = max_growth_rate(e).upper
    rep = report(e, {"too fast": {"growth": 1.5 * gstar}, "fine": {"growth": 0.02},
                     "no room": {"growth": 0.9 * gstar, "public_share": 0.9}})
    bad, fine, no_room = rep.proposals
    assert not no_room.feasible and "leaves nothing for private consumption" in no_room.reason
    assert not bad.feasible and bad.plan is None and "g*" in bad.reason
    assert fine.feasible
    row = rep.bottlenecks[rep.bottlenecks["proposal"] == "too fast"].iloc[0]
    assert row["kind"] == "growth"
    assert "cannot be sustained" in rep.text()
    # a labour-bound proposal: a working time that drops in the last period binds there
    path = np.array([[100.0, 40.0]] * 3 + [[20.0, 8.0]])
    rep = report(e, {"drop": {"growth": 0.02, "labour_supply": path}})
    p = rep.proposals[0]
    assert "period 4" in p.binding and p.plan.labour[3].max() <= 20.0


def test_stocks_meet_first_period_consumption():
    without = report(economy(), {"a": {"growth": 0.02}})
    with_stock = report(economy(stocks=[5.0, 0.0, 0.0]), {"a": {"growth": 0.02}})
    assert with_stock.summary.loc["stocks_used", "a"] > 0
    assert without.summary.loc["stocks_used", "a"] == 0
    # the level is set by labour over the horizon, so stocks change the first period's output only through food
    p = with_stock.proposals[0]
    assert p.stocks_used[0] == pytest.approx(min(5.0, p.private[0] + p.public[0]))


def test_units_not_stated_and_lp_method():
    e = economy(units=False)
    rep = report(e, {"a": {"growth": 0.02}}, method="lp")
    assert set(rep.work["unit"]) == {"unit not stated"}
    assert "[unit not stated]" in rep.text()
    assert rep.proposals[0].plan.method == "lp" and rep.proposals[0].feasible


def test_frontier_starts_from_the_present():
    e = economy()
    df = frontier(e, BUNDLE, growth_rates=[0.0, 0.05], horizon=3)
    half = frontier(economy(capacity=np.array(CAP) / 2), BUNDLE, growth_rates=[0.0, 0.05], horizon=3)
    np.testing.assert_allclose(df["consumption_now"], half["consumption_now"])  # the balanced reference
    assert df["present_feasible"].all() and not half["present_feasible"].any()
    assert half["present_binding"].str.startswith("capacity of").all()
    assert "present_consumption_now" not in frontier(e, BUNDLE, growth_rates=[0.0], present=False)


# -- bad input ---------------------------------------------------------------------------------------------------------
def test_unknown_keys_list_the_valid_ones():
    with pytest.raises(InvalidPlanError, match="unknown keys \\['hours'\\].*valid keys are.*hours_per_worker"):
        report(economy(), {"a": {"growth": 0.01, "hours": 35}})


@pytest.mark.parametrize(
    "spec, kw, error, match",
    [
        ({"growth": 0.01, "hours_per_worker": 0.0}, {"workers": 10.0}, InvalidDemandError, "hours_per_worker"),
        ({"growth": 0.01, "hours_per_worker": -1.0}, {"workers": 10.0}, InvalidDemandError, "hours_per_worker"),
        ({"growth": 0.01, "labour_supply": [0.0, 10.0]}, {}, InvalidDemandError, "labour_supply"),
        ({"growth": 0.01, "labour_supply": [np.nan, 10.0]}, {}, InvalidDemandError, "labour_supply"),
        ({"growth": 0.01, "hours_per_worker": 35.0}, {}, InvalidPlanError, "workers="),
        ({"growth": 0.01, "labour_supply": 5.0, "hours_per_worker": 3.0}, {}, InvalidPlanError, "both"),
        ({"growth": 0.01, "workers": 0}, {}, InvalidDemandError, "workers"),
        ({"growth": 0.01}, {"horizon": 0}, InvalidPlanError, "horizon"),
        ({"growth": 0.01}, {"capacity": [np.nan, 1.0, 1.0]}, InvalidDemandError, "capacity"),
        ({"growth": 0.01}, {"capacity": [-1.0, 1.0, 1.0]}, InvalidDemandError, "capacity"),
        ({"growth": 0.01}, {"stocks": [1.0, -2.0, 0.0]}, InvalidDemandError, "stocks"),
        ({"growth": 0.01}, {"current_output": [1.0, np.inf, 0.0]}, InvalidDemandError, "current_output"),
        ({"growth": 0.01, "investment_share": 0.1}, {}, InvalidPlanError, "exactly one"),
        ({"public_share": 0.1}, {}, InvalidPlanError, "exactly one"),
        ({"growth": 0.01, "labour_supply": {"plain": 1.0, "clerical": 2.0}}, {}, UnknownProductError, "clerical"),
        ({"growth": 0.01, "labour_supply": {"plain": 1.0}}, {}, LabelError, "skilled"),
        ({"growth": 0.01, "labour_supply": [1.0, 2.0, 3.0]}, {}, ShapeError, "labour_supply"),
        ({"growth": 0.01, "labour_growth": -1.5}, {}, InvalidPlanError, "labour_growth"),
        ({"growth": 0.01}, {"method": "simplex"}, InvalidPlanError, "method"),
    ],
)
def test_bad_input_is_a_typed_error_naming_the_fix(spec, kw, error, match):
    with pytest.raises(error, match=match):
        report(economy(), {"p": spec}, **kw)


def test_bad_proposal_containers():
    for bad in ({}, [], "grow", {"a": 0.1}):
        with pytest.raises(InvalidPlanError):
            report(economy(), bad)


def test_plan_labour_supply_series_aligned_by_kind_name():
    e = economy()
    by_name = plan(e, BUNDLE, horizon=2, labour_supply=pd.Series({"skilled": 40.0, "plain": 100.0}))
    by_position = plan(e, BUNDLE, horizon=2, labour_supply=[100.0, 40.0])
    np.testing.assert_array_equal(by_name.labour_supply, by_position.labour_supply)
    path = pd.DataFrame({"skilled": [40.0, 30.0], "plain": [100.0, 90.0]})
    p = plan(e, BUNDLE, horizon=2, labour_supply=path)
    np.testing.assert_array_equal(p.labour_supply, [[100.0, 40.0], [90.0, 30.0]])
    with pytest.raises(UnknownProductError, match="labour kinds this economy does not have: \\['clerks'\\]"):
        plan(e, BUNDLE, horizon=2, labour_supply=pd.Series({"plain": 1.0, "skilled": 1.0, "clerks": 1.0}))
    with pytest.raises(LabelError, match="lacks 1 of the economy's labour kinds: \\['plain'\\]"):
        plan(e, BUNDLE, horizon=2, labour_supply={"skilled": 1.0})
    with pytest.raises(ShapeError, match="one number per labour kind"):
        plan(e, BUNDLE, horizon=2, labour_supply=50.0)  # one number for two kinds would be ambiguous
    with pytest.raises(BigplanError):
        plan(e, BUNDLE, horizon=2, labour_supply=pd.Series({"plain": "many", "skilled": 1.0}))


def test_plan_explain_prints_the_labour_unit():
    e = economy()
    p = plan(e, BUNDLE, horizon=2, labour_supply=[1.0, 1.0])
    assert not p.feasible and "[hours]" in p.explain()
    q = plan(economy(units=False), BUNDLE, horizon=2, labour_supply=[1.0, 1.0])
    assert "[unit not stated]" in q.explain()
