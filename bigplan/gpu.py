"""The CuPy and JAX backends.

CuPy keeps ``A`` (and, for labour values, ``A^T``) as ``cupyx.scipy.sparse``
CSR matrices, so products go to cuSPARSE SpMV/SpMM; blocks are column-major
``(n, k)`` arrays (cuSPARSE's native dense layout, and every plan's column is
contiguous for the column-wise reductions).  Fused block updates are CuPy
elementwise kernels: one pass over memory each.

JAX keeps the matrix as ``jax.experimental.sparse.BCSR`` (cuSPARSE on a GPU,
XLA on the CPU) and jit-compiles each fused update.  JAX runs on the CPU as
well, which is how CI tests it.  Float64 needs ``jax_enable_x64``: the JAX
backend turns it on when first created (bigplan's default tolerance, 1e-10, is
out of reach in float32), and says so in its docstring.

Neither library is imported until one of these backends is created.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from .backend import Backend

__all__ = ["CupyBackend", "JaxBackend"]


class CupyBackend(Backend):
    """CuPy on the current CUDA device (cuSPARSE SpMV/SpMM, fused kernels)."""

    name = "cupy"
    mutable = True

    def __init__(self):
        import cupy
        import cupyx.scipy.sparse as csp

        self._cp = cupy
        self._csp = csp
        self._p_kernel = cupy.ElementwiseKernel(
            "T r, T v, T beta, T omega", "T p", "p = r + beta * (p - omega * v)", "bigplan_p_update"
        )
        self._xs_kernel = cupy.ElementwiseKernel(
            "T p, T s, T alpha, T omega", "T x", "x = x + alpha * p + omega * s", "bigplan_xs_update"
        )
        self._axpy_kernel = cupy.ElementwiseKernel("T a, T x, T y", "T z", "z = y + a * x", "bigplan_axpy")

    @property
    def xp(self):
        return self._cp

    def asarray(self, x, dtype=None):
        return self._cp.array(x, dtype=dtype, order="F", copy=True)

    def block(self, x, dtype):
        return self._cp.array(x, dtype=dtype, order="F", copy=True)

    def to_numpy(self, x):
        return self._cp.asnumpy(x)

    def take_columns(self, X, idx):
        return self._cp.asfortranarray(X[:, self._cp.asarray(idx)])

    def operator(self, csr, dtype):
        cp = self._cp
        return self._csp.csr_matrix(
            (cp.asarray(csr.data, dtype=dtype), cp.asarray(csr.indices), cp.asarray(csr.indptr)),
            shape=csr.shape,
        )

    def matmat(self, op, X, out=None):
        Y = op @ X
        if out is not None and out is not X:
            out[...] = Y
            return out
        return Y

    def coldot(self, X, Y):
        return self._cp.einsum("ij,ij->j", X, Y)

    def axpy(self, a, X, Y, out=None):
        out = Y if out is None else out
        a = self._cp.asarray(a, dtype=X.dtype)
        return self._axpy_kernel(a.reshape(1, -1) if a.ndim else a, X, Y, out)

    def p_update(self, r, p, v, beta, omega):
        return self._p_kernel(r, v, beta.astype(p.dtype)[None, :], omega.astype(p.dtype)[None, :], p)

    def xs_update(self, x, p, s, alpha, omega):
        return self._xs_kernel(p, s, alpha.astype(x.dtype)[None, :], omega.astype(x.dtype)[None, :], x)

    def synchronize(self) -> None:
        self._cp.cuda.get_current_stream().synchronize()

    def memory_available(self) -> int | None:
        free, _total = self._cp.cuda.runtime.memGetInfo()
        pool = self._cp.get_default_memory_pool()
        return int(free + pool.free_bytes())


class JaxBackend(Backend):
    """JAX on its default device (GPU when present, else CPU), float64 enabled.

    Creating this backend sets ``jax_enable_x64`` to True, as bigplan's
    tolerances need float64.
    """

    name = "jax"
    mutable = False

    def __init__(self):
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse

        self._jax = jax
        self._jnp = jnp
        self._jsparse = jsparse

        @jax.jit
        def _p_update(r, p, v, beta, omega):
            return r + beta[None, :] * (p - omega[None, :] * v)

        @jax.jit
        def _xs_update(x, p, s, alpha, omega):
            return x + alpha[None, :] * p + omega[None, :] * s

        @jax.jit
        def _axpy(a, X, Y):
            return Y + (a.reshape(1, -1) if a.ndim else a) * X

        @jax.jit
        def _coldot(X, Y):
            return jnp.einsum("ij,ij->j", X, Y)

        @jax.jit
        def _matmat(op, X):
            return op @ X

        @jax.jit
        def _i_minus(op, X):
            return X - op @ X

        self._p = _p_update
        self._xs = _xs_update
        self._ax = _axpy
        self._cd = _coldot
        self._mm = _matmat
        self._im = _i_minus

    @property
    def xp(self):
        return self._jnp

    @cached_property
    def platform(self) -> str:
        return self._jax.devices()[0].platform

    def asarray(self, x, dtype=None):
        return self._jnp.asarray(x, dtype=dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def take_columns(self, X, idx):
        return X[:, self._jnp.asarray(idx)]

    def operator(self, csr, dtype):
        return self._jsparse.BCSR(
            (
                self._jnp.asarray(csr.data, dtype=dtype),
                self._jnp.asarray(csr.indices),
                self._jnp.asarray(csr.indptr),
            ),
            shape=csr.shape,
            indices_sorted=True,
            unique_indices=True,
        )

    def matmat(self, op, X, out=None):
        return self._mm(op, X)

    def i_minus(self, op, X, out=None):
        return self._im(op, X)

    def coldot(self, X, Y):
        return self._cd(X, Y)

    def axpy(self, a, X, Y, out=None):
        return self._ax(self._jnp.asarray(a, dtype=X.dtype), X, Y)

    def p_update(self, r, p, v, beta, omega):
        return self._p(r, p, v, beta.astype(p.dtype), omega.astype(p.dtype))

    def xs_update(self, x, p, s, alpha, omega):
        return self._xs(x, p, s, alpha.astype(x.dtype), omega.astype(x.dtype))

    def synchronize(self) -> None:
        self._jnp.zeros(()).block_until_ready()

    def memory_available(self) -> int | None:
        if self.platform != "gpu":
            return None
        stats = self._jax.devices()[0].memory_stats() or {}
        limit = stats.get("bytes_limit")
        used = stats.get("bytes_in_use", 0)
        return None if limit is None else int(limit - used)
