"""Tests of the dynamic model: capital, balanced growth, multi-period plans, the frontier."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import bigplan
from bigplan import (
    Economy,
    Evidence,
    InfeasiblePlanError,
    InvalidDemandError,
    InvalidEconomyError,
    LabelError,
    ShapeError,
    Status,
    UnknownProductError,
)
from bigplan import dynamic as dyn
from bigplan.dynamic import (
    InvalidPlanError,
    NegativePlanError,
    NoCapitalError,
    UnsustainableGrowthError,
    balanced_plan,
    capital_matrix,
    compare,
    frontier,
    max_growth_rate,
    plan,
)

# ---------------------------------------------------------------------------
# closed-form economies
# ---------------------------------------------------------------------------
A2 = np.array([[0.2, 0.3], [0.1, 0.4]])
B2 = np.array([[0.0, 0.0], [1.0, 1.5]])  # product 1 ("tools") is the only equipment: B singular


def two_sector(depreciation=0.05, **kw):
    return Economy(A2, labour=[1.0, 2.0], capital=B2, depreciation=depreciation, labels=["food", "tools"], **kw)


def two_sector_gstar(delta: float) -> float:
    """x = A x + (g + d) B x, B = e_2 b^T: det(I - A - s B) = 0 is linear in s."""
    (a11, a12), (a21, a22) = A2
    b1, b2 = B2[1]
    det = (1 - a11) * (1 - a22) - a12 * a21
    s = det / ((1 - a11) * b2 + a12 * b1)
    return s - delta


def three_sector(a=0.6, b=2.0, delta=0.04):
    """Equal column sums a (A) and b (B): 1^T is a left eigenvector, g* = (1 - a) / b - delta."""
    A = np.array([[0.1, 0.3, 0.2], [0.3, 0.1, 0.1], [0.2, 0.2, 0.3]])
    A = A / A.sum(axis=0) * a
    B = np.array([[0.0, 0.0, 0.0], [0.5, 1.0, 0.2], [0.5, 0.3, 0.8]])
    B = B / B.sum(axis=0) * b
    return Economy(A, labour=[1.0, 1.5, 0.5], capital=B, depreciation=delta)


def dense(e: Economy):
    return e.A.toarray(), e.capital.toarray(), (np.zeros(e.n) if e.depreciation is None else e.depreciation)


def random_economy(n=40, seed=1, equipment=6, capital_output=1.2, delta=0.05, labels=True):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=0.15, random_state=rng).toarray() + np.diag(rng.random(n) * 0.05)
    A *= 0.6 / A.sum(axis=0)
    B = np.zeros((n, n))
    eq = rng.choice(n, equipment, replace=False)
    B[eq] = rng.random((equipment, n))
    B *= capital_output / B.sum(axis=0)
    return Economy(
        A,
        labour=rng.random(n) + 0.1,
        capital=B,
        depreciation=delta,
        labels=[f"p{i}" for i in range(n)] if labels else None,
    )


# ---------------------------------------------------------------------------
# item 1: capital coefficients and initial conditions, bad input
# ---------------------------------------------------------------------------
def test_no_capital_at_all_says_growth_is_impossible():
    with pytest.raises(NoCapitalError, match="no capital coefficients"):
        max_growth_rate(Economy(A2))
    e = Economy(A2, capital=np.zeros((2, 2)))
    with pytest.raises(NoCapitalError, match="no capital goods at all.*growth is impossible"):
        max_growth_rate(e)
    with pytest.raises(NoCapitalError):
        plan(e, [1.0, 1.0], horizon=3)
    with pytest.raises(InvalidEconomyError):  # a ValueError family member, catchable as such
        plan(e, [1.0, 1.0], horizon=3)


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"capital": np.ones((3, 3))}, ShapeError, "capital"),
        ({"capital": -B2}, InvalidEconomyError, "negative"),
        ({"capital": np.array([[np.nan, 0], [1, 1]])}, InvalidEconomyError, "NaN"),
        ({"capital": B2, "depreciation": 1.5}, InvalidEconomyError, "depreciation"),
        ({"capital": B2, "depreciation": -0.1}, InvalidEconomyError, "depreciation"),
        ({"capital": B2, "capacity": [1.0, -1.0]}, InvalidEconomyError, "capacity"),
        ({"capital": B2, "capacity": [1.0, 2.0, 3.0]}, ShapeError, "capacity"),
    ],
)
def test_capital_and_initial_conditions_are_validated(kwargs, err, match):
    with pytest.raises(err, match=match):
        Economy(A2, **kwargs)


@pytest.mark.parametrize("horizon", [0, -2, 2.5, True, "3"])
def test_horizon_must_be_a_positive_integer(horizon):
    with pytest.raises(InvalidPlanError, match="horizon"):
        plan(two_sector(), [1.0, 1.0], horizon=horizon)


def test_targets_of_the_wrong_shape_or_value():
    e = two_sector()
    with pytest.raises(ShapeError, match=r"\(2,\)"):
        plan(e, [1.0, 1.0, 1.0], horizon=2)
    with pytest.raises(ShapeError, match="transpose"):
        plan(e, np.ones((2, 5)))
    with pytest.raises(ShapeError):
        plan(e, np.ones((2, 2, 2)))
    with pytest.raises(ShapeError, match="horizon=4"):
        plan(e, np.ones((3, 2)), horizon=4)
    with pytest.raises(InvalidDemandError, match="NaN"):
        plan(e, [1.0, np.nan], horizon=2)
    with pytest.raises(InvalidDemandError, match=">= 0"):
        plan(e, [1.0, -1.0], horizon=2)
    with pytest.raises(InvalidPlanError, match="horizon"):
        plan(e, [1.0, 1.0])
    with pytest.raises(InvalidPlanError, match="growth"):
        plan(e, np.ones((3, 2)), growth=0.02)
    with pytest.raises(ShapeError, match="growth"):
        plan(e, [1.0, 1.0], horizon=2, growth=[0.1, 0.1, 0.1])
    with pytest.raises(InvalidPlanError, match="method"):
        plan(e, [1.0, 1.0], horizon=2, method="magic")
    with pytest.raises(InvalidPlanError, match="terminal"):
        plan(e, [1.0, 1.0], horizon=2, terminal="forever")
    with pytest.raises(ShapeError, match="labour_supply"):
        plan(e, [1.0, 1.0], horizon=2, labour_supply=np.ones((3, 2)))
    with pytest.raises(TypeError, match="Economy"):
        plan(A2, [1.0, 1.0], horizon=2)


def test_pandas_targets_are_aligned_to_labels():
    e = two_sector()
    df = pd.DataFrame({"tools": [0.5, 0.6], "food": [1.0, 1.1]})
    p = plan(e, df)
    q = plan(e, df[["food", "tools"]].to_numpy())
    np.testing.assert_allclose(p.output, q.output)
    p1 = plan(e, pd.Series({"tools": 0.5, "food": 1.0}), horizon=2)
    np.testing.assert_allclose(p1.consumption[0], [1.0, 0.5])
    with pytest.raises(LabelError):
        plan(e, pd.DataFrame({"food": [1.0], "steel": [1.0]}))


# ---------------------------------------------------------------------------
# one input layer: every argument that names products is aligned the same way, with the same errors
# ---------------------------------------------------------------------------
_PRODUCT_ARGUMENTS = {
    "plan level": lambda e, v: plan(e, v, horizon=2),
    "plan path": lambda e, v: plan(e, pd.DataFrame([v, v])),
    "plan capacity": lambda e, v: plan(e, [1.0, 1.0], horizon=2, capacity=v),
    "plan growth": lambda e, v: plan(e, [1.0, 1.0], horizon=2, growth=v),
    "balanced consumption": lambda e, v: balanced_plan(e, v, growth=0.01),
    "balanced public": lambda e, v: balanced_plan(e, [1.0, 1.0], growth=0.01, public=v, public_share=0.1),
    "balanced prices": lambda e, v: balanced_plan(e, [1.0, 1.0], growth=0.01, prices=v),
    "frontier consumption": lambda e, v: frontier(e, v, growth_rates=[0.0]),
    "compare sectors": lambda e, v: compare(e, {"a": {"growth": 0.01}}, [1.0, 1.0], sectors=v),
}


@pytest.mark.parametrize("name", sorted(_PRODUCT_ARGUMENTS))
@pytest.mark.parametrize("container", [pd.Series, dict])
def test_unknown_and_missing_products_are_typed_errors(name, container):
    call = _PRODUCT_ARGUMENTS[name]
    e = two_sector()
    with pytest.raises(UnknownProductError, match="steel"):
        call(e, container({"food": 0.01, "tools": 0.01, "steel": 0.01}))
    with pytest.raises(LabelError, match="tools"):
        call(e, container({"food": 0.01}))


def test_labelled_arguments_are_aligned_by_product():
    e = two_sector()
    p = plan(e, [1.0, 2.0], horizon=3, growth=pd.Series({"tools": 0.01, "food": 0.03}),
             capacity=pd.Series({"tools": 50.0, "food": 30.0}))
    np.testing.assert_allclose(p.capacity[0], [30.0, 50.0])
    np.testing.assert_allclose(p.consumption[:, 0], 1.03 ** np.arange(3))
    np.testing.assert_allclose(p.consumption[:, 1], 2.0 * 1.01 ** np.arange(3))
    q = plan(e, [1.0, 2.0], horizon=3, growth=np.array([0.03, 0.01]), capacity=[30.0, 50.0])
    np.testing.assert_allclose(p.output, q.output)
    rep = compare(e, {"a": {"growth": 0.01}}, [1.0, 1.0], sectors=pd.Series({"tools": "industry", "food": "farm"}))
    prop = rep.proposals[0]
    assert rep.sector_output.loc["farm", "a"] == pytest.approx(prop.output[0] * prop.prices[0])
    assert rep.sector_output.loc["industry", "a"] == pytest.approx(prop.output[1] * prop.prices[1])


def test_growth_rates_per_product_are_validated():
    e = two_sector()
    with pytest.raises(InvalidPlanError, match="> -1"):
        plan(e, [1.0, 1.0], horizon=2, growth=[0.1, -1.5])
    with pytest.raises(InvalidPlanError, match="finite"):
        plan(e, [1.0, 1.0], horizon=2, growth=[0.1, np.inf])
    with pytest.raises(InvalidPlanError, match="max_sweeps"):
        plan(e, [1.0, 1.0], horizon=2, max_sweeps=0)
    with pytest.raises(InvalidPlanError, match="shortfall_tol"):
        plan(e, [1.0, 1.0], horizon=2, shortfall_tol=-1.0)


def test_results_carry_the_shared_evidence_block():
    e = two_sector()
    r = max_growth_rate(e)
    assert isinstance(r.evidence, Evidence)
    assert r.evidence.residual.shape == (1,) and r.residual[0] == pytest.approx((r.upper - r.lower) / r.rate)
    assert r.status.tolist() == [Status.CONVERGED] and r.converged and r.method
    assert r.iterations > 0 and r.matvecs >= r.iterations and r.backend == "numpy"
    for method in ("capacity", "exact", "lp"):
        p = plan(e, [1.0, 2.0], horizon=3, growth=0.02, method=method)
        assert isinstance(p.evidence, Evidence) and p.method == method and p.converged
        assert p.evidence.residual.shape == (1,) and p.solver_residual == float(p.evidence.residual[0])
        assert p.solver_residual < 1e-9 and p.seconds > 0 and isinstance(p.notes, tuple)
    # a sweep cut short is reported in the evidence, with a status saying so
    C = np.array([[1.0, 1.0], [1.0, 1.0], [1.3, 1.3], [1.3, 1.3]])  # a jump: capacity must be built early
    assert plan(e, C, terminal="none").converged
    short = plan(e, C, terminal="none", max_sweeps=1)
    assert not short.converged and short.status.tolist() == [Status.MAX_ITERATIONS]
    assert "max_sweeps" in " ".join(short.notes)


def test_plan_never_aliases_or_writes_into_its_inputs():
    e = two_sector()
    C = np.asfortranarray(np.array([[1.0, 1.0], [1.1, 1.05], [1.2, 1.1]]))
    before = C.copy()
    p = plan(e, C)
    p.consumption[0, 0] = 99.0  # the plan's arrays are its own
    np.testing.assert_array_equal(C, before)
    assert C.flags.writeable


# ---------------------------------------------------------------------------
# item 3: balanced growth
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("depreciation", [True, False])
def test_two_sector_growth_rate_closed_form(depreciation):
    e = two_sector(0.05)
    r = max_growth_rate(e, depreciation=depreciation)
    exact = two_sector_gstar(0.05 if depreciation else 0.0)
    assert r.lower <= exact <= r.upper
    assert r.converged and (r.upper - r.lower) <= 1.01e-6 * exact
    assert r.rate == pytest.approx(exact, rel=1e-6)
    # proportions: the Perron vector of (I - A - dB)^-1 B; B = e_2 b^T makes it column 2 of the inverse
    d = 0.05 if depreciation else 0.0
    col = np.linalg.inv(np.eye(2) - A2 - d * B2)[:, 1]
    np.testing.assert_allclose(r.proportions, col / col.sum(), rtol=1e-6)
    assert r.to_series().index.tolist() == ["food", "tools"]
    assert r.depreciation is depreciation


def test_three_sector_growth_rate_closed_form():
    e = three_sector(a=0.6, b=2.0, delta=0.04)
    r = max_growth_rate(e)
    exact = (1 - 0.6) / 2.0 - 0.04
    assert r.lower <= exact <= r.upper and r.converged
    A, B, d = dense(e)
    M = np.linalg.solve(np.eye(3) - A - B * d[None, :], B)
    w, V = np.linalg.eig(M)
    v = np.abs(V[:, np.argmax(w.real)].real)
    np.testing.assert_allclose(r.proportions, v / v.sum(), rtol=1e-5)
    assert 1 / w.real.max() == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_growth_rate_matches_dense_eigenvalues(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 30))
    e = random_economy(n, seed=seed, equipment=max(1, n // 4), capital_output=float(rng.uniform(0.5, 3.0)), delta=0.0)
    A, B, _ = dense(e)
    ev = np.linalg.eigvals(np.linalg.solve(np.eye(n) - A, B))
    exact = 1 / ev.real.max()
    r = max_growth_rate(e, rtol=1e-8)
    assert r.lower <= exact * (1 + 1e-12) and exact <= r.upper * (1 + 1e-12)
    assert r.rate == pytest.approx(exact, rel=1e-7)


@settings(max_examples=25)
@given(
    n=st.integers(2, 7),
    seed=st.integers(0, 10_000),
    dens=st.floats(0.2, 1.0),
    scale=st.floats(0.1, 5.0),
)
def test_growth_bounds_are_certified_on_random_reducible_economies(n, seed, dens, scale):
    rng = np.random.default_rng(seed)
    A = rng.random((n, n)) * (rng.random((n, n)) < dens)
    cs = A.sum(axis=0)
    A = A / np.where(cs > 0, cs, 1) * rng.uniform(0.1, 0.8)
    B = rng.random((n, n)) * (rng.random((n, n)) < dens) * scale
    if not B.any():
        B[0, 0] = scale
    e = Economy(A, capital=B)
    M = np.linalg.solve(np.eye(n) - A, B)
    lam = max(np.linalg.eigvals(M).real.max(), 0.0)
    r = max_growth_rate(e, rtol=1e-6)
    if lam < 1e-9:  # capital never limits growth
        assert math.isinf(r.rate)
        return
    exact = 1 / lam
    if math.isinf(r.rate):
        assert exact > 1e5
        return
    assert r.lower <= exact * (1 + 1e-9)
    assert exact <= r.upper * (1 + 1e-9)


def test_unbounded_growth_when_equipment_needs_no_equipment():
    A = np.array([[0.1, 0.2], [0.0, 0.1]])
    B = np.array([[0.0, 1.0], [0.0, 0.0]])  # product 0 equips product 1; product 0 needs no equipment
    r = max_growth_rate(Economy(A, capital=B))
    assert math.isinf(r.rate) and math.isinf(r.upper)
    assert "unbounded" in " ".join(r.notes)


def test_replacement_alone_unsustainable():
    e = Economy(np.array([[0.5, 0.0], [0.0, 0.5]]), capital=np.eye(2) * 20, depreciation=0.1)
    with pytest.raises(InfeasiblePlanError, match="replacement"):
        max_growth_rate(e)


def test_synthetic_capital_matrix_has_the_known_growth_rate():
    from bigplan.synthetic import technical_matrix

    n = 3000
    A = technical_matrix(n, inputs_per_product=10, column_sum=0.7, seed=3)
    B = capital_matrix(n, inputs_per_product=5, capital_output=1.5, equipment_share=0.1, seed=4)
    np.testing.assert_allclose(np.asarray(B.sum(axis=0)).ravel(), 1.5)
    assert B.getnnz(axis=0).max() <= 5 and (B.getnnz(axis=1) > 0).sum() <= 300
    e = Economy(A, capital=B, depreciation=0.05)
    r = max_growth_rate(e)
    assert r.lower <= 0.15 <= r.upper and r.converged
    assert r.proportions.min() >= 0 and r.proportions.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        capital_matrix(0)
    with pytest.raises(ValueError):
        capital_matrix(10, capital_output=-1.0)


# ---------------------------------------------------------------------------
# item 2: multi-period plans
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["capacity", "exact"])
@pytest.mark.parametrize("make", [two_sector, three_sector])
def test_balanced_path_closed_form(method, make):
    e = make()
    A, B, d = dense(e)
    n = e.n
    g, T = 0.03, 6
    c = np.arange(1, n + 1, dtype=float)
    x1 = np.linalg.solve(np.eye(n) - A - B * (g + d)[None, :], c)
    p = plan(e, c, horizon=T, growth=g, method=method, capacity=x1)
    expect = x1[None, :] * (1 + g) ** np.arange(T)[:, None]
    np.testing.assert_allclose(p.output, expect, rtol=1e-10)
    np.testing.assert_allclose(p.capacity, expect, rtol=1e-10)
    np.testing.assert_allclose(p.investment, (B @ ((g + d)[:, None] * expect.T)).T, rtol=1e-9)
    # Leontief's form: expansion B (x_{t+1} - x_t) plus replacement B diag(d) x_t
    np.testing.assert_allclose(p.expansion, g * (B @ expect.T).T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(p.replacement, (B @ (d[:, None] * expect.T)).T, rtol=1e-9)
    assert p.feasible and p.residual().max() < 1e-10
    assert p.idle.max() <= 1e-9 * expect.max()
    np.testing.assert_allclose(p.final_capacity, (1 + g) * expect[-1], rtol=1e-10)
    # the LP meets the same targets with no more labour: the balanced path is one of its feasible plans
    q = plan(e, c, horizon=T, growth=g, method="lp", capacity=x1)
    assert q.feasible and q.residual().max() < 1e-10
    assert q.labour.sum() <= p.labour.sum() * (1 + 1e-7)


def test_balanced_path_without_initial_capacity_starts_on_it():
    e = two_sector()
    p = plan(e, [1.0, 2.0], horizon=5, growth=0.04)
    np.testing.assert_allclose(p.output[1:] / p.output[:-1], 1.04, rtol=1e-10)
    assert p.sweeps == 1 and not p.capacity_given and p.feasible


@pytest.mark.parametrize("kind", ["drift", "noisy", "decline", "jump"])
@pytest.mark.parametrize("terminal", ["growth", "replace", "none"])
def test_random_economies_satisfy_the_balance(kind, terminal):
    e = random_economy(40, seed=2)
    rng = np.random.default_rng(5)
    T, n = 8, e.n
    c0 = rng.random(n) + 0.5
    C = {
        "drift": c0 * (1 + rng.normal(0.03, 0.02, n)) ** np.arange(T)[:, None],
        "noisy": rng.random((T, n)) * 1.03 ** np.arange(T)[:, None],
        "decline": c0 * 0.95 ** np.arange(T)[:, None],
        "jump": c0 * np.where(np.arange(T) < 4, 1.0, 1.3)[:, None],
    }[kind]
    p = plan(e, C, terminal=terminal, max_sweeps=60)
    assert p.residual().max() < 1e-9  # x_t = A x_t + B N_t + c_t
    assert (p.output >= 0).all() and (p.new_capacity >= 0).all() and (p.investment >= 0).all()
    d = e.depreciation
    K = np.vstack([p.capacity, p.final_capacity])
    np.testing.assert_allclose(K[1:], (1 - d) * K[:-1] + p.new_capacity, rtol=1e-12, atol=1e-12)
    # no initial capacity given: every period's output fits the capacity built for it
    assert p.feasible, p.explain()
    assert p.converged
    np.testing.assert_allclose(p.consumption, C)
    if terminal == "none":
        assert not p.new_capacity[-1].any()


def test_lp_needs_no_more_labour_than_the_capacity_plan():
    e = random_economy(30, seed=7)
    rng = np.random.default_rng(8)
    T = 6
    C = (rng.random(e.n) + 0.5) * (1 + rng.normal(0.03, 0.02, e.n)) ** np.arange(T)[:, None]
    K1 = 3 * np.linalg.solve(np.eye(e.n) - dense(e)[0], C[0])
    pc = plan(e, C, capacity=K1, terminal="none")
    pl = plan(e, C, capacity=K1, terminal="none", method="lp")
    assert pc.feasible and pl.feasible
    assert pl.residual().max() < 1e-9
    assert pl.labour.sum() <= pc.labour.sum() * (1 + 1e-6)


def test_singular_capital_matrix():
    # one equipment product only: B has a single non-zero row
    n = 12
    rng = np.random.default_rng(3)
    A = rng.random((n, n)) * 0.5 / n
    B = np.zeros((n, n))
    B[4] = rng.random(n) + 0.5
    e = Economy(A, labour=np.ones(n), capital=B, depreciation=0.1)
    assert np.linalg.matrix_rank(B) == 1
    r = max_growth_rate(e)
    M = np.linalg.solve(np.eye(n) - A - 0.1 * B, B)
    assert r.lower <= 1 / np.linalg.eigvals(M).real.max() <= r.upper
    p = plan(e, np.ones(n), horizon=5, growth=0.5 * r.rate)
    assert p.feasible and p.residual().max() < 1e-10
    assert np.count_nonzero(p.investment.sum(axis=0)) == 1  # only the equipment product is invested


def test_exact_dynamic_inverse_is_refused_when_negative_and_capacity_method_copes():
    e = two_sector(0.05)
    C = np.array([[1.0, 1.0], [1.0, 0.2], [1.0, 0.2], [1.0, 0.25]])  # demand for tools collapses
    with pytest.raises(NegativePlanError, match="dynamic inverse") as info:
        plan(e, C, method="exact")
    err = info.value
    assert isinstance(err, InfeasiblePlanError) and err.period >= 1 and err.output.shape == (4, 2)
    assert np.isfinite(err.amplification) and "method='capacity'" in str(err)
    p = plan(e, C)
    assert p.feasible and (p.new_capacity >= 0).all() and p.idle.sum() > 0
    assert p.residual().max() < 1e-10


def test_exact_recursion_unstable_for_realistic_capital_output_ratios():
    # capital-output ratio ~2 with strong cross-use: some eigenvalue of (I - A)^-1 B has real part < -1/2
    A = np.array([[0.1, 0.2, 0.1], [0.1, 0.1, 0.2], [0.2, 0.1, 0.1]])
    B = np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 3.0], [3.0, 0.0, 0.0]])  # a capital cycle of length 3
    e = Economy(A, capital=B)
    lam = np.linalg.eigvals(np.linalg.solve(np.eye(3) - A, B))
    assert lam.real.min() < -0.5
    C = np.array([1.0, 2.0, 1.5]) * 1.01 ** np.arange(12)[:, None] + np.array([0.0, 0.0, 0.3]) * (
        np.arange(12)[:, None] == 11
    )
    with pytest.raises(NegativePlanError) as info:
        plan(e, C, method="exact", terminal="none")
    assert info.value.amplification > 1
    p = plan(e, C, terminal="none", max_sweeps=80)
    assert (p.output >= 0).all() and p.residual().max() < 1e-10 and p.feasible


@pytest.mark.parametrize("method", ["capacity", "exact", "lp"])
def test_one_period_plan(method):
    e = two_sector()
    p = plan(e, [1.0, 1.0], horizon=1, method=method, capacity=[5.0, 5.0])
    assert p.output.shape == (1, 2) and p.residual().max() < 1e-9 and p.feasible


def test_terminal_rules():
    e = two_sector()
    c = [1.0, 2.0]
    pg = plan(e, c, horizon=4, growth=0.02, terminal="growth")
    pr = plan(e, c, horizon=4, growth=0.02, terminal="replace")
    pn = plan(e, c, horizon=4, growth=0.02, terminal="none")
    np.testing.assert_allclose(pg.final_capacity, 1.02 * pg.output[-1], rtol=1e-10)
    assert (pr.final_capacity >= pr.output[-1] * (1 - 1e-10)).all()
    assert not pn.new_capacity[-1].any()
    assert pg.output[-1].sum() > pr.output[-1].sum() > pn.output[-1].sum()
    with pytest.raises(InvalidPlanError, match="terminal_growth"):
        plan(e, c, horizon=4, terminal="none", terminal_growth=0.1)


# ---------------------------------------------------------------------------
# infeasible targets: a clear report, not an exception deep in a solver
# ---------------------------------------------------------------------------
def test_growth_above_gstar_cannot_be_sustained():
    e = two_sector(0.05)
    gstar = two_sector_gstar(0.05)
    with pytest.raises(UnsustainableGrowthError, match="cannot be sustained") as info:
        plan(e, [1.0, 1.0], horizon=5, growth=gstar * 1.2)
    err = info.value
    assert err.max_rate == pytest.approx(gstar, rel=1e-5)
    assert err.lower <= gstar <= err.upper
    assert f"{gstar:.4g}"[:4] in str(err)
    assert isinstance(err, InfeasiblePlanError) and isinstance(err, ValueError)
    with pytest.raises(UnsustainableGrowthError):
        plan(e, [1.0, 1.0], horizon=5, growth=gstar * 1.2, method="exact")
    with pytest.raises(UnsustainableGrowthError):
        balanced_plan(e, [1.0, 1.0], growth=gstar * 1.01)
    # a finite horizon with no promise beyond it is planned, with its bottlenecks reported
    p = plan(e, [1.0, 1.0], horizon=3, growth=gstar * 1.2, terminal="none", capacity=[3.0, 3.0])
    assert p.residual().max() < 1e-9


def test_labour_supply_too_small_is_reported():
    e = two_sector()
    p = plan(e, [1.0, 1.0], horizon=4, growth=0.03, labour_supply=5.0)
    need = p.labour[:, 0]
    assert (need > 5.0).any() and not p.feasible
    lb = p.labour_bottlenecks
    assert list(lb.columns) == ["period", "labour", "required", "available", "shortfall"]
    np.testing.assert_allclose(lb["shortfall"], need[need > 5.0] - 5.0)
    text = p.explain()
    assert "labour 'labour'" in text and "NOT feasible" in text
    ok = plan(e, [1.0, 1.0], horizon=4, growth=0.03, labour_supply=1e6)
    assert ok.feasible and ok.labour_bottlenecks.empty


@pytest.mark.parametrize("method", ["capacity", "lp"])
def test_initial_capacity_too_small_is_reported(method):
    e = two_sector()
    p = plan(e, [1.0, 2.0], horizon=4, growth=0.03, capacity=[1.0, 100.0], method=method)
    assert not p.feasible
    bn = p.bottlenecks
    assert list(bn.columns) == ["period", "product", "required", "capacity", "shortfall", "relative"]
    assert (bn["period"] == 1).any() and "food" in set(bn["product"])
    assert (bn["shortfall"] > 0).all()
    assert "initial capacity is too small" in p.explain() or method == "lp"
    assert p.residual().max() < 1e-9


# ---------------------------------------------------------------------------
# plan object
# ---------------------------------------------------------------------------
def test_plan_report_api():
    e = random_economy(20, seed=4)
    p = plan(e, np.ones(20), horizon=3, growth=0.02, labour_supply=1e4)
    s = p.summary()
    assert list(s.index) == [1, 2, 3]
    for col in ["consumption", "investment", "replacement", "expansion", "output", "capacity", "idle_capacity",
                "capacity_shortfall", "labour", "labour_supply", "labour_shortfall"]:
        assert col in s.columns
    f = p.to_frame("investment")
    assert f.shape == (3, 20) and list(f.columns[:2]) == ["p0", "p1"]
    with pytest.raises(ValueError):
        p.to_frame("method")
    assert "feasible" in repr(p) and "no bottlenecks" in p.explain()
    assert p.residual().shape == (3,)


# ---------------------------------------------------------------------------
# backends
# ---------------------------------------------------------------------------
def test_jax_backend_matches_numpy():
    pytest.importorskip("jax")
    import jax

    jax.config.update("jax_enable_x64", True)
    e = random_economy(30, seed=9)
    r_np = max_growth_rate(e, backend="numpy")
    r_jx = max_growth_rate(e, backend="jax")
    assert r_jx.backend == "jax"
    assert r_jx.rate == pytest.approx(r_np.rate, rel=1e-6)
    assert r_jx.lower <= r_np.rate <= r_jx.upper
    np.testing.assert_allclose(r_jx.proportions, r_np.proportions, rtol=1e-4, atol=1e-10)
    rng = np.random.default_rng(1)
    c0 = rng.random(30) + 0.5
    cases = [
        (c0, {"horizon": 5, "growth": 0.03, "solver": "auto"}),  # dense LU on the device
        (c0, {"horizon": 5, "growth": 0.03, "solver": "bicgstab"}),
        (c0 * np.array([1.0, 1.04, 1.07])[:, None], {"solver": "bicgstab", "max_sweeps": 3}),  # a path, with sweeps
    ]
    for C, kw in cases:
        p_np = plan(e, C, backend="numpy", **kw)
        p_jx = plan(e, C, backend="jax", **kw)
        assert p_jx.backend == "jax"
        np.testing.assert_allclose(p_jx.output, p_np.output, rtol=1e-8)
        assert p_jx.residual().max() < 1e-9


# ---------------------------------------------------------------------------
# item 4: the fundamental decision
# ---------------------------------------------------------------------------
def test_balanced_proposal_identities_and_round_trip():
    e = Economy(A2, labour=[1.0, 2.0], capital=B2, depreciation=0.05, labour_supply=100.0)
    p = balanced_plan(e, [1.0, 0.5], investment_share=0.2, public_share=0.1, horizon=5)
    A, B, d = dense(e)
    g = p.growth_rate
    assert 0 < g < two_sector_gstar(0.05)
    # the balance of a balanced path: x = A x + B (g + d) x + private + public consumption
    cbar = np.array([1.0, 0.5]) / (p.prices @ [1.0, 0.5])
    f = p.consumption_now * cbar + p.public_consumption * cbar
    np.testing.assert_allclose(p.output, A @ p.output + B @ ((g + d) * p.output) + f, rtol=1e-10)
    # shares of the net product (valued at labour values including replacement)
    assert p.investment == pytest.approx(0.2 * p.net_product, rel=1e-9)
    assert p.public_consumption == pytest.approx(0.1 * p.net_product, rel=1e-12)
    assert p.consumption_share == pytest.approx(0.7)
    assert p.consumption_now + p.public_consumption + p.investment == pytest.approx(p.net_product, rel=1e-9)
    # labour values make the net product equal to total labour; labour supply fixes the scale
    assert p.net_product == pytest.approx(p.total_labour, rel=1e-9)
    assert p.total_labour == pytest.approx(100.0, rel=1e-10) and p.labour_per_worker == pytest.approx(1.0)
    np.testing.assert_allclose(p.consumption_path, p.consumption_now * (1 + g) ** np.arange(5))
    back = balanced_plan(e, [1.0, 0.5], growth=g, public_share=0.1)
    assert back.investment_share == pytest.approx(0.2, rel=1e-9)
    with pytest.raises(InvalidPlanError):
        balanced_plan(e, [1.0, 0.5], investment_share=0.6, public_share=0.5)
    with pytest.raises(InvalidPlanError):
        balanced_plan(e, [1.0, 0.5])


def test_two_sector_frontier_closed_form():
    # unit prices, no depreciation, c = (1, 0): x(g) = (I - A - g B)^-1 f, sigma = g 1^T B x / 1^T (x - A x)
    e = Economy(A2, labour=[1.0, 1.0], capital=B2)
    df = frontier(e, [1.0, 0.0], growth_rates=[0.0, 0.05, 0.1, 0.2], prices="unit")
    for _, row in df.iterrows():
        g = row["growth_rate"]
        x = np.linalg.solve(np.eye(2) - A2 - g * B2, [1.0, 0.0])
        sigma = g * (B2 @ x).sum() / (x - A2 @ x).sum()
        assert row["investment_share"] == pytest.approx(sigma, rel=1e-9, abs=1e-15)
        x = x / x.sum()  # per unit of labour (labour coefficients 1)
        assert row["consumption_now"] == pytest.approx(x.sum() - (A2 @ x).sum() - g * (B2 @ x).sum(), rel=1e-9)


def test_frontier_trades_consumption_now_for_growth():
    e = random_economy(25, seed=11)
    gr = max_growth_rate(e)
    df = frontier(e, np.ones(25), points=6, growth_bounds=gr, public_share=0.1, horizon=8)
    assert len(df) == 6
    assert df["growth_rate"].is_monotonic_increasing and df["consumption_now"].is_monotonic_decreasing
    assert df["investment_share"].iloc[0] == 0 and df["investment_share"].is_monotonic_increasing
    assert df["growth_rate"].max() < gr.lower
    assert df.attrs["max_growth_rate"] == gr.rate
    # faster growth overtakes: consumption at the end of a long enough horizon rises with growth (here 8 years)
    assert df["consumption_end"].iloc[1] > df["consumption_end"].iloc[0] * 0.9
    shares = frontier(e, np.ones(25), investment_shares=[0.0, 0.1, 0.3], growth_bounds=gr)
    assert shares["investment_share"].tolist() == pytest.approx([0.0, 0.1, 0.3], rel=1e-9)
    with pytest.raises(UnsustainableGrowthError, match="g\\*"):
        frontier(e, np.ones(25), investment_shares=[0.99999], growth_bounds=gr)


def test_compare_lays_out_proposals_side_by_side():
    e = random_economy(12, seed=12)
    sectors = ["farm"] * 4 + ["industry"] * 5 + ["services"] * 3
    rep = compare(
        e,
        {"consume": {"investment_share": 0.05}, "balanced": {"investment_share": 0.15, "public_share": 0.1},
         "grow": {"growth": 0.1}},
        np.ones(12),
        sectors=sectors,
        labour_supply=1000.0,
        workers=500.0,
    )
    s = rep.summary
    assert list(s.columns) == ["consume", "balanced", "grow"]
    for metric in ["growth_rate", "total_labour", "labour_per_worker", "consumption_now", "public_consumption",
                   "investment", "investment_share"]:
        assert metric in s.index
    assert s.loc["growth_rate", "consume"] < s.loc["growth_rate", "balanced"]
    assert s.loc["consumption_now", "consume"] > s.loc["consumption_now", "balanced"]
    # planned from the present: labour fits the supply in every period and is fully used in the binding one
    assert (s.loc["labour_per_worker"] * 500.0).tolist() == pytest.approx(s.loc["total_labour"].tolist())
    assert s.loc["peak_labour"].tolist() == pytest.approx([1000.0] * 3, rel=1.1e-3)
    assert all(s.loc["peak_labour"] <= 1000.0)
    assert rep.output.shape == (12, 3) and rep.output.index[0] == "p0"
    assert list(rep.sector_output.index) == ["farm", "industry", "services"]
    np.testing.assert_allclose(rep.sector_output.sum().to_numpy(), s.loc["output_value"].to_numpy())
    assert rep.labour.shape == (1, 3)
    assert "proposals" in repr(rep)
    with pytest.raises(InvalidPlanError):
        compare(e, {"bad": {"investment": 0.1}})


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="matplotlib not installed")
def test_plot_frontier_agg():
    import matplotlib

    matplotlib.use("Agg")
    e = two_sector()
    df = frontier(e, [1.0, 1.0], points=4, labour_supply=10.0)
    rep = compare(e, [{"investment_share": 0.1}, {"investment_share": 0.3}], [1.0, 1.0], labour_supply=10.0)
    fig = dyn.plot_frontier(df, report=rep)
    ax = fig.axes[0]
    assert "growth" in ax.get_xlabel() and len(ax.lines) >= 3
    fig2 = rep.plot(df)
    assert fig2 is not None
    import matplotlib.pyplot as plt

    plt.close("all")


def test_module_is_reachable_from_the_package():
    assert bigplan.dynamic.max_growth_rate is max_growth_rate
    for name in dyn.__all__:
        obj = getattr(dyn, name)
        assert obj.__doc__, name
