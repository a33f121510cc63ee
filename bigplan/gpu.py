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

from ._backend_api import Backend

__all__ = ["CupyBackend", "JaxBackend", "row_blocks", "CUSPARSE_MAX_NNZ"]

#: cuSPARSE's index type is int32: at most this many non-zeros per matrix block.
CUSPARSE_MAX_NNZ = 2**31 - 1


def row_blocks(indptr: np.ndarray, max_nnz: int) -> list[tuple[int, int]]:
    """Split rows into consecutive blocks of at most ``max_nnz`` non-zeros each.

    Parameters
    ----------
    indptr : numpy.ndarray
        CSR row pointer (length ``n + 1``).
    max_nnz : int
        Largest block.

    Returns
    -------
    list of (r0, r1)
        Row ranges covering ``0..n``.

    Raises
    ------
    InsufficientMemoryError
        A single row holds more than ``max_nnz`` non-zeros.
    """
    from .errors import InsufficientMemoryError

    n = len(indptr) - 1
    out = []
    r0 = 0
    while r0 < n:
        target = int(indptr[r0]) + max_nnz
        r1 = int(np.searchsorted(indptr, target, side="right")) - 1
        r1 = min(max(r1, r0), n)
        if r1 == r0:
            raise InsufficientMemoryError(
                f"row {r0} holds {int(indptr[r0 + 1] - indptr[r0])} non-zeros, more than a cuSPARSE block "
                f"can index ({max_nnz}); use backend='numpy'"
            )
        out.append((r0, r1))
        r0 = r1
    return out or [(0, 0)]


class _RowBlocks:
    """A device matrix held as row blocks (each within cuSPARSE's int32 limit)."""

    def __init__(self, shape, blocks):
        self.shape = shape
        self.blocks = blocks


class _MixedCsr:
    """float32 CSR on the device, multiplied with float64 blocks by bigplan's kernel."""

    def __init__(self, indptr, indices, data, shape):
        self.indptr, self.indices, self.data, self.shape = indptr, indices, data, shape


# One warp per row; lanes stride over the row's non-zeros, reading the float32
# coefficient and int32 index once per plan column, accumulating in float64;
# warp-shuffle reduction.  X and Y are column-major (n_cols x k and n_rows x k).
_MIXED_SPMM_SRC = r"""
extern "C" __global__ void bigplan_spmm_f32_f64(
    const long long n_rows, const long long k, const int* __restrict__ indptr,
    const int* __restrict__ indices, const float* __restrict__ data,
    const double* __restrict__ X, const long long ldx, double* __restrict__ Y)
{
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (warp >= n_rows) return;
    const int start = indptr[warp], end = indptr[warp + 1];
    for (long long c = 0; c < k; ++c) {
        const double* xc = X + c * ldx;
        double acc = 0.0;
        for (int jj = start + lane; jj < end; jj += 32)
            acc += (double)data[jj] * xc[indices[jj]];
        for (int off = 16; off > 0; off >>= 1)
            acc += __shfl_down_sync(0xffffffffu, acc, off);
        if (lane == 0) Y[c * n_rows + warp] = acc;
    }
}
"""


