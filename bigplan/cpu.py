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

import os
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ._backend_api import Backend
from ._kernel_sigs import load_kernels
from .errors import BackendError

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
    SciPy/NumPy fallback.  A build that does not match the signature table of
    :mod:`bigplan._kernel_sigs` (stale, or missing a kernel) is not called: the
    fallback is used and a ``RuntimeWarning`` names the fix.
    """
    if os.environ.get("BIGPLAN_NO_KERNELS"):
        return None
    try:
        return load_kernels()
    except BackendError as exc:
        warnings.warn(f"{exc}. Using SciPy's kernels meanwhile (slower).", RuntimeWarning, stacklevel=2)
        return None


_KERNELS = _load_kernels()


def kernels_available() -> bool:
    """True when bigplan's compiled CPU kernels are loaded."""
    return _KERNELS is not None

# below this many numbers, one thread is faster than handing work out
_PARALLEL_MIN = 1 << 17


@dataclass(frozen=True)
class CsrOperator:
    """A host CSR matrix and its row slices, balanced by non-zeros (one per thread).

    Each thread computes its rows of ``A X``: row ``i`` gathers the rows of
    ``X`` named by its column indices.  The compiled kernel prefetches the rows
    needed a few non-zeros ahead, so the gathers of a block of plans run near
    the memory bandwidth instead of waiting on each cache miss in turn.
    """

    csr: object  # scipy.sparse.csr_matrix
    bounds: tuple  # ((r0, r1), ...)

    @property
    def shape(self):
        return self.csr.shape


def _default_threads() -> int:
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    env = os.environ.get("BIGPLAN_NUM_THREADS")
    if env:
        n = max(1, int(env))
    return max(1, n)


_WORKSPACE_MIN = 1 << 20  # smaller blocks are left to the allocator


def _default_workspace_bytes() -> int:
    """``BIGPLAN_WORKSPACE_BYTES``, else a quarter of the machine's memory."""
    env = os.environ.get("BIGPLAN_WORKSPACE_BYTES")
    if env:
        return max(0, int(float(env)))
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 1 << 30


def _ptr(a) -> int:
    return a.ctypes.data


