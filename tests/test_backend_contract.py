"""The backend contract: every primitive of every backend here, against NumPy.

As CuPy's ``numpy_cupy_allclose`` does, each test runs one body on a backend
and compares what it returns with a plain NumPy computation on the host, on
float64 and float32 blocks of 1, 2, 7 and 64 plans.  The backends: NumPy with
its compiled kernels, NumPy with SciPy's kernels (``kernels=False``), a
backend implementing only the required core (so the generic fused operations
of ``bigplan._krylov_ops`` are checked on their own), JAX, and CuPy where a
CUDA device is present.  Each is seen as the solvers see it, through
``krylov_backend``: the fused operations it defines, the generic ones
otherwise.  A GPU primitive is thereby checked on its own, not only through
whole solves.

Every block a primitive returns must be usable by the next one: in the
backend's memory order (``Backend.order``: C for NumPy, where the kernels need
it, F for CuPy, where cuSPARSE needs it), or, where the library decides the
order (JAX), of the right shape and type and accepted by ``i_minus``.
"""

from __future__ import annotations

import ctypes.util
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

import bigplan
from bigplan._backend_api import Backend
from bigplan._kernel_sigs import ABI_VERSION, SIGNATURES, kernels_path, load_kernels
from bigplan._krylov_ops import FUSED_OPS, KrylovBackend, krylov_backend
from bigplan.backend import get_backend
from bigplan.cpu import NumpyBackend, kernels_available
from bigplan.errors import BackendError

from .conftest import BACKEND_PARAMS, random_productive, to_host

N = 2100  # 64 plans x N > 2**17 numbers and nnz > 2**17: the NumPy backend splits the work over threads
KS = [1, 2, 7, 64]
DTYPES = [np.float64, np.float32]


class CoreOnly(Backend):
    """A backend of the required core alone, on NumPy: the solvers must run on it unchanged."""

    name = "core-only"

    @property
    def xp(self):
        return np

    def asarray(self, x, dtype=None):
        return np.array(x, dtype=dtype, copy=True)

    def to_numpy(self, x):
        return np.asarray(x)

    def operator(self, csr, dtype):
        return sp.csr_matrix(csr, dtype=dtype)

    def matmat(self, op, X, out=None):
        return np.asarray(op @ X, dtype=X.dtype)

    def coldot(self, X, Y):
        return np.einsum("ij,ij->j", X, Y, dtype=np.float64)

    def axpy(self, a, X, Y, out=None):
        Z = Y + np.asarray(a, dtype=X.dtype) * X
        if out is None:
            out = Y
        out[...] = Z
        return out


# the backends of conftest.BACKEND_PARAMS (with their skip marks), NumPy in three variants
VARIANTS = [
    pytest.param(("numpy", "kernels"), id="numpy"),
    pytest.param(("numpy", "scipy"), id="numpy-scipy"),
    pytest.param(("numpy", "core-only"), id="core-only"),
    *(pytest.param((p.values[0], None), id=p.id, marks=p.marks) for p in BACKEND_PARAMS if p.values[0] != "numpy"),
]


@pytest.fixture(params=VARIANTS)
def bk(request):
    """Each backend here, seen as the solvers see it: with the fused set (its own, or the generic one)."""
    name, variant = request.param
    if variant == "core-only":
        raw = CoreOnly()
    elif name == "numpy":
        raw = NumpyBackend(threads=3, kernels=(variant == "kernels"))
    else:
        raw = get_backend(name)
    return krylov_backend(raw)


@pytest.fixture(scope="module")
def matrix():
    return random_productive(N, 0.03, 0.9, seed=11)


def _tol(dtype):
    return 1e-12 if np.dtype(dtype) == np.float64 else 2e-5


def check(got, want, dtype, scale=None):
    """``got`` (any library) equals ``want`` (float64 host) to the precision of ``dtype``.

    ``scale`` bounds the size of the terms summed into ``want`` (by default its largest
    entry), so that cancellation is not mistaken for error.
    """
    got = np.asarray(to_host(got), dtype=np.float64)
    assert got.shape == np.shape(want)
    tol = _tol(dtype)
    scale = np.max(np.abs(want), initial=1e-300) if scale is None else scale
    err = np.abs(got - want)
    bound = tol * np.abs(want) + tol * scale
    assert np.all(err <= bound), f"max error {np.max(err - bound):.3g} above the {np.dtype(dtype)} tolerance"


