import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

import bigplan
from bigplan import (
    BackendError,
    BackendUnavailableError,
    ConvergenceError,
    Economy,
    InvalidDemandError,
    LabelError,
    MixedBackendError,
    ShapeError,
)
from bigplan.backend import available_backends, get_backend, infer_library

from .conftest import device_array, random_productive, to_host

METHODS = ["direct", "bicgstab", "neumann", "auto"]


def dense_output(e, Y):
    return np.linalg.solve(np.eye(e.n) - e.A.toarray(), Y)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("k", [None, 1, 7])
def test_output_matches_dense_numpy(backend, method, k, small_economy):
    e = small_economy
    rng = np.random.default_rng(k or 0)
    Y = rng.random(e.n) if k is None else rng.random((e.n, k))
    sol = bigplan.solve_output(e, device_array(backend, Y), method=method, backend=backend)
    ref = dense_output(e, Y)
    out = to_host(sol.output)
    assert out.shape == Y.shape
    np.testing.assert_allclose(out, ref, rtol=1e-8, atol=1e-12)
    assert sol.converged and sol.backend == backend
    assert np.all(np.atleast_1d(sol.residual) <= 1e-10)
    assert sol.method == (method if method != "auto" else "direct")
    np.testing.assert_allclose(to_host(sol.labour), e.labour @ ref, rtol=1e-8)


@pytest.mark.parametrize("method", METHODS)
def test_labour_values_match_dense_numpy(backend, method, small_economy):
    e = small_economy
    sol = bigplan.labour_values(e, method=method, backend=backend)
    ref = np.linalg.solve((np.eye(e.n) - e.A.toarray()).T, e.labour.T).T
    vals = to_host(sol.values)
    assert vals.shape == (2, e.n)
    np.testing.assert_allclose(vals, ref, rtol=1e-8)
    assert sol.converged
    # one labour row gives a vector
    one = bigplan.labour_values(e, labour=e.labour[0], method=method, backend=backend)
    np.testing.assert_allclose(to_host(one.values), ref[0], rtol=1e-8)
    # labour values price every plan at its labour cost: v y == l x
    y = np.random.default_rng(0).random(e.n)
    x = dense_output(e, y)
    np.testing.assert_allclose(ref @ y, e.labour @ x, rtol=1e-9)


def test_larger_sparse_economy_against_dense(backend):
    A = random_productive(2500, 0.004, 0.9, seed=11)
    e = Economy(A, labour=np.ones(2500))
    Y = np.random.default_rng(2).random((2500, 5))
    M = np.eye(2500) - A.toarray()
    ref = np.linalg.solve(M, Y)
    for method in ("bicgstab", "neumann"):
        sol = bigplan.solve_output(e, Y, method=method, backend=backend)
        np.testing.assert_allclose(sol.output, ref, rtol=1e-8)
        assert sol.converged and sol.iterations > 1
    auto = bigplan.solve_output(e, Y, backend=backend)
    assert auto.method == "bicgstab" and "BiCGSTAB" in auto.reason
    vals = bigplan.labour_values(e, method="bicgstab", backend=backend)
    refv = np.linalg.solve(M.T, np.ones(2500))
    np.testing.assert_allclose(vals.values, refv, rtol=1e-8)


def test_krylov_needs_fewer_products_than_neumann():
    A = random_productive(5000, 0.004, 0.95, seed=1)
    e = Economy(A)
    y = np.random.default_rng(0).random(5000)
    kr = bigplan.solve_output(e, y, method="bicgstab")
    nm = bigplan.solve_output(e, y, method="neumann")
    assert kr.matvecs * 2 < nm.matvecs


def test_batch_equals_column_by_column(backend, small_economy):
    e = small_economy
    Y = np.random.default_rng(5).random((e.n, 6))
    batch = to_host(bigplan.solve_output(e, Y, method="bicgstab", backend=backend).output)
    for j in range(6):
        col = to_host(bigplan.solve_output(e, Y[:, j], method="bicgstab", backend=backend).output)
        np.testing.assert_allclose(batch[:, j], col, rtol=1e-9)


def test_per_plan_convergence_with_zero_and_easy_plans():
    A = random_productive(2500, 0.004, 0.9, seed=8)
    e = Economy(A)
    Y = np.zeros((2500, 3))
    Y[:, 1] = 1.0
    Y[:, 2] = np.random.default_rng(0).random(2500)
    sol = bigplan.solve_output(e, Y, method="bicgstab")
    assert np.all(sol.output[:, 0] == 0)
    assert sol.plan_iterations[0] == 0
    assert sol.converged and np.all(sol.residual <= 1e-10)


