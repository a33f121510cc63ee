"""Choice of technique (issue 12): Technology, policy iteration, its certificate, bad input, synthetic technologies.

Every optimum is checked against an independent computation: the closed form of a two-product case, brute
force over all choices, or HiGHS through ``scipy.optimize.linprog``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

import bigplan
from bigplan.activity import Technology, choose_technique, plan_activities
from bigplan.errors import (InvalidTechnologyError, LabelError, NotProductiveError, ShapeError,
                            UnknownProductError)
from bigplan.synthetic import technology as synth_technology


def two_products(hand_labour: float) -> Technology:
    """Grain by hand (labour only) or by tractor (0.5 labour + 0.4 iron); iron by a forge (2 labour, 0.2 iron)."""
    inputs = np.array([[0.0, 0.0, 0.0],
                       [0.0, 0.4, 0.2]])
    return Technology(inputs, makes=[0, 0, 1], labour=[hand_labour, 0.5, 2.0], products=["grain", "iron"],
                      processes=["hand", "tractor", "forge"])


def random_technology(seed: int, n: int, per: int, kinds: int = 1) -> Technology:
    rng = np.random.default_rng(seed)
    P = n * per
    A = rng.random((n, P)) * (rng.random((n, P)) < 0.6)
    A *= rng.uniform(0.2, 0.85, P) / np.maximum(A.sum(axis=0), 1e-12)
    L = rng.uniform(0.1, 2.0, (kinds, P))
    return Technology(A, makes=np.repeat(np.arange(n), per), labour=L)


def lp_optimum(tech: Technology, y: np.ndarray, lw: np.ndarray) -> float:
    """min lw . z s.t. (O - A) z >= y, z >= 0, by HiGHS through scipy (independent of bigplan's LP code)."""
    N = tech.net_output_matrix().toarray()
    res = linprog(lw, A_ub=-N, b_ub=-y, bounds=(0, None), method="highs")
    assert res.status == 0
    return float(res.fun)


# -- closed form ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hand", [1.0, 1.49, 1.51, 2.0])
def test_two_products_choice_flips_where_the_labour_trade_off_says(hand):
    # iron's value: v = 2 + 0.2 v -> 2.5; the tractor costs 0.5 + 0.4 * 2.5 = 1.5 labour per unit of grain
    r = choose_technique(two_products(hand))
    assert r.values[1] == pytest.approx(2.5, rel=1e-12)
    assert r.process_labels[0] == ("hand" if hand < 1.5 else "tractor")
    assert r.values[0] == pytest.approx(min(hand, 1.5), rel=1e-12)
    frame = r.to_frame()
    assert list(frame.columns) == ["process", "cost", "runner_up", "runner_up_cost", "margin"]
    assert frame.loc["grain", "runner_up_cost"] == pytest.approx(max(hand, 1.5), rel=1e-12)
    assert pd.isna(frame.loc["iron", "runner_up"]) and np.isnan(frame.loc["iron", "runner_up_cost"])
    assert r.certificate >= -r.tolerance * 2.5


def test_brute_force_over_every_choice_and_reduced_costs():
    tech = random_technology(3, n=4, per=3)
    r = choose_technique(tech)
    lw = tech.labour[0]
    best = None
    for combo in itertools.product(*[range(3 * j, 3 * j + 3) for j in range(4)]):
        v = np.linalg.solve((np.eye(4) - tech.inputs[:, list(combo)].toarray()).T, lw[list(combo)])
        best = v if best is None else np.minimum(best, v)  # the optimal values are the least in every entry
    np.testing.assert_allclose(r.values, best, rtol=1e-9)
    assert (r.reduced_cost >= -1e-9).all()
    np.testing.assert_allclose(r.reduced_cost, lw + tech.inputs.T @ r.values - r.values[tech.makes], atol=1e-12)


# -- policy iteration equals the LP -----------------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), per=st.integers(1, 3))
def test_policy_iteration_equals_the_lp_optimum(seed, n, per):
    tech = random_technology(seed, n, per)
    y = np.random.default_rng(seed + 1).uniform(0.5, 2.0, n)
    r = choose_technique(tech)
    x = np.linalg.solve(np.eye(n) - r.economy.A.toarray(), y)
    lw = tech.labour[0]
    assert lw[r.process] @ x == pytest.approx(lp_optimum(tech, y, lw), rel=1e-8)
    assert r.values @ y == pytest.approx(lp_optimum(tech, y, lw), rel=1e-8)  # duality: v . y = l . x


def test_shadow_prices_are_the_labour_values_of_the_chosen_economy():
    tech = random_technology(11, n=5, per=3)
    y = np.linspace(1.0, 2.0, 5)
    r = choose_technique(tech)
    np.testing.assert_allclose(r.values, bigplan.labour_values(r.economy).values, rtol=1e-10)
    p = plan_activities(tech, y, solver="highs")
    np.testing.assert_allclose(p.product_prices, r.values, rtol=1e-7)
    assert p.objective == pytest.approx(r.values @ y, rel=1e-8)
    assert any(s.startswith("cross-check: highs objective within") for s in p.notes)
    q = plan_activities(tech, y)  # auto: the non-substitution choice and one static solve
    assert q.solver == "choice" and q.objective == pytest.approx(p.objective, rel=1e-9)
    np.testing.assert_allclose(q.net_output, y, rtol=1e-9)


def test_several_labour_kinds_need_weights_and_combine_linearly():
    tech = random_technology(5, n=4, per=2, kinds=2)
    with pytest.raises(InvalidTechnologyError, match="weights"):
        choose_technique(tech)
    with pytest.raises(ShapeError, match=r"shape \(2,\)"):
        choose_technique(tech, weights=[1.0, 2.0, 3.0])
    with pytest.raises(InvalidTechnologyError):
        choose_technique(tech, weights=[-1.0, 2.0])
    r = choose_technique(tech, weights=[1.0, 3.0])
    lw = tech.labour[0] + 3 * tech.labour[1]
    y = np.ones(4)
    assert r.values @ y == pytest.approx(lp_optimum(tech, y, lw), rel=1e-8)


def test_jax_backend_agrees_with_numpy(backend):
    tech = Technology.synthetic(120, processes=3, inputs_per_process=6, seed=2)
    ref = choose_technique(tech, backend="numpy")
    r = choose_technique(tech, backend=backend)
    assert r.backend == backend
    np.testing.assert_array_equal(r.process, ref.process)
    np.testing.assert_allclose(r.values, ref.values, rtol=1e-9)


# -- construction ------------------------------------------------------------------------------------------------
def test_from_economies_and_economy_of_a_choice():
    a = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labels=["grain", "iron"])
    b = bigplan.Economy(np.array([[0.3, 0.3], [0.2, 0.1]]), labour=[0.5, 2.0], labels=["grain", "iron"])
    tech = Technology.from_economies({"old": a, "new": b})
    assert list(tech.processes) == ["old:grain", "old:iron", "new:grain", "new:iron"]
    e = tech.economy(["new:grain", "old:iron"])
    np.testing.assert_allclose(e.A.toarray(), [[0.3, 0.3], [0.2, 0.1]])
    np.testing.assert_allclose(e.labour[0], [0.5, 2.0])
    r = choose_technique(tech)
    best = np.minimum(bigplan.labour_values(a).values, bigplan.labour_values(b).values)
    assert (r.values <= best + 1e-12).all()
    with pytest.raises(InvalidTechnologyError, match="does not make"):
        tech.economy(["old:iron", "old:grain"])
    with pytest.raises(LabelError):
        Technology.from_economies({"a": a, "c": bigplan.Economy(np.eye(2) * 0.1, labour=[1.0, 1.0])})


