"""Regression tests for what the robustness campaign (benchmarks/probe_campaign.py) found in the static core.

Each test is one finding: the probe's reproduction, the typed error it now raises (or the answer, checked
against a dense NumPy solve).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bigplan
from bigplan.errors import BigplanError, InvalidOptionError, LabelError, ShapeError

A3 = np.array([[0.1, 0.2, 0.0], [0.05, 0.1, 0.3], [0.2, 0.0, 0.1]])
L3 = ["a", "b", "c"]
Y3 = np.array([1.0, 2.0, 3.0])


@pytest.fixture(scope="module")
def e3():
    return bigplan.Economy(A3, labour=[1.0, 2.0, 0.5], labels=L3)


@pytest.mark.parametrize("k", [0, -1, 2.7, "x", True, float("nan"), None])
def test_choose_method_refuses_bad_k(e3, k):
    # was: choose_method(e3, 2.7) / (e3, -1) / (e3, "x") answered as if k were valid
    with pytest.raises(InvalidOptionError, match="k"):
        bigplan.choose_method(e3, k)


def test_choose_method_refuses_a_raw_matrix():
    # was: AttributeError: 'numpy.ndarray' object has no attribute 'n'
    with pytest.raises(InvalidOptionError, match="Economy"):
        bigplan.choose_method(A3, 1)


def test_choose_method_valid_k(e3):
    name, reason = bigplan.choose_method(e3, np.int64(5))
    assert name in ("direct", "bicgstab", "neumann", "refined") and reason


@pytest.mark.parametrize("flag", ["raise_on_failure", "keep_on_device"])
@pytest.mark.parametrize("value", ["x", 1, None])
def test_flags_are_booleans(e3, flag, value):
    # was: raise_on_failure='x' taken as truthy, keep_on_device='x' as "keep"
    if flag == "keep_on_device" and value is None:
        sol = bigplan.solve_output(e3, Y3, keep_on_device=None)  # None: the documented default
        assert np.allclose(sol.output, np.linalg.solve(np.eye(3) - A3, Y3))
        return
    with pytest.raises(InvalidOptionError, match=flag):
        bigplan.solve_output(e3, Y3, **{flag: value})
    with pytest.raises(InvalidOptionError, match=flag):
        bigplan.labour_values(e3, **{flag: value})


@pytest.mark.parametrize("ragged", [[[1.0, 2.0], [3.0]], [[1.0, 2.0, 3.0], [1.0]]])
def test_ragged_input_is_a_shape_error(e3, ragged):
    # was: NumPy's "setting an array element with a sequence" ValueError
    with pytest.raises(ShapeError, match="ragged"):
        bigplan.solve_output(e3, ragged)
    with pytest.raises(ShapeError, match="ragged"):
        bigplan.labour_values(e3, labour=ragged)
    with pytest.raises(ShapeError, match="ragged"):
        bigplan.labour_values(e3, x0=ragged)


@pytest.mark.parametrize("items, error", [(None, LabelError), ([["a"]], LabelError), (5, LabelError),
                                          ([{"a": 1}], LabelError)])
def test_positions_refuses_non_lists(e3, items, error):
    # was: TypeError 'NoneType' object is not iterable; NotImplementedError from pandas for [['a']]
    with pytest.raises(error):
        e3.positions(items)


def test_positions_of_tuple_labels_still_work():
    e = bigplan.Economy(A3, labels=pd.MultiIndex.from_tuples([("x", 1), ("x", 2), ("y", 1)]))
    assert e.positions([("y", 1), ("x", 1)]).tolist() == [2, 0]


@pytest.mark.parametrize("fn", ["solve_output", "labour_values"])
@pytest.mark.parametrize("rtol", [1e-10, 1e-9])
def test_float32_with_unreachable_rtol_says_so(e3, fn, rtol):
    # was: ConvergenceError "the dense system is ill-conditioned; check for products with column sums
    # near 1" for a spectral radius of 0.4: advice wrong for the case at hand
    call = getattr(bigplan, fn)
    args = (Y3,) if fn == "solve_output" else ()
    with pytest.raises(InvalidOptionError, match="float32") as info:
        call(e3, *args, dtype=np.float32, rtol=rtol)
    assert "ill-conditioned" not in str(info.value)


def test_float32_with_reachable_rtol_is_checked_against_dense(e3):
    sol = bigplan.solve_output(e3, pd.Series([3.0, 1.0, 2.0], index=["c", "a", "b"]), dtype=np.float32, rtol=1e-5)
    ref = np.linalg.solve(np.eye(3) - A3, Y3)
    assert sol.converged
    assert np.max(np.abs(sol.output - ref)) / np.max(np.abs(ref)) < 1e-5
    vals = bigplan.labour_values(e3, dtype=np.float32, rtol=1e-5)
    vref = np.linalg.solve((np.eye(3) - A3).T, [1.0, 2.0, 0.5])
    assert np.max(np.abs(vals.values - vref)) / np.max(np.abs(vref)) < 1e-5


def test_float32_with_atol_still_solves(e3):
    # an absolute tolerance float32 can meet is not refused
    sol = bigplan.solve_output(e3, Y3, dtype=np.float32, rtol=1e-10, atol=1e-4)
    assert np.allclose(sol.output, np.linalg.solve(np.eye(3) - A3, Y3), rtol=1e-5)


def test_every_refusal_here_is_a_bigplan_error():
    assert issubclass(InvalidOptionError, BigplanError) and issubclass(ShapeError, BigplanError)


def _rand_A(seed):
    """benchmarks/probe_campaign.py's random economy (seeded), loaded from the script."""
    import importlib.util
    import sys
    from pathlib import Path

    mod = sys.modules.get("probe_campaign")
    if mod is None:
        path = Path(__file__).resolve().parents[1] / "benchmarks" / "probe_campaign.py"
        spec = importlib.util.spec_from_file_location("probe_campaign", path)
        mod = sys.modules.setdefault("probe_campaign", importlib.util.module_from_spec(spec))
        spec.loader.exec_module(mod)
    return mod.rand_A(seed)


