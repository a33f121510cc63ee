"""The fused operations of the batched Krylov solvers, and their generic versions.

BiCGSTAB (:mod:`bigplan.solvers`) spends its time in a few block operations
that a backend can do in one pass over memory instead of two or three: the
product with a dot product (``i_minus_dot``, ``i_minus_dot2``), the end of a
step (``step_end``), the true residual (``residual``) and so on
(:data:`FUSED_OPS`).  They are an optional set on top of the required core of
:class:`~bigplan.backend.Backend`: a backend that can fuse one defines a method
of that name (the NumPy backend with its compiled kernels, CuPy with
elementwise kernels, JAX with jit-compiled functions); :class:`KrylovBackend`
supplies the generic version, written against the core, for every one it
lacks.

The solvers see a backend through :func:`krylov_backend`: the backend's own
methods are bound once, so a call costs one attribute lookup, as on the
backend itself.

Examples
--------
>>> import numpy as np
>>> from bigplan.backend import get_backend
>>> kb = krylov_backend(get_backend("numpy"))
>>> X = kb.block(np.array([[3.0, 1.0], [4.0, 1.0]]), np.float64)
>>> kb.colnorm(X).tolist()
[5.0, 1.4142135623730951]
"""

from __future__ import annotations

import inspect
from functools import cache

import numpy as np

from ._backend_api import Backend

__all__ = ["FUSED_OPS", "KrylovBackend", "krylov_backend"]

#: The optional set: a backend may define any of these; the others come from :class:`KrylovBackend`.
FUSED_OPS = (
    "lincomb",
    "colnorm",
    "coldot2",
    "axpy_dots",
    "p_update",
    "xs_update",
    "i_minus_dot",
    "i_minus_dot2",
    "step_end",
    "residual",
    "add_widened",
    "bicg_beta",
    "bicg_alpha",
    "bicg_omega",
    "bicg_flags",
)


class KrylovBackend:
    """A backend seen with the whole fused set: its own methods where it has them, generic ones otherwise.

    Every public method of the backend (core and fused) is bound on the
    instance once; other attributes (``name``, ``xp``, ``mutable``, ...) are
    read from the backend.  The generic versions below use only the core and
    the other fused operations, so a backend that fuses one of them speeds up
    every generic one built on it too.

    Parameters
    ----------
    backend : Backend
        A backend implementing at least the required core.
    """

    def __init__(self, backend: Backend):
        self.backend = backend
        for name in _public_methods(type(backend)):
            setattr(self, name, getattr(backend, name))

    def __getattr__(self, name):
        return getattr(self.__dict__["backend"], name)

    def __repr__(self) -> str:
        return repr(self.backend)

    # -- reductions ----------------------------------------------------------
    def colnorm(self, X):
        """Column-wise Euclidean norms, shape ``(k,)``."""
        return self.xp.sqrt(self.coldot(X, X))

    def coldot2(self, X, Y):
        """``(coldot(X, X), coldot(X, Y))``, in one pass where the backend can."""
        return self.coldot(X, X), self.coldot(X, Y)

    # -- block updates -------------------------------------------------------
    def lincomb(self, X, Y, b, out=None):
        """``X + b * Y`` with a scalar ``b`` (may write into ``out``, default ``X``)."""
        return self.axpy(b, Y, X, out=out)

    def axpy_dots(self, a, X, Y, Z, out=None):
        """``W = Y + a * X`` with ``coldot(W, W)`` and ``coldot(Z, W)``, in one pass where the backend can."""
        W = self.axpy(a, X, Y, out=out)
        return W, self.coldot(W, W), self.coldot(Z, W)

    def p_update(self, r, p, v, beta, omega):
        """BiCGSTAB direction ``r + beta * (p - omega * v)`` per column (may overwrite ``p``)."""
        xp = self.xp
        beta = xp.asarray(beta, dtype=p.dtype)
        omega = xp.asarray(omega, dtype=p.dtype)
        p = self.axpy(-omega, v, p, out=p)
        return self.axpy(beta, p, r, out=p)

    def xs_update(self, x, p, s, alpha, omega):
        """``x + alpha * p + omega * s`` per column (may overwrite ``x``)."""
        xp = self.xp
        x = self.axpy(xp.asarray(alpha, dtype=x.dtype), p, x, out=x)
        return self.axpy(xp.asarray(omega, dtype=x.dtype), s, x, out=x)

    def add_widened(self, X, D):
        """``X += D`` for a correction ``D`` of lower precision than ``X``."""
        return self.lincomb(X, self.block(D, X.dtype), 1.0, out=X)

    # -- BiCGSTAB's per-plan scalars (one compiled call each on JAX, not a dozen) --
    def bicg_beta(self, live, rho, rho_prev, alpha, omega):
        """``beta = (rho / rho_prev) (alpha / omega)`` for live plans, 0 for the others."""
        xp = self.xp
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.where(live, (rho / rho_prev) * (alpha / omega), xp.zeros((), dtype=rho.dtype))

    def bicg_alpha(self, live, rho, denom):
        """``(alpha, ok)``: ``alpha = rho / denom`` for live plans where that is defined (``ok``), else 0."""
        xp = self.xp
        ok = (denom != 0) & xp.isfinite(denom) & (rho != 0)
        return xp.where(ok & live, rho / xp.where(ok, denom, 1), xp.zeros((), dtype=rho.dtype)), ok

    def bicg_omega(self, live, tt, ts):
        """``(omega, ok)``: ``omega = ts / tt`` for live plans where ``tt > 0`` is finite (``ok``), else 0."""
        xp = self.xp
        ok = (tt > 0) & xp.isfinite(tt)
        return xp.where(ok & live, ts / xp.where(ok, tt, 1), xp.zeros((), dtype=tt.dtype)), ok

    def bicg_flags(self, rr, ok_a, ok_w, omega):
        """A ``(2, k)`` array for one host transfer: residual norms, and 1 where the step was healthy."""
        xp = self.xp
        return xp.stack([xp.sqrt(xp.maximum(rr, 0)), (ok_a & ok_w & (omega != 0)).astype(rr.dtype)])

    # -- products with their reductions --------------------------------------
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


@cache
def _public_methods(cls) -> tuple[str, ...]:
    """Names of the public methods a backend class defines or inherits."""
    return tuple(name for name, attr in inspect.getmembers(cls) if not name.startswith("_") and inspect.isfunction(attr))


Backend.register(KrylovBackend)  # a Backend by its interface: get_backend and isinstance accept it


def krylov_backend(bk) -> KrylovBackend:
    """``bk`` with the whole fused set (:data:`FUSED_OPS`): its own methods, else the generic versions.

    Parameters
    ----------
    bk : Backend
        A backend implementing at least the required core (or a view this function made).

    Returns
    -------
    KrylovBackend

    Examples
    --------
    >>> from bigplan.backend import get_backend
    >>> bk = get_backend("numpy")
    >>> kb = krylov_backend(bk)
    >>> kb.step_end == bk.step_end, kb.name, krylov_backend(kb) is kb
    (True, 'numpy', True)
    """
    return bk if isinstance(bk, KrylovBackend) else KrylovBackend(bk)
