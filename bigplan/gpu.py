"""The CuPy and JAX backends.

CuPy keeps ``A`` (and, for labour values, ``A^T``) as ``cupyx.scipy.sparse``
CSR matrices, so products go to cuSPARSE SpMV/SpMM; blocks are column-major
``(n, k)`` arrays (cuSPARSE's native dense layout, and every plan's column is
contiguous for the column-wise reductions).  Fused block updates are CuPy
elementwise kernels: one pass over memory each.

JAX keeps the matrix as ``jax.experimental.sparse.CSR`` on a GPU (lowered
straight to cuSPARSE) and as ``BCSR`` on the CPU (XLA's gather/scatter, faster
there), and jit-compiles each fused update; it compiles once per block shape,
so the solvers keep block widths to powers of two on it (``compiles``).  JAX runs on the CPU as
well, which is how CI tests it.  Float64 needs ``jax_enable_x64``: the JAX
backend turns it on when first created (bigplan's default tolerance, 1e-10, is
out of reach in float32), and says so in its docstring.

Neither library is imported until one of these backends is created.
"""

from __future__ import annotations

import os
from functools import cached_property

import numpy as np

from ._backend_api import Backend

__all__ = ["CupyBackend", "JaxBackend", "row_blocks", "jax_kernels", "CUSPARSE_MAX_NNZ"]

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


