"""Stocks of every product drawn in the first period of a proposal (issue 11, item 1).

The kernel (:func:`bigplan._dynamic.stocks.draw_stocks`: the least output
``x* = max(0, A x* + d - s)``) is checked against HiGHS (``scipy.optimize.linprog``)
on small dense economies; the proposals (:func:`bigplan.dynamic.compare`) against
a dense computation of the first period with the same draw.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from bigplan import Economy, solve_output
from bigplan._dynamic.stocks import draw_stocks
from bigplan.dynamic import compare, frontier, plan
from bigplan.errors import InvalidDemandError, LabelError, UnknownProductError


def _random_case(rng, kind):
    n = int(rng.integers(2, 9))
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.6)
    if A.any():
        A *= rng.uniform(0.3, 0.95) / np.abs(np.linalg.eigvals(A)).max()
    lab = rng.uniform(0.1, 1.0, (2, n))
    d = rng.random(n) * 10 * (rng.random(n) < 0.7)
    plain = np.linalg.solve(np.eye(n) - A, d)
    if kind == "random":
        s = rng.random(n) * (rng.random(n) < 0.6) * plain.max() * rng.uniform(0.1, 2.0)
    elif kind == "huge":  # more than the whole requirement: nothing is made
        s = plain + d + 1.0
    elif kind == "zero":
        s = np.zeros(n)
    else:  # "intermediate": stocks only of goods no final demand asks for
        d[0] = 0.0
        plain = np.linalg.solve(np.eye(n) - A, d)
        s = np.where(d == 0, rng.random(n) * plain.max(), 0.0)
    return A, lab, d, s, plain


def _least_by_lp(A, d, s, weights):
    """``min weights . x`` over ``x >= 0, (I - A) x >= d - s`` with HiGHS."""
    n = A.shape[0]
    res = linprog(weights, A_ub=-(np.eye(n) - A), b_ub=-(d - s), bounds=[(0, None)] * n, method="highs")
    assert res.status == 0
    return res.x


CASES = [(seed, kind) for kind in ("random", "huge", "zero", "intermediate") for seed in range(8)]


@pytest.mark.parametrize("seed, kind", CASES)
def test_least_output_matches_highs(seed, kind):
    rng = np.random.default_rng(100 + seed)
    A, lab, d, s, plain = _random_case(rng, kind)
    n = A.shape[0]
    e = Economy(A, labour=lab)
    r = draw_stocks(e, d, s)
    scale = max(1.0, plain.max())
    # the labour-minimising output of every kind of labour (HiGHS) is x*, and so is any positive weighting
    for w in (lab[0], lab[1], rng.uniform(0.01, 1.0, n)):
        x_lp = _least_by_lp(A, d, s, w)
        np.testing.assert_allclose(r.output, x_lp, atol=1e-7 * scale)
        assert w @ r.output <= w @ x_lp + 1e-9 * scale
    # least element: below any feasible output, here the largest one in a box (HiGHS, another objective)
    big = linprog(-np.ones(n), A_ub=-(np.eye(n) - A), b_ub=-(d - s), bounds=[(0, p + 1.0) for p in plain],
                  method="highs").x
    assert (r.output <= big + 1e-9 * scale).all() and (r.output <= plain + 1e-9 * scale).all()
    # complementarity, balance, the split of the stocks used, the labour saved
    u = np.minimum(s, A @ r.output + d)
    np.testing.assert_allclose(r.used, u, atol=1e-12 * scale)
    np.testing.assert_allclose((np.eye(n) - A) @ r.output, d - r.used, atol=1e-9 * scale)
    assert (np.minimum(r.output, s - r.used) <= 1e-9 * scale).all()
    assert r.converged and r.residual[0] < 1e-8 and r.complementarity < 1e-7
    np.testing.assert_allclose(r.final + r.intermediate, r.used)
    np.testing.assert_allclose(r.final, np.minimum(r.used, d))
    np.testing.assert_allclose(r.unused, s - r.used)
    np.testing.assert_allclose(r.plain_output, plain, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(r.labour_saved, lab @ (plain - r.output), atol=1e-8 * scale)
    np.testing.assert_allclose(r.output_saved, np.linalg.solve(np.eye(n) - A, r.used), atol=1e-8 * scale)
    if kind == "huge":
        assert not r.output.any() and np.allclose(r.used, d)
    if kind == "zero":  # no stocks: exactly the plain solve
        np.testing.assert_array_equal(r.output, solve_output(e, d).output)
        assert not r.used.any()
    if kind == "intermediate" and r.used.any():
        assert not r.final.any() and (r.labour_saved > 0).all()


def test_chain_of_intermediate_stocks_is_found_in_steps():
    # ore -> metal -> tools -> bread: stocks of the upstream goods are used only as the downstream demand reaches them
    A = np.zeros((4, 4))
    A[1, 0], A[2, 1], A[3, 2] = 0.5, 2.0, 1.0  # bread needs tools, tools need metal, metal needs ore
    e = Economy(A, labour=np.ones(4), labels=["bread", "tools", "metal", "ore"])
    r = draw_stocks(e, pd.Series({"bread": 10.0, "tools": 0.0, "metal": 0.0, "ore": 0.0}),
                    pd.Series({"ore": 100.0, "metal": 4.0, "tools": 1.0, "bread": 0.0}))
    # 10 bread need 5 tools (1 in stock: make 4), 8 metal (4 in stock: make 4), 4 ore (all from stock)
    np.testing.assert_allclose(r.output, [10.0, 4.0, 4.0, 0.0])
    np.testing.assert_allclose(r.used, [0.0, 1.0, 4.0, 4.0])
    np.testing.assert_allclose(r.intermediate, r.used)
    assert r.steps >= 2 and r.labour_saved[0] == pytest.approx(r.plain_output.sum() - r.output.sum())
    frame = r.to_frame()
    assert frame.loc["ore", "unused"] == pytest.approx(96.0) and list(frame.index) == ["bread", "tools", "metal", "ore"]


@pytest.mark.parametrize(
    "stocks, error",
    [([np.nan, 1.0], InvalidDemandError), ([-1.0, 1.0], InvalidDemandError), ([1.0], Exception),
     (pd.Series({"a": 1.0, "zz": 1.0}), UnknownProductError), (pd.Series({"a": 1.0}), LabelError)],
)
def test_draw_refuses_bad_stocks(stocks, error):
    e = Economy(np.array([[0.1, 0.2], [0.3, 0.1]]), labels=["a", "b"])
    with pytest.raises(error, match="stocks"):
        draw_stocks(e, [1.0, 1.0], stocks)


# -- through the proposals ------------------------------------------------------------------------------------------
A3 = np.array([[0.10, 0.20, 0.05], [0.15, 0.10, 0.20], [0.05, 0.10, 0.10]])
B3 = np.array([[0.0, 0.0, 0.0], [0.8, 1.0, 0.6], [0.2, 0.3, 0.4]])
LAB3 = np.array([[0.6, 0.4, 0.5], [0.1, 0.3, 0.2]])
FOOD = [1.0, 0.0, 0.0]  # only food is consumed: steel and tools are intermediate and capital goods
SCARCE_NOW = np.array([[60.0, 25.0]] + [[100.0, 40.0]] * 3)  # working time short in period 1: it binds there


def econ(stocks=None, capacity=(200.0, 100.0, 80.0)):
    return Economy(A3, labour=LAB3, labour_names=["plain", "skilled"], labels=["food", "steel", "tools"], capital=B3,
                   depreciation=0.05, capacity=np.array(capacity), stocks=stocks,
                   labour_supply=[100.0, 40.0])


@pytest.mark.parametrize("method", ["capacity", "lp"])
def test_stocks_of_an_intermediate_good_lower_labour_and_raise_the_level(method):
    props = {"scarce": {"growth": 0.02, "labour_supply": SCARCE_NOW}, "plenty": {"growth": 0.02}}
    without = compare(econ(), props, FOOD, horizon=4, method=method)
    steel = np.array([0.0, 6.0, 0.0])
    rep = compare(econ(), props, FOOD, horizon=4, stocks=steel, method=method)
    for p, q in zip(rep.proposals, without.proposals):
        d = p.private + p.public
        inv = B3 @ p.plan.new_capacity[0]
        # the first period: the least output for its consumption and investment with the stocks drawn (HiGHS)
        x_star = _least_by_lp(A3, d + inv, steel, LAB3.sum(axis=0))
        np.testing.assert_allclose(p.plan.output[0], x_star, rtol=1e-7)
        np.testing.assert_allclose(p.plan.consumption[0], d - p.stocks_used, atol=1e-9)
        assert p.stocks_intermediate[1] + p.stocks_investment[1] > 0 and p.stocks_final[1] == 0  # steel: not consumed
        np.testing.assert_allclose(p.labour_saved, LAB3 @ np.linalg.solve(np.eye(3) - A3, p.stocks_used), rtol=1e-8)
        col = rep.summary[p.name]
        assert col["labour_saved"] == pytest.approx(p.labour_saved.sum())
        assert col["stocks_intermediate"] == pytest.approx(p.prices @ p.stocks_used)
        assert col["stocks_unused"] == pytest.approx(p.prices @ (steel - p.stocks_used))
        tab = rep.stocks[p.name]
        np.testing.assert_allclose(tab["used_intermediate"] + tab["unused"], steel)
        assert p.stocks.converged and p.feasible and q.feasible
    scarce, scarce0 = rep.proposals[0], without.proposals[0]
    assert "period 1" in scarce.binding and "period 1" in scarce0.binding
    assert scarce.level > scarce0.level * 1.001  # the stocks free working time for consumption
    assert rep.summary.loc["consumption_now", "scarce"] > without.summary.loc["consumption_now", "scarce"]
    plenty, plenty0 = rep.proposals[1], without.proposals[1]
    # where a later period sets the level, the same level needs less labour in period 1
    assert plenty.level == pytest.approx(plenty0.level, rel=2e-3)
    assert plenty.plan.labour[0].sum() < plenty0.plan.labour[0].sum() - 0.9 * plenty.labour_saved.sum()
    assert "in place of intermediate inputs" in rep.text() and "saving" in rep.text()


def test_zero_stocks_change_nothing_and_huge_stocks_leave_only_investment():
    props = {"a": {"investment_share": 0.1}}
    base = compare(econ(), props, FOOD, horizon=3)
    zero = compare(econ(), props, FOOD, horizon=3, stocks=[0.0, 0.0, 0.0])
    np.testing.assert_array_equal(base.proposals[0].plan.output, zero.proposals[0].plan.output)
    assert zero.proposals[0].stocks is None and zero.summary.loc["labour_saved", "a"] == 0
    huge = compare(econ(), props, FOOD, horizon=3, stocks=[1e4, 1e4, 1e4]).proposals[0]
    inv = B3 @ huge.plan.new_capacity[0]
    np.testing.assert_allclose(huge.plan.output[0], np.linalg.solve(np.eye(3) - A3, inv), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(huge.stocks.output, 0.0)
    np.testing.assert_allclose(huge.stocks_final, huge.private + huge.public)


def test_frontier_from_the_present_draws_intermediate_stocks():
    kw = {"growth_rates": [0.0, 0.02], "horizon": 1, "labour_supply": [60.0, 25.0]}  # period 1 binds
    no = frontier(econ(), FOOD, **kw)
    yes = frontier(econ(stocks=[0.0, 6.0, 3.0]), FOOD, **kw)
    assert (yes["present_consumption_now"] > no["present_consumption_now"] * 1.001).all()


@pytest.mark.parametrize(
    "stocks, error",
    [([np.nan, 1.0, 0.0], InvalidDemandError), ([1.0, -2.0, 0.0], InvalidDemandError),
     (pd.Series({"food": 1.0, "steel": 1.0, "iron": 1.0}), UnknownProductError),
     (pd.Series({"food": 1.0, "steel": 1.0}), LabelError)],
)
def test_compare_refuses_bad_stocks(stocks, error):
    with pytest.raises(error, match="stocks"):
        compare(econ(), {"a": {"growth": 0.01}}, FOOD, horizon=2, stocks=stocks)


@pytest.mark.parametrize("method", ["capacity", "lp"])
def test_stocks_of_equipment_cover_the_first_periods_investment(method):
    props = {"grow": {"investment_share": 0.3}}
    tools = np.array([0.0, 0.0, 40.0])  # more equipment in stock than the first period needs
    tight = (120.0, 40.0, 30.0)  # capacity that must grow from period 1
    rep = compare(econ(capacity=tight), props, FOOD, horizon=4, stocks=tools, method=method)
    p = rep.proposals[0]
    d = p.private + p.public
    inv = B3 @ p.plan.new_capacity[0]
    assert inv[2] > 0 and p.stocks_investment[2] == pytest.approx(inv[2])  # the tools delivered come from stock
    assert p.stocks_unused[2] > 0 and p.stocks_used[2] + p.stocks_unused[2] == pytest.approx(40.0)
    x_star = _least_by_lp(A3, d + inv, tools, LAB3.sum(axis=0))
    np.testing.assert_allclose(p.plan.output[0], x_star, rtol=1e-7, atol=1e-9)
    # the plan balances with the final demand d - u: (I - A) x_1 = d - u + B N_1
    np.testing.assert_allclose((np.eye(3) - A3) @ p.plan.output[0], p.plan.consumption[0] + inv, atol=1e-9)
    np.testing.assert_allclose(p.plan.consumption[0], d - p.stocks_used, atol=1e-12)
    assert rep.summary.loc["stocks_investment", "grow"] == pytest.approx(p.prices @ p.stocks_investment)
    assert "as investment goods" in rep.text()
    assert p.plan.converged and any("least output with the stocks drawn" in note for note in p.plan.evidence.notes)
    if method == "capacity":
        # with today's capacity given the investment does not depend on the first period's targets: the same as
        # the plan of the gross consumption path (the draw is then exact for the whole first period)
        g = p.growth_rate
        gross = plan(econ(capacity=tight), np.outer((1 + g) ** np.arange(4), d),
                     labour_supply=p.labour_supply, terminal_growth=g)
        np.testing.assert_allclose(p.plan.new_capacity, gross.new_capacity, rtol=1e-9, atol=1e-12)
        assert p.plan.labour[0].sum() < gross.labour[0].sum()
