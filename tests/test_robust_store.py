"""Issue 14 for the store, re-planning and the consumer loop: regressions and a property suite.

Every call either raises a :class:`bigplan.BigplanError` or leaves a store that reopens and
whose economy equals a dense reference kept by the test; re-plans meet their tolerance.
"""

from __future__ import annotations

import os
import sqlite3
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import event, given
from hypothesis import strategies as st

import bigplan
from bigplan.errors import (
    BigplanError,
    CorruptStoreError,
    EmptyChangeError,
    InvalidOptionError,
    LabelError,
    ReadOnlyStoreError,
    StoreError,
    UnknownProductError,
    UnstorableLabelError,
)
from bigplan.inventory import open_store, replan, simulate_consumer_demand, stock_change

A2 = np.array([[0.1, 0.3], [0.2, 0.1]])


def dense(M) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M, dtype=np.float64)


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "s")
    s.commit(bigplan.Economy(A2, labour=[1.0, 2.0], labels=["a", "b"]), author="t", reason="first")
    yield s
    s.close()


# --------------------------------------------------------------------------- consumer loop (item 1, 9)


def test_actual_demand_frame_is_aligned_by_label():
    e = bigplan.Economy(A2, labour=[1.0, 2.0], labels=["bread", "iron"])
    frame = pd.DataFrame({"iron": [0.0] * 5, "bread": [12.0] * 5})  # columns in the other order
    by_frame = simulate_consumer_demand(e, planned=[10.0, 0.0], actual=frame, periods=5)
    by_array = simulate_consumer_demand(e, planned=[10.0, 0.0], actual=np.tile([12.0, 0.0], (5, 1)), periods=5)
    np.testing.assert_array_equal(by_frame.demand, by_array.demand)


def test_actual_demand_frame_orientation_and_labels_are_checked():
    e = bigplan.Economy(A2, labour=[1.0, 2.0], labels=["bread", "iron"])
    with pytest.raises(bigplan.ShapeError, match="periods as rows"):
        simulate_consumer_demand(e, [10.0, 0.0], pd.DataFrame({"bread": [1.0] * 3, "iron": [0.0] * 3}), periods=5)
    with pytest.raises(UnknownProductError):
        simulate_consumer_demand(e, [10.0, 0.0], pd.DataFrame({"bread": [1.0] * 2, "steel": [0.0] * 2}), periods=2)
    with pytest.raises(LabelError, match="lacks"):
        simulate_consumer_demand(e, [10.0, 0.0], pd.DataFrame({"bread": [1.0] * 2}), periods=2)


def test_misspelt_planned_label_is_refused():
    e = bigplan.Economy(A2, labour=[1.0, 2.0], labels=["bread", "iron"])
    with pytest.raises(UnknownProductError):
        simulate_consumer_demand(e, planned={"bread": 10.0, "irn": 0.0}, actual=[12.0, 0.0], periods=3)


def test_stock_change_output_series_is_aligned():
    e = bigplan.Economy(A2, labels=["a", "b"])
    x = np.array([3.0, 5.0])
    got = stock_change(e, pd.Series({"b": 5.0, "a": 3.0}))
    np.testing.assert_allclose(got, x - A2 @ x)
    with pytest.raises(UnknownProductError):
        stock_change(e, pd.Series({"b": 5.0, "c": 3.0}))


@pytest.mark.parametrize("periods", [2.7, 2.0, "3", 0, -1])
def test_fractional_periods_are_refused(periods):
    e = bigplan.Economy(A2, labour=[1.0, 2.0])
    with pytest.raises(InvalidOptionError):
        simulate_consumer_demand(e, [10.0, 0.0], [12.0, 0.0], periods=periods)


@pytest.mark.parametrize("kw", [{"adjustment": float("nan")}, {"min_price": 0.0}, {"tol": -1.0}])
def test_consumer_options_are_typed(kw):
    e = bigplan.Economy(A2, labour=[1.0, 2.0])
    with pytest.raises(InvalidOptionError):
        simulate_consumer_demand(e, [10.0, 0.0], [12.0, 0.0], periods=3, **kw)


# --------------------------------------------------------------------------- rtol (item 4)