def test_warm_start_needs_fewer_iterations():
    A = random_productive(4000, 0.003, 0.9, seed=9)
    e = Economy(A)
    y = np.random.default_rng(0).random(4000)
    cold = bigplan.solve_output(e, y, method="bicgstab")
    warm = bigplan.solve_output(e, y * (1 + 1e-6), method="bicgstab", x0=cold.output)
    assert warm.iterations < cold.iterations
    np.testing.assert_allclose(warm.output, cold.output * (1 + 1e-6), rtol=1e-8)


def test_non_convergence_raises_with_residual_and_advice():
    A = random_productive(3000, 0.004, 0.99, seed=4)
    e = Economy(A)
    y = np.random.default_rng(0).random(3000)
    with pytest.raises(ConvergenceError) as ei:
        bigplan.solve_output(e, y, method=bigplan.Neumann(maxiter=3))
    err = ei.value
    assert err.residual is not None and err.residual[0] > 1e-10
    assert "maxiter" in str(err)
    assert isinstance(err, RuntimeError)
    sol = bigplan.solve_output(e, y, method=bigplan.BiCGSTAB(maxiter=1), raise_on_failure=False)
    assert not sol.converged and sol.residual > 1e-10


def test_output_non_negative_for_non_negative_demand():
    A = random_productive(3000, 0.003, 0.95, seed=6)
    e = Economy(A)
    Y = np.random.default_rng(1).random((3000, 4))
    Y[Y < 0.7] = 0.0  # many zero targets: exact outputs near zero for some products
    sol = bigplan.solve_output(e, Y, method="bicgstab")
    assert (sol.output >= 0).all()


def test_real_negative_output_is_never_hidden(small_economy):
    e = small_economy
    y = -np.ones(e.n)  # net imports exceeding everything: negative output is the truth
    sol = bigplan.solve_output(e, y)
    assert (sol.output < 0).all() and sol.clipped == 0


def test_labelled_pandas_round_trip(small_economy):
    e = small_economy
    fd = pd.DataFrame(
        {"baseline": np.ones(e.n), "more bread": np.linspace(1, 2, e.n)}, index=e.labels
    ).iloc[::-1]  # order does not matter: aligned by label
    sol = bigplan.solve_output(e, fd)
    frame = sol.to_frame()
    assert list(frame.columns) == ["baseline", "more bread"]
    assert list(frame.index) == list(e.labels)
    np.testing.assert_allclose(frame["baseline"].to_numpy(), dense_output(e, np.ones(e.n)), rtol=1e-9)
    lab = sol.labour_frame()
    assert lab.shape == (2, 2) and list(lab.columns) == ["baseline", "more bread"]
    s = bigplan.solve_output(e, pd.Series(np.ones(e.n), index=e.labels, name="base"))
    assert list(s.to_frame().columns) == ["base"]
    vf = bigplan.labour_values(e).to_frame()
    assert vf.shape == (e.n, 2) and list(vf.index) == list(e.labels)


@pytest.mark.parametrize(
    "bad, err, words",
    [
        (np.ones(59), ShapeError, "shape"),
        (np.ones((60, 0)), ShapeError, "no plans"),
        (np.ones((60, 2, 2)), ShapeError, "shape"),
        (np.r_[np.ones(59), np.nan], InvalidDemandError, "NaN"),
        (np.r_[np.ones(59), np.inf], InvalidDemandError, "infinite"),
        (np.array(["a"] * 60), InvalidDemandError, "numeric"),
    ],
)
def test_bad_final_demand(small_economy, bad, err, words):
    with pytest.raises(err, match=words):
        bigplan.solve_output(small_economy, bad)


def test_bad_labels_in_final_demand(small_economy):
    e = small_economy
    with pytest.raises(LabelError, match="lacks"):
        bigplan.solve_output(e, pd.Series(1.0, index=e.labels[:-1]))
    with pytest.raises(LabelError, match="does not have"):
        bigplan.solve_output(e, pd.Series(1.0, index=list(e.labels[:-1]) + ["salt"]))