def test_from_frame_long_format():
    procs = pd.DataFrame({"process": ["hand", "tractor", "forge"], "makes": ["grain", "grain", "iron"],
                          "labour": [1.0, 0.5, 2.0], "capacity": [np.inf, 3.0, np.inf]})
    ins = pd.DataFrame({"process": ["tractor", "forge"], "product": ["iron", "iron"], "amount": [0.4, 0.2]})
    tech = Technology.from_frame(ins, procs)
    ref = two_products(1.0)
    np.testing.assert_allclose(tech.inputs.toarray(), ref.inputs.toarray())
    assert tech.capacity[1] == 3.0 and np.isinf(tech.capacity[0])
    with pytest.raises(UnknownProductError):
        Technology.from_frame(pd.DataFrame({"process": ["mill"], "product": ["iron"], "amount": [1.0]}), procs)


def test_technology_is_immutable():
    tech = two_products(1.0)
    with pytest.raises(ValueError):
        tech.inputs.data[0] = 5.0
    with pytest.raises(ValueError):
        tech.labour[0, 0] = 5.0
    with pytest.raises(AttributeError):
        tech.foo = 1


# -- bad input ---------------------------------------------------------------------------------------------------
def test_a_product_no_process_makes_is_named():
    with pytest.raises(InvalidTechnologyError, match="made by no process") as err:
        Technology(np.zeros((3, 2)), makes=[0, 0], labour=[1.0, 1.0], products=["a", "b", "c"])
    assert err.value.products == ["b", "c"]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -0.1])
