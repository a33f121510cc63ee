"""Stock-taking, instant re-planning (warm == cold) and the consumer-demand correction loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan import inventory as inv
from bigplan.errors import (
    InvalidDemandError,
    InvalidEconomyError,
    LabelError,
    ShapeError,
    UnknownProductError,
)
from bigplan.inventory import (
    NegativeStockError,
    Replanner,
    open_store,
    replan,
    sector_codes,
    simulate_consumer_demand,
    stock_change,
)
from bigplan.synthetic import final_demand, technical_matrix

from .conftest import random_productive

RTOL = 1e-10


def relative_residual(e: bigplan.Economy, Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    R = Y - (X - e.A @ X)
    return np.linalg.norm(R, axis=0) / np.linalg.norm(Y, axis=0)


@pytest.fixture(scope="module")
def big():
    """A 20,000-product economy (float32 corrections kick in), 6 plans and their outputs."""
    n = 20_000
    A = technical_matrix(n, seed=7)
    labels = [f"s{i // 500:02d}.p{i}" for i in range(n)]
    e = bigplan.Economy(A, labels=labels)
    Y = final_demand(n, 6, seed=8)
    sol = bigplan.solve_output(e, Y)
    return e, Y, sol.output, sol.residual


def revise(e, change):
    """``e`` with the (rows, cols, values) positions changed (labels looked up when present)."""
    rows, cols, vals = change
    lab = e.labels if e.labels is not None else np.arange(e.n)
    return e.with_changes({(lab[r], lab[c]): v for r, c, v in zip(rows, cols, vals)})


def scattered(e, m, rng):
    A = e.A
    pick = rng.choice(A.nnz, m, replace=False)
    rows = np.repeat(np.arange(e.n), np.diff(A.indptr))[pick]
    return rows, A.indices[pick], A.data[pick] * rng.uniform(0.85, 1.15, m)


def columns(e, q, rng):
    AT = e.AT
    r, c, v = [], [], []
    for j in rng.choice(e.n, q, replace=False):
        s = slice(AT.indptr[j], AT.indptr[j + 1])
        r += AT.indices[s].tolist()
        c += [j] * (s.stop - s.start)
        v += (AT.data[s] * rng.uniform(0.8, 1.1, s.stop - s.start)).tolist()
    return np.array(r), np.array(c), np.array(v)


def one_row(e, m, rng):
    i = int(np.argmax(np.diff(e.A.indptr)))
    s = slice(e.A.indptr[i], e.A.indptr[i + 1])
    cols = e.A.indices[s][:m]
    return np.full(cols.size, i), cols, e.A.data[s][: cols.size] * 0.8


# ---------------------------------------------------------------------------
# re-planning
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pattern, mode, method",
    [(scattered, "plans", "correction"), (scattered, "plans", "auto"), (columns, "columns", "auto"),
     (one_row, "rows", "auto")],
)
def test_replan_equals_cold_solve(big, pattern, mode, method):
    e, Y, X, res = big
    rng = np.random.default_rng(1)
    size = {"plans": 300, "columns": 3, "rows": 400}[mode]
    rows, cols, vals = pattern(e, size, rng)
    e2 = revise(e, (rows, cols, vals))
    cold = bigplan.solve_output(e2, Y, rtol=RTOL)
    rep = replan(e2, Y, X, old_economy=e, residual=res, threshold=0.01, sectors=lambda s: s.split(".")[0],
                 method=method)
    if mode == "plans" and method == "auto":  # as many changed rows and columns as plans: a warm start
        assert rep.method == "warm" and rep.rank == Y.shape[1]
    else:
        assert rep.method == "correction" and rep.mode.startswith(mode)
    assert rep.inner_dtype == "float64"
    assert rep.converged and (rep.residual <= RTOL).all()
    assert (relative_residual(e2, Y, rep.output) <= 1.5 * RTOL).all()
    scale = np.abs(cold.output).max(axis=0)
    assert (np.abs(rep.output - cold.output).max(axis=0) <= 1e-8 * scale).all()
    # the report: exactly the (product, plan) pairs that moved by more than 1 %
    moved = np.abs(cold.output - X) > 0.01 * np.abs(X)
    borderline = np.abs(np.abs(cold.output - X) - 0.01 * np.abs(X)) <= 1e-6 * np.abs(X)
    got = {(p, c) for p, c in zip(rep.moved["product"], rep.moved["plan"])}
    want = {(e.labels[i], j) for i, j in zip(*np.nonzero(moved & ~borderline))}
    assert want <= got and len(got - want) <= int(borderline.sum())
    assert set(rep.moved["sector"]) == {p.split(".")[0] for p, _ in got}
    bs = rep.by_sector()
    assert bs["entries"].sum() == len(rep.moved)
    assert (rep.moved["sector"].to_numpy()[:-1] <= rep.moved["sector"].to_numpy()[1:]).all()  # grouped
    if mode != "plans":
        assert rep.rank <= Y.shape[1] // 2


def test_replan_methods_and_delta_forms(big):
    e, Y, X, res = big
    rng = np.random.default_rng(2)
    rows, cols, vals = scattered(e, 50, rng)
    e2 = revise(e, (rows, cols, vals))
    cold = bigplan.solve_output(e2, Y)
    D = (e2.A - e.A).tocsr()
    d = D.tocoo()
    for kw in ({"delta": D}, {"delta": (d.row, d.col, d.data)}, {"old_economy": e}):
        rep = replan(e2, Y, X, method="correction", **kw)
        assert rep.method == "correction"
        np.testing.assert_allclose(rep.output, cold.output, rtol=1e-8, atol=1e-8 * np.abs(cold.output).max())
    for method in ("warm", "cold"):
        rep = replan(e2, Y, X, method=method)
        assert rep.method == method and rep.converged
        np.testing.assert_allclose(rep.output, cold.output, rtol=1e-8, atol=1e-8 * np.abs(cold.output).max())
    rep = replan(e2, Y, X, old_economy=e, method="correction", inner_dtype=np.float32)
    assert rep.inner_dtype == "float32" and (rep.residual <= RTOL).all()
    np.testing.assert_allclose(rep.output, cold.output, rtol=1e-8, atol=1e-8 * np.abs(cold.output).max())
    # nothing changed: the check alone, nothing moves
    rep = replan(e, Y, X, old_economy=e, threshold=0.0, method="correction")
    assert rep.moved.empty and rep.iterations == 0 and rep.mode == "nothing changed"
    with pytest.raises(ValueError, match="needs delta"):
        replan(e2, Y, X, method="correction")
    with pytest.raises(ShapeError):
        replan(e2, Y, X[:, :2])
    with pytest.raises(ValueError, match="method"):
        replan(e2, Y, X, method="fast")


def test_replan_on_every_backend(backend):
    n = 3000
    e = bigplan.Economy(technical_matrix(n, seed=3))
    Y = final_demand(n, 4, seed=4)
    X = bigplan.solve_output(e, Y, backend="numpy").output
    rng = np.random.default_rng(5)
    e2 = revise(e, scattered(e, 100, rng))
    rep = replan(e2, Y, X, old_economy=e, backend=backend, method="correction", inner_dtype=np.float32)
    assert rep.converged and (rep.residual <= RTOL).all()
    cold = bigplan.solve_output(e2, Y, backend="numpy")
    np.testing.assert_allclose(rep.output, cold.output, rtol=1e-8, atol=1e-8 * np.abs(cold.output).max())
    assert rep.backend == backend


def test_replanner_keeps_plans_in_memory(big):
    e, Y, X, _ = big
    rp = Replanner(e, pd.DataFrame(Y, index=e.labels, columns=list("abcdef")), outputs=X, threshold=0.05)
    rng = np.random.default_rng(9)
    e2 = revise(e, columns(e, 2, rng))
    rep = rp.update(e2)
    assert list(rep.plans) == list("abcdef") and rep.threshold == 0.05
    e3 = revise(e2, one_row(e2, 100, rng))
    rep3 = rp.update(e3)
    np.testing.assert_allclose(rep3.output, bigplan.solve_output(e3, Y).output, rtol=1e-8,
                               atol=1e-8 * np.abs(X).max())
    assert rp.economy is e3
    assert "ReplanReport" in repr(rep3)
    assert rep3.to_frame().shape == (e.n, 6)


def test_sector_codes_forms():
    e = bigplan.Economy(np.diag([0.1] * 5), labels=list("abcde"))
    codes, names = sector_codes(e, pd.Series({"a": "food", "b": "food", "c": "steel"}))
    assert names[codes].tolist() == ["food", "food", "steel", "unassigned", "unassigned"]
    codes, names = sector_codes(e, 2)
    assert codes.tolist() == [0, 0, 1, 1, 2] and names[0] == "products 0-1"
    codes, names = sector_codes(e, ["x", "y", "x", "y", "x"])
    assert names[codes].tolist() == ["x", "y", "x", "y", "x"]
    with pytest.raises(ShapeError):
        sector_codes(e, ["x"])


def test_store_replans_stored_plans_after_a_commit(tmp_path, big):
    e, Y, _, _ = big
    plans = pd.DataFrame(Y[:, :3], index=e.labels, columns=["five-year", "austere", "green"])
    with open_store(tmp_path) as s:
        s.commit(e, author="office", reason="init")
        s.add_plans(plans, author="office")
        s.set_sectors(pd.Series([lab.split(".")[0] for lab in e.labels], index=e.labels))
        first = s.replan()
        assert first.method == "cold" and first.moved.empty
        rng = np.random.default_rng(3)
        rows, cols, vals = one_row(e, 200, rng)  # one input saved by 200 products
        changes = {(e.labels[r], e.labels[c]): v for r, c, v in zip(rows, cols, vals)}
        v2 = s.commit(changes, author="methods office", reason="revision")  # re-plans the three plans
        assert v2.replan.method == "correction" and s.last_replan is v2.replan
        s.add_plans(pd.DataFrame({"late": Y[:, 5]}, index=e.labels), author="office")  # never solved
        rep = s.replan(threshold=0.001, sectors=s.sectors())
        assert set(rep.method.split("+")) == {"cold", "verify"}
        np.testing.assert_allclose(rep.output[:, :3], v2.replan.output, rtol=1e-9, atol=1e-9 * np.abs(rep.output).max())
        e2 = s.economy()
        cold = bigplan.solve_output(e2, s.final_demand().to_numpy())
        np.testing.assert_allclose(rep.output, cold.output, rtol=1e-8, atol=1e-8 * np.abs(cold.output).max())
        assert (rep.residual <= RTOL).all() and list(rep.plans) == ["five-year", "austere", "green", "late"]
        moved = v2.replan.moved  # the commit's report, with the stored sectors
        assert not moved.empty and set(moved["plan"]) <= {"five-year", "austere", "green"}
        assert set(moved["sector"]) <= set(s.sectors())
        assert s.plans()["output_version"].tolist() == [v2] * 4
        # re-plan backwards, onto the first version, without saving
        back = s.replan(version=1, save=False)
        np.testing.assert_allclose(back.output[:, :3], first.output, rtol=1e-8,
                                   atol=1e-8 * np.abs(first.output).max())
        assert s.plans()["output_version"].tolist() == [v2] * 4
        # nothing changed since: only a check
        again = s.replan()
        assert again.method == "verify" and again.moved.empty
    with open_store(tmp_path) as s:
        np.testing.assert_array_equal(s.outputs().to_numpy(), again.output)


# ---------------------------------------------------------------------------
# stock-taking
# ---------------------------------------------------------------------------
@pytest.fixture
def small():
    rng = np.random.default_rng(4)
    A = random_productive(30, 0.15, 0.6, seed=11)
    return bigplan.Economy(
        A, labour=rng.random(30) + 0.1, labels=[f"g{i}" for i in range(30)], stocks=np.full(30, 10.0),
        capacity=np.full(30, 100.0), depreciation=np.linspace(0, 0.2, 30),
    )


def test_stock_taking_by_unit_rolls_up(tmp_path, small):
    with open_store(tmp_path) as s:
        s.commit(small, author="office", reason="init")
        table = pd.DataFrame(
            {"unit": ["north", "north", "south"], "product": ["g1", "g2", "g1"], "stock": [4.0, 1.0, 6.0],
             "capacity": [20.0, 5.0, 30.0]}
        )
        v = s.record_counts(table, author="councils", reason="annual stock-taking")
        e = s.economy(v)
        assert e.stocks[1] == 10.0 + 4.0 + 6.0 and e.stocks[2] == 11.0 and e.stocks[3] == 10.0
        assert e.capacity[1] == 150.0 and e.capacity[2] == 105.0
        inv_u = s.inventory(v)
        assert inv_u.loc[("south", "g1"), "stock"] == 6.0 and inv_u.loc[("north", "g2"), "capacity"] == 5.0
        inv_p = s.inventory(v, by="product")
        np.testing.assert_array_equal(inv_p["stock"].to_numpy(), e.stocks)
        assert set(s.units()) == {"default", "north", "south"}
        v2 = s.record_capacity({"g5": 50.0}, unit="south", author="south", reason="new plant")
        assert s.economy(v2).capacity[5] == 150.0


def test_stock_flows_conserve_and_refuse_negative_stocks(tmp_path, small):
    with open_store(tmp_path) as s:
        s.commit(small, author="office", reason="init")
        y = np.zeros(30)
        y[:10] = 1.0
        x = bigplan.solve_output(small, y).output
        final_use = y * 0.9  # a little less was taken than planned
        net = stock_change(small, x, final_use)
        np.testing.assert_allclose(net, y - final_use, atol=1e-9)
        prod = pd.Series(x, index=small.labels)
        use = pd.Series(small.A @ x + final_use, index=small.labels)
        before = s.economy().stocks.copy()
        v = s.record_flows(prod, use, period="2031-Q1", author="stock office", reason="quarter")
        after = s.economy(v).stocks
        np.testing.assert_allclose(after - before, x - small.A @ x - final_use, rtol=0, atol=1e-12)
        assert s.versions().loc[v, "kind"] == "stocktaking"
        with pytest.raises(NegativeStockError) as info:
            s.record_flows(use={"g3": 11.0}, author="x", reason="overdrawn")
        assert info.value.products == ["g3"]
        with pytest.raises(UnknownProductError):
            s.record_flows(production={"nothing": 1.0}, author="x", reason="y")
        with pytest.raises(InvalidEconomyError, match="NaN"):
            s.record_counts({"g1": float("nan")}, author="x", reason="y")
        with pytest.raises(NegativeStockError):
            s.record_capacity({"g1": -1.0}, author="x", reason="y")
        assert s.head == v
        # depreciation wears capacities down in every unit
        s.record_capacity({"g29": 10.0}, unit="east", author="east", reason="count")
        v3 = s.depreciate(2.0, author="office")
        cap = s.inventory(v3)["capacity"]
        assert cap[("east", "g29")] == pytest.approx(10.0 * 0.8**2)
        assert cap[("default", "g0")] == 100.0
        with pytest.raises(InvalidEconomyError):
            s.depreciate(-1.0, author="office")


# ---------------------------------------------------------------------------
# the consumer-demand correction loop
# ---------------------------------------------------------------------------
@pytest.fixture
def market():
    n = 60
    rng = np.random.default_rng(21)
    A = random_productive(n, 0.1, 0.7, seed=22)
    e = bigplan.Economy(A, labour=rng.random(n) + 0.2, labels=[f"m{i}" for i in range(n)])
    planned = np.zeros(n)
    planned[40:] = rng.uniform(5, 20, 20)  # the last 20 products are consumer goods
    other = np.zeros(n)
    other[:10] = 2.0
    return e, planned, other


def check_conservation(run, other):
    flows = run.output - run.intermediate_use - run.other_final_use[None, :] - run.sales
    scale = max(1.0, float(np.abs(run.output).max()))
    np.testing.assert_allclose(np.diff(run.stocks, axis=0), flows, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(run.stocks[-1] - run.stocks[0], flows.sum(axis=0), rtol=0, atol=1e-11 * scale)
    np.testing.assert_array_equal(run.sales + run.unmet, run.demand)
    assert (run.sales >= 0).all() and (run.unmet >= 0).all() and (run.stocks >= -1e-9 * scale).all()


def test_demand_above_plan_converges_and_conserves(market):
    e, planned, other = market
    actual = planned.copy()
    actual[40:50] *= 1.25  # more wanted than planned
    actual[50:] *= 0.8  # less wanted
    run = simulate_consumer_demand(e, planned, actual, other_final=other, periods=60)
    check_conservation(run, other)
    assert run.converged and run.converged_at is not None and run.converged_at < 60
    assert run.stock_gap[-1] < 1e-6 and run.price_gap[-1] < 1e-6
    values = bigplan.labour_values(e).values
    np.testing.assert_allclose(run.prices[-1], values, rtol=1e-6)
    np.testing.assert_allclose(run.stocks[-1], run.target, rtol=1e-6, atol=1e-9)
    # while stocks were off target, scarce goods cost more than their value, abundant ones less
    ratio = run.prices / run.values[None, :]
    assert (ratio[1, 40:50] > 1.01).all() and (ratio[1, 50:] < 0.99).all()
    assert run.price_gap.max() > 0.05
    # output was readjusted with everything upstream, and settles at the new demand's plan
    assert np.abs(run.output_adjustment[5, :40]).max() > 0  # intermediate goods moved too
    x_new = bigplan.solve_output(e, actual + other).output
    np.testing.assert_allclose(run.output[-1], x_new, rtol=1e-6)
    df = run.frame("prices")
    assert df.shape == (60, 60) and "ConsumerCorrection" in repr(run)


def test_stock_out_rations_then_recovers(market):
    e, planned, other = market
    actual = planned * 3.0
    run = simulate_consumer_demand(e, planned, actual, other_final=other, initial_stocks=np.zeros(e.n),
                                   target_stocks=planned * 2, periods=80)
    check_conservation(run, other)
    assert run.unmet[0].sum() > 0  # empty shelves at first
    assert run.unmet[-10:].max() < 1e-9
    assert run.converged


def test_demand_paths_and_bad_inputs(market):
    e, planned, other = market
    path = np.tile(planned, (30, 1))
    path[:10, 40:] *= 1.1  # a passing fashion
    run = simulate_consumer_demand(e, planned, path, periods=30, record=["m45", "m0"])
    check_conservation(run, np.zeros(e.n))
    assert list(run.products) == ["m45", "m0"]
    run2 = simulate_consumer_demand(e, planned, lambda t: path[t], periods=30, record=["m45", "m0"])
    np.testing.assert_allclose(run2.stocks, run.stocks)
    with pytest.raises(InvalidDemandError):
        simulate_consumer_demand(e, planned, -planned)
    with pytest.raises(InvalidDemandError):
        simulate_consumer_demand(e, planned, planned * np.nan)
    with pytest.raises(ShapeError):
        simulate_consumer_demand(e, planned, planned[:5])
    with pytest.raises(ShapeError):
        simulate_consumer_demand(e, planned, path[:3], periods=30)
    with pytest.raises(ValueError, match="adjustment"):
        simulate_consumer_demand(e, planned, planned, adjustment=0.5)
    with pytest.raises(InvalidEconomyError, match="labour"):
        simulate_consumer_demand(bigplan.Economy(e.A), planned, planned)


def test_public_names():
    for name in inv.__all__:
        assert hasattr(inv, name)
    assert bigplan.inventory.open_store is open_store


def test_plans_given_as_a_mapping(tmp_path):
    A = random_productive(50, 0.1, 0.6, seed=1)
    store = inv.open_store(tmp_path / "s")
    store.commit(bigplan.Economy(A), author="a", reason="init")
    y1, y2 = np.ones(50), np.linspace(0, 1, 50)
    assert store.add_plans({"base": y1, "tilted": y2}, author="a") == ["base", "tilted"]
    np.testing.assert_array_equal(store.final_demand()["tilted"].to_numpy(), y2)
    with pytest.raises(bigplan.ShapeError):
        store.add_plans({"short": np.ones(3)}, author="a")


# ---------------------------------------------------------------------------
# one input rule for every entry point, and the report's evidence
# ---------------------------------------------------------------------------
LABELLED = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
UNKNOWN = pd.Series({"grain": 1.0, "iron": 2.0, "salt": 3.0})  # names a product the economy lacks
MISSING = pd.Series({"grain": 1.0})  # lacks "iron"


def _store_add_plans(e, y, tmp_path):
    s = open_store(tmp_path / "s")
    s.commit(e, author="a", reason="init")
    try:
        return s.add_plans(y.rename("p"), author="a")
    finally:
        s.close()


ENTRY_POINTS = {
    "replan": lambda e, y, tmp: replan(e, y),
    "replan previous": lambda e, y, tmp: replan(e, pd.Series([1.0, 1.0], index=e.labels), y),
    "Replanner": lambda e, y, tmp: Replanner(e, y),
    "Replanner outputs": lambda e, y, tmp: Replanner(e, pd.Series([1.0, 1.0], index=e.labels), outputs=y),
    "stock_change": lambda e, y, tmp: stock_change(e, y),
    "simulate_consumer_demand": lambda e, y, tmp: simulate_consumer_demand(e, y, [1.0, 1.0], periods=2),
    "Store.add_plans": _store_add_plans,
}


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_unknown_and_missing_products_are_refused_everywhere(name, tmp_path):
    call = ENTRY_POINTS[name]
    with pytest.raises(UnknownProductError, match="salt"):
        call(LABELLED, UNKNOWN, tmp_path / "unknown")
    with pytest.raises(LabelError, match="iron") as info:
        call(LABELLED, MISSING, tmp_path / "missing")
    assert not isinstance(info.value, UnknownProductError)


def test_replan_never_drops_an_unknown_products_demand():
    plans = pd.DataFrame({"base": [1.0, 2.0, 5.0]}, index=["grain", "iron", "salt"])
    with pytest.raises(UnknownProductError, match="salt"):
        replan(LABELLED, plans)
    rep = replan(LABELLED, plans.loc[["iron", "grain"]])  # reordered labels are aligned, not taken by position
    np.testing.assert_allclose(rep.output[:, 0], bigplan.solve_output(LABELLED, np.array([1.0, 2.0])).output)


def test_replan_report_carries_evidence_and_the_correction(big):
    e, Y, X, res = big
    rng = np.random.default_rng(6)
    e2 = revise(e, one_row(e, 50, rng))
    rep = replan(e2, Y, X, old_economy=e, residual=res, method="correction")
    k = Y.shape[1]
    assert rep.correction.kind == "rows" and rep.correction.rank == 1 and rep.rank == 1
    assert rep.mode == "rows (1)"
    ev = rep.evidence
    assert ev.residual.shape == (k,) and ev.status.shape == (k,)
    assert (ev.status == bigplan.Status.CONVERGED).all() and rep.converged
    assert rep.residual is ev.residual and rep.method == ev.method == "correction"
    assert rep.matvecs == ev.matvecs > 0 and rep.iterations == ev.iterations


def test_combined_reports_keep_each_plan_in_its_place():
    e = bigplan.Economy(random_productive(30, 0.15, 0.6, seed=2))
    Y = np.abs(np.random.default_rng(1).normal(size=(30, 3))) + 0.1
    a = replan(e, Y[:, [0, 2]], plans=["x", "z"], rtol=1e-6)
    b = replan(e, Y[:, [1]], plans=["y"], rtol=1e-12)
    rep = inv.ReplanReport.combine([([0, 2], a), ([1], b)], 3)
    assert list(rep.plans) == ["x", "y", "z"]
    np.testing.assert_array_equal(rep.output, np.column_stack([a.output[:, 0], b.output[:, 0], a.output[:, 1]]))
    np.testing.assert_array_equal(rep.residual, [a.residual[0], b.residual[0], a.residual[1]])
    assert rep.status.shape == (3,) and rep.converged
