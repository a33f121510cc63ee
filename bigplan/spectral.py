"""Certified bounds on the Perron root of a non-negative operator, once, on any backend.

For a non-negative matrix ``M`` and any positive vector ``x``, the
Collatz-Wielandt inequalities give

    min_i (M x)_i / x_i  <=  rho(M)  <=  max_i (M x)_i / x_i,

and the power iteration on ``M + shift * I`` (same Perron vector, no
periodicity) drives both sides together.  For reducible matrices the plain lower
bound stalls at the decaying components, so :func:`cw_bounds` also takes the
bound on the support of the large entries: with ``x'`` equal to ``x`` where
``x > cut`` and 0 elsewhere, ``(M x')_i >= (M x)_i - cut * r_i`` (``r`` the row
sums of ``M``), hence ``rho(M) >= min_{x_i > cut} ((M x)_i - cut r_i) / x_i``, at
no extra product.

These routines are written against :class:`~bigplan.backend.Backend`
primitives and work on blocks: one column per operator (a pencil ``A + g B``
evaluated at several ``g`` at once, say).  The productivity check of
:class:`~bigplan.Economy` and :func:`bigplan.dynamic.max_growth_rate` both use
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from ._options import check_int, check_real
from .backend import get_backend
from .errors import InvalidOptionError

__all__ = ["cw_bounds", "perron_bounds", "PerronBounds", "spectral_radius_bounds"]

#: Support cut-offs (relative to each column's largest entry) tried for the lower bound.
CUTOFFS = (1e-1, 1e-2, 1e-4, 1e-8, 1e-12, 1e-20, 1e-40, 1e-100)

#: Cut-offs for the exact support bound (one product each).
EXACT_CUTOFFS = (1e-1, 1e-2, 1e-4, 1e-8)

_TINY = float(np.finfo(np.float64).tiny)


def cw_bounds(bk, X, Y, row_sums=None, *, lower: bool = True, apply: Callable | None = None):
    """Collatz-Wielandt bounds for each column, given ``Y = M X`` with ``X > 0``.

    Parameters
    ----------
    bk : Backend
    X, Y : backend arrays, shape (n, c)
        A positive block and its image under the non-negative operator(s).
    row_sums : backend array, shape (n,) or (n, c), optional
        Row sums of ``M`` (an upper bound suffices), one column per operator:
        the support-restricted lower bound then costs no product.
    lower : bool
        Also compute the support-restricted lower bound; otherwise the lower
        bound is the plain ``min_i Y_i / X_i``.
    apply : callable, optional
        ``apply(Z) -> M Z``.  Without ``row_sums``, the support bound is taken
        exactly, ``min_{z_i > 0} (M z)_i / z_i`` for ``z`` = ``X`` cut to its large
        entries, at one product per cut-off (:data:`EXACT_CUTOFFS`): sharper,
        for when the bound itself is reported.

    Returns
    -------
    upper, lower : backend arrays, shape (c,)
        Certified: ``lower <= rho(M) <= upper`` column by column; ``lower >= 0``.
    """
    xp = bk.xp
    if xp is np and X.ndim == 2 and X.shape[1] > 1:
        # NumPy reduces a C-ordered (n, few) block along axis 0 far slower than column by column
        X, Y = np.asfortranarray(X), np.asfortranarray(Y)
    R = Y / X
    hi = xp.max(R, axis=0)
    lo = xp.maximum(xp.min(R, axis=0), 0.0)
    if not lower:
        return hi, lo
    m = xp.max(X, axis=0)
    if row_sums is None:
        if apply is None:
            raise InvalidOptionError("cw_bounds needs row_sums or apply for the support-restricted lower bound")
        for th in EXACT_CUTOFFS:
            Z = xp.where(X >= (th * m)[None, :], X, 0.0)
            W = apply(Z)
            val = xp.where(Z > 0, W / xp.where(Z > 0, Z, 1.0), xp.inf)
            lo = xp.maximum(lo, xp.min(val, axis=0))
        return hi, lo
    r = row_sums if row_sums.ndim == 2 else row_sums[:, None]
    Q = r / X
    for th in CUTOFFS:
        cut = (th * m)[None, :]
        val = xp.where(X > cut, R - cut * Q, xp.inf)
        lo = xp.maximum(lo, xp.min(val, axis=0))
    return hi, lo


@dataclass(frozen=True, eq=False)
class PerronBounds:
    """Certified bounds on the Perron root of each column's operator.

    Attributes
    ----------
    lower, upper : numpy.ndarray, shape (c,)
        ``lower <= rho <= upper``, the best seen over the iterations.
    vectors : backend array, shape (n, c)
        The last iterate (a Perron-vector estimate, each column scaled to max 1).
    iterations, matvecs : int
    """

    lower: np.ndarray
    upper: np.ndarray
    vectors: Any
    iterations: int
    matvecs: int


def perron_bounds(
    bk,
    apply: Callable[[Any], Any],
    X0,
    *,
    row_sums=None,
    maxiter: int = 2000,
    rtol: float = 1e-7,
    shift: float = 1.0,
    stop_below: float | None = None,
    stop_above: float | None = None,
    lower_every: int = 1,
) -> PerronBounds:
    """Power iteration on ``M + shift I`` with certified Collatz-Wielandt bounds, column by column.

    Parameters
    ----------
    bk : Backend
    apply : callable
        ``apply(X) -> M X`` for a backend block ``X`` of shape ``(n, c)``.
    X0 : backend array, shape (n, c)
        Positive starting block.
    row_sums : backend array, shape (n,) or (n, c), optional
        Row sums of ``M``: the support-restricted lower bound at no extra product.
        Without them it is taken exactly with a few products (see :func:`cw_bounds`).
    maxiter : int
        Iteration limit.
    rtol : float
        A column is done when ``upper - lower <= rtol * upper``.
    shift : float
        Positive shift; removes periodicity (cyclic economies).
    stop_below, stop_above : float, optional
        A column is also done once ``upper < stop_below`` or ``lower >= stop_above``.
    lower_every : int
        Compute the support-restricted lower bound every this many iterations
        (the plain one is computed every iteration).

    Returns
    -------
    PerronBounds
        Stops when every column is done, or at ``maxiter``.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from bigplan.backend import get_backend
    >>> from bigplan.spectral import perron_bounds
    >>> bk = get_backend("numpy")
    >>> A = sp.csr_matrix(np.array([[0.0, 0.5], [0.5, 0.0]]))
    >>> op = bk.operator(A, np.float64)
    >>> pb = perron_bounds(bk, lambda X: bk.matmat(op, X), np.ones((2, 1)), row_sums=np.full(2, 0.5))
    >>> bool(pb.lower[0] <= 0.5 <= pb.upper[0])
    True
    """
    shift = check_real(shift, "shift", lo=0.0, lo_open=True)
    maxiter = check_int(maxiter, "maxiter", lo=1)
    xp = bk.xp
    X = X0
    c = int(X.shape[1])
    lo = np.zeros(c)
    hi = np.full(c, np.inf)
    matvecs = 0
    it = 0
    every = max(1, int(lower_every))
    for it in range(1, maxiter + 1):
        Y = apply(X)
        matvecs += c
        need = (it % every == 1) or every == 1
        h, l_ = cw_bounds(bk, X, Y, row_sums, lower=need, apply=apply)
        if need and row_sums is None:
            matvecs += c * len(EXACT_CUTOFFS)
        hi = np.minimum(hi, np.asarray(bk.to_numpy(h), dtype=np.float64))
        lo = np.maximum(lo, np.asarray(bk.to_numpy(l_), dtype=np.float64))
        done = hi - lo <= rtol * np.maximum(hi, _TINY)
        if stop_below is not None:
            done |= hi < stop_below
        if stop_above is not None:
            done |= lo >= stop_above
        if done.all():
            break
        X = Y + shift * X
        X = X / xp.max(X, axis=0)[None, :]
        X = xp.maximum(X, _TINY)  # stays positive: (M + shift I) x >= shift x > 0 in exact arithmetic
    return PerronBounds(lower=lo, upper=hi, vectors=X, iterations=it, matvecs=matvecs)


def spectral_radius_bounds(
    A: sp.csr_matrix, *, maxiter: int = 2000, rtol: float = 1e-7, stop_below: float | None = None,
    stop_above: float | None = None, x0: np.ndarray | None = None,
) -> tuple[float, float, np.ndarray, int]:
    """Certified Collatz-Wielandt bounds on the spectral radius of a non-negative matrix.

    Runs :func:`perron_bounds` on the NumPy backend for one operator, ``A``.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix
        Non-negative square matrix.
    maxiter : int
        Iteration limit.
    rtol : float
        Stop when ``upper - lower <= rtol * upper``.
    stop_below, stop_above : float, optional
        Stop as soon as ``upper < stop_below`` or ``lower >= stop_above``.
    x0 : numpy.ndarray, optional
        Positive starting vector (default: ones).

    Returns
    -------
    lower, upper : float
        The bounds.
    x : numpy.ndarray
        The last iterate (an estimate of the Perron vector, scaled to max 1).
    iterations : int

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from bigplan.economy import spectral_radius_bounds
    >>> lo, hi, x, it = spectral_radius_bounds(sp.csr_matrix(np.array([[0.2, 0.3], [0.1, 0.4]])))
    >>> bool(lo <= 0.5 <= hi and hi - lo < 1e-6)
    True
    """
    bk = get_backend("numpy")
    A64 = A if A.dtype == np.float64 else A.astype(np.float64)
    n = A64.shape[0]
    op = bk.operator(A64, np.float64)
    X0 = np.ones((n, 1)) if x0 is None else np.array(x0, dtype=np.float64).reshape(n, 1)
    pb = perron_bounds(
        bk, lambda X: bk.matmat(op, X), X0, maxiter=maxiter, rtol=rtol, shift=1.0,
        stop_below=stop_below, stop_above=stop_above, lower_every=10,
    )
    return float(pb.lower[0]), float(pb.upper[0]), np.asarray(pb.vectors)[:, 0].copy(), pb.iterations
