"""Re-planning certified by its bound, capacity in the re-plan's own pass, and low-rank stored outputs
(issue 11, item 3): every claim checked against dense NumPy."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan.errors import CorruptStoreError, InvalidOptionError, UnknownProductError
from bigplan.inventory import Replanner, open_store, replan
from bigplan.store import FORMAT_VERSION
from bigplan.synthetic import final_demand, technical_matrix

N_SMALL = 300
N_STORE = 2200  # above the size re-plans solve densely: the store takes the correction path


def small_economy(seed: int = 0, n: int = N_SMALL) -> bigplan.Economy:
    return bigplan.Economy(technical_matrix(n, seed=seed), np.linspace(0.5, 1.5, n))


def dense(e: bigplan.Economy) -> np.ndarray:
    return np.eye(e.n) - e.A.toarray()


def true_residual(e: bigplan.Economy, Y: np.ndarray, X: np.ndarray) -> np.ndarray:
    return np.linalg.norm(Y - dense(e) @ X, axis=0) / np.linalg.norm(Y, axis=0)


def row_revision(e: bigplan.Economy, row: int, users: int, factor: float, seed: int = 0) -> dict:
    """One input's coefficient changed in ``users`` of the products that use it."""
    A = e.A.tocsc()
    cols = np.flatnonzero(np.asarray(A[row, :].todense()).ravel())
    rng = np.random.default_rng(seed)
    cols = rng.choice(cols, min(users, cols.size), replace=False)
    return {(row, int(c)): float(A[row, c] * factor) for c in cols}


@pytest.fixture
def base():
    e = small_economy()
    Y = final_demand(e.n, 6, seed=1)
    sol = bigplan.solve_output(e, Y, rtol=1e-10)
    return e, Y, np.asarray(sol.output), np.asarray(sol.residual)


# ------------------------------------------------------------------ the bound


@pytest.mark.parametrize("kind", ["row", "columns"])
def test_certified_residuals_bound_the_true_ones(base, kind):
    e, Y, X, res = base
    if kind == "row":
        ch = row_revision(e, 7, 40, 0.9)
    else:  # two products change method: whole columns
        ch = {(int(i), c): 0.01 for c in (3, 11) for i in range(0, e.n, 37)}
    e2 = e.with_changes(ch)
    rep = replan(e2, Y, X, old_economy=e, residual=res, method="correction")
    assert rep.correction.kind == ("rows" if kind == "row" else "columns")
    assert any("certified" in n for n in rep.notes)
    true = true_residual(e2, Y, rep.output)
    assert np.all(true <= rep.residual * (1 + 1e-6) + 1e-16)  # the bound holds
    assert np.all(rep.residual <= 1e-10) and rep.converged
    np.testing.assert_allclose(rep.output, np.linalg.solve(dense(e2), Y), rtol=1e-8, atol=1e-12)


def test_measure_true_measures_every_plan(base):
    e, Y, X, res = base
    e2 = e.with_changes(row_revision(e, 7, 40, 0.9))
    cert = replan(e2, Y, X, old_economy=e, residual=res, method="correction")
    meas = replan(e2, Y, X, old_economy=e, residual=res, method="correction", measure=True)
    assert not any("certified" in n for n in meas.notes)
    np.testing.assert_allclose(meas.residual, true_residual(e2, Y, meas.output), rtol=1e-3, atol=1e-15)
    np.testing.assert_allclose(meas.output, cert.output, rtol=1e-9)
    with pytest.raises(InvalidOptionError, match="measure"):
        replan(e2, Y, X, old_economy=e, residual=res, measure="yes")


def test_without_recorded_residuals_every_plan_is_measured(base):
    e, Y, X, _ = base
    e2 = e.with_changes(row_revision(e, 7, 40, 0.9))
    rep = replan(e2, Y, X, old_economy=e, method="correction")
    assert not any("certified" in n for n in rep.notes)
    np.testing.assert_allclose(rep.residual, true_residual(e2, Y, rep.output), rtol=1e-3, atol=1e-15)


def test_a_chain_of_certified_revisions_keeps_its_bounds(base):
    e, Y, X, _ = base
    rp = Replanner(e, Y, rtol=1e-10, method="correction")
    for i in range(14):
        e2 = rp.economy.with_changes(row_revision(rp.economy, 7 + i, 30, 0.95, seed=i))
        rep = rp.update(e2)
        true = true_residual(e2, Y, rep.output)
        assert np.all(true <= rep.residual * (1 + 1e-6) + 1e-15)
        assert np.all(rep.residual <= 1e-10)
    np.testing.assert_allclose(rep.output, np.linalg.solve(dense(rp.economy), Y), rtol=1e-8)


