"""Regression tests for the robustness campaign's store, re-plan, frontier and activity findings.

Each test names the probe of ``benchmarks/probe_campaign.py`` (items 10-16b of the campaign's
requests) and the store format bump that makes block-stored outputs refuse cleanly in an older bigplan.
"""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan.activity import Technology
from bigplan.dynamic import frontier
from bigplan.errors import (
    CorruptStoreError,
    EmptyChangeError,
    InfeasiblePlanError,
    InvalidOptionError,
    InvalidPlanError,
    LabelError,
    ShapeError,
    StoreVersionError,
)
from bigplan.inventory import Replanner, open_store, replan
from bigplan.store import FORMAT_VERSION

A2 = np.array([[0.1, 0.3], [0.2, 0.1]])
A3 = np.array([[0.1, 0.2, 0.0], [0.1, 0.1, 0.3], [0.0, 0.2, 0.1]])
L3 = ["a", "b", "c"]
Y2 = pd.DataFrame({"p": [10.0, 5.0], "q": [4.0, 8.0]}, index=["a", "b"])


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "s")
    s.commit(bigplan.Economy(A2, labour=[1.0, 2.0], labels=["a", "b"]), author="t", reason="first")
    yield s
    s.close()


def _meta(path, key="format_version"):
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    try:
        return con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0]
    finally:
        con.close()


# ---------------------------------------------------------------- 10: open_store's path


@pytest.mark.parametrize("path", [None, 3, 2.5, b"x", ["s"], ""])
def test_open_store_refuses_a_path_that_is_no_path(path):
    with pytest.raises(InvalidOptionError, match="path must be a folder path"):
        open_store(path)


# ---------------------------------------------------------------- 11: rollback to the head


@pytest.mark.parametrize("version", [2, -1])
def test_rollback_to_the_head_writes_nothing(store, version):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    n = len(store.versions())
    with pytest.raises(EmptyChangeError, match="version 2 is the head already"):
        store.rollback(version, author="t")
    assert store.head == 2 and len(store.versions()) == n


def test_rollback_to_an_equal_state_writes_nothing(store):
    store.commit({("a", "b"): 0.35}, author="t", reason="r")
    store.commit({("a", "b"): 0.3}, author="t", reason="back")  # version 3 equals version 1
    with pytest.raises(EmptyChangeError, match="changes nothing"):
        store.rollback(1, author="t")
    assert store.head == 3
    v = store.rollback(2, author="t")  # a real roll-back still works
    assert store.economy(v).A[0, 1] == 0.35


# ---------------------------------------------------------------- 12: replan(method=...)


@pytest.mark.parametrize("method", ["x", "", None, 3])
def test_store_replan_checks_method_up_front(store, method):
    store.add_plans(Y2, author="t")
    store.replan()
    before = store.outputs().to_numpy().copy()
    with pytest.raises(InvalidOptionError, match="method"):
        store.replan(method=method)
    np.testing.assert_array_equal(store.outputs().to_numpy(), before)


def test_store_replan_accepts_every_replan_method_name(store):
    from bigplan._replan import REPLAN_METHODS

    store.add_plans(Y2, author="t")
    rep = store.replan(method="cold")
    X = np.linalg.solve(np.eye(2) - A2, Y2.to_numpy())
    np.testing.assert_allclose(rep.output, X, rtol=1e-9)
    assert set(REPLAN_METHODS) == {"auto", "correction", "warm", "cold", "verify", "unchanged"}


# ---------------------------------------------------------------- 12b: duplicated labels


@pytest.mark.parametrize("record", ["record_counts", "record_capacity"])
def test_a_series_with_duplicated_products_is_refused(store, record):
    with pytest.raises(LabelError, match=r"\['a'\]"):
        getattr(store, record)(pd.Series([1.0, 2.0, 3.0], index=["a", "a", "b"]), author="t", reason="r")
    assert store.head == 1


