"""Run a plan: validate the arguments, solve at unit magnitude with the chosen method, assemble the result.

:func:`run_plan` is :func:`bigplan.dynamic.plan`'s body (same arguments); the
proposals (``proposals.py``) call it too.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from ..errors import InvalidDemandError
from .capacity import solve_capacity
from .exact import solve_exact
from .lp import solve_lp
from .problem import PlanOutcome, PlanProblem
from .result import DynamicPlan, assemble

__all__ = ["run_plan", "solve_problem"]

_METHODS = {"capacity": solve_capacity, "exact": solve_exact, "lp": solve_lp}


def run_plan(economy, consumption, **options) -> DynamicPlan:
    """:func:`bigplan.dynamic.plan` (see there for the arguments)."""
    t0 = time.perf_counter()
    problem = PlanProblem.from_arguments(economy, consumption, **options)
    return assemble(problem, solve_problem(problem), t0)


def solve_problem(problem: PlanProblem) -> PlanOutcome:
    """The method's outcome for a validated problem: solved at unit magnitude, scaled back, overflow refused.

    The proposals (``proposals.py``) call it on problems whose first-period
    targets may be negative (final demand net of the stocks drawn).
    """
    scale = _magnitude(problem)
    if scale == 1.0:
        outcome = _METHODS[problem.method](problem)
    else:
        # the balance, capacity and labour limits are homogeneous of degree one in (targets, capacity, labour
        # supply) together: solve at unit magnitude (a power of two, so the scaling is exact) and scale back
        outcome = _METHODS[problem.method](problem.scaled(scale))
        with np.errstate(over="ignore"):  # an overflow is refused just below
            outcome = replace(outcome, output=outcome.output * scale, new_capacity=outcome.new_capacity * scale,
                              capacity=outcome.capacity * scale)
    if not (np.isfinite(outcome.output).all() and np.isfinite(outcome.new_capacity).all()):
        raise InvalidDemandError(
            "the plan's outputs overflow float64 at these targets; express consumption (and capacity, labour "
            "supply) in larger units"
        )
    return outcome


def _magnitude(problem: PlanProblem) -> float:
    """A power of two bringing the largest target near 1 (1.0 when already safe).

    The targets drive every solve; without any, the largest capacity or labour supply.
    """
    parts = [problem.consumption, problem.initial_capacity, problem.labour_supply]
    sizes = [float(np.max(np.abs(a))) if a is not None and a.size else 0.0 for a in parts]
    m = sizes[0] if sizes[0] > 0 else max(sizes)
    if m == 0.0 or 1e-100 <= m <= 1e100:
        return 1.0
    return math.ldexp(1.0, math.frexp(m)[1] - 1)  # m / scale in [1, 2): never overflows
