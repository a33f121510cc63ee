"""The NumPy/SciPy backend.

Sparse products call SciPy's compiled CSR kernels (``csr_matvec`` for one plan,
``csr_matvecs`` for a row-major block of plans) on row slices balanced by
non-zeros, one slice per thread; the kernels release the GIL, so the threads
run in parallel.  Row slices of a CSR matrix share its arrays: no copy.  Large
block updates are split the same way.  Blocks are C-ordered ``(n, k)`` arrays,
which is the layout ``csr_matvecs`` reads fastest (each non-zero touches ``k``
contiguous numbers).
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .backend import Backend

try:  # SciPy's compiled kernels, which accumulate into a given output buffer
    from scipy.sparse import _sparsetools as _st

    _HAVE_ST = hasattr(_st, "csr_matvec") and hasattr(_st, "csr_matvecs")
except ImportError:  # pragma: no cover - very old or very new SciPy
    _st = None
    _HAVE_ST = False

__all__ = ["NumpyBackend", "CsrOperator", "kernels_available"]


def _load_kernels():
    """The compiled kernels (bigplan/_kernels.c) through ctypes, or None.

    ctypes releases the GIL for the duration of each call, so one call per row
    slice runs in parallel threads.  Set ``BIGPLAN_NO_KERNELS=1`` to use the
    SciPy/NumPy fallback.
    """
    if os.environ.get("BIGPLAN_NO_KERNELS"):
        return None
    try:
        spec = importlib.util.find_spec("bigplan._kernels")
        if spec is None or not spec.origin:
            return None
        lib = ctypes.CDLL(spec.origin)
        return _bind(lib)
    except (ImportError, OSError, AttributeError):  # missing or stale build: use the fallback
        return None


def _bind(lib):
    i64, vp, ci = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int
    for name in ("bigplan_spmm_d_i32", "bigplan_spmm_d_i64", "bigplan_spmm_f_i32", "bigplan_spmm_f_i64"):
        f = getattr(lib, name)
        f.argtypes = [i64, i64, i64, vp, vp, vp, vp, vp, ci]
        f.restype = None
    for name in ("bigplan_p_update", "bigplan_xs_update"):
        getattr(lib, name).argtypes = [i64, i64, i64, vp, vp, vp, vp, vp]
        getattr(lib, name).restype = None
    lib.bigplan_axpy.argtypes = [i64, i64, i64, vp, vp, vp, vp]
    lib.bigplan_axpy.restype = None
    lib.bigplan_coldot.argtypes = [i64, i64, i64, vp, vp, vp]
    lib.bigplan_coldot.restype = None
    for name in ("bigplan_spmm_csc_d_i32", "bigplan_spmm_csc_d_i64", "bigplan_spmm_csc_f_i32", "bigplan_spmm_csc_f_i64"):
        f = getattr(lib, name)
        f.argtypes = [i64, i64, i64, i64, vp, vp, vp, vp, vp, ci]
        f.restype = None
    lib.bigplan_coldot2.argtypes = [i64, i64, i64, vp, vp, vp, vp]
    lib.bigplan_coldot2.restype = None
    lib.bigplan_axpy_dots.argtypes = [i64, i64, i64, vp, vp, vp, vp, vp, vp, vp]
    lib.bigplan_axpy_dots.restype = None
    for name in ("bigplan_take_columns", "bigplan_put_columns"):
        getattr(lib, name).argtypes = [i64, i64, i64, i64, vp, vp, vp]
        getattr(lib, name).restype = None
    return lib


_KERNELS = _load_kernels()


def kernels_available() -> bool:
    """True when bigplan's compiled CPU kernels are loaded."""
    return _KERNELS is not None

# below this many numbers, one thread is faster than handing work out
_PARALLEL_MIN = 1 << 17


