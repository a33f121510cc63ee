"""Stored proposal sets (issue 11, item 2): ``dynamic.compare`` proposals kept in the store and re-run at every
commit, each checked against a direct ``dynamic.compare`` on the same version's economy; stock-taking changes the
report; fixed inputs stay fixed; removal, gc and a reopened store; bad input typed with nothing written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan import dynamic
from bigplan.errors import (
    BackendError,
    InvalidDemandError,
    InvalidOptionError,
    InvalidPlanError,
    LabelError,
    StoreError,
    UnknownProductError,
    UnknownVersionError,
)
from bigplan.inventory import open_store

N, T = 8, 4
LABELS = [f"p{i}" for i in range(N)]
KINDS = ["skilled", "unskilled"]
SECTORS = pd.Series(["metal"] * 4 + ["food"] * 4, index=LABELS)
CONSUMPTION = pd.Series(np.linspace(1.0, 2.0, N), index=LABELS[::-1])  # aligned by label, not position
PATH = np.array([[60.0, 80.0]] * T) * np.linspace(1.0, 1.1, T)[:, None]  # a per-period labour path (T, m)
PROPOSALS = {
    "consume": {"investment_share": 0.05},
    "grow": {"investment_share": 0.15, "public_share": 0.1,
             "hours_per_worker": pd.Series({"unskilled": 45.0, "skilled": 30.0})},  # a Series by labour kind
    "path": {"growth": 0.02, "labour_supply": PATH},
}
OPTIONS = {"workers": 2.0, "horizon": T, "sectors": SECTORS}


def make_economy(capacity: float = 40.0) -> bigplan.Economy:
    rng = np.random.default_rng(3)
    A = np.where(rng.random((N, N)) < 0.4, rng.uniform(0.0, 0.1, (N, N)), 0.0)
    L = rng.uniform(0.2, 1.0, (2, N))
    B = np.where(rng.random((N, N)) < 0.5, rng.uniform(0.5, 1.5, (N, N)), 0.0)
    return bigplan.Economy(A, labour=L, labour_names=KINDS, labels=LABELS, capital=B, depreciation=np.full(N, 0.05),
                           capacity=np.full(N, capacity), stocks=np.full(N, 0.2), labour_supply=[60.0, 80.0])


def direct(store, version=None, **extra):
    """The independent computation: dynamic.compare on the store's economy of that version."""
    return dynamic.compare(store.economy(version), PROPOSALS, CONSUMPTION, **{**OPTIONS, **extra})


def assert_same_report(got, want):
    pd.testing.assert_frame_equal(got.to_frame(), want.to_frame(), rtol=1e-9)
    for table in ("products", "sectors", "consumption", "output", "labour", "work", "bottlenecks"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(want, table), rtol=1e-9, obj=table)
    assert [p.binding for p in got.proposals] == [p.binding for p in want.proposals]


def footprint(store) -> tuple:
    """What a refused write must leave as it was: meta rows, registered objects, object files."""
    con = store.con
    meta = con.execute("SELECT key, value FROM meta ORDER BY key").fetchall()
    objs = con.execute("SELECT digest FROM objects ORDER BY digest").fetchall()
    files = sorted(p.name for p in (store.path / "objects").rglob("*") if p.is_file())
    return meta, objs, files, store.head


@pytest.fixture
def store(tmp_path):
    with open_store(tmp_path / "s") as s:
        s.commit(make_economy(), author="office", reason="first table")
        yield s


def test_round_trip_and_every_commit_reruns(store):
    first = store.add_proposals("five-year", PROPOSALS, CONSUMPTION, author="council", note="draft", **OPTIONS)
    want1 = direct(store)
    assert_same_report(first, want1)
    assert_same_report(store.proposals("five-year"), want1)  # stored, then re-run from the stored inputs
    table = store.proposal_sets()
    assert list(table.index) == ["five-year"]
    row = table.loc["five-year"]
    assert (row["author"], row["note"], row["version"], row["horizon"], row["proposals"]) == (
        "council", "draft", 1, T, "consume, grow, path")
    # a stock-taking that halves capacity changes the report; the commit re-runs the set on the new version
    res = store.record_capacity(pd.Series(20.0, index=LABELS), author="census", reason="count")
    assert res.replan is None and set(res.proposals) == {"five-year"} and res.dynamic == {}
    want2 = direct(store)
    assert_same_report(res.proposals["five-year"], want2)
    before, after = want1.summary.loc["consumption_now"], want2.summary.loc["consumption_now"]
    assert (after < before - 1e-6).all()  # less capacity, less consumption now in every proposal
    # a change of coefficients too; any earlier version can still be re-run
    res = store.commit({("p1", "p2"): 0.12}, author="methods", reason="revision")
    assert_same_report(res.proposals["five-year"], direct(store))
    assert_same_report(store.proposals("five-year", version=1), want1)
    assert store.last_proposals is not None and set(store.last_proposals) == {"five-year"}
    # replan=False leaves them alone
    assert store.commit({("p1", "p2"): 0.1}, author="m", reason="r", replan=False).proposals == {}


