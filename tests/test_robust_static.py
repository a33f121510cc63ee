"""Issue 14, static layer: no silent wrong answers.

Regression tests for each example of the issue that reaches ``Economy``,
``solve_output``, ``labour_values``, ``with_changes`` and the method objects,
then a hypothesis property suite: every call either raises a ``BigplanError``
or returns an answer whose residual, recomputed here in float64 on the scaled
system, meets the tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import bigplan
from bigplan import (
    BigplanError,
    Economy,
    InvalidDemandError,
    InvalidEconomyError,
    InvalidOptionError,
    LabelError,
    NotProductiveError,
    UnknownProductError,
)

A2 = [[0.1, 0.3], [0.2, 0.1]]
X2 = np.array([2.0, 8.0 / 3.0])  # (I - A2)^-1 [1, 2]
METHODS = ["auto", "direct", "bicgstab", "neumann", "refined"]


@pytest.fixture
def e2():
    return Economy(A2, labour=[1.0, 2.0])


def _e3():
    return Economy([[0.1, 0.3, 0.0], [0.2, 0.1, 0.0], [0.0, 0.0, 0.1]], labels=["a", "b", "c"])


# --- item 1: pandas indexes aligned or refused ------------------------------------------
@pytest.mark.parametrize("field", ["labour", "capacity", "stocks"])
def test_series_arguments_of_economy_are_aligned_by_label(field):
    e = Economy(_e3().A, labels=["a", "b", "c"], **{field: pd.Series({"c": 0.5, "b": 2.0, "a": 1.0})})
    got = np.asarray(getattr(e, field)).reshape(-1)
    np.testing.assert_array_equal(got, [1.0, 2.0, 0.5])


@pytest.mark.parametrize("field", ["labour", "capacity", "stocks"])
def test_series_with_unknown_label_is_refused(field):
    with pytest.raises(UnknownProductError, match="'d'"):
        Economy(_e3().A, labels=["a", "b", "c"], **{field: pd.Series({"c": 0.5, "b": 2, "a": 1, "d": 3})})


def test_labour_values_aligns_a_labour_series():
    e = _e3()
    got = bigplan.labour_values(e, labour=pd.Series({"c": 0.5, "b": 2.0, "a": 1.0})).values
    want = bigplan.labour_values(e, labour=np.array([1.0, 2.0, 0.5])).values
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(UnknownProductError, match="'z'"):
        bigplan.labour_values(e, labour=pd.Series({"c": 0.5, "b": 2, "a": 1, "z": 1}))


def test_labels_string_and_float_positions_refused():
    with pytest.raises(LabelError, match="string"):
        Economy(A2, labels="ab")
    with pytest.raises(UnknownProductError, match="whole-number"):
        Economy(A2).with_changes({(0.9, 1.7): 0.25})


# --- item 2: working precision ----------------------------------------------------------
@pytest.mark.parametrize("dtype", [int, bool, np.int32, np.float16, complex, np.complex128, "float128", "U3"])
def test_working_dtype_other_than_float32_or_float64_is_refused(e2, dtype):
    with pytest.raises(InvalidOptionError, match="float32 or numpy.float64"):
        bigplan.solve_output(e2, [1.0, 2.0], dtype=dtype)
    with pytest.raises(InvalidOptionError, match="float32 or numpy.float64"):
        bigplan.labour_values(e2, dtype=dtype)


@pytest.mark.parametrize("y", [np.array([1, 2]), np.array([1, 2], dtype=np.int8), [1, 2]])
def test_integer_demand_is_converted_not_the_working_dtype(e2, y):
    sol = bigplan.solve_output(e2, y)
    np.testing.assert_allclose(sol.output, X2, rtol=1e-12)
    assert sol.output.dtype == np.float64


def test_boolean_demand_and_float32_dtype(e2):
    sol = bigplan.solve_output(e2, np.array([True, False]))
    np.testing.assert_allclose(sol.output, np.linalg.solve(np.eye(2) - np.array(A2), [1.0, 0.0]), rtol=1e-12)
    sol32 = bigplan.solve_output(e2, [1.0, 2.0], dtype=np.float32, rtol=1e-5)
    np.testing.assert_allclose(sol32.output, X2, rtol=1e-5)


# --- item 3: magnitudes ------------------------------------------------------------------
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e300, 1e-300])
def test_extreme_demand_is_solved_linearly(e2, method, scale):
    sol = bigplan.solve_output(e2, np.array([1.0, 2.0]) * scale, method=method)
    assert sol.converged and np.isfinite(sol.residual).all() and sol.residual.max() <= 1e-10
    np.testing.assert_allclose(sol.output / scale, X2, rtol=1e-8)
    v = bigplan.labour_values(e2, np.array([1.0, 2.0]) * scale, method=method)
    assert v.converged
    want = np.linalg.solve((np.eye(2) - np.array(A2)).T, [1.0, 2.0])
    np.testing.assert_allclose(v.values / scale, want, rtol=1e-8)


def test_answer_beyond_float64_is_refused_with_a_typed_error():
    e = Economy([[0.999]], check=True)
    with pytest.raises(InvalidDemandError, match="larger units"):
        bigplan.solve_output(e, [1e306])


@pytest.mark.parametrize("method", METHODS)
def test_subnormal_answer_is_refused_not_rounded(e2, method):
    with pytest.raises(InvalidDemandError, match="smallest normal"):
        bigplan.solve_output(e2, [1e-310, 2e-310], method=method)
    with pytest.raises(InvalidDemandError, match="float64"):
        bigplan.solve_output(e2, [1e-40, 2e-40], dtype=np.float32, rtol=1e-5, method="bicgstab")


def test_refined_on_tiny_or_zero_demand(e2):
    sol = bigplan.solve_output(e2, [1e-200, 2e-200], method="refined")
    np.testing.assert_allclose(sol.output / 1e-200, X2, rtol=1e-8)
    zero = bigplan.solve_output(e2, [0.0, 0.0], method="refined", atol=1e-300)
    np.testing.assert_array_equal(zero.output, [0.0, 0.0])


# --- item 4: tolerances ------------------------------------------------------------------
@pytest.mark.parametrize(
    "kw", [dict(rtol=2), dict(rtol=1), dict(rtol=0), dict(rtol=-1), dict(rtol=math.inf), dict(rtol=math.nan),
           dict(atol=math.inf), dict(atol=math.nan), dict(atol=-1), dict(rtol="1e-8")],
)
def test_bad_tolerances_are_refused(e2, kw):
    name = next(iter(kw))
    with pytest.raises(InvalidOptionError, match=name):
        bigplan.solve_output(e2, [1.0, 2.0], **kw)
    with pytest.raises(InvalidOptionError, match=name):
        bigplan.labour_values(e2, **kw)


@pytest.mark.parametrize(
    "make",
    [lambda: bigplan.BiCGSTAB(maxiter=0), lambda: bigplan.BiCGSTAB(maxiter=2.5), lambda: bigplan.BiCGSTAB(max_restarts=-1),
     lambda: bigplan.Neumann(maxiter=0), lambda: bigplan.Neumann(maxiter=1.5), lambda: bigplan.Refined(inner_rtol=2),
     lambda: bigplan.Refined(max_outer=1.5), lambda: bigplan.Refined(inner="bicgstab"), lambda: bigplan.Direct(max_n=0)],
)
def test_bad_method_options_are_refused(make):
    with pytest.raises(InvalidOptionError):
        make()


# --- item 8: complex input ---------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [lambda: Economy(np.array([[0.1 + 1j, 0.3], [0.2, 0.1]])),
     lambda: Economy(sp.csr_matrix(np.array([[0.1 + 1j, 0.3], [0.2, 0.1]]))),
     lambda: Economy(A2, labour=np.array([1 + 1j, 2.0])),
     lambda: Economy(A2, capacity=np.array([1 + 1j, 2.0])),
     lambda: Economy(A2, stocks=np.array([1 + 1j, 2.0]))],
)
def test_complex_economy_inputs_are_refused(make):
    with pytest.raises(InvalidEconomyError, match="complex"):
        make()


def test_complex_demand_and_labour_are_refused(e2):
    with pytest.raises(InvalidDemandError, match="complex"):
        bigplan.solve_output(e2, np.array([1 + 1j, 2.0]))
    with pytest.raises(InvalidDemandError, match="complex"):
        bigplan.labour_values(e2, np.array([1 + 1j, 2.0]))


# --- items 10 and 11: no hang, advice that fits ------------------------------------------
def test_neumann_refuses_up_front_near_radius_one():
    e = Economy([[0.0, 0.999999], [0.999999, 0.0]])
    with pytest.raises(InvalidOptionError, match="bicgstab") as ei:
        bigplan.solve_output(e, [1.0, 1.0], method="neumann")
    assert "iterations" in str(ei.value) and "Neumann(maxiter" in str(ei.value)
    np.testing.assert_allclose(bigplan.solve_output(e, [1.0, 1.0], method="bicgstab").output, [1e6, 1e6], rtol=1e-6)


def test_bicgstab_advice_does_not_send_to_neumann_near_radius_one():
    n = 300
    rng = np.random.default_rng(1)
    A = sp.random(n, n, density=0.05, random_state=rng, format="csr")
    A = A / np.asarray(A.sum(axis=0)).max() * 0.999999
    e = Economy(A)
    with pytest.raises(bigplan.ConvergenceError) as ei:
        bigplan.solve_output(e, rng.random(n), method=bigplan.BiCGSTAB(maxiter=1))
    msg = str(ei.value)
    assert "maxiter" in msg and "method='direct'" in msg and "try method='neumann'" not in msg


def test_uncertifiable_economy_says_how_to_proceed():
    n = 6
    w = np.where(np.arange(n) % 2 == 0, 1.5, 0.999**2 / 1.5)
    A = sp.csr_matrix((w, (np.arange(n), (np.arange(n) + 1) % n)), shape=(n, n))
    with pytest.raises(NotProductiveError, match="certify_maxiter") as ei:
        Economy(A, certify_maxiter=1)
    assert "check=False" in str(ei.value)
    e = Economy(A, certify_maxiter=10_000)
    assert e.productivity.upper < 1
    assert e.with_changes({(0, 1): 1.5}).productivity.upper < 1
    with pytest.raises(InvalidOptionError, match="certify_maxiter"):
        Economy(A, certify_maxiter=0)


# --- item 12: raw errors ------------------------------------------------------------------
def test_raw_errors_are_typed(e2):
    v = bigplan.labour_values(e2, x0=[1.0, 1.0])
    assert v.converged
    v2 = bigplan.labour_values(e2, x0=[[1.0, 1.0]])
    np.testing.assert_allclose(v2.values, v.values, rtol=1e-10)
    with pytest.raises(InvalidOptionError, match="Economy"):
        bigplan.solve_output(np.eye(2), [1.0, 2.0])
    with pytest.raises(InvalidOptionError, match="Economy"):
        bigplan.labour_values(np.eye(2))
    with pytest.raises(InvalidEconomyError, match="no labour"):
        bigplan.labour_values(Economy(A2))
    with pytest.raises(InvalidOptionError, match="Unknown method"):
        bigplan.solve_output(e2, [1.0, 2.0], method="lu")
    with pytest.raises(InvalidEconomyError, match="dtype"):
        Economy(A2, dtype="no-such-type")
    with pytest.raises(InvalidOptionError, match="check"):
        Economy(A2, check="yes")


# --- property suite -----------------------------------------------------------------------
@st.composite
def economies(draw):
    n = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    density = draw(st.floats(0.0, 1.0))
    A = sp.random(n, n, density=density, random_state=rng, format="csr")
    rho = draw(st.floats(0.0, 0.99))
    s = float(np.asarray(A.sum(axis=0)).max()) if A.nnz else 0.0
    if s > 0:
        A = A * (rho / s)  # the largest column sum bounds the spectral radius
    labels = draw(st.sampled_from([None, "str", "int"]))
    lab = None if labels is None else ([f"p{i}" for i in range(n)] if labels == "str" else list(range(100, 100 + n)))
    return Economy(A, labels=lab), rng


DTYPES = [np.float64] * 4 + [np.float32, np.int64, np.bool_, np.complex128]


@st.composite
def demands(draw, n, rng):
    k = draw(st.integers(1, 3))
    dt = draw(st.sampled_from(DTYPES))
    expo = draw(st.integers(-300, 300))
    signs = draw(st.sampled_from(["pos", "mixed"]))
    y = rng.random((n, k))
    if signs == "mixed":
        y = y - 0.5
    if dt in (np.int64,):
        y = np.round(y * 100).astype(np.int64)
    elif dt is np.bool_:
        y = y > 0.3
    elif dt is np.complex128:
        y = y + 1j * draw(st.floats(0, 1))
    else:
        with np.errstate(over="ignore"):  # float32 past its range: inf, refused by the input layer
            y = (y * 10.0**expo).astype(dt)
    return y if draw(st.booleans()) or k > 1 else y[:, 0]


ANSWERED = {"solved": 0, "refused": 0}  # how often the property reached an answer (for tuning the draws)

OPTS = st.fixed_dictionaries(
    {
        # valid options drawn most often, so most examples reach an answer to check
        "rtol": st.sampled_from([1e-10, 1e-6, 1e-3, 0.5] * 4 + [1.0, 2.0, 0.0, -1e-3, math.inf, math.nan]),
        "method": st.sampled_from(METHODS),
        "dtype": st.sampled_from([None, np.float64, None, np.float32, int, np.float16]),
    }
)


def _check_output(e, y, sol, rtol):
    """The residual of each plan, recomputed in float64 on the plan scaled to max-abs 1."""
    A = e.A.toarray().astype(np.float64)
    Y = np.asarray(y, dtype=np.float64).reshape(e.n, -1)
    X = np.asarray(sol.output, dtype=np.float64).reshape(e.n, -1)
    assert np.isfinite(X).all()
    for j in range(Y.shape[1]):
        s = np.max(np.abs(Y[:, j]))
        if s == 0:
            assert np.all(X[:, j] == 0)
            continue
        yj, xj = Y[:, j] / s, X[:, j] / s
        r = np.linalg.norm(yj - (xj - A @ xj)) / np.linalg.norm(yj)
        # the reported residual is the solver's own; allow the rounding of the clipped negatives
        assert r <= max(10 * rtol, 1e-12) + 1e-5 * (sol.clipped > 0), (r, rtol)


@given(data=st.data(), opts=OPTS)
def test_solve_output_is_right_or_refused(data, opts):
    e, rng = data.draw(economies())
    y = data.draw(demands(e.n, rng))
    rtol = opts["rtol"]
    if opts["dtype"] == np.float32 and isinstance(rtol, float) and 0 < rtol < 1:
        rtol = max(rtol, 1e-5)
    try:
        sol = bigplan.solve_output(e, y, method=opts["method"], rtol=rtol, dtype=opts["dtype"])
    except BigplanError:
        ANSWERED["refused"] += 1
        return
    ANSWERED["solved"] += 1
    assert 0 < rtol < 1 and opts["dtype"] in (None, np.float64, np.float32)
    assert np.asarray(y).dtype.kind != "c"
    assert sol.converged and np.isfinite(sol.residual).all()
    _check_output(e, y, sol, rtol)


def test_the_property_reaches_answers():
    """The draws above are tuned so most examples are solved, not refused (a guard on the suite itself)."""
    if ANSWERED["solved"] + ANSWERED["refused"] >= 20:
        assert ANSWERED["solved"] >= ANSWERED["refused"] / 3, ANSWERED


@given(data=st.data(), opts=OPTS)
def test_labour_values_is_right_or_refused(data, opts):
    e, rng = data.draw(economies())
    l = data.draw(demands(e.n, rng))
    lab = np.asarray(l).T if np.ndim(l) == 2 else l  # (m, n)
    rtol = opts["rtol"]
    if opts["dtype"] == np.float32 and isinstance(rtol, float) and 0 < rtol < 1:
        rtol = max(rtol, 1e-5)
    try:
        v = bigplan.labour_values(e, lab, method=opts["method"], rtol=rtol, dtype=opts["dtype"])
    except BigplanError:
        return
    assert 0 < rtol < 1 and opts["dtype"] in (None, np.float64, np.float32)
    assert v.converged and np.isfinite(v.residual).all()
    A = e.A.toarray().astype(np.float64)
    L = np.atleast_2d(np.asarray(lab, dtype=np.float64))
    V = np.atleast_2d(np.asarray(v.values, dtype=np.float64))
    assert np.isfinite(V).all()
    for j in range(L.shape[0]):
        s = np.max(np.abs(L[j]))
        if s == 0:
            continue
        lj, vj = L[j] / s, V[j] / s
        r = np.linalg.norm(lj - (vj - vj @ A)) / np.linalg.norm(lj)
        assert r <= max(10 * rtol, 1e-12) + 1e-5 * 0, (r, rtol)


@given(data=st.data())
def test_with_changes_is_right_or_refused(data):
    e, rng = data.draw(economies())
    n = e.n
    i, j = data.draw(st.integers(-1, n)), data.draw(st.integers(-1, n))
    val = data.draw(st.sampled_from([0.0, 0.05, 0.5, 2.0, -0.1, math.nan, math.inf, 1 + 1j, 0.25]))
    key = (i, j) if e.labels is None else (
        e.labels[i] if 0 <= i < n else "nope", e.labels[j] if 0 <= j < n else "nope"
    )
    try:
        e2 = e.with_changes({key: val})
    except BigplanError:
        return
    assert 0 <= i < n and 0 <= j < n and isinstance(val, float) and 0 <= val < math.inf
    assert e2.A[i, j] == pytest.approx(val)
    assert e2.productivity.upper < 1
    y = rng.random(n)
    _check_output(e2, y, bigplan.solve_output(e2, y), 1e-10)


# ---------------------------------------------------------------------------
# the float64 finish after mixed-precision refinement, and advice that fits the case
# ---------------------------------------------------------------------------
def _nearly_unproductive(n: int, gap: float, seed: int = 1):
    """A sparse economy with every column sum 1 - gap: the spectral radius is exactly 1 - gap."""
    A = sp.random(n, n, density=0.02, random_state=seed, format="csr") + sp.diags(np.ones(n - 1), 1)
    A = sp.csr_matrix(A)
    return sp.csr_matrix(A @ sp.diags((1.0 - gap) / np.asarray(A.sum(axis=0)).ravel()))


def test_refinement_hands_unfinished_plans_to_float64():
    from bigplan._methods import Auto

    A = _nearly_unproductive(400, 1e-6)
    econ = bigplan.Economy(A)
    Y = np.random.default_rng(0).random((400, 3))
    sol = bigplan.solve_output(econ, Y, method=Auto(dense_below=0, refine_from=1), rtol=1e-9)
    assert sol.method == "refined"
    assert any("finished by float64 BiCGSTAB" in note for note in sol.evidence.notes)
    exact = np.linalg.solve(np.eye(400) - A.toarray(), Y)
    assert np.abs(sol.output - exact).max() <= 1e-8 * np.abs(exact).max()
    resid = np.linalg.norm(Y - (np.eye(400) - A.toarray()) @ sol.output, axis=0) / np.linalg.norm(Y, axis=0)
    assert (resid <= 1e-9 * 1.01).all() and sol.converged


@pytest.mark.parametrize("method", ["bicgstab", "refined-auto"])
def test_precision_floor_advice_says_loosen_rtol(method):
    """Past float64's reach, the advice is to loosen rtol (which then works), not another Krylov method."""
    from bigplan._methods import Auto

    A = _nearly_unproductive(400, 1e-7)
    econ = bigplan.Economy(A)
    Y = np.random.default_rng(0).random((400, 3))
    meth = Auto(dense_below=0, refine_from=1) if method == "refined-auto" else method
    with pytest.raises(bigplan.ConvergenceError, match="loosen rtol to about") as info:
        bigplan.solve_output(econ, Y, method=meth, rtol=1e-10)
    msg = str(info.value)
    assert "neumann" not in msg and "1 - 1e-07" in msg
    suggested = float(msg.split("loosen rtol to about ")[1].split(",")[0])
    assert 1e-10 < suggested < 1e-6
    assert bigplan.solve_output(econ, Y, method="bicgstab", rtol=suggested).converged