def test_a_stocktaking_frame_with_repeated_pairs_is_refused(store):
    df = pd.DataFrame({"unit": ["u", "u", "v"], "product": ["a", "a", "a"], "stock": [1.0, 2.0, 3.0]})
    with pytest.raises(LabelError, match="u/a"):
        store.record_counts(df, author="t", reason="r")
    assert store.head == 1
    ok = store.record_counts(df.iloc[1:], author="t", reason="r")  # one count per (unit, product): kept
    inv = store.inventory(ok, by="product")
    assert inv.loc["a", "stock"] == 5.0


# ---------------------------------------------------------------- 13, 14, 15: _replan options


E2 = bigplan.Economy(A2, labels=["a", "b"])


@pytest.mark.parametrize("dtype", ["x", int, np.int64, np.complex128, np.float16, None])
def test_replan_refuses_inner_dtype_at_entry(dtype):
    with pytest.raises(InvalidOptionError, match="inner_dtype"):
        replan(E2, [1.0, 2.0], inner_dtype=dtype)  # a cold solve: the correction path never runs


@pytest.mark.parametrize("dtype", ["auto", np.float32, "float64"])
def test_replan_accepts_float_inner_dtypes(dtype):
    Y = np.array([[1.0, 3.0], [2.0, 1.0]])
    X = np.linalg.solve(np.eye(2) - A2, Y)
    e2 = E2.with_changes({("b", "a"): 0.25})
    rep = replan(e2, Y, X, old_economy=E2, method="correction", inner_dtype=dtype, rtol=1e-10)
    A = A2.copy()
    A[1, 0] = 0.25
    np.testing.assert_allclose(rep.output, np.linalg.solve(np.eye(2) - A, Y), rtol=1e-8)


@pytest.mark.parametrize("version", [2.7, "2", 0, -1, True])
def test_replan_checks_version(version):
    with pytest.raises(InvalidOptionError, match="version"):
        replan(E2, [1.0, 2.0], version=version)


def test_replan_keeps_a_whole_version():
    assert replan(E2, [1.0, 2.0], version=np.int64(4)).version == 4


def test_replanner_refuses_unknown_options_at_construction():
    with pytest.raises(InvalidOptionError, match=r"\['bogus'\].*accepted: .*threshold"):
        Replanner(E2, [1.0, 2.0], bogus=1)
    rp = Replanner(E2, [1.0, 2.0], rtol=1e-12)
    with pytest.raises(InvalidOptionError, match="bogus"):
        rp.update(E2.with_changes({("a", "b"): 0.35}), bogus=2)
    rep = rp.update(E2.with_changes({("a", "b"): 0.35}), threshold=0.5)
    A = A2.copy()
    A[0, 1] = 0.35
    np.testing.assert_allclose(rep.output[:, 0], np.linalg.solve(np.eye(2) - A, [1.0, 2.0]), rtol=1e-10)


# ---------------------------------------------------------------- 16: frontier(growth_rates=...)


EK = bigplan.Economy(np.array([[0.2, 0.3], [0.1, 0.4]]), labour=[1.0, 1.0],
                     capital=np.array([[0.0, 0.0], [1.0, 1.0]]), labour_supply=100.0)


@pytest.mark.parametrize("rates", [[-2.0], [-1.0], [-0.5], [0.1, -2.0]])
def test_frontier_refuses_negative_rates_before_skipping_any(rates):
    with pytest.raises(InvalidPlanError, match="growth_rates must be finite rates >= 0"):
        frontier(EK, [1.0, 1.0], growth_rates=rates)


def test_frontier_refuses_when_every_rate_is_skipped():
    with pytest.raises(InfeasiblePlanError, match=r"\[0\.4\].*g\* is 0\.409"):
        frontier(EK, [1.0, 1.0], growth_rates=[0.4], public_share=0.9)
    df = frontier(EK, [1.0, 1.0], growth_rates=[0.0, 0.4], public_share=0.9)  # one rate left: a row for it
    assert df["growth_rate"].tolist() == [0.0]


# ---------------------------------------------------------------- 16b: ragged Technology inputs


@pytest.mark.parametrize("kw", [{"inputs": [[0.1, 0.2], [0.3]]}, {"labour": [[1.0, 2.0], [3.0]]},
                                {"makes": [[0], [1, 1]]}])