def test_plans_whose_bound_would_pass_rtol_are_measured(base):
    e, Y, X, res = base
    e2 = e.with_changes(row_revision(e, 7, 40, 0.9))
    old = res.copy()
    old[:3] = 1e-10  # recorded at the tolerance: no room left for the bound
    rep = replan(e2, Y, X, old_economy=e, residual=old, method="correction")
    assert any("3 plans measured" in n for n in rep.notes)
    np.testing.assert_allclose(rep.residual[:3], true_residual(e2, Y, rep.output)[:3], rtol=1e-3, atol=1e-15)
    assert np.all(rep.residual[3:] >= true_residual(e2, Y, rep.output)[3:] - 1e-15)
    assert not rep.factors[2][:3].any() and rep.factors[2][3:].all()


def test_factors_give_the_outputs_exactly(base):
    e, Y, X, res = base
    e2 = e.with_changes(row_revision(e, 7, 40, 0.9))
    rep = replan(e2, Y, X, old_economy=e, residual=res, method="correction")
    W, C, exact = rep.factors
    assert W.shape == (e.n, 1) and C.shape == (1, Y.shape[1]) and exact.all()
    np.testing.assert_array_equal(rep.output, (W @ C) + X)


# ------------------------------------------------------------------ capacity in the pass


def brute_short(X, cap, rtol):
    lim = cap + rtol * np.abs(cap)
    rows = np.flatnonzero((X > lim[:, None]).any(axis=1))
    return {int(r): (int(np.argmax(X[r])), int((X[r] > lim[r]).sum())) for r in rows}


@pytest.mark.parametrize("how", ["array", "series", "mapping"])
def test_capacity_short_found_in_the_pass(base, how):
    e, Y, X, res = base
    e2 = e.with_changes(row_revision(e, 7, 40, 0.9))
    labels = [f"p{i}" for i in range(e.n)]
    e2 = bigplan.Economy(e2.A, e2.labour, labels=labels)
    Xd = np.linalg.solve(dense(e2), Y)
    cap = np.quantile(Xd, 0.6, axis=1)
    if how == "array":
        given, expect = cap, cap
    else:
        some = np.arange(0, e.n, 3)
        expect = np.full(e.n, np.inf)
        expect[some] = cap[some]
        given = pd.Series(cap[some], index=[labels[i] for i in some])
        if how == "mapping":
            given = dict(given.items())
    rep = replan(e2, Y, X, residual=res, delta=_delta(e, e2), method="correction", capacity=given)
    got = rep.capacity
    want = brute_short(rep.output, np.where(np.isfinite(expect), expect, np.inf), 1e-10)
    assert {labels.index(p) for p in got["product"]} == set(want)
    for _, r in got.iterrows():
        i = labels.index(r["product"])
        assert r["plans"] == want[i][1] and r["worst_plan"] == want[i][0]
        assert r["output"] == pytest.approx(rep.output[i].max()) and r["shortfall"] == pytest.approx(
            rep.output[i].max() - expect[i])
    assert list(got["shortfall"]) == sorted(got["shortfall"], reverse=True)


def _delta(e, e2):
    D = (e2.A - e.A).tocoo()
    return D.row, D.col, D.data


def test_bad_capacity_is_refused_before_any_solve(base):
    e, Y, X, res = base
    with pytest.raises(InvalidOptionError, match="capacity"):
        replan(e, Y, X, residual=res, capacity=np.full(e.n, np.nan))
    with pytest.raises(InvalidOptionError, match="capacity"):
        replan(e, Y, X, residual=res, capacity=-np.ones(e.n))
    with pytest.raises(InvalidOptionError, match="capacity"):
        replan(e, Y, X, residual=res, capacity=pd.Series([np.nan], index=[0]))
    with pytest.raises(UnknownProductError):
        replan(e, Y, X, residual=res, capacity=pd.Series([1.0], index=[e.n + 5]))
    for bad in ("x", {0: "x"}, [[1.0, 2.0], [3.0]]):  # found by the probe campaign: numbers or a typed error
        with pytest.raises(InvalidOptionError, match="capacity"):
            replan(e, Y, X, residual=res, capacity=bad)


# ------------------------------------------------------------------ the store: low-rank outputs


@pytest.fixture
def big_store(tmp_path):
    e = bigplan.Economy(technical_matrix(N_STORE, seed=3), np.ones(N_STORE))
    Y = final_demand(N_STORE, 5, seed=4)
    with open_store(tmp_path / "s") as s:
        s.commit(e, author="t", reason="first")
        s.add_plans(Y, names=[f"plan{j}" for j in range(5)], author="t")
        s.replan()
        yield s, Y, tmp_path / "s"


def _refs(path):
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    try:
        return [r[0] for r in con.execute("SELECT output FROM plans ORDER BY seq")]
    finally:
        con.close()