def test_bad_options(small_economy):
    e = small_economy
    with pytest.raises(ValueError, match="Unknown method"):
        bigplan.solve_output(e, np.ones(e.n), method="lu")
    with pytest.raises(BackendError, match="unknown backend"):
        bigplan.solve_output(e, np.ones(e.n), backend="torch")
    with pytest.raises(bigplan.InvalidOptionError, match="rtol"):
        bigplan.solve_output(e, np.ones(e.n), rtol=-1)
    with pytest.raises(ShapeError, match="x0"):
        bigplan.solve_output(e, np.ones(e.n), x0=np.ones(3))
    with pytest.raises(ValueError, match="maxiter"):
        bigplan.BiCGSTAB(maxiter=0)
    with pytest.raises(TypeError, match="Economy"):
        bigplan.solve_output(e.A, np.ones(e.n))
    with pytest.raises(ValueError, match="no labour"):
        bigplan.labour_values(Economy(e.A))


def test_direct_refuses_huge_economy():
    e = Economy(sp.identity(30, format="csr") * 0.5)
    with pytest.raises(BackendError, match="dense"):
        bigplan.solve_output(e, np.ones(30), method=bigplan.Direct(max_n=10))


@pytest.mark.skipif("cupy" in available_backends(), reason="a CUDA device is present")
def test_cupy_without_device_says_how_to_fix(small_economy):
    with pytest.raises(BackendUnavailableError, match=r"bigplan\[cuda1|numpy"):
        bigplan.solve_output(small_economy, np.ones(small_economy.n), backend="cupy")


class _FakeCupy:
    pass


class _FakeJax:
    pass


_FakeCupy.__module__ = "cupy._core.core"
_FakeJax.__module__ = "jaxlib.xla_extension"


def test_mixing_two_array_libraries_is_refused():
    with pytest.raises(MixedBackendError, match="mix"):
        infer_library(_FakeCupy(), _FakeJax())
    assert infer_library(np.ones(2), None) == "numpy"
    assert infer_library(_FakeCupy(), np.ones(2)) == "cupy"


def test_explicit_backend_against_foreign_arrays():
    jnp = pytest.importorskip("jax.numpy")
    e = Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    with pytest.raises(MixedBackendError, match="jax"):
        bigplan.solve_output(e, jnp.ones(2), backend="numpy")


def test_auto_backend_follows_the_arrays():
    jnp = pytest.importorskip("jax.numpy")
    e = Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    sol = bigplan.solve_output(e, jnp.ones(2))
    assert sol.backend == "jax" and type(sol.output).__module__.startswith("jax")
    host = bigplan.solve_output(e, jnp.ones(2), keep_on_device=False)
    assert isinstance(host.output, np.ndarray)
    assert get_backend("auto", np.ones(2)).name in ("numpy", "cupy", "jax")


def test_choose_method_explains():
    small = Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    name, why = bigplan.choose_method(small)
    assert name == "direct" and "dense" in why
    big = Economy(random_productive(3000, 0.003, 0.9, seed=1))
    name, why = bigplan.choose_method(big)
    assert name == "bicgstab" and "0.9" in why
    low = Economy(random_productive(3000, 0.003, 0.1, seed=1))
    assert bigplan.choose_method(low)[0] == "neumann"


def test_float32_storage_still_converges_at_float32_tolerance():
    A = random_productive(2000, 0.005, 0.8, seed=12)
    e = Economy(A, dtype=np.float32)
    y = np.random.default_rng(0).random(2000)
    sol = bigplan.solve_output(e, y, rtol=1e-5, method="bicgstab")
    np.testing.assert_allclose(sol.output, dense_output(Economy(A), y), rtol=1e-4)


@st.composite
def productive_systems(draw):
    n = draw(st.integers(2, 40))
    seed = draw(st.integers(0, 2**31 - 1))
    rho = draw(st.floats(0.05, 0.97))
    density = draw(st.floats(0.05, 0.6))
    k = draw(st.integers(1, 4))
    A = random_productive(n, density, rho, seed)
    Y = np.random.default_rng(seed + 1).random((n, k)) * draw(st.floats(1e-3, 1e3))
    return A, Y


@given(productive_systems(), st.sampled_from(["bicgstab", "neumann", "direct"]))
def test_property_residual_positivity_and_batching(system, method):
    A, Y = system
    e = Economy(A)
    sol = bigplan.solve_output(e, Y, method=method)
    X = sol.output
    M = np.eye(e.n) - A.toarray()
    rel = np.linalg.norm(Y - M @ X, axis=0) / np.linalg.norm(Y, axis=0)
    assert np.all(rel <= 1e-9)
    assert np.all(sol.residual <= 1e-10)
    assert (X >= 0).all()
    for j in range(Y.shape[1]):
        col = bigplan.solve_output(e, Y[:, j], method=method).output
        np.testing.assert_allclose(X[:, j], col, rtol=1e-8, atol=1e-12 * np.abs(X).max())