def check_block(bk, Y, shape, dtype, op=None):
    """``Y`` is a block the next primitive can take: shape, type and memory order."""
    assert tuple(Y.shape) == tuple(shape)
    assert np.dtype(Y.dtype) == np.dtype(dtype), f"{Y.dtype} returned for {np.dtype(dtype)} blocks"
    if bk.order == "C":
        assert Y.flags.c_contiguous, "the NumPy backend's kernels need C-ordered blocks"
    elif bk.order == "F":
        assert Y.flags.f_contiguous, "cuSPARSE needs F-ordered blocks"
    elif op is not None:  # the library decides the order: the next product must accept it
        Z = bk.i_minus(op, Y)
        assert tuple(Z.shape) == tuple(shape) and np.dtype(Z.dtype) == np.dtype(dtype)


def host_dots(X, Y):
    """Column dots and the sums of |x y| that bound their rounding."""
    return (X * Y).sum(0), np.abs(X * Y).sum(0)


class Data:
    """Random host blocks of one type and width, as float64 references and as the backend's blocks."""

    def __init__(self, bk, A, k, dtype, seed=0):
        self.bk, self.k, self.dtype = bk, k, np.dtype(dtype)
        self.rng = np.random.default_rng(seed + 7 * k)
        self.A = A
        self.Ad = A.astype(self.dtype).astype(np.float64)  # the coefficients as the backend sees them
        self.op = bk.operator(A, self.dtype)

    def host(self, signed=False):
        x = self.rng.standard_normal((N, self.k)) if signed else self.rng.random((N, self.k)) + 0.1
        return x.astype(self.dtype).astype(np.float64)

    def dev(self, x):
        return self.bk.block(x, self.dtype)

    def scalars(self, signed=True):
        """Per-plan scalars on the device (float64, as the solvers' dot products give them on NumPy)."""
        a = self.rng.standard_normal(self.k) if signed else self.rng.random(self.k) + 0.1
        a = a.astype(self.dtype).astype(np.float64)
        return a, self.bk.xp.asarray(a)


sizes = pytest.mark.parametrize("k", KS)
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])


