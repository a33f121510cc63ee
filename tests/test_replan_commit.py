"""Every commit re-plans (issue 11, item 2): the report's outputs, labour, values and capacity
against dense NumPy recomputations; stock-taking commits; stored dynamic plans; export; bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan import dynamic
from bigplan.errors import (
    InvalidOptionError,
    StoreError,
    UnknownProductError,
    UnknownVersionError,
)
from bigplan.inventory import open_store

N = 40
LABELS = [f"{'metal' if i < 10 else 'food' if i < 25 else 'cloth'}.{i:02d}" for i in range(N)]
SECTOR = pd.Series([lab.split(".")[0] for lab in LABELS], index=LABELS)
KINDS = ["skilled", "unskilled"]
UNITS = ("hours", "person-days")
THR = 0.001


def make_economy(capacity=None) -> bigplan.Economy:
    rng = np.random.default_rng(11)
    A = np.where(rng.random((N, N)) < 0.3, rng.uniform(0.0, 0.08, (N, N)), 0.0)
    L = rng.uniform(0.2, 1.0, (2, N))
    B = np.where(rng.random((N, N)) < 0.2, rng.uniform(0.0, 0.2, (N, N)), 0.0)
    return bigplan.Economy(A, labour=L, labour_names=KINDS, labels=LABELS, capital=B,
                           depreciation=np.full(N, 0.05), capacity=capacity, labour_units=UNITS)


def plans_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(rng.uniform(1.0, 10.0, (N, 3)), index=LABELS, columns=["five-year", "austere", "green"])


def dense_output(e: bigplan.Economy, Y: np.ndarray) -> np.ndarray:
    return np.linalg.solve(np.eye(e.n) - e.A.toarray(), Y)


def dense_values(e: bigplan.Economy) -> np.ndarray:
    return np.linalg.solve((np.eye(e.n) - e.A.toarray()).T, np.atleast_2d(e.labour).T).T  # (m, n)


def moved_pairs(old: np.ndarray, new: np.ndarray, thr: float) -> set:
    r, c = np.nonzero(np.abs(new - old) > thr * np.abs(old))
    return {(LABELS[i], j) for i, j in zip(r, c)}


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "s") as s:
        s.commit(make_economy(), author="office", reason="first table")
        s.add_plans(plans_frame(), author="office")
        s.set_sectors(SECTOR)
        s.replan()
        yield s


def test_commit_replans_by_default_and_reports_what_a_dense_check_predicts(store):
    e1 = store.economy()
    Y = plans_frame().to_numpy()
    X1 = dense_output(e1, Y)
    # one input (metal.03) saved by ten of its users
    users = [LABELS[j] for j in range(12, 22)]
    res = store.commit({("metal.03", u): 0.5 * float(e1.A[3, LABELS.index(u)]) + 0.01 for u in users},
                       author="methods office", reason="new furnace")
    assert int(res) == store.head == 2 and res.version == 2
    rep = res.replan
    assert rep is not None and store.last_replan is rep and rep.version == 2
    e2 = store.economy()
    X2 = dense_output(e2, Y)
    np.testing.assert_allclose(rep.output, X2, rtol=1e-9)
    assert store.plans()["output_version"].tolist() == [2, 2, 2]
    # outputs that moved, by product and plan, and the sectors
    got = {(p, list(rep.plans).index(pl)) for p, pl in zip(rep.moved["product"], rep.moved["plan"])}
    assert got == moved_pairs(X1, X2, 0.01)  # the default threshold
    assert set(rep.moved["sector"]) == {SECTOR[p] for p, _ in got}
    # labour needed before and after, by kind and plan
    lab = rep.labour.set_index(["kind", "plan"])
    before, after = np.atleast_2d(e1.labour) @ X1, np.atleast_2d(e2.labour) @ X2
    for i, kind in enumerate(KINDS):
        np.testing.assert_allclose(lab.loc[kind].loc[list(rep.plans), "before"], before[i], rtol=1e-9)
        np.testing.assert_allclose(lab.loc[kind].loc[list(rep.plans), "after"], after[i], rtol=1e-9)
    # labour values that moved
    V1, V2 = dense_values(e1), dense_values(e2)
    want = {(KINDS[i], LABELS[j]) for i, j in zip(*np.nonzero(np.abs(V2 - V1) > 0.01 * np.abs(V1)))}
    assert want and set(zip(rep.values["kind"], rep.values["product"])) == want
    for kind, prod, new in zip(rep.values["kind"], rep.values["product"], rep.values["new"]):
        assert new == pytest.approx(V2[KINDS.index(kind), LABELS.index(prod)], rel=1e-8)
    assert rep.changed and "labour skilled" in rep.summary() and "hours" in rep.summary()
    assert dict(zip(rep.labour["kind"], rep.labour["unit"])) == dict(zip(KINDS, UNITS))
    assert dict(zip(rep.values["kind"], rep.values["unit"])) == {k: u for k, u in zip(KINDS, UNITS)
                                                                  if k in set(rep.values["kind"])}


def test_replan_false_leaves_the_plans_on_their_version(store):
    res = store.commit({("metal.03", "food.12"): 0.07}, author="a", reason="b", replan=False)
    assert res.replan is None and res == 2
    assert store.plans()["output_version"].tolist() == [1, 1, 1]
    rep = store.replan()  # catches up, warm-started
    np.testing.assert_allclose(rep.output, dense_output(store.economy(), plans_frame().to_numpy()), rtol=1e-9)
    with pytest.raises(InvalidOptionError):
        store.commit({("metal.03", "food.12"): 0.08}, author="a", reason="b", replan="yes")
    assert store.head == 2  # refused before anything was written


def test_automation_halving_labour_in_one_sector_gives_the_dense_labour_and_value_changes(store):
    e1 = store.economy()
    Y = plans_frame().to_numpy()
    X = dense_output(e1, Y)
    metal = [p for p in LABELS if SECTOR[p] == "metal"]
    L1 = np.atleast_2d(e1.labour)
    halved = {(k, p): 0.5 * float(L1[i, LABELS.index(p)]) for i, k in enumerate(KINDS) for p in metal}
    res = store.commit({"labour": halved}, author="metal works", reason="automation halves labour in metals")
    rep = res.replan
    e2 = store.economy()
    L2 = np.atleast_2d(e2.labour)
    assert rep.method == "unchanged" and rep.moved.empty  # A did not change: outputs stand
    np.testing.assert_array_equal(rep.output, store.outputs().to_numpy())
    lab = rep.labour.set_index(["kind", "plan"])
    for i, kind in enumerate(KINDS):
        np.testing.assert_allclose(lab.loc[kind].loc[list(rep.plans), "before"], L1[i] @ X, rtol=1e-9)
        np.testing.assert_allclose(lab.loc[kind].loc[list(rep.plans), "after"], L2[i] @ X, rtol=1e-9)
        assert (lab.loc[kind, "change"] < 0).all()
    V1, V2 = dense_values(e1), dense_values(e2)
    want = {(KINDS[i], LABELS[j]) for i, j in zip(*np.nonzero(np.abs(V2 - V1) > 0.01 * np.abs(V1)))}
    assert want >= {(k, p) for k in KINDS for p in metal}
    assert set(zip(rep.values["kind"], rep.values["product"])) == want
    np.testing.assert_allclose(rep.values["change"],
                               [V2[KINDS.index(k), LABELS.index(p)] - V1[KINDS.index(k), LABELS.index(p)]
                                for k, p in zip(rep.values["kind"], rep.values["product"])], rtol=1e-8)
    assert rep.changed


def test_capacity_below_the_plan_is_flagged_and_stock_taking_commits_check_it(store):
    X = store.outputs().to_numpy()
    top = X.max(axis=1)
    cap = pd.Series(top * np.where(np.arange(N) % 7 == 0, 0.5, 2.0), index=LABELS)  # every 7th product short
    res = store.record_capacity(cap, author="census", reason="capacity count")
    rep = res.replan
    short = sorted(LABELS[i] for i in range(0, N, 7))
    assert sorted(rep.capacity["product"]) == short
    row = rep.capacity.set_index("product").loc["metal.00"]
    assert row["output"] == pytest.approx(top[0]) and row["shortfall"] == pytest.approx(top[0] - cap.iloc[0])
    assert row["plans"] == int((X[0] > cap.iloc[0]).sum()) and row["worst_plan"] == store.plans().index[X[0].argmax()]
    assert rep.method == "unchanged" and rep.moved.empty and rep.values.empty
    # a stock count is a commit too: the plans are checked against the recorded capacity again
    res2 = store.record_counts({"food.12": 3.0}, author="depot", reason="count")
    assert sorted(res2.replan.capacity["product"]) == short
    # enough capacity: nothing flagged
    res3 = store.record_capacity(pd.Series(top * 3, index=LABELS), author="census", reason="new plant")
    assert res3.replan.capacity.empty


def test_failed_commit_writes_nothing_and_does_not_replan(store):
    before = store.plans()["output_version"].tolist()
    last = store.last_replan
    with pytest.raises(UnknownProductError):
        store.commit({("metal.03", "no-such-product"): 0.1}, author="a", reason="b")
    assert store.head == 1 and store.plans()["output_version"].tolist() == before and store.last_replan is last


def test_unknown_versions_are_typed_errors(store, tmp_path):
    for call in (lambda: store.replan(version=7), lambda: store.economy(7), lambda: store.export(tmp_path / "x.npz", 7),
                 lambda: store.replan(version=0), lambda: store.dynamic_plan("x", version=9),
                 lambda: store.diff(1, 5), lambda: store.rollback(4, author="a")):
        with pytest.raises(UnknownVersionError, match="no version"):
            call()
    assert not (tmp_path / "x.npz").exists() and store.head == 1
    assert issubclass(UnknownVersionError, LookupError)


def test_dynamic_plan_stored_and_replanned_after_a_commit(tmp_path):
    with open_store(tmp_path / "s") as s:
        s.commit(make_economy(capacity=np.full(N, 60.0)), author="office", reason="first table")
        c0 = pd.Series(np.linspace(1.0, 3.0, N), index=LABELS)
        first = s.add_dynamic_plan("five-year", c0, horizon=3, growth=0.02, author="office")
        want1 = dynamic.plan(s.economy(), c0, horizon=3, growth=0.02)
        np.testing.assert_allclose(first.output, want1.output, rtol=1e-9)
        assert list(s.dynamic_plans().index) == ["five-year"] and s.dynamic_plans()["horizon"].tolist() == [3]
        with pytest.raises(StoreError, match="exists"):
            s.add_dynamic_plan("five-year", c0, horizon=3, author="office")
        res = s.commit({("metal.03", "food.12"): 0.2}, author="methods", reason="revision")
        assert res.replan is None and set(res.dynamic) == {"five-year"}  # no static plans: only the dynamic one
        want2 = dynamic.plan(s.economy(), c0, horizon=3, growth=0.02)
        np.testing.assert_allclose(res.dynamic["five-year"].output, want2.output, rtol=1e-9)
        assert not np.allclose(want1.output, want2.output)
        # a capacity count changes it too (the plan starts from the recorded capacity)
        res = s.record_capacity(pd.Series(30.0, index=LABELS), author="census", reason="count")
        want3 = dynamic.plan(s.economy(), c0, horizon=3, growth=0.02)
        np.testing.assert_allclose(res.dynamic["five-year"].output, want3.output, rtol=1e-9)
        # with static plans too, the re-plan report carries it; any version can be re-run
        s.add_plans(plans_frame(), author="office")
        rep = s.replan()
        np.testing.assert_allclose(rep.dynamic["five-year"].output, want3.output, rtol=1e-9)
        np.testing.assert_allclose(s.dynamic_plan("five-year", version=1).output, want1.output, rtol=1e-9)
        with pytest.raises(StoreError):
            s.dynamic_plan("nope")
        with pytest.raises(InvalidOptionError):
            s.add_dynamic_plan("bad", c0, horizon=3, author="o", solver=object())
        assert list(s.dynamic_plans().index) == ["five-year"]  # nothing written for the refused one
        s.remove_dynamic_plans(["five-year"])
        assert s.dynamic_plans().empty
        s.gc()
        assert s.verify() == []


def test_outputs_survive_a_new_process_and_gc(store, tmp_path):
    res = store.commit({("metal.03", "food.12"): 0.07}, author="a", reason="b")
    path = store.path
    store.gc()
    assert store.verify() == []
    with open_store(path) as s2:  # a fresh store object: nothing in memory
        assert s2.economy().labour_units == UNITS and s2.economy(1).labour_units == UNITS  # kept by the store
        np.testing.assert_array_equal(s2.outputs().to_numpy(), res.replan.output)
        again = s2.replan()
        assert again.method == "verify" and again.values.empty


def test_export_writes_the_version_through_economy_save(store, tmp_path):
    if not hasattr(bigplan.Economy, "save"):
        pytest.skip("Economy.save (the one-file format of bigplan.io) is not available yet")
    store.commit({("metal.03", "food.12"): 0.07}, author="a", reason="b")
    out = store.export(tmp_path / "v1.npz", version=1)
    back = bigplan.io.load(out)
    np.testing.assert_array_equal(back.A.toarray(), store.economy(1).A.toarray())
    assert list(back.labels) == LABELS


def test_rollback_replans_back_to_the_old_outputs(store):
    first = store.outputs().to_numpy()
    store.commit({("metal.03", "food.12"): 0.07}, author="a", reason="b")
    res = store.rollback(1, author="a")
    assert res == 3 and res.replan.version == 3
    np.testing.assert_allclose(res.replan.output, first, rtol=1e-9)
    assert store.plans()["output_version"].tolist() == [3, 3, 3]