@pytest.mark.parametrize("rtol", [2.0, 1.0, float("inf"), float("nan"), 0.0, -1e-3])
def test_replan_refuses_rtol_outside_0_1(store, rtol):
    e = store.economy()
    with pytest.raises(InvalidOptionError, match="rtol"):
        replan(e, np.array([1.0, 2.0]), rtol=rtol)
    store.add_plans(pd.DataFrame({"p": [1.0, 2.0]}, index=["a", "b"]), author="t")
    with pytest.raises(InvalidOptionError, match="rtol"):
        store.replan(rtol=rtol)


# --------------------------------------------------------------------------- labels (item 6)


@pytest.mark.parametrize("labels", [["a\x00", "b"], np.array([2**63 + 5, 1], dtype=np.uint64), [("a", 1), ("b", 2)]])
def test_labels_that_do_not_round_trip_are_refused(tmp_path, labels):
    try:
        e = bigplan.Economy(A2, labels=labels)
    except BigplanError:
        return  # refused even earlier
    with open_store(tmp_path / "s") as s:
        with pytest.raises(UnstorableLabelError) as info:
            s.commit(e, author="t", reason="r")
        assert isinstance(info.value, StoreError) and isinstance(info.value, LabelError)
        assert s.head == 0
    with open_store(tmp_path / "s") as s:  # still opens, still usable
        assert s.head == 0
        s.commit(bigplan.Economy(A2, labels=["x", "y"]), author="t", reason="r")
        assert s.economy().labels.tolist() == ["x", "y"]


# --------------------------------------------------------------------------- replacing (item 7)


def test_replacement_that_drops_records_says_so_and_diff_lists_every_kind(tmp_path):
    e = bigplan.Economy(A2, labour=[1.0, 2.0], capital=np.eye(2) * 0.5, stocks=[1.0, 2.0], capacity=[3.0, 4.0],
                        depreciation=[0.1, 0.1], labels=["a", "b"])
    with open_store(tmp_path / "s") as s:
        s.commit(e, author="t", reason="r")
        s.record_counts({"a": 5.0}, unit="depot", author="t", reason="r")
        with pytest.warns(UserWarning, match="drops the store's capital, labour, depreciation"):
            v = s.commit(bigplan.Economy(A2 * 1.1, labels=["a", "b"]), author="t", reason="replace")
        kinds = set(s.diff(v - 1, v)["kind"])
        assert kinds == {"A", "capital", "labour", "depreciation", "stocks", "capacity"}
        d = s.diff(v - 1, v)
        assert d[(d.kind == "stocks") & (d.col == "depot")]["old"].tolist() == [5.0]
        assert s.economy().labour is None
        s.rollback(v - 1, author="t")
        np.testing.assert_array_equal(s.economy().labour, [[1.0, 2.0]])


def test_replacement_keeping_everything_is_quiet(store):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = store.commit(bigplan.Economy(A2 * 0.9, labour=[1.0, 3.0], labels=["a", "b"]), author="t", reason="r")
    assert set(store.diff(v - 1, v)["kind"]) == {"A", "labour"}


# --------------------------------------------------------------------------- options (item 9, 13)


@pytest.mark.parametrize("version", [1.7, 1.0, None, "1"])
def test_rollback_needs_a_whole_version(store, version):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    with pytest.raises(InvalidOptionError):
        store.rollback(version, author="t")
    assert store.head == 2


def test_fractional_versions_are_refused_everywhere(store):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    for call in (lambda: store.economy(1.7), lambda: store.diff(1.7, 2), lambda: store.changes(2.0),
                 lambda: store.inventory(1.5), lambda: store.replan(version=1.7)):
        with pytest.raises(InvalidOptionError, match="whole number"):
            call()


@pytest.mark.parametrize("changes", [{}, None, [], pd.Series(dtype=float), {"A": {}}, {"A": None}])
def test_empty_change_sets_are_refused(store, changes):
    with pytest.raises(EmptyChangeError):
        store.commit(changes, author="t", reason="r")
    assert store.head == 1 and len(store.versions()) == 1


# --------------------------------------------------------------------------- read-only (item 11)