def test_compiled_kernels_and_fallback_agree():
    from bigplan.cpu import NumpyBackend, kernels_available

    A = random_productive(2500, 0.004, 0.9, seed=21)
    e = Economy(A, labour=np.ones((2, 2500)))
    Y = np.random.default_rng(3).random((2500, 5))
    ref = np.linalg.solve(np.eye(2500) - A.toarray(), Y)
    for bk in (NumpyBackend(kernels=False), NumpyBackend(threads=1), NumpyBackend(threads=3)):
        sol = bigplan.solve_output(e, Y, method="bicgstab", backend=bk)
        np.testing.assert_allclose(sol.output, ref, rtol=1e-8)
        vals = bigplan.labour_values(e, method="bicgstab", backend=bk)
        assert vals.converged and vals.values.shape == (2, 2500)
    assert NumpyBackend().uses_kernels == kernels_available()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernel_primitives_match_numpy(dtype):
    """Every compiled block kernel against NumPy, for float64 and float32 blocks (refinement's inner solves)."""
    from bigplan.cpu import NumpyBackend

    rng = np.random.default_rng(0)
    A = random_productive(30000, 0.0003, 0.8, seed=2)
    Ad = A.astype(dtype).astype(np.float64)  # the coefficients as the kernels see them
    tol = dict(rtol=1e-12, atol=1e-13) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-6)
    fast, slow = NumpyBackend(), NumpyBackend(kernels=False)
    for k in (1, 3, 70):  # 70 > one column tile of the kernel
        X, Y, Z = (rng.random((30000, k)).astype(dtype) for _ in range(3))
        a, b = rng.random(k).astype(dtype), rng.random(k).astype(dtype)
        X64, Y64, Z64, a64, b64 = (v.astype(np.float64) for v in (X, Y, Z, a, b))
        for bk in (fast, slow):
            op = bk.operator(A, dtype)
            assert bk.matmat(op, X).dtype == dtype
            np.testing.assert_allclose(bk.matmat(op, X), Ad @ X64, **tol)
            np.testing.assert_allclose(bk.i_minus(op, X), X64 - Ad @ X64, **tol)
            np.testing.assert_allclose(bk.coldot(X, Y), (X64 * Y64).sum(0), rtol=1e-6 if dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(bk.axpy(a, X, Y.copy()), Y64 + a64 * X64, **tol)
            np.testing.assert_allclose(bk.axpy(a, X, Y, out=np.empty_like(Y)), Y64 + a64 * X64, **tol)
            np.testing.assert_allclose(bk.p_update(X, Y.copy(), Z, a, b), X64 + a64 * (Y64 - b64 * Z64), **tol)
            np.testing.assert_allclose(bk.xs_update(X.copy(), Y, Z, a, b), X64 + a64 * Y64 + b64 * Z64, **tol)
            xx, xy = bk.coldot2(X, Y)
            np.testing.assert_allclose(xx, (X64 * X64).sum(0), rtol=1e-6 if dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(xy, (X64 * Y64).sum(0), rtol=1e-6 if dtype == np.float32 else 1e-12)
            W, ww, zw = bk.axpy_dots(a, X, Y.copy(), Z)
            assert W.dtype == dtype
            np.testing.assert_allclose(W, Y64 + a64 * X64, **tol)
            np.testing.assert_allclose(ww, ((Y64 + a64 * X64) ** 2).sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12)
            np.testing.assert_allclose(zw, (Z64 * (Y64 + a64 * X64)).sum(0), rtol=1e-5 if dtype == np.float32 else 1e-12)
            dtol = dict(rtol=1e-5) if dtype == np.float32 else dict(rtol=1e-11)
            M = X64 - Ad @ X64
            # i_minus_dot has no kernel of its own: tests/test_backend_contract.py checks its generic version
            T, tt, tx = bk.i_minus_dot2(op, X)
            np.testing.assert_allclose(T, M, **tol)
            np.testing.assert_allclose(tt, (M * M).sum(0), **dtol)
            np.testing.assert_allclose(tx, (M * X64).sum(0), **dtol)
            S = Y.copy()
            Xn, Rn, rr, zr = bk.step_end(X.copy(), Y, S, Z, X, a, b, out=S)  # r written over s, as BiCGSTAB does
            np.testing.assert_allclose(Xn, X64 + a64 * Y64 + b64 * Y64, **tol)
            Rref = Y64 - b64 * Z64
            np.testing.assert_allclose(Rn, Rref, **tol)
            np.testing.assert_allclose(rr, (Rref * Rref).sum(0), **dtol)
            np.testing.assert_allclose(zr, (X64 * Rref).sum(0), **dtol)
            if dtype == np.float64:  # the refinement residual: float64, optionally rounded to float32
                for out in (np.float64, np.float32):
                    R, rn = bk.residual(op, Y, X, out_dtype=out)
                    assert R.dtype == out
                    np.testing.assert_allclose(R, Y - M, rtol=1e-12 if out == np.float64 else 1e-6)
                    np.testing.assert_allclose(rn, np.linalg.norm(Y - M, axis=0), rtol=1e-12)
                D = Z.astype(np.float32)
                np.testing.assert_allclose(bk.add_widened(X.copy(), D), X + D.astype(np.float64), rtol=1e-15)
            Xr = X.copy()
            Xr[17, 0] = np.nan
            Xr[5, k - 1] = -np.inf if k > 1 else Xr[5, 0]
            lo, hi = bk.colrange(Xr)
            assert np.isnan(lo[0]) and np.isnan(hi[0])
            if k > 1:
                assert lo[k - 1] == -np.inf
                np.testing.assert_array_equal(lo[1:], Xr[:, 1:].min(0).astype(np.float64))
                np.testing.assert_array_equal(hi[1:], Xr[:, 1:].max(0).astype(np.float64))
            cols = np.array([k - 1, 0]) if k > 1 else np.array([0])
            np.testing.assert_array_equal(bk.take_columns(X, cols), X[:, cols])
            W = X.copy()
            W[:, cols] = Y[:, : cols.size]
            np.testing.assert_array_equal(bk.put_columns(X.copy(), cols, np.ascontiguousarray(Y[:, : cols.size])), W)
        if dtype == np.float64:  # float32 coefficients, float64 accumulation
            op32 = fast.operator(A.astype(np.float32), np.float64)
            np.testing.assert_allclose(fast.matmat(op32, X), A.astype(np.float32).astype(np.float64) @ X, rtol=1e-12)


def test_prefetching_kernels_on_hub_suppliers_match_scipy():
    from bigplan.cpu import NumpyBackend
    from bigplan.synthetic import technical_matrix

    # hub suppliers: rows far fuller than columns; several threads, so row slices split the matrix
    A = technical_matrix(40000, inputs_per_product=10, seed=3)
    fast, slow = NumpyBackend(threads=3), NumpyBackend(kernels=False)
    op = fast.operator(A, np.float64)
    assert len(op.bounds) == 3
    rng = np.random.default_rng(1)
    for k in (1, 5, 70):  # 70 > the kernel's column tile of 64
        X = rng.random((40000, k))
        np.testing.assert_allclose(fast.matmat(op, X), A @ X, rtol=1e-12)
        np.testing.assert_allclose(fast.i_minus(op, X), X - A @ X, rtol=1e-12, atol=1e-14)
        op32 = fast.operator(A.astype(np.float32), np.float64)
        np.testing.assert_allclose(fast.matmat(op32, X), A.astype(np.float32).astype(np.float64) @ X, rtol=1e-12)
    e = Economy(A)
    y = rng.random(40000)
    a = bigplan.solve_output(e, y, method="bicgstab", backend=fast)
    b = bigplan.solve_output(e, y, method="bicgstab", backend=slow)
    np.testing.assert_allclose(a.output, b.output, rtol=1e-9)


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")  # JAX, imported by other tests, warns on any fork
def test_numpy_backend_works_in_a_forked_child():
    import multiprocessing as mp

    if "fork" not in mp.get_all_start_methods():
        pytest.skip("no fork on this platform")
    A = random_productive(20000, 0.0005, 0.8, seed=5)  # enough non-zeros for the threaded product
    e = Economy(A)
    y = np.ones(20000)
    parent = bigplan.solve_output(e, y, method="bicgstab").output  # the parent's pool now exists
    with mp.get_context("fork").Pool(1) as pool:
        child = pool.apply_async(_solve_in_child, (A, y)).get(timeout=120)
    np.testing.assert_allclose(child, parent, rtol=1e-12)


def _solve_in_child(A, y):
    return bigplan.solve_output(Economy(A), y, method="bicgstab").output