def test_nan_inf_negative_coefficients(bad):
    A = np.array([[0.1, 0.2], [0.0, 0.1]])
    A[0, 1] = bad
    with pytest.raises(InvalidTechnologyError, match="inputs"):
        Technology(A, makes=[0, 1], labour=[1.0, 1.0])
    with pytest.raises(InvalidTechnologyError, match="labour"):
        Technology(np.eye(2) * 0.1, makes=[0, 1], labour=[1.0, bad])


def test_shapes_and_labels():
    with pytest.raises(ShapeError):
        Technology(np.eye(2) * 0.1, makes=[0, 1, 1], labour=[1.0, 1.0])
    with pytest.raises(ShapeError):
        Technology(np.eye(2) * 0.1, makes=[0, 1], labour=[1.0, 1.0, 1.0])
    with pytest.raises(UnknownProductError):
        Technology(np.eye(2) * 0.1, makes=[0, 2], labour=[1.0, 1.0])
    with pytest.raises(LabelError):
        Technology(np.eye(2) * 0.1, makes=[0, 1], labour=[1.0, 1.0], products=["a", "a"])
    with pytest.raises(InvalidTechnologyError, match="capacity"):
        Technology(np.eye(2) * 0.1, makes=[0, 1], labour=[1.0, 1.0], capacity=[1.0, -1.0])


def test_every_technique_non_productive_names_the_products_on_the_cycle():
    # a and b each need 1.2 of the other by every process; c is fine
    A = np.array([[0.0, 0.0, 1.2, 1.3, 0.0],
                  [1.2, 1.5, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.0, 0.1]])
    tech = Technology(A, makes=[0, 0, 1, 1, 2], labour=np.ones(5), products=["a", "b", "c"])
    with pytest.raises(NotProductiveError, match="cycle") as err:
        choose_technique(tech)
    assert sorted(err.value.sectors) == ["a", "b"]


def test_joint_production_refuses_the_choice():
    tech = Technology(np.eye(2) * 0.1, labour=[1.0, 1.0], outputs=np.array([[1.0, 0.2], [0.0, 1.0]]))
    assert tech.joint
    with pytest.raises(InvalidTechnologyError, match="joint"):
        choose_technique(tech)


# -- synthetic technologies --------------------------------------------------------------------------------------
def test_synthetic_technology_is_seeded_and_trades_labour_for_inputs():
    a = synth_technology(2000, processes=(2, 5), inputs_per_process=8, seed=4)
    b = synth_technology(2000, processes=(2, 5), inputs_per_process=8, seed=4)
    assert (a.inputs != b.inputs).nnz == 0 and np.array_equal(a.labour, b.labour)
    per = np.bincount(a.makes)
    assert per.min() >= 2 and per.max() <= 5 and per.size == 2000
    s = np.asarray(a.inputs.sum(axis=0)).ravel()
    assert s.max() < 1.0 and s.min() > 0.4
    assert np.corrcoef(s, np.log(a.labour[0] / a.labour[0].mean()))[0, 1] < 0  # more inputs, less labour
    r = choose_technique(Technology(*a))
    assert r.iterations >= 2  # the least-input start is not the optimum: the choice is not trivial
    start = np.asarray([np.flatnonzero(a.makes == j)[np.argmin(s[a.makes == j])] for j in range(3)])
    assert r.process.size == 2000 and start.size == 3
    with pytest.raises(ValueError):
        synth_technology(10, column_sum=(0.5, 1.2))