@dataclass(frozen=True)
class CsrOperator:
    """A host CSR matrix, its row slices balanced by non-zeros, and how to multiply.

    ``mode="gather"``: each thread computes its rows of ``A X`` from the CSR
    (row ``i`` gathers rows of ``X``).  ``mode="scatter"``: each thread holds
    its rows of ``A`` by columns (``scatter`` = one CSC block per row slice) and
    adds row ``j`` of ``X``, read in order, into the rows of ``j``'s inputs.
    Scatter wins when rows are hubs (a few suppliers used by very many
    products): their rows of the output stay in cache, where a gather would
    fetch a scattered row of ``X`` for every non-zero.
    """

    csr: object  # scipy.sparse.csr_matrix
    bounds: tuple  # ((r0, r1), ...)
    mode: str = "gather"
    scatter: tuple = ()  # ((r0, r1, indptr, indices, data), ...) for mode="scatter"

    @property
    def shape(self):
        return self.csr.shape


def _hub_rows(csr) -> bool:
    """Whether some rows are hubs: far more non-zeros in the fullest row than in the fullest column."""
    if csr.nnz < _PARALLEL_MIN:
        return False
    row_max = int(np.diff(csr.indptr).max())
    col_max = int(np.bincount(csr.indices, minlength=csr.shape[1]).max())
    return row_max > 4 * col_max


def _default_threads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    env = os.environ.get("BIGPLAN_NUM_THREADS")
    if env:
        n = max(1, int(env))
    return max(1, n)


def _ptr(a) -> int:
    return a.ctypes.data


_TILE = 1 << 15  # numbers per tile in the NumPy fallback: temporaries stay in cache