# One warp per row; lanes stride over the row's non-zeros, each reading a float32
# coefficient and its index once per tile of _MIXED_TILE plan columns and using them
# for every column of the tile (so a block of k <= _MIXED_TILE plans reads the matrix
# once; wider blocks re-read each row from L1, not from memory), accumulating in
# float64; warp-shuffle reduction.  Offsets, counters and strides are 64-bit.
# X and Y are column-major (n_cols x k with leading dimension ldx, and n_rows x k).
_MIXED_TILE = 8
_MIXED_SPMM_SRC = r"""
#define TILE __TILE__
extern "C" __global__ void bigplan_spmm_f32_f64(
    const long long n_rows, const long long k, const int* __restrict__ indptr,
    const int* __restrict__ indices, const float* __restrict__ data,
    const double* __restrict__ X, const long long ldx, double* __restrict__ Y)
{
    const long long warp = ((long long)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
    const int lane = threadIdx.x & 31;
    if (warp >= n_rows) return;  /* the whole warp leaves together: one row per warp */
    const long long start = indptr[warp], end = indptr[warp + 1];
    for (long long c0 = 0; c0 < k; c0 += TILE) {
        const long long w = (k - c0) < TILE ? (k - c0) : TILE;
        double acc[TILE];
#pragma unroll
        for (int t = 0; t < TILE; ++t) acc[t] = 0.0;
        for (long long jj = start + lane; jj < end; jj += 32) {
            const double a = (double)data[jj];
            const double* xc = X + c0 * ldx + (long long)indices[jj];
#pragma unroll
            for (int t = 0; t < TILE; ++t)
                if (t < w) acc[t] += a * xc[(long long)t * ldx];
        }
#pragma unroll
        for (int t = 0; t < TILE; ++t) {
            double v = acc[t];
            for (int off = 16; off > 0; off >>= 1)
                v += __shfl_down_sync(0xffffffffu, v, off);
            if (lane == 0 && t < w) Y[(c0 + t) * n_rows + warp] = v;
        }
    }
}
""".replace("__TILE__", str(_MIXED_TILE))


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
        # written into X itself: an elementwise kernel keeps the strides of a given output
        # (xp.where would allocate a C-ordered result, which cusparse.spmm refuses)
        self._where_kernel = cupy.ElementwiseKernel("bool m, T p", "T x", "if (m) x = p", "bigplan_set_columns")
        # column dots as one reduction over each (contiguous) column, accumulated in float64
        self._dot_kernel = cupy.ReductionKernel(
            "T x, T y", "float64 z", "(double)x * (double)y", "a + b", "z = a", "0", "bigplan_coldot",
            reduce_type="double",
        )

    @property
    def xp(self):
        return self._cp

    def _upload(self, x, dtype=None, order="F"):
        """A device copy of ``x``; host arrays go by a plain copy, never through CuPy's pinned pool.

        ``cupy.array`` stages a host array through a pinned buffer of its full size,
        which the pinned memory pool then keeps: at 10^8 products that is gigabytes of
        locked host memory for the rest of the process.
        """
        cp = self._cp
        if isinstance(x, cp.ndarray) or hasattr(x, "__cuda_array_interface__"):
            return cp.array(x, dtype=dtype, order=order, copy=True)
        host = np.asarray(x, dtype=dtype, order=order)
        if host.ndim == 2 and order == "F":
            # an F-ordered block is the transpose of a C-ordered one: ndarray.set copies into
            # C-ordered arrays in every CuPy version (F-ordered ones only in recent ones)
            t = cp.empty(host.shape[::-1], dtype=host.dtype)
            if host.size:
                t.set(host.T)
            return t.T
        out = cp.empty(host.shape, dtype=host.dtype)
        if host.size:
            out.set(np.ascontiguousarray(host))
        return out

    def asarray(self, x, dtype=None):
        return self._upload(x, dtype)

    def block(self, x, dtype):
        return self._upload(x, dtype)

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

    def set_columns_where(self, X, mask, part):
        cp = self._cp
        m = cp.asarray(np.asarray(mask, dtype=bool))[None, :]
        return self._where_kernel(m, cp.asarray(part, dtype=X.dtype), X)

    def operator(self, csr, dtype):
        """cuSPARSE CSR blocks of at most 2**31 - 1 non-zeros each (int32 indices).

        cuSPARSE wants int32 indices: a matrix with more non-zeros is split into
        row blocks, each multiplied separately into its rows of the output.
        float32 storage with float64 plans uses bigplan's own mixed-precision
        kernel (reads 4-byte coefficients, accumulates in float64).
        """
        up = self._upload
        mixed = csr.dtype == np.float32 and np.dtype(dtype) == np.float64
        blocks = []
        for r0, r1 in row_blocks(csr.indptr, CUSPARSE_MAX_NNZ):
            s0, s1 = int(csr.indptr[r0]), int(csr.indptr[r1])
            indptr = up((csr.indptr[r0 : r1 + 1] - s0).astype(np.int32))
            indices = up(csr.indices[s0:s1].astype(np.int32, copy=False))
            if mixed:
                data = up(csr.data[s0:s1])
                blocks.append((r0, r1, _MixedCsr(indptr, indices, data, (r1 - r0, csr.shape[1]))))
            else:
                data = up(csr.data[s0:s1], dtype=dtype)
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
        X = self._cp.asfortranarray(X)  # cusparse.spmm refuses anything else (a no-op for blocks)
        Y = out if out is not None and out is not X and out.flags.f_contiguous else self._cp.empty_like(X, order="F")
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
        return self._cp.asfortranarray(Y)

    def dense_factor(self, M, dtype):
        """LU factors of ``M`` (cuSOLVER getrf), computed once: :meth:`dense_solve` only substitutes."""
        from cupyx.scipy.linalg import lu_factor

        return lu_factor(self._upload(M, dtype), overwrite_a=True, check_finite=False)

    def dense_solve(self, factor, Y):
        from cupyx.scipy.linalg import lu_solve

        return self._cp.asfortranarray(lu_solve(factor, Y, check_finite=False))

    def coldot(self, X, Y):
        return self._dot_kernel(X, Y, axis=0)

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

    Parameters
    ----------
    sparse_format : {"auto", "csr", "bcsr"}
        How the matrix is held.  ``"csr"`` (``jax.experimental.sparse.CSR``)
        lowers straight to cuSPARSE on a GPU; ``"bcsr"`` (``BCSR``) is XLA's
        gather/scatter on the CPU, and on a GPU goes to cuSPARSE only with
        ``jax_bcoo_cusparse_lowering`` (set here), after a pass that rewrites
        the index buffers.  ``"auto"``: the environment variable
        ``BIGPLAN_JAX_SPARSE`` (``csr`` or ``bcsr``) when set, so that a
        benchmark can time both paths through ``backend="jax"``; else CSR on a
        GPU, BCSR on the CPU.
    max_nnz : int
        Largest number of non-zeros in one sparse block; larger matrices are
        split into row blocks (cuSPARSE's CSR descriptor takes int32 counts).
    """

    name = "jax"
    mutable = False
    compiles = True

    def __init__(self, sparse_format: str = "auto", max_nnz: int = CUSPARSE_MAX_NNZ):
        import jax

        if sparse_format not in ("auto", "csr", "bcsr"):
            raise ValueError(f"sparse_format must be 'auto', 'csr' or 'bcsr', got {sparse_format!r}")
        if max_nnz < 1:
            raise ValueError(f"max_nnz must be >= 1, got {max_nnz}")
        jax.config.update("jax_enable_x64", True)
        gpu = jax.devices()[0].platform == "gpu"
        if sparse_format == "auto":
            sparse_format = os.environ.get("BIGPLAN_JAX_SPARSE", "").strip().lower() or ("csr" if gpu else "bcsr")
            if sparse_format not in ("csr", "bcsr"):
                raise ValueError(f"BIGPLAN_JAX_SPARSE must be 'csr' or 'bcsr', got {sparse_format!r}")
        self.sparse_format = sparse_format
        self.max_nnz = int(max_nnz)
        if gpu and self.sparse_format == "bcsr":
            # BCSR through cuSPARSE rather than XLA's gather/scatter (which materializes
            # nnz-sized temporaries); off by default in JAX.  CSR needs no flag.
            try:
                jax.config.update("jax_bcoo_cusparse_lowering", True)
            except (AttributeError, KeyError, ValueError):  # pragma: no cover - flag renamed/removed
                pass
        import jax.numpy as jnp
        from jax.experimental import sparse as jsparse

        self._jax = jax
        self._jnp = jnp
        self._jsparse = jsparse
        self._last = None  # the latest array this backend produced (see synchronize)
        self._k = jax_kernels(jax, jnp)  # every block operation one compiled call (per shape and type)

    @property
    def xp(self):
        return self._jnp

    @property
    def cache_tag(self) -> str:
        return f"jax-{self.sparse_format}"

    @cached_property
    def platform(self) -> str:
        return self._jax.devices()[0].platform

    def _keep(self, a):
        self._last = a
        return a

    def asarray(self, x, dtype=None):
        if isinstance(x, self._jax.Array):  # immutable: sharing it is safe
            return x if dtype is None or x.dtype == dtype else x.astype(dtype)
        # jnp.asarray may share a host array's memory on the CPU, and jnp.array copies it
        # asynchronously: the caller may write into it before the copy has read it
        return self._jnp.array(x, dtype=dtype, copy=True).block_until_ready()

    def to_numpy(self, x):
        """A writeable host copy (``np.asarray`` of a JAX array is a read-only view)."""
        return np.array(x, copy=True)

    def take_columns(self, X, idx):
        return self._k.take(X, self._jnp.asarray(np.asarray(idx, dtype=np.int32)))

    def put_columns(self, X, idx, part):
        return self._keep(self._k.put(X, self._jnp.asarray(np.asarray(idx, dtype=np.int32)), part))

    def set_columns_where(self, X, mask, part):
        jnp = self._jnp
        return self._keep(self._k.set_where(jnp.asarray(np.asarray(mask, dtype=bool)), jnp.asarray(part, dtype=X.dtype), X))

    def operator(self, csr, dtype):
        """The matrix as a tuple of row blocks (one unless it exceeds ``max_nnz`` non-zeros), CSR or BCSR."""
        jnp, js = self._jnp, self._jsparse
        blocks = []
        for r0, r1 in row_blocks(csr.indptr, self.max_nnz):
            s0, s1 = int(csr.indptr[r0]), int(csr.indptr[r1])
            data = jnp.asarray(csr.data[s0:s1], dtype=dtype)
            small = max(s1 - s0, csr.shape[1]) <= CUSPARSE_MAX_NNZ
            idx_type = np.int32 if small else np.int64
            indices = jnp.asarray(csr.indices[s0:s1].astype(idx_type, copy=False))
            indptr = jnp.asarray((csr.indptr[r0 : r1 + 1] - s0).astype(idx_type))
            shape = (r1 - r0, csr.shape[1])
            if self.sparse_format == "csr":  # cuSPARSE wants one index type for both
                blocks.append(js.CSR((data, indices, indptr), shape=shape))
            else:
                blocks.append(js.BCSR((data, indices, indptr), shape=shape, indices_sorted=True, unique_indices=True))
        return tuple(blocks)

    def matmat(self, op, X, out=None):
        return self._keep(self._k.matmat(op, X))

    def i_minus(self, op, X, out=None):
        return self._keep(self._k.i_minus(op, X))

    def dense_factor(self, M, dtype):
        """LU factors of ``M`` (``jax.scipy.linalg.lu_factor``), computed once: :meth:`dense_solve` only substitutes."""
        import jax.scipy.linalg as jsl

        return jsl.lu_factor(self.asarray(M, dtype=dtype))

    def dense_solve(self, factor, Y):
        import jax.scipy.linalg as jsl

        return self._keep(jsl.lu_solve(factor, Y))

    def coldot(self, X, Y):
        return self._k.coldot(X, Y)

    def axpy(self, a, X, Y, out=None):
        return self._keep(self._k.axpy(self._jnp.asarray(a, dtype=X.dtype), X, Y))

    def p_update(self, r, p, v, beta, omega):
        return self._keep(self._k.p_update(r, p, v, beta.astype(p.dtype), omega.astype(p.dtype)))

    def xs_update(self, x, p, s, alpha, omega):
        return self._keep(self._k.xs_update(x, p, s, alpha.astype(x.dtype), omega.astype(x.dtype)))

    # -- the fused Krylov set: each one compiled call, elementwise work and reductions in one pass
    def colnorm(self, X):
        return self._k.colnorm(X)

    def coldot2(self, X, Y):
        return self._k.coldot2(X, Y)

    def lincomb(self, X, Y, b, out=None):
        return self._keep(self._k.axpy(self._jnp.asarray(b, dtype=X.dtype), Y, X))

    def axpy_dots(self, a, X, Y, Z, out=None):
        W, ww, zw = self._k.axpy_dots(self._jnp.asarray(a, dtype=X.dtype), X, Y, Z)
        return self._keep(W), ww, zw

    def i_minus_dot(self, op, X, Z, out=None):
        Y, zy = self._k.i_minus_dot(op, X, Z)
        return self._keep(Y), zy

    def i_minus_dot2(self, op, X, out=None):
        T, tt, tx = self._k.i_minus_dot2(op, X)
        return self._keep(T), tt, tx

    def step_end(self, X, P, S, T, Z, alpha, omega, out=None):
        X, R, rr, zr = self._k.step_end(X, P, S, T, Z, alpha.astype(X.dtype), omega.astype(X.dtype))
        self._keep(R)
        return X, R, rr, zr

    def residual(self, op, B, X, out_dtype=None, out=None):
        R, rn = self._k.residual(op, B, X, out_dtype=np.dtype(out_dtype or X.dtype).name)
        return self._keep(R), rn

    def bicg_beta(self, live, rho, rho_prev, alpha, omega):
        return self._k.beta(live, rho, rho_prev, alpha, omega)

    def bicg_alpha(self, live, rho, denom):
        return self._k.alpha(live, rho, denom)

    def bicg_omega(self, live, tt, ts):
        return self._k.omega(live, tt, ts)

    def bicg_flags(self, rr, ok_a, ok_w, omega):
        return self._k.flags(rr, ok_a, ok_w, omega)

    def synchronize(self) -> None:
        """Wait for the work queued so far: the latest block produced, which a device runs after all before it."""
        last, self._last = self._last, None
        if last is not None:
            self._jax.block_until_ready(last)
        self._jax.effects_barrier()

    def memory_available(self) -> int | None:
        if self.platform != "gpu":
            return None
        stats = self._jax.devices()[0].memory_stats() or {}
        limit = stats.get("bytes_limit")
        used = stats.get("bytes_in_use", 0)
        return None if limit is None else int(limit - used)


def jax_kernels(jax, jnp, product=None):
    """The jit-compiled block operations of :class:`JaxBackend` (one compilation per shape and type).

    ``product(op, X)``, the sparse product every fused operation is built on, defaults to the row blocks of
    :meth:`JaxBackend.operator`; the sharded backend (:mod:`bigplan._jax_shard`) passes its own.
    """
    from functools import partial
    from types import SimpleNamespace

    def dot(X, Y):
        return jnp.einsum("ij,ij->j", X, Y)

    def row_block_product(op, X):
        return op[0] @ X if len(op) == 1 else jnp.concatenate([blk @ X for blk in op], axis=0)

    product = product or row_block_product

    def i_minus(op, X):
        return X - product(op, X)

    def axpy(a, X, Y):
        return Y + (a.reshape(1, -1) if a.ndim else a) * X

    zero = jnp.zeros(())

    def beta(live, rho, rho_prev, alpha, omega):
        return jnp.where(live, (rho / rho_prev) * (alpha / omega), zero.astype(rho.dtype))

    def alpha(live, rho, denom):
        ok = (denom != 0) & jnp.isfinite(denom) & (rho != 0)
        return jnp.where(ok & live, rho / jnp.where(ok, denom, 1), zero.astype(rho.dtype)), ok

    def omega(live, tt, ts):
        ok = (tt > 0) & jnp.isfinite(tt)
        return jnp.where(ok & live, ts / jnp.where(ok, tt, 1), zero.astype(tt.dtype)), ok

    def flags(rr, ok_a, ok_w, om):
        return jnp.stack([jnp.sqrt(jnp.maximum(rr, 0)), (ok_a & ok_w & (om != 0)).astype(rr.dtype)])

    def axpy_dots(a, X, Y, Z):
        W = axpy(a, X, Y)
        return W, dot(W, W), dot(Z, W)

    def i_minus_dot(op, X, Z):
        Y = i_minus(op, X)
        return Y, dot(Z, Y)

    def i_minus_dot2(op, X):
        T = i_minus(op, X)
        return T, dot(T, T), dot(T, X)

    def step_end(X, P, S, T, Z, al, om):
        X = X + al[None, :] * P + om[None, :] * S
        R = S - om[None, :] * T
        return X, R, dot(R, R), dot(Z, R)

    def residual(op, B, X, out_dtype):
        R = B - i_minus(op, X)
        return R.astype(out_dtype), jnp.sqrt(dot(R, R))

    plain = {
        "p_update": lambda r, p, v, b, w: r + b[None, :] * (p - w[None, :] * v),
        "xs_update": lambda x, p, s, al, om: x + al[None, :] * p + om[None, :] * s,
        "axpy": axpy,
        "coldot": dot,
        "coldot2": lambda X, Y: (dot(X, X), dot(X, Y)),
        "colnorm": lambda X: jnp.sqrt(dot(X, X)),
        "matmat": product,
        "i_minus": i_minus,
        "set_where": lambda mask, part, X: jnp.where(mask[None, :], part, X),
        "take": lambda X, idx: X[:, idx],  # one compilation per pair of widths, index checks included
        "put": lambda X, idx, part: X.at[:, idx].set(part),
        "beta": beta,
        "alpha": alpha,
        "omega": omega,
        "flags": flags,
        "axpy_dots": axpy_dots,
        "i_minus_dot": i_minus_dot,
        "i_minus_dot2": i_minus_dot2,
        "step_end": step_end,
    }
    kernels = {name: jax.jit(fn) for name, fn in plain.items()}
    kernels["residual"] = partial(jax.jit, static_argnames="out_dtype")(residual)
    return SimpleNamespace(**kernels)
