"""Property suite for the dynamic model (issue 14): random economies with capital, options in and out of range,
magnitudes.  Every call either raises a ``BigplanError`` or returns an answer that checks out, recomputed here."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

import bigplan
from bigplan.dynamic import balanced_plan, compare, frontier, max_growth_rate, plan
from bigplan.errors import BigplanError, ConvergenceError, InvalidPlanError, LabelError


def opt(valid, invalid):
    """An option: mostly one of ``valid``, sometimes one of ``invalid`` (about one draw in eight)."""
    return st.sampled_from(list(valid) * max(1, 7 * len(invalid) // len(valid)) + list(invalid))


# options drawn from in-range and out-of-range values alike
RTOLS = opt([1e-10, 1e-8, 1e-6, 0.5], [1.0, 2.0, 0.0, -1e-8, float("nan"), float("inf")])
HORIZONS = opt([1, 2, 3, 4], [0, -1, 2.7, 3.0, "3", None])
MAGNITUDES = st.sampled_from([1.0, 1e-3, 1e6, 1e-200, 1e160, 1e300])


@st.composite
def economies(draw):
    """A productive economy (column sums of A below 1) with capital, depreciation and labour."""
    n = draw(st.integers(2, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < 0.6)
    A *= draw(st.floats(0.1, 0.8)) / max(A.sum(axis=0).max(), 1e-12)
    B = np.zeros((n, n))
    k = draw(st.integers(1, n))  # the first k products are equipment
    B[:k] = rng.random((k, n)) * draw(st.floats(0.2, 3.0))
    delta = draw(st.sampled_from([0.0, 0.05, 0.1]))
    labour = rng.random(n) + 0.1
    return bigplan.Economy(A, labour=labour, capital=B, depreciation=delta)


def _check_plan(e, p, rtol):
    """The balance recomputed in float64 with per-period scaling, and non-negativity of a feasible plan."""
    X, N, C = p.output, p.investment, p.consumption
    big = np.maximum(np.abs(X).max(axis=1), np.abs(C).max(axis=1))[:, None]
    big = np.where(big > 0, big, 1.0)
    A = e.A.toarray() if hasattr(e.A, "toarray") else np.asarray(e.A)
    R = (X / big) - (X / big) @ A.T - N / big - C / big
    assert np.isfinite(R).all()
    assert np.abs(R).max() <= max(1e3 * rtol, 1e-9)
    assert np.all(np.isfinite(p.residual())) and p.residual().max() <= max(1e3 * rtol, 1e-9)
    if p.feasible:
        assert (X >= -1e-9 * big).all()
        assert (p.new_capacity >= 0).all() and (N >= -1e-9 * big).all()


@settings(max_examples=40)
@given(e=economies(), method=st.sampled_from(["capacity", "exact"]), horizon=HORIZONS, rtol=RTOLS,
       magnitude=MAGNITUDES, growth=opt([0.0, 0.01, 0.05, -0.5], [-2.0, float("nan")]),
       shortfall_tol=opt([None, 1e-8, 0.0], [-1.0, 1.0, float("nan")]),
       capacity=st.sampled_from([None, 0.5, 3.0, 50.0]))
def test_plan_answers_or_refuses(e, method, horizon, rtol, magnitude, growth, shortfall_tol, capacity):
    c = magnitude * (np.arange(e.n) % 3 + 1.0)
    cap = None if capacity is None else capacity * magnitude * np.ones(e.n)
    try:
        p = plan(e, c, horizon=horizon, method=method, rtol=rtol, growth=growth, shortfall_tol=shortfall_tol,
                 capacity=cap)
    except BigplanError as exc:
        event(f"refused: {type(exc).__name__}: {str(exc)[:50]}")
        return
    event("answered")
    assert 0 < rtol < 1 and isinstance(horizon, int) and horizon >= 1 and math.isfinite(growth) and growth > -1
    assert p.output.shape == (horizon, e.n)
    _check_plan(e, p, rtol)


@settings(max_examples=40)
@given(e=economies(), rtol=opt([1e-6, 1e-4], [0.0, 1.0, float("nan")]),
       g_max=opt([1e6, 10.0], [-1.0, 0.0, float("nan"), float("inf")]),
       shift=opt([1.0, 0.5], [0.0, -1.0, float("nan")]), maxiter=opt([2000], [0, 2.5]))
def test_max_growth_rate_answers_or_refuses(e, rtol, g_max, shift, maxiter):
    try:
        r = max_growth_rate(e, rtol=rtol, g_max=g_max, shift=shift, maxiter=maxiter)
    except BigplanError as exc:
        event(f"refused: {type(exc).__name__}: {str(exc)[:50]}")
        return
    event("answered")
    assert 0 < rtol < 1 and 0 < g_max < math.inf and 0 < shift < math.inf and maxiter == 2000
    if not r.converged or not math.isfinite(r.rate):
        return
    assert r.lower <= r.rate <= r.upper
    # g* is where rho(A + B diag(delta + g)) = 1; check it against a dense eigenvalue solve
    A, B = e.A.toarray(), e.capital.toarray()
    delta = np.broadcast_to(np.asarray(e.depreciation if e.depreciation is not None else 0.0, dtype=float), (e.n,))

    def rho(g):
        return max(abs(np.linalg.eigvals(A + B * (delta + g)[None, :])))

    assert rho(r.lower * (1 - 1e-9)) <= 1 + 1e-8
    assert rho(r.upper * (1 + 1e-9) + 1e-12) >= 1 - 1e-8


@settings(max_examples=30)
@given(e=economies(), share=opt([0.0, 0.05, 0.2], [1.0, -0.1, float("nan")]),
       public=opt([0.0, 0.1], [1.0, -0.2, float("nan")]), rtol=opt([1e-10], [1.0, 0.0]),
       workers=opt([None, 100.0], [0.0, -5.0, float("inf")]))
def test_balanced_plan_answers_or_refuses(e, share, public, rtol, workers):
    try:
        p = balanced_plan(e, np.ones(e.n), investment_share=share, public_share=public, rtol=rtol,
                          workers=workers)
    except BigplanError as exc:
        event(f"refused: {type(exc).__name__}: {str(exc)[:50]}")
        return
    event("answered")
    assert 0 <= share < 1 and 0 <= public < 1 and 0 < rtol < 1
    assert workers is None or 0 < workers < math.inf
    assert p.growth_rate >= -1e-12 and (p.output >= -1e-9 * p.output.max()).all()
    # a balanced path: x = A x + B (g + delta) x + f, with f = x - A x - B (g + delta) x >= 0
    A, B = e.A.toarray(), e.capital.toarray()
    delta = np.broadcast_to(np.asarray(e.depreciation if e.depreciation is not None else 0.0, dtype=float), (e.n,))
    f = p.output - A @ p.output - B @ ((p.growth_rate + delta) * p.output)
    assert (f >= -1e-7 * max(p.output.max(), 1e-300)).all()


@settings(max_examples=20)
@given(e=economies(), rates=st.lists(opt([0.0, 0.01, 0.02], [-0.1, float("nan"), float("inf")]),
                                     min_size=0, max_size=3),
       points=opt([2, 5], [1, 2.5]))
def test_frontier_answers_or_refuses(e, rates, points):
    try:
        df = frontier(e, np.ones(e.n), growth_rates=rates or None, points=points, horizon=3)
    except BigplanError as exc:
        if rates and not all(math.isfinite(g) for g in rates):
            assert "growth_rates" in str(exc) or "growth" in str(exc)
        return
    if rates:
        assert all(math.isfinite(g) for g in rates)
    else:
        assert points in (2, 5)
    assert np.isfinite(df["consumption_now"].to_numpy()).all()
    assert (df["consumption_now"].to_numpy() >= 0).all()


@pytest.mark.parametrize("magnitude", [1e160, 1e-200, 1e300])
def test_plan_magnitudes_with_capacity_and_labour_limits(magnitude):
    """Scaling targets, capacity and labour supply together gives the same plan, scaled (exactly)."""
    A = np.array([[0.2, 0.3], [0.1, 0.4]])
    B = np.array([[0.0, 0.0], [1.0, 1.0]])
    e = bigplan.Economy(A, labour=[1.0, 1.0], capital=B, depreciation=0.05)
    unit = plan(e, [1.0, 1.0], horizon=3, growth=0.05, capacity=[2.0, 2.0], labour_supply=5.0)
    big = plan(e, [magnitude] * 2, horizon=3, growth=0.05, capacity=[2 * magnitude] * 2,
               labour_supply=5.0 * magnitude)
    assert big.feasible == unit.feasible
    np.testing.assert_allclose(big.output / magnitude, unit.output, rtol=1e-8)
    np.testing.assert_allclose(big.investment / magnitude, unit.investment, rtol=1e-8, atol=1e-12)


# -- issue 14: labelled input aligned or refused, magnitudes, options, LP time limit ------------------------------
def _labelled_economy():
    A = np.array([[0.2, 0.3], [0.1, 0.4]])
    B = np.array([[0.0, 0.0], [1.0, 1.0]])
    return bigplan.Economy(A, labour=[1.0, 1.0], capital=B, depreciation=0.05, labels=["food", "tools"],
                           labour_supply=100.0)


def test_dynamic_series_are_aligned_by_label_not_position():
    e = _labelled_economy()
    cap = pd.Series({"tools": 5.0, "food": 3.0})
    p = plan(e, [1.0, 1.0], horizon=2, capacity=cap)
    np.testing.assert_array_equal(p.capacity[0], [3.0, 5.0])
    g = plan(e, [1.0, 1.0], horizon=3, growth=pd.Series({"tools": 0.02, "food": 0.0}))
    np.testing.assert_allclose(g.consumption[2], [1.0, 1.02 ** 2])
    a = balanced_plan(e, [1.0, 1.0], investment_share=0.1, prices=pd.Series({"tools": 2.0, "food": 1.0}))
    b = balanced_plan(e, [1.0, 1.0], investment_share=0.1, prices=[1.0, 2.0])
    assert a.growth_rate == pytest.approx(b.growth_rate, rel=1e-12)


@pytest.mark.parametrize("call", [
    lambda e: plan(e, [1.0, 1.0], horizon=2, capacity=pd.Series({"food": 1.0})),
    lambda e: plan(e, [1.0, 1.0], horizon=2, growth=pd.Series({"food": 0.01})),
    lambda e: balanced_plan(e, [1.0, 1.0], investment_share=0.1, prices=pd.Series({"food": 1.0})),
    lambda e: compare(e, {"a": {"investment_share": 0.1}}, [1.0, 1.0], sectors=pd.Series({"food": "agri"})),
])
def test_dynamic_series_missing_a_product_is_refused(call):
    with pytest.raises(LabelError, match="tools"):
        call(_labelled_economy())


@pytest.mark.parametrize("method", ["capacity", "exact", "lp"])
@pytest.mark.parametrize("magnitude", [1e160, 1e-200])
def test_plan_at_extreme_magnitudes_is_the_scaled_plan(method, magnitude):
    e = _labelled_economy()
    e = bigplan.Economy(e.A, labour=[1.0, 1.0], capital=e.capital, depreciation=0.05)
    unit = plan(e, [1.0, 1.0], horizon=3, method=method)
    big = plan(e, [magnitude] * 2, horizon=3, method=method)
    assert big.feasible and (big.output > 0).all()
    np.testing.assert_allclose(big.output / magnitude, unit.output, rtol=1e-8)
    assert big.residual().max() < 1e-9


@pytest.mark.parametrize("call, name", [
    (lambda e: max_growth_rate(e, g_max=-1), "g_max"),
    (lambda e: max_growth_rate(e, shift=float("nan")), "shift"),
    (lambda e: max_growth_rate(e, rtol=2), "rtol"),
    (lambda e: max_growth_rate(e, maxiter=2.5), "maxiter"),
    (lambda e: plan(e, [1.0, 1.0], horizon=2, shortfall_tol=-1), "shortfall_tol"),
    (lambda e: plan(e, [1.0, 1.0], horizon=2, rtol=1), "rtol"),
    (lambda e: plan(e, [1.0, 1.0], horizon=2, expectation_rtol=float("inf")), "expectation_rtol"),
    (lambda e: plan(e, [1.0, 1.0], horizon=2, method="lp", time_limit=0), "time_limit"),
    (lambda e: plan(e, [1.0, 1.0], horizon=2, growth="fast"), "growth"),
    (lambda e: balanced_plan(e, [1.0, 1.0], investment_share=0.1, rtol=1), "rtol"),
    (lambda e: balanced_plan(e, [1.0, 1.0], investment_share=0.1, workers=-1), "workers"),
    (lambda e: balanced_plan(e, [1.0, 1.0], investment_share=0.1, public_share=float("nan")), "public_share"),
    (lambda e: frontier(e, [1.0, 1.0], growth_rates=[float("nan")]), "growth_rates"),
    (lambda e: frontier(e, [1.0, 1.0], investment_shares=["a"]), "investment_shares"),
    (lambda e: frontier(e, [1.0, 1.0], points=2.5), "points"),
    (lambda e: frontier(e, [1.0, 1.0], rtol=1.5), "rtol"),
    (lambda e: compare(e, {"a": {"investment_share": 0.1}}, [1.0, 1.0], rtol=2), "rtol"),
])
def test_dynamic_options_are_checked(call, name):
    from bigplan.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match=name) as info:
        call(_labelled_economy())
    assert isinstance(info.value, InvalidPlanError)  # what the dynamic model raised before: still caught


def test_horizon_must_be_whole():
    with pytest.raises(InvalidPlanError, match="horizon"):
        plan(_labelled_economy(), [1.0, 1.0], horizon=2.7)


def test_lp_time_limit_reached_is_an_error_not_a_plan():
    with pytest.raises(ConvergenceError, match="[Tt]ime limit"):
        plan(_labelled_economy(), [1.0, 1.0], horizon=3, method="lp", time_limit=1e-9)


def test_raw_errors_are_typed():
    from bigplan.errors import BigplanError

    with pytest.raises(BigplanError, match="Economy"):
        max_growth_rate("not an economy")
    p = plan(_labelled_economy(), [1.0, 1.0], horizon=2)
    with pytest.raises(BigplanError, match="attribute"):
        p.to_frame("nonsense")


def test_lp_solve_is_interruptible(monkeypatch):
    """Ctrl-C during a running HiGHS solve cancels it: KeyboardInterrupt, and no solver thread left running."""
    import os
    import signal
    import threading

    from bigplan._dynamic import lp as lp_module

    pytest.importorskip("highspy")
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover - signals need the main thread
        pytest.skip("SIGINT reaches the main thread only")
    made, fired = [], []
    new_highs = lp_module._new_highs

    def highs_that_gets_ctrl_c():
        h = new_highs()
        made.append(h)

        def ctrl_c(*_):  # HiGHS calls this from its solver thread at every simplex / IPM iteration
            if not fired:
                fired.append(True)
                os.kill(os.getpid(), signal.SIGINT)

        h.cbSimplexInterrupt.subscribe(ctrl_c)
        h.cbIpmInterrupt.subscribe(ctrl_c)
        return h

    monkeypatch.setattr(lp_module, "_new_highs", highs_that_gets_ctrl_c)
    e = _labelled_economy()
    with pytest.raises(KeyboardInterrupt):
        plan(e, [1.0, 1.0], horizon=3, method="lp", capacity=[5.0, 5.0], time_limit=600.0)
    assert fired and made
    # cancelled and joined, not continuing in the background
    assert not [t for t in threading.enumerate() if "highs" in t.name.lower() and t.is_alive()]
    # the same problem without the interrupt is solved, and the interrupt left no state behind
    monkeypatch.setattr(lp_module, "_new_highs", new_highs)
    ok = plan(e, [1.0, 1.0], horizon=3, method="lp", capacity=[5.0, 5.0])
    assert ok.feasible and float(ok.residual().max()) < 1e-8


def test_lp_matches_scipy_linprog():
    """The highspy route gives the plan scipy.optimize.linprog(method='highs') gives (same HiGHS, same options)."""
    from scipy.optimize import linprog

    from bigplan._dynamic import lp as lp_module

    e = _labelled_economy()
    kw = {"horizon": 4, "growth": 0.05, "method": "lp", "capacity": [3.0, 2.0], "labour_supply": 30.0}
    ours = plan(e, [1.0, 1.0], **kw)
    seen = []

    def via_scipy(p, c, **k):
        seen.append(1)
        return linprog(c, method="highs", options={"time_limit": float(p.time_limit)}, **k)

    import unittest.mock

    with unittest.mock.patch.object(lp_module, "_linprog", via_scipy):
        ref = plan(e, [1.0, 1.0], **kw)
    assert seen
    np.testing.assert_allclose(ours.output, ref.output, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.new_capacity, ref.new_capacity, rtol=1e-7, atol=1e-10)
    assert ours.feasible == ref.feasible
