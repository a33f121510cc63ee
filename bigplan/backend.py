"""Choosing a backend, and the few operations every backend implements.

One module owns the choice of array library (explicit name, the arrays' own
library, else a CUDA device, else NumPy) and imports CuPy and JAX lazily:
recognising a CuPy or JAX array looks its class up in ``sys.modules``, so
merely checking never imports either library.

Every algorithm in :mod:`bigplan.solvers` is written once against
:class:`Backend`.  Blocks of plans are 2-D arrays of shape ``(n, k)``; per-plan
scalars (step lengths, residual norms) are 1-D arrays of shape ``(k,)`` that stay
on the device.  Backends whose arrays are mutable (NumPy, CuPy) update blocks in
place; JAX returns new arrays.  Algorithms therefore always use the returned
value: ``p = bk.p_update(r, p, v, beta, omega)``.
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from functools import lru_cache
from typing import Any

import numpy as np

from .errors import BackendError, BackendUnavailableError, MixedBackendError

__all__ = [
    "Backend",
    "BACKENDS",
    "array_library",
    "get_backend",
    "available_backends",
    "cuda_available",
]

#: Names accepted by ``backend=``.
BACKENDS = ("auto", "numpy", "cupy", "jax")


def array_library(x: Any) -> str | None:
    """Name the array library an object belongs to, without importing any.

    Returns ``"cupy"``, ``"jax"``, ``"numpy"`` (NumPy arrays, SciPy sparse
    matrices and pandas objects) or ``None`` (Python scalars, lists, ``None``).
    """
    if x is None:
        return None
    mod = type(x).__module__.split(".", 1)[0]
    if mod in ("cupy", "cupyx"):
        return "cupy"
    if mod in ("jax", "jaxlib"):
        return "jax"
    if mod in ("numpy", "scipy", "pandas"):
        return "numpy"
    return None


def infer_library(*objs: Any) -> str | None:
    """The one array library the inputs share; raise if they mix two."""
    libs = {lib for lib in map(array_library, objs) if lib is not None}
    gpu_libs = libs - {"numpy"}
    if len(gpu_libs) > 1:
        raise MixedBackendError(
            f"inputs mix arrays of {sorted(gpu_libs)}; pass arrays of one library "
            "(convert with cupy.asarray / jax.numpy.asarray / numpy.asarray), "
            "or name the backend explicitly with backend=..."
        )
    if gpu_libs:
        return gpu_libs.pop()
    return "numpy" if libs else None


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@lru_cache(maxsize=None)
def _cupy_has_device() -> bool:
    if not _installed("cupy"):
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # no driver, no device, broken install: all mean "no"
        return False


@lru_cache(maxsize=None)
def _jax_has_gpu() -> bool:
    if not _installed("jax"):
        return False
    # only pay for importing JAX when a CUDA plugin is installed
    if not any(_installed(p) for p in ("jax_cuda13_plugin", "jax_cuda12_plugin", "jax_plugins")):
        return False
    try:
        import jax

        return len(jax.devices("gpu")) > 0
    except Exception:
        return False


def cuda_available() -> bool:
    """True when CuPy or JAX can see a CUDA device."""
    return _cupy_has_device() or _jax_has_gpu()


def available_backends() -> list[str]:
    """Backends usable on this machine (JAX counts when installed, CPU or GPU)."""
    out = ["numpy"]
    if _cupy_has_device():
        out.append("cupy")
    if _installed("jax"):
        out.append("jax")
    return out


class Backend(ABC):
    """The small interface an algorithm needs.

    Blocks are ``(n, k)`` arrays in the backend's preferred memory order;
    ``a``, ``beta``, ``omega`` are ``(k,)`` arrays on the same device.
    """

    name: str = "abstract"
    #: whether arrays are updated in place (False for JAX)
    mutable: bool = True
    #: whether float32 blocks have fast kernels here, so that ``method="auto"`` may pick
    #: mixed-precision refinement for large batches (set where it has been measured to pay)
    fast_float32: bool = False

    @property
    @abstractmethod
    def xp(self):
        """The NumPy-compatible namespace of this backend."""

    # -- data movement -------------------------------------------------------
    @abstractmethod
    def asarray(self, x, dtype=None):
        """Move ``x`` to the device as a block (a copy the solver may overwrite)."""

    @abstractmethod
    def to_numpy(self, x) -> np.ndarray:
        """Copy ``x`` back to the host."""

    def block(self, x, dtype):
        """A writable ``(n, k)`` block in the preferred memory order."""
        return self.asarray(x, dtype=dtype)

    def as_block(self, x, dtype):
        """``x`` as a block for reading only: ``x`` itself when it already is one, else a copy."""
        return self.block(x, dtype)

    def zeros(self, shape, dtype):
        return self.xp.zeros(shape, dtype=dtype)

    def copy_into(self, dst, src):
        """``dst[...] = src`` for blocks of one shape (mutable backends)."""
        dst[...] = src
        return dst

    def release(self, *arrays):
        """Hand back blocks the caller will not touch again (a backend may keep them for reuse)."""

    def take_columns(self, X, idx):
        """Columns ``idx`` (host integer array) of block ``X`` as a new block."""
        return X[:, self.xp.asarray(idx)]

    def put_columns(self, X, idx, part):
        """Write ``part``'s columns into columns ``idx`` of ``X`` (returns ``X``, or a new array for JAX)."""
        if self.mutable:
            X[:, self.xp.asarray(idx)] = part
            return X
        return X.at[:, self.xp.asarray(idx)].set(part)

    # -- operators -----------------------------------------------------------
    @abstractmethod
    def operator(self, csr, dtype):
        """Device form of a host ``scipy.sparse.csr_matrix`` (A or A^T)."""

    @abstractmethod
    def matmat(self, op, X, out=None):
        """``op @ X``."""

    def i_minus(self, op, X, out=None):
        """``X - op @ X``, the Leontief operator ``(I - A) X``."""
        AX = self.matmat(op, X, out=out)
        return self.lincomb(X, AX, -1.0, out=AX)

    def dense_factor(self, M, dtype):
        """Prepare the dense host matrix ``M`` for repeated :meth:`dense_solve` calls."""
        return self.asarray(M, dtype=dtype)

    def dense_solve(self, factor, Y):
        """Solve ``M X = Y`` with the result of :meth:`dense_factor`."""
        return self.xp.linalg.solve(factor, Y)

    # -- block arithmetic ----------------------------------------------------
    @abstractmethod
    def coldot(self, X, Y):
        """Column-wise dot products, shape ``(k,)``."""

    def coldot2(self, X, Y):
        """``(coldot(X, X), coldot(X, Y))``, in one pass where the backend can."""
        return self.coldot(X, X), self.coldot(X, Y)

    def axpy_dots(self, a, X, Y, Z, out=None):
        """``W = Y + a * X`` with ``coldot(W, W)`` and ``coldot(Z, W)``, in one pass where the backend can."""
        W = self.axpy(a, X, Y, out=out)
        return W, self.coldot(W, W), self.coldot(Z, W)

    def i_minus_dot(self, op, X, Z, out=None):
        """``Y = (I - A) X`` and ``coldot(Z, Y)``, in one pass where the backend can."""
        Y = self.i_minus(op, X, out=out)
        return Y, self.coldot(Z, Y)

    def i_minus_dot2(self, op, X, out=None):
        """``T = (I - A) X`` with ``coldot(T, T)`` and ``coldot(T, X)``, in one pass where the backend can."""
        T = self.i_minus(op, X, out=out)
        tt, tx = self.coldot2(T, X)
        return T, tt, tx

    def step_end(self, X, P, S, T, Z, alpha, omega, out=None):
        """The end of a BiCGSTAB step: ``X += alpha P + omega S`` and ``R = S - omega T``.

        Returns ``(X, R, coldot(R, R), coldot(Z, R))``; ``R`` is written into ``out``
        (which may be ``S``).  One pass where the backend can.
        """
        X = self.xs_update(X, P, S, alpha, omega)
        R, rr, zr = self.axpy_dots(-omega, T, S, Z, out=out)
        return X, R, rr, zr

    def residual(self, op, B, X, out_dtype=None, out=None):
        """``R = B - (I - A) X`` and its column norms, ``R`` in ``out_dtype`` (default: ``X``'s).

        Iterative refinement asks for the float64 residual of a float64 ``X``
        rounded to float32; a backend may do it all in one pass.  ``out``, a
        block of that type and shape, receives ``R`` where the backend can.
        """
        MX = self.i_minus(op, X)
        R = self.lincomb(B, MX, -1.0, out=MX)
        rn = self.colnorm(R)
        if out_dtype is not None and R.dtype != np.dtype(out_dtype):
            R = self.block(R, out_dtype)
        return R, rn

    def add_widened(self, X, D):
        """``X += D`` for a correction ``D`` of lower precision than ``X``."""
        return self.lincomb(X, self.block(D, X.dtype), 1.0, out=X)

    def colrange(self, X):
        """Column minima and maxima ``(lo, hi)`` as host float64 arrays; NaN in a column gives NaN in both."""
        xp = self.xp
        lo = np.asarray(self.to_numpy(xp.min(X, axis=0)), dtype=np.float64)
        hi = np.asarray(self.to_numpy(xp.max(X, axis=0)), dtype=np.float64)
        return lo, hi

    def colnorm(self, X):
        """Column-wise Euclidean norms, shape ``(k,)``."""
        return self.xp.sqrt(self.coldot(X, X))

    @abstractmethod
    def axpy(self, a, X, Y, out=None):
        """``Y + a * X`` with ``a`` per column (may write into ``out``)."""

    def lincomb(self, X, Y, b, out=None):
        """``X + b * Y`` with a scalar ``b``."""
        return self.axpy(b, Y, X, out=out)

    @abstractmethod
    def p_update(self, r, p, v, beta, omega):
        """BiCGSTAB direction ``r + beta * (p - omega * v)`` (may overwrite ``p``)."""

    @abstractmethod
    def xs_update(self, x, p, s, alpha, omega):
        """``x + alpha * p + omega * s`` (may overwrite ``x``)."""

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on the CPU)."""

    def memory_available(self) -> int | None:
        """Free device memory in bytes, or ``None`` when unlimited/unknown (CPU)."""
        return None

    def __repr__(self) -> str:
        return f"<bigplan backend {self.name}>"


@lru_cache(maxsize=None)
def _make_backend(name: str) -> Backend:
    if name == "numpy":
        from .cpu import NumpyBackend

        return NumpyBackend()
    if name == "cupy":
        if not _installed("cupy"):
            raise BackendUnavailableError(
                "backend='cupy' needs CuPy: install it with pip install 'bigplan[cuda13]' "
                "(or 'bigplan[cuda12]' for CUDA 12), or pick backend='numpy' or 'jax'"
            )
        if not _cupy_has_device():
            raise BackendUnavailableError(
                "backend='cupy' needs a CUDA device and none is visible to CuPy; "
                "pick backend='numpy' (or 'jax' for JAX on the CPU), or run on a GPU node"
            )
        from .gpu import CupyBackend

        return CupyBackend()
    if name == "jax":
        if not _installed("jax"):
            raise BackendUnavailableError(
                "backend='jax' needs JAX: install it with pip install 'bigplan[jax]' "
                "(add jax[cuda13] for GPUs), or pick backend='numpy'"
            )
        from .gpu import JaxBackend

        return JaxBackend()
    raise BackendError(f"unknown backend {name!r}; choose one of {BACKENDS}")


def get_backend(name: str | Backend = "auto", *arrays: Any) -> Backend:
    """Resolve a backend.

    Parameters
    ----------
    name : {"auto", "numpy", "cupy", "jax"} or Backend
        ``"auto"`` uses the arrays' own library, else a CUDA device if one is
        present (CuPy first, then JAX), else NumPy.
    *arrays
        The call's array inputs, inspected (never converted) for ``"auto"``.

    Raises
    ------
    BackendError
        Unknown name.
    BackendUnavailableError
        The library is not installed or has no CUDA device; the message names
        the extra to install or the backend to pick instead.
    MixedBackendError
        Inputs mix arrays of two GPU libraries.
    """
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str) or name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose one of {BACKENDS}")
    lib = infer_library(*arrays)
    if name != "auto":
        if lib not in (None, "numpy", name):
            raise MixedBackendError(
                f"backend={name!r} was asked for but the inputs are {lib} arrays; "
                f"pass backend='auto' or {lib!r}, or convert the inputs"
            )
        return _make_backend(name)
    if lib in ("cupy", "jax"):
        return _make_backend(lib)
    if _cupy_has_device():
        return _make_backend("cupy")
    if _jax_has_gpu():
        return _make_backend("jax")
    return _make_backend("numpy")
