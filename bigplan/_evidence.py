"""The evidence every result carries, and the per-plan status codes.

A result of bigplan is an answer plus the evidence for it: whether every plan
converged, the status of each plan (with what to do about a failure), the
iterations, the *true* relative residual of each plan as a ``(k,)`` array, the
backend and method that produced it, the sparse products spent, the seconds,
and notes.  One :class:`Evidence` block holds these for every result class;
:class:`WithEvidence` gives result classes the familiar attributes
(``sol.converged``, ``sol.residual``...) by delegation, as lineax's
``RESULTS`` gives every solve one status vocabulary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Status", "Evidence", "WithEvidence", "plan_status"]


class Status(enum.IntEnum):
    """Outcome of one plan's solve.

    Examples
    --------
    >>> from bigplan import Status
    >>> Status.MAX_ITERATIONS.advice.split(";")[0]
    'the iteration limit was reached before the tolerance'
    """

    CONVERGED = 0
    MAX_ITERATIONS = 1
    BREAKDOWN = 2
    NONFINITE = 3
    STAGNATED = 4

    @property
    def advice(self) -> str:
        """What the status means and what to do about it."""
        return _ADVICE[self]


_ADVICE = {
    Status.CONVERGED: "the true relative residual met the tolerance",
    Status.MAX_ITERATIONS: (
        "the iteration limit was reached before the tolerance; raise maxiter, or loosen rtol if the "
        "spectral radius of A is close to 1 (convergence slows as it nears 1)"
    ),
    Status.BREAKDOWN: (
        "the Krylov recurrence broke down and the restarts allowed were used up; try method='direct' for "
        "small economies, raise max_restarts, or check the coefficients for near-singular (I - A)"
    ),
    Status.NONFINITE: (
        "the iterate or its residual became NaN or infinite; check A and the demand for extreme magnitudes "
        "(rescale the units so values lie within about 1e-150..1e150)"
    ),
    Status.STAGNATED: (
        "the residual stopped improving before the tolerance (precision floor); use float64 coefficients "
        "and method='bicgstab', or loosen rtol"
    ),
}


def plan_status(converged, residual, iterations, maxiter: int | None, *, stalled: str = "breakdown") -> np.ndarray:
    """Status code of each plan from its convergence flag, residual and iteration count.

    A plan that did not converge is ``NONFINITE`` when its residual is NaN or
    infinite, ``MAX_ITERATIONS`` when it used the whole iteration budget, and
    otherwise ``BREAKDOWN`` (Krylov gave up after its restarts) or ``STAGNATED``
    (``stalled="stagnated"``: refinement stopped improving).
    """
    conv = np.atleast_1d(np.asarray(converged, dtype=bool))
    res = np.atleast_1d(np.asarray(residual, dtype=np.float64))
    its = np.broadcast_to(np.atleast_1d(np.asarray(iterations)), conv.shape)
    status = np.full(conv.shape, Status.CONVERGED, dtype=np.int8)
    other = Status.STAGNATED if stalled == "stagnated" else Status.BREAKDOWN
    bad = ~conv
    status[bad] = other
    if maxiter is not None:
        status[bad & (its >= maxiter)] = Status.MAX_ITERATIONS
    status[bad & ~np.isfinite(res)] = Status.NONFINITE
    return status


@dataclass(frozen=True)
class Evidence:
    """Evidence for a result: convergence, per-plan status and residual, cost and provenance.

    Attributes
    ----------
    converged : bool
        Every plan met its tolerance.
    status : numpy.ndarray of int8, shape (k,)
        :class:`Status` code of each plan.
    iterations : int
        Iterations (of the slowest plan).
    residual : numpy.ndarray, shape (k,)
        True relative residual of each plan; always 1-D, ``k = 1`` for one plan.
    backend, method : str
        Where and how it was computed.
    matvecs : int
        Sparse matrix products (one per plan column).
    seconds : float
        Wall time.
    notes : tuple of str
        Anything the caller should know (clipped negatives, fallbacks...).
    """

    converged: bool
    status: np.ndarray
    iterations: int
    residual: np.ndarray
    backend: str
    method: str
    matvecs: int = 0
    seconds: float = 0.0
    notes: tuple = field(default_factory=tuple)

    def __post_init__(self):
        res = np.atleast_1d(np.asarray(self.residual, dtype=np.float64)).reshape(-1)
        status = np.atleast_1d(np.asarray(self.status, dtype=np.int8)).reshape(-1)
        if status.shape != res.shape:
            status = np.broadcast_to(status, res.shape).copy()
        for a in (res, status):
            a.flags.writeable = False
        object.__setattr__(self, "residual", res)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "converged", bool(self.converged))
        object.__setattr__(self, "iterations", int(self.iterations))
        object.__setattr__(self, "matvecs", int(self.matvecs))
        object.__setattr__(self, "seconds", float(self.seconds))
        object.__setattr__(self, "notes", tuple(self.notes))

    @classmethod
    def of(cls, *, converged, residual, iterations, backend: str, method: str, matvecs: int = 0,
           seconds: float = 0.0, notes: Iterable[str] = (), status=None, maxiter: int | None = None) -> "Evidence":
        """Build the block from per-plan ``converged``/``residual`` (status derived when not given)."""
        conv = np.atleast_1d(np.asarray(converged, dtype=bool))
        res = np.atleast_1d(np.asarray(residual, dtype=np.float64))
        if status is None:
            status = plan_status(conv, res, iterations, maxiter)
        its = np.asarray(iterations)
        return cls(
            converged=bool(conv.all()),
            status=status,
            iterations=int(its.max()) if its.size else 0,
            residual=res,
            backend=backend,
            method=method,
            matvecs=matvecs,
            seconds=seconds,
            notes=tuple(notes),
        )

    @classmethod
    def combine(cls, parts: Sequence["Evidence"], *, method: str | None = None, seconds: float | None = None,
                notes: Iterable[str] = ()) -> "Evidence":
        """One block for results made of several solves (plans concatenated in order)."""
        if not parts:
            raise ValueError("Evidence.combine needs at least one part")
        all_notes: list = []
        for p in parts:
            all_notes.extend(n for n in p.notes if n not in all_notes)
        all_notes.extend(n for n in notes if n not in all_notes)
        methods = list(dict.fromkeys(p.method for p in parts))
        backends = list(dict.fromkeys(p.backend for p in parts))
        return cls(
            converged=all(p.converged for p in parts),
            status=np.concatenate([p.status for p in parts]),
            iterations=max(p.iterations for p in parts),
            residual=np.concatenate([p.residual for p in parts]),
            backend="+".join(backends),
            method=method if method is not None else "+".join(methods),
            matvecs=sum(p.matvecs for p in parts),
            seconds=sum(p.seconds for p in parts) if seconds is None else seconds,
            notes=tuple(all_notes),
        )

    @property
    def failed(self) -> np.ndarray:
        """Indices of the plans that did not converge."""
        return np.flatnonzero(self.status != Status.CONVERGED)

    def describe(self) -> str:
        """One line per kind of failure, with its count and advice (empty when all converged)."""
        lines = []
        for code in np.unique(self.status):
            s = Status(int(code))
            if s is Status.CONVERGED:
                continue
            cnt = int((self.status == code).sum())
            lines.append(f"{cnt} plan(s) {s.name.lower().replace('_', ' ')}: {s.advice}")
        return "\n".join(lines)


class WithEvidence:
    """Mixin for result classes with an ``evidence`` attribute: the usual attributes by delegation."""

    __slots__ = ()
    evidence: Evidence

    @property
    def converged(self) -> bool:
        """Every plan met its tolerance (see ``status`` for each plan)."""
        return self.evidence.converged

    @property
    def status(self) -> np.ndarray:
        """:class:`Status` code of each plan, shape ``(k,)``."""
        return self.evidence.status

    @property
    def iterations(self) -> int:
        return self.evidence.iterations

    @property
    def residual(self) -> np.ndarray:
        """True relative residual of each plan, shape ``(k,)``."""
        return self.evidence.residual

    @property
    def backend(self) -> str:
        return self.evidence.backend

    @property
    def method(self) -> str:
        return self.evidence.method

    @property
    def matvecs(self) -> int:
        return self.evidence.matvecs

    @property
    def seconds(self) -> float:
        return self.evidence.seconds

    @property
    def notes(self) -> tuple:
        return self.evidence.notes