class _Workspace:
    """Large blocks freed by one solve, kept for the next (up to ``limit`` bytes).

    As GPU libraries keep a memory pool: a fresh page costs a fault and zeroing
    on first touch, and in virtual machines whose host reclaims freed memory
    about 2 s per GiB, more than the products.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.held = 0
        self._free: dict = {}  # (shape, dtype) -> [free blocks]
        self._lock = threading.Lock()

    def take(self, shape, dtype):
        """A kept block of this shape and type, or None."""
        key = (tuple(shape), np.dtype(dtype).str)
        with self._lock:
            free = self._free.get(key)
            if free:
                a = free.pop()
                self.held -= a.nbytes
                return a
        return None

    def put(self, arrays) -> None:
        """Keep those of ``arrays`` worth keeping: large, owning, C-ordered, writeable, within the limit."""
        with self._lock:
            for a in arrays:
                if not (isinstance(a, np.ndarray) and a.flags.owndata and a.flags.c_contiguous and a.flags.writeable):
                    continue
                if a.nbytes < _WORKSPACE_MIN or self.held + a.nbytes > self.limit:
                    continue
                free = self._free.setdefault((a.shape, a.dtype.str), [])
                if any(b is a for b in free):
                    continue
                free.append(a)
                self.held += a.nbytes

    def clear(self) -> int:
        """Drop every kept block; returns the bytes dropped."""
        with self._lock:
            held, self._free, self.held = self.held, {}, 0
        return held


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
        SciPy/NumPy fallback (as ``BIGPLAN_NO_KERNELS=1`` does for every backend).
    workspace_bytes : int, optional
        Most bytes of freed blocks kept for the next solve (default
        ``BIGPLAN_WORKSPACE_BYTES``, else a quarter of the machine's memory).

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.cpu import NumpyBackend
    >>> bk = NumpyBackend(threads=1, kernels=False)
    >>> bk.uses_kernels, bk.coldot(np.ones((3, 2)), np.ones((3, 2))).tolist()
    (False, [3.0, 3.0])
    """

    name = "numpy"
    mutable = True
    order = "C"

    def __init__(self, threads: int | None = None, kernels: bool = True, workspace_bytes: int | None = None):
        self.threads = threads or _default_threads()
        self._pool_obj = None
        self._pool_pid = None
        self._k = _KERNELS if kernels else None
        self._ws = _Workspace(_default_workspace_bytes() if workspace_bytes is None else int(workspace_bytes))
        self._take = self._ws.take

    def empty(self, shape, dtype):
        """An uninitialised C-ordered block, from the workspace when one is free."""
        a = self._take(shape, dtype)
        return np.empty(shape, dtype=dtype) if a is None else a

    def zeros(self, shape, dtype):
        a = self._take(shape, dtype)
        if a is None:
            return np.zeros(shape, dtype=dtype)  # pages are zeroed on first touch, by the kernels' threads
        self._run(lambda r0, r1: a[r0:r1].fill(0), self._row_chunks(a.shape[0], a.size))
        return a

    def copy_into(self, dst, src):
        if dst.shape != src.shape or dst.ndim != 2:
            return super().copy_into(dst, src)
        self._run(lambda r0, r1: np.copyto(dst[r0:r1], src[r0:r1], casting="unsafe"), self._row_chunks(dst.shape[0], dst.size))
        return dst

    def release(self, *arrays):
        """Hand blocks the caller will not touch again to the workspace."""
        self._ws.put(arrays)

    @property
    def workspace_bytes(self) -> int:
        """The most bytes of freed blocks kept for the next solve."""
        return self._ws.limit

    @property
    def workspace_held(self) -> int:
        """Bytes of freed blocks kept for the next solve."""
        return self._ws.held

    def release_workspace(self) -> int:
        """Free the kept blocks now; returns the bytes released."""
        return self._ws.clear()

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
    def fast_float32(self) -> bool:
        """The compiled kernels have float32-block variants (half the memory traffic)."""
        return self._k is not None

    @property
    def uses_kernels(self) -> bool:
        return self._k is not None

    # -- data movement -------------------------------------------------------
    def asarray(self, x, dtype=None):
        return np.array(x, dtype=dtype, order="C", copy=True)

    def block(self, x, dtype):
        shape = np.shape(x)
        if len(shape) != 2 or not isinstance(x, np.ndarray):
            return np.array(x, dtype=dtype, order="C", copy=True)
        a = self._take(shape, dtype)
        if a is None:
            a = np.empty(shape, dtype=dtype)
        # row slices in parallel: a fresh page is touched (faulted in and zeroed) by
        # the thread that copies into it, so this splits that cost too
        self._run(lambda r0, r1: np.copyto(a[r0:r1], x[r0:r1], casting="unsafe"), self._row_chunks(shape[0], a.size))
        return a

    def as_block(self, x, dtype):
        if isinstance(x, np.ndarray) and x.ndim == 2 and x.dtype == dtype and x.flags.c_contiguous:
            return x
        return self.block(x, dtype)

    def to_numpy(self, x):
        return np.asarray(x)

    def put_columns(self, X, idx, part):
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if self._fast(X, part):
            n, k, kk = X.shape[0], X.shape[1], idx.size
            f = self._kern("put_columns", X)
            self._run(lambda r0, r1: f(r0, r1, k, kk, _ptr(X), _ptr(idx), _ptr(part)), self._row_chunks(n, part.size))
            return X
        X[:, idx] = part
        return X

    def take_columns(self, X, idx):
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        n = X.shape[0]
        out = self.empty((n, idx.size), X.dtype)
        if self._fast(X):
            k, kk = X.shape[1], idx.size
            f = self._kern("take_columns", X)
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
        """Whether the compiled kernels apply: C-contiguous blocks, all float64 or all float32."""
        if self._k is None:
            return False
        dt = arrays[0].dtype
        return dt in (np.float64, np.float32) and all(a.dtype == dt and a.flags.c_contiguous for a in arrays)

    def _kern(self, name, X):
        """The compiled block kernel ``name`` for the dtype of block ``X``."""
        return getattr(self._k, f"bigplan_{name}{'_s' if X.dtype == np.float32 else ''}")

    def _elementwise(self, kernel, numpy_tile, n, k, *args):
        """Run a fused update over row slices: compiled, or NumPy in small tiles."""
        if self._fast(*args):
            kernel = self._kern(kernel, args[0])
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
        return CsrOperator(csr, bounds)

    def _spmm_kind(self, data_dtype, X, out) -> str | None:
        """Kernel family for these coefficients and blocks, or None for the SciPy fallback.

        ``d``: float64 coefficients and blocks; ``f``: float32 coefficients read into
        float64 blocks; ``ff``: float32 coefficients and blocks.
        """
        if not self._fast(X, out):
            return None
        if X.dtype == np.float64:
            return {np.dtype(np.float64): "d", np.dtype(np.float32): "f"}.get(np.dtype(data_dtype))
        return "ff" if data_dtype == np.float32 else None

    def _spmm_rows(self, op, X, out, r0, r1, subtract):
        A = op.csr
        k = X.shape[1]
        kind = self._spmm_kind(A.dtype, X, out)
        if kind is not None:
            f = getattr(self._k, f"bigplan_spmm_{kind}_{'i32' if A.indices.dtype == np.int32 else 'i64'}")
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
            out = self.empty(X.shape, X.dtype)
        self._run(lambda r0, r1: self._spmm_rows(op, X, out, r0, r1, subtract), list(op.bounds))
        return out

    def i_minus_dot2(self, op, X, out=None):
        """``T = (I - A) X`` with ``coldot(T, T)`` and ``coldot(T, X)`` in the product's pass."""
        A = op.csr
        n, k = X.shape
        if out is None or out is X:
            out = self.empty(X.shape, X.dtype)
        kind = self._spmm_kind(A.dtype, X, out)
        if kind is None:
            T = self.i_minus(op, X, out=out)  # SciPy product, then the dots
            return (T, *self.coldot2(T, X))
        f = getattr(self._k, f"bigplan_spmm_dots_{kind}_{'i32' if A.indices.dtype == np.int32 else 'i64'}")
        parts = [(np.empty(k), np.empty(k)) for _ in op.bounds]
        ptrs = (_ptr(A.indptr), _ptr(A.indices), _ptr(A.data), _ptr(X), _ptr(out))
        self._run(lambda i: f(*op.bounds[i], k, *ptrs, _ptr(parts[i][0]), _ptr(parts[i][1])),
                  [(i,) for i in range(len(op.bounds))])
        return out, sum(p[0] for p in parts), sum(p[1] for p in parts)

    def residual(self, op, B, X, out_dtype=None, out=None):
        A = op.csr
        n, k = X.shape
        out_dtype = np.dtype(out_dtype or X.dtype)
        kind = self._spmm_kind(A.dtype, X, X)
        if kind not in ("d", "f") or not self._fast(B, X) or out_dtype not in (np.float64, np.float32):
            MX = self.i_minus(op, X)
            R = self.axpy(-1.0, MX, B, out=MX)  # B - (I - A) X, into the product's block
            rn = np.sqrt(self.coldot(R, R))
            return (R if R.dtype == out_dtype else self.block(R, out_dtype)), rn
        f = getattr(self._k, f"bigplan_residual_{kind}_{'i32' if A.indices.dtype == np.int32 else 'i64'}")
        ok = out is not None and out.shape == (n, k) and out.dtype == out_dtype and out.flags.c_contiguous
        R = out if ok else self.empty((n, k), out_dtype)
        r64, r32 = (_ptr(R), 0) if out_dtype == np.float64 else (0, _ptr(R))
        parts = [np.empty(k) for _ in op.bounds]
        ptrs = (_ptr(A.indptr), _ptr(A.indices), _ptr(A.data), _ptr(B), _ptr(X), r64, r32)
        self._run(lambda i: f(*op.bounds[i], k, *ptrs, _ptr(parts[i])), [(i,) for i in range(len(op.bounds))])
        return R, np.sqrt(sum(parts))

    def plus_product(self, X, W, C):
        """``(W @ C) + X`` as a new C-ordered block, by row slices on the pool's threads.

        Each entry is formed exactly as ``W @ C`` then ``+ X`` would form it (a row
        slice of a matrix product is the product of the row slice), so the result
        does not depend on the number of threads.
        """
        n, k = X.shape[0], C.shape[1]
        out = np.empty((n, k), dtype=np.result_type(X, W, C))

        def f(r0, r1):
            np.matmul(W[r0:r1], C, out=out[r0:r1])
            out[r0:r1] += X[r0:r1]

        self._run(f, self._row_chunks(n, n * k))
        return out

    def moved_scan(self, X, X_old, threshold: float, abs_threshold: float, lim=None):
        """One threaded pass over a re-plan's new and old outputs (float64 C blocks), or None without kernels.

        Returns ``(peak, hits, over, worst, colmax)``: each row's largest output
        (and its first column ``worst``), the entries per row that moved by more
        than ``max(threshold |old|, abs_threshold)``, the plans per row above
        ``lim`` (where the row's peak is), and each column's largest ``|new|``.
        """
        if not self._fast(X, X_old) or X.dtype != np.float64 or X.shape != X_old.shape:
            return None
        n, k = X.shape
        if lim is not None:
            lim = np.ascontiguousarray(lim, dtype=np.float64)
        peak, worst = np.empty(n), np.empty(n, np.int64)
        hits, over = np.empty(n, np.int32), np.empty(n, np.int32)
        chunks = self._row_chunks(n, n * k)
        parts = [np.empty(k) for _ in chunks]
        f = self._k.bigplan_moved_scan
        ptrs = (_ptr(X), _ptr(X_old), None if lim is None else _ptr(lim), _ptr(peak), _ptr(hits), _ptr(over),
                _ptr(worst))
        self._run(lambda i: f(*chunks[i], k, *ptrs, _ptr(parts[i]), float(threshold), float(abs_threshold)),
                  [(i,) for i in range(len(chunks))])
        return peak, hits, over, worst, np.max(parts, axis=0) if k else np.zeros(0)

    def add_widened(self, X, D):
        if self._k is None or X.dtype != np.float64 or D.dtype != np.float32 or X.shape != D.shape \
                or not (X.flags.c_contiguous and D.flags.c_contiguous):
            return self.axpy(1.0, self.block(D, X.dtype), X, out=X)
        n, k = X.shape
        f = self._k.bigplan_add_widened
        self._run(lambda r0, r1: f(r0, r1, k, _ptr(X), _ptr(D)), self._row_chunks(n, n * k))
        return X

    def step_end(self, X, P, S, T, Z, alpha, omega, out=None):
        out = S if out is None else out
        n, k = X.shape
        alpha = np.ascontiguousarray(alpha, dtype=X.dtype)
        omega = np.ascontiguousarray(omega, dtype=X.dtype)
        if not self._fast(X, P, S, T, Z, out, alpha, omega):
            X = self.xs_update(X, P, S, alpha, omega)
            return (X, *self.axpy_dots(-omega, T, S, Z, out=out))
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._kern("step_end", X)
        ptrs = tuple(_ptr(a) for a in (X, P, S, T, Z, alpha, omega, out))
        self._run(lambda i: f(*chunks[i], k, *ptrs, _ptr(parts[i][0]), _ptr(parts[i][1])), [(i,) for i in range(len(chunks))])
        return X, out, sum(p[0] for p in parts), sum(p[1] for p in parts)

    def matmat(self, op, X, out=None):
        return self._spmm(op, X, out, subtract=False)

    def i_minus(self, op, X, out=None):
        return self._spmm(op, X, out, subtract=True)

    def dense_factor(self, M, dtype):
        from scipy.linalg import lu_factor

        return lu_factor(np.asarray(M, dtype=dtype), check_finite=False)

    def dense_solve(self, lu_and_piv, Y):
        from scipy.linalg import lu_solve

        return np.ascontiguousarray(lu_solve(lu_and_piv, Y, check_finite=False))  # LAPACK answers in F order

    # -- block arithmetic ----------------------------------------------------
    def coldot(self, X, Y):
        n, k = X.shape
        chunks = self._row_chunks(n, n * k)
        if self._fast(X, Y):
            parts = [np.empty(k) for _ in chunks]
            f = self._kern("coldot", X)
            self._run(
                lambda r0, r1: f(
                    r0, r1, k, _ptr(X), _ptr(Y), _ptr(parts[chunks.index((r0, r1))])
                ),
                chunks,
            )
        elif k == 1 and X.dtype == np.float64:
            parts = self._run(lambda a, b: np.array([np.dot(X[a:b, 0], Y[a:b, 0])]), chunks)
        else:  # column sums accumulate in float64, as the kernels do, whatever the block type
            parts = self._run(lambda a, b: np.einsum("ij,ij->j", X[a:b], Y[a:b], dtype=np.float64), chunks)
        return parts[0] if len(parts) == 1 else np.sum(parts, axis=0)

    def colrange(self, X):
        n, k = X.shape
        if n == 0 or not self._fast(X):
            return super().colrange(X)  # NumPy's min and max propagate NaN
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._kern("colrange", X)
        self._run(lambda i: f(*chunks[i], k, _ptr(X), _ptr(parts[i][0]), _ptr(parts[i][1])), [(i,) for i in range(len(chunks))])
        lo = np.min([p[0] for p in parts], axis=0)  # NaN propagates through np.min/np.max
        hi = np.max([p[1] for p in parts], axis=0)
        return lo, hi

    def coldot2(self, X, Y):
        n, k = X.shape
        if not self._fast(X, Y):
            return self.coldot(X, X), self.coldot(X, Y)
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._kern("coldot2", X)
        self._run(lambda i: f(*chunks[i], k, _ptr(X), _ptr(Y), _ptr(parts[i][0]), _ptr(parts[i][1])), [(i,) for i in range(len(chunks))])
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    def axpy_dots(self, a, X, Y, Z, out=None):
        out = Y if out is None else out
        n, k = X.shape
        a = np.ascontiguousarray(np.broadcast_to(np.asarray(a, dtype=X.dtype), (k,)))
        if not self._fast(X, Y, Z, out, a):
            W = self.axpy(a, X, Y, out=out)
            return W, self.coldot(W, W), self.coldot(Z, W)
        chunks = self._row_chunks(n, n * k)
        parts = [(np.empty(k), np.empty(k)) for _ in chunks]
        f = self._kern("axpy_dots", X)
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

        self._elementwise("axpy", tile, n, k, a, X, Y, out)
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

        self._elementwise("p_update", tile, n, k, r, p, v, beta, omega)
        return p

    def xs_update(self, x, p, s, alpha, omega):
        n, k = x.shape
        alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
        omega = np.ascontiguousarray(omega, dtype=x.dtype)

        def tile(r0, r1):
            xx = x[r0:r1]
            xx += p[r0:r1] * alpha
            xx += s[r0:r1] * omega

        self._elementwise("xs_update", tile, n, k, x, p, s, alpha, omega)
        return x
