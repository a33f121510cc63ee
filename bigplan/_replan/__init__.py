"""Re-planning: re-solve plans after a revision of the coefficients, warm-started, and report what moved.

Built on the static layer only (:func:`~bigplan.solve_output` and the solvers'
operator); the store (:mod:`bigplan._store.plans`) calls it for its stored
plans, and :mod:`bigplan.inventory` re-exports it.

How re-planning is fast
-----------------------
After a change ``A -> A' = A + dA`` the old outputs ``X`` leave the residual
``Y - (I - A') X = E + dA X`` (``E`` is the old, already tiny residual).  A
Krylov solve started there needs about ``log(rtol ||y|| / ||dA X||) /
log(rate)`` iterations instead of ``log(rtol) / log(rate)``: for 1,000 changed
coefficients of a 10^6-product economy ``||dA X|| / ||y||`` is about 1e-4, so a
warm start saves only a third to a half of the iterations.  The large savings
come from the *structure* of the change.  The correction ``dX`` solves
``(I - A') dX = dA X``, and ``dA X`` factors through the changed columns
(``dA X = dA[:, Q] X[Q, :]``) or rows (``dA X = I[:, P] (dA[P, :] X)``).  When
a revision touches fewer columns or rows than there are plans (new methods for
a few products; one input saved by many products), :func:`replan`

1. solves ``(I - A') W = U`` for only those ``r`` columns ``U``, to an absolute
   tolerance derived from every plan's ``rtol * ||y||`` (optionally in float32
   stages, with float64 residuals in between);
2. sets ``X' = X + W C``.  Its residual is exactly ``R' = R + R_W C``, where
   ``R`` is the old residual and ``R_W = U - (I - A') W`` what the solves for
   ``W`` left, so ``||R'_j|| <= ||R_j|| + sum_i ||R_W e_i|| |c_ij|``: when the
   previous residuals are known (``residual=``; the store keeps them) and the
   solves ran in float64, that bound (plus a rounding allowance of ``16 eps (1 +
   r) / (1 - r)``, ``r`` the economy's spectral radius bound) certifies each plan
   without a product of ``A'`` with all the outputs.  Each correction adds at most a tenth of
   ``rtol``; a plan whose bound exceeds ``rtol`` (or every plan, with
   ``measure=True`` or unknown residuals) goes to :func:`bigplan.solve_output`
   as a warm start, which measures its true residual and finishes it if needed.

Otherwise (``r > k / 2``) it warm-starts :func:`bigplan.solve_output` from the
previous outputs.  Either way the answer carries the guarantee of a cold solve
(every plan's relative residual is at most ``rtol``, measured or certified by
the bound), on any backend.
"""

from .core import REPLAN_METHODS, Replanner, replan
from .report import Correction, ReplanReport, sector_codes

__all__ = ["REPLAN_METHODS", "Correction", "ReplanReport", "Replanner", "replan", "sector_codes"]