def test_read_only_store_reads_and_refuses_writes(store, monkeypatch):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    path = store.path
    store.close()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))
    with open_store(path) as ro:
        assert ro.head == 2 and float(ro.economy().A[0, 1]) == 0.35 and len(ro.diff(1, 2)) == 1
        for write in (lambda: ro.commit({("a", "b"): 0.4}, author="t", reason="r"),
                      lambda: ro.rollback(1, author="t"), ro.gc):
            with pytest.raises(ReadOnlyStoreError, match="read-only"):
                write()
    monkeypatch.undo()
    with open_store(path) as s:
        assert s.head == 2


def test_read_only_folder_cannot_hold_a_new_store(tmp_path, monkeypatch):
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if mode & os.W_OK else real(p, mode, **kw))
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        open_store(tmp_path / "new")


# --------------------------------------------------------------------------- typed errors (item 12)


def test_duplicate_plan_names_are_a_label_error(store):
    store.add_plans(pd.DataFrame({"p": [1.0, 2.0], "q": [2.0, 1.0]}, index=["a", "b"]), author="t")
    with pytest.raises(LabelError, match="more than once"):
        store.replan(plans=["p", "p"])
    with pytest.raises(LabelError):
        store.add_plans(np.ones((2, 2)), names=["x", "x"], author="t")
    frame = pd.DataFrame([[1.0, 2.0], [2.0, 1.0]], index=["a", "b"], columns=["r", "r"])
    with pytest.raises(LabelError):
        store.add_plans(frame, author="t")
    with pytest.raises(LabelError):
        store.add_plans(pd.DataFrame({"s": [1.0, 2.0, 3.0]}, index=["a", "b", "a"]), author="t")
    with pytest.raises(LabelError):
        replan(store.economy(), pd.DataFrame({"s": [1.0, 2.0, 3.0]}, index=["a", "b", "a"]))


def test_damaged_ledger_row_is_a_corrupt_store_error(store):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    path = store.path
    store.close()
    con = sqlite3.connect(path / "ledger.sqlite")
    con.execute("UPDATE versions SET certificate='{not json' WHERE version=2")
    con.execute("UPDATE snapshots SET manifest='[[' WHERE version=1")
    con.commit()
    con.close()
    with open_store(path) as s:
        with pytest.raises(CorruptStoreError, match="damaged"):
            s.versions()
        with pytest.raises(CorruptStoreError, match="damaged"):
            s.economy(1)


def test_replan_options_are_typed(store):
    e = store.economy()
    for kw in ({"threshold": -1.0}, {"method": "fast"}, {"method": "correction"}):
        with pytest.raises(InvalidOptionError):
            replan(e, np.array([1.0, 2.0]), np.array([1.0, 2.0]), **kw)
    with pytest.raises(InvalidOptionError):
        replan("not an economy", np.array([1.0, 2.0]))
    with pytest.raises(InvalidOptionError):
        store.inventory(by="depot")


# --------------------------------------------------------------------------- the property suite


LABELS = st.one_of(
    st.none(),
    st.lists(st.text(min_size=1, max_size=4), min_size=4, max_size=4, unique=True),
    st.lists(st.integers(-(2**64), 2**64), min_size=4, max_size=4, unique=True),
    st.lists(st.tuples(st.text(max_size=2), st.integers(0, 3)), min_size=4, max_size=4, unique=True),
)
GOOD = st.floats(0.0, 0.2)
VALUES = st.one_of(GOOD, GOOD, GOOD, GOOD, GOOD, GOOD, st.sampled_from([-0.1, float("nan"), float("inf"), 5.0]))
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("commit"), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), VALUES), max_size=3)),
        st.tuples(st.just("commit"), st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), GOOD), min_size=1,
                                              max_size=3)),
        st.tuples(st.just("rollback"), st.one_of(st.integers(-3, 6), st.integers(1, 3), st.floats(0, 4), st.none())),
        st.tuples(st.just("diff"), st.tuples(st.integers(-2, 5), st.integers(1, 5))),
        st.tuples(st.just("replan"), st.one_of(st.sampled_from([1e-12, 1e-8, 1e-4, 0.5, 1.0, 2.0, 0.0]))),
    ),
    min_size=2,
    max_size=7,
)