class NumpyBackend(Backend):
    """NumPy/SciPy on the host CPU, multi-threaded over row slices.

    Parameters
    ----------
    threads : int, optional
        Worker threads (default: the CPUs this process may use, or
        ``BIGPLAN_NUM_THREADS``).
    kernels : bool, optional
        Use the compiled kernels when available (default); False forces the
        SciPy/NumPy fallback.
    """

    name = "numpy"
    mutable = True

    def __init__(self, threads: int | None = None, kernels: bool = True):
        self.threads = threads or _default_threads()
        self._pool_obj = None
        self._pool_pid = None
        self._k = _KERNELS if kernels else None

    @property
    def _pool(self):
        """The worker pool, made anew in a forked child (a parent's threads do not survive fork)."""
        if self.threads <= 1:
            return None
        if self._pool_pid != os.getpid():
            self._pool_obj = ThreadPoolExecutor(self.threads, thread_name_prefix="bigplan")
            self._pool_pid = os.getpid()
        return self._pool_obj

    @property
    def xp(self):
        return np

    @property
    def uses_kernels(self) -> bool:
        return self._k is not None

    # -- data movement -------------------------------------------------------
    def asarray(self, x, dtype=None):
        return np.array(x, dtype=dtype, order="C", copy=True)

    def block(self, x, dtype):
        return np.array(x, dtype=dtype, order="C", copy=True)

    def to_numpy(self, x):
        return np.asarray(x)

    def put_columns(self, X, idx, part):
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if self._fast(X, part):
            n, k, kk = X.shape[0], X.shape[1], idx.size
            f = self._k.bigplan_put_columns
            self._run(lambda r0, r1: f(r0, r1, k, kk, _ptr(X), _ptr(idx), _ptr(part)), self._row_chunks(n, part.size))
            return X
        X[:, idx] = part
        return X

    def take_columns(self, X, idx):
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        n = X.shape[0]
        out = np.empty((n, idx.size), dtype=X.dtype)
        if self._fast(X):
            k, kk = X.shape[1], idx.size
            f = self._k.bigplan_take_columns
            self._run(lambda r0, r1: f(r0, r1, k, kk, _ptr(X), _ptr(idx), _ptr(out)), self._row_chunks(n, X.size))
            return out
        rows = max(1, _TILE // max(X.shape[1], 1))

        def f(r0, r1):  # row tiles: each gathers from a cache-sized piece of X
            for t0 in range(r0, r1, rows):
                t1 = min(r1, t0 + rows)
                np.take(X[t0:t1], idx, axis=1, out=out[t0:t1])

        self._run(f, self._row_chunks(n, X.size))
        return out

    # -- threading helpers ---------------------------------------------------
    def _row_chunks(self, n: int, size: int):
        if self._pool is None or size < _PARALLEL_MIN:
            return [(0, n)]
        edges = np.linspace(0, n, self.threads + 1).astype(np.int64)
        return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:]) if b > a]

    def _run(self, fn, chunks):
        if len(chunks) == 1:
            return [fn(*chunks[0])]
        return list(self._pool.map(lambda c: fn(*c), chunks))

    def _fast(self, *arrays) -> bool:
        """Whether the compiled kernels apply: float64, C-contiguous blocks."""
        return self._k is not None and all(a.dtype == np.float64 and a.flags.c_contiguous for a in arrays)

    def _elementwise(self, kernel, numpy_tile, n, k, *args):
        """Run a fused update over row slices: compiled, or NumPy in small tiles."""
        if kernel and self._fast(*args):
            ptrs = [_ptr(a) for a in args]
            self._run(lambda r0, r1: kernel(r0, r1, k, *ptrs), self._row_chunks(n, n * k))
            return
        rows = max(1, _TILE // max(k, 1))

        def f(r0, r1):
            for t0 in range(r0, r1, rows):
                numpy_tile(t0, min(r1, t0 + rows))

        self._run(f, self._row_chunks(n, n * k))

    # -- operators -----------------------------------------------------------
    def operator(self, csr, dtype):
        if csr.dtype != dtype and not (self._k is not None and csr.dtype == np.float32 and dtype == np.float64):
            csr = csr.astype(dtype)
        n = csr.shape[0]
        if self._pool is None or csr.nnz < _PARALLEL_MIN:
            bounds = ((0, n),)
        else:
            targets = np.linspace(0, csr.nnz, self.threads + 1)[1:-1]
            cuts = np.searchsorted(csr.indptr, targets).tolist()
            edges = [0, *cuts, n]
            bounds = tuple((a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a)
        if self._k is None or not _hub_rows(csr):
            return CsrOperator(csr, bounds)
        blocks = []
        for r0, r1 in bounds:
            c = csr[r0:r1].tocsc()
            c.sort_indices()
            rows = c.indices.astype(csr.indices.dtype, copy=False) + csr.indices.dtype.type(r0)
            blocks.append((r0, r1, c.indptr.astype(csr.indices.dtype, copy=False), rows, c.data))
        return CsrOperator(csr, bounds, "scatter", tuple(blocks))

    def _spmm_rows(self, op, X, out, r0, r1, subtract):
        A = op.csr
        k = X.shape[1]
        if op.mode == "scatter" and self._fast(X, out):
            blk = next(b for b in op.scatter if b[0] == r0)
            _, _, ip, ind, data = blk
            f = getattr(
                self._k,
                f"bigplan_spmm_csc_{'d' if data.dtype == np.float64 else 'f'}_{'i32' if ind.dtype == np.int32 else 'i64'}",
            )
            f(r0, r1, A.shape[1], k, _ptr(ip), _ptr(ind), _ptr(data), _ptr(X), _ptr(out), int(subtract))
            return
        if self._fast(X, out) and A.dtype in (np.float64, np.float32):
            f = getattr(
                self._k,
                f"bigplan_spmm_{'d' if A.dtype == np.float64 else 'f'}_{'i32' if A.indices.dtype == np.int32 else 'i64'}",
            )
            f(r0, r1, k, _ptr(A.indptr), _ptr(A.indices), _ptr(A.data), _ptr(X), _ptr(out), int(subtract))
            return
        o = out[r0:r1]
        o.fill(0)
        Ax = A.data if A.dtype == X.dtype else A.data.astype(X.dtype)
        if _HAVE_ST and X.flags.c_contiguous and o.flags.c_contiguous:
            ip = A.indptr[r0 : r1 + 1]
            if k == 1:
                _st.csr_matvec(r1 - r0, A.shape[1], ip, A.indices, Ax, X.reshape(-1), o.reshape(-1))
            else:
                _st.csr_matvecs(r1 - r0, A.shape[1], k, ip, A.indices, Ax, X.reshape(-1), o.reshape(-1))
        else:  # pragma: no cover - public fallback
            o[...] = A[r0:r1] @ X
        if subtract:
            np.subtract(X[r0:r1], o, out=o)

    def _spmm(self, op, X, out, subtract):
        if out is None or out is X:
            out = np.empty_like(X)
        self._run(lambda r0, r1: self._spmm_rows(op, X, out, r0, r1, subtract), list(op.bounds))
        return out

    def matmat(self, op, X, out=None):
        return self._spmm(op, X, out, subtract=False)

    def i_minus(self, op, X, out=None):
        return self._spmm(op, X, out, subtract=True)

    def dense_factor(self, M, dtype):
        from scipy.linalg import lu_factor

        return lu_factor(np.asarray(M, dtype=dtype), check_finite=False)

    def dense_solve(self, lu_and_piv, Y):
        from scipy.linalg import lu_solve

        return lu_solve(lu_and_piv, Y, check_finite=False)

    # -- block arithmetic ----------------------------------------------------
    def coldot(self, X, Y):
        n, k = X.shape
        chunks = self._row_chunks(n, n * k)
        if self._fast(X, Y):
            parts = [np.empty(k) for _ in chunks]
            self._run(
                lambda r0, r1: self._k.bigplan_coldot(
                    r0, r1, k, _ptr(X), _ptr(Y), _ptr(parts[chunks.index((r0, r1))])
                ),
                chunks,
            )
        elif k == 1:
            parts = self._run(lambda a, b: np.array([np.dot(X[a:b, 0], Y[a:b, 0])]), chunks)
        else:
            parts = self._run(lambda a, b: np.einsum("ij,ij->j", X[a:b], Y[a:b]), chunks)
        return parts[0] if len(parts) == 1 else np.sum(parts, axis=0)

    def coldot2(self, X, Y):
        n, k = X.shape
        if not self._fast(X, Y):
            return super().coldot2(X, Y)
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._k.bigplan_coldot2
        self._run(lambda i: f(*chunks[i], k, _ptr(X), _ptr(Y), _ptr(parts[i][0]), _ptr(parts[i][1])), [(i,) for i in range(len(chunks))])
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    def axpy_dots(self, a, X, Y, Z, out=None):
        out = Y if out is None else out
        n, k = X.shape
        a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=X.dtype), (k,)))
        if not self._fast(X, Y, Z, out, a):
            return super().axpy_dots(a, X, Y, Z, out=out)
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._k.bigplan_axpy_dots
        ptrs = (_ptr(a), _ptr(X), _ptr(Y), _ptr(out), _ptr(Z))
        self._run(lambda i: f(*chunks[i], k, *ptrs, _ptr(parts[i][0]), _ptr(parts[i][1])), [(i,) for i in range(len(chunks))])
        return out, sum(p[0] for p in parts), sum(p[1] for p in parts)

    def axpy(self, a, X, Y, out=None):
        out = Y if out is None else out
        n, k = X.shape
        a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=X.dtype), (k,)))

        def tile(r0, r1):
            if out is Y:
                out[r0:r1] += X[r0:r1] * a
            else:
                np.multiply(X[r0:r1], a, out=out[r0:r1])
                out[r0:r1] += Y[r0:r1]

        self._elementwise(self._k and self._k.bigplan_axpy, tile, n, k, a, X, Y, out)
        return out

    def p_update(self, r, p, v, beta, omega):
        n, k = p.shape
        beta = np.ascontiguousarray(beta, dtype=p.dtype)
        omega = np.ascontiguousarray(omega, dtype=p.dtype)
        bo = beta * omega

        def tile(r0, r1):
            pp = p[r0:r1]
            pp *= beta
            pp -= v[r0:r1] * bo
            pp += r[r0:r1]

        self._elementwise(self._k and self._k.bigplan_p_update, tile, n, k, r, p, v, beta, omega)
        return p

    def xs_update(self, x, p, s, alpha, omega):
        n, k = x.shape
        alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
        omega = np.ascontiguousarray(omega, dtype=x.dtype)

        def tile(r0, r1):
            xx = x[r0:r1]
            xx += p[r0:r1] * alpha
            xx += s[r0:r1] * omega

        self._elementwise(self._k and self._k.bigplan_xs_update, tile, n, k, x, p, s, alpha, omega)
        return x
