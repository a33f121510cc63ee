"""The solver option objects (:class:`BiCGSTAB`, :class:`Neumann`, :class:`Direct`,
:class:`Refined`, :class:`Auto`) and the checks of a method name and a working dtype.

Re-exported by :mod:`bigplan.solvers`, which runs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._options import check_int, check_rtol
from .errors import InvalidOptionError
from .spectral import spectral_radius_bounds

__all__ = ["Method", "BiCGSTAB", "Neumann", "Direct", "Refined", "Auto", "as_method", "working_dtype",
           "tight_radius_upper"]

# ---------------------------------------------------------------------------
# method objects
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Method:
    """Base of the solver option objects."""

    name = "method"

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True)
class BiCGSTAB(Method):
    """Batched BiCGSTAB (van der Vorst, 1992), one independent recurrence per plan.

    Parameters
    ----------
    maxiter : int, optional
        Iteration limit (two products each); default ``max(200, 20 * ceil(log(rtol)/log(rho_upper)))``.
    max_restarts : int
        Restarts allowed per plan after a breakdown or a drifted recurrence residual.
    """

    maxiter: int | None = None
    max_restarts: int = 8
    name = "bicgstab"

    def __post_init__(self):
        check_int(self.maxiter, "BiCGSTAB maxiter", lo=1, allow_none=True)
        check_int(self.max_restarts, "BiCGSTAB max_restarts", lo=0)


@dataclass(frozen=True)
class Neumann(Method):
    """The Neumann series ``x_{t+1} = x_t + (y - (I - A) x_t) = y + A x_t``.

    Parameters
    ----------
    maxiter : int, optional
        Iteration limit; default from the certified bound on the spectral radius.
    """

    maxiter: int | None = None
    name = "neumann"

    def __post_init__(self):
        check_int(self.maxiter, "Neumann maxiter", lo=1, allow_none=True)


@dataclass(frozen=True)
class Direct(Method):
    """Dense LU of ``I - A`` (cached per economy and backend).

    Parameters
    ----------
    max_n : int
        Largest economy accepted (dense storage is ``8 n^2`` bytes).
    """

    max_n: int = 20_000
    name = "direct"

    def __post_init__(self):
        check_int(self.max_n, "Direct max_n", lo=1)


@dataclass(frozen=True)
class Refined(Method):
    """Mixed-precision iterative refinement: float32 inner solves, float64 residuals.

    Each outer step computes the residual ``r = y - (I - A) x`` in float64 (the
    coefficients read as stored, accumulated in float64), solves
    ``(I - A) d = r`` in float32 (half the bytes of matrix and blocks) to
    ``inner_rtol`` (the last step only to a fraction of the target), and adds
    ``d``.  Without a warm start the first step solves for ``y`` itself, with
    no float64 product.  Float32 rounding leaves the float64 residual about
    ``1e-6`` below where it started after each step, so ``rtol=1e-10`` takes two
    steps on well-conditioned economies.  A plan is converged only when its
    float64 residual meets the tolerance; a plan whose residual stops halving
    is stopped (``method="auto"`` then finishes it in float64).  Products and
    block updates move half the bytes, which is what bounds large batches.

    Parameters
    ----------
    inner : BiCGSTAB or Neumann
        The float32 inner solver.
    inner_rtol : float
        Tolerance of each inner solve, relative to its right-hand side (float32
        BiCGSTAB's recurrence reaches about 1e-7; 1e-6 measured best).
    max_outer : int
        Outer steps allowed.
    """

    inner: Method = field(default_factory=BiCGSTAB)
    inner_rtol: float = 1e-6
    max_outer: int = 12
    name = "refined"

    def __post_init__(self):
        if not isinstance(self.inner, (BiCGSTAB, Neumann)):
            raise InvalidOptionError(f"Refined inner must be a BiCGSTAB or Neumann object, got {self.inner!r}")
        check_rtol(self.inner_rtol, "Refined inner_rtol")
        check_int(self.max_outer, "Refined max_outer", lo=1)


@dataclass(frozen=True)
class Auto(Method):
    """Choose a method from the economy's size and certified spectral radius.

    Parameters
    ----------
    dense_below : int
        Economies with at most this many products use :class:`Direct`.
    neumann_below : int
        Use the Neumann series when its predicted iterations (from the certified
        spectral-radius bound) are at most this many: it then costs no more
        products than BiCGSTAB and fewer block updates.
    refine_from : int
        Use :class:`Refined` (float32 inner solves, float64 residuals) when the
        block of plans holds at least this many numbers (products x plans) and
        the backend has fast float32 block kernels.  Past the caches a product
        is bound by memory traffic, which float32 halves; below, float64
        BiCGSTAB is as fast and needs fewer iterations.  A plan that refinement
        does not bring to the tolerance is finished by float64 BiCGSTAB.
    """

    dense_below: int = 2000
    neumann_below: int = 12
    refine_from: int = 1_000_000
    name = "auto"

    def choose(self, economy, k: int = 1, *, rtol: float = 1e-10, backend=None, dtype=np.float64) -> tuple[Method, str]:
        """Return ``(method, reason)`` for this economy and batch size.

        ``backend`` (a :class:`~bigplan.backend.Backend`) and ``dtype`` (the
        working precision) decide whether mixed precision is on offer; without a
        backend it is not.
        """
        n = economy.n
        if n <= self.dense_below:
            return Direct(), (
                f"n={n} <= {self.dense_below}: dense LU is exact, factorized once and reused for every plan"
            )
        hi = economy.productivity.upper
        pred = neumann_iterations(hi, rtol)
        if pred is not None and pred <= self.neumann_below:
            return Neumann(), (
                f"spectral radius <= {hi:.3g}: the Neumann series needs about {pred} products per plan, "
                "no more than BiCGSTAB, with fewer block updates"
            )
        bound = f"<= {hi:.3g}" if math.isfinite(hi) else "unchecked"
        fast32 = backend is not None and getattr(backend, "fast_float32", False)
        if fast32 and np.dtype(dtype) == np.float64 and n * k >= self.refine_from:
            return Refined(), (
                f"n={n} sparse, {k} plan(s) ({n * k:,} numbers per block >= {self.refine_from:,}), spectral radius "
                f"{bound}: products are bound by memory traffic, so BiCGSTAB runs in float32 (half the bytes) "
                "inside float64 iterative refinement; every plan is checked by its float64 residual"
            )
        return BiCGSTAB(), (
            f"n={n} sparse (nnz={economy.nnz}), spectral radius {bound}: BiCGSTAB needs several times fewer "
            "products than the Neumann series on realistic economies; dense LU would need "
            f"{8 * n * n / 2**30:.1f} GiB"
        )


METHOD_NAMES = {"bicgstab": BiCGSTAB, "neumann": Neumann, "direct": Direct, "refined": Refined, "auto": Auto}


def as_method(method) -> Method:
    """Turn a name or a :class:`Method` into a :class:`Method`."""
    if isinstance(method, Method):
        return method
    if isinstance(method, str) and method.lower() in METHOD_NAMES:
        return METHOD_NAMES[method.lower()]()
    raise InvalidOptionError(
        f"Unknown method {method!r} (the method= or solver= option); choose one of {sorted(METHOD_NAMES)} or pass "
        "a method object"
    )


def working_dtype(dtype) -> np.dtype:
    """The working precision asked for: ``None`` (float64), float32 or float64; anything else is refused.

    Integer, boolean, half-precision or complex working dtypes would cast the
    coefficients themselves (an integer ``A`` is zero), so they are refused with
    :class:`~bigplan.InvalidOptionError`; integer and boolean *inputs* are
    converted to float64 where they enter.

    Examples
    --------
    >>> import numpy as np
    >>> from bigplan.solvers import working_dtype
    >>> working_dtype(None), working_dtype(np.float32)
    (dtype('float64'), dtype('float32'))
    """
    if dtype is None:
        return np.dtype(np.float64)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidOptionError(
            f"dtype must be None, numpy.float32 or numpy.float64 (the working precision), got {dtype!r}; "
            "integer or boolean inputs are converted to float64 by themselves"
        )
    return dt


def tight_radius_upper(economy, *, budget: int = 1000) -> float:
    """A certified upper bound on the spectral radius of ``A``, tightened when the economy's certificate is loose.

    The productivity certificate stops as soon as its upper bound falls below 1, which can leave it far
    above the radius (0.99998 for a radius of 0.984): an iteration estimate from it, such as Neumann's, is
    then hundreds of times too large.  When the certificate's bounds are more than 0.1 % apart, up to
    ``budget`` more power iterations (one product each, stopping at 1e-4 relative width) tighten it; the
    result is cached on the economy.  Never larger than the certificate's bound.

    Examples
    --------
    >>> import numpy as np, bigplan
    >>> from bigplan._methods import tight_radius_upper
    >>> e = bigplan.Economy(np.array([[0.1, 0.3], [0.2, 0.1]]))
    >>> bool(0.3449 <= tight_radius_upper(e) <= e.productivity.upper)
    True
    """
    p = economy.productivity
    hi = float(p.upper)
    if not (math.isfinite(hi) and hi < 1.0) or not p.lower < hi * (1 - 1e-3):
        return hi

    def tighten() -> float:
        _, hi2, _, _ = spectral_radius_bounds(economy.A, maxiter=budget, rtol=1e-4)
        return min(hi, float(hi2)) if math.isfinite(hi2) else hi

    return economy.cached(("rho_upper_tight", int(budget)), tighten)


def neumann_iterations(rho_upper: float, rtol: float) -> int | None:
    if not (0 <= rho_upper < 1) or not math.isfinite(rho_upper):
        return None
    if rho_upper == 0:
        return 1
    return int(math.ceil(math.log(max(rtol, 1e-300)) / math.log(rho_upper)))