def _residual_ok(A: np.ndarray, Y: np.ndarray, X: np.ndarray, rtol: float) -> bool:
    Al, Yl, Xl = (np.asarray(M, dtype=np.longdouble) for M in (A, Y, X))
    R = Yl - (Xl - Al @ Xl)
    return bool(np.all(np.linalg.norm(R, axis=0) <= 4 * rtol * np.linalg.norm(Yl, axis=0) + 1e-300))


@given(n=st.integers(2, 4), seed=st.integers(0, 2**16), labels=LABELS, ops=OPS)
def test_store_property(tmp_path_factory, n, seed, labels, ops):
    rng = np.random.default_rng(seed)
    A = rng.uniform(0, 0.2, (n, n)) * (rng.random((n, n)) < 0.7)
    labs = None if labels is None else labels[:n]
    path = tmp_path_factory.mktemp("prop") / "s"
    try:
        e = bigplan.Economy(A, labels=labs)
    except BigplanError as exc:
        event(f"Economy refused: {type(exc).__name__}")
        return
    ref: dict[int, np.ndarray] = {}
    s = open_store(path)
    try:
        s.commit(e, author="t", reason="r")
        ref[1] = A.copy()
    except BigplanError:
        pass
    s.close()
    s = open_store(path)
    try:
        assert s.head == len(ref)
        if not ref:
            return
        names = list(s.economy().labels) if labs is not None else list(range(n))
        planned = False
        for op, arg in ops:
            head = s.head
            try:
                if op == "commit":
                    ch = {(names[i % n], names[j % n]): v for i, j, v in arg}
                    v = s.commit(ch, author="t", reason="r")
                    new = ref[head].copy()
                    for (a, b), val in ch.items():
                        new[names.index(a), names.index(b)] = val
                    ref[v] = new
                elif op == "rollback":
                    v = s.rollback(arg, author="t")
                    ref[v] = ref[(arg if arg > 0 else head + 1 + arg)].copy()
                elif op == "diff":
                    a, b = arg
                    d = s.diff(a, b)
                    va, vb = (a if a > 0 else head + 1 + a), b
                    changed = np.count_nonzero(ref[va] != ref[vb])
                    assert len(d) == changed
                else:
                    if not planned:
                        Y = pd.DataFrame(rng.uniform(0, 10, (n, 2)), index=s.economy().labels, columns=["p", "q"])
                        if labs is None:
                            Y = Y.to_numpy()
                        s.add_plans(Y, names=None if labs is not None else ["p", "q"], author="t")
                        planned = True
                    rep = s.replan(rtol=arg)
                    Yv = s.final_demand().to_numpy()
                    assert _residual_ok(ref[s.head], Yv, np.asarray(rep.output, np.float64), arg)
                    rep2 = replan(s.economy(), Yv, rtol=arg)
                    assert _residual_ok(ref[s.head], Yv, np.asarray(rep2.output, np.float64), arg)
                event(f"{op} done")
            except BigplanError as exc:
                event(f"{op} refused: {type(exc).__name__}")
                assert s.head == head  # a refusal writes nothing
        assert s.head == max(ref)
    finally:
        s.close()
    with open_store(path) as s2:
        for v, M in ref.items():
            np.testing.assert_allclose(dense(s2.economy(v).A), M, rtol=0, atol=1e-15)


def test_malformed_arguments_are_typed(store, tmp_path):
    e = store.economy()
    calls = [
        lambda: store.commit(5, author="t", reason="r"),
        lambda: store.commit({"A": 5}, author="t", reason="r"),
        lambda: store.commit({"labour": [1.0, 2.0]}, author="t", reason="r"),
        lambda: store.depreciate("x", author="t"),
        lambda: open_store(tmp_path / "x", timeout="x"),
        lambda: open_store(tmp_path / "y", snapshot_every=2.5),
        lambda: replan(e, [1.0, 2.0], [1.0, 2.0], delta="x"),
    ]
    for call in calls:
        with pytest.raises(InvalidOptionError):
            call()
    assert store.head == 1
