"""The consumer step, its rule's stability edge, the backlog signal, the diagnosis, and the loop over the step."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan.errors import (
    InvalidDemandError,
    InvalidOptionError,
    LabelError,
    NegativeStockError,
    ShapeError,
    UnknownProductError,
)
from bigplan.inventory import (
    ConsumerStep,
    StepRule,
    consumer_step,
    diagnose,
    simulate_consumer_demand,
)

from .conftest import random_productive


@pytest.fixture(scope="module")
def shop():
    """40 products, the last 20 consumer goods, with labour (values) and labels."""
    n = 40
    rng = np.random.default_rng(3)
    A = random_productive(n, 0.1, 0.6, seed=4)
    e = bigplan.Economy(A, labour=rng.random(n) + 0.2, labels=[f"p{i}" for i in range(n)])
    planned = np.zeros(n)
    planned[20:] = rng.uniform(5, 20, 20)
    return e, planned


def dense_output(e, f):
    return np.linalg.solve(np.eye(e.n) - e.A.toarray(), f)


def conserves(run, other=None):
    other = np.zeros_like(run.target) if other is None else other
    flows = run.output - run.intermediate_use - other[None, :] - run.sales
    scale = max(1.0, float(np.abs(run.output).max()))
    np.testing.assert_allclose(np.diff(run.stocks, axis=0), flows, rtol=0, atol=1e-11 * scale)
    np.testing.assert_array_equal(run.sales + run.unmet, run.demand)
    assert (run.sales >= 0).all() and (run.unmet >= 0).all()


# --------------------------------------------------------------------------- the rule and its stability condition
def companion_radius(g, delta):
    """Spectral radius of x[t+2] = (1 - g - delta) x[t+1] + delta x[t], by NumPy's eigenvalues."""
    M = np.array([[1.0 - g - delta, delta], [1.0, 0.0]])
    return float(np.abs(np.linalg.eigvals(M)).max())


def test_rule_multiplier_and_condition_match_the_companion_matrix():
    rng = np.random.default_rng(0)
    for _ in range(200):
        g, kappa, e, e_hat, b = rng.uniform(0.05, 2.5), rng.uniform(0, 1.5), rng.uniform(0, 3), rng.uniform(0, 2), \
            rng.choice([0.0, 0.1, 0.5, 1.0, 3.0, 20.0])
        rule = StepRule(gain=g, price_response=kappa, elasticity=e_hat)
        delta = (e - e_hat) * kappa / max(1.0, b)
        rho = companion_radius(g, delta)
        assert rule.multiplier(e, b) == pytest.approx(rho, rel=1e-9, abs=1e-12)
        if abs(rho - 1.0) > 1e-9:
            assert rule.stable(e, b) == (rho < 1.0)
            assert (g < rule.max_stable_gain(e, b)) == (rho < 1.0) or delta <= -1


def test_default_rule_is_stable_for_any_buffer_with_margin():
    rule = StepRule()
    buffers = np.array([0.0, 1e-3, 0.05, 1 / 3, 1.0, 2.0, 50.0])
    for e in (0.0, 0.5, 1.0, 1.5, 2.9):
        assert np.all(rule.stable(e, buffers)), e
    for e in (0.0, 0.5, 1.0, 1.5):  # realistic elasticities: the edge lies at twice the default gain or more
        assert np.all(rule.max_stable_gain(e, buffers) >= 2.0 * rule.gain)
    assert np.all(rule.multiplier(1.0, buffers) <= 0.65)
    assert not rule.stable(3.2, 0.1)  # beyond the stated condition e < 3