def test_replan_reruns_them_next_to_static_plans(store):
    store.add_proposals("a", {"consume": {"investment_share": 0.05}}, horizon=3, author="council")
    store.add_plans(pd.DataFrame({"y": np.ones(N)}, index=LABELS), author="office")
    res = store.record_capacity(pd.Series(20.0, index=LABELS), author="census", reason="count")
    want = dynamic.compare(store.economy(), {"consume": {"investment_share": 0.05}}, horizon=3)
    assert res.replan is not None and set(res.proposals) == {"a"}
    assert_same_report(res.proposals["a"], want)
    store.last_proposals = {}
    rep = store.replan()
    assert rep.version == store.head and set(store.last_proposals) == {"a"}
    assert_same_report(store.last_proposals["a"], want)
    assert set(rep.proposals) == {"a"} and "proposal sets re-run: a" in rep.summary()
    store.last_proposals = {}
    store.replan(dynamic=False)
    assert store.last_proposals == {}


def test_inputs_given_explicitly_stay_fixed(store):
    cap = pd.Series(40.0, index=LABELS)
    fixed = {"capacity": cap, "stocks": np.zeros(N),
             "labour_supply": pd.Series({"unskilled": 80.0, "skilled": 60.0})}
    props = {"consume": {"investment_share": 0.05}}
    store.add_proposals("fixed", props, horizon=3, author="council", **fixed)
    res = store.record_capacity(pd.Series(20.0, index=LABELS), author="census", reason="count")
    want = dynamic.compare(store.economy(), props, horizon=3, **fixed)
    assert_same_report(res.proposals["fixed"], want)
    assert_same_report(res.proposals["fixed"], dynamic.compare(store.economy(1), props, horizon=3, **fixed))
    assert store.proposal_sets().loc["fixed", "options"].count("array") == 3


def test_a_set_the_new_version_refuses_is_reported_as_its_error(store):
    store.add_proposals("a", {"consume": {"investment_share": 0.05}}, horizon=3, author="council")
    res = store.commit({"labour_supply": {"skilled": 0.0}}, author="census", reason="strike")
    assert isinstance(res.proposals["a"], InvalidDemandError)  # no working time: compare refuses it
    with pytest.raises(InvalidDemandError):
        dynamic.compare(store.economy(), {"consume": {"investment_share": 0.05}}, horizon=3)
    with pytest.raises(InvalidDemandError):
        store.proposals("a")


def test_removal_gc_and_a_reopened_store(store):
    store.add_proposals("five-year", PROPOSALS, CONSUMPTION, author="council", **OPTIONS)
    store.add_proposals("other", {"consume": {"investment_share": 0.05}}, horizon=3,
                        capacity=pd.Series(30.0, index=LABELS), author="council")
    store.record_capacity(pd.Series(20.0, index=LABELS), author="census", reason="count")
    store.gc()
    assert store.verify() == []
    path = store.path
    with open_store(path) as s2:  # nothing in memory: the arrays are read back from disk
        assert_same_report(s2.proposals("five-year"), direct(s2))
        assert_same_report(s2.proposals("other", version=1), dynamic.compare(
            s2.economy(1), {"consume": {"investment_share": 0.05}}, horizon=3, capacity=np.full(N, 30.0)))
        s2.remove_proposals("five-year")
        assert list(s2.proposal_sets().index) == ["other"]
        assert s2.gc() > 0  # the removed set's arrays go
        assert s2.verify() == []
        assert_same_report(s2.proposals("other"), dynamic.compare(
            s2.economy(), {"consume": {"investment_share": 0.05}}, horizon=3, capacity=np.full(N, 30.0)))
        s2.remove_proposals(["other"])
        assert s2.proposal_sets().empty
        assert s2.commit({("p1", "p2"): 0.12}, author="a", reason="b").proposals == {}