class CupyBackend(Backend):
    """CuPy on the current CUDA device (cuSPARSE SpMV/SpMM, fused kernels)."""

    name = "cupy"
    mutable = True
    order = "F"

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

    def as_block(self, x, dtype):
        if isinstance(x, self._cp.ndarray) and x.ndim == 2 and x.dtype == dtype and x.flags.f_contiguous:
            return x
        return self.block(x, dtype)

    def zeros(self, shape, dtype):
        return self._cp.zeros(shape, dtype=dtype, order="F")

    def to_numpy(self, x):
        return self._cp.asnumpy(x)

    def take_columns(self, X, idx):
        return self._cp.asfortranarray(X[:, self._cp.asarray(idx)])

    def operator(self, csr, dtype):
        """cuSPARSE CSR blocks of at most 2**31 - 1 non-zeros each (int32 indices).

        cuSPARSE wants int32 indices: a matrix with more non-zeros is split into
        row blocks, each multiplied separately into its rows of the output.
        float32 storage with float64 plans uses bigplan's own mixed-precision
        kernel (reads 4-byte coefficients, accumulates in float64).
        """
        cp = self._cp
        mixed = csr.dtype == np.float32 and np.dtype(dtype) == np.float64
        blocks = []
        for r0, r1 in row_blocks(csr.indptr, CUSPARSE_MAX_NNZ):
            s0, s1 = int(csr.indptr[r0]), int(csr.indptr[r1])
            indptr = cp.asarray((csr.indptr[r0 : r1 + 1] - s0).astype(np.int32))
            indices = cp.asarray(csr.indices[s0:s1].astype(np.int32, copy=False))
            if mixed:
                data = cp.asarray(csr.data[s0:s1])
                blocks.append((r0, r1, _MixedCsr(indptr, indices, data, (r1 - r0, csr.shape[1]))))
            else:
                data = cp.asarray(csr.data[s0:s1], dtype=dtype)
                blocks.append((r0, r1, self._csp.csr_matrix((data, indices, indptr), shape=(r1 - r0, csr.shape[1]))))
        return _RowBlocks(csr.shape, tuple(blocks))

    def _product(self, blk, X):
        if isinstance(blk, _MixedCsr):
            return self._mixed_spmm(blk, X)
        return blk @ X

    def _mixed_spmm(self, blk, X):
        cp = self._cp
        kern = self._mixed_kernel
        n_rows, n_cols = blk.shape
        k = X.shape[1]
        Xf = cp.asfortranarray(X)
        Y = cp.empty((n_rows, k), dtype=cp.float64, order="F")
        warps_per_block = 8
        grid = ((n_rows + warps_per_block - 1) // warps_per_block,)
        kern(
            grid,
            (32 * warps_per_block,),
            (np.int64(n_rows), np.int64(k), blk.indptr, blk.indices, blk.data, Xf, np.int64(n_cols), Y),
        )
        return Y

    @cached_property
    def _mixed_kernel(self):
        return self._cp.RawKernel(_MIXED_SPMM_SRC, "bigplan_spmm_f32_f64")

    def i_minus(self, op, X, out=None):
        """``X - A X`` in one cuSPARSE call per block (alpha=-1, beta=1 into a copy of X)."""
        from cupyx import cusparse

        plain = all(not isinstance(b, _MixedCsr) for _, _, b in op.blocks)
        if not (plain and cusparse.check_availability("spmm") and cusparse.check_availability("spmv")):
            return super().i_minus(op, X, out=out)
        Y = out if out is not None and out is not X else self._cp.empty_like(X, order="F")
        Y[...] = X
        for r0, r1, blk in op.blocks:
            if blk.nnz == 0:  # cupyx zeroes the output for an empty matrix, ignoring beta: X - 0 X = X
                continue
            if X.shape[1] == 1:
                cusparse.spmv(blk, X[:, 0], y=Y[r0:r1, 0], alpha=-1.0, beta=1.0)  # a contiguous view: in place
            elif len(op.blocks) == 1:
                cusparse.spmm(blk, X, c=Y, alpha=-1.0, beta=1.0)
            else:
                part = self._cp.asfortranarray(Y[r0:r1])
                cusparse.spmm(blk, X, c=part, alpha=-1.0, beta=1.0)
                Y[r0:r1] = part
        return Y

    def matmat(self, op, X, out=None):
        if len(op.blocks) == 1:
            Y = self._product(op.blocks[0][2], X)
        else:
            Y = self._cp.empty((op.shape[0], X.shape[1]), dtype=X.dtype, order="F")
            for r0, r1, blk in op.blocks:
                Y[r0:r1] = self._product(blk, X)
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
        if jax.devices()[0].platform == "gpu":
            # sparse products through cuSPARSE rather than XLA's gather/scatter (which
            # materializes nnz-sized temporaries); off by default in JAX
            try:
                jax.config.update("jax_bcoo_cusparse_lowering", True)
            except (AttributeError, KeyError, ValueError):  # pragma: no cover - flag renamed/removed
                pass
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
        if isinstance(x, self._jax.Array):  # immutable: sharing it is safe
            return x if dtype is None or x.dtype == dtype else x.astype(dtype)
        # jnp.asarray may share a host array's memory on the CPU, and jnp.array copies it
        # asynchronously: the caller may write into it before the copy has read it
        return self._jnp.array(x, dtype=dtype, copy=True).block_until_ready()

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
