"""Activities with capacities and scarce resources (issue 12): the LP, its prices, proposals against capacity.

Optima are compared with HiGHS through ``scipy.optimize.linprog`` (an independent formulation), conflicts with
the closed form of a two-product economy.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from scipy.optimize import linprog

import bigplan
from bigplan.activity import Technology, check_proposals, choose_technique, plan_activities
from bigplan.errors import (ConvergenceError, InfeasiblePlanError, InvalidOptionError, InvalidTechnologyError,
                            MissingDependencyError)

pytest.importorskip("highspy")


def technology(seed: int = 0, n: int = 6, per: int = 3, kinds: int = 1) -> Technology:
    rng = np.random.default_rng(seed)
    P = n * per
    A = rng.random((n, P)) * (rng.random((n, P)) < 0.6)
    A *= rng.uniform(0.2, 0.8, P) / np.maximum(A.sum(axis=0), 1e-12)
    return Technology(A, makes=np.repeat(np.arange(n), per), labour=rng.uniform(0.1, 2.0, (kinds, P)))


def linprog_reference(tech, y, lw, cap=None, supply=None):
    N = tech.net_output_matrix().toarray()
    A_ub, b_ub = [-N], [-y]
    if supply is not None:
        A_ub.append(tech.labour)
        b_ub.append(supply)
    bounds = [(0, None if cap is None or not np.isfinite(c) else c) for c in (cap if cap is not None else
                                                                            [None] * tech.n_processes)]
    return linprog(lw, A_ub=np.vstack(A_ub), b_ub=np.concatenate(b_ub), bounds=bounds, method="highs")


def test_capacity_lp_equals_linprog_and_meets_demand_exactly():
    tech = technology(1)
    y = np.linspace(1.0, 2.0, tech.n)
    free = choose_technique(tech)
    cap = np.full(tech.n_processes, np.inf)
    x = np.linalg.solve(np.eye(tech.n) - free.economy.A.toarray(), y)
    cap[free.process] = 0.7 * x  # the best processes cannot carry the whole plan
    p = plan_activities(tech, y, capacity=cap)
    ref = linprog_reference(tech, y, tech.labour[0], cap=cap)
    assert p.solver == "highs" and p.optimal and p.converged
    assert p.objective == pytest.approx(ref.fun, rel=1e-8)
    assert p.objective > free.values @ y  # capacity costs labour
    np.testing.assert_allclose(p.net_output, y, rtol=1e-9)  # polished: demand met exactly, not over-produced
    assert (p.activity <= cap * (1 + 1e-9)).all()
    # binding capacities carry a non-negative price; the prices are the LP's duals (scipy's marginals)
    assert set(p.binding["kind"]) == {"capacity"} and (p.binding["price"] >= 0).all()
    np.testing.assert_allclose(p.product_prices, -ref.ineqlin.marginals[: tech.n], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(p.capacity_prices, np.maximum(-ref.upper.marginals, 0.0), rtol=1e-6, atol=1e-9)


def test_resource_supply_binds_and_is_priced():
    tech = technology(2, kinds=2)
    y = np.ones(tech.n)
    w = np.array([1.0, 0.0])  # minimise kind 0, kind 1 is a scarce resource
    free = plan_activities(tech, y, weights=w, solver="highs")
    supply = np.array([np.inf, 0.9 * free.primary[1]])
    p = plan_activities(tech, y, weights=w, supply=supply)
    ref = linprog_reference(tech, y, tech.labour[0], supply=np.array([1e30, supply[1]]))
    assert p.objective == pytest.approx(ref.fun, rel=1e-8)
    assert p.primary[1] <= supply[1] * (1 + 1e-9)
    row = p.binding[p.binding["kind"] == "resource"]
    assert list(row["name"]) == ["labour_1"] and float(row["price"].iloc[0]) > 0
    assert p.resource_prices[1] == pytest.approx(-ref.ineqlin.marginals[-1], rel=1e-6)


def test_infeasible_is_reported_never_a_wrong_optimum():
    tech = technology(3)
    y = np.ones(tech.n)
    cap = np.full(tech.n_processes, 1e-3)
    with pytest.raises(InfeasiblePlanError, match="check_proposals"):
        plan_activities(tech, y, capacity=cap)
    p = plan_activities(tech, y, capacity=cap, raise_on_failure=False)
    assert p.solver_status == "infeasible" and not p.optimal and not p.converged and p.activity is None


def test_conflicting_pair_found_with_the_right_binding_constraint():
    A = np.array([[0.1, 0.3], [0.2, 0.1]])
    e = bigplan.Economy(A, labour=[1.0, 2.0], labels=["grain", "iron"])
    inv = np.linalg.inv(np.eye(2) - A)
    props = {"bread": {"grain": 5.0}, "rails": {"iron": 5.0}, "tea": {"grain": 0.1}}
    need = inv @ [5.0, 0.0] + inv @ [0.0, 5.0]
    cap = np.array([need[0] - 1.0, 100.0])  # grain capacity short by exactly 1 when bread and rails come together
    r = check_proposals(e, props, capacity=cap)
    assert r.alone == {"bread": True, "rails": True, "tea": True} and not r.together
    assert r.conflicts == [("bread", "rails")]
    tab = r.binding[frozenset(["bread", "rails"])]
    assert list(tab["name"]) == ["grain"] and list(tab["kind"]) == ["capacity"]
    assert tab["excess"].iloc[0] == pytest.approx(1.0, rel=1e-7)
    assert r.labour["bread"] == pytest.approx(np.array([1.0, 2.0]) @ inv @ [5.0, 0.0], rel=1e-8)
    assert list(r.summary.columns) == ["bread", "rails", "tea", "all"]
    assert r.summary.loc["feasible", "all"] == False


def test_labour_supply_conflict_and_a_proposal_infeasible_alone():
    e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]), labour=[1.0, 2.0], labour_supply=10.0)
    v = bigplan.labour_values(e).values
    r = check_proposals(e, {"a": [6.0 / v[0], 0.0], "b": [0.0, 6.0 / v[1]], "huge": [20.0, 0.0]})
    assert r.alone == {"a": True, "b": True, "huge": False}
    assert ("a", "b") in r.conflicts
    tab = r.binding[frozenset(["a", "b"])]
    assert list(tab["kind"]) == ["resource"] and tab["excess"].iloc[0] == pytest.approx(2.0, rel=1e-7)
    assert r.binding[frozenset(["huge"])]["excess"].iloc[0] == pytest.approx(20.0 * v[0] - 10.0, rel=1e-7)


def test_three_way_conflict_without_a_conflicting_pair():
    e = bigplan.Economy(np.array([[0.0, 0.0], [0.0, 0.0]]), labour=[1.0, 1.0], labour_supply=10.0)
    r = check_proposals(e, {"a": [4.0, 0.0], "b": [0.0, 4.0], "c": [3.0, 0.0]})
    assert not r.together and r.conflicts == [("a", "b", "c")]


def test_bad_limits_and_options():
    tech = technology(4)
    y = np.ones(tech.n)
    with pytest.raises(InvalidTechnologyError, match="capacity"):
        plan_activities(tech, y, capacity=-np.ones(tech.n_processes))
    with pytest.raises(InvalidTechnologyError, match="supply"):
        plan_activities(tech, y, supply=[-1.0])
    with pytest.raises(InvalidOptionError):
        plan_activities(tech, y, solver="simplex")
    with pytest.raises(InvalidTechnologyError, match="choice"):
        plan_activities(tech, y, capacity=np.ones(tech.n_processes), solver="choice")


def test_missing_lp_extra_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "highspy", None)
    tech = technology(5)
    with pytest.raises(MissingDependencyError, match=r"bigplan\[lp\]"):
        plan_activities(tech, np.ones(tech.n), capacity=np.ones(tech.n_processes))


def test_time_limit_is_a_status_not_a_wrong_answer():
    tech = Technology.synthetic(400, processes=3, inputs_per_process=10, seed=1)
    y = np.ones(tech.n)
    with pytest.raises(ConvergenceError, match="time limit"):
        plan_activities(tech, y, capacity=np.full(tech.n_processes, 50.0), time_limit=1e-6)


def test_pdlp_agrees_with_highs_after_polishing():
    jax = pytest.importorskip("jax")
    pytest.importorskip("mpax")
    jax.config.update("jax_enable_x64", True)
    tech = technology(6, n=5, per=2)
    y = np.ones(tech.n)
    cap = np.full(tech.n_processes, 3.0)
    h = plan_activities(tech, y, capacity=cap, solver="highs")
    p = plan_activities(tech, y, capacity=cap, solver="pdlp", pdlp_tol=1e-8)
    assert p.solver == "pdlp" and any("PDLP reached" in s for s in p.notes)
    assert p.objective == pytest.approx(h.objective, rel=1e-6)
    np.testing.assert_allclose(p.net_output, y, rtol=1e-8)


def test_to_frame_and_limits_by_label():
    tech = Technology([[0.1, 0.3, 0.0], [0.2, 0.0, 0.1]], makes=[0, 0, 1], labour=[1.0, 0.5, 2.0],
                      products=["grain", "iron"], processes=["hand", "tractor", "forge"])
    p = plan_activities(tech, {"grain": 1.0, "iron": 1.0}, capacity={"tractor": 0.5})
    f = p.to_frame()
    assert list(f.columns) == ["product", "activity", "capacity", "slack"]
    assert f.loc["tractor", "capacity"] == 0.5 and np.isinf(f.loc["hand", "capacity"])
    assert f.loc["tractor", "activity"] == pytest.approx(0.5) and f.loc["tractor", "slack"] == pytest.approx(0.0)
    assert list(p.binding["name"]) == ["tractor"]
    # the tractor's capacity is worth what a unit of it saves: hand labour minus tractor cost at the prices
    v_iron = p.product_prices[1]
    assert p.capacity_prices[1] == pytest.approx(p.product_prices[0] - (0.5 + 0.3 * p.product_prices[0]), rel=1e-7)
    assert v_iron == pytest.approx(2.0 / 0.9, rel=1e-9)  # the forge: v = 2 + 0.1 v
    assert p.product_prices[0] == pytest.approx((1.0 + 0.2 * v_iron) / 0.9, rel=1e-9)  # by hand at the margin


def test_proposals_on_a_technology_with_two_labour_kinds():
    tech = technology(7, n=4, per=2, kinds=2)
    free = plan_activities(tech, np.ones(4), weights=[1.0, 1.0])
    supply = np.array([np.inf, 0.75 * free.primary[1]])  # kind 1 is short for both together
    half = {i: 0.5 for i in range(4)}
    r = check_proposals(tech, {"x": half, "y": half}, supply=supply)
    assert not r.together and r.alone == {"x": True, "y": True} and r.conflicts == [("x", "y")]
    assert np.isnan(r.labour["x"]) and any("weights" in s for s in r.notes)
    assert list(r.binding[frozenset(["x", "y"])]["name"]) == ["labour_1"]
    w = check_proposals(tech, {"x": half}, supply=supply, weights=[1.0, 0.0])
    assert w.labour["x"] > 0