def test_technology_refuses_ragged_inputs_typed(kw):
    args = {"inputs": np.zeros((2, 2)), "makes": [0, 1], "labour": [1.0, 1.0]}
    args.update(kw)
    name = next(iter(kw))
    with pytest.raises(ShapeError, match=f"{name} is ragged"):
        Technology(args.pop("inputs"), args.pop("makes"), **args)


# ---------------------------------------------------------------- the store format


def test_new_stores_are_written_in_the_current_format(tmp_path):
    with open_store(tmp_path / "s"):
        pass
    assert FORMAT_VERSION == 3
    assert _meta(tmp_path / "s") == "3"
    assert json.loads((tmp_path / "s" / "bigplan-store.json").read_text())["format_version"] == 3


def _as_format_1(path):
    """Rewrite a store's plan outputs as format 1 did: one object per plan, and mark it format 1."""
    from bigplan._store.ledger import Ledger
    from bigplan._store.objects import read_npy, write_npy

    led = Ledger(path, 5.0)
    try:
        con = led.con
        rows = con.execute("SELECT name, output FROM plans").fetchall()
        digests = {r[1].partition(":")[0] for r in rows}
        infos = led.objects(con, list(digests))
        con.execute("BEGIN IMMEDIATE")
        for name, ref in rows:
            d, _, j = ref.partition(":")
            col = np.ascontiguousarray(read_npy(path, infos[d], "block")[:, int(j)])
            info = write_npy(path, col)
            Ledger.register(con, info)
            con.execute("UPDATE plans SET output=? WHERE name=?", (info.digest, name))
        con.execute("UPDATE meta SET value='1' WHERE key='format_version'")
        con.execute("COMMIT")
    finally:
        led.close()


def test_a_format_1_store_still_opens_and_is_marked_2_by_its_first_block(tmp_path):
    path = tmp_path / "s"
    with open_store(path) as s:
        s.commit(bigplan.Economy(A2, labels=["a", "b"]), author="t", reason="first")
        s.add_plans(Y2, author="t")
        s.replan()
    _as_format_1(path)
    assert _meta(path) == "1"
    X = np.linalg.solve(np.eye(2) - A2, Y2.to_numpy())
    with open_store(path) as s:
        assert s._ledger.format == 1
        np.testing.assert_allclose(s.outputs().to_numpy(), X, rtol=1e-9)  # per-plan objects read
        assert _meta(path) == "1"  # opening (and reading) leaves the format alone
        s.commit({("a", "b"): 0.35}, author="t", reason="r")  # its re-plan writes one block
        A = A2.copy()
        A[0, 1] = 0.35
        np.testing.assert_allclose(s.outputs().to_numpy(), np.linalg.solve(np.eye(2) - A, Y2.to_numpy()),
                                   rtol=1e-9)
    assert _meta(path) == "2"
    with open_store(path) as s:
        assert s._ledger.format == 2


@pytest.mark.parametrize("claimed", [4, 99])
def test_a_store_from_a_newer_format_is_refused_naming_the_versions(tmp_path, claimed):
    path = tmp_path / "s"
    with open_store(path) as s:
        s.commit(bigplan.Economy(A2), author="t", reason="first")
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    con.execute("UPDATE meta SET value=? WHERE key='format_version'", (str(claimed),))
    con.commit()
    con.close()
    with pytest.raises(StoreVersionError, match=rf"format version {claimed}; this bigplan reads formats 1 to 3"):
        open_store(path)
    assert _meta(path) == str(claimed)  # not modified


@pytest.mark.parametrize("claimed", ["0", "x"])
def test_a_store_claiming_no_real_format_is_corrupt(tmp_path, claimed):
    path = tmp_path / "s"
    with open_store(path):
        pass
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    con.execute("UPDATE meta SET value=? WHERE key='format_version'", (claimed,))
    con.commit()
    con.close()
    with pytest.raises(CorruptStoreError, match="format version"):
        open_store(path)