def _dense_random(seed):
    """The campaign's random dense economy (benchmarks/probe_campaign.py, rand_A)."""
    rng = np.random.default_rng([14, seed])
    n = int(rng.integers(1, 41))
    A = rng.random((n, n)) * (rng.random((n, n)) < rng.uniform(0.05, 1.0))
    return A * (rng.uniform(0.0, 0.99) / max(abs(np.linalg.eigvals(A))))


def test_neumann_not_refused_on_a_loose_certificate():
    """A certificate that stopped at 0.99998 for a radius of 0.984 is tightened before Neumann is refused."""
    from bigplan._methods import neumann_iterations
    from bigplan.solvers import NEUMANN_MAX_ITERATIONS

    A = _dense_random(1066)
    econ = bigplan.Economy(A)
    assert neumann_iterations(econ.productivity.upper, 1e-8) > NEUMANN_MAX_ITERATIONS  # would refuse untightened
    y = np.random.default_rng(0).random(A.shape[0])
    sol = bigplan.solve_output(econ, y, method="neumann", rtol=1e-8)
    assert sol.converged and sol.iterations < 20_000
    exact = np.linalg.solve(np.eye(A.shape[0]) - A, y)
    assert np.abs(sol.output - exact).max() <= 1e-6 * np.abs(exact).max()