@pytest.mark.parametrize("seed", [1066, 1268])
def test_tight_radius_upper_is_certified_and_tight(seed):
    # random_static:1066 / 1268: the productivity certificate stops at upper 0.99998 (true radius 0.984 /
    # 0.976), so Neumann refused with "would need about 914,422 iterations"; the tightened bound gives ~1,100
    from bigplan._methods import neumann_iterations, tight_radius_upper

    A = _rand_A(seed)
    e = bigplan.Economy(A)
    rho = max(abs(np.linalg.eigvals(A)))
    assert e.productivity.upper > 0.9999  # the loose certificate this regression is about
    hi = tight_radius_upper(e)
    assert rho <= hi <= e.productivity.upper
    assert hi <= rho * (1 + 1e-3)
    assert neumann_iterations(hi, 1e-8) < 2000 < 100_000 < neumann_iterations(e.productivity.upper, 1e-8)


def test_tight_radius_upper_keeps_a_tight_certificate():
    from bigplan._methods import tight_radius_upper

    e = bigplan.Economy(A3)
    assert tight_radius_upper(e) <= e.productivity.upper
    assert tight_radius_upper(e) >= max(abs(np.linalg.eigvals(A3)))


def test_duplicate_plan_names_name_the_argument(e3):
    # was: "plan names must be unique" without saying which argument held them
    dup = pd.DataFrame(np.ones((3, 2)), index=L3, columns=["p", "p"])
    with pytest.raises(LabelError, match="final demand.*unique"):
        bigplan.solve_output(e3, dup)
    with pytest.raises(LabelError, match="labour.*unique"):
        bigplan.labour_values(e3, labour=dup)


def test_unknown_method_names_the_option(e3):
    # was: "Unknown method 'x'" when the option was solver= (dynamic.plan, inventory.replan)
    with pytest.raises(InvalidOptionError, match="method= or solver="):
        bigplan.solve_output(e3, Y3, method="x")