def test_stability_edge_inside_settles_outside_oscillates_and_is_diagnosed(shop):
    """eps = 1, kappa = 0.5, buffers of half a period: delta = 0.5, so the edge is gain = 1."""
    e, planned = shop
    runs = {}
    for g in (0.9, 1.1):  # 10 % either side of the edge
        rule = StepRule(gain=g, price_response=0.5)
        assert rule.max_stable_gain(1.0, 0.5) == pytest.approx(1.0)
        runs[g] = simulate_consumer_demand(e, planned, planned * 1.01, target_stocks=planned * 0.5,
                                           elasticity=1.0, rule=rule, periods=300)
    inside, outside = runs[0.9], runs[1.1]
    assert inside.converged and inside.diagnosis.ok
    # the gap shrinks by the predicted multiplier per period (a consumer good, late in the run, linear regime)
    gaps = inside.stocks[:, 25] - inside.target[25]
    assert abs(gaps[-1] / gaps[-2]) == pytest.approx(StepRule(gain=0.9, price_response=0.5).multiplier(1.0, 0.5),
                                                     rel=1e-3)
    assert not outside.converged and not outside.diagnosis.ok
    d = outside.diagnosis
    consumer = [f"p{i}" for i in range(20, 40)]
    unsettled = list(d.products[~d.settled])
    assert sorted(unsettled) == sorted(consumer)
    frame = d.to_frame()
    assert set(frame["cause"]) == {"gain too high for the buffer"}
    assert frame["oscillating"].all() and (frame["sign_changes"] >= d.window // 2).all()
    assert (frame["price_amplitude"] > 0.01).all()
    assert (frame["predicted_multiplier"] > 1.0).all()
    text = d.describe()
    assert "gain too high for the buffer" in text and "p2" in text and "g=1.1" in text
    # the price swings above and below value, period after period
    ratio = outside.prices[-20:, 25] / outside.values[25]
    assert (np.diff(np.sign(ratio - 1.0)) != 0).sum() >= 15


# --------------------------------------------------------------------------- the case
def test_small_buffers_and_doubled_demand_settle_with_the_default_rule(shop):
    e, planned = shop
    run = simulate_consumer_demand(e, planned, 2 * planned, target_stocks=planned * 0.3, periods=60)
    conserves(run)
    assert run.unmet[0, 20:].sum() > 0  # shelves emptied at first
    assert run.converged and run.converged_at is not None and run.diagnosis.ok
    assert run.unmet[-10:].max() < 1e-9
    np.testing.assert_allclose(run.prices[-1], run.values, rtol=1e-6)
    np.testing.assert_allclose(run.output[-1], dense_output(e, 2 * planned), rtol=1e-6)
    # the old rule's swing (0.52x to 1.5x value) is gone: prices stay within the rule's kappa of value
    ratio = run.prices / run.values[None, :]
    assert ratio.max() <= 1.0 + 0.5 + 1e-12 and ratio.min() >= 0.5


def test_simulation_is_a_loop_over_the_step(shop):
    e, planned = shop
    target = planned * 0.5
    run = simulate_consumer_demand(e, planned, 1.2 * planned, target_stocks=target, periods=3)
    v = bigplan.labour_values(e).values
    st = consumer_step(e, sales=planned, stocks=target, targets=planned, stock_targets=target, values=v,
                       rule=run.rule)
    np.testing.assert_allclose(run.output[0], st.output, rtol=1e-10)
    st1 = consumer_step(e, sales=run.sales[0], orders=run.orders[0], stocks=np.maximum(run.stocks[1], 0),
                        backlog=run.backlog[1], targets=st.targets, stock_targets=target, values=v, rule=run.rule)
    np.testing.assert_allclose(run.prices[1], st1.prices, rtol=1e-12)
    np.testing.assert_allclose(run.final_target[1], st1.final_demand, rtol=1e-12)


# --------------------------------------------------------------------------- backlog: goods without stock
def test_backlog_signals_goods_without_stock(shop):
    e, planned = shop
    target = planned * 0.5
    target[30] = 0.0  # "housing": no recorded stock
    act = planned.copy()
    act[30] *= 1.05
    run = simulate_consumer_demand(e, planned, act, target_stocks=target, periods=60)
    conserves(run)
    assert run.backlog[1, 30] > 0  # unmet demand carried forward
    assert run.prices[1, 30] / run.values[30] > 1.01  # ... and priced above value
    assert run.final_target[1, 30] > act[30]  # ... and the target raised to clear it
    assert run.converged and run.backlog[-1, 30] < 1e-6
    assert run.prices[0, 30] == pytest.approx(run.values[30])
    df = run.to_frame()
    assert df.loc["p30", "cause"] == "settled" and df.loc["p30", "stock_target"] == 0.0
    np.testing.assert_allclose(df["backlog"].to_numpy(), run.backlog[-1])
    # the step alone: a stockless good with a backlog gets a price and a target signal
    st = consumer_step(e, sales=act, stocks=np.zeros(e.n), backlog=np.where(np.arange(e.n) == 30, 3.0, 0.0),
                       targets=planned, stock_targets=np.zeros(e.n))
    assert st.price_ratio[30] == pytest.approx(1.0 + 0.25 * 3.0 / (act[30] + 3.0))
    assert st.targets[30] == pytest.approx(act[30] + 0.5 * 3.0)
    assert list(st.backlog_signal) == ["p30"] and any("backlog" in note for note in st.notes)
    others = np.arange(e.n) != 30
    np.testing.assert_array_equal(st.price_ratio[others], 1.0)


def test_without_backlog_or_stock_the_diagnosis_says_no_stock():
    gap = np.tile([0.0, 0.2], (20, 1))
    d = diagnose(gap, 1 + 0.25 * gap, final_gap=np.array([0.0, 0.2]), tol=1e-6, buffer_ratio=[1.0, 0.0],
                 products=["bread", "housing"])
    assert d.cause.tolist() == ["settled", "no stock"]
    assert "housing" in d.describe() and "backlog" in d.describe()
    d = diagnose(gap, 1 + 0.25 * gap, final_gap=np.array([0.0, 0.2]), tol=1e-6, buffer_ratio=[1.0, 0.0],
                 over_capacity=[False, True], products=["bread", "housing"])
    assert d.cause.tolist() == ["settled", "capacity"] and "capacity" in d.describe()
    t = np.arange(40)[:, None]
    swings = np.hstack([(-0.9) ** t, (-1.02) ** t, 0.95 ** t])  # damped, growing, monotone
    d = diagnose(swings, 1 + 0.25 * swings, final_gap=np.abs(swings[-1]), tol=1e-6, buffer_ratio=[0.2] * 3)
    assert d.cause.tolist() == ["slow", "gain too high for the buffer", "slow"]
    assert d.oscillating.tolist() == [True, True, False]
    np.testing.assert_allclose(d.growth[:2], [0.9, 1.02], rtol=1e-9)


# --------------------------------------------------------------------------- the step against a dense solve
def test_step_output_equals_a_dense_solve_of_the_new_targets(shop, backend):
    e, planned = shop
    rng = np.random.default_rng(7)
    k = 3
    plans = ["a", "b", "c"]
    sales = planned[:, None] * rng.uniform(0.8, 1.2, (e.n, k))
    stocks = planned[:, None] * rng.uniform(0.0, 1.0, (e.n, k))
    backlog = np.where(rng.random((e.n, k)) < 0.2, 1.0, 0.0)
    star = planned * 0.5
    other = np.where(np.arange(e.n) < 5, 2.0, 0.0)
    rule = StepRule(gain=0.4, price_response=0.3, elasticity=0.5)
    r_in = rng.uniform(0.9, 1.1, (e.n, k))
    order = rng.permutation(e.n)  # labelled input in another order
    frame = lambda a: pd.DataFrame(a, index=e.labels, columns=plans).iloc[order]
    st = consumer_step(e, sales=frame(sales), stocks=frame(stocks), backlog=frame(backlog),
                       targets=frame(sales), stock_targets=pd.Series(star, index=e.labels).iloc[order],
                       price_ratio=frame(r_in), other_final=other, rule=rule, backend=backend, rtol=1e-12)
    assert isinstance(st, ConsumerStep) and st.converged and st.output.shape == (e.n, k)
    # the rule, recomputed independently
    u = star[:, None] - stocks + backlog
    a_hat = sales * r_in ** 0.5
    scale = np.maximum(star[:, None], a_hat + backlog)
    rel = np.divide(u, scale, out=np.zeros_like(u), where=scale > 0)
    ratio = np.clip(1 + 0.3 * rel, 0.1, 10.0)
    f = np.maximum(a_hat * ratio ** -0.5 + 0.4 * u + other[:, None], 0.0)
    np.testing.assert_allclose(st.price_ratio, ratio, rtol=1e-12)
    np.testing.assert_allclose(st.final_demand, f, rtol=1e-12)
    np.testing.assert_allclose(st.targets, f - other[:, None], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(st.output, dense_output(e, f), rtol=1e-8)
    np.testing.assert_allclose(st.prices, ratio * bigplan.labour_values(e).values[:, None], rtol=1e-10)
    df = st.to_frame()
    assert df.shape == (e.n, 9 * k) and list(df["output"].columns) == plans
    one = st.to_frame("b")
    np.testing.assert_allclose(one["output"].to_numpy(), st.output[:, 1])
    np.testing.assert_allclose(one["target_change"].to_numpy(), st.targets[:, 1] - sales[:, 1])
    with pytest.raises(LabelError):
        st.to_frame("z")
    assert "ConsumerStep" in repr(st)


def test_step_flags_capacity(shop):
    e, planned = shop
    x = dense_output(e, planned)
    capped = e.with_changes(capacity=x * 0.9) if hasattr(e, "with_changes") else None
    if capped is None or capped.capacity is None:
        capped = bigplan.Economy(e.A, labour=e.labour, labels=e.labels, capacity=x * 0.9)
    st = consumer_step(capped, sales=planned, stocks=planned, targets=planned, stock_targets=planned)
    need = np.flatnonzero(st.output > x * 0.9)
    assert need.size and list(st.over_capacity) == [f"p{i}" for i in need]


# --------------------------------------------------------------------------- bad input
def test_bad_observations_are_typed_errors(shop):
    e, planned = shop
    ok = {"sales": planned, "stocks": planned, "targets": planned, "stock_targets": planned}

    def call(**kw):
        return consumer_step(e, **{**ok, **kw})

    with pytest.raises(InvalidDemandError, match="NaN"):
        call(stocks=np.where(np.arange(e.n) == 3, np.nan, planned))
    with pytest.raises(NegativeStockError, match="stocks"):
        call(stocks=planned - 1.0)
    with pytest.raises(NegativeStockError, match="stock_targets"):
        call(stock_targets=-planned - 1)
    with pytest.raises(InvalidDemandError, match="sales"):
        call(sales=-planned - 1)
    with pytest.raises(InvalidDemandError, match="backlog"):
        call(backlog=np.full(e.n, -1.0))
    with pytest.raises(UnknownProductError, match="salt"):
        call(stocks=pd.Series(np.ones(e.n + 1), index=list(e.labels) + ["salt"]))
    with pytest.raises(LabelError, match="lacks"):
        call(sales=pd.Series(np.ones(e.n - 1), index=e.labels[:-1]))
    with pytest.raises(ShapeError):
        call(stocks=planned[:5])
    with pytest.raises(ShapeError, match="plans"):
        call(sales=np.ones((e.n, 2)), stocks=np.ones((e.n, 3)))
    with pytest.raises(InvalidOptionError):
        call(rule={"gain": 0.5})
    with pytest.raises(InvalidOptionError, match="gain"):
        StepRule(gain=0.0)
    with pytest.raises(InvalidOptionError, match="min_price"):
        StepRule(min_price=1.5)
    with pytest.raises(InvalidDemandError, match="stock_targets"):
        consumer_step(e, sales=planned, stocks=planned, targets=planned)  # economy records no stocks
    with pytest.raises(InvalidOptionError, match="backlog"):
        simulate_consumer_demand(e, planned, planned, periods=2, backlog="sometimes")
    with pytest.raises(InvalidDemandError, match="initial stocks"):
        simulate_consumer_demand(e, planned, planned, periods=2, initial_stocks=-planned - 1)