# ---------------------------------------------------------------------------
# the required core
# ---------------------------------------------------------------------------
@dtypes
@sizes
def test_moving_arrays(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x = d.host()
    a = bk.asarray(x, dtype=dtype)
    check(a, x, dtype)
    back = bk.to_numpy(a)
    assert isinstance(back, np.ndarray) and back.dtype == dtype
    np.testing.assert_array_equal(back, x.astype(dtype))
    B = bk.block(x, dtype)
    check_block(bk, B, (N, k), dtype, d.op)
    check(B, x, dtype)
    src = x.astype(dtype)
    B2 = bk.block(src, dtype)
    src[0, 0] = 99.0  # a block is a copy: writing the source leaves it alone
    assert to_host(B2)[0, 0] == np.float64(x[0, 0]).astype(dtype)
    B3 = bk.block(B, dtype)  # a block of a block is a copy too
    if bk.mutable:
        B3[...] = 0
        check(B, x, dtype)
    for y in (bk.as_block(B, dtype), bk.as_block(x, dtype)):  # read-only use: may be the block itself
        check_block(bk, y, (N, k), dtype, d.op)
        check(y, x, dtype)


@dtypes
@sizes
def test_zeros_and_copy_into_survive_the_workspace(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x = d.host()
    junk = d.dev(d.host() + 5.0)
    bk.release(junk)  # the backend may keep it for the next block of this shape
    Z = bk.zeros((N, k), dtype)
    check_block(bk, Z, (N, k), dtype, d.op)
    assert not to_host(Z).any(), "zeros() handed out a kept block without clearing it"
    W = bk.copy_into(Z, d.dev(x))
    check_block(bk, W, (N, k), dtype, d.op)
    check(W, x, dtype)
    bk.release(W)
    B = bk.block(x * 2, dtype)  # may reuse W's memory, and must hold exactly its own numbers
    check(B, x * 2, dtype)


@dtypes
@sizes
def test_take_and_put_columns(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, y = d.host(), d.host()
    idx = np.array([k - 1, 0]) if k > 1 else np.array([0])
    T = bk.take_columns(d.dev(x), idx)
    check_block(bk, T, (N, idx.size), dtype, d.op)
    check(T, x[:, idx], dtype)
    part = bk.take_columns(d.dev(y), np.arange(idx.size))
    want = x.copy()
    want[:, idx] = y[:, : idx.size]
    P = bk.put_columns(d.dev(x), idx, part)
    check_block(bk, P, (N, k), dtype, d.op)
    check(P, want, dtype)


@dtypes
@sizes
def test_set_columns_where(bk, matrix, k, dtype):
    """A BiCGSTAB restart: masked columns replaced, the block still in the order the next product needs."""
    d = Data(bk, matrix, k, dtype)
    x, y = d.host(signed=True), d.host(signed=True)
    mask = np.zeros(k, bool)
    mask[:: 2 if k > 1 else 1] = True
    for part, part_h in ((d.dev(y), y), (0.0, 0.0)):
        want = np.where(mask[None, :], part_h, x)
        W = bk.set_columns_where(d.dev(x), mask, part)
        check_block(bk, W, (N, k), dtype, d.op)
        check(W, want, dtype)
        check(bk.i_minus(d.op, W), want - d.Ad @ want, dtype, (np.abs(want) + np.abs(d.Ad) @ np.abs(want)).max())
    W = bk.set_columns_where(d.dev(x), np.zeros(k, bool), d.dev(y))  # an empty mask changes nothing
    check(W, x, dtype)


@dtypes
@sizes
@pytest.mark.parametrize("index", [np.int32, np.int64], ids=["i32", "i64"])
def test_products(bk, matrix, k, dtype, index):
    A = matrix.copy()
    A.indices, A.indptr = A.indices.astype(index), A.indptr.astype(index)
    d = Data(bk, A, k, dtype)
    x = d.host()
    X = d.dev(x)
    AX = d.Ad @ x
    scale = np.abs(d.Ad) @ np.abs(x)
    Y = bk.matmat(d.op, X)
    check_block(bk, Y, (N, k), dtype, d.op)
    check(Y, AX, dtype, scale.max())
    M = bk.i_minus(d.op, X)
    check_block(bk, M, (N, k), dtype, d.op)
    check(M, x - AX, dtype, (scale + np.abs(x)).max())
    check(X, x, dtype)  # i_minus never writes into its input
    if bk.mutable:  # into a given block
        out = bk.zeros((N, k), dtype)
        check(bk.matmat(d.op, X, out=out), AX, dtype, scale.max())
        check(bk.i_minus(d.op, X, out=out), x - AX, dtype, (scale + np.abs(x)).max())
        check(X, x, dtype)


@pytest.mark.parametrize("k", KS)
def test_float32_coefficients_into_float64_blocks(bk, matrix, k):
    A32 = matrix.astype(np.float32)
    op = bk.operator(A32, np.float64)
    x = np.random.default_rng(k).random((N, k))
    want = A32.astype(np.float64) @ x
    Y = bk.matmat(op, bk.block(x, np.float64))
    check_block(bk, Y, (N, k), np.float64, op)
    check(Y, want, np.float64, (abs(A32.astype(np.float64)) @ x).max())
    check(bk.i_minus(op, bk.block(x, np.float64)), x - want, np.float64, (want + x).max())


@dtypes
@sizes
def test_coldot_and_axpy(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, y = d.host(signed=True), d.host(signed=True)
    want, scale = host_dots(x, y)
    got = bk.coldot(d.dev(x), d.dev(y))
    assert tuple(got.shape) == (k,)
    check(got, want, dtype, scale)
    a_h, a = d.scalars()
    for coef, coef_h in ((a, a_h), (-0.5, -0.5)):  # per plan, and one scalar
        W = bk.axpy(coef, d.dev(x), d.dev(y))
        check_block(bk, W, (N, k), dtype, d.op)
        check(W, y + coef_h * x, dtype, (np.abs(y) + np.abs(coef_h * x)).max())
        if bk.mutable:
            out = bk.zeros((N, k), dtype)
            W = bk.axpy(coef, d.dev(x), d.dev(y), out=out)
            assert W is out
            check(out, y + coef_h * x, dtype, (np.abs(y) + np.abs(coef_h * x)).max())


@pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])
def test_dense_factor_and_solve(bk, dtype):
    n = 60
    A = random_productive(n, 0.2, 0.8, seed=4).toarray()
    M = np.eye(n) - A
    y = np.random.default_rng(5).random((n, 3))
    fac = bk.dense_factor(M.astype(dtype), dtype)
    X = bk.dense_solve(fac, bk.block(y, dtype))
    check_block(bk, X, (n, 3), dtype)
    want = np.linalg.solve(M.astype(dtype).astype(np.float64), y.astype(dtype).astype(np.float64))
    np.testing.assert_allclose(to_host(X), want, rtol=1e-10 if dtype == np.float64 else 1e-4)


def test_synchronize_and_memory(bk):
    assert bk.synchronize() is None
    free = bk.memory_available()
    assert free is None or (isinstance(free, int) and free >= 0)
    assert bk.order in ("C", "F", None) and isinstance(bk.mutable, bool)


# ---------------------------------------------------------------------------
# the fused Krylov set
# ---------------------------------------------------------------------------
@dtypes
@sizes
def test_reductions(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, y = d.host(signed=True), d.host(signed=True)
    X, Y = d.dev(x), d.dev(y)
    xx, sxx = host_dots(x, x)
    xy, sxy = host_dots(x, y)
    check(bk.colnorm(X), np.sqrt(xx), dtype)
    g1, g2 = bk.coldot2(X, Y)
    check(g1, xx, dtype, sxx)
    check(g2, xy, dtype, sxy)
    xr = x.copy()
    xr[17, 0] = np.nan
    if k > 1:
        xr[5, k - 1] = -np.inf
    lo, hi = bk.colrange(bk.block(xr, dtype))
    assert isinstance(lo, np.ndarray) and lo.dtype == np.float64 and lo.shape == (k,)
    assert np.isnan(lo[0]) and np.isnan(hi[0])
    if k > 1:
        assert lo[k - 1] == -np.inf
        np.testing.assert_array_equal(lo[1:], xr[:, 1:].astype(dtype).min(0))
        np.testing.assert_array_equal(hi[1:], xr[:, 1:].astype(dtype).max(0))


@dtypes
@sizes
def test_block_updates(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    r, p, v, z = (d.host(signed=True) for _ in range(4))
    (b_h, beta), (w_h, omega) = d.scalars(), d.scalars()
    scale = (np.abs(r) + np.abs(b_h) * (np.abs(p) + np.abs(w_h * v))).max()
    P = bk.p_update(d.dev(r), d.dev(p), d.dev(v), beta, omega)
    check_block(bk, P, (N, k), dtype, d.op)
    check(P, r + b_h * (p - w_h * v), dtype, scale)
    X = bk.xs_update(d.dev(r), d.dev(p), d.dev(v), beta, omega)
    check_block(bk, X, (N, k), dtype, d.op)
    check(X, r + b_h * p + w_h * v, dtype, scale)
    L = bk.lincomb(d.dev(r), d.dev(p), -0.25)
    check_block(bk, L, (N, k), dtype, d.op)
    check(L, r - 0.25 * p, dtype, (np.abs(r) + np.abs(p)).max())
    W, ww, zw = bk.axpy_dots(beta, d.dev(p), d.dev(r), d.dev(z))
    want = r + b_h * p
    check_block(bk, W, (N, k), dtype, d.op)
    check(W, want, dtype, scale)
    check(ww, host_dots(want, want)[0], dtype, host_dots(want, want)[1])
    check(zw, host_dots(z, want)[0], dtype, host_dots(z, want)[1])
    if bk.mutable:
        out = bk.zeros((N, k), dtype)
        W, _, _ = bk.axpy_dots(beta, d.dev(p), d.dev(r), d.dev(z), out=out)
        check(out, want, dtype, scale)


@dtypes
@sizes
def test_products_with_dots(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, z = d.host(signed=True), d.host(signed=True)
    m = x - d.Ad @ x
    scale = (np.abs(x) + np.abs(d.Ad) @ np.abs(x)).max()
    V, zv = bk.i_minus_dot(d.op, d.dev(x), d.dev(z))
    check_block(bk, V, (N, k), dtype, d.op)
    check(V, m, dtype, scale)
    check(zv, host_dots(z, m)[0], dtype, scale * np.abs(z).sum(0))
    X = d.dev(x)
    T, tt, tx = bk.i_minus_dot2(d.op, X, out=bk.zeros((N, k), dtype))
    check_block(bk, T, (N, k), dtype, d.op)
    check(T, m, dtype, scale)
    check(tt, host_dots(m, m)[0], dtype, scale * np.abs(m).sum(0))
    check(tx, host_dots(m, x)[0], dtype, scale * np.abs(x).sum(0))
    check(X, x, dtype)


@dtypes
@sizes
def test_step_end(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, p, s, t, z = (d.host(signed=True) for _ in range(5))
    (a_h, alpha), (w_h, omega) = d.scalars(), d.scalars()
    S = d.dev(s)
    Xn, R, rr, zr = bk.step_end(d.dev(x), d.dev(p), S, d.dev(t), d.dev(z), alpha, omega, out=S)  # as BiCGSTAB
    r = s - w_h * t
    scale = (np.abs(x) + np.abs(a_h * p) + np.abs(w_h) * (np.abs(s) + np.abs(t))).max()
    for B, want in ((Xn, x + a_h * p + w_h * s), (R, r)):
        check_block(bk, B, (N, k), dtype, d.op)
        check(B, want, dtype, scale)
    check(rr, host_dots(r, r)[0], dtype, scale * np.abs(r).sum(0))
    check(zr, host_dots(z, r)[0], dtype, scale * np.abs(z).sum(0))


@dtypes
@sizes
def test_residual(bk, matrix, k, dtype):
    d = Data(bk, matrix, k, dtype)
    x, b = d.host(), d.host()
    r = b - (x - d.Ad @ x)
    scale = (np.abs(b) + np.abs(x) + np.abs(d.Ad) @ np.abs(x)).max()
    X, B = d.dev(x), d.dev(b)
    R, rn = bk.residual(d.op, B, X)
    check_block(bk, R, (N, k), dtype, d.op)
    check(R, r, dtype, scale)
    assert tuple(rn.shape) == (k,)
    check(rn, np.linalg.norm(r, axis=0), dtype, scale * np.sqrt(N))
    check(X, x, dtype)
    check(B, b, dtype)
    if dtype == np.float64:  # iterative refinement: the float64 residual rounded to float32, into a given block
        out = bk.zeros((N, k), np.float32) if bk.mutable else None
        R32, rn = bk.residual(d.op, B, X, out_dtype=np.float32, out=out)
        check_block(bk, R32, (N, k), np.float32, bk.operator(matrix, np.float32))
        check(R32, r, np.float32, scale)
        check(rn, np.linalg.norm(r, axis=0), np.float64, scale * np.sqrt(N))


@pytest.mark.parametrize("k", KS)
def test_add_widened(bk, matrix, k):
    rng = np.random.default_rng(k)
    x, dd = rng.standard_normal((N, k)), rng.standard_normal((N, k)).astype(np.float32)
    W = bk.add_widened(bk.block(x, np.float64), bk.block(dd, np.float32))
    check_block(bk, W, (N, k), np.float64, bk.operator(matrix, np.float64))
    np.testing.assert_allclose(to_host(W), x + dd.astype(np.float64), rtol=1e-15, atol=1e-15)


def test_bicgstab_scalars(bk):
    """The per-plan step lengths, with every breakdown (zero, infinite, NaN) mapped to 0 and flagged."""
    xp = bk.xp
    rho = np.array([1.0, 2.0, 0.0, 3.0, 1.0, -1.0])
    den = np.array([2.0, 0.0, 1.0, np.inf, -4.0, np.nan])
    live = np.array([True, True, True, True, False, True])
    dev = xp.asarray
    beta = bk.bicg_beta(dev(live), dev(rho), dev(rho + 1), dev(den), dev(rho - 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        want = np.where(live, (rho / (rho + 1)) * (den / (rho - 2)), 0.0)
    np.testing.assert_array_equal(to_host(beta)[np.isfinite(want)], want[np.isfinite(want)])
    alpha, ok_a = bk.bicg_alpha(dev(live), dev(rho), dev(den))
    np.testing.assert_array_equal(to_host(ok_a), [True, False, False, False, True, False])
    np.testing.assert_array_equal(to_host(alpha), [0.5, 0.0, 0.0, 0.0, 0.0, 0.0])
    tt = np.array([4.0, 0.0, -1.0, np.inf, 2.0, 1.0])
    omega, ok_w = bk.bicg_omega(dev(live), dev(tt), dev(rho))
    np.testing.assert_array_equal(to_host(ok_w), [True, False, False, False, True, True])
    np.testing.assert_array_equal(to_host(omega), [0.25, 0.0, 0.0, 0.0, 0.0, -1.0])
    flags = to_host(bk.bicg_flags(dev(np.array([4.0, -1e-30, 9.0, 1.0, 0.0, 1.0])), ok_a, ok_w, omega))
    assert flags.shape == (2, 6)
    np.testing.assert_array_equal(flags[0], [2.0, 0.0, 3.0, 1.0, 0.0, 1.0])
    np.testing.assert_array_equal(flags[1], [1.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def test_every_block_primitive_returns_the_backends_order(bk, matrix):
    """Each block primitive's output goes straight into the next product: checked one after another.

    CuPy's ufuncs (``xp.where`` and friends) allocate C-ordered outputs, which
    ``cusparse.spmm`` refuses; NumPy's keep F order, so only a check of the
    order itself catches such a block on the CPU.
    """
    k, dtype = 7, np.float64
    d = Data(bk, matrix, k, dtype)
    x, y = d.host(signed=True), d.host(signed=True)
    X, Y = d.dev(x), d.dev(y)
    (_, a), (_, w) = d.scalars(), d.scalars()
    mask = np.arange(k) % 3 == 0
    made = {
        "block": lambda: bk.block(x, dtype),
        "asarray": lambda: bk.asarray(x, dtype=dtype),
        "as_block": lambda: bk.as_block(x, dtype),
        "zeros": lambda: bk.zeros((N, k), dtype),
        "copy_into": lambda: bk.copy_into(bk.zeros((N, k), dtype), X),
        "take_columns": lambda: bk.take_columns(X, np.arange(k)[::-1]),
        "put_columns": lambda: bk.put_columns(bk.block(x, dtype), np.array([1, 4]), bk.take_columns(Y, np.array([0, 2]))),
        "set_columns_where": lambda: bk.set_columns_where(bk.block(x, dtype), mask, Y),
        "set_columns_where(0)": lambda: bk.set_columns_where(bk.block(x, dtype), mask, 0.0),
        "matmat": lambda: bk.matmat(d.op, X),
        "i_minus": lambda: bk.i_minus(d.op, X),
        "axpy": lambda: bk.axpy(a, X, bk.block(y, dtype)),
        "lincomb": lambda: bk.lincomb(bk.block(y, dtype), X, 0.5),
        "p_update": lambda: bk.p_update(X, bk.block(y, dtype), Y, a, w),
        "xs_update": lambda: bk.xs_update(bk.block(y, dtype), X, Y, a, w),
        "i_minus_dot": lambda: bk.i_minus_dot(d.op, X, Y)[0],
        "i_minus_dot2": lambda: bk.i_minus_dot2(d.op, X)[0],
        "step_end X": lambda: bk.step_end(bk.block(x, dtype), X, bk.block(y, dtype), Y, X, a, w)[0],
        "step_end R": lambda: bk.step_end(bk.block(x, dtype), X, bk.block(y, dtype), Y, X, a, w)[1],
        "residual": lambda: bk.residual(d.op, Y, X)[0],
        "add_widened": lambda: bk.add_widened(bk.block(x, dtype), bk.block(y, np.float32)),
    }
    for name, make in made.items():
        B = make()
        try:
            check_block(bk, B, (N, k), dtype, d.op)
            bk.i_minus(d.op, B)  # the next product takes it as it is
        except AssertionError as err:
            raise AssertionError(f"{name}: {err}") from err


def test_every_primitive_has_a_contract_test():
    """A new primitive (core or fused) must come with its check here."""
    here = inspect.getsource(sys.modules[__name__])
    core = [name for name, _ in inspect.getmembers(Backend, callable) if not name.startswith("_")]
    missing = [name for name in (*core, *FUSED_OPS) if f"bk.{name}(" not in here]
    assert not missing, f"no contract test calls {missing}"


def test_a_backends_own_fused_operations_are_the_ones_used():
    """The solvers' view binds a backend's own methods (its compiled kernels), the generic ones otherwise."""
    for raw in (NumpyBackend(), CoreOnly()):
        kb = krylov_backend(raw)
        for name in FUSED_OPS:
            if getattr(type(raw), name, None) is not None:
                assert getattr(kb, name) == getattr(raw, name)
            else:
                assert getattr(kb, name).__func__ is getattr(KrylovBackend, name)
        assert kb.name == raw.name and kb.mutable == raw.mutable
        assert isinstance(kb, Backend) and get_backend(kb) is kb and krylov_backend(kb) is kb
    assert {"step_end", "residual", "i_minus_dot2", "axpy_dots"} <= set(vars(NumpyBackend))


def test_solves_run_on_a_core_only_backend(matrix):
    """The solvers need only the core: the generic fused operations stand in for the rest."""
    e = bigplan.Economy(matrix)
    y = np.random.default_rng(2).random((N, 3))
    got = bigplan.solve_output(e, y, method="bicgstab", backend=CoreOnly())
    want = bigplan.solve_output(e, y, method="bicgstab", backend="numpy")
    assert got.converged
    np.testing.assert_allclose(got.output, want.output, rtol=1e-9)


# ---------------------------------------------------------------------------
# loading the compiled kernels
# ---------------------------------------------------------------------------
needs_kernels = pytest.mark.skipif(not kernels_available(), reason="bigplan was built without its C kernels")


def test_a_library_lacking_a_kernel_is_refused():
    libm = ctypes.util.find_library("m")
    if libm is None:
        pytest.skip("no C maths library to stand in for a foreign build")
    with pytest.raises(BackendError, match="lack bigplan_abi_version.*reinstall bigplan with a C compiler"):
        load_kernels(libm)


@needs_kernels
def test_a_table_naming_a_missing_kernel_is_refused():
    table = {**SIGNATURES, "bigplan_spmm_q_i128": (None, ())}
    with pytest.raises(BackendError, match="lack bigplan_spmm_q_i128.*reinstall"):
        load_kernels(signatures=table)


@needs_kernels
def test_a_stale_build_is_refused():
    assert load_kernels() is not None
    with pytest.raises(BackendError, match=f"ABI {ABI_VERSION}.*ABI {ABI_VERSION + 1}.*stale build"):
        load_kernels(abi_version=ABI_VERSION + 1)


def test_an_unloadable_library_is_refused(tmp_path):
    bad = tmp_path / "_kernels.so"
    bad.write_bytes(b"not a shared library")
    with pytest.raises(BackendError, match="cannot be loaded.*reinstall"):
        load_kernels(str(bad))


@needs_kernels
def test_a_mismatched_build_falls_back_to_scipy_with_a_warning():
    """The process neither crashes nor calls a kernel with the wrong arguments: it warns and uses SciPy."""
    code = (
        "import warnings, numpy as np, scipy.sparse as sp\n"
        "import bigplan._kernel_sigs as ks\n"
        "ks.SIGNATURES['bigplan_spmm_q_i128'] = (None, ())\n"
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import bigplan\n"
        "    from bigplan.cpu import NumpyBackend, kernels_available\n"
        "assert not kernels_available() and not NumpyBackend().uses_kernels\n"
        "msg = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]\n"
        "assert any('bigplan_spmm_q_i128' in m and 'reinstall' in m for m in msg), msg\n"
        "A = sp.csr_matrix(np.array([[0.0, 0.5], [0.25, 0.0]]))\n"
        "x = bigplan.solve_output(bigplan.Economy(A), np.ones(2), method='bicgstab').output\n"
        "assert np.allclose(x - A @ x, 1.0), x\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "BIGPLAN_NO_KERNELS"}
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@needs_kernels
def test_kernels_path_names_the_build():
    path = kernels_path()
    assert path is not None and os.path.basename(path).startswith("_kernels")
    assert load_kernels(path).bigplan_abi_version() == ABI_VERSION