def test_store_keeps_corrections_as_low_rank_updates_and_reads_them_back_exactly(big_store):
    s, Y, path = big_store
    for i in range(3):
        res = s.commit(row_revision(s.economy(), 20 + i, 60, 0.9, seed=i), author="t", reason=f"r{i}")
        assert res.replan.method == "correction"
    refs = _refs(path)
    assert all(r.startswith("@") for r in refs)
    mem = s.outputs().to_numpy().copy()
    e = s.economy()
    with open_store(path) as fresh:
        disk = fresh.outputs().to_numpy()
        assert fresh._ledger.format == 3
    np.testing.assert_array_equal(disk, mem)  # the same bits the re-plan certified
    Xd = np.linalg.solve(dense(e), Y)
    np.testing.assert_allclose(disk, Xd, rtol=1e-8)
    stored = s.plans()["residual"].to_numpy()
    assert np.all(true_residual(e, Y, disk) <= stored * (1 + 1e-6) + 1e-16)


def test_store_chain_of_updates_is_bounded_and_gc_keeps_what_it_reaches(big_store):
    from bigplan._store.updates import MAX_DEPTH

    s, Y, path = big_store
    kinds = []
    for i in range(MAX_DEPTH + 2):
        s.commit(row_revision(s.economy(), 30 + i, 40, 0.95, seed=i), author="t", reason=f"r{i}")
        kinds.append(_refs(path)[0][0] == "@")
    assert kinds[:MAX_DEPTH] == [True] * MAX_DEPTH and kinds[MAX_DEPTH] is False  # a whole block again
    mem = s.outputs().to_numpy().copy()
    assert s.gc() > 0
    assert s.verify() == []
    with open_store(path) as fresh:
        np.testing.assert_array_equal(fresh.outputs().to_numpy(), mem)
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    live = con.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'update:%'").fetchone()[0]
    con.close()
    assert live == 1  # only the record the plans now reach survives gc


def test_a_missing_update_record_is_a_corrupt_store(big_store):
    s, Y, path = big_store
    s.commit(row_revision(s.economy(), 20, 60, 0.9), author="t", reason="r")
    s.close()
    con = sqlite3.connect(str(path / "ledger.sqlite"))
    con.execute("DELETE FROM meta WHERE key LIKE 'update:%'")
    con.commit()
    con.close()
    with open_store(path) as fresh, pytest.raises(CorruptStoreError, match="update record"):
        fresh.outputs()


def test_the_store_values_run_beside_the_solve_and_match_dense(big_store):
    s, Y, path = big_store
    res = s.commit(row_revision(s.economy(), 20, 60, 0.5), author="t", reason="r")
    e = s.economy()
    v = np.linalg.solve(dense(e).T, np.ones(e.n))
    vals = res.replan.values
    assert len(vals) > 0
    np.testing.assert_allclose(vals["new"].to_numpy(), v[vals["product"].to_numpy().astype(int)], rtol=1e-8)


def test_format_is_three():
    assert FORMAT_VERSION == 3


def test_values_are_not_re_solved_when_the_bound_shows_none_can_move(big_store):
    s, Y, path = big_store
    first = s.commit(row_revision(s.economy(), 20, 60, 0.5), author="t", reason="big")  # values solved here
    base_eco = s.economy()
    v_base = np.linalg.solve(dense(base_eco).T, np.ones(base_eco.n))
    small = s.commit(row_revision(s.economy(), 21, 5, 0.999), author="t", reason="tiny")
    rep = small.replan
    assert any("labour values not re-solved" in n for n in rep.notes)
    assert rep.values is not None and rep.values.empty
    e = s.economy()
    v = np.linalg.solve(dense(e).T, np.ones(e.n))
    assert np.max(np.abs(v - v_base) / v_base) < 0.01  # the bound's claim, checked densely
    big = s.commit(row_revision(s.economy(), 22, 80, 0.3), author="t", reason="big again")
    assert not any("labour values not re-solved" in n for n in big.replan.notes)
    e = s.economy()
    v_new = np.linalg.solve(dense(e).T, np.ones(e.n))
    moved = np.flatnonzero(np.abs(v_new - v_base) > 0.01 * np.abs(v_base))  # against the last values solved
    assert set(big.replan.values["product"].astype(int)) == set(moved)
    assert first.replan.values is not None


def test_values_bound_is_a_bound():
    from bigplan._store.impact import values_bound

    rng = np.random.default_rng(3)
    for _ in range(20):
        n = 30
        A = np.where(rng.random((n, n)) < 0.2, rng.uniform(0, 0.1, (n, n)), 0.0)
        lab = rng.uniform(0.5, 2.0, n)
        v = np.linalg.solve((np.eye(n) - A).T, lab)
        rows = rng.integers(0, n, 8)
        cols = rng.integers(0, n, 8)
        new = A[rows, cols] * rng.uniform(0.5, 1.5, 8)
        A2 = A.copy()
        A2[rows, cols] = new
        if max(abs(np.linalg.eigvals(A2))) >= 1:
            continue
        v2 = np.linalg.solve((np.eye(n) - A2).T, lab)
        b = values_bound(v, lab, (rows, cols, A[rows, cols], new))
        assert np.max(np.abs(v2 - v) / v) <= b * (1 + 1e-9) + 1e-15
