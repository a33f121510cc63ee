"""The interface every backend implements: the required core.

Every algorithm in bigplan is written once against :class:`Backend`.  Blocks of
plans are 2-D arrays of shape ``(n, k)`` in the backend's preferred memory
order (:attr:`Backend.order`); per-plan scalars (step lengths, residual norms)
are 1-D arrays of shape ``(k,)`` that stay on the device.  Backends whose
arrays are mutable (NumPy, CuPy) update blocks in place; JAX returns new
arrays.  Algorithms therefore always use the returned value:
``Y = bk.axpy(a, X, Y)``.

The core is small: moving arrays, the operator and its block products, column
dots and ranges, ``axpy``, synchronisation and free memory.  The fused
operations of the batched Krylov solvers (``step_end``, ``residual``, ...) are
an optional second set: their generic versions, written against this core,
live beside the solvers in :mod:`bigplan._krylov_ops`, and a backend that can
do one in a single pass defines a method of that name, which is used instead.

This module imports no backend implementation and no selection logic:
:mod:`bigplan.cpu` and :mod:`bigplan.gpu` import it, :mod:`bigplan.backend`
chooses among them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["Backend"]


class Backend(ABC):
    """The required core an algorithm needs from an array library.

    Subclasses implement the abstract members (:attr:`xp`, :meth:`asarray`,
    :meth:`to_numpy`, :meth:`operator`, :meth:`matmat`, :meth:`coldot`,
    :meth:`axpy`); the others have generic versions written with :attr:`xp`
    that a backend overrides where it knows better.  Blocks are ``(n, k)``
    arrays; ``a`` in :meth:`axpy` is a ``(k,)`` array on the same device, or
    a scalar.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from bigplan.backend import Backend, get_backend
    >>> bk = get_backend("numpy")
    >>> isinstance(bk, Backend), bk.order
    (True, 'C')
    >>> op = bk.operator(sp.csr_matrix(np.array([[0.0, 0.5], [0.25, 0.0]])), np.float64)
    >>> bk.i_minus(op, bk.block(np.ones((2, 1)), np.float64)).ravel().tolist()
    [0.5, 0.75]
    """

    name: str = "abstract"
    #: whether arrays are updated in place (False for JAX)
    mutable: bool = True
    #: the memory order of blocks that the fast paths need: "C" (row-major), "F"
    #: (column-major) or None (the library decides, as JAX does)
    order: str | None = None
    #: whether float32 blocks have fast kernels here, so that ``method="auto"`` may pick
    #: mixed-precision refinement for large batches (set where it has been measured to pay)
    fast_float32: bool = False
    #: whether the library compiles a kernel per array shape (JAX): the solvers then keep
    #: block widths to a few sizes (powers of two), so that new demand compiles nothing new
    compiles: bool = False

    @property
    def cache_tag(self) -> str:
        """Key under which an economy caches this backend's operators (backends of one name may differ)."""
        return self.name

    @property
    @abstractmethod
    def xp(self):
        """The NumPy-compatible namespace of this backend."""

    # -- moving arrays --------------------------------------------------------
    @abstractmethod
    def asarray(self, x, dtype=None):
        """Move ``x`` to the device (a copy the solver may overwrite)."""

    @abstractmethod
    def to_numpy(self, x) -> np.ndarray:
        """Copy ``x`` back to the host."""

    def block(self, x, dtype):
        """A writable ``(n, k)`` block of ``x`` in the preferred memory order (always a copy)."""
        return self.asarray(x, dtype=dtype)

    def as_block(self, x, dtype):
        """``x`` as a block for reading only: ``x`` itself when it already is one, else a copy."""
        return self.block(x, dtype)

    def release(self, *arrays) -> None:
        """Hand back blocks the caller will not touch again (a backend may keep them for reuse)."""

    def zeros(self, shape, dtype):
        """A block of zeros in the preferred memory order."""
        return self.xp.zeros(shape, dtype=dtype)

    def copy_into(self, dst, src):
        """``dst[...] = src`` for blocks of one shape; returns ``dst`` (a new array for JAX)."""
        if not self.mutable:
            return self.xp.asarray(src, dtype=dst.dtype)
        dst[...] = src
        return dst

    def take_columns(self, X, idx):
        """Columns ``idx`` (host integer array) of block ``X`` as a new block."""
        return X[:, self.xp.asarray(idx)]

    def put_columns(self, X, idx, part):
        """Write ``part``'s columns into columns ``idx`` of ``X`` (returns ``X``, or a new array for JAX)."""
        if self.mutable:
            X[:, self.xp.asarray(idx)] = part
            return X
        return X.at[:, self.xp.asarray(idx)].set(part)

    def set_columns_where(self, X, mask, part):
        """Columns of ``X`` where the host boolean ``mask`` is set replaced by ``part``'s (a block or a scalar).

        Returns ``X`` written in place (a new array for JAX), in the backend's
        memory order: the result goes straight to the next product.
        """
        mask = np.asarray(mask, dtype=bool)
        if self.mutable:
            idx = self.xp.asarray(np.flatnonzero(mask))
            X[:, idx] = part if np.ndim(part) == 0 else part[:, idx]
            return X
        return self.xp.where(self.xp.asarray(mask)[None, :], part, X)

    # -- the operator ---------------------------------------------------------
    @abstractmethod
    def operator(self, csr, dtype):
        """Device form of a host ``scipy.sparse.csr_matrix`` (A or A^T) for blocks of ``dtype``."""

    @abstractmethod
    def matmat(self, op, X, out=None):
        """``op @ X`` (may write into ``out``)."""

    def i_minus(self, op, X, out=None):
        """``X - op @ X``, the Leontief operator ``(I - A) X`` (may write into ``out``, never into ``X``)."""
        AX = self.matmat(op, X, out=out)
        return self.axpy(-1.0, AX, X, out=AX)

    def dense_factor(self, M, dtype):
        """Prepare the dense host matrix ``M`` for repeated :meth:`dense_solve` calls."""
        return self.asarray(M, dtype=dtype)

    def dense_solve(self, factor, Y):
        """Solve ``M X = Y`` with the result of :meth:`dense_factor`."""
        return self.xp.linalg.solve(factor, Y)

    # -- block arithmetic -----------------------------------------------------
    @abstractmethod
    def coldot(self, X, Y):
        """Column-wise dot products, shape ``(k,)``, accumulated in at least the blocks' precision."""

    def colrange(self, X):
        """Column minima and maxima ``(lo, hi)`` as host float64 arrays; NaN in a column gives NaN in both."""
        xp = self.xp
        lo = np.array(self.to_numpy(xp.min(X, axis=0)), dtype=np.float64)
        hi = np.array(self.to_numpy(xp.max(X, axis=0)), dtype=np.float64)
        # not every library's reductions propagate NaN (XLA's on the CPU skip it in long columns)
        nan = np.asarray(self.to_numpy(xp.any(xp.isnan(X), axis=0)), dtype=bool)
        lo[nan] = hi[nan] = np.nan
        return lo, hi

    @abstractmethod
    def axpy(self, a, X, Y, out=None):
        """``Y + a * X`` with ``a`` per column or a scalar (may write into ``out``, default ``Y``)."""

    # -- the device -----------------------------------------------------------
    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""

    def memory_available(self) -> int | None:
        """Free device memory in bytes, or ``None`` when unlimited/unknown (CPU)."""
        return None

    def __repr__(self) -> str:
        return f"<bigplan backend {self.name}>"