def test_unknown_names_and_versions_are_typed(store):
    with pytest.raises(StoreError, match=r"add_proposals") as info:
        store.proposals("nope")
    assert "proposal_sets()" in str(info.value)
    with pytest.raises(StoreError, match="no proposal set"):
        store.remove_proposals("nope")
    store.add_proposals("a", {"consume": {"investment_share": 0.05}}, horizon=2, author="council")
    with pytest.raises(UnknownVersionError):
        store.proposals("a", version=9)
    with pytest.raises(StoreError, match="exists"):
        store.add_proposals("a", {"consume": {"investment_share": 0.05}}, horizon=2, author="council")
    store.add_proposals("a", {"x": {"investment_share": 0.1}}, horizon=2, author="council", replace=True)
    assert store.proposal_sets().loc["a", "proposals"] == "x"


BAD = [
    ({"a": {"investment_share": 0.1, "speed": 2}}, {}, InvalidPlanError, "unknown keys"),
    ({"a": {"investment_share": 0.1, "hours_per_worker": 0.0}}, {"workers": 2.0}, InvalidDemandError, "> 0"),
    ({"a": {"investment_share": 0.1, "labour_supply": -PATH}}, {"horizon": T}, InvalidDemandError, "labour_supply"),
    ({"a": {"investment_share": 0.1, "growth": 0.01}}, {}, InvalidPlanError, "exactly one"),
    ({}, {}, InvalidPlanError, "no proposals"),
    ({"a": {"investment_share": 0.1}}, {"horizon": 0}, InvalidPlanError, "horizon"),
    ({"a": {"investment_share": 0.1}}, {"capacity": np.r_[np.nan, np.ones(N - 1)]}, InvalidDemandError, "NaN"),
    ({"a": {"investment_share": 0.1}}, {"stocks": np.r_[-1.0, np.ones(N - 1)]}, InvalidDemandError, "stocks"),
    ({"a": {"investment_share": 0.1}}, {"labour_supply": pd.Series({"skilled": 1.0, "robots": 2.0})}, LabelError,
     "robots"),
    ({"a": {"investment_share": 0.1}}, {"method": "bogus"}, InvalidPlanError, "method"),
    ({"a": {"investment_share": 0.1}}, {"backend": object()}, BackendError, "backend"),
    ({"a": {"investment_share": 0.1}}, {"speed": 2}, InvalidOptionError, "valid options"),
    ({"a": {"investment_share": 0.1}}, {"solver": object()}, InvalidOptionError, "solver"),
]


@pytest.mark.parametrize("proposals, options, error, match", BAD)
def test_bad_input_is_typed_and_nothing_is_written(store, proposals, options, error, match):
    store.add_proposals("kept", {"consume": {"investment_share": 0.05}}, horizon=2, author="council")
    before = footprint(store)
    with pytest.raises(error, match=match):
        store.add_proposals("bad", proposals, author="council", **options)
    assert footprint(store) == before and list(store.proposal_sets().index) == ["kept"]


def test_bad_names_consumption_and_unstorable_options(store):
    before = footprint(store)
    one = {"a": {"investment_share": 0.1}}
    for call, error in (
        (lambda: store.add_proposals("", one, author="c"), LabelError),
        (lambda: store.add_proposals(3, one, author="c"), LabelError),
        (lambda: store.add_proposals("x", one, pd.Series(1.0, index=[*LABELS, "gold"]), author="c"),
         UnknownProductError),
        (lambda: store.add_proposals("x", one, author="c", replace="yes"), InvalidOptionError),
        (lambda: store.add_proposals("x", one, author="c", growth_bounds=dynamic.max_growth_rate(store.economy())),
         InvalidOptionError),
    ):
        with pytest.raises(error):
            call()
    assert footprint(store) == before and store.proposal_sets().empty
    with open_store(store.path.parent / "empty") as empty, pytest.raises(StoreError):
        empty.add_proposals("x", one, author="c")
